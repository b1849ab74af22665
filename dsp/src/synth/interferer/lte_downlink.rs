//! LTE downlink carrier: OFDM with random data on every resource element (TS 36.211 6.12).
//!
//! # Waveform
//! The OFDM baseband signal of 36.211 6.12 for antenna port p in OFDM symbol l:
//!
//! ```text
//!   s_l(t) = sum_{k = -floor(N/2)}^{-1} a_{k(-),l} e^{j 2 pi k df (t - N_CP,l Ts)}
//!          + sum_{k = 1}^{ceil(N/2)}   a_{k(+),l} e^{j 2 pi k df (t - N_CP,l Ts)}
//!   N = N_RB^DL N_sc^RB,  k(-) = k + floor(N/2),  k(+) = k + floor(N/2) - 1
//! ```
//!
//! for `0 <= t < (N_CP,l + N) Ts`, `df = 15 kHz`: the subcarriers sit at `k x 15 kHz` with NO
//! half-subcarrier shift (unlike the uplink, 5.6) and the DC subcarrier `k = 0` is not
//! used. Normal CP (Table 6.12-1): `N_CP,l = 160 Ts` for `l = 0`, `144 Ts` for `l = 1..6`;
//! 7 symbols per 0.5 ms slot, useful part 2048 Ts. So the CP is a plain copy of the symbol's
//! tail: the CP correlation at lag 2048 Ts is positive (the uplink's is negative), with the
//! same lengths as the uplink SC-FDMA of PUSCH: the hardest case for an uplink detector.
//!
//! Rendering: one [`Segment`](crate::signal::Segment) per OFDM symbol (CP included),
//! `t_ref` at the end of the CP, as `synth/pusch.rs` does for SC-FDMA.
//!
//! # Approximation (named)
//! The resource grid is NOT the real one: every resource element carries an independent
//! random QPSK or 16QAM symbol (7.1.2 / 7.1.3, unit mean energy). There are no reference
//! signals (6.10), no synchronisation signals (6.11), no PBCH / PDCCH structure, no power
//! boosting, one antenna port, frame structure type 1. With `subframe_fraction < 1` each
//! subframe is sent with that probability (an approximation of a partly loaded cell, whose
//! reference signals would in reality never stop); the first subframe is always sent.

use super::InterfererBurst;
use crate::numerology::{DELTA_F_HZ, N_SC_RB, TS_S};
use crate::signal::{Burst, Segment, Tone};
use crate::synth::pusch::Modulation;
use crate::synth::{normalise, SynthError, Tech};
use num_complex::Complex64;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::f64::consts::PI;

const GEN: &str = "lte_downlink";

/// Downlink bandwidths `N_RB^DL` of 36.104 Table 5.6-1 (1.4, 3, 5, 10, 15, 20 MHz).
pub const N_RB_DL: [u32; 6] = [6, 15, 25, 50, 75, 100];

/// Largest number of resource elements of one carrier (a generator limit: memory).
pub const MAX_RES: u64 = 2_000_000;

/// OFDM symbol length in Ts (6.12): `N = 2048` for 15 kHz.
pub const SYMBOL_TS: u32 = 2048;

/// Subframe length, seconds.
pub const SUBFRAME_S: f64 = 1e-3;

/// An LTE downlink carrier (FDD, normal CP) with random data on every resource element.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LteDownlinkConfig {
    /// `N_RB^DL`: 6, 15, 25, 50, 75 or 100.
    pub n_rb: u32,
    /// Modulation of every resource element: `qpsk` or `16qam`.
    pub modulation: Modulation,
    /// Duration, seconds, rounded up to whole subframes (1 ms); at most 10 s.
    pub duration_s: f64,
    /// Probability that a subframe is sent, (0, 1] (the first one always is).
    pub subframe_fraction: f64,
    /// Carrier centre (the unused DC subcarrier) relative to the generator's reference, Hz.
    pub freq_offset_hz: f64,
    /// Seed of the random data; absent: the caller's RNG (a scenario's per-burst RNG).
    pub seed: Option<u64>,
}

impl Default for LteDownlinkConfig {
    fn default() -> Self {
        LteDownlinkConfig {
            n_rb: 6,
            modulation: Modulation::Qpsk,
            duration_s: 0.01,
            subframe_fraction: 1.0,
            freq_offset_hz: 0.0,
            seed: None,
        }
    }
}

/// Normal-CP length `N_CP,l` of symbol `l` (0..7 in a slot), Ts (36.211 Table 6.12-1).
pub fn cp_len_ts(l: usize) -> u32 {
    if l == 0 {
        160
    } else {
        144
    }
}

/// Frequency of subcarrier `k` (`k != 0`, `-floor(N/2) ..= ceil(N/2)`) relative to the
/// carrier centre, Hz (6.12: `k x 15 kHz`).
pub fn subcarrier_freq_hz(k: i32) -> f64 {
    k as f64 * DELTA_F_HZ
}

