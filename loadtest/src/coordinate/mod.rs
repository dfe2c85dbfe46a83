//! A run of several generators, coordinated over HTTP: the coordinator hands out arguments,
//! releases every worker at one instant of its clock, hears them alive and gathers their files
//! (`coordinator`); each worker's side (`link`); what they say (`protocol`); their clocks
//! against each other (`clock`); a worker's arguments (`worker_args`); the merged report, served
//! (`served`). `--workers` on one host and pods on a cluster take this one path.

pub mod clock;
pub mod coordinator;
pub mod link;
pub mod protocol;
pub mod served;
pub mod worker_args;

/// A new run's token: 128 bits from a CSPRNG (rand's, seeded by the OS), in hex. Every request to
/// the coordinator carries it, so nothing else on the network can feed the merge.
pub fn new_token() -> String {
    format!("{:032x}", rand::random::<u128>())
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_are_128_bits_and_new_each_time() {
        let (a, b) = (super::new_token(), super::new_token());
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
