//! The subcommands: each `run` takes its parsed arguments and returns `anyhow::Result`.

pub mod bands;
pub mod eval;
pub mod info;
pub mod report;
pub mod scan;
pub mod synth;
