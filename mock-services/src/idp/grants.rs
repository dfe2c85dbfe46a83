//! What an SSO session granted, and how its end revokes it: each grant redeemed under an SSO
//! session is listed in that session's record, so a logout (or a new login that replaces the
//! session) revokes every grant it listed, with the grant's live refresh token; access tokens
//! of a revoked grant stop working at userinfo. Without this a logout left each login's grants
//! and refresh tokens working, and in memory, for their whole lifetime (8 h by default).
//!
//! The list and the session's end meet through the store's compare-and-swap save: ending a
//! session first marks it ended (a save), so a grant being listed at that moment either lands
//! before the mark (and is revoked with the list) or finds the mark (and is revoked by whoever
//! redeemed it). A session marked ended is ended: if its end was cut off before the record was
//! deleted, the next request that names it finishes the end. A session that merely times out
//! revokes nothing: its grants run out by themselves (a code issued under it and redeemed after
//! it timed out gets no grant). A grant's revocation is two-phase the same way: marked revoked
//! (a save), then its live refresh token freed, then deleted, so a refresh token minted while
//! it is revoked finds the mark and frees itself.

use super::{IdpError, IdpState};
use crate::session::{SaveOutcome, Session, SessionId, SessionStore, StoreError};

/// The SSO session attribute that lists its grants (IDs, space-separated).
const GRANTS: &str = "grants";
/// The SSO session attribute set while the session is being ended.
const ENDED: &str = "ended";
/// Saves tried before a session that keeps changing under us is called unavailable: conflicts
/// come only from the same user's concurrent token exchanges, a handful at most.
const ATTEMPTS: usize = 16;

/// Lists `grant` in the SSO session `sso`, dropping grants already gone from the list (so a
/// session refreshed for hours does not grow it). `false` when the session has ended or is
/// ending: the caller then revokes the grant, as the session's end would have.
pub(super) async fn list_in_session(
    state: &IdpState,
    sso: &SessionId,
    grant: SessionId,
) -> Result<bool, IdpError> {
    let store = state.sso_store();
    for _ in 0..ATTEMPTS {
        let Some(mut session) = store.load(sso).await? else {
            return Ok(false);
        };
        if is_ended(&session) {
            return Ok(false);
        }
        let mut live = Vec::new();
        for id in listed(&session) {
            if state.inner.grants.load(&id).await?.is_some() {
                live.push(id.to_string());
            }
        }
        live.push(grant.to_string());
        std::sync::Arc::make_mut(&mut session.data)
            .attributes
            .insert(GRANTS.into(), live.join(" "));
        match store.save(&mut session).await? {
            SaveOutcome::Saved => return Ok(true),
            SaveOutcome::Conflict => continue,
            SaveOutcome::Gone => return Ok(false),
        }
    }
    Err(busy())
}

/// Ends the SSO session `sso`: marks it ended, revokes every grant it listed, then deletes it.
/// An unknown or expired session ends nothing.
pub(super) async fn end_session(state: &IdpState, sso: &SessionId) -> Result<(), IdpError> {
    let store = state.sso_store();
    let mut ended = None;
    for _ in 0..ATTEMPTS {
        let Some(mut session) = store.load(sso).await? else {
            return Ok(());
        };
        std::sync::Arc::make_mut(&mut session.data)
            .attributes
            .insert(ENDED.into(), "1".into());
        match store.save(&mut session).await? {
            SaveOutcome::Saved => {
                ended = Some(session);
                break;
            }
            SaveOutcome::Conflict => continue,
            SaveOutcome::Gone => return Ok(()),
        }
    }
    let Some(session) = ended else {
        return Err(busy());
    };
    for grant in listed(&session) {
        revoke(state, &grant).await?;
    }
    store.delete(sso).await?;
    Ok(())
}

/// Revokes a grant and frees its live refresh token: its access tokens stop working at
/// userinfo and no refresh token of it is accepted.
pub(super) async fn revoke(state: &IdpState, grant: &SessionId) -> Result<(), IdpError> {
    let grants = &state.inner.grants;
    for _ in 0..ATTEMPTS {
        let Some(mut record) = grants.load(grant).await? else {
            return Ok(());
        };
        std::sync::Arc::make_mut(&mut record.data).revoked = true;
        match grants.save(&mut record).await? {
            SaveOutcome::Saved => {
                if let Some(refresh) = record.data.refresh {
                    state.inner.refresh_tokens.delete(&refresh).await?;
                }
                grants.delete(grant).await?;
                return Ok(());
            }
            SaveOutcome::Conflict => continue,
            SaveOutcome::Gone => return Ok(()),
        }
    }
    Err(busy())
}

/// Whether a session is marked ended (its end was begun).
pub(super) fn is_ended(session: &Session) -> bool {
    session.data.attributes.contains_key(ENDED)
}

/// The grants a session lists.
fn listed(session: &Session) -> impl Iterator<Item = SessionId> + '_ {
    session
        .data
        .attributes
        .get(GRANTS)
        .into_iter()
        .flat_map(|list| list.split(' '))
        .filter_map(SessionId::parse)
}

/// A record that kept changing under concurrent requests: 503, try again.
pub(super) fn busy() -> IdpError {
    IdpError::Store(StoreError::Unavailable(
        "a record kept changing under concurrent requests; try again".into(),
    ))
}
