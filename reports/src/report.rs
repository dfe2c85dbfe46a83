//! What one report is made of: the runs it compares (each with a label and its directory) and,
//! optionally, criterion's microbenchmark estimates — for either kind of run, load or
//! store-level, through [`RunResults`].

use crate::criterion::CriterionResults;
use crate::results::{self, Environment, LoadRunResults, ResultsError, Rounds, StoreRunResults};
use plotters::style::RGBColor;
use std::path::{Path, PathBuf};
use vocabulary::Backend;

/// What a report needs of a run's results, whatever the kind of run.
pub trait RunResults: Clone {
    /// Reads a run directory's `results.json` of this kind.
    fn read(dir: &Path) -> Result<Self, ResultsError>;
    fn backend(&self) -> Backend;
    /// The comparison arm the run belongs to (`dashmap-2`); its backend's name outside one.
    fn arm(&self) -> String;
    /// The backend, with the arm in brackets where it names more than the backend
    /// (`dashmap (dashmap+handicap=150us)`): a config table's first row.
    fn backend_and_arm(&self) -> String {
        let (backend, arm) = (self.backend().name(), self.arm());
        if arm == backend {
            arm
        } else {
            format!("{backend} ({arm})")
        }
    }
    /// This run's turn among repetitions of the same settings (1-based).
    fn repetition(&self) -> u32;
    fn environment(&self) -> &Environment;
    /// RFC 3339, UTC.
    fn started_at(&self) -> &str;
}

impl RunResults for LoadRunResults {
    fn read(dir: &Path) -> Result<Self, ResultsError> {
        results::read_load(dir)
    }
    fn backend(&self) -> Backend {
        self.config.backend
    }
    fn arm(&self) -> String {
        arm_name(self.config.arm.as_deref(), self.config.backend)
    }
    fn repetition(&self) -> u32 {
        self.config.repetition
    }
    fn environment(&self) -> &Environment {
        &self.environment
    }
    fn started_at(&self) -> &str {
        &self.started_at
    }
}

impl RunResults for StoreRunResults {
    fn read(dir: &Path) -> Result<Self, ResultsError> {
        results::read(dir)
    }
    fn backend(&self) -> Backend {
        self.config.backend
    }
    fn arm(&self) -> String {
        arm_name(self.config.arm.as_deref(), self.config.backend)
    }
    fn repetition(&self) -> u32 {
        self.config.repetition
    }
    fn environment(&self) -> &Environment {
        &self.environment
    }
    fn started_at(&self) -> &str {
        &self.started_at
    }
}

/// An arm's name: the one recorded, or the backend's.
fn arm_name(arm: Option<&str>, backend: Backend) -> String {
    arm.map_or_else(|| backend.name().to_owned(), str::to_owned)
}

/// One run as a report shows it.
#[derive(Debug, Clone)]
pub struct Run<R = LoadRunResults> {
    /// The run directory (holding `results.json`, interval logs and goose's reports).
    pub dir: PathBuf,
    /// How charts and tables name this run: its arm (its backend outside a comparison of
    /// arms), made unique when several runs share one.
    pub label: String,
    pub results: R,
}

/// The runs and benchmarks one `index.html` covers.
#[derive(Debug, Clone)]
pub struct Report<R = LoadRunResults> {
    pub runs: Vec<Run<R>>,
    pub criterion: Option<CriterionResults>,
    /// How a comparison's rounds went, when it recorded them (`rounds.json`).
    pub rounds: Option<Rounds>,
}

impl<R: RunResults> Report<R> {
    /// Reads each run directory's `results.json`.
    pub fn load(
        run_dirs: &[PathBuf],
        criterion: Option<CriterionResults>,
    ) -> Result<Self, ResultsError> {
        let mut runs = Vec::new();
        for dir in run_dirs {
            runs.push((dir.clone(), R::read(dir)?));
        }
        Ok(Self::from_results(runs, criterion))
    }

    /// Builds a report from results already in memory, labelling the runs.
    pub fn from_results(runs: Vec<(PathBuf, R)>, criterion: Option<CriterionResults>) -> Self {
        let arms: Vec<String> = runs.iter().map(|(_, r)| r.arm()).collect();
        let keys: Vec<(&str, u32)> = runs
            .iter()
            .zip(&arms)
            .map(|((_, r), arm)| (arm.as_str(), r.repetition()))
            .collect();
        let labels = labels(&keys);
        let runs = runs
            .into_iter()
            .zip(labels)
            .map(|((dir, results), label)| Run {
                dir,
                label,
                results,
            })
            .collect();
        Report {
            runs,
            criterion,
            rounds: None,
        }
    }

    /// The run's colour in every chart: fixed per arm, so a reader learns it once (the
    /// repetitions of one arm share it).
    pub fn color(&self, index: usize) -> RGBColor {
        let arms: Vec<String> = self.runs.iter().map(|run| run.results.arm()).collect();
        let arms: Vec<&str> = arms.iter().map(String::as_str).collect();
        run_color(&arms, index)
    }

