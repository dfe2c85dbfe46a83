//! The store's cart: `GET /shopping-cart` (marker `cart`) reads the session;
//! `POST /shopping-cart/items` writes it.

use super::pages::{LOGOUT_FORM, email, with_cookie};
use super::{AppError, AppState, LoggedIn, SameSite};
use crate::session::{CartItem, SaveOutcome, SessionStore};
use crate::web::html::{escape, page};
use crate::web::params::Params;
use crate::web::routes::markers;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use std::fmt::Write as _;
use std::sync::Arc;

/// Lines a cart may hold; a full cart refuses more.
const MAX_CART_LINES: usize = 50;

/// `GET /shopping-cart`.
pub async fn cart(logged_in: LoggedIn) -> Response {
    let cart = &logged_in.session.data.cart;
    let mut body = String::with_capacity(512);
    let _ = write!(
        body,
        "<h1>Shopping cart</h1><p id=\"user\">Signed in as {}</p><p id=\"cart-count\">{} items</p><ul id=\"cart-items\">",
        escape(email(&logged_in)),
        cart.iter()
            .map(|line| u64::from(line.quantity))
            .sum::<u64>()
    );
    for line in cart {
        let _ = write!(body, "<li>{} × {}</li>", escape(&line.sku), line.quantity);
    }
    body.push_str(
        "</ul><form method=\"post\" action=\"/shopping-cart/items\"><input name=\"sku\" required>\
         <input name=\"quantity\" type=\"number\" min=\"1\" max=\"99\" value=\"1\"><button type=\"submit\">Add</button></form>",
    );
    body.push_str(LOGOUT_FORM);
    with_cookie(
        Html(page("Cart · ssobench store", markers::CART, &body)),
        logged_in.set_cookie,
    )
}

/// `POST /shopping-cart/items` with `sku` and `quantity`: adds a line (a session write), then
/// 303 back to the cart.
pub async fn add_item(
    _: SameSite,
    State(state): State<AppState>,
    logged_in: LoggedIn,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let body = body.map_err(|rejection| AppError::BadRequest(rejection.body_text()))?;
    let params = Params::parse(&body).map_err(|error| AppError::BadRequest(error.to_string()))?;
    let sku = params.get("sku").unwrap_or_default();
    if sku.is_empty()
        || sku.len() > 64
        || !sku
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(AppError::BadRequest(
            "sku must be 1 to 64 letters, digits, - or _".into(),
        ));
    }
    let quantity: u32 = params
        .get("quantity")
        .unwrap_or("1")
        .parse()
        .ok()
        .filter(|q| (1..=99).contains(q))
        .ok_or_else(|| {
            AppError::BadRequest("quantity must be a whole number from 1 to 99".into())
        })?;
    // Compare-and-swap: on a concurrent write, reload and apply the change again.
    let mut session = logged_in.session;
    for _ in 0..8 {
        let cart = &mut Arc::make_mut(&mut session.data).cart;
        if cart.len() >= MAX_CART_LINES {
            return Err(AppError::BadRequest(format!(
                "a cart holds at most {MAX_CART_LINES} lines"
            )));
        }
        cart.push(CartItem {
            sku: sku.to_owned(),
            quantity,
        });
        match state.sessions().save(&mut session).await? {
            SaveOutcome::Saved => {
                let response = (
                    StatusCode::SEE_OTHER,
                    [(header::LOCATION, HeaderValue::from_static("/shopping-cart"))],
                );
                return Ok(with_cookie(response.into_response(), logged_in.set_cookie));
            }
            SaveOutcome::Gone => return Err(AppError::LoginRequired),
            SaveOutcome::Conflict => {
                session = state
                    .sessions()
                    .load(&session.id)
                    .await?
                    .ok_or(AppError::LoginRequired)?;
            }
        }
    }
    Err(AppError::Conflict)
}
