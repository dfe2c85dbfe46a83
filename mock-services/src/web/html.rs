//! Minimal HTML pages: every page has a stable `<title>` and an element id that load scenarios
//! check, and every interpolated value is escaped.

use std::fmt::Write as _;

/// Escapes text for HTML element content and double-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A complete page; `body` must already be escaped HTML.
pub fn page(title: &str, marker_id: &str, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 256);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title></head>\
         <body><main id=\"{}\">{}</main></body></html>\n",
        escape(title),
        escape(marker_id),
        body
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn page_carries_title_and_marker() {
        let html = page("Log in <x>", "login-form", "<p>hi</p>");
        assert!(html.contains("<title>Log in &lt;x&gt;</title>"));
        assert!(html.contains("id=\"login-form\""));
    }
}
