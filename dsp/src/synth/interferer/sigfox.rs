//! Sigfox-like ultra-narrowband uplink bursts: DBPSK at 100 bit/s, a frame sent `repeats`
//! times at random frequencies within `+-spread_hz` of the centre.
//!
//! This is an APPROXIMATION of the Sigfox uplink (Europe, RC1: 100 bit/s DBPSK, about
//! 100 Hz wide, a frame of up to 26 bytes (~2 s) sent 3 times at pseudo-random frequencies
//! within a 192 kHz band): the frame bits are random (no preamble, sync word, identifier,
//! authentication or CRC), the frequencies are drawn uniformly (not from the real hopping
//! rule), and the gap between repeats is a parameter (`gap_s`, our choice, not the
//! protocol's timing).
//!
//! # Waveform
//! Differential BPSK with cosine transitions: the levels `a_n = +-1` (`a_n = a_(n-1)` for a
//! bit 1, `-a_(n-1)` for a bit 0, `a_(-1) = 1` the reference) are joined by half-cosines,
//! i.e. the signal is `sum_n a_n p(t - n T)` with `p` a raised-cosine (Hann) pulse of
//! length `2 T`. In bit interval `n` (`0 <= tau < T`, with `a_(-1) = a_N = 0` at the ends,
//! so the frame ramps up and down over one bit)
//!
//! ```text
//!   s(tau) = (a_(n-1) + a_n) / 2 + (a_(n-1) - a_n) / 2 cos(pi tau / T)
//! ```
//!
//! which is three tones (the carrier and carrier +- 1/(2T)) per interval: each interval is
//! one [`Segment`](crate::signal::Segment), rendered exactly at any rate. The amplitude goes
//! through zero at each phase reversal; the spectrum is that of the Hann pulse, main lobe
//! +-100 Hz, 99 % of the power within about 130 Hz.

use super::InterfererBurst;
use crate::signal::{Burst, Segment, Tone};
use crate::synth::{normalise, SynthError, Tech};
use num_complex::Complex64;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::f64::consts::PI;

const GEN: &str = "sigfox";

/// Bit rate, bit/s (Sigfox uplink, Europe).
pub const SIGFOX_BIT_RATE: f64 = 100.0;

/// Nominal bandwidth of one burst, Hz.
pub const SIGFOX_BANDWIDTH_HZ: f64 = 100.0;

/// Smallest distance between the frequencies of two repeats, Hz.
pub const MIN_SEPARATION_HZ: f64 = 1000.0;

/// Sigfox-like ultra-narrowband bursts (an approximation, see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SigfoxConfig {
    /// Bits per frame, 1 ..= 2048 (26 bytes = 208 bits, ~2.1 s).
    pub frame_bits: u32,
    /// Number of transmissions of the frame, 1 ..= 8 (Sigfox: 3).
    pub repeats: u32,
    /// Half-width of the band the repeats' frequencies are drawn from, Hz (Sigfox: 96 kHz);
    /// at least `repeats` x 1 kHz.
    pub spread_hz: f64,
    /// Silence between repeats, seconds.
    pub gap_s: f64,
    /// Centre of the band relative to the generator's reference, Hz.
    pub freq_offset_hz: f64,
    /// Seed of the bits, frequencies and phases; absent: the caller's RNG.
    pub seed: Option<u64>,
}

impl Default for SigfoxConfig {
    fn default() -> Self {
        SigfoxConfig {
            frame_bits: 208,
            repeats: 3,
            spread_hz: 96e3,
            gap_s: 0.05,
            freq_offset_hz: 0.0,
            seed: None,
        }
    }
}

impl SigfoxConfig {
    /// Length of one transmission of the frame, seconds: `(frame_bits + 1) / 100`
    /// (the Hann pulses make it one bit longer than the bits).
    pub fn frame_s(&self) -> f64 {
        (self.frame_bits + 1) as f64 / SIGFOX_BIT_RATE
    }

