//! Renders reports from small fixed result files (three backends, a Redis restart run and a
//! criterion tree under `tests/fixtures/`) and checks the page, the charts and the verdict.

use reports::chart::Figure;
use reports::figures;
use reports::html::headline_table;
use reports::render::{self, CHARTS_DIR, INDEX_FILE};
use reports::report::Report;
use reports::results::{self, ResultsError};
use std::path::{Path, PathBuf};

const BACKENDS: [&str; 3] = ["dashmap", "scc", "redis"];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A scratch copy of the fixtures, so that rendering never writes into the source tree.
fn scratch() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_tree(&fixtures(), dir.path());
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read fixtures") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

fn run_dirs(root: &Path) -> Vec<PathBuf> {
    BACKENDS.iter().map(|b| root.join(b)).collect()
}

fn comparison(root: &Path) -> Report {
    let criterion = reports::criterion::read(&root.join("criterion")).expect("criterion");
    Report::load(&run_dirs(root), Some(criterion)).expect("fixtures load")
}

fn all_figures(report: &Report) -> Vec<Figure> {
    let (flows, hops) = figures::spectrum_figures(report);
    let mut all = figures::load_figures(report);
    all.extend(flows);
    all.extend(hops);
    all.extend(figures::bench_figures(
        report.criterion.as_ref().expect("criterion"),
    ));
    all
}

