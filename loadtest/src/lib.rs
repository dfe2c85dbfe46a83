//! ssobench's load runner: goose scenarios through the whole stack on a lean HTTP path that
//! watches its own cost (`run`), the backend comparison (`matrix`), the generator's ceiling on
//! this machine (`calibrate`), a store-level load without HTTP (`store_run`), and faults
//! injected inside a run (`fault`).

pub mod args;
pub mod attack;
/// The generator-bound judgement, shared with the merge of several workers' runs.
pub use reports::bound;
pub mod calibrate;
pub mod collect;
pub mod context;
pub mod cpu;
pub mod environment;
pub mod fault;
pub mod hop;
pub mod http;
pub mod interval_log;
pub mod lag;
pub mod live;
pub mod login;
pub mod matrix;
pub mod measure;
pub mod names;
pub mod pacing;
pub mod process_stack;
pub mod recorder;
pub mod run;
pub mod scenarios;
pub mod stack;
pub mod stop;
pub mod store_load;
pub mod store_run;
pub mod summary;
pub mod thresholds;
pub mod timeline;
pub mod user;
pub mod workers;
