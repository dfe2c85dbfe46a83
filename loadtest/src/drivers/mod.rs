//! What each command runs, start to end: a load run (`run`, one generator or several
//! `workers`), a distributed run's coordinator (`coordinate`) and manifests (`kube`), the comparison of arms in rounds (`matrix`, `rounds`), the generator's ceiling (`calibrate`), the stack's
//! per-operation costs (`profile`) and a tier sized from them (`plan`), and
//! the store-level load without HTTP (`store`, driving `store_load`).

pub mod calibrate;
pub mod coordinate;
pub mod kube;
pub mod matrix;
pub mod plan;
pub mod profile;
pub mod rounds;
pub mod run;
pub mod single;
pub mod store;
pub mod store_load;
pub mod workers;