#[test]
fn every_chart_is_a_png_of_its_size_and_an_svg() {
    let root = scratch();
    let out = root.path().join("report");
    let report = comparison(root.path());
    let index = render::render(&report, &out).expect("render");
    assert_eq!(index, out.join(INDEX_FILE));
    let expected = all_figures(&report);
    // The chart families the report promises, each present.
    for stem in [
        "requests-per-second",
        "p99-over-time",
        "latency-over-time-dashmap",
        "spectrum-flow-password-login-store",
        "spectrum-hop-store-get-shopping-cart",
        "hops-p50",
        "hops-p99",
        "logins-per-second",
        "status-over-time-redis",
        "sessions-alive",
        "bench-load-hit",
        "bench-thread-scaling",
    ] {
        assert!(
            expected.iter().any(|f| f.stem == stem),
            "no {stem} chart among {:?}",
            expected.iter().map(|f| &f.stem).collect::<Vec<_>>()
        );
    }
    let charts = out.join(CHARTS_DIR);
    let pngs = std::fs::read_dir(&charts)
        .expect("charts dir")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "png"))
        })
        .count();
    assert_eq!(pngs, expected.len(), "one PNG per figure");
    for figure in &expected {
        let png = charts.join(format!("{}.png", figure.stem));
        let decoder = png::Decoder::new(std::io::BufReader::new(
            std::fs::File::open(&png).expect("png exists"),
        ));
        let reader = decoder.read_info().expect("PNG decodes");
        let info = reader.info();
        assert_eq!(
            (info.width, info.height),
            figure.size(),
            "{}",
            png.display()
        );
        let svg = std::fs::read_to_string(charts.join(format!("{}.svg", figure.stem)))
            .expect("svg exists");
        assert!(svg.contains("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains(&figure.title.replace('&', "&amp;")) || svg.contains("<text"));
    }
}

#[test]
fn the_page_references_nothing_outside_its_folder() {
    let root = scratch();
    let out = root.path().join("report");
    let index = render::render(&comparison(root.path()), &out).expect("render");
    let html = std::fs::read_to_string(&index).expect("index");
    assert!(!html.contains("://"), "an absolute URL in the page");
    for forbidden in ["<script", "<link", "@import", "url(", "<iframe"] {
        assert!(!html.contains(forbidden), "{forbidden} in the page");
    }
    // Every src and href is relative and points at a file that exists.
    let mut references = 0;
    for attribute in ["src=\"", "href=\""] {
        for part in html.split(attribute).skip(1) {
            let target = part.split('"').next().expect("closing quote");
            assert!(
                !target.starts_with('/') && !target.starts_with("//"),
                "{target}"
            );
            assert!(out.join(target).is_file(), "{target} does not exist");
            references += 1;
        }
    }
    assert!(references > 20, "only {references} references");
    // The goose reports of each run are linked.
    for backend in BACKENDS {
        assert!(html.contains(&format!("href=\"../{backend}/goose-report.html\"")));
    }
}

#[test]
fn headline_table_snapshot() {
    let root = scratch();
    insta::assert_snapshot!(headline_table(&comparison(root.path())));
}

#[test]
fn the_verdict_is_computed_from_the_figures() {
    let root = scratch();
    let sentences = reports::verdict::verdict(&comparison(root.path()));
    let text = sentences.join("\n");
    // One run per backend: ratios, but no interval and so no winner, and it says why.
    assert!(
        text.contains("With one repetition of a backend there is no spread to judge"),
        "{text}"
    );
    // 30,000 / 15,000 requests/s = 2.00×; cart p99 0.4 ms against 0.8 ms.
    assert!(
        text.contains(
            "dashmap served 2.00× the requests of redis (median 30,000 vs 15,000 requests/s, \
             one pair of runs: no interval, so no winner); p99 on store: GET /shopping-cart: \
             median 0.400 ms vs 0.800 ms."
        ),
        "{text}"
    );
    assert!(
        text.contains("dashmap served 1.02× the requests of scc (median 30,000 vs 29,500"),
        "{text}"
    );
    assert!(text.contains("redis: 12 of "), "{text}");
    assert!(!text.contains("not like for like"), "{text}");
}

/// The fixture of `backend` as repetitions 1, 2, 3… serving `rates` requests/s, with the cart
/// p99 falling as the rate rises.
fn repetitions(
    root: &Path,
    backend: &str,
    rates: &[f64],
) -> Vec<(PathBuf, results::LoadRunResults)> {
    let fixture = results::read_load(&root.join(backend)).expect("fixture");
    rates
        .iter()
        .enumerate()
        .map(|(index, rate)| {
            let mut run = fixture.clone();
            run.config.repetition = u32::try_from(index + 1).expect("small");
            run.requests_per_second = *rate;
            for hop in &mut run.hops {
                hop.raw_us.p99 = 1e10 / rate;
            }
            (root.join(backend), run)
        })
        .collect()
}

#[test]
fn repetitions_name_a_winner_only_when_the_interval_excludes_one() {
    let root = scratch();
    let mut runs = repetitions(root.path(), "dashmap", &[30_000.0, 31_000.0, 29_500.0]);
    runs.extend(repetitions(
        root.path(),
        "scc",
        &[30_500.0, 29_000.0, 30_200.0],
    ));
    runs.extend(repetitions(
        root.path(),
        "redis",
        &[15_000.0, 15_400.0, 14_800.0],
    ));
    for run in &mut runs {
        run.1.errors_total = 0;
        run.1.error_rate = 0.0;
    }
    let report = Report::from_results(runs, None);
    let text = reports::verdict::verdict(&report).join("\n");
    // dashmap against scc: ratios 0.98, 1.07, 0.98: the interval spans 1.
    assert!(
        text.contains("the requests of scc (95% confidence; median 30,000 vs 30,200 requests/s): no measurable difference")
            || text.contains("the requests of dashmap (95% confidence; median 30,200 vs 30,000 requests/s): no measurable difference"),
        "{text}"
    );
    // against redis: ratios 2.00, 2.01, 1.99: a winner, with its interval, at a lower p99.
    let winner = text
        .lines()
        .find(|line| line.contains("the requests of redis"))
        .expect("a sentence on redis");
    // scc's median (30,200) is the highest, so it is the one compared with redis.
    assert!(
        winner.starts_with("scc served 1.98× (1.77–2.22×) the requests of redis (95% confidence"),
        "{winner}"
    );
    assert!(
        winner.contains("at a lower p99 on store: GET /shopping-cart"),
        "{winner}"
    );
    assert!(!winner.contains("no measurable difference"), "{winner}");
    assert!(!text.contains("With one repetition"), "{text}");
    // The page shows the medians and every repetition, and the spread charts.
    let out = root.path().join("repeated");
    let index = render::render(&report, &out).expect("render");
    let html = std::fs::read_to_string(index).expect("index");
    assert!(html.contains("<table id=\"summary\">"), "{html}");
    assert!(html.contains("<td>30,000 (29,500–31,000)</td>"), "{html}");
    assert!(html.contains("<td>75%</td>"), "{html}");
    assert!(html.contains("<table id=\"ratios\">"), "{html}");
    assert!(
        html.contains("<tr><td>scc ÷ redis</td><td>1.98× (1.77–2.22×), higher</td>"),
        "{html}"
    );
    assert!(
        html.contains("dashmap #3"),
        "every repetition has its column"
    );
    for stem in ["spread-throughput", "spread-logins", "spread-latency"] {
        assert!(
            out.join(CHARTS_DIR).join(format!("{stem}.png")).is_file(),
            "{stem}"
        );
    }
}

#[test]
fn a_failing_store_backend_is_never_called_the_winner() {
    let root = scratch();
    let mut runs = Vec::new();
    for (backend, ops, failed) in [
        ("store-dashmap", 100_000.0, 0),
        ("store-redis", 900_000.0, 50_000),
    ] {
        let fixture = results::read(&root.path().join(backend)).expect("fixture");
        for repetition in 1..=3 {
            let mut run = fixture.clone();
            run.config.repetition = repetition;
            run.operations_per_second = ops + f64::from(repetition);
            run.total_operations = 1_000_000;
            run.total_errors = failed;
            runs.push((root.path().join(backend), run));
        }
    }
    let report = reports::store_report::StoreReport::from_results(runs, None);
    let text = reports::store_report::verdict(&report).join("\n");
    assert!(
        text.contains(
            "redis against dashmap: no winner, because redis failed 5.0% of its operations"
        ),
        "{text}"
    );
    assert!(!text.contains("redis completed"), "{text}");
}

#[test]
fn runs_that_differ_in_setup_are_flagged() {
    let root = scratch();
    let mut report = comparison(root.path());
    report.runs[2].results.config.users = 64;
    let text = reports::verdict::verdict(&report).join("\n");
    assert!(
        text.contains("These runs differ in users: the comparison below is not like for like."),
        "{text}"
    );
}

#[test]
fn one_run_renders_into_its_own_directory() {
    let root = scratch();
    let dir = root.path().join("dashmap");
    let results = results::read_load(&dir).expect("fixture");
    let index = render::render_run(&dir, &results).expect("render");
    assert_eq!(index, dir.join(INDEX_FILE));
    let html = std::fs::read_to_string(index).expect("index");
    assert!(
        html.contains("dashmap served 30,000 requests/s"),
        "verdict of one run"
    );
    assert!(html.contains("href=\"goose-report.html\""));
    assert!(
        dir.join(CHARTS_DIR)
            .join("requests-per-second.png")
            .is_file()
    );
}

#[test]
fn a_run_without_timeline_or_flows_still_renders() {
    let root = scratch();
    let dir = root.path().join("scc");
    let mut results = results::read_load(&dir).expect("fixture");
    results.timeline.clear();
    results.flows.clear();
    results.hops.clear();
    let report = Report::from_results(vec![(dir.clone(), results)], None);
    let index = render::render(&report, &dir).expect("render");
    let html = std::fs::read_to_string(index).expect("index");
    assert!(html.contains("<table id=\"headline\">"));
    assert!(
        dir.join(CHARTS_DIR)
            .join("requests-per-second.png")
            .is_file()
    );
}

#[test]
fn old_and_foreign_results_files_are_refused_with_a_reason() {
    let root = scratch();
    let dir = root.path().join("redis");
    let path = dir.join(results::RESULTS_FILE);
    let text = std::fs::read_to_string(&path).expect("fixture");
    std::fs::write(
        &path,
        text.replacen("\"schema_version\": 4", "\"schema_version\": 3", 1),
    )
    .expect("write");
    match results::read_load(&dir) {
        Err(error @ ResultsError::Version { found: 3, .. }) => {
            assert!(error.to_string().contains("schema 3"), "{error}")
        }
        other => panic!("expected a version error, got {other:?}"),
    }
    // A store-level run read as a load run is named for what it is.
    match results::read_load(&root.path().join("store-dashmap")) {
        Err(error @ ResultsError::StoreRun { .. }) => {
            assert!(error.to_string().contains("store-level"), "{error}")
        }
        other => panic!("expected a store-run error, got {other:?}"),
    }
}

#[test]
fn store_level_runs_render_their_own_comparison() {
    let root = scratch();
    let dirs = vec![
        root.path().join("store-dashmap"),
        root.path().join("store-redis"),
    ];
    let out = root.path().join("store-report");
    let index = render::render_comparison(&dirs, None, &out).expect("render");
    let html = std::fs::read_to_string(index).expect("index");
    assert!(!html.contains("://"));
    // 2.8 M against 140 k operations/s is 20×; p99 of the lookup 4 µs against 900 µs.
    assert!(
        html.contains(
            "dashmap completed 20× the operations of redis (median 2,800,000 vs 140,000 \
             operations/s, one pair of runs: no interval, so no winner); p99 of \
             load_and_extend: median 4.00 µs vs 900 µs."
        ),
        "{html}"
    );
    assert!(
        html.contains("redis: 3 of 700,000 operations failed"),
        "{html}"
    );
    assert!(html.contains("<tr><td>load_and_extend: p50 (µs)</td><td>0.50</td><td>380</td></tr>"));
    let report = reports::store_report::StoreReport::from_results(
        dirs.iter()
            .map(|dir| (dir.clone(), results::read(dir).expect("fixture")))
            .collect(),
        None,
    );
    for figure in reports::store_report::figures(&report) {
        let png = out.join(CHARTS_DIR).join(format!("{}.png", figure.stem));
        let reader = png::Decoder::new(std::io::BufReader::new(
            std::fs::File::open(&png).expect("png exists"),
        ))
        .read_info()
        .expect("PNG decodes");
        assert_eq!((reader.info().width, reader.info().height), figure.size());
    }
}

#[test]
fn a_store_run_and_a_load_run_are_not_compared() {
    let root = scratch();
    let dirs = vec![root.path().join("dashmap"), root.path().join("store-redis")];
    let error = render::render_comparison(&dirs, None, &root.path().join("mixed"))
        .expect_err("mixed kinds");
    assert!(error.to_string().contains("one kind"), "{error}");
}

#[test]
fn a_failing_run_is_never_called_the_winner() {
    let root = scratch();
    let mut report = comparison(root.path());
    // redis fails 5% of its requests, and serves "more" than anyone.
    let redis = &mut report.runs[2].results;
    redis.requests_per_second = 90_000.0;
    redis.errors_total = redis.requests_total / 20;
    redis.error_rate = 0.05;
    let text = reports::verdict::verdict(&report).join("\n");
    assert!(
        text.contains(
            "redis against dashmap: no winner, because redis failed 5.0% of its requests"
        ),
        "{text}"
    );
    assert!(!text.contains("redis served"), "{text}");
}

#[test]
fn open_model_runs_are_compared_on_the_corrected_p99() {
    let root = scratch();
    let mut report = comparison(root.path());
    for run in &mut report.runs {
        run.results.config.target_rate = Some(500.0);
        for hop in &mut run.results.hops {
            hop.corrected_us.p99 = hop.raw_us.p99 * 10.0;
        }
    }
    let text = reports::verdict::verdict(&report).join("\n");
    assert!(
        text.contains("corrected p99 on store: GET /shopping-cart: median 4.00 ms vs 8.00 ms"),
        "{text}"
    );
}

#[test]
fn a_hop_without_a_successful_sample_shows_no_latency() {
    let root = scratch();
    let mut report = comparison(root.path());
    let hop = &mut report.runs[1].results.hops[1];
    hop.count = 0;
    hop.errors = 7;
    let hop_bars = figures::load_figures(&report)
        .into_iter()
        .find(|f| f.stem == "hops-p99")
        .expect("hops-p99");
    let reports::chart::Chart::Bars(bars) = hop_bars.chart else {
        panic!("hops-p99 is a bar chart");
    };
    let row = bars
        .categories
        .iter()
        .position(|c| c == "store: GET /oauth-callback")
        .expect("category");
    assert_eq!(bars.values[row][1], None, "no bar for scc");
    assert!(bars.values[row][0].is_some());
    let out = root.path().join("out");
    let html =
        std::fs::read_to_string(render::render(&report, &out).expect("render")).expect("index");
    assert!(
        html.contains("<td>store: GET /oauth-callback</td><td>scc</td><td>0</td><td>7</td><td colspan=\"6\">no successful sample</td>"),
        "the table says so instead of showing zeros"
    );
}

#[test]
fn links_are_relative_however_the_directories_were_named() {
    let root = scratch();
    // A run folder named with characters that would break a raw href.
    let odd = root.path().join("runs #1?");
    copy_tree(&root.path().join("dashmap"), &odd);
    let out = root.path().join("out");
    std::fs::create_dir_all(&out).expect("out");
    let report = Report::load(&[odd.join("."), root.path().join("scc")], None).expect("load");
    let html = std::fs::read_to_string(render::render(&report, &out.join(".")).expect("render"))
        .expect("index");
    assert!(
        html.contains("href=\"../runs%20%231%3F/goose-report.html\""),
        "{html}"
    );
    assert!(html.contains("href=\"../scc/results.json\""));
}

#[test]
fn a_run_with_a_fault_shades_its_window_and_shows_its_figures() {
    let root = scratch();
    let dir = root.path().join("redis-restart");
    let results = results::read_load(&dir).expect("fixture");
    let fault = &results.faults[0];
    let (began, ended) = (
        fault.began_ms.expect("began") / 1000.0,
        fault.ended_ms.expect("ended") / 1000.0,
    );
    let report = Report::load(std::slice::from_ref(&dir), None).expect("load");
    let timelines: Vec<Figure> = figures::load_figures(&report)
        .into_iter()
        .filter(|figure| {
            matches!(&figure.chart, reports::chart::Chart::Lines(lines) if lines.x_label == "time (s)")
        })
        .collect();
    assert!(timelines.len() >= 6, "{}", timelines.len());
    for figure in &timelines {
        let reports::chart::Chart::Lines(lines) = &figure.chart else {
            unreachable!()
        };
        assert_eq!(lines.shaded, [(began, ended)], "{}", figure.stem);
    }
    let index = render::render_run(&dir, &results).expect("render");
    let html = std::fs::read_to_string(index).expect("index");
    assert!(html.contains("<h2 id=\"faults\">Faults</h2>"));
    assert!(html.contains(&fault.verdict), "the verdict is on the page");
    assert!(html.contains("<code>redis-restart@6s+3s</code>"));
    assert!(
        html.contains("<td>0 / 32</td>"),
        "relogins: none by SSO, 32 with a password"
    );
    let chart = dir.join(CHARTS_DIR).join("faults-redis.png");
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&chart).expect("the faults chart exists"),
    ));
    let info = decoder.read_info().expect("PNG decodes");
    assert_eq!(
        (info.info().width, info.info().height),
        (reports::chart::WIDTH, reports::chart::LINE_HEIGHT)
    );
}

