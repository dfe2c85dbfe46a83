//! ssobench's criterion benchmarks. Benchmark ids read `area/operation/implementation[/size]`,
//! so implementations sit side by side in criterion's reports (`target/criterion/`).

mod http_cart;
mod login_form;
mod redis_concurrency;
mod scaling;
mod store_ops;
mod support;
mod tokens;

fn main() {
    let mut criterion = criterion::Criterion::default().configure_from_args();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let backends = support::Backends::start();
    tokens::define(&mut criterion);
    login_form::define(&mut criterion);
    store_ops::define(&mut criterion, &runtime, &backends);
    scaling::define(&mut criterion, &runtime, &backends);
    http_cart::define(&mut criterion, &runtime, &backends);
    redis_concurrency::define(&mut criterion, &runtime, &backends);
    criterion.final_summary();
}
