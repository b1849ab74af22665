//! Channel and receiver impairments for synthesis: AWGN at an SNR stated in a bandwidth,
//! static multipath, HackRF-like front-end errors and 8-bit quantisation.
//!
//! SNR convention (used by `synth`, `eval` and the truth records): the SNR of a burst is its
//! mean power over the noise power that falls in a stated bandwidth `B`, with white noise of
//! total power `P_n` over the sample rate `fs`: `SNR = P_s / (P_n * B / fs)`. The bandwidth is
//! the one the standard states sensitivity in: 180 kHz for NB-IoT, 1.08 MHz for PRACH, the
//! allocation (`n_prb x 180 kHz`) for PUSCH (see [`crate::synth::SynthBurst::snr_bandwidth_hz`]).

use num_complex::{Complex32, Complex64};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

/// Converts dB to a power ratio.
pub fn db_to_lin(db: f64) -> f64 {
    10f64.powf(db / 10.0)
}

/// Converts a power ratio to dB (`-inf` for 0).
pub fn lin_to_db(x: f64) -> f64 {
    10.0 * x.log10()
}

/// Mean power `|x|^2` of a block (0 for an empty block).
pub fn mean_power(x: &[Complex32]) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    x.iter().map(|v| v.norm_sqr() as f64).sum::<f64>() / x.len() as f64
}

/// Mean signal power that gives `snr_db` in bandwidth `bw_hz` against white noise of total
/// power `noise_power` over the sample rate `fs_hz`.
pub fn signal_power_for_snr(noise_power: f64, fs_hz: f64, snr_db: f64, bw_hz: f64) -> f64 {
    db_to_lin(snr_db) * noise_power * bw_hz / fs_hz
}

/// SNR (dB) of a signal of mean power `signal_power` in bandwidth `bw_hz` against white noise
/// of total power `noise_power` over `fs_hz`. The inverse of [`signal_power_for_snr`].
pub fn snr_db_in_bandwidth(signal_power: f64, noise_power: f64, fs_hz: f64, bw_hz: f64) -> f64 {
    lin_to_db(signal_power / (noise_power * bw_hz / fs_hz))
}

/// Adds circular complex white Gaussian noise of total power `noise_power` (`E|n|^2`).
pub fn add_awgn<R: Rng + ?Sized>(x: &mut [Complex32], noise_power: f64, rng: &mut R) {
    let sigma = (noise_power / 2.0).sqrt();
    for v in x.iter_mut() {
        let a: f64 = StandardNormal.sample(rng);
        let b: f64 = StandardNormal.sample(rng);
        v.re += (sigma * a) as f32;
        v.im += (sigma * b) as f32;
    }
}

/// One path of a static multipath channel.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Path {
    /// Excess delay, seconds.
    pub delay_s: f64,
    /// Complex gain.
    pub gain: Complex64,
}

/// Power-delay profile of a multipath model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MultipathModel {
    /// A single path (no multipath).
    None,
    /// The Extended Pedestrian A delay profile of TS 36.104 Annex B.2 (7 taps, 410 ns).
    Epa,
    /// The Extended Typical Urban profile of TS 36.104 Annex B.2 (9 taps, 5 us).
    Etu,
}

