//! `cart_view`: logged-in users on exactly one endpoint, `GET /shopping-cart` (a session load
//! and extension), so the generator can be compared with wrk and oha request for request. Each
//! user logs in once at the start (and again only when paced so slowly that its session would
//! idle out between views).

use super::cart_browsing::fresh_session_if_needed;
use super::flows::{begin_iteration, view_cart};
use goose::prelude::*;

/// A cart page view.
pub async fn view(user: &mut GooseUser) -> TransactionResult {
    if !begin_iteration(user).await? {
        return Ok(());
    }
    fresh_session_if_needed(user).await?;
    view_cart(user).await
}
