//! What each command runs, start to end: a load run (`run`, one generator or several
//! `workers`), the comparison of arms in rounds (`matrix`, `rounds`), the generator's ceiling (`calibrate`), and
//! the store-level load without HTTP (`store`, driving `store_load`).

mod barrier;
pub mod calibrate;
pub mod matrix;
pub mod rounds;
pub mod run;
pub mod single;
pub mod store;
pub mod store_load;
pub mod workers;
