//! ssobench's criterion benchmarks. Benchmark ids read `area/operation/implementation`, so
//! implementations sit side by side in criterion's reports.

mod tokens;

fn main() {
    let mut criterion = criterion::Criterion::default().configure_from_args();
    tokens::define(&mut criterion);
    criterion.final_summary();
}
