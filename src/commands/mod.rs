//! The subcommands: each `run` takes its parsed arguments and returns `anyhow::Result`.

pub mod bands;
pub mod devices;
pub mod eval;
pub mod info;
pub mod locate;
pub mod report;
pub mod scan;
pub mod sweep;
pub mod synth;
