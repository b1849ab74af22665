//! Blind detectors of NB-IoT and LTE-M uplink bursts.
//!
//! Every detector is a streaming stage: it is built once from a validated configuration
//! (plans, windows and sequence tables made then), fed blocks of `Complex<f32>` stamped with
//! the index of their first sample, and emits [`Detection`]s. Results do not depend on how
//! the input is cut into blocks; a jump in the stamp is a gap (the detector drops its
//! partial state across it). Thresholds are set from a requested false-alarm rate.
//!
//! The structured detectors work at an LTE-family sample rate `fs = m x 1.92 MS/s`
//! (m = 1..16), where every 36.211 length is a whole number of samples; the energy detector
//! runs at any rate.

pub mod energy;
pub(crate) mod envelope;
pub mod nprach;
pub mod npusch;
pub mod prach;
pub mod pusch;

use crate::synth::{Kind, Tech};
use num_complex::Complex32;

/// A streaming detector, as the application's scanner drives it (rtl_433's decoder table:
/// the scanner iterates a list of these).
pub trait Detector: Send {
    /// Short name (`energy`, `nprach`, `prach`...), used in `--stats`.
    fn name(&self) -> &'static str;
    /// Processes samples `first_sample ..` (a jump in `first_sample` is a gap).
    fn process(&mut self, first_sample: u64, x: &[Complex32], out: &mut Vec<Detection>);
    /// End of stream: emits what is pending.
    fn finish(&mut self, out: &mut Vec<Detection>);
    /// Forgets all state (as after a retune).
    fn reset(&mut self);
    /// Counters: candidates examined and why they were rejected, by reason.
    fn stats(&self) -> Vec<(String, u64)>;
}

/// The integer fields of a serialisable counters struct, in declaration order (the stats
/// structs of the detectors are plain structs of `u64`).
pub fn counters<T: serde::Serialize>(stats: &T) -> Vec<(String, u64)> {
    match serde_json::to_value(stats) {
        Ok(serde_json::Value::Object(m)) => m
            .into_iter()
            .filter_map(|(k, v)| v.as_u64().map(|n| (k, n)))
            .collect(),
        _ => Vec::new(),
    }
}

/// One detected burst, in the detector's input sample domain.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// Channel kind.
    pub kind: Kind,
    /// Technology.
    pub tech: Tech,
    /// Index of the first sample of the burst, at the detector's input rate.
    pub sample_start: u64,
    /// Burst length, samples at the detector's input rate.
    pub sample_len: u64,
    /// Centre of the occupied band relative to the input's 0 Hz, Hz.
    pub freq_offset_hz: f64,
    /// Occupied bandwidth, Hz.
    pub bandwidth_hz: f64,
    /// Estimated mean burst power, linear, relative to full scale (|x| = 1).
    pub power: f64,
    /// Estimated SNR in the burst's own bandwidth, dB.
    pub snr_db: f64,
    /// Confidence 0..1.
    pub score: f64,
    /// Detection metric normalised so that 1.0 is the threshold.
    pub metric: f64,
    /// What the detector resolved.
    pub params: serde_json::Map<String, serde_json::Value>,
}

impl Detection {
    /// Index one past the last sample.
    pub fn sample_end(&self) -> u64 {
        self.sample_start + self.sample_len
    }
}

/// Checks that `fs_hz` is `m x 1.92 MHz` for m in 1..=16 and returns m.
pub fn lte_rate_multiple(fs_hz: f64) -> Option<u32> {
    let m = (fs_hz / 1.92e6).round();
    if (1.0..=16.0).contains(&m) && (fs_hz - m * 1.92e6).abs() < 1e-3 {
        Some(m as u32)
    } else {
        None
    }
}

