//! `http/cart/<backend>`: `GET /shopping-cart` with a valid cookie through the store app's router
//! in-process (`oneshot`, no socket): cookie parse, lookup, extension, render.

use crate::support::{Backends, policy};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use criterion::Criterion;
use http_body_util::BodyExt as _;
use mock_services::app::{self, AppKind, AppSettings, AppState};
use mock_services::session::{SessionData, SessionStore, build_store};
use tower::ServiceExt as _;

pub fn define(c: &mut Criterion, runtime: &tokio::runtime::Runtime, backends: &Backends) {
    for (backend, config) in backends.configs("bench:http:") {
        let (router, cookie) = runtime.block_on(async {
            let sessions = build_store(&config, policy()).await.expect("sessions");
            let prelogins = build_store(&config, policy()).await.expect("prelogins");
            let mut data = SessionData::default();
            data.attributes
                .insert("email".into(), "user1@example.com".into());
            let session = sessions.create("user-1", data).await.expect("session");
            let settings = AppSettings::new(
                AppKind::Store,
                "http://127.0.0.2:9011",
                "http://127.0.0.1:9010",
            );
            let state = AppState::new(settings, sessions, prelogins).expect("app");
            (
                app::router(state),
                format!("ssobench_store_session={}", session.id),
            )
        });
        c.bench_function(&format!("http/cart/{backend}"), |b| {
            b.to_async(runtime).iter(|| {
                let router = router.clone();
                let request = Request::get("/shopping-cart")
                    .header(header::COOKIE, &cookie)
                    .body(Body::empty())
                    .expect("request");
                async move {
                    let response = router.oneshot(request).await.expect("infallible");
                    assert_eq!(response.status(), StatusCode::OK, "the cart must load");
                    let body = response
                        .into_body()
                        .collect()
                        .await
                        .expect("body")
                        .to_bytes();
                    assert!(
                        body.windows(9).any(|w| w == b"id=\"cart\"".as_slice()),
                        "the cart page marker"
                    );
                }
            })
        });
    }
}
