//! The merged report, served by the coordinator once the run is merged: its pages at
//! `/report/…` (`/` leads there) for a browser through `kubectl port-forward`, and the whole run
//! directory as one tar file at `/report.tar` — fetching that ends the coordinator's wait (no
//! `tar` or `kubectl cp` needed in the image). Before the merge every path answers 404.

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, OnceLock};
use tokio::sync::Notify;

/// The report's place, once there is one, and who waits for its fetch.
#[derive(Debug)]
pub struct Served {
    dir: OnceLock<PathBuf>,
    fetched: Arc<Notify>,
    /// The run's token: fetching the archive (which ends the coordinator) needs it.
    token: String,
}

impl Served {
    pub fn new(token: String) -> Served {
        Served {
            dir: OnceLock::new(),
            fetched: Arc::new(Notify::new()),
            token,
        }
    }

    /// From now on the report in `dir` is served.
    pub fn publish(&self, dir: &Path) {
        let _ = self.dir.set(dir.to_owned());
    }

    /// Waits until `/report.tar` has been fetched once.
    pub async fn fetched(&self) {
        self.fetched.notified().await;
    }
}

/// The report's routes.
pub fn router(served: Arc<Served>) -> axum::Router {
    axum::Router::new()
        .route("/", get(|| async { Redirect::to("/report/index.html") }))
        .route("/report/{*path}", get(file))
        .route("/report.tar", get(archive))
        .with_state(served)
}

/// The archive goes out in pieces of this size.
const CHUNK: usize = 64 * 1024;

fn not_yet() -> Response {
    (
        StatusCode::NOT_FOUND,
        "no report yet: the run is not merged\n",
    )
        .into_response()
}

/// Whether a requested path stays inside the run directory: plain names only.
fn inside(path: &str) -> bool {
    let path = Path::new(path);
    path.components().count() > 0
        && path.components().all(|part| match part {
            Component::Normal(name) => !name.to_string_lossy().starts_with('.'),
            _ => false,
        })
}

async fn file(State(served): State<Arc<Served>>, UrlPath(path): UrlPath<String>) -> Response {
    let Some(dir) = served.dir.get() else {
        return not_yet();
    };
    if !inside(&path) {
        return (StatusCode::BAD_REQUEST, "not a file of the report\n").into_response();
    }
    match tokio::fs::read(dir.join(&path)).await {
        Ok(bytes) => {
            let kind = match Path::new(&path).extension().and_then(|ext| ext.to_str()) {
                Some("html") => "text/html; charset=utf-8",
                Some("json") => "application/json",
                Some("svg") => "image/svg+xml",
                Some("png") => "image/png",
                Some("css") => "text/css",
                _ => "text/plain; charset=utf-8",
            };
            ([(header::CONTENT_TYPE, kind)], bytes).into_response()
        }
        Err(_) => (StatusCode::NOT_FOUND, "no such file in the report\n").into_response(),
    }
}

async fn archive(State(served): State<Arc<Served>>, headers: HeaderMap) -> Response {
    if !super::protocol::authorized(&headers, &served.token) {
        return (
            StatusCode::UNAUTHORIZED,
            "the archive ends the run's coordinator: it needs the run's token \
             (Authorization: Bearer …, from the Secret's `token`)\n",
        )
            .into_response();
    }
    let Some(dir) = served.dir.get().cloned() else {
        return not_yet();
    };
    let built = tokio::task::spawn_blocking(move || {
        let mut builder = tar::Builder::new(Vec::new());
        builder.append_dir_all("ssobench-run", &dir)?;
        builder.into_inner()
    })
    .await
    .map_err(std::io::Error::other)
    .and_then(|packed| packed);
    match built {
        Ok(bytes) => {
            // The fetch counts once the body's last chunk has been taken by the connection,
            // not when the answer starts: the coordinator must not end mid-transfer.
            let fetched = Arc::clone(&served.fetched);
            let chunks = futures_util::stream::unfold(
                (bytes::Bytes::from(bytes), Some(fetched)),
                |(mut rest, fetched)| async move {
                    if rest.is_empty() {
                        if let Some(fetched) = fetched {
                            fetched.notify_one();
                        }
                        return None;
                    }
                    let chunk = rest.split_to(rest.len().min(CHUNK));
                    Some((Ok::<_, std::convert::Infallible>(chunk), (rest, fetched)))
                },
            );
            (
                [
                    (header::CONTENT_TYPE, "application/x-tar"),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"ssobench-run.tar\"",
                    ),
                ],
                axum::body::Body::from_stream(chunks),
            )
                .into_response()
        }
        Err(error) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the coordinator could not pack the run: {error}\n"),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_inside_the_run_are_served() {
        for ok in [
            "index.html",
            "worker-1/results.json",
            "worker-2/hlog/a.raw.hlog",
        ] {
            assert!(inside(ok), "{ok}");
        }
        for refused in [
            "",
            "../x",
            "/etc/passwd",
            "worker-1/../../x",
            ".hidden",
            "./x",
        ] {
            assert!(!inside(refused), "{refused}");
        }
    }
}
