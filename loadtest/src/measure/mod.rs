//! Measurement: the recorders (HDR histograms per hop and flow, kept in a run's shards), the
//! live counters and the once-a-second sampler that builds the timeline, the HdrHistogram
//! interval logs, when measuring starts (the warm-up's settle rule), CPU by side, the stack's gauges
//! and each of its processes' memory (`gauges`), the generator's cgroup CPU limit and its throttling (`cgroup`), its memory and descriptors and its timer lag, and
//! the machine a run ran on.

pub mod cgroup;
pub mod cpu;
pub mod environment;
pub mod gauges;
pub mod interval_log;
pub mod lag;
pub mod live;
pub mod memory;
pub mod recorder;
pub mod settle;
pub mod shards;
pub mod timeline;
