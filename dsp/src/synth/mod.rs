//! Standard-exact uplink waveform synthesis (TS 36.211), for tests, evaluation and `synth`.
//!
//! Each generator turns a configuration (the parameters a cell and a UE would use) into a
//! [`SynthBurst`]: a continuous-time [`Burst`] description, normalised to unit mean power,
//! plus the ground truth a detector should report. Rendering at a sample rate, placing in a
//! capture, frequency offsets and noise are the caller's (see [`crate::signal`] and
//! [`crate::impair`]).
//!
//! Configurations derive `serde` so a scenario file can hold them verbatim; every generator
//! validates its configuration in `validate()` and returns [`SynthError`] for a value the
//! clause does not allow.

pub mod interferer;
pub mod nprach;
pub mod npusch;
pub mod prach;
pub mod pusch;

use crate::signal::Burst;
use serde::{Deserialize, Serialize};

/// What a burst is, in the vocabulary of the detection records (INTERFACES.md, `kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// NB-IoT random-access preamble (36.211 10.1.6).
    Nprach,
    /// NB-IoT uplink shared channel (10.1.3).
    Npusch,
    /// LTE random-access preamble (5.7).
    Prach,
    /// LTE uplink shared channel (5.3).
    Pusch,
    /// LTE uplink control channel (5.4).
    Pucch,
    /// LTE-family SC-FDMA uplink, not further classified.
    Scfdma,
    /// Energy burst, not classified.
    Unknown,
}

/// The technology a burst belongs to (INTERFACES.md, `tech`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Tech {
    /// NB-IoT (Cat-NB1/NB2).
    #[serde(rename = "nb-iot")]
    NbIot,
    /// LTE-M (Cat-M1, eMTC).
    #[serde(rename = "lte-m")]
    LteM,
    /// LTE (a phone or other non-IoT UE).
    #[serde(rename = "lte")]
    Lte,
    /// Not known.
    #[serde(rename = "unknown")]
    Unknown,
}

/// A synthesised burst and its ground truth.
#[derive(Debug, Clone)]
pub struct SynthBurst {
    /// The signal, unit mean power, time 0 = first sample of the burst, frequencies
    /// relative to the generator's reference (the carrier centre of its configuration).
    pub signal: Burst,
    /// Channel kind.
    pub kind: Kind,
    /// Technology.
    pub tech: Tech,
    /// Centre of the band the burst occupies relative to the reference, Hz (for NPRACH the
    /// centre of the tones it hopped over).
    pub center_hz: f64,
    /// Occupied bandwidth, Hz.
    pub bandwidth_hz: f64,
    /// Bandwidth in which the standard (and our `snr_db`) states SNR for this kind, Hz:
    /// 180 kHz for NB-IoT, 1.08 MHz for PRACH, the allocation for PUSCH.
    pub snr_bandwidth_hz: f64,
    /// Every generator parameter, as it goes into `params` of a truth record.
    pub params: serde_json::Map<String, serde_json::Value>,
}

/// A configuration value the clause does not allow.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SynthError {
    /// A parameter outside its allowed set or range.
    #[error("{generator}: {param} = {value} is not allowed ({allowed})")]
    Param {
        /// Generator name.
        generator: &'static str,
        /// Parameter name.
        param: &'static str,
        /// The value given.
        value: String,
        /// What the clause allows.
        allowed: String,
    },
}

impl SynthError {
    /// Builds a [`SynthError::Param`].
    pub fn param(
        generator: &'static str,
        param: &'static str,
        value: impl ToString,
        allowed: impl ToString,
    ) -> Self {
        SynthError::Param {
            generator,
            param,
            value: value.to_string(),
            allowed: allowed.to_string(),
        }
    }
}

/// Normalises a burst to unit nominal mean power (see [`Burst::nominal_power`]).
pub fn normalise(burst: &mut Burst) {
    let p = burst.nominal_power();
    if p > 0.0 {
        burst.scale(1.0 / p.sqrt());
    }
}
