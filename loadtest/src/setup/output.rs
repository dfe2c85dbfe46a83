//! Where runs write and how they show progress: the reports folder, a run directory's name,
//! the progress bar.

use std::path::PathBuf;

/// The workspace's `reports/` folder, wherever the command is run from.
pub fn default_reports_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../reports"))
}

/// A new run directory's name: the time, to the second.
pub fn timestamp() -> String {
    jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string()
}

/// The bar a run (or a matrix of runs) advances once a second: `seconds` long in all.
pub fn progress_bar(seconds: u64, quiet: bool) -> indicatif::ProgressBar {
    if quiet {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(seconds);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{prefix:>10} [{elapsed_precise}] {wide_bar} {pos}/{len} s  {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}
