//! Each service counts its own operations — a password login, an SSO authorization, a token
//! exchange, a cart read — from its routes and their answers, and tells them at
//! [`OPERATIONS_ROUTE`]: the load runner fits each component's CPU against these counts (it
//! never sees a token exchange or a JWKS fetch itself). One relaxed atomic add per request, and
//! one more when it was an operation, on the service's own state.

use crate::web::routes;
use axum::Json;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use vocabulary::Service;
pub use vocabulary::costs::{OPERATIONS_ROUTE, Operation, ServiceOperations};

/// A service's operation counters; cheap to clone.
#[derive(Debug, Clone)]
pub struct OperationCounts {
    service: Service,
    counts: Arc<[AtomicU64; Operation::ALL.len()]>,
}

impl OperationCounts {
    pub fn new(service: Service) -> Self {
        OperationCounts {
            service,
            counts: Arc::new(std::array::from_fn(|_| AtomicU64::new(0))),
        }
    }

    fn add(&self, operation: Operation) {
        self.counts[operation.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// What has been counted so far, with this process's id.
    pub fn report(&self) -> ServiceOperations {
        ServiceOperations {
            service: self.service,
            pid: std::process::id(),
            counts: Operation::ALL
                .iter()
                .map(|&operation| {
                    (
                        operation,
                        self.counts[operation.index()].load(Ordering::Relaxed),
                    )
                })
                .collect::<BTreeMap<_, _>>(),
        }
    }

    /// Counts one answered request, and the operation it was, if any.
    fn count(&self, method: &Method, route: Option<&str>, response: &Response) {
        self.add(Operation::Request);
        if let Some(operation) = classify(method, route, response) {
            self.add(operation);
        }
    }
}

/// The operation a request was, from its route, method and answer (`None`: only a request).
fn classify(method: &Method, route: Option<&str>, response: &Response) -> Option<Operation> {
    let status = response.status();
    // An authorization answered with a code (not an error) in its redirect's query.
    let issued_code = || {
        status.is_redirection()
            && response
                .headers()
                .get(header::LOCATION)
                .and_then(|value| value.to_str().ok())
                .is_some_and(|location| {
                    let query = location.split_once('?').map_or("", |(_, query)| query);
                    let query = query.split('#').next().unwrap_or("");
                    let has = |name: &str| {
                        query
                            .split('&')
                            .any(|pair| pair.split('=').next() == Some(name))
                    };
                    has("code") && !has("error")
                })
    };
    match (method, route?) {
        (&Method::GET, routes::idp::AUTHORIZE) if status == StatusCode::OK => {
            Some(Operation::LoginForm)
        }
        (&Method::GET, routes::idp::AUTHORIZE) if issued_code() => {
            Some(Operation::SsoAuthorization)
        }
        (&Method::POST, routes::idp::AUTHORIZE) if issued_code() => Some(Operation::PasswordLogin),
        (&Method::POST, routes::idp::TOKEN) if status.is_success() => {
            Some(Operation::TokenExchange)
        }
        (&Method::GET, routes::idp::JWKS) if status.is_success() => Some(Operation::Jwks),
        (&Method::GET, routes::app::CALLBACK) if status.is_redirection() => {
            Some(Operation::AppLogin)
        }
        (&Method::GET, routes::app::CART) if status == StatusCode::OK => Some(Operation::CartRead),
        // A line added is answered 303 to the cart; an expired session 302 to log in.
        (&Method::POST, routes::app::CART_ITEMS) if status == StatusCode::SEE_OTHER => {
            Some(Operation::CartWrite)
        }
        _ => None,
    }
}

/// Middleware: counts every request once answered.
pub async fn count(
    State(counts): State<OperationCounts>,
    request: Request,
    next: Next,
) -> Response {
    // The route's path is shared (`MatchedPath` holds an `Arc<str>`), and a standard method is
    // a constant: nothing is allocated per request.
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let response = next.run(request).await;
    counts.count(&method, route.as_ref().map(MatchedPath::as_str), &response);
    response
}

/// `GET` [`OPERATIONS_ROUTE`]: the counts so far.
pub async fn answer(State(counts): State<OperationCounts>) -> Json<ServiceOperations> {
    Json(counts.report())
}

/// Adds the counting layer and the route that answers the counts to a service's router.
pub fn counted(router: axum::Router, counts: OperationCounts) -> axum::Router {
    // The layer covers the routes before it: asking for the counts is not counted.
    router
        .route_layer(axum::middleware::from_fn_with_state(counts.clone(), count))
        .route(
            OPERATIONS_ROUTE,
            axum::routing::get(answer).with_state(counts),
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::HeaderValue;

    fn answered(status: StatusCode, location: Option<&str>) -> Response {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = status;
        if let Some(location) = location {
            response.headers_mut().insert(
                header::LOCATION,
                HeaderValue::from_str(location).expect("a header value"),
            );
        }
        response
    }

    #[test]
    fn an_answer_names_the_operation_only_when_it_succeeded() {
        let code = answered(StatusCode::FOUND, Some("http://a/cb?code=x&state=y"));
        let error = answered(StatusCode::FOUND, Some("http://a/cb?error=login_required"));
        // A registered redirect URI may itself hold the words: only the query's names count.
        let error_on_odd_uri = answered(
            StatusCode::FOUND,
            Some("http://a/code=1/cb?error=access_denied&state=y"),
        );
        let form = answered(StatusCode::OK, None);
        let refused = answered(StatusCode::BAD_REQUEST, None);
        let added = answered(StatusCode::SEE_OTHER, Some("/shopping-cart"));
        let to_login = answered(StatusCode::FOUND, Some("/login"));
        let cases = [
            (
                Method::GET,
                routes::idp::AUTHORIZE,
                &form,
                Some(Operation::LoginForm),
            ),
            (
                Method::GET,
                routes::idp::AUTHORIZE,
                &code,
                Some(Operation::SsoAuthorization),
            ),
            (Method::GET, routes::idp::AUTHORIZE, &error, None),
            (Method::GET, routes::idp::AUTHORIZE, &error_on_odd_uri, None),
            (
                Method::POST,
                routes::idp::AUTHORIZE,
                &code,
                Some(Operation::PasswordLogin),
            ),
            // A wrong password shows the form again.
            (Method::POST, routes::idp::AUTHORIZE, &form, None),
            (
                Method::POST,
                routes::idp::TOKEN,
                &form,
                Some(Operation::TokenExchange),
            ),
            (Method::POST, routes::idp::TOKEN, &refused, None),
            (Method::GET, routes::idp::JWKS, &form, Some(Operation::Jwks)),
            (
                Method::GET,
                routes::app::CALLBACK,
                &code,
                Some(Operation::AppLogin),
            ),
            (Method::GET, routes::app::CALLBACK, &refused, None),
            (
                Method::GET,
                routes::app::CART,
                &form,
                Some(Operation::CartRead),
            ),
            // An expired session is sent to log in: no cart was read.
            (Method::GET, routes::app::CART, &code, None),
            (
                Method::POST,
                routes::app::CART_ITEMS,
                &added,
                Some(Operation::CartWrite),
            ),
            // An expired session is sent to log in: nothing was written.
            (Method::POST, routes::app::CART_ITEMS, &to_login, None),
            (Method::POST, routes::app::CART_ITEMS, &refused, None),
            (Method::GET, routes::app::HOME, &form, None),
        ];
        for (method, route, response, expected) in cases {
            assert_eq!(
                classify(&method, Some(route), response),
                expected,
                "{method} {route} answered {}",
                response.status()
            );
        }
        assert_eq!(classify(&Method::GET, None, &form), None);
    }

    #[test]
    fn counts_add_up_per_operation_and_every_request_counts() {
        let counts = OperationCounts::new(Service::Store);
        let cart = answered(StatusCode::OK, None);
        let home = answered(StatusCode::OK, None);
        counts.count(&Method::GET, Some(routes::app::CART), &cart);
        counts.count(&Method::GET, Some(routes::app::CART), &cart);
        counts.count(&Method::GET, Some(routes::app::HOME), &home);
        let report = counts.report();
        assert_eq!(report.service, Service::Store);
        assert_eq!(report.pid, std::process::id());
        assert_eq!(report.count(Operation::CartRead), 2);
        assert_eq!(report.count(Operation::Request), 3);
        assert_eq!(report.count(Operation::CartWrite), 0);
    }
}
