//! The stack's services by name, and the roles a `serve` process can take among them.

use std::fmt;
use std::str::FromStr;

/// One service of the stack: what a process announces it serves, what results count requests
/// per, what reports label.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Service {
    Idp,
    Store,
    Forums,
}

impl Service {
    /// Every service, in the order a stack announces them.
    pub const ALL: [Service; 3] = [Service::Idp, Service::Store, Service::Forums];

    /// The name in announcements, results and reports.
    pub const fn name(self) -> &'static str {
        match self {
            Service::Idp => "idp",
            Service::Store => "store",
            Service::Forums => "forums",
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is no service's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is no service (idp, store or forums)")]
pub struct UnknownService(pub String);

impl FromStr for Service {
    type Err = UnknownService;

    fn from_str(name: &str) -> Result<Service, UnknownService> {
        Service::ALL
            .into_iter()
            .find(|service| service.name() == name)
            .ok_or_else(|| UnknownService(name.to_owned()))
    }
}

/// Which services one `serve` process runs (`--role`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// IdP, store and forums together.
    All,
    Idp,
    Store,
    Forums,
}

impl Role {
    /// The role that runs this one service alone.
    pub const fn of(service: Service) -> Role {
        match service {
            Service::Idp => Role::Idp,
            Service::Store => Role::Store,
            Service::Forums => Role::Forums,
        }
    }

    /// Whether a process in this role runs `service`.
    pub const fn runs(self, service: Service) -> bool {
        matches!(
            (self, service),
            (Role::All, _)
                | (Role::Idp, Service::Idp)
                | (Role::Store, Service::Store)
                | (Role::Forums, Service::Forums)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum as _;

    #[test]
    fn a_service_name_reads_back_and_is_its_serde_and_role_name() {
        for service in Service::ALL {
            assert_eq!(service.name().parse::<Service>(), Ok(service));
            assert_eq!(
                serde_json::to_string(&service).expect("json"),
                format!("\"{}\"", service.name())
            );
            let role = Role::of(service);
            assert_eq!(
                role.to_possible_value().expect("named").get_name(),
                service.name()
            );
            assert!(role.runs(service) && Role::All.runs(service));
            for other in Service::ALL.into_iter().filter(|other| *other != service) {
                assert!(!role.runs(other), "{role:?} runs {other}");
            }
        }
        assert_eq!(
            "web".parse::<Service>(),
            Err(UnknownService("web".to_owned()))
        );
    }
}
