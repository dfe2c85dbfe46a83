//! ssobench's load runner: goose scenarios through the whole stack (`run`), and a store-level
//! load without HTTP (`store_run`).

pub mod browser;
pub mod environment;
pub mod matrix;
pub mod pacing;
pub mod recorder;
pub mod run;
pub mod scenarios;
pub mod store_load;
pub mod store_run;
pub mod summary;
