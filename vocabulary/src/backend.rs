//! The session backends: the one list that flags, the matrix, the benches, results and the
//! reports' colours and order all take.

/// Every session backend: the one list that flags (`--backend`, `--backends`), the matrix, the
/// benches, the memory measurement and the reports' colours and order iterate. A new backend
/// is a variant here, a module, a `StoreConfig`/`AnyStore` arm in mock-services and a conformance line.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    Dashmap,
    Scc,
    Papaya,
    Redis,
    RedisCluster,
}

impl Backend {
    /// Every backend, in the order reports list them (and take their colours).
    pub const ALL: [Backend; 5] = [
        Backend::Dashmap,
        Backend::Scc,
        Backend::Papaya,
        Backend::Redis,
        Backend::RedisCluster,
    ];

    /// The name on the command line, in results and in reports.
    pub const fn name(self) -> &'static str {
        match self {
            Backend::Dashmap => "dashmap",
            Backend::Scc => "scc",
            Backend::Papaya => "papaya",
            Backend::Redis => "redis",
            Backend::RedisCluster => "redis-cluster",
        }
    }

    pub fn from_name(name: &str) -> Option<Backend> {
        Backend::ALL
            .into_iter()
            .find(|backend| backend.name() == name)
    }

    /// Position in [`Backend::ALL`]: reports order and colour backends by it.
    pub fn index(self) -> usize {
        Backend::ALL
            .iter()
            .position(|backend| *backend == self)
            .unwrap_or(0)
    }

    /// Sessions live in this process's memory (not shared between processes).
    pub fn is_in_memory(self) -> bool {
        match self {
            Backend::Dashmap | Backend::Scc | Backend::Papaya => true,
            Backend::Redis | Backend::RedisCluster => false,
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::Backend;
    use clap::ValueEnum as _;

    #[test]
    fn each_backend_has_one_name_everywhere() {
        for backend in Backend::ALL {
            let flag = backend.to_possible_value().expect("a value");
            assert_eq!(flag.get_name(), backend.name(), "the flag's spelling");
            assert_eq!(Backend::from_name(backend.name()), Some(backend));
            assert_eq!(backend.to_string(), backend.name());
            assert_eq!(Backend::ALL[backend.index()], backend);
        }
        assert_eq!(Backend::value_variants().len(), Backend::ALL.len());
        assert_eq!(Backend::from_name("memcached"), None);
    }
}
