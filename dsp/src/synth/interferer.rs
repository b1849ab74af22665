//! Non-cellular signals that share the uplink bands, for testing that detectors are not
//! fooled: a CW carrier, LoRa-like chirps, band-limited noise bursts, GSM GMSK bursts
//! ([`gsm`]), an LTE downlink carrier ([`lte_downlink`]) and Sigfox-like ultra-narrowband
//! bursts ([`sigfox`]).
//!
//! These are models, not standard-exact waveforms: a CW tone is exact; the chirp is the
//! plain linear up-chirp of a LoRa preamble (no payload modulation); the noise burst is a
//! periodic band-limited Gaussian process (random complex amplitudes on a tone grid of
//! `1 / duration`). The GSM bursts follow 45.004 / 45.002 with random data; the LTE
//! downlink follows the 36.211 6.12 OFDM baseband with random data on every resource
//! element; the Sigfox-like bursts approximate the protocol (see each module).
//!
//! Every generator returns an [`InterfererBurst`]: unit mean power over the time it is on,
//! time 0 = its start, frequencies relative to the generator's reference, and `params`
//! holding every generator parameter.

pub mod gsm;
pub mod lte_downlink;
pub mod sigfox;

pub use gsm::GsmConfig;
pub use lte_downlink::LteDownlinkConfig;
pub use sigfox::SigfoxConfig;

use super::{SynthError, Tech};
use crate::signal::{Burst, Render, Segment, Tone};
use num_complex::{Complex32, Complex64};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};
use serde_json::json;
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

/// A synthesised interferer: unit mean power, time 0 = start, frequencies relative to the
/// generator's reference.
pub struct InterfererBurst {
    /// The signal.
    pub signal: Box<dyn Render + Send + Sync>,
    /// Centre of the band it occupies relative to the reference, Hz (for Sigfox-like bursts
    /// the centre of the span of its repeats).
    pub center_hz: f64,
    /// Occupied bandwidth, Hz (for Sigfox-like bursts the span of its repeats).
    pub bandwidth_hz: f64,
    /// Bandwidth in which a scenario's `snr_db` is stated for it: its occupied bandwidth.
    pub snr_bandwidth_hz: f64,
    /// What it is (`cw`, `chirp`, `noise`, `gsm`, `lte_downlink`, `sigfox`).
    pub label: &'static str,
    /// Always [`Tech::Unknown`].
    pub tech: Tech,
    /// Every generator parameter (and derived values such as Sigfox's repeat frequencies).
    pub params: serde_json::Map<String, serde_json::Value>,
}