    /// Checks the configuration.
    pub fn validate(&self) -> Result<(), SynthError> {
        if !(1..=2048).contains(&self.frame_bits) {
            return Err(SynthError::param(
                GEN,
                "frame_bits",
                self.frame_bits,
                "1..=2048",
            ));
        }
        if !(1..=8).contains(&self.repeats) {
            return Err(SynthError::param(GEN, "repeats", self.repeats, "1..=8"));
        }
        let min_spread = self.repeats as f64 * MIN_SEPARATION_HZ;
        if !(self.spread_hz >= min_spread && self.spread_hz <= 1e6) {
            return Err(SynthError::param(
                GEN,
                "spread_hz",
                self.spread_hz,
                format!("{min_spread} ..= 1e6 Hz (repeats x 1 kHz at least)"),
            ));
        }
        if !(self.gap_s >= 0.0 && self.gap_s <= 10.0) {
            return Err(SynthError::param(GEN, "gap_s", self.gap_s, "0 ..= 10 s"));
        }
        let total = self.repeats as f64 * self.frame_s() + (self.repeats - 1) as f64 * self.gap_s;
        if total > 30.0 {
            return Err(SynthError::param(
                GEN,
                "repeats x frame + gaps",
                total,
                "at most 30 s",
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

    /// Generates the bursts; randomness comes from `seed` when set, else from `rng`.
    pub fn generate<R: Rng + ?Sized>(&self, rng: &mut R) -> Result<InterfererBurst, SynthError> {
        self.validate()?;
        Ok(match self.seed {
            Some(s) => self.build(&mut ChaCha8Rng::seed_from_u64(s)),
            None => self.build(rng),
        })
    }

    /// Frequencies of the repeats relative to the band centre: uniform in
    /// `+-(spread - 50 Hz)`, redrawn while closer than 1 kHz to an earlier one (evenly
    /// spaced if 1000 draws do not succeed).
    fn draw_freqs<R: Rng + ?Sized>(&self, rng: &mut R) -> Vec<f64> {
        let lim = self.spread_hz - SIGFOX_BANDWIDTH_HZ / 2.0;
        let mut f: Vec<f64> = Vec::new();
        let mut tries = 0;
        while f.len() < self.repeats as usize && tries < 1000 {
            let x = rng.random_range(-lim..=lim);
            if f.iter().all(|y| (x - y).abs() >= MIN_SEPARATION_HZ) {
                f.push(x);
            }
            tries += 1;
        }
        if f.len() < self.repeats as usize {
            let r = self.repeats as f64;
            f = (0..self.repeats)
                .map(|i| -lim + (i as f64 + 0.5) * 2.0 * lim / r)
                .collect();
        }
        f
    }

    fn build<R: Rng + ?Sized>(&self, rng: &mut R) -> InterfererBurst {
        let t_bit = 1.0 / SIGFOX_BIT_RATE;
        let bits: Vec<u8> = (0..self.frame_bits)
            .map(|_| rng.random_range(0..2u8))
            .collect();
        // Levels a_0..a_(N-1), with a_(-1) = a_N = 0 around them.
        let mut levels = Vec::with_capacity(bits.len() + 2);
        levels.push(0.0);
        let mut a = 1.0;
        for &b in &bits {
            if b == 0 {
                a = -a;
            }
            levels.push(a);
        }
        levels.push(0.0);
        let freqs = self.draw_freqs(rng);
        let mut segments = Vec::new();
        for (r, &fr) in freqs.iter().enumerate() {
            let f = fr + self.freq_offset_hz;
            let theta = rng.random_range(0.0..2.0 * PI);
            let t0 = r as f64 * (self.frame_s() + self.gap_s);
            for (n, w) in levels.windows(2).enumerate() {
                let (prev, cur) = (w[0], w[1]);
                let start_s = t0 + n as f64 * t_bit;
                // Carrier phase continuous within the repeat: theta + 2 pi f (t - t0).
                let rot = Complex64::from_polar(1.0, theta + 2.0 * PI * f * (start_s - t0));
                let dc = (prev + cur) / 2.0;
                let ac = (prev - cur) / 2.0;
                let mut tones = Vec::with_capacity(3);
                if dc != 0.0 {
                    tones.push(Tone {
                        freq_hz: f,
                        coeff: rot * dc,
                    });
                }
                if ac != 0.0 {
                    for s in [-1.0, 1.0] {
                        tones.push(Tone {
                            freq_hz: f + s * SIGFOX_BIT_RATE / 2.0,
                            coeff: rot * (ac / 2.0),
                        });
                    }
                }
                segments.push(Segment {
                    start_s,
                    len_s: t_bit,
                    t_ref_s: start_s,
                    tones,
                });
            }
        }
        let mut b = Burst { segments };
        normalise(&mut b);
        let lo = freqs.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = freqs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut params = serde_json::Map::new();
        params.insert("frame_bits".into(), json!(self.frame_bits));
        params.insert("repeats".into(), json!(self.repeats));
        params.insert("spread_hz".into(), json!(self.spread_hz));
        params.insert("gap_s".into(), json!(self.gap_s));
        params.insert("freq_offset_hz".into(), json!(self.freq_offset_hz));
        params.insert("seed".into(), json!(self.seed));
        params.insert(
            "repeat_freqs_hz".into(),
            json!(freqs
                .iter()
                .map(|f| f + self.freq_offset_hz)
                .collect::<Vec<_>>()),
        );
        InterfererBurst {
            signal: Box::new(b),
            center_hz: self.freq_offset_hz + (lo + hi) / 2.0,
            bandwidth_hz: hi - lo + SIGFOX_BANDWIDTH_HZ,
            snr_bandwidth_hz: SIGFOX_BANDWIDTH_HZ,
            label: GEN,
            tech: Tech::Unknown,
            params,
        }
    }
}
