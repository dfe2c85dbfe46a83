//! What the generator learns of the provider before the load: where it logs a browser out
//! (`end_session_endpoint` of its discovery document, OpenID Connect Discovery 1.0), so that the
//! journey can log out at the provider itself when the apps log out only locally. One request,
//! outside the measured run, to the provider the run was pointed at.

use crate::http::{Outgoing, origin::Endpoint};
use crate::users::context::Targets;
use crate::users::hop::To;
use bytes::Bytes;
use std::time::Duration;

/// How long the discovery document may take.
const DISCOVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// The provider's end-session endpoint as a path on its site, if its discovery document names
/// one there. A provider without a discovery document, or without the endpoint, or with it on
/// a host the run was not pointed at, gives none: the journey then logs out at the apps only.
pub async fn end_session(targets: &Targets) -> Option<Bytes> {
    let origins = &targets.origins;
    let mut client = targets.check_client(DISCOVERY_TIMEOUT);
    let request = Outgoing::get("/.well-known/openid-configuration");
    let reply = client.send(origins, targets.idp, &request).await.ok()?;
    if reply.status != 200 {
        return None;
    }
    let document: serde_json::Value = serde_json::from_slice(&reply.body).ok()?;
    let endpoint = url::Url::parse(document.get("end_session_endpoint")?.as_str()?).ok()?;
    let on_the_provider = origins.find(&Endpoint::of_url(&endpoint)?)? == targets.idp;
    on_the_provider.then(|| {
        Bytes::copy_from_slice(
            endpoint[url::Position::BeforePath..url::Position::AfterQuery].as_bytes(),
        )
    })
}

/// The request that starts a logout at the provider.
pub fn logout_at(targets: &Targets, path: &Bytes) -> To {
    To {
        origin: targets.idp,
        path: path.clone(),
        chain: 0,
        page: None,
    }
}
