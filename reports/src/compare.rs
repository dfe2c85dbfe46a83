//! The comparison core both report kinds share (HTTP load runs and store-level runs): runs
//! reduced to [`Observation`]s, grouped by backend into repetitions, each compared figure a
//! median with an interval, ratios between backends with theirs, the like-for-like check, the
//! rules for naming a winner, the verdict sentences, the summary table and the spread charts.
//! A rule written here holds for both kinds.

use crate::chart::{Chart, DotChart, DotRow, Figure};
use crate::format::{percent, rate, ratio, span};
use crate::report::backend_color;
use crate::results::{Rounds, RoundsStopped};
use crate::stats::{self, Interval, Ratio};

/// Above this share of failed requests (or operations) a run's throughput describes a failing
/// system, and the verdict names no winner against it.
pub const FAILING: f64 = 0.01;

/// One run, as a comparison sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// What is compared: the backend.
    pub group: String,
    /// The run's turn among its group's repetitions (1-based): runs of one turn are paired.
    pub repetition: u32,
    /// Requests/s or operations/s.
    pub throughput: f64,
    /// Logins/s (HTTP load runs).
    pub logins: Option<f64>,
    /// The p99 of the latency every observation is compared on, microseconds.
    pub latency_p99_us: Option<f64>,
    pub error_rate: f64,
    /// `(setting, value)`: what must be equal for runs to be comparable.
    pub settings: Vec<(String, String)>,
}

/// How a report kind names what it compares.
#[derive(Debug, Clone)]
pub struct Terms {
    /// "requests/s" or "operations/s".
    pub throughput: &'static str,
    /// "served … the requests" or "completed … the operations".
    pub verb: &'static str,
    pub units: &'static str,
    /// What the latency is: "p99 on store: GET /shopping-cart" or "p99 of load_and_extend".
    pub latency: Option<String>,
    /// A latency in microseconds, with its unit: "1.99 ms" or "4.00 µs".
    pub show_latency: fn(f64) -> String,
    /// How to run more repetitions.
    pub repeat_hint: &'static str,
}

/// One backend's repetitions, in turn order.
#[derive(Debug, Clone)]
pub struct Group<'a> {
    pub name: String,
    pub observations: Vec<&'a Observation>,
}

/// A figure across a group's repetitions.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub values: Vec<f64>,
    pub median: f64,
    pub interval: Option<Interval>,
}

impl Summary {
    fn of(values: Vec<f64>) -> Option<Summary> {
        if values.is_empty() {
            return None;
        }
        Some(Summary {
            median: stats::median(&values),
            interval: stats::median_interval(&values),
            values,
        })
    }

    /// `39,851 (38,100–41,200)`, with `show` formatting each number.
    pub fn text(&self, show: impl Fn(f64) -> String) -> String {
        match self.interval {
            Some(interval) => format!(
                "{} ({}–{})",
                show(self.median),
                show(interval.low),
                show(interval.high)
            ),
            None => show(self.median),
        }
    }
}

/// Which figure of an observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    Throughput,
    Logins,
    LatencyP99,
    ErrorRate,
}

impl Measure {
    pub fn of(self, observation: &Observation) -> Option<f64> {
        match self {
            Measure::Throughput => Some(observation.throughput),
            Measure::Logins => observation.logins,
            Measure::LatencyP99 => observation.latency_p99_us,
            Measure::ErrorRate => Some(observation.error_rate),
        }
        .filter(|value| value.is_finite())
    }
}

impl Group<'_> {
    pub fn summary(&self, measure: Measure) -> Option<Summary> {
        Summary::of(
            self.observations
                .iter()
                .filter_map(|o| measure.of(o))
                .collect(),
        )
    }

    fn value_at(&self, repetition: u32, measure: Measure) -> Option<f64> {
        self.observations
            .iter()
            .find(|o| o.repetition == repetition)
            .and_then(|o| measure.of(o))
    }

    fn median(&self, measure: Measure) -> f64 {
        self.summary(measure).map_or(f64::NAN, |s| s.median)
    }
}

