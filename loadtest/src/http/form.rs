//! A served HTML form, as a browser would submit it: its `action` and its hidden fields, found
//! in the page's bytes (the services write forms one way: `<form method="post" action="…">`
//! and `<input type="hidden" name="…" value="…">`, values HTML-escaped).

use memchr::memmem;

/// A form's target and hidden fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedForm {
    pub action: String,
    pub fields: Vec<(String, String)>,
}

impl ServedForm {
    /// The first POST form of `page`, if it has one.
    pub fn find(page: &[u8]) -> Option<ServedForm> {
        let start = memmem::find(page, b"<form method=\"post\" action=\"")?;
        let page = &page[start..];
        let action = attribute(page, b"action=\"")?;
        let end = memmem::find(page, b"</form>").unwrap_or(page.len());
        let form = &page[..end];
        let mut fields = Vec::new();
        for at in memmem::find_iter(form, b"<input type=\"hidden\" ") {
            let input = &form[at..];
            let input = &input[..memchr::memchr(b'>', input).unwrap_or(input.len())];
            if let (Some(name), Some(value)) =
                (attribute(input, b"name=\""), attribute(input, b"value=\""))
            {
                fields.push((name, value));
            }
        }
        Some(ServedForm { action, fields })
    }

    /// The urlencoded body of this form with `extra` fields added (what the user typed).
    pub fn body(&self, extra: &[(&str, &str)]) -> Vec<u8> {
        let mut body = Vec::with_capacity(256);
        let pairs = self
            .fields
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .chain(extra.iter().copied());
        for (name, value) in pairs {
            if !body.is_empty() {
                body.push(b'&');
            }
            encode(&mut body, name);
            body.push(b'=');
            encode(&mut body, value);
        }
        body
    }
}

/// The unescaped value of the first `name="…"`-style attribute (`prefix` is `name="`).
fn attribute(tag: &[u8], prefix: &[u8]) -> Option<String> {
    let start = memmem::find(tag, prefix)? + prefix.len();
    let length = memchr::memchr(b'"', &tag[start..])?;
    let raw = std::str::from_utf8(&tag[start..start + length]).ok()?;
    Some(unescape(raw))
}

/// Undoes the services' HTML escaping.
fn unescape(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// `application/x-www-form-urlencoded` encoding of one name or value.
fn encode(out: &mut Vec<u8>, text: &str) {
    for part in percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC) {
        out.extend_from_slice(part.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_form_is_submitted_with_its_fields_as_served() {
        let page = br#"<main id="login-form"><h1>Log in</h1><form method="post" action="/oauth2/authorize"><input type="hidden" name="client_id" value="store"><input type="hidden" name="state" value="a&amp;b"><input type="hidden" name="csrf_token" value="tok-1"><label>Login id <input name="loginId" type="email"></label></form><form method="post" action="/other"><input type="hidden" name="x" value="y"></form>"#;
        let form = ServedForm::find(page).expect("a form");
        assert_eq!(form.action, "/oauth2/authorize");
        assert_eq!(
            form.fields,
            [
                ("client_id".to_owned(), "store".to_owned()),
                ("state".to_owned(), "a&b".to_owned()),
                ("csrf_token".to_owned(), "tok-1".to_owned()),
            ]
        );
        assert_eq!(
            String::from_utf8(form.body(&[("loginId", "user1@example.com")])).expect("ascii"),
            "client%5Fid=store&state=a%26b&csrf%5Ftoken=tok%2D1&loginId=user1%40example%2Ecom"
        );
        assert_eq!(ServedForm::find(b"<main>no form</main>"), None);
    }
}