impl MultipathModel {
    /// The (delay in ns, relative power in dB) taps of the profile.
    pub fn profile(self) -> &'static [(f64, f64)] {
        match self {
            MultipathModel::None => &[(0.0, 0.0)],
            MultipathModel::Epa => &[
                (0.0, 0.0),
                (30.0, -1.0),
                (70.0, -2.0),
                (90.0, -3.0),
                (110.0, -8.0),
                (190.0, -17.2),
                (410.0, -20.8),
            ],
            MultipathModel::Etu => &[
                (0.0, -1.0),
                (50.0, -1.0),
                (120.0, -1.0),
                (200.0, 0.0),
                (230.0, 0.0),
                (500.0, 0.0),
                (1600.0, -3.0),
                (2300.0, -5.0),
                (5000.0, -7.0),
            ],
        }
    }

    /// One static realisation of the profile: each tap a complex Gaussian of the tap's power
    /// (Rayleigh), normalised so that the paths' powers sum to 1.
    ///
    /// This is an approximation of the 36.104 fading models: the channel is frozen for the
    /// duration of one burst (no Doppler spectrum).
    pub fn realise<R: Rng + ?Sized>(self, rng: &mut R) -> Vec<Path> {
        if self == MultipathModel::None {
            return vec![Path {
                delay_s: 0.0,
                gain: Complex64::new(1.0, 0.0),
            }];
        }
        let mut paths: Vec<Path> = self
            .profile()
            .iter()
            .map(|&(ns, db)| {
                let s = (db_to_lin(db) / 2.0).sqrt();
                let a: f64 = StandardNormal.sample(rng);
                let b: f64 = StandardNormal.sample(rng);
                Path {
                    delay_s: ns * 1e-9,
                    gain: Complex64::new(s * a, s * b),
                }
            })
            .collect();
        let total: f64 = paths.iter().map(|p| p.gain.norm_sqr()).sum();
        if total > 0.0 {
            for p in &mut paths {
                p.gain /= total.sqrt();
            }
        }
        paths
    }
}

/// HackRF-like receiver front-end errors, applied to the whole capture before quantisation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FrontEnd {
    /// DC offset added at the tuned centre, dBFS (`None`: no DC spike).
    pub dc_offset_dbfs: Option<f64>,
    /// IQ amplitude imbalance, dB (Q gain relative to I).
    pub iq_gain_imbalance_db: f64,
    /// IQ phase imbalance, degrees.
    pub iq_phase_imbalance_deg: f64,
}

impl Default for FrontEnd {
    fn default() -> Self {
        FrontEnd {
            dc_offset_dbfs: None,
            iq_gain_imbalance_db: 0.0,
            iq_phase_imbalance_deg: 0.0,
        }
    }
}

impl FrontEnd {
    /// Applies the errors in place. An IQ imbalance of `g` dB and `p` degrees maps
    /// `I + jQ` to `I + j g (Q cos p + I sin p)`, which creates an image of every signal
    /// mirrored about the centre at about `20 log10(|1 - g e^{jp}| / |1 + g e^{jp}|)` dBc.
    pub fn apply(&self, x: &mut [Complex32]) {
        let g = db_to_lin(self.iq_gain_imbalance_db / 2.0) as f32; // amplitude ratio
        let (sp, cp) = (self.iq_phase_imbalance_deg.to_radians() as f32).sin_cos();
        let dc = self
            .dc_offset_dbfs
            .map(|d| db_to_lin(d).sqrt() as f32)
            .unwrap_or(0.0);
        let imbalanced = self.iq_gain_imbalance_db != 0.0 || self.iq_phase_imbalance_deg != 0.0;
        for v in x.iter_mut() {
            if imbalanced {
                let q = g * (v.im * cp + v.re * sp);
                v.im = q;
            }
            v.re += dc * std::f32::consts::FRAC_1_SQRT_2;
            v.im += dc * std::f32::consts::FRAC_1_SQRT_2;
        }
    }
}

