//! ciot-sweep application library: sources, the streaming pipeline, sinks, scenario
//! synthesis and the subcommands. The signal processing lives in the `ciot-dsp` crate.

#![warn(missing_docs)]

#[cfg(feature = "audio")]
pub mod audio;
pub mod bands;
pub mod cli;
pub mod commands;
pub mod detectors;
pub mod evidence;
pub mod iq;
pub mod locate;
pub mod pipeline;
pub mod plot;
pub mod record;
pub mod report;
pub mod scan;
pub mod scenario;
pub mod score;
#[cfg(feature = "soapy")]
pub mod soapy;
pub mod sweep;
pub mod track;
