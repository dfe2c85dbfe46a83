//! Measurement: each user's recorder (HDR histograms per hop and flow), the live counters and
//! the once-a-second sampler that builds the timeline, the HdrHistogram interval logs, CPU by
//! side, the generator's timer lag, and the machine a run ran on.

pub mod cpu;
pub mod environment;
pub mod interval_log;
pub mod lag;
pub mod live;
pub mod recorder;
pub mod timeline;
