//! Every route the services serve and every page marker the load scenarios check, defined once:
//! the routers, the pages and the load runner all name them from here.

/// The apps' routes (store and forums share the first five).
pub mod app {
    pub const HOME: &str = "/";
    pub const LOGIN: &str = "/login";
    pub const CALLBACK: &str = "/oauth-callback";
    pub const LOGOUT: &str = "/logout";
    /// The store's cart page: a session load and extension.
    pub const CART: &str = "/shopping-cart";
    /// The store's cart write: a session save.
    pub const CART_ITEMS: &str = "/shopping-cart/items";
    /// The forums' posts page.
    pub const POSTS: &str = "/posts";
}

/// The IdP's routes.
pub mod idp {
    pub const AUTHORIZE: &str = "/oauth2/authorize";
    pub const TOKEN: &str = "/oauth2/token";
    pub const USERINFO: &str = "/oauth2/userinfo";
    pub const LOGOUT: &str = "/oauth2/logout";
    pub const DISCOVERY: &str = "/.well-known/openid-configuration";
    pub const JWKS: &str = "/.well-known/jwks.json";
}

/// Element ids that mark each page (`<main id="...">` or an element inside it).
pub mod markers {
    /// An app's home page.
    pub const HOME: &str = "home";
    /// The page a service answers (503) to a connection over its `--max-connections`.
    pub const OVER_CAPACITY: &str = "over-capacity";
    /// The login link on an app's home page, shown to a logged-out browser.
    pub const LOGIN_LINK: &str = "login-link";
    /// Who is signed in, on an app's home page.
    pub const USER: &str = "user";
    /// The store's cart page, its line count and its lines.
    pub const CART: &str = "cart";
    pub const CART_COUNT: &str = "cart-count";
    pub const CART_ITEMS: &str = "cart-items";
    /// The forums' posts page and its list.
    pub const POSTS: &str = "posts";
    pub const POST_LIST: &str = "post-list";
    /// The IdP's login form, and its error line after a wrong password.
    pub const LOGIN_FORM: &str = "login-form";
    pub const LOGIN_ERROR: &str = "login-error";
    /// The IdP's logout confirmation, and its page after logout.
    pub const LOGOUT_CONFIRM: &str = "logout-confirm";
    pub const LOGGED_OUT: &str = "logged-out";
    /// Every service's error page.
    pub const ERROR: &str = "error";
}
