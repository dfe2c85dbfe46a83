//! The simulated users: what they share in a run (`context`), each user's own state (`user`),
//! the hop layer every request goes through (`hop`), their pacing and the end of the run
//! (`pacing`, `stop`), the scenarios they play (`scenarios`) and logging in at any provider
//! (`login`).

pub mod context;
pub mod hop;
pub mod login;
pub mod pacing;
pub mod scenarios;
pub mod stop;
pub mod user;