/// The observations grouped by backend, groups in the order first seen, repetitions in turn
/// order.
pub fn groups(observations: &[Observation]) -> Vec<Group<'_>> {
    let mut groups: Vec<Group<'_>> = Vec::new();
    for observation in observations {
        match groups.iter_mut().find(|g| g.name == observation.group) {
            Some(group) => group.observations.push(observation),
            None => groups.push(Group {
                name: observation.group.clone(),
                observations: vec![observation],
            }),
        }
    }
    for group in &mut groups {
        group.observations.sort_by_key(|o| o.repetition);
    }
    groups
}

/// The ratio of `a` to `b` in `measure`, over the repetitions both have.
pub fn ratio_between(a: &Group<'_>, b: &Group<'_>, measure: Measure) -> Option<Ratio> {
    let pairs: Vec<(f64, f64)> = a
        .observations
        .iter()
        .filter_map(|o| Some((measure.of(o)?, b.value_at(o.repetition, measure)?)))
        .collect();
    stats::paired_ratio(&pairs)
}

/// `1.22× (1.15–1.30×)`, or `1.22×` without an interval.
pub fn ratio_text(ratio_: &Ratio) -> String {
    match ratio_.interval {
        Some(interval) => format!(
            "{} ({}–{})",
            ratio(ratio_.ratio),
            ratio(interval.low).trim_end_matches('×'),
            ratio(interval.high)
        ),
        None => ratio(ratio_.ratio),
    }
}

/// A comparison verdict's first sentences, for either kind of run: how its rounds went (when
/// it ran in rounds), then the settings in which the runs differ (when they do).
pub fn opening(rounds: Option<&Rounds>, observations: &[Observation]) -> Vec<String> {
    rounds
        .map(rounds_sentence)
        .into_iter()
        .chain(differences(observations))
        .collect()
}

/// The settings in which the runs differ, as one sentence (`None` when like for like).
pub fn differences(observations: &[Observation]) -> Option<String> {
    let first = observations.first()?;
    let mut differing: Vec<&str> = Vec::new();
    for observation in &observations[1..] {
        for (name, value) in &observation.settings {
            let same = first
                .settings
                .iter()
                .find(|(other, _)| other == name)
                .is_some_and(|(_, other)| other == value);
            if !same && !differing.contains(&name.as_str()) {
                differing.push(name);
            }
        }
    }
    let groups = groups(observations);
    let counts: Vec<usize> = groups.iter().map(|g| g.observations.len()).collect();
    let mut sentence = String::new();
    if !differing.is_empty() {
        sentence = format!(
            "These runs differ in {}: the comparison below is not like for like.",
            differing.join(", ")
        );
    }
    if counts.iter().any(|&n| n != counts[0]) {
        let listed: Vec<String> = groups
            .iter()
            .map(|g| format!("{} {}", g.name, g.observations.len()))
            .collect();
        if !sentence.is_empty() {
            sentence.push(' ');
        }
        sentence.push_str(&format!(
            "The backends have different numbers of repetitions ({}): ratios use the turns they \
             share.",
            listed.join(", ")
        ));
    }
    (!sentence.is_empty()).then_some(sentence)
}

/// How a comparison's rounds went, in one sentence: how many, in what time, why they stopped,
/// and how far the widest pair's requests/s interval reaches.
pub fn rounds_sentence(rounds: &Rounds) -> String {
    let spent = span(rounds.elapsed_seconds);
    let n = rounds.rounds;
    let widest = rounds.widest_reach.map_or(String::new(), |reach| {
        format!(
            "; the widest pair's requests/s interval reaches ±{:.1}%",
            reach * 100.0
        )
    });
    let aim = rounds.precision.map_or(String::new(), |p| {
        format!(" (±{:.1}% asked for)", p * 100.0)
    });
    match rounds.stopped {
        RoundsStopped::Planned => {
            format!("The comparison ran the {n} rounds asked for in {spent}{widest}.")
        }
        RoundsStopped::PrecisionReached => format!(
            "The comparison ran {n} rounds in {spent}, until every pair's requests/s interval \
             was within the precision asked for{widest}{aim}."
        ),
        RoundsStopped::TimeBudget => format!(
            "The comparison stopped after {n} rounds in {spent}: another would have ended past \
             its time budget of {}{widest}{aim}.",
            span(rounds.max_time_seconds.unwrap_or(rounds.elapsed_seconds))
        ),
        RoundsStopped::RoundLimit => format!(
            "The comparison stopped at the most rounds it runs, {n}, in {spent}{widest}{aim}."
        ),
    }
}