/// Quantises in place to 8-bit IQ as a HackRF delivers it (`round(x * 128)` clamped to
/// -128..127, back to `/128`); returns the number of samples in which I or Q clipped.
pub fn quantise_ci8(x: &mut [Complex32]) -> usize {
    let mut clipped = 0;
    let q = |v: f32, c: &mut bool| {
        let r = (v * 128.0).round();
        if !(-128.0..=127.0).contains(&r) {
            *c = true;
        }
        r.clamp(-128.0, 127.0) / 128.0
    };
    for v in x.iter_mut() {
        let mut c = false;
        v.re = q(v.re, &mut c);
        v.im = q(v.im, &mut c);
        clipped += c as usize;
    }
    clipped
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn awgn_power_is_calibrated() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut x = vec![Complex32::new(0.0, 0.0); 200_000];
        add_awgn(&mut x, 0.01, &mut rng);
        let p = mean_power(&x);
        assert!((lin_to_db(p) - lin_to_db(0.01)).abs() < 0.05, "{p}");
        // I and Q independent with equal power.
        let pi: f64 = x.iter().map(|v| (v.re * v.re) as f64).sum::<f64>() / x.len() as f64;
        assert!((pi / p - 0.5).abs() < 0.01);
    }

    #[test]
    fn snr_helpers_are_inverse() {
        let ps = signal_power_for_snr(0.02, 1.92e6, -7.5, 180e3);
        assert!((snr_db_in_bandwidth(ps, 0.02, 1.92e6, 180e3) + 7.5).abs() < 1e-9);
        // 0 dB in the full band means equal powers.
        assert!((signal_power_for_snr(0.3, 1e6, 0.0, 1e6) - 0.3).abs() < 1e-12);
    }

    #[test]
    fn quantiser_rounds_and_counts_clipping() {
        let mut x = vec![
            Complex32::new(0.5, -0.5),
            Complex32::new(1.5, 0.0),
            Complex32::new(0.0, -1.0),
            Complex32::new(0.003, 0.0),
        ];
        let c = quantise_ci8(&mut x);
        assert_eq!(c, 1);
        assert_eq!(x[0], Complex32::new(0.5, -0.5));
        assert_eq!(x[1].re, 127.0 / 128.0);
        assert_eq!(x[2].im, -1.0);
        assert_eq!(x[3].re, 0.0);
    }

    #[test]
    fn multipath_realisation_has_unit_power_and_profile_delays() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for m in [
            MultipathModel::None,
            MultipathModel::Epa,
            MultipathModel::Etu,
        ] {
            let p = m.realise(&mut rng);
            let total: f64 = p.iter().map(|x| x.gain.norm_sqr()).sum();
            assert!((total - 1.0).abs() < 1e-9);
            assert_eq!(p.len(), m.profile().len());
        }
        let epa = MultipathModel::Epa.realise(&mut rng);
        assert!((epa[6].delay_s - 410e-9).abs() < 1e-15);
    }

    #[test]
    fn iq_imbalance_makes_an_image_at_the_predicted_level() {
        let n = 4096;
        let f = 100.0 / n as f64;
        let mut x: Vec<Complex32> = (0..n)
            .map(|i| {
                let p = 2.0 * std::f64::consts::PI * f * i as f64;
                Complex32::new(p.cos() as f32, p.sin() as f32)
            })
            .collect();
        let fe = FrontEnd {
            dc_offset_dbfs: None,
            iq_gain_imbalance_db: 0.5,
            iq_phase_imbalance_deg: 3.0,
        };
        fe.apply(&mut x);
        let bin = |k: f64| -> f64 {
            x.iter()
                .enumerate()
                .map(|(i, v)| {
                    let p = -2.0 * std::f64::consts::PI * k * i as f64 / n as f64;
                    Complex64::new(v.re as f64, v.im as f64) * Complex64::from_polar(1.0, p)
                })
                .sum::<Complex64>()
                .norm_sqr()
        };
        let image_dbc = lin_to_db(bin(-100.0) / bin(100.0));
        let g = db_to_lin(0.5 / 2.0);
        let e = Complex64::from_polar(g, 3f64.to_radians());
        let want = 20.0
            * ((Complex64::new(1.0, 0.0) - e).norm() / (Complex64::new(1.0, 0.0) + e).norm())
                .log10();
        assert!((image_dbc - want).abs() < 0.5, "{image_dbc} vs {want}");
        assert!(image_dbc < -20.0);
    }
}
