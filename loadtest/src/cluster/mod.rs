//! A run on Kubernetes: the objects it needs, typed (`manifest`), and the run written as them
//! (`render`): the Secret, the coordinator's Service and Job, the generators' Indexed Job.

pub mod manifest;
pub mod render;