/// The comparison's sentences: for every pair of backends, how much more the one with the
/// higher median throughput served and how sure that is, at what latency; then logins. A winner is named only when the ratio's interval excludes 1, and never against a
/// backend failing more than [`FAILING`] of its requests.
pub fn verdict(observations: &[Observation], terms: &Terms) -> Vec<String> {
    let groups = groups(observations);
    let mut sentences = Vec::new();
    if groups.len() == 1 {
        let group = &groups[0];
        if let (Some(summary), n @ 2..) =
            (group.summary(Measure::Throughput), group.observations.len())
        {
            sentences.push(format!(
                "{} over {n} repetitions: median {} {} ({}).",
                group.name,
                summary.text(rate),
                terms.throughput,
                interval_words(summary.interval)
            ));
        }
        return sentences;
    }
    let mut ordered: Vec<&Group<'_>> = groups.iter().collect();
    ordered.sort_by(|a, b| {
        b.median(Measure::Throughput)
            .total_cmp(&a.median(Measure::Throughput))
    });
    let fewest = groups
        .iter()
        .map(|g| g.observations.len())
        .min()
        .unwrap_or(0);
    if fewest < 2 {
        sentences.push(format!(
            "With one repetition of a backend there is no spread to judge the machine's noise \
             by: on a shared machine one run of the same build can differ from the next by \
             5–25%, so no winner is named below. {}",
            terms.repeat_hint
        ));
    }
    // Every pair, the higher median first: which backend leads among those that cannot be told
    // apart is chance, so no pair is left to depend on it.
    for (index, first) in ordered.iter().enumerate() {
        for second in &ordered[index + 1..] {
            sentences.push(pair_sentence(first, second, terms));
        }
    }
    if groups
        .iter()
        .all(|g| g.observations.iter().all(|o| o.logins.is_some()))
    {
        let listed: Vec<String> = ordered
            .iter()
            .filter_map(|g| {
                Some(format!(
                    "{} {}",
                    g.name,
                    g.summary(Measure::Logins)?.text(rate)
                ))
            })
            .collect();
        sentences.push(format!("Logins/s (median): {}.", listed.join(", ")));
    }
    sentences
}

/// `a 75% interval over 3 repetitions`, or why there is none.
fn interval_words(interval: Option<Interval>) -> String {
    match interval {
        Some(interval) => format!("range at {:.0}% confidence", interval.confidence * 100.0),
        None => "one repetition: no interval".into(),
    }
}

