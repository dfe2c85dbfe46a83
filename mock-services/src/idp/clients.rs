//! Registered OAuth clients: id, secret, exact redirect URIs, post-logout URIs, PKCE policy.

use std::collections::HashMap;

/// One registered client (a confidential web app).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub id: String,
    pub secret: String,
    /// Compared byte for byte: no normalisation, no prefix or pattern matching.
    pub redirect_uris: Vec<String>,
    /// Where `/oauth2/logout` may send the browser afterwards.
    pub post_logout_redirect_uris: Vec<String>,
    /// When set, an authorization request without a PKCE S256 challenge is refused.
    pub require_pkce: bool,
}

impl Client {
    pub fn allows_redirect(&self, uri: &str) -> bool {
        self.redirect_uris
            .iter()
            .any(|registered| registered == uri)
    }

    pub fn allows_post_logout_redirect(&self, uri: &str) -> bool {
        self.post_logout_redirect_uris
            .iter()
            .any(|registered| registered == uri)
    }

    /// Parses `ID:SECRET:REDIRECT_URI` (the URI may itself contain colons).
    pub fn parse_flag(text: &str) -> Result<Client, String> {
        let mut parts = text.splitn(3, ':');
        let (Some(id), Some(secret), Some(redirect_uri)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(format!(
                "--client {text:?}: expected ID:SECRET:REDIRECT_URI"
            ));
        };
        if id.is_empty() || secret.is_empty() {
            return Err(format!(
                "--client {text:?}: ID and SECRET must not be empty"
            ));
        }
        let parsed = url::Url::parse(redirect_uri)
            .map_err(|error| format!("--client {text:?}: redirect URI: {error}"))?;
        if parsed.fragment().is_some() {
            return Err(format!(
                "--client {text:?}: a redirect URI must not have a fragment"
            ));
        }
        Ok(Client {
            id: id.to_owned(),
            secret: secret.to_owned(),
            redirect_uris: vec![redirect_uri.to_owned()],
            post_logout_redirect_uris: Vec::new(),
            require_pkce: false,
        })
    }
}

/// All registered clients, by id.
#[derive(Debug, Clone, Default)]
pub struct ClientRegistry {
    clients: HashMap<String, Client>,
}

impl ClientRegistry {
    /// Registers clients; a repeated id adds its redirect URIs to the first registration.
    pub fn new(clients: impl IntoIterator<Item = Client>) -> Self {
        let mut registry = ClientRegistry::default();
        for client in clients {
            match registry.clients.get_mut(&client.id) {
                Some(existing) => {
                    existing.redirect_uris.extend(client.redirect_uris);
                    existing
                        .post_logout_redirect_uris
                        .extend(client.post_logout_redirect_uris);
                    existing.require_pkce |= client.require_pkce;
                }
                None => {
                    registry.clients.insert(client.id.clone(), client);
                }
            }
        }
        registry
    }

    pub fn get(&self, id: &str) -> Option<&Client> {
        self.clients.get(id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Client> {
        self.clients.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_keeps_colons_of_the_uri() {
        let client = Client::parse_flag("cli:s3cret:http://127.0.0.1:8080/cb").expect("parse");
        assert_eq!(client.id, "cli");
        assert_eq!(client.secret, "s3cret");
        assert_eq!(client.redirect_uris, ["http://127.0.0.1:8080/cb"]);
    }

    #[test]
    fn bad_flags_are_refused_with_the_flag_named() {
        for bad in [
            "cli",
            "cli:secret",
            ":s:http://x/",
            "cli:s:not a url",
            "cli:s:http://h/cb#frag",
        ] {
            let error = Client::parse_flag(bad).expect_err(bad);
            assert!(error.contains("--client"), "{error}");
        }
    }

    #[test]
    fn redirect_match_is_exact() {
        let client = Client::parse_flag("c:s:http://127.0.0.2:9011/oauth-callback").expect("parse");
        assert!(client.allows_redirect("http://127.0.0.2:9011/oauth-callback"));
        for near_miss in [
            "http://127.0.0.2:9011/oauth-callback/",
            "http://127.0.0.2:9012/oauth-callback",
            "http://127.0.0.2:9011/oauth-callback?x=1",
            "http://127.0.0.2:9011/OAUTH-CALLBACK",
            "HTTP://127.0.0.2:9011/oauth-callback",
            "http://127.0.0.2:9011/oauth-callback#",
        ] {
            assert!(!client.allows_redirect(near_miss), "{near_miss}");
        }
    }
}
