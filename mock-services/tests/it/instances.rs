//! `serve --instances 2` as a user runs it: the program itself in a process of its own, one IdP
//! and two store and two forums instances as further processes, on a shared Redis and on a
//! shared Redis Cluster. A session made through one store instance is served and written by the
//! other, a login started at one completes at the other; in-memory backends are refused with
//! the reason.

use crate::stack_support::Browser;
use crate::support::{shared_cluster, start_redis};
use reqwest::StatusCode;
use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `serve` process; killed (with its instances) however the test ends.
struct Serve {
    child: Child,
    urls: Vec<(String, String)>,
}

impl Serve {
    fn start(backend: &[&str]) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mock-services"))
            .args(["serve", "--instances", "2", "--users", "10"])
            .args(["--idp-addr", "127.0.0.1:0"])
            .args([
                "--store-addr",
                "127.0.0.2:0",
                "--forums-addr",
                "127.0.0.3:0",
            ])
            .args(backend)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("mock-services serve");
        let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
        let mut urls = Vec::new();
        // One IdP, two stores, two forums.
        while urls.len() < 5 {
            let mut line = String::new();
            let read = reader.read_line(&mut line).expect("read");
            assert!(read > 0, "serve ended after printing {urls:?}");
            let (name, url) = line.trim_end().split_once(' ').expect("NAME URL");
            urls.push((name.to_owned(), url.to_owned()));
        }
        Serve { child, urls }
    }

    fn urls(&self, name: &str) -> Vec<&str> {
        self.urls
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, url)| url.as_str())
            .collect()
    }

    /// The pids of the process's children (its instances), from /proc.
    fn instance_pids(&self) -> Vec<u32> {
        let parent = self.child.id().to_string();
        std::fs::read_dir("/proc")
            .expect("/proc")
            .filter_map(Result::ok)
            .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                    stat.rsplit_once(')')
                        .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                        == Some(parent.as_str())
                })
            })
            .collect()
    }

    /// SIGTERM, as Ctrl-C would; the process must stop its instances and exit.
    fn stop(mut self) {
        let instances = self.instance_pids();
        assert_eq!(
            instances.len(),
            4,
            "two stores and two forums: {instances:?}"
        );
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait().expect("wait").is_none() {
            assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
        for pid in instances {
            assert!(
                !std::path::Path::new(&format!("/proc/{pid}")).exists()
                    || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                        .is_ok_and(|stat| stat.contains(") Z")),
                "instance {pid} outlived serve"
            );
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn shared_session_across_instances(backend: &[&str]) {
    let serve = Serve::start(backend);
    let stores = serve.urls("store");
    assert_eq!(stores.len(), 2, "{:?}", serve.urls);
    assert_eq!(serve.urls("forums").len(), 2);
    assert_ne!(stores[0], stores[1]);
    let (first, second) = (stores[0].to_owned(), stores[1].to_owned());

    // Log in through the second instance: its callback is registered at the IdP too.
    let browser = Browser::new();
    let hops = browser.walk(&format!("{second}/login")).await;
    let hops = browser
        .submit_login(hops.last().expect("form"), "user1@example.com", "password")
        .await;
    assert!(hops.last().expect("hop").has_marker("cart"), "{hops:?}");
    // The first instance serves the same session (same host, same cookie, shared store)...
    let on_first = browser.get(&format!("{first}/shopping-cart")).await;
    assert!(
        on_first.has_marker("cart") && on_first.body.contains("user1@example.com"),
        "{on_first:?}"
    );
    // ...and writes it; the second sees the write.
    let written = browser
        .post(
            &format!("{first}/shopping-cart/items"),
            &[("sku", "from-first"), ("quantity", "2")],
        )
        .await;
    assert_eq!(written.status, StatusCode::SEE_OTHER);
    let on_second = browser.get(&format!("{second}/shopping-cart")).await;
    assert!(on_second.body.contains("from-first"), "{}", on_second.body);

    // A balancer may hand the callback to another instance than the one that sent the user
    // to the IdP: the login started at the first completes at the second, which exchanges the
    // code with the redirect URI the login was started with.
    let other = Browser::new();
    let hops = other.walk(&format!("{first}/login")).await;
    let posted = other
        .post_login(hops.last().expect("form"), "user2@example.com", "password")
        .await;
    let callback = posted.location.expect("callback");
    assert!(
        callback.starts_with(&format!("{first}/oauth-callback?")),
        "{callback}"
    );
    let elsewhere = callback.replacen(&first, &second, 1);
    let landed = other.walk(&elsewhere).await;
    let last = landed.last().expect("hop");
    assert!(
        last.has_marker("cart") && last.body.contains("user2@example.com"),
        "{landed:?}"
    );
    tokio::task::spawn_blocking(move || serve.stop())
        .await
        .expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_store_instances_share_sessions_on_redis() {
    let redis = start_redis();
    let url = redis.url();
    shared_session_across_instances(&["--backend", "redis", "--redis-url", &url]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_store_instances_share_sessions_on_redis_cluster() {
    let cluster = tokio::task::spawn_blocking(shared_cluster)
        .await
        .expect("cluster");
    let urls = cluster.urls().join(",");
    shared_session_across_instances(&["--backend", "redis-cluster", "--redis-cluster-urls", &urls])
        .await;
}

#[test]
fn in_memory_backends_refuse_several_instances_and_say_why() {
    let output = Command::new(env!("CARGO_BIN_EXE_mock-services"))
        .args(["serve", "--instances", "2", "--backend", "papaya"])
        .args(["--idp-addr", "127.0.0.1:0"])
        .output()
        .expect("mock-services serve");
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        error.contains("needs a shared session backend") && error.contains("one process's memory"),
        "{error}"
    );
}