fn pair_sentence(best: &Group<'_>, other: &Group<'_>, terms: &Terms) -> String {
    let (best_rate, other_rate) = (
        best.median(Measure::Throughput),
        other.median(Measure::Throughput),
    );
    if other_rate <= 0.0 || !other_rate.is_finite() {
        return format!("{} {} no {}.", other.name, terms.verb, terms.units);
    }
    let medians = format!(
        "median {} vs {} {}",
        rate(best_rate),
        rate(other_rate),
        terms.throughput
    );
    if let Some(failing) = [best, other]
        .into_iter()
        .find(|g| g.median(Measure::ErrorRate) > FAILING)
    {
        return format!(
            "{} against {}: no winner, because {} failed {} of its {} (median, more than \
             {:.0}%), so its {} counts failures ({medians}).",
            best.name,
            other.name,
            failing.name,
            percent(failing.median(Measure::ErrorRate)),
            terms.units,
            FAILING * 100.0,
            terms.throughput
        );
    }
    let Some(throughput) = ratio_between(best, other, Measure::Throughput) else {
        return format!(
            "{} and {} share no repetition to compare ({medians}).",
            best.name, other.name
        );
    };
    let head = format!(
        "{} {} {} the {} of {}",
        best.name,
        terms.verb,
        ratio_text(&throughput),
        terms.units,
        other.name
    );
    let latency = latency_clause(best, other, terms);
    match throughput.interval {
        None => format!(
            "{head} ({medians}, one pair of runs: no interval, so no winner){}.",
            latency.map_or(String::new(), |(_, text)| format!("; {text}"))
        ),
        Some(interval) if throughput.above_one() => {
            let confidence = format!("{:.0}% confidence", interval.confidence * 100.0);
            match latency {
                Some((Tail::Higher, text)) => format!(
                    "{head} ({confidence}; {medians}), but {text}: a trade-off, not a clear win."
                ),
                Some((_, text)) => format!("{head} ({confidence}; {medians}), {text}."),
                None => format!("{head} ({confidence}; {medians})."),
            }
        }
        Some(interval) => format!(
            "{head} ({:.0}% confidence; {medians}): no measurable difference{}{}.",
            interval.confidence * 100.0,
            throughput
                .smallest_detectable()
                .map_or(String::new(), |share| format!(
                    " (a difference of {} or more would have been found four times in five)",
                    percent(share)
                )),
            latency.map_or(String::new(), |(_, text)| format!("; {text}"))
        ),
    }
}

/// How the first group's latency compares with the second's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tail {
    Lower,
    Higher,
    Same,
}

fn latency_clause(best: &Group<'_>, other: &Group<'_>, terms: &Terms) -> Option<(Tail, String)> {
    let name = terms.latency.as_deref()?;
    let latency = ratio_between(best, other, Measure::LatencyP99)?;
    let medians = format!(
        "median {} vs {}",
        (terms.show_latency)(best.median(Measure::LatencyP99)),
        (terms.show_latency)(other.median(Measure::LatencyP99))
    );
    let text = format!("{}; {medians}", ratio_text(&latency));
    Some(if latency.interval.is_none() {
        (Tail::Same, format!("{name}: {medians}"))
    } else if latency.below_one() {
        (Tail::Lower, format!("at a lower {name} ({text})"))
    } else if latency.above_one() {
        (Tail::Higher, format!("at a higher {name} ({text})"))
    } else {
        (
            Tail::Same,
            format!("at a {name} not measurably different ({text})"),
        )
    })
}

/// The summary rows of a comparison with repetitions: one column per backend, each cell a
/// median with its interval.
pub fn summary_rows(observations: &[Observation], terms: &Terms) -> Vec<(String, Vec<String>)> {
    let groups = groups(observations);
    let cells = |measure: Measure, show: &dyn Fn(f64) -> String| -> Vec<String> {
        groups
            .iter()
            .map(|g| g.summary(measure).map_or("–".into(), |s| s.text(show)))
            .collect()
    };
    let mut rows = vec![
        (
            "repetitions".to_owned(),
            groups
                .iter()
                .map(|g| g.observations.len().to_string())
                .collect(),
        ),
        (
            format!("{} (median, interval)", terms.throughput),
            cells(Measure::Throughput, &rate),
        ),
    ];
    if observations.iter().all(|o| o.logins.is_some()) {
        rows.push((
            "logins/s (median, interval)".into(),
            cells(Measure::Logins, &rate),
        ));
    }
    if let Some(name) = &terms.latency {
        rows.push((
            format!("{name} (median, interval)"),
            cells(Measure::LatencyP99, &|us| (terms.show_latency)(us)),
        ));
    }
    rows.push((
        "error rate (median, interval)".into(),
        cells(Measure::ErrorRate, &percent),
    ));
    let confidence: Vec<String> = groups
        .iter()
        .map(|g| {
            g.summary(Measure::Throughput)
                .and_then(|s| s.interval)
                .map_or("one repetition: none".into(), |i| {
                    format!("{:.0}%", i.confidence * 100.0)
                })
        })
        .collect();
    rows.push(("interval's confidence".into(), confidence));
    rows
}