#[test]
fn a_run_over_several_instances_shows_each_instances_requests() {
    let root = scratch();
    let dir = root.path().join("redis");
    let mut results = results::read_load(&dir).expect("fixture");
    let instance = |service: &str, url: &str, requests: u64| results::InstanceRequests {
        service: service.parse().expect("a service"),
        url: url.into(),
        requests,
    };
    // One instance of each service: no section.
    results.instances = vec![
        instance("idp", "http://127.0.0.1:1", 10),
        instance("store", "http://127.0.0.2:1", 90),
        instance("forums", "http://127.0.0.3:1", 5),
    ];
    let index = render::render_run(&dir, &results).expect("render");
    let html = std::fs::read_to_string(&index).expect("index");
    assert!(!html.contains("id=\"instances\""));
    results.instances = vec![
        instance("idp", "http://127.0.0.1:1", 10),
        instance("store", "http://127.0.0.2:1", 3_000),
        instance("store", "http://127.0.0.2:2", 1_000),
        instance("forums", "http://127.0.0.3:1", 5),
        instance("forums", "http://127.0.0.3:2", 5),
    ];
    let index = render::render_run(&dir, &results).expect("render");
    let html = std::fs::read_to_string(&index).expect("index");
    assert!(html.contains("<h2 id=\"instances\">Instances</h2>"));
    assert!(
        html.contains("<td>store</td><td>http://127.0.0.2:1</td><td>3,000</td><td>75.0%</td>"),
        "{html}"
    );
    assert!(html.contains("<td>store</td><td>http://127.0.0.2:2</td><td>1,000</td><td>25.0%</td>"));
    assert!(html.contains("<td>forums</td><td>http://127.0.0.3:2</td><td>5</td><td>50.0%</td>"));
}

