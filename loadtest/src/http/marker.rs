//! Page markers (`id="cart"`) searched in a body's bytes, never decoded into a `String`.

use memchr::memmem::Finder;

/// One marker's search, prepared once per run.
#[derive(Debug, Clone)]
pub struct Marker {
    id: &'static str,
    finder: Finder<'static>,
}

impl Marker {
    /// The marker of element `id`: the body must contain `id="<id>"`.
    pub fn new(id: &'static str) -> Self {
        let needle = format!("id=\"{id}\"").into_bytes();
        Marker {
            id,
            finder: Finder::new(&needle).into_owned(),
        }
    }

    pub fn id(&self) -> &'static str {
        self.id
    }

    pub fn is_in(&self, body: &[u8]) -> bool {
        self.finder.find(body).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_attribute_not_the_word() {
        let marker = Marker::new("cart");
        assert!(marker.is_in(b"<main id=\"cart\"><p>x</p></main>"));
        assert!(!marker.is_in(b"<main id=\"cart-count\">cart</main>"));
        assert!(!marker.is_in(b"\xff\xfe not utf-8 id=cart"));
        assert!(marker.is_in(b"\xff\xfe not utf-8 but id=\"cart\""));
        assert_eq!(marker.id(), "cart");
    }
}