/// Every pair of backends (the higher median throughput first) and the ratios of each compared
/// figure with their intervals: the table under a comparison's summary.
pub fn ratio_rows(observations: &[Observation], terms: &Terms) -> Vec<(String, Vec<String>)> {
    let groups = groups(observations);
    let mut ordered: Vec<&Group<'_>> = groups.iter().collect();
    ordered.sort_by(|a, b| {
        b.median(Measure::Throughput)
            .total_cmp(&a.median(Measure::Throughput))
    });
    let mut measures = vec![Measure::Throughput];
    if observations.iter().all(|o| o.logins.is_some()) {
        measures.push(Measure::Logins);
    }
    if terms.latency.is_some() {
        measures.push(Measure::LatencyP99);
    }
    let mut rows = Vec::new();
    for (index, first) in ordered.iter().enumerate() {
        for second in &ordered[index + 1..] {
            let reach = ratio_between(first, second, Measure::Throughput)
                .and_then(|r| Some((r.reach()?, r.smallest_detectable()?)))
                .map_or(
                    "– (one pair: no interval)".into(),
                    |(reach, detectable)| format!("±{} / {}", percent(reach), percent(detectable)),
                );
            rows.push((
                format!("{} ÷ {}", first.name, second.name),
                measures
                    .iter()
                    .map(|&measure| {
                        ratio_between(first, second, measure).map_or("–".into(), |r| {
                            let verdict = if r.above_one() {
                                ", higher"
                            } else if r.below_one() {
                                ", lower"
                            } else if r.interval.is_some() {
                                ", no measurable difference"
                            } else {
                                ""
                            };
                            format!("{}{verdict}", ratio_text(&r))
                        })
                    })
                    .chain([reach])
                    .collect(),
            ));
        }
    }
    rows
}

/// The column names of [`ratio_rows`].
pub fn ratio_columns(observations: &[Observation], terms: &Terms) -> Vec<String> {
    let mut columns = vec![terms.throughput.to_owned()];
    if observations.iter().all(|o| o.logins.is_some()) {
        columns.push("logins/s".into());
    }
    if let Some(name) = &terms.latency {
        columns.push(name.clone());
    }
    columns.push(format!(
        "{}: interval's reach / smallest difference found four times in five",
        terms.throughput
    ));
    columns
}

/// Each compared figure as a dot per repetition, one row per backend, with the median and
/// its interval: the spread a verdict rests on.
pub fn spread_figures(observations: &[Observation], terms: &Terms) -> Vec<Figure> {
    let groups = groups(observations);
    let mut measures = vec![(
        Measure::Throughput,
        "throughput",
        terms.throughput.to_owned(),
        1.0,
    )];
    if observations.iter().all(|o| o.logins.is_some()) {
        measures.push((Measure::Logins, "logins", "logins/s".into(), 1.0));
    }
    if let Some(name) = &terms.latency {
        measures.push((Measure::LatencyP99, "latency", format!("{name} (µs)"), 1.0));
    }
    measures
        .into_iter()
        .map(|(measure, stem, label, scale)| Figure {
            stem: format!("spread-{stem}"),
            title: format!("{label}: every repetition"),
            description: format!(
                "{label} of each repetition (a dot each), by backend; the black tick is the \
                 median and the line its interval. Verdicts rest on this spread."
            ),
            chart: Chart::Dots(DotChart {
                value_label: label,
                rows: groups
                    .iter()
                    .enumerate()
                    .map(|(index, group)| {
                        let summary = group.summary(measure);
                        DotRow {
                            name: group.name.clone(),
                            color: backend_color(&group.name, index),
                            values: summary
                                .as_ref()
                                .map(|s| s.values.iter().map(|v| v * scale).collect())
                                .unwrap_or_default(),
                            median: summary.as_ref().map_or(f64::NAN, |s| s.median * scale),
                            interval: summary
                                .as_ref()
                                .and_then(|s| s.interval)
                                .map(|i| (i.low * scale, i.high * scale)),
                        }
                    })
                    .collect(),
            }),
        })
        .collect()
}