#[test]
fn a_run_shows_its_logins_connections_tls_and_hop_parts() {
    let root = scratch();
    let dir = root.path().join("dashmap");
    let mut results = results::read_load(&dir).expect("fixture");
    // A plain-HTTP run from before these figures: the section shows dashes, not inventions.
    let index = render::render_run(&dir, &results).expect("render");
    let html = std::fs::read_to_string(&index).expect("index");
    assert!(html.contains("<h2 id=\"logins\">Logins and connections</h2>"));
    assert!(
        html.contains("<td>TLS handshakes: full / resumed (TLS 1.3)</td><td>– (plain HTTP)</td>")
    );
    assert!(!html.contains("Hop time by part"));

    results.login_outcomes = results::LoginOutcomes {
        completed: 120,
        form_again: 7,
        rate_limited: 3,
        ..Default::default()
    };
    results.transport = results::Transport {
        connections_opened: 40,
        connect_us: None,
        tls: Some(results::TlsResults {
            handshakes_full: 32,
            handshakes_resumed: 8,
            handshakes_tls13: 40,
            handshake_full_us: None,
            handshake_resumed_us: None,
            resumption: "per-user".into(),
            insecure: true,
            ca_cert: None,
        }),
        ..Default::default()
    };
    results.config.target_hosts = vec![results::TargetHost {
        service: vocabulary::Service::Idp,
        url: "https://idp.test:8443".into(),
        addresses: vec!["127.0.0.1:8443".into(), "[::1]:8443".into()],
    }];
    let first = results.hops.first_mut().expect("a hop");
    first.phases = Some(results::Phases {
        connections: 4,
        connect_mean_us: Some(250.0),
        handshakes: 4,
        handshake_mean_us: Some(1_500.0),
        first_byte_mean_us: 900.0,
    });
    let name = first.name.clone();
    let index = render::render_run(&dir, &results).expect("render");
    let html = std::fs::read_to_string(&index).expect("index");
    assert!(
        html.contains("<td>logins completed</td><td>120</td>"),
        "{html}"
    );
    assert!(html.contains("<td>rate-limited (429)</td><td>3</td>"));
    assert!(html.contains("<td>32 / 8 (40)</td>"));
    assert!(html.contains("NOT verified (--insecure); resumption per-user"));
    assert!(html.contains("<td>https://idp.test:8443</td><td>127.0.0.1:8443, [::1]:8443</td>"));
    assert!(html.contains("Hop time by part"));
    assert!(html.contains(&format!("<td>{}</td>", reports::format::escape(&name))));
    // The verdict names what was not a login, and the unverified certificates.
    assert!(
        html.contains("10 logins did not complete, none counted as a login: the login form again after the password (7), rate-limited (429) (3)"),
        "{html}"
    );
    assert!(html.contains("TLS certificates were not verified (--insecure)"));
}