    /// One table cell per run.
    pub fn each(&self, cell: impl Fn(&R) -> String) -> Vec<String> {
        self.runs.iter().map(|run| cell(&run.results)).collect()
    }
}

/// A store-level run as a report shows it.
pub type StoreRun = Run<StoreRunResults>;
/// The store-level runs one `index.html` covers.
pub type StoreReport = Report<StoreRunResults>;

/// How a report names its runs, from (backend, repetition): by backend alone when each appears
/// once; with the repetition (`dashmap #2`) when a backend repeats; with the position when
/// repetitions collide too (runs made separately, each its own repetition 1).
pub fn labels(keys: &[(&str, u32)]) -> Vec<String> {
    let count = |key: &(&str, u32), same: fn(&(&str, u32), &(&str, u32)) -> bool| {
        keys.iter().filter(|other| same(key, other)).count()
    };
    keys.iter()
        .enumerate()
        .map(|(index, key)| {
            if count(key, |a, b| a.0 == b.0) == 1 {
                key.0.to_owned()
            } else if count(key, |a, b| a == b) == 1 {
                format!("{} #{}", key.0, key.1)
            } else {
                format!("{} #{}", key.0, index + 1)
            }
        })
        .collect()
}

/// A run's colour: fixed per arm, so a reader learns it once — a backend's own colour for a
/// plain backend, the next free ones, in order of appearance, for other arms.
pub fn run_color(arms: &[&str], index: usize) -> RGBColor {
    let Some(arm) = arms.get(index) else {
        return palette(index);
    };
    let mut others: Vec<&str> = Vec::new();
    for name in arms {
        if Backend::from_name(name).is_none() && !others.contains(name) {
            others.push(name);
        }
    }
    let place = others.iter().position(|other| other == arm).unwrap_or(0);
    backend_color(arm, place)
}

/// The colour a backend always gets: its place in the backend list; anything else comes after.
pub fn backend_color(backend: &str, fallback: usize) -> RGBColor {
    match Backend::from_name(backend) {
        Some(known) => palette(known.index()),
        None => palette(fallback + Backend::ALL.len()),
    }
}

/// Ten distinguishable colours (the "tableau 10" set), cycled.
pub fn palette(index: usize) -> RGBColor {
    const COLORS: [RGBColor; 10] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
        RGBColor(188, 189, 34),
        RGBColor(23, 190, 207),
    ];
    COLORS[index % COLORS.len()]
}

/// A file-name-safe form of a hop or flow name: `store: GET /login` → `store-get-login`.
pub fn slug(text: &str) -> String {
    let mut slug = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_owned()
}

/// `path` relative to `base`, for links inside a report. Both are made absolute and, where
/// they exist, canonical first, so `reports/A` against `/abs/out` or `./out` links correctly.
pub fn relative(path: &Path, base: &Path) -> PathBuf {
    let resolve = |p: &Path| {
        p.canonicalize()
            .or_else(|_| std::path::absolute(p))
            .unwrap_or_else(|_| p.to_owned())
    };
    let (path, base) = (resolve(path), resolve(base));
    let path: Vec<_> = path.components().collect();
    let base: Vec<_> = base.components().collect();
    let common = path.iter().zip(&base).take_while(|(a, b)| a == b).count();
    let mut relative = PathBuf::new();
    for _ in common..base.len() {
        relative.push("..");
    }
    for part in &path[common..] {
        relative.push(part.as_os_str());
    }
    relative
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_file_name_safe() {
        assert_eq!(slug("store: GET /login"), "store-get-login");
        assert_eq!(
            slug("idp: GET /oauth2/authorize (form)"),
            "idp-get-oauth2-authorize-form"
        );
        assert_eq!(slug("password login (store)"), "password-login-store");
    }

    #[test]
    fn relative_links_work_between_relative_and_absolute_paths() {
        let dir = tempfile::tempdir().expect("dir");
        let run = dir.path().join("runs/a");
        let out = dir.path().join("out");
        std::fs::create_dir_all(&run).expect("dir");
        std::fs::create_dir_all(&out).expect("dir");
        let cwd = std::env::current_dir().expect("cwd");
        let run_relative = relative(&run, &cwd);
        assert!(run_relative.is_relative());
        assert_eq!(relative(&run_relative, &out), PathBuf::from("../runs/a"));
        assert_eq!(
            relative(&run, &out.join(".")),
            PathBuf::from("../runs/a"),
            "a ./ in the base is not a level"
        );
    }

    #[test]
    fn relative_paths_climb_to_the_common_ancestor() {
        assert_eq!(
            relative(Path::new("/r/a/goose.html"), Path::new("/r/b")),
            PathBuf::from("../a/goose.html")
        );
        assert_eq!(
            relative(Path::new("/r/a/goose.html"), Path::new("/r/a")),
            PathBuf::from("goose.html")
        );
    }
}
