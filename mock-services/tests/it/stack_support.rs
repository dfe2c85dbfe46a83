//! A whole stack (IdP, store, forums) on free loopback ports, and a browser that does not follow
//! redirects on its own, so each hop is seen and checked.

use crate::support::{TestTime, start_redis};
use mock_services::cli::{Backend, BackendArgs};
use mock_services::local_redis::LocalRedis;
use mock_services::session::{Clock, ManualClock};
use mock_services::stack::{RunningStack, StackConfig, start};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

/// A running stack, the Redis behind it, if any, and how its sessions' time passes: a manual
/// clock for the in-memory backends (through the typed stack configuration), real time for Redis.
pub struct Stack {
    pub running: RunningStack,
    pub redis: Option<LocalRedis>,
    pub time: TestTime,
}

impl Stack {
    /// Starts IdP, store and forums on free ports of the given backend, with the configuration
    /// changed by `configure` (e.g. timeouts).
    pub async fn start(backend: &str, configure: impl FnOnce(&mut StackConfig)) -> Stack {
        let redis = (backend == "redis").then(start_redis);
        let mut config = StackConfig::ephemeral(BackendArgs {
            backend: backend.parse_backend(),
            redis_url: redis.as_ref().map(LocalRedis::url),
            redis_persistence: Default::default(),
            redis_cluster_urls: Vec::new(),
        });
        config.idp.users = 100;
        let time = if redis.is_some() {
            TestTime::Real
        } else {
            let clock = ManualClock::new();
            config.clock = Clock::Manual(clock.clone());
            TestTime::Manual(clock)
        };
        configure(&mut config);
        let running = start(&config).await.expect("stack starts");
        Stack {
            running,
            redis,
            time,
        }
    }

    pub fn store(&self) -> &str {
        self.running.store_url.as_deref().expect("store url")
    }

    pub fn forums(&self) -> &str {
        self.running.forums_url.as_deref().expect("forums url")
    }

    pub fn idp(&self) -> &str {
        self.running.idp_url.as_deref().expect("idp url")
    }
}

/// A backend named as the test matrix names it.
trait ParseBackend {
    fn parse_backend(&self) -> Backend;
}

impl ParseBackend for str {
    fn parse_backend(&self) -> Backend {
        Backend::from_name(self).unwrap_or_else(|| panic!("unknown backend {self}"))
    }
}

/// One hop: the response's status, `Location` and body.
#[derive(Debug)]
pub struct Hop {
    pub url: String,
    pub status: StatusCode,
    pub location: Option<String>,
    pub set_cookies: Vec<String>,
    pub body: String,
}

impl Hop {
    pub fn has_marker(&self, id: &str) -> bool {
        self.body.contains(&format!("id=\"{id}\""))
    }

    /// The value this hop set for cookie `name`, if it set one.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookies
            .iter()
            .find(|c| c.starts_with(&format!("{name}=")))
            .and_then(|c| c.split(';').next())
            .and_then(|pair| pair.split_once('='))
            .map(|(_, value)| value.to_owned())
    }
}

/// A browser: a cookie jar, no automatic redirects.
pub struct Browser {
    pub client: reqwest::Client,
}

impl Browser {
    /// A browser that already holds `cookie` (`name=value`) for `url`'s host.
    pub fn with_cookie(cookie: &str, url: &str) -> Self {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        jar.add_cookie_str(cookie, &reqwest::Url::parse(url).expect("url"));
        Browser::with_jar(jar)
    }

    pub fn new() -> Self {
        Browser::with_jar(std::sync::Arc::default())
    }

    /// A browser that trusts the CA certificates of the PEM file `ca` (a stack over HTTPS).
    pub fn trusting(ca: &std::path::Path) -> Self {
        let pem = std::fs::read(ca).expect("CA file");
        let certificates = reqwest::Certificate::from_pem_bundle(&pem).expect("CA certificates");
        Browser {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .cookie_provider(std::sync::Arc::new(reqwest::cookie::Jar::default()))
                .tls_certs_merge(certificates)
                .build()
                .expect("client"),
        }
    }