/// Whether the observations hold repetitions (some backend ran more than once).
pub fn repeated(observations: &[Observation]) -> bool {
    groups(observations)
        .iter()
        .any(|g| g.observations.len() > 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observe(group: &str, repetition: u32, throughput: f64, error_rate: f64) -> Observation {
        Observation {
            group: group.into(),
            repetition,
            throughput,
            logins: Some(throughput / 500.0),
            latency_p99_us: Some(1e9 / throughput),
            error_rate,
            settings: vec![("users".into(), "32".into())],
        }
    }

    fn terms() -> Terms {
        Terms {
            throughput: "requests/s",
            verb: "served",
            units: "requests",
            latency: Some("p99 on cart".into()),
            show_latency: |us| format!("{:.0} µs", us),
            repeat_hint: "Run again with --repeat 3.",
        }
    }

    fn check(observations: &[Observation], expected: &[&str]) {
        let sentences = verdict(observations, &terms());
        for text in expected {
            assert!(
                sentences.iter().any(|s| s.contains(text)),
                "{text:?} not in {sentences:#?}"
            );
        }
    }

    #[test]
    fn overlapping_repetitions_name_no_winner() {
        let runs = [
            observe("dashmap", 1, 31_000.0, 0.0),
            observe("scc", 1, 33_000.0, 0.0),
            observe("dashmap", 2, 34_000.0, 0.0),
            observe("scc", 2, 31_500.0, 0.0),
            observe("dashmap", 3, 32_000.0, 0.0),
            observe("scc", 3, 32_500.0, 0.0),
        ];
        check(
            &runs,
            &[
                "no measurable difference",
                "95% confidence",
                "would have been found four times in five",
            ],
        );
        let sentences = verdict(&runs, &terms());
        assert!(!sentences.iter().any(|s| s.contains("trade-off")));
    }

    #[test]
    fn the_rounds_say_how_many_in_what_time_and_why_they_stopped() {
        let rounds = |stopped, precision| Rounds {
            arms: vec!["dashmap".into(), "scc".into()],
            names: vec!["dashmap".into(), "scc".into()],
            precision,
            min_rounds: 5,
            planned_rounds: 1000,
            max_time_seconds: Some(600.0),
            rounds: 9,
            elapsed_seconds: 425.0,
            stopped,
            widest_reach: Some(0.083),
        };
        let reached = rounds_sentence(&rounds(RoundsStopped::PrecisionReached, Some(0.1)));
        assert!(reached.contains("ran 9 rounds in 7 min 5 s"), "{reached}");
        assert!(reached.contains("±8.3%") && reached.contains("±10.0% asked for"));
        let budget = rounds_sentence(&rounds(RoundsStopped::TimeBudget, Some(0.05)));
        assert!(budget.contains("time budget of 10 min 0 s"), "{budget}");
        let planned = rounds_sentence(&rounds(RoundsStopped::Planned, None));
        assert!(planned.contains("the 9 rounds asked for"), "{planned}");
        assert!(!planned.contains("asked for)"), "{planned}");
    }

    #[test]
    fn separated_repetitions_name_a_winner_with_its_ratio_and_interval() {
        let runs = [
            observe("dashmap", 1, 40_000.0, 0.0),
            observe("redis", 1, 16_000.0, 0.0),
            observe("redis", 2, 16_500.0, 0.0),
            observe("dashmap", 2, 41_000.0, 0.0),
            observe("dashmap", 3, 39_000.0, 0.0),
            observe("redis", 3, 15_800.0, 0.0),
        ];
        let sentences = verdict(&runs, &terms());
        let winner = sentences
            .iter()
            .find(|s| s.starts_with("dashmap served"))
            .expect("a winner");
        assert!(winner.contains("2.48× ("), "{winner}");
        assert!(winner.contains("at a lower p99 on cart"), "{winner}");
        assert!(!winner.contains("no measurable"), "{winner}");
        let ratio = ratio_between(&groups(&runs)[0], &groups(&runs)[1], Measure::Throughput)
            .expect("ratio");
        assert!(ratio.above_one() && ratio.pairs == 3, "{ratio:?}");
    }

    #[test]
    fn a_failing_backend_never_wins() {
        let runs = [
            observe("dashmap", 1, 40_000.0, 0.03),
            observe("scc", 1, 20_000.0, 0.0),
            observe("dashmap", 2, 41_000.0, 0.02),
            observe("scc", 2, 20_500.0, 0.0),
        ];
        check(&runs, &["no winner, because dashmap failed"]);
        assert!(
            !verdict(&runs, &terms())
                .iter()
                .any(|s| s.starts_with("dashmap served"))
        );
    }

    #[test]
    fn one_repetition_says_it_cannot_judge_noise() {
        let runs = [
            observe("dashmap", 1, 39_851.0, 0.0),
            observe("scc", 1, 32_773.0, 0.0),
        ];
        check(
            &runs,
            &[
                "no spread to judge the machine's noise",
                "one pair of runs: no interval, so no winner",
                "--repeat 3",
            ],
        );
    }

    #[test]
    fn settings_and_repetition_counts_that_differ_are_named() {
        let mut other = observe("scc", 1, 1.0, 0.0);
        other.settings = vec![("users".into(), "64".into())];
        let runs = [
            observe("dashmap", 1, 1.0, 0.0),
            observe("dashmap", 2, 1.0, 0.0),
            other,
        ];
        let sentence = differences(&runs).expect("differences");
        assert!(sentence.contains("differ in users"), "{sentence}");
        assert!(sentence.contains("dashmap 2, scc 1"), "{sentence}");
        assert_eq!(differences(&runs[..2]), None);
    }

    #[test]
    fn summaries_give_medians_with_intervals() {
        let runs = [
            observe("dashmap", 1, 30_000.0, 0.0),
            observe("dashmap", 2, 32_000.0, 0.0),
            observe("dashmap", 3, 31_000.0, 0.0),
        ];
        let rows = summary_rows(&runs, &terms());
        let throughput = rows
            .iter()
            .find(|(name, _)| name.starts_with("requests/s"))
            .expect("row");
        assert_eq!(throughput.1, ["31,000 (30,000–32,000)"]);
        let confidence = rows.last().expect("row");
        assert_eq!(confidence.1, ["75%"]);
        check(&runs, &["dashmap over 3 repetitions: median 31,000"]);
        assert_eq!(spread_figures(&runs, &terms()).len(), 3);
        let mut two = runs.to_vec();
        two.extend([
            observe("redis", 1, 15_000.0, 0.0),
            observe("redis", 2, 16_000.0, 0.0),
            observe("redis", 3, 15_500.0, 0.0),
        ]);
        let ratios = ratio_rows(&two, &terms());
        assert_eq!(ratios.len(), 1);
        assert_eq!(ratios[0].0, "dashmap ÷ redis");
        assert!(ratios[0].1[0].ends_with(", higher"), "{ratios:?}");
        assert!(ratios[0].1[2].ends_with(", lower"), "{ratios:?}");
        // The last column: how far the throughput interval reaches, and the smallest
        // difference the pairs would have found four times in five.
        let reach = &ratios[0].1[3];
        assert!(reach.starts_with('±') && reach.contains(" / "), "{reach}");
        let columns = ratio_columns(&two, &terms());
        assert_eq!(columns.len(), ratios[0].1.len());
        assert_eq!(columns[..3], ["requests/s", "logins/s", "p99 on cart"]);
        assert!(columns[3].contains("smallest difference"), "{columns:?}");
    }
}