impl LteDownlinkConfig {
    /// Number of subframes: `duration_s` rounded up to whole milliseconds.
    pub fn n_subframes(&self) -> u32 {
        ((self.duration_s / SUBFRAME_S) - 1e-9).ceil().max(1.0) as u32
    }

    /// Checks the configuration.
    pub fn validate(&self) -> Result<(), SynthError> {
        if !N_RB_DL.contains(&self.n_rb) {
            return Err(SynthError::param(
                GEN,
                "n_rb",
                self.n_rb,
                "6, 15, 25, 50, 75 or 100 (36.104 Table 5.6-1)",
            ));
        }
        if !(self.duration_s > 0.0 && self.duration_s <= 10.0) {
            return Err(SynthError::param(
                GEN,
                "duration_s",
                self.duration_s,
                "0 < d <= 10 s",
            ));
        }
        let res = self.n_rb as u64 * N_SC_RB as u64 * 14 * self.n_subframes() as u64;
        if res > MAX_RES {
            return Err(SynthError::param(
                GEN,
                "n_rb x duration",
                format!("{res} resource elements"),
                format!("at most {MAX_RES} (e.g. 50 RB for 0.23 s)"),
            ));
        }
        if !(self.subframe_fraction > 0.0 && self.subframe_fraction <= 1.0) {
            return Err(SynthError::param(
                GEN,
                "subframe_fraction",
                self.subframe_fraction,
                "0 < p <= 1",
            ));
        }
        if !(self.freq_offset_hz.is_finite() && self.freq_offset_hz.abs() <= 30e6) {
            return Err(SynthError::param(
                GEN,
                "freq_offset_hz",
                self.freq_offset_hz,
                "|f| <= 30 MHz",
            ));
        }
        Ok(())
    }

    /// Generates the carrier; random data come from `seed` when set, else from `rng`.
    pub fn generate<R: Rng + ?Sized>(&self, rng: &mut R) -> Result<InterfererBurst, SynthError> {
        self.validate()?;
        Ok(match self.seed {
            Some(s) => self.build(&mut ChaCha8Rng::seed_from_u64(s)),
            None => self.build(rng),
        })
    }

    fn build<R: Rng + ?Sized>(&self, rng: &mut R) -> InterfererBurst {
        let n = self.n_rb as i32 * N_SC_RB as i32;
        let ks: Vec<i32> = (-(n / 2)..=-1).chain(1..=(n - n / 2)).collect();
        let bps = self.modulation.bits_per_symbol();
        let mut bits = vec![0u8; bps];
        let mut segments = Vec::new();
        let mut sent = Vec::new();
        for sf in 0..self.n_subframes() {
            let on = sf == 0 || rng.random::<f64>() < self.subframe_fraction;
            sent.push(on);
            if !on {
                continue;
            }
            for slot in 0..2 {
                let slot_start_ts = (sf * 30720 + slot * 15360) as f64;
                let mut off_ts = 0.0;
                for l in 0..7 {
                    let cp = cp_len_ts(l) as f64;
                    let start_s = (slot_start_ts + off_ts) * TS_S;
                    let t_ref_s = start_s + cp * TS_S;
                    // Carrier offset phase-continuous in burst time.
                    let rot = Complex64::from_polar(1.0, 2.0 * PI * self.freq_offset_hz * t_ref_s);
                    let tones = ks
                        .iter()
                        .map(|&k| {
                            for b in bits.iter_mut() {
                                *b = rng.random_range(0..2u8);
                            }
                            Tone {
                                freq_hz: subcarrier_freq_hz(k) + self.freq_offset_hz,
                                coeff: self.modulation.map(&bits) * rot,
                            }
                        })
                        .collect();
                    segments.push(Segment {
                        start_s,
                        len_s: (cp + SYMBOL_TS as f64) * TS_S,
                        t_ref_s,
                        tones,
                    });
                    off_ts += cp + SYMBOL_TS as f64;
                }
            }
        }
        let mut b = Burst { segments };
        normalise(&mut b);
        let bw = (n + 1) as f64 * DELTA_F_HZ;
        let mut params = serde_json::Map::new();
        params.insert("n_rb".into(), json!(self.n_rb));
        params.insert(
            "modulation".into(),
            serde_json::to_value(self.modulation).unwrap_or_default(),
        );
        params.insert("duration_s".into(), json!(self.duration_s));
        params.insert("n_subframes".into(), json!(self.n_subframes()));
        params.insert("subframe_fraction".into(), json!(self.subframe_fraction));
        params.insert(
            "subframes_sent".into(),
            json!(sent.iter().filter(|&&s| s).count()),
        );
        params.insert("freq_offset_hz".into(), json!(self.freq_offset_hz));
        params.insert("seed".into(), json!(self.seed));
        InterfererBurst {
            signal: Box::new(b),
            center_hz: self.freq_offset_hz,
            bandwidth_hz: bw,
            snr_bandwidth_hz: bw,
            label: GEN,
            tech: Tech::Unknown,
            params,
        }
    }
}
