//! # ciot-dsp: signal processing for ciot-sweep
//!
//! Pure signal processing: no I/O, no threads, no command line. It takes slices and returns
//! results; the caller owns the buffers. Everything is deterministic (random parts take a
//! seeded RNG) and tested against TS 36.211.
//!
//! ```text
//!  synthesis (tests, eval, `synth`)          detection (scan)
//!  ------------------------------            ----------------
//!  sequences (ZC 5.7.2, Gold 7.2,            Complex<f32> blocks
//!   base sequences 5.5.1, tables)                  |
//!        |                                   STFT / channelizer
//!  synth::{nprach, npusch, prach, pusch}           |
//!   -> signal::Burst (continuous time)       noise floor -> candidates
//!        |                                         |
//!  Burst::render_add (any sample rate,       detectors -> Detection
//!   exact CFO and fractional timing)
//!        |
//!  impair (AWGN in a stated bandwidth,
//!   multipath, level, ci8 quantisation)
//! ```

#![warn(missing_docs)]

pub mod detect;
pub mod impair;
pub mod numerology;
pub mod resample;
pub mod sequences;
pub mod signal;
pub mod stft;
pub mod synth;
pub mod tables;