fn params_of(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    match v {
        serde_json::Value::Object(m) => m,
        _ => serde_json::Map::new(),
    }
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
            center_hz: 0.0,
            bandwidth_hz: 1.0 / self.duration_s,
            snr_bandwidth_hz: 1.0 / self.duration_s,
            label: "cw",
            tech: Tech::Unknown,
            params: params_of(json!({ "duration_s": self.duration_s })),
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
            center_hz: 0.0,
            bandwidth_hz: self.bandwidth_hz,
            snr_bandwidth_hz: self.bandwidth_hz,
            label: "noise",
            tech: Tech::Unknown,
            params: params_of(json!({
                "bandwidth_hz": self.bandwidth_hz,
                "duration_s": self.duration_s,
            })),
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
            center_hz: 0.0,
            bandwidth_hz: self.bandwidth_hz,
            snr_bandwidth_hz: self.bandwidth_hz,
            label: "chirp",
            tech: Tech::Unknown,
            params: params_of(json!({
                "bandwidth_hz": self.bandwidth_hz,
                "spreading_factor": self.spreading_factor,
                "n_symbols": self.n_symbols,
            })),
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

    // ---- helpers for the GSM / LTE downlink / Sigfox-like tests ----

    fn c64(v: Complex32) -> Complex64 {
        Complex64::new(v.re as f64, v.im as f64)
    }

    fn mean_pow(x: &[Complex32]) -> f64 {
        x.iter().map(|v| v.norm_sqr() as f64).sum::<f64>() / x.len().max(1) as f64
    }

    /// Power spectrum of `x` (optionally Hann-windowed), zero-padded to `n`, as
    /// (frequency Hz ascending, power).
    fn spectrum(x: &[Complex32], n: usize, fs: f64, hann: bool) -> Vec<(f64, f64)> {
        let mut buf = vec![Complex64::new(0.0, 0.0); n];
        let m = x.len().min(n);
        for i in 0..m {
            let w = if hann {
                0.5 - 0.5 * (2.0 * PI * (i as f64 + 0.5) / m as f64).cos()
            } else {
                1.0
            };
            buf[i] = c64(x[i]) * w;
        }
        rustfft::FftPlanner::new()
            .plan_fft_forward(n)
            .process(&mut buf);
        let mut v: Vec<(f64, f64)> = buf
            .iter()
            .enumerate()
            .map(|(k, z)| {
                let kk = if k < n / 2 {
                    k as f64
                } else {
                    k as f64 - n as f64
                };
                (kk * fs / n as f64, z.norm_sqr())
            })
            .collect();
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        v
    }

    /// 99 % occupied bandwidth: from the frequency where 0.5 % of the power lies below to
    /// the one where 0.5 % lies above (ITU-R SM.328 definition).
    fn obw99(spec: &[(f64, f64)]) -> f64 {
        let total: f64 = spec.iter().map(|s| s.1).sum();
        let mut cum = 0.0;
        let mut lo = f64::NAN;
        let mut hi = f64::NAN;
        for &(f, p) in spec {
            let before = cum;
            cum += p;
            if lo.is_nan() && cum >= 0.005 * total {
                lo = f;
            }
            if before <= 0.995 * total {
                hi = f;
            }
        }
        hi - lo
    }

    #[test]
    fn obw_helper_measures_a_flat_band() {
        // 200 equal bins 10 Hz apart (a 2 kHz flat band) inside silence: 99 % of it is
        // 1980 Hz, measured to the 10 Hz bin grid.
        let spec: Vec<(f64, f64)> = (-500..500)
            .map(|k| {
                (
                    k as f64 * 10.0,
                    if (-100..100).contains(&k) { 1.0 } else { 0.0 },
                )
            })
            .collect();
        let b = obw99(&spec);
        assert!((b - 1980.0).abs() <= 10.0, "{b}");
    }

    #[test]
    fn erf_matches_reference_values() {
        use gsm::{erf, erfc};
        // Abramowitz & Stegun Table 7.1 / high-precision values.
        for (x, want) in [
            (0.5, 0.520_499_877_813_046_5),
            (1.0, 0.842_700_792_949_714_9),
            (2.0, 0.995_322_265_018_952_7),
            (-1.0, -0.842_700_792_949_714_9),
        ] {
            assert!((erf(x) - want).abs() < 1e-15, "erf({x}) = {}", erf(x));
        }
        // Below 4, erfc = 1 - erf: absolute accuracy (what the GMSK phase needs).
        let e3 = erfc(3.0) - 2.209_049_699_858_544e-5;
        assert!(e3.abs() < 1e-15, "erfc(3) off by {e3}");
        // From 4 on, the continued fraction keeps relative accuracy in the tail.
        let want5 = 1.537_459_794_428_035e-12;
        assert!(
            ((erfc(5.0) - want5) / want5).abs() < 1e-13,
            "erfc(5) = {}",
            erfc(5.0)
        );
        assert!((erfc(-1.0) - 1.842_700_792_949_715).abs() < 1e-15);
        // Continuous where the series hands over to the continued fraction.
        assert!((erf(4.0 - 1e-13) - erf(4.0)).abs() < 1e-15);
        assert!((erfc(4.0 - 1e-13) - erfc(4.0)).abs() < 1e-15);
    }

    #[test]
    fn gmsk_pulse_is_the_integrated_gaussian_filtered_rectangle() {
        use gsm::{gmsk_delta, gmsk_g, gmsk_q};
        // delta sets the Gaussian's -3 dB point at B = 0.3 / T: |H(B)|^2 = 1/2 with
        // H(f) = exp(-2 pi^2 delta^2 (f T)^2).
        let d = gmsk_delta();
        assert!((2.0 * PI * PI * d * d * 0.09 - 2f64.ln() / 2.0).abs() < 1e-12);
        assert!((d - 0.44168).abs() < 1e-5);
        assert!((gmsk_q(0.0) - 0.5).abs() < 1e-15);
        assert_eq!(gmsk_q(-6.0), 0.0);
        assert_eq!(gmsk_q(6.0), 1.0);
        // Continuous at the truncation (the tail is negligible).
        assert!(gmsk_q(-4.999_999).abs() < 1e-20);
        // q' = g (closed forms agree), and g integrates to 1 (trapezoid).
        let h = 1e-5;
        for &x in &[-2.0, -0.7, -0.3, 0.0, 0.4, 1.1, 2.5] {
            let dq = (gmsk_q(x + h) - gmsk_q(x - h)) / (2.0 * h);
            assert!((dq - gmsk_g(x)).abs() < 1e-8, "{x}: {dq} vs {}", gmsk_g(x));
        }
        let n = 12_000;
        let integral: f64 = (0..=n)
            .map(|i| {
                let x = -6.0 + 12.0 * i as f64 / n as f64;
                let w = if i == 0 || i == n { 0.5 } else { 1.0 };
                w * gmsk_g(x) * 12.0 / n as f64
            })
            .sum();
        assert!((integral - 1.0).abs() < 1e-10, "{integral}");
        // The pulses of consecutive bits sum to 1 (rect * anything partitions unity).
        for &x in &[0.0, 0.13, 0.5, 0.77] {
            let s: f64 = (-8..=8).map(|i| gmsk_g(x - i as f64)).sum();
            assert!((s - 1.0).abs() < 1e-12, "{s}");
        }
    }

    #[test]
    fn gsm_training_sequences_have_their_45_002_structure() {
        // Each TSC is a 16-bit core cyclically extended by 5 bits on each side, and the core
        // has an ideal periodic autocorrelation over +-5 bits (the channel-estimation window).
        for (t, s) in gsm::TRAINING_SEQUENCES.iter().enumerate() {
            assert_eq!(s[0..5], s[16..21], "TSC {t}");
            assert_eq!(s[21..26], s[5..10], "TSC {t}");
            let v: Vec<i32> = s.iter().map(|&b| 1 - 2 * b as i32).collect();
            for k in -5i32..=5 {
                let c: i32 = (0..16)
                    .map(|i| v[5 + i] * v[(5 + i as i32 + k) as usize])
                    .sum();
                assert_eq!(c, if k == 0 { 16 } else { 0 }, "TSC {t} shift {k}");
            }
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let b = gsm::normal_burst_bits(Some(5), &mut rng);
        assert_eq!(b.len(), 148);
        assert_eq!(b[0..3], [0, 0, 0]);
        assert_eq!(b[145..148], [0, 0, 0]);
        assert_eq!(b[61..87], gsm::TRAINING_SEQUENCES[5]);
    }

    #[test]
    fn gmsk_all_ones_is_a_tone_at_a_quarter_of_the_bit_rate() {
        // alpha = +1 throughout (what the FCCH produces): the phase grows by pi/2 per bit, a
        // tone at 13 MHz / 48 / 4 = 67.708 kHz between the ramps.
        let sig = gsm::GmskBursts {
            starts_s: vec![0.0],
            alphas: vec![vec![1; gsm::BURST_BITS + 2 * gsm::RAMP_BITS]],
            freq_offset_hz: 0.0,
            amplitude: 1.0,
        };
        for fs in [1.92e6, 15.36e6] {
            let x = render(&sig, fs);
            let a = (10.0 * gsm::GSM_BIT_S * fs) as usize;
            let b = (140.0 * gsm::GSM_BIT_S * fs) as usize;
            let f = (a + 1..b)
                .map(|i| (x[i] * x[i - 1].conj()).arg() as f64)
                .sum::<f64>()
                / (b - a - 1) as f64
                * fs
                / (2.0 * PI);
            assert!((f - 13e6 / 48.0 / 4.0).abs() < 1.0, "{fs}: {f}");
        }
    }

    #[test]
    fn gsm_bursts_have_constant_envelope_unit_power_and_the_tdma_timing() {
        let cfg = GsmConfig {
            n_frames: 3,
            timeslot: 2,
            slots_per_frame: 2,
            freq_offset_hz: 100e3,
            seed: Some(7),
            training_sequence: Some(3),
        };
        let g = cfg
            .generate(&mut rand_chacha::ChaCha8Rng::seed_from_u64(0))
            .expect("valid");
        assert_eq!(g.params["timeslot"], 2);
        assert_eq!(g.params["training_sequence"], 3);
        assert_eq!(g.center_hz, 100e3);
        let t_bit = 48.0 / 13e6;
        let mut low_rate = Vec::new();
        for fs in [1.92e6, 15.36e6] {
            let x = render(g.signal.as_ref(), fs);
            // Rising edges: |x| crosses half the peak amplitude one bit into each ramp-up.
            let peak = x.iter().map(|v| v.norm()).fold(0.0f32, f32::max) as f64;
            let mut edges = Vec::new();
            for i in 1..x.len() {
                let (p, c) = (x[i - 1].norm() as f64, x[i].norm() as f64);
                if p < 0.5 * peak && c >= 0.5 * peak {
                    // Linear interpolation of the crossing instant.
                    edges.push((i as f64 - 1.0 + (0.5 * peak - p) / (c - p)) / fs);
                }
            }
            assert_eq!(edges.len(), 6, "{fs}");
            let slot = 15e-3 / 26.0;
            let frame = 60e-3 / 13.0;
            for (j, e) in edges.iter().enumerate() {
                let want = (j / 2) as f64 * frame + (j % 2) as f64 * slot + t_bit;
                assert!(
                    (e - want).abs() < 0.3 / fs + 0.05e-6,
                    "{fs} edge {j}: {e} vs {want}"
                );
            }
            assert!((slot - 576.923e-6).abs() < 1e-9 && (frame - 4.615_38e-3).abs() < 1e-8);
            for j in 0..6 {
                let s0 = (j / 2) as f64 * frame + (j % 2) as f64 * slot;
                // Constant envelope over the 148 useful bits.
                let a = (((s0 + 2.0 * t_bit) * fs).ceil()) as usize;
                let b = (((s0 + 150.0 * t_bit) * fs).floor()) as usize;
                for v in &x[a..b] {
                    assert!((v.norm() as f64 - peak).abs() < 1e-5 * peak, "{fs}");
                }
                // Unit mean power over the burst on air (152 bits), silence after it.
                let a = ((s0 * fs).ceil()) as usize;
                let b = (((s0 + 152.0 * t_bit) * fs).ceil()) as usize;
                let p = mean_pow(&x[a..b]);
                assert!((p - 1.0).abs() < 0.01, "{fs} burst {j}: {p}");
                if j % 2 == 1 && j < 5 {
                    assert!(x[b..b + 100].iter().all(|v| v.norm() == 0.0));
                }
            }
            if fs == 1.92e6 {
                low_rate = x;
            } else {
                // Exact at any rate: every 8th sample at 15.36 MS/s is the 1.92 MS/s sample.
                for (n, v) in low_rate.iter().enumerate().step_by(7) {
                    assert!((c64(*v) - c64(x[8 * n])).norm() < 2e-5, "sample {n}");
                }
            }
        }
    }

    #[test]
    fn gmsk_occupies_0_92_of_the_bit_rate_at_99_percent() {
        // Textbook (Murota and Hirade 1981): 99 % of the power of GMSK BT = 0.3 lies within
        // about 0.92 x the bit rate (249 kHz for GSM). Measured over 40 useful parts.
        let rb = 13e6 / 48.0;
        let t_bit = 1.0 / rb;
        for (fs, nfft) in [(1.92e6, 2048usize), (15.36e6, 16384)] {
            let cfg = GsmConfig {
                n_frames: 40,
                seed: Some(11),
                ..Default::default()
            };
            let g = cfg
                .generate(&mut rand_chacha::ChaCha8Rng::seed_from_u64(0))
                .expect("valid");
            let x = render(g.signal.as_ref(), fs);
            let mut acc = vec![0.0; nfft];
            let mut freqs = vec![0.0; nfft];
            for f in 0..40 {
                let s0 = f as f64 * 60e-3 / 13.0;
                let a = ((s0 + 2.0 * t_bit) * fs).ceil() as usize;
                let b = ((s0 + 150.0 * t_bit) * fs).floor() as usize;
                for (i, (fr, p)) in spectrum(&x[a..b], nfft, fs, true).into_iter().enumerate() {
                    acc[i] += p;
                    freqs[i] = fr;
                }
            }
            let spec: Vec<(f64, f64)> = freqs.into_iter().zip(acc).collect();
            let bw = obw99(&spec) / rb;
            assert!((bw - 0.92).abs() < 0.04, "{fs}: 99 % bandwidth {bw} x Rb");
        }
        assert!((gsm::occupied_bandwidth_hz() - 249.2e3).abs() < 100.0);
    }

    #[test]
    fn lte_downlink_has_lines_on_the_15_khz_grid_empty_dc_and_a_positive_cp() {
        for (fs, n_rb) in [(1.92e6, 6u32), (15.36e6, 50)] {
            let cfg = LteDownlinkConfig {
                n_rb,
                duration_s: 0.002,
                seed: Some(3),
                ..Default::default()
            };
            let g = cfg
                .generate(&mut rand_chacha::ChaCha8Rng::seed_from_u64(0))
                .expect("valid");
            assert_eq!(g.bandwidth_hz, (12 * n_rb + 1) as f64 * 15e3);
            let x = render(g.signal.as_ref(), fs);
            assert_eq!(x.len(), (2e-3 * fs).round() as usize);
            // Unit mean power (random QPSK on every RE).
            let p = mean_pow(&x);
            assert!((p - 1.0).abs() < 0.03, "{fs}: {p}");
            let ts = fs / 30.72e6; // samples per Ts
            let n = (2048.0 * ts).round() as usize; // FFT size at 15 kHz
            let half = 6 * n_rb as i64;
            let mut start = 0.0;
            for l in 0..14 {
                let cp = if l % 7 == 0 { 160.0 } else { 144.0 };
                let a = (start * ts).round() as usize;
                let ncp = (cp * ts).round() as usize;
                // CP correlation at lag 2048 Ts: the CP is a plain copy (+1), not negated.
                let c: Complex64 = (a..a + ncp).map(|i| c64(x[i]) * c64(x[i + n]).conj()).sum();
                let e: f64 = (a..a + ncp).map(|i| c64(x[i]).norm_sqr()).sum();
                assert!((c / e - 1.0).norm() < 1e-4, "{fs} symbol {l}: {}", c / e);
                // One FFT over the useful part: energy only on k = +-1 .. +-6 N_RB (bins on
                // the k x 15 kHz grid), DC empty, all used bins of equal (QPSK) magnitude.
                let spec = spectrum(&x[a + ncp..a + ncp + n], n, fs, false);
                let used: Vec<f64> = spec
                    .iter()
                    .filter(|(f, _)| {
                        let k = (f / 15e3).round() as i64;
                        k != 0 && k.abs() <= half
                    })
                    .map(|s| s.1)
                    .collect();
                assert_eq!(used.len(), 12 * n_rb as usize);
                let mean = used.iter().sum::<f64>() / used.len() as f64;
                assert!(used.iter().all(|u| (u / mean - 1.0).abs() < 1e-3), "{fs}");
                for (f, pw) in &spec {
                    let k = (f / 15e3).round() as i64;
                    assert!((f - k as f64 * 15e3).abs() < 1e-6);
                    if k == 0 || k.abs() > half {
                        assert!(
                            pw / mean < 1e-8,
                            "{fs} symbol {l}: bin {k} holds {}",
                            pw / mean
                        );
                    }
                }
                start += cp + 2048.0;
            }
        }
    }

    #[test]
    fn lte_downlink_sends_a_fraction_of_subframes() {
        let cfg = LteDownlinkConfig {
            duration_s: 0.0195, // rounds up to 20 subframes
            subframe_fraction: 0.5,
            seed: Some(9),
            modulation: super::super::pusch::Modulation::Qam16,
            ..Default::default()
        };
        assert_eq!(cfg.n_subframes(), 20);
        let g = cfg
            .generate(&mut rand_chacha::ChaCha8Rng::seed_from_u64(0))
            .expect("valid");
        let sent = g.params["subframes_sent"].as_u64().expect("count") as usize;
        assert!((4..=16).contains(&sent), "{sent}");
        let x = render(g.signal.as_ref(), 1.92e6);
        // Subframe 0 is always on; count the 1 ms blocks holding power.
        let on = x.chunks(1920).filter(|c| mean_pow(c) > 0.5).count();
        let off = x.chunks(1920).filter(|c| mean_pow(c) == 0.0).count();
        assert_eq!(on, sent);
        assert_eq!(on + off, x.len().div_ceil(1920));
        assert!(mean_pow(&x[..1920]) > 0.5);
    }

    #[test]
    fn sigfox_like_bursts_are_narrow_at_three_distinct_frequencies() {
        let cfg = SigfoxConfig {
            frame_bits: 64,
            gap_s: 0.02,
            freq_offset_hz: 1e3,
            seed: Some(5),
            ..Default::default()
        };
        let g = cfg
            .generate(&mut rand_chacha::ChaCha8Rng::seed_from_u64(0))
            .expect("valid");
        let freqs: Vec<f64> = g.params["repeat_freqs_hz"]
            .as_array()
            .expect("freqs")
            .iter()
            .map(|v| v.as_f64().expect("number"))
            .collect();
        assert_eq!(freqs.len(), 3);
        let fs = 1.92e6;
        let x = render(g.signal.as_ref(), fs);
        let frame = 0.65;
        let mut peaks = Vec::new();
        for (r, &fr) in freqs.iter().enumerate() {
            let t0 = r as f64 * (frame + 0.02);
            let a = (t0 * fs).round() as usize;
            let b = (((t0 + frame) * fs).round() as usize).min(x.len());
            // Unit power while on; silence in the gap after it.
            let p = mean_pow(&x[a..b]);
            assert!((p - 1.0).abs() < 0.02, "repeat {r}: {p}");
            if r < 2 {
                assert!(x[b..b + (0.019 * fs) as usize]
                    .iter()
                    .all(|v| v.norm() == 0.0));
            }
            let spec = spectrum(&x[a..b], 1 << 21, fs, false);
            let bw = obw99(&spec);
            assert!(
                bw > 50.0 && bw < 200.0,
                "repeat {r}: 99 % bandwidth {bw} Hz"
            );
            let peak = spec
                .iter()
                .fold((0.0, 0.0), |m, s| if s.1 > m.1 { *s } else { m });
            // The spectral peak lies within the burst's 100 Hz, inside +-96 kHz of the centre.
            assert!((peak.0 - fr).abs() < 60.0, "{} vs {}", peak.0, fr);
            assert!((peak.0 - 1e3).abs() < 96e3);
            peaks.push(peak.0);
        }
        for i in 0..3 {
            for j in 0..i {
                assert!((peaks[i] - peaks[j]).abs() > 1e3, "{peaks:?}");
            }
        }
        let lo = freqs.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = freqs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        assert!((g.center_hz - (lo + hi) / 2.0).abs() < 1e-9);
        assert_eq!(g.snr_bandwidth_hz, 100.0);
        // Exact at any rate: 15.36 MS/s samples at the 1.92 MS/s instants are the same.
        let short = SigfoxConfig {
            frame_bits: 4,
            gap_s: 0.0,
            seed: Some(5),
            ..Default::default()
        }
        .generate(&mut rand_chacha::ChaCha8Rng::seed_from_u64(0))
        .expect("valid");
        let lo_rate = render(short.signal.as_ref(), 1.92e6);
        let hi_rate = render(short.signal.as_ref(), 15.36e6);
        for (n, v) in lo_rate.iter().enumerate().step_by(101) {
            assert!((c64(*v) - c64(hi_rate[8 * n])).norm() < 2e-5);
        }
    }

    #[test]
    fn new_kinds_validate_their_parameters() {
        let bad_gsm = [
            GsmConfig {
                n_frames: 0,
                ..Default::default()
            },
            GsmConfig {
                timeslot: 6,
                slots_per_frame: 3,
                ..Default::default()
            },
            GsmConfig {
                training_sequence: Some(8),
                ..Default::default()
            },
        ];
        for c in bad_gsm {
            assert!(c.validate().is_err(), "{c:?}");
        }
        assert!(GsmConfig::default().validate().is_ok());
        for c in [
            LteDownlinkConfig {
                n_rb: 7,
                ..Default::default()
            },
            LteDownlinkConfig {
                subframe_fraction: 0.0,
                ..Default::default()
            },
            LteDownlinkConfig {
                n_rb: 100,
                duration_s: 1.0,
                ..Default::default()
            },
        ] {
            assert!(c.validate().is_err(), "{c:?}");
        }
        assert!(LteDownlinkConfig::default().validate().is_ok());
        for c in [
            SigfoxConfig {
                repeats: 0,
                ..Default::default()
            },
            SigfoxConfig {
                spread_hz: 2e3,
                ..Default::default()
            },
            SigfoxConfig {
                frame_bits: 0,
                ..Default::default()
            },
        ] {
            assert!(c.validate().is_err(), "{c:?}");
        }
        assert!(SigfoxConfig::default().validate().is_ok());
        // Configs embed in TOML-like maps: unknown keys are refused.
        assert!(serde_json::from_str::<GsmConfig>(r#"{"n_frame": 3}"#).is_err());
        let c: SigfoxConfig = serde_json::from_str(r#"{"repeats": 2}"#).expect("valid");
        assert_eq!(c.repeats, 2);
        assert_eq!(c.seed, None);
    }
}
