//! Non-cellular signals that share the uplink bands, for testing that detectors are not
//! fooled: a CW carrier, LoRa-like chirps and band-limited noise bursts.
//!
//! These are models, not standard-exact waveforms: a CW tone is exact; the chirp is the
//! plain linear up-chirp of a LoRa preamble (no payload modulation); the noise burst is a
//! periodic band-limited Gaussian process (random complex amplitudes on a tone grid of
//! `1 / duration`).

use super::{SynthError, Tech};
use crate::signal::{Burst, Render, Segment, Tone};
use num_complex::{Complex32, Complex64};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// A continuous-wave carrier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CwConfig {
    /// Duration, seconds.
    pub duration_s: f64,
}

impl Default for CwConfig {
    fn default() -> Self {
        CwConfig { duration_s: 0.01 }
    }
}

/// LoRa-like linear up-chirps (a preamble of `n_symbols` chirps).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChirpConfig {
    /// Swept bandwidth, Hz (LoRa: 125, 250 or 500 kHz).
    pub bandwidth_hz: f64,
    /// Spreading factor 6..12: a chirp lasts `2^sf / bandwidth` seconds.
    pub spreading_factor: u32,
    /// Number of chirps.
    pub n_symbols: u32,
}

impl Default for ChirpConfig {
    fn default() -> Self {
        ChirpConfig {
            bandwidth_hz: 125e3,
            spreading_factor: 7,
            n_symbols: 10,
        }
    }
}

/// A band-limited white noise burst.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NoiseBurstConfig {
    /// Bandwidth, Hz.
    pub bandwidth_hz: f64,
    /// Duration, seconds.
    pub duration_s: f64,
}

impl Default for NoiseBurstConfig {
    fn default() -> Self {
        NoiseBurstConfig {
            bandwidth_hz: 1e6,
            duration_s: 2e-3,
        }
    }
}

/// A synthesised interferer: unit mean power, time 0 = start, frequencies about 0 Hz.
pub struct InterfererBurst {
    /// The signal.
    pub signal: Box<dyn Render + Send + Sync>,
    /// Occupied bandwidth, Hz.
    pub bandwidth_hz: f64,
    /// Bandwidth in which a scenario's `snr_db` is stated for it: its occupied bandwidth.
    pub snr_bandwidth_hz: f64,
    /// What it is (`cw`, `chirp`, `noise`).
    pub label: &'static str,
    /// Always [`Tech::Unknown`].
    pub tech: Tech,
}

impl CwConfig {
    /// Checks the configuration.
    pub fn validate(&self) -> Result<(), SynthError> {
        check_duration("cw", self.duration_s)
    }

    /// Generates the carrier.
    pub fn generate(&self) -> Result<InterfererBurst, SynthError> {
        self.validate()?;
        let b = Burst {
            segments: vec![Segment {
                start_s: 0.0,
                len_s: self.duration_s,
                t_ref_s: 0.0,
                tones: vec![Tone {
                    freq_hz: 0.0,
                    coeff: Complex64::new(1.0, 0.0),
                }],
            }],
        };
        Ok(InterfererBurst {
            signal: Box::new(b),
            bandwidth_hz: 1.0 / self.duration_s,
            snr_bandwidth_hz: 1.0 / self.duration_s,
            label: "cw",
            tech: Tech::Unknown,
        })
    }
}

impl NoiseBurstConfig {
    /// Checks the configuration.
    pub fn validate(&self) -> Result<(), SynthError> {
        check_duration("noise", self.duration_s)?;
        if !(self.bandwidth_hz > 0.0 && self.bandwidth_hz <= 40e6) {
            return Err(SynthError::param(
                "noise",
                "bandwidth_hz",
                self.bandwidth_hz,
                "0 < B <= 40 MHz",
            ));
        }
        if self.bandwidth_hz * self.duration_s > 2e5 {
            return Err(SynthError::param(
                "noise",
                "bandwidth_hz x duration_s",
                self.bandwidth_hz * self.duration_s,
                "at most 200000 (tones to synthesise)",
            ));
        }
        Ok(())
    }

    /// Generates one burst with complex Gaussian amplitudes on a `1 / duration` tone grid.
    pub fn generate<R: Rng + ?Sized>(&self, rng: &mut R) -> Result<InterfererBurst, SynthError> {
        self.validate()?;
        let df = 1.0 / self.duration_s;
        let n = (self.bandwidth_hz / df).round().max(1.0) as usize;
        let tones = (0..n)
            .map(|i| {
                let a: f64 = StandardNormal.sample(rng);
                let b: f64 = StandardNormal.sample(rng);
                Tone {
                    freq_hz: (i as f64 - (n / 2) as f64) * df,
                    coeff: Complex64::new(a, b),
                }
            })
            .collect();
        let mut b = Burst {
            segments: vec![Segment {
                start_s: 0.0,
                len_s: self.duration_s,
                t_ref_s: 0.0,
                tones,
            }],
        };
        super::normalise(&mut b);
        Ok(InterfererBurst {
            signal: Box::new(b),
            bandwidth_hz: self.bandwidth_hz,
            snr_bandwidth_hz: self.bandwidth_hz,
            label: "noise",
            tech: Tech::Unknown,
        })
    }
}

/// Rendered chirp sequence (implements [`Render`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Chirps {
    /// Swept bandwidth, Hz.
    pub bandwidth_hz: f64,
    /// Duration of one chirp, seconds.
    pub symbol_s: f64,
    /// Number of chirps.
    pub n_symbols: u32,
}