/// The detection threshold for a statistic that is, on noise, the sum of `dof` independent
/// unit-mean exponential variables (the energy of `dof` complex Gaussian cells normalised by
/// the noise power), such that `tests` independent tests exceed it with probability
/// `p_fa_total`. Solves the Erlang tail `P(X > t) = p` by bisection.
pub fn erlang_threshold(dof: u32, tests: f64, p_fa_total: f64) -> f64 {
    let p = (p_fa_total / tests.max(1.0)).clamp(1e-300, 0.5);
    let tail = |t: f64| -> f64 {
        // P(X > t) = e^{-t} sum_{k<dof} t^k / k!, summed in logs: the terms overflow f64
        // for dof above about 700 (t^k / k! ~ e^t).
        let lnt = t.ln();
        let (mut lterm, mut lsum) = (0.0f64, 0.0f64);
        for k in 1..dof {
            lterm += lnt - (k as f64).ln();
            if lterm > f64::NEG_INFINITY {
                let (hi, lo) = if lterm > lsum {
                    (lterm, lsum)
                } else {
                    (lsum, lterm)
                };
                lsum = hi + (lo - hi).exp().ln_1p();
            }
        }
        (-t + lsum).exp()
    };
    let mut hi = dof as f64 + 10.0;
    while tail(hi) > p {
        hi *= 2.0;
    }
    bisect_decreasing(0.0, hi, 200, |t| tail(t) > p)
}

/// The upper end of the bracket after `iters` bisections of `[lo, hi]` for the point where
/// `above(t)` turns false (`above` true below it, false above it: a decreasing tail
/// compared with its target).
pub(crate) fn bisect_decreasing(lo: f64, hi: f64, iters: u32, above: impl Fn(f64) -> bool) -> f64 {
    let (mut lo, mut hi) = (lo, hi);
    for _ in 0..iters {
        let mid = 0.5 * (lo + hi);
        if above(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi
}

/// Implements [`Detector`] for a detector type with inherent `process`, `finish`, `reset`
/// and a serialisable `stats()`.
macro_rules! impl_detector {
    ($t:ty, $name:literal) => {
        impl Detector for $t {
            fn name(&self) -> &'static str {
                $name
            }
            fn process(&mut self, first_sample: u64, x: &[Complex32], out: &mut Vec<Detection>) {
                <$t>::process(self, first_sample, x, out)
            }
            fn finish(&mut self, out: &mut Vec<Detection>) {
                <$t>::finish(self, out)
            }
            fn reset(&mut self) {
                <$t>::reset(self)
            }
            fn stats(&self) -> Vec<(String, u64)> {
                counters(&<$t>::stats(self))
            }
        }
    };
}

impl_detector!(energy::EnergyDetector, "energy");
impl_detector!(nprach::NprachDetector, "nprach");
impl_detector!(npusch::NpuschDetector, "npusch");
impl_detector!(prach::PrachDetector, "prach");
impl_detector!(pusch::PuschDetector, "pusch");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lte_rates() {
        assert_eq!(lte_rate_multiple(1.92e6), Some(1));
        assert_eq!(lte_rate_multiple(15.36e6), Some(8));
        assert_eq!(lte_rate_multiple(30.72e6), Some(16));
        assert_eq!(lte_rate_multiple(20e6), None);
        assert_eq!(lte_rate_multiple(10e6), None);
    }

    #[test]
    fn erlang_threshold_matches_exponential_and_simulation() {
        // dof = 1: P(X > t) = e^{-t}.
        let t = erlang_threshold(1, 1.0, 1e-6);
        assert!((t - (1e6f64).ln()).abs() < 1e-6);
        // dof = 4 at p = 0.01: simulate with a simple LCG-driven exponential.
        let t4 = erlang_threshold(4, 1.0, 0.01);
        let mut s: u64 = 12345;
        let mut u = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        let n = 200_000;
        let mut over = 0;
        for _ in 0..n {
            let x: f64 = (0..4).map(|_| -u().ln()).sum();
            if x > t4 {
                over += 1;
            }
        }
        let p = over as f64 / n as f64;
        assert!((p - 0.01).abs() < 0.0015, "{p}");
    }

    #[test]
    fn erlang_threshold_is_finite_for_large_dof() {
        // Erlang(dof) has mean dof and sd sqrt(dof); the 1e-6 tail lies 4.75 sd out for a
        // Gaussian, a little further for the right-skewed Erlang.
        for dof in [700u32, 2000, 10_000] {
            let t = erlang_threshold(dof, 1.0, 1e-6);
            let z = (t - dof as f64) / (dof as f64).sqrt();
            assert!(
                t.is_finite() && (4.75..5.3).contains(&z),
                "dof {dof}: {t} (z {z})"
            );
        }
    }
}
