//! Where a request comes from, as the browser says it: Fetch Metadata (`Sec-Fetch-Site`) and
//! `Origin`. Every state-changing form post of the services is refused when the browser says it
//! comes from another site.

use axum::http::HeaderMap;

/// Whether the browser says this request comes from another site: `Sec-Fetch-Site:
/// cross-site`, or an `Origin` that is not `own_origin` (`null` included). Requests that carry
/// neither (old browsers, tools) are left to the token.
pub fn cross_site(headers: &HeaderMap, own_origin: &str) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return site.as_bytes().eq_ignore_ascii_case(b"cross-site");
    }
    headers
        .get(axum::http::header::ORIGIN)
        .is_some_and(|origin| origin.as_bytes() != own_origin.as_bytes())
}

/// `scheme://host[:port]` of a base URL (its origin, as browsers send it in `Origin`).
pub fn origin_of(base_url: &str) -> String {
    url::Url::parse(base_url)
        .map(|url| url.origin().ascii_serialization())
        .unwrap_or_else(|_| base_url.trim_end_matches('/').to_owned())
}

/// Request headers from name/value pairs, for the unit tests of header checks.
#[cfg(test)]
pub(crate) fn headers_with(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in pairs {
        headers.append(
            *name,
            axum::http::HeaderValue::from_str(value).expect("value"),
        );
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::headers_with as with;
    use super::*;

    #[test]
    fn fetch_metadata_and_origin_tell_cross_site_requests() {
        let own = origin_of("http://127.0.0.1:9010/");
        assert_eq!(own, "http://127.0.0.1:9010");
        assert!(cross_site(&with(&[("sec-fetch-site", "cross-site")]), &own));
        assert!(!cross_site(
            &with(&[("sec-fetch-site", "same-origin")]),
            &own
        ));
        assert!(cross_site(
            &with(&[("origin", "http://evil.example")]),
            &own
        ));
        assert!(cross_site(&with(&[("origin", "null")]), &own));
        assert!(!cross_site(
            &with(&[("origin", "http://127.0.0.1:9010")]),
            &own
        ));
        assert!(!cross_site(&HeaderMap::new(), &own));
    }
}