    fn with_jar(jar: std::sync::Arc<reqwest::cookie::Jar>) -> Self {
        Browser {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .cookie_provider(jar)
                .build()
                .expect("client"),
        }
    }

    async fn read(url: String, response: reqwest::Response) -> Hop {
        let status = response.status();
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let set_cookies = response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        let body = response.text().await.unwrap_or_default();
        Hop {
            url,
            status,
            location,
            set_cookies,
            body,
        }
    }

    pub async fn get(&self, url: &str) -> Hop {
        let response = self.client.get(url).send().await.expect("GET");
        Self::read(url.to_owned(), response).await
    }

    pub async fn post(&self, url: &str, form: &[(&str, &str)]) -> Hop {
        let response = self.client.post(url).form(form).send().await.expect("POST");
        Self::read(url.to_owned(), response).await
    }

    /// GETs `url` and follows redirects by hand (at most 10), returning every hop.
    pub async fn walk(&self, url: &str) -> Vec<Hop> {
        let mut hops = Vec::new();
        let mut next = url.to_owned();
        for _ in 0..10 {
            let hop = self.get(&next).await;
            let location = hop.location.clone();
            let base = reqwest::Url::parse(&hop.url).expect("url");
            hops.push(hop);
            match location {
                Some(location) if hops.last().is_some_and(|h| h.status.is_redirection()) => {
                    next = base.join(&location).expect("location").to_string();
                }
                _ => return hops,
            }
        }
        panic!("more than 10 redirects from {url}");
    }

    /// Submits the IdP's login form found in `form_hop` with a password, returning the hops
    /// from the POST on.
    pub async fn submit_login(&self, form_hop: &Hop, login_id: &str, password: &str) -> Vec<Hop> {
        let posted = self.post_login(form_hop, login_id, password).await;
        let next = posted.location.clone().expect("location");
        let mut hops = vec![posted];
        hops.extend(self.walk(&next).await);
        hops
    }

    /// Posts the IdP's login form found in `form_hop` with a password; returns the POST's own
    /// answer (302 to the app's callback), not followed.
    pub async fn post_login(&self, form_hop: &Hop, login_id: &str, password: &str) -> Hop {
        let mut fields: Vec<(String, String)> = hidden_fields(&form_hop.body);
        fields.push(("loginId".into(), login_id.into()));
        fields.push(("password".into(), password.into()));
        let action = reqwest::Url::parse(&form_hop.url)
            .expect("url")
            .join("/oauth2/authorize")
            .expect("action");
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let posted = self.post(action.as_str(), &pairs).await;
        assert_eq!(
            posted.status,
            StatusCode::FOUND,
            "the login POST must answer 302: {posted:?}"
        );
        posted
    }
}

/// GETs `url` with exactly this Cookie header and no jar: an attacker replaying a cookie.
pub async fn replay(url: &str, cookie: &str) -> Hop {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let response = client
        .get(url)
        .header(COOKIE, cookie)
        .send()
        .await
        .expect("GET");
    Browser::read(url.to_owned(), response).await
}

/// The hidden inputs of a form, unescaped.
pub fn hidden_fields(html: &str) -> Vec<(String, String)> {
    html.split("<input type=\"hidden\" ")
        .skip(1)
        .filter_map(|rest| {
            let name = rest.split("name=\"").nth(1)?.split('"').next()?;
            let value = rest.split("value=\"").nth(1)?.split('"').next()?;
            Some((name.to_owned(), unescape(value)))
        })
        .collect()
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Password login at the store from its home page; returns the browser's store session cookie.
pub async fn store_login(browser: &Browser, stack: &Stack, login_id: &str) -> String {
    let hops = browser.walk(&format!("{}/login", stack.store())).await;
    let form = hops.last().expect("hops");
    assert!(
        form.has_marker("login-form"),
        "expected the IdP's form: {hops:?}"
    );
    let hops = browser.submit_login(form, login_id, "password").await;
    let landing = hops.last().expect("hops");
    assert!(
        landing.has_marker("cart"),
        "expected the cart after login: {hops:?}"
    );
    hops.iter()
        .find_map(|hop| hop.cookie("ssobench_store_session"))
        .expect("a store session cookie")
}