impl Render for Chirps {
    fn render_add(
        &self,
        out: &mut [Complex32],
        out_first: i64,
        fs_hz: f64,
        start_sample: f64,
        cfo_hz: f64,
        gain: Complex64,
    ) {
        let dur = self.duration_s();
        let k = self.bandwidth_hz / self.symbol_s; // sweep rate, Hz/s
        for (i, v) in out.iter_mut().enumerate() {
            let t = ((out_first + i as i64) as f64 - start_sample) / fs_hz;
            if t < 0.0 || t >= dur {
                continue;
            }
            let tau = t % self.symbol_s;
            // f(tau) = -B/2 + k tau: phase = 2 pi (-B/2 tau + k tau^2 / 2); each chirp restarts
            // at phase 0, and the CFO is continuous.
            let ph = 2.0 * PI * (-self.bandwidth_hz / 2.0 * tau + 0.5 * k * tau * tau + cfo_hz * t);
            let z = gain * Complex64::from_polar(1.0, ph);
            v.re += z.re as f32;
            v.im += z.im as f32;
        }
    }

    fn duration_s(&self) -> f64 {
        self.symbol_s * self.n_symbols as f64
    }
}

impl ChirpConfig {
    /// Checks the configuration.
    pub fn validate(&self) -> Result<(), SynthError> {
        if !(6..=12).contains(&self.spreading_factor) {
            return Err(SynthError::param(
                "chirp",
                "spreading_factor",
                self.spreading_factor,
                "6..=12",
            ));
        }
        if !(self.bandwidth_hz > 0.0 && self.bandwidth_hz <= 2e6) {
            return Err(SynthError::param(
                "chirp",
                "bandwidth_hz",
                self.bandwidth_hz,
                "0 < B <= 2 MHz",
            ));
        }
        if self.n_symbols == 0 || self.n_symbols > 1000 {
            return Err(SynthError::param(
                "chirp",
                "n_symbols",
                self.n_symbols,
                "1..=1000",
            ));
        }
        Ok(())
    }

    /// Generates the chirps.
    pub fn generate(&self) -> Result<InterfererBurst, SynthError> {
        self.validate()?;
        Ok(InterfererBurst {
            signal: Box::new(Chirps {
                bandwidth_hz: self.bandwidth_hz,
                symbol_s: (1u64 << self.spreading_factor) as f64 / self.bandwidth_hz,
                n_symbols: self.n_symbols,
            }),
            bandwidth_hz: self.bandwidth_hz,
            snr_bandwidth_hz: self.bandwidth_hz,
            label: "chirp",
            tech: Tech::Unknown,
        })
    }
}

fn check_duration(g: &'static str, d: f64) -> Result<(), SynthError> {
    if d > 0.0 && d <= 10.0 {
        Ok(())
    } else {
        Err(SynthError::param(g, "duration_s", d, "0 < d <= 10 s"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn render(sig: &dyn Render, fs: f64) -> Vec<Complex32> {
        let n = (sig.duration_s() * fs).ceil() as usize;
        let mut out = vec![Complex32::new(0.0, 0.0); n];
        sig.render_add(&mut out, 0, fs, 0.0, 0.0, Complex64::new(1.0, 0.0));
        out
    }

    #[test]
    fn chirp_sweeps_its_bandwidth_at_constant_envelope() {
        let c = ChirpConfig::default().generate().expect("valid");
        let fs = 1.92e6;
        let x = render(c.signal.as_ref(), fs);
        assert_eq!(x.len(), (10.0 * 128.0 / 125e3 * fs).ceil() as usize);
        assert!(x.iter().all(|v| (v.norm() - 1.0).abs() < 1e-5));
        // Instantaneous frequency at a quarter of the first chirp: -B/2 + B/4 = -31.25 kHz.
        let sym = (128.0 / 125e3 * fs) as usize;
        let i = sym / 4;
        let f = (x[i + 1] * x[i].conj()).arg() as f64 * fs / (2.0 * PI);
        assert!((f + 31.25e3).abs() < 500.0, "{f}");
    }

    #[test]
    fn noise_burst_is_band_limited_with_unit_power() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let cfg = NoiseBurstConfig {
            bandwidth_hz: 200e3,
            duration_s: 1e-3,
        };
        let b = cfg.generate(&mut rng).expect("valid");
        let x = render(b.signal.as_ref(), 1.92e6);
        let p: f64 = x.iter().map(|v| v.norm_sqr() as f64).sum::<f64>() / x.len() as f64;
        assert!((p - 1.0).abs() < 0.15, "{p}");
        // Power outside +-150 kHz is tiny: DFT over exactly one period (1920 samples).
        let n = x.len();
        let mut outside = 0.0;
        let mut total = 0.0;
        for k in 0..n {
            let s: Complex64 = x
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    Complex64::new(v.re as f64, v.im as f64)
                        * Complex64::from_polar(1.0, -2.0 * PI * (k * i) as f64 / n as f64)
                })
                .sum();
            let f = if k < n / 2 {
                k as f64
            } else {
                k as f64 - n as f64
            } * 1e3;
            total += s.norm_sqr();
            if f.abs() > 150e3 {
                outside += s.norm_sqr();
            }
        }
        assert!(outside / total < 1e-6);
    }

    #[test]
    fn validation() {
        assert!(ChirpConfig {
            spreading_factor: 13,
            ..Default::default()
        }
        .validate()
        .is_err());
        assert!(CwConfig { duration_s: 0.0 }.validate().is_err());
        assert!(NoiseBurstConfig {
            bandwidth_hz: -1.0,
            duration_s: 1e-3
        }
        .validate()
        .is_err());
    }
}
