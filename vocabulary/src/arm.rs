//! An arm of a comparison: a backend plus a variant (today a handicap), so the same backend can
//! run twice (A/A) or against a handicapped self (A/B). Written `dashmap` or
//! `dashmap+handicap=150us` on the command line; named `dashmap` or `dashmap-handicap-150us`
//! in folders, results and reports.

use crate::Backend;
use std::time::Duration;

/// The largest handicap an arm takes: more is no longer a small planted difference.
pub const MAX_HANDICAP: Duration = Duration::from_secs(1);

/// One entry of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Arm {
    pub backend: Backend,
    /// CPU every session lookup of this arm's stack spends besides its own: a test device that
    /// plants a known difference (`+handicap=DURATION`).
    pub handicap: Option<Duration>,
}

impl Arm {
    /// The backend as it is.
    pub const fn plain(backend: Backend) -> Arm {
        Arm {
            backend,
            handicap: None,
        }
    }

    /// Reads `BACKEND` or `BACKEND+handicap=DURATION` (`dashmap+handicap=150us`).
    pub fn parse(text: &str) -> Result<Arm, String> {
        let mut parts = text.trim().split('+');
        let name = parts.next().unwrap_or_default().trim();
        let backend = Backend::from_name(name).ok_or_else(|| {
            format!(
                "{text:?}: no backend {name:?} (one of {})",
                Backend::ALL.map(Backend::name).join(", ")
            )
        })?;
        let mut arm = Arm::plain(backend);
        for variant in parts {
            let (key, value) = variant.split_once('=').ok_or_else(|| {
                format!("{text:?}: a variant is KEY=VALUE, e.g. {name}+handicap=150us")
            })?;
            match key.trim() {
                "handicap" => {
                    let cost = humantime::parse_duration(value.trim())
                        .map_err(|error| format!("{text:?}: {error}"))?;
                    if cost.is_zero() || cost > MAX_HANDICAP {
                        return Err(format!(
                            "{text:?}: the handicap must be above zero and at most 1s"
                        ));
                    }
                    if arm.handicap.replace(cost).is_some() {
                        return Err(format!("{text:?}: the handicap is given twice"));
                    }
                }
                other => {
                    return Err(format!(
                        "{text:?}: no variant {other:?} (the one there is: handicap)"
                    ));
                }
            }
        }
        Ok(arm)
    }

    /// As the command line writes it: `dashmap+handicap=150us`.
    pub fn spec(&self) -> String {
        match self.handicap {
            None => self.backend.name().to_owned(),
            Some(cost) => format!(
                "{}+handicap={}",
                self.backend.name(),
                humantime::format_duration(cost)
            ),
        }
    }

    /// As folders and reports name it: `dashmap` or `dashmap-handicap-150us`.
    pub fn base_name(&self) -> String {
        match self.handicap {
            None => self.backend.name().to_owned(),
            Some(cost) => format!(
                "{}-handicap-{}",
                self.backend.name(),
                humantime::format_duration(cost)
                    .to_string()
                    .replace(' ', "")
            ),
        }
    }
}

impl std::fmt::Display for Arm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.spec())
    }
}

impl std::str::FromStr for Arm {
    type Err = String;
    fn from_str(text: &str) -> Result<Arm, String> {
        Arm::parse(text)
    }
}

/// Each arm's name, unique in the list: an arm given twice gets `-2`, `-3`, … (`dashmap`,
/// `dashmap-2`), so an A/A comparison keeps its two arms apart.
pub fn names(arms: &[Arm]) -> Vec<String> {
    let mut names: Vec<String> = Vec::with_capacity(arms.len());
    for arm in arms {
        let base = arm.base_name();
        let mut name = base.clone();
        let mut turn = 1;
        while names.contains(&name) {
            turn += 1;
            name = format!("{base}-{turn}");
        }
        names.push(name);
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arms_read_a_backend_and_its_variants_and_name_bad_ones() {
        assert_eq!(Arm::parse("scc"), Ok(Arm::plain(Backend::Scc)));
        let handicapped = Arm::parse("dashmap+handicap=150us").expect("an arm");
        assert_eq!(handicapped.backend, Backend::Dashmap);
        assert_eq!(handicapped.handicap, Some(Duration::from_micros(150)));
        assert_eq!(handicapped.spec(), "dashmap+handicap=150us");
        assert_eq!(handicapped.base_name(), "dashmap-handicap-150us");
        assert_eq!(Arm::parse(&handicapped.spec()), Ok(handicapped));
        for (bad, says) in [
            ("mysql", "no backend"),
            ("dashmap+handicap", "KEY=VALUE"),
            ("dashmap+shards=4", "no variant"),
            ("dashmap+handicap=0s", "above zero"),
            ("dashmap+handicap=2s", "at most 1s"),
            ("dashmap+handicap=1ms+handicap=2ms", "twice"),
            ("dashmap+handicap=soon", "dashmap+handicap=soon"),
        ] {
            let error = Arm::parse(bad).expect_err(bad);
            assert!(error.contains(says), "{bad}: {error}");
        }
    }

    #[test]
    fn an_arm_given_twice_gets_a_name_of_its_own() {
        let dashmap = Arm::plain(Backend::Dashmap);
        let slow = Arm::parse("dashmap+handicap=1ms").expect("an arm");
        assert_eq!(
            names(&[dashmap, slow, dashmap, Arm::plain(Backend::Scc), dashmap]),
            [
                "dashmap",
                "dashmap-handicap-1ms",
                "dashmap-2",
                "scc",
                "dashmap-3"
            ]
        );
    }
}
