//! LTE PRACH random-access preamble, formats 0-3 (TS 36.211 clause 5.7), as sent by LTE-M
//! (Cat-M1) devices and by phones alike.
//!
//! # Waveform
//! A preamble is a cyclic prefix of `T_CP` followed by a sequence part of `T_SEQ`
//! (Table 5.7.1-1): the sequence part is one period (formats 0, 1) or two periods
//! (formats 2, 3) of 0.8 ms = 24576 Ts of an 839-subcarrier signal on a 1.25 kHz grid
//! (5.7.3):
//!
//! ```text
//!   s(t) = beta * sum_{k=0}^{838} X_{u,v}(k) exp(j 2 pi (k + phi + K (k0 + 1/2)) df_RA (t - T_CP)),
//!   0 <= t < T_CP + T_SEQ,
//!   X_{u,v}(k) = sum_{n=0}^{838} x_{u,v}(n) exp(-j 2 pi n k / 839)
//!   x_{u,v}(n) = x_u((n + C_v) mod 839),  x_u(n) = exp(-j pi u n (n+1) / 839)     (5.7.2)
//!   df_RA = 1250 Hz, phi = 7 (Table 5.7.3-2), K = df / df_RA = 12,
//!   k0 = n_PRB_RA * 12 - N_RB_UL * 12 / 2,   n_PRB_RA = prach-FrequencyOffset (FDD, 5.7.1).
//! ```
//!
//! So the 839 tones sit at `(12 k0 + 13 + k) x 1250 Hz`: 13 subcarriers (16.25 kHz) of guard
//! on either side inside the 6 PRB (1.08 MHz) that start at PRB `n_PRB_RA`, centred on the
//! centre of those 6 PRB. The signal is periodic in `1 / df_RA = 24576 Ts`, so the cyclic
//! prefix is the last `T_CP` of the sequence part.
//!
//! Envelope: sampled at the critical rate `839 x 1250 Hz` in step with `T_CP`, the samples are
//! `x_{u,v}(n)` times a phase ramp, i.e. exactly constant. The continuous signal (and any
//! oversampled rendering, e.g. 30.72 MS/s) is the band-limited interpolation of that chirp
//! and is NOT constant: its peak-to-average power ratio is 2.5 - 5.5 dB depending on `u`.
//!
//! # Preamble set (5.7.2, unrestricted sets)
//! The 64 preambles of a cell are all cyclic shifts `C_v = v N_CS`,
//! `v = 0 .. floor(839 / N_CS) - 1` (`C_0 = 0` only when `N_CS = 0`) of the root with logical
//! index `rootSequenceIndex`, then of the following logical roots (cyclically, 837 is followed
//! by 0) until 64 are found; logical -> physical root by Table 5.7.2-4. Restricted sets (high
//! speed) are not generated.
//!
//! # Detection
//! Remove the CP, take the 839 bins of the 1.25 kHz grid (an FFT of 24576 Ts: 1536 points at
//! 1.92 MS/s), multiply by `conj(X_u(k))` for a candidate root and transform back: the result
//! peaks at the cyclic shift `C_v` (plus the round-trip delay), and is flat at `1/sqrt(839)` of
//! that peak for another root. The functions of this module give the detector the roots, the
//! shifts and `X_u`.

use super::{normalise, Kind, SynthBurst, SynthError, Tech};
use crate::numerology::{n_rb_for_bandwidth_mhz, DELTA_F_RA_HZ, N_SC_RB};
use crate::signal::{Burst, Segment, Tone};
use crate::tables::{PRACH_NCS_UNRESTRICTED, PRACH_ROOT_TABLE};
use num_complex::Complex64;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::f64::consts::PI;

const GENERATOR: &str = "prach";

/// Length of the PRACH Zadoff-Chu sequence for formats 0-3, `N_ZC` (Table 5.7.2-1).
pub const N_ZC: u32 = 839;

/// Number of logical root sequences of formats 0-3 (Table 5.7.2-4: 0..837).
pub const N_LOGICAL_ROOTS: u32 = 838;

/// Number of preambles of a cell (5.7.2).
pub const N_PREAMBLES: u32 = 64;

/// Frequency-domain offset `phi` of formats 0-3, in units of `df_RA` (Table 5.7.3-2).
pub const PHI: i64 = 7;

/// `K = df / df_RA = 15000 / 1250` (5.7.3).
pub const K: i64 = 12;

/// PRACH bandwidth in resource blocks (5.7.1: six consecutive PRB).
pub const N_RB_RA: u32 = 6;

/// Occupied bandwidth of the 839 subcarriers, Hz.
pub const OCCUPIED_BANDWIDTH_HZ: f64 = N_ZC as f64 * DELTA_F_RA_HZ;

/// Bandwidth in which PRACH SNR is stated (36.104 / 36.141: the 6 PRB, 1.08 MHz), Hz.
pub const SNR_BANDWIDTH_HZ: f64 = 1.08e6;

/// Period of the preamble sequence, `1 / df_RA`, in Ts (24576 Ts = 0.8 ms).
pub const T_PERIOD_TS: u32 = 24576;

/// A length in Ts as seconds, `len / 30.72e6`. Dividing (rather than multiplying by the
/// rounded `Ts`, as `numerology::ts` does) makes `len_s * fs` an exact integer for the PRACH
/// lengths at 1.92 .. 30.72 MS/s, so the renderer's `ceil` gives exactly `len * fs / 30.72e6`
/// samples (`27744 * TS_S * 30.72e6 = 27744.000000000004` would give one sample more).
fn ts_s(len: u32) -> f64 {
    len as f64 / 30_720_000.0
}

/// Cyclic-prefix and sequence lengths `(T_CP, T_SEQ)` in Ts of preamble format 0-3
/// (Table 5.7.1-1), or `None` for another format (format 4 is TDD-only and not generated).
pub fn format_lengths_ts(format: u8) -> Option<(u32, u32)> {
    match format {
        0 => Some((3168, 24576)),
        1 => Some((21024, 24576)),
        2 => Some((6240, 2 * 24576)),
        3 => Some((21024, 2 * 24576)),
        _ => None,
    }
}

/// Physical Zadoff-Chu root `u` of logical root sequence index `logical` (Table 5.7.2-4,
/// formats 0-3).
///
/// # Panics
/// If `logical > 837`.
pub fn physical_root(logical: u32) -> u32 {
    assert!(
        logical < N_LOGICAL_ROOTS,
        "logical root {logical} outside 0..837"
    );
    PRACH_ROOT_TABLE[logical as usize] as u32
}

/// `N_CS` of `zeroCorrelationZoneConfig` 0..15 for the unrestricted set (Table 5.7.2-2), or
/// `None` for another value.
pub fn n_cs_unrestricted(zero_correlation_zone_config: u8) -> Option<u32> {
    PRACH_NCS_UNRESTRICTED
        .get(zero_correlation_zone_config as usize)
        .map(|&n| n as u32)
}

/// The cyclic shifts `C_v` (samples of the 839-sequence) of one root for the unrestricted
/// set (5.7.2): `v N_CS` for `v = 0 .. floor(839 / N_CS) - 1`, or `[0]` when `N_CS = 0`.
///
/// # Panics
/// If `n_cs > 839`.
pub fn cyclic_shifts_unrestricted(n_cs: u32) -> Vec<u32> {
    assert!(n_cs <= N_ZC, "N_CS {n_cs} exceeds N_ZC");
    if n_cs == 0 {
        return vec![0];
    }
    (0..N_ZC / n_cs).map(|v| v * n_cs).collect()
}

/// One preamble of a cell's set: its root and cyclic shift.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreambleSeq {
    /// Logical root sequence index 0..837 the preamble is taken from.
    pub logical_root: u32,
    /// Physical Zadoff-Chu root `u` (Table 5.7.2-4).
    pub root: u32,
    /// Cyclic shift `C_v`, samples of the 839-sequence.
    pub cyclic_shift: u32,
}

/// The root and cyclic shift of preamble `preamble_index` of a cell with
/// `rootSequenceIndex = root_sequence_index` and cyclic-shift step `n_cs`, unrestricted set
/// (5.7.2): the shifts of the first logical root in increasing order, then those of the next
/// logical roots (837 is followed by 0).
///
/// # Panics
/// If `root_sequence_index > 837`, `n_cs > 839` or `preamble_index > 63`.
pub fn preamble_sequence(root_sequence_index: u32, n_cs: u32, preamble_index: u32) -> PreambleSeq {
    assert!(
        preamble_index < N_PREAMBLES,
        "preamble index {preamble_index} outside 0..63"
    );
    assert!(
        root_sequence_index < N_LOGICAL_ROOTS,
        "root sequence index {root_sequence_index} outside 0..837"
    );
    let shifts = cyclic_shifts_unrestricted(n_cs);
    let per_root = shifts.len() as u32;
    let logical_root = (root_sequence_index + preamble_index / per_root) % N_LOGICAL_ROOTS;
    PreambleSeq {
        logical_root,
        root: physical_root(logical_root),
        cyclic_shift: shifts[(preamble_index % per_root) as usize],
    }
}

/// `k0 = n_PRB_RA N_sc_RB - N_RB_UL N_sc_RB / 2` (5.7.3), in 15 kHz subcarriers.
pub fn k0(n_prb_ra: u32, n_rb_ul: u32) -> i64 {
    let n_sc = N_SC_RB as i64;
    n_prb_ra as i64 * n_sc - n_rb_ul as i64 * n_sc / 2
}

/// Index of the first PRACH subcarrier (`k = 0`) on the 1.25 kHz grid about the carrier
/// centre: `phi + K (k0 + 1/2) = 12 k0 + 13` (5.7.3; an integer because `K` is even). Tone `k`
/// is at `(first_subcarrier(..) + k) x 1250 Hz`.
pub fn first_subcarrier(n_prb_ra: u32, n_rb_ul: u32) -> i64 {
    PHI + K * k0(n_prb_ra, n_rb_ul) + K / 2
}

/// Frequency-domain preamble `X_{u,v}(k) = sum_n x_u((n + C_v) mod 839) e^{-j 2 pi n k / 839}`,
/// k = 0..838 (the inner sum of 5.7.3), computed as an exact direct DFT: every phase is
/// reduced to an integer multiple of `2 pi / 839` before it is evaluated, so the only error is
/// the rounding of the 839-term sums (~1e-13). `|X_{u,v}(k)| = sqrt(839)` for every k.
///
/// # Panics
/// If `u` is not in `1..=838` or `c_v > 838`.
pub fn preamble_spectrum(u: u32, c_v: u32) -> Vec<Complex64> {
    assert!(u > 0 && u < N_ZC, "ZC root {u} outside 1..838");
    assert!(c_v < N_ZC, "cyclic shift {c_v} outside 0..838");
    let n = N_ZC as u64;
    // w[i] = exp(-j 2 pi i / N).
    let w: Vec<Complex64> = (0..n)
        .map(|i| Complex64::from_polar(1.0, -2.0 * PI * i as f64 / n as f64))
        .collect();
    // x_u(m) = exp(-j pi u m (m+1) / N) = w[u m (m+1)/2 mod N]  (m (m+1) is even).
    let x_exp: Vec<u64> = (0..n)
        .map(|i| {
            let m = (i + c_v as u64) % n;
            (u as u64 * ((m * (m + 1) / 2) % n)) % n
        })
        .collect();
    (0..n)
        .map(|k| {
            x_exp
                .iter()
                .enumerate()
                .map(|(i, &e)| w[((e + i as u64 * k) % n) as usize])
                .sum()
        })
        .collect()
}

/// Configuration of one PRACH preamble transmission (formats 0-3, FDD, unrestricted set).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrachConfig {
    /// Preamble format 0..3 (Table 5.7.1-1).
    pub format: u8,
    /// LTE carrier bandwidth, MHz: 1.4, 3, 5, 10, 15 or 20 (gives `N_RB_UL`).
    pub bandwidth_mhz: f64,
    /// `prach-FrequencyOffset` `n_PRB_offset_RA`: first PRB of the preamble,
    /// `0..=N_RB_UL - 6` (5.7.1; for FDD formats 0-3 `n_PRB_RA` equals it).
    pub prach_freq_offset: u32,
    /// `rootSequenceIndex`, logical root 0..837 (Table 5.7.2-4).
    pub root_sequence_index: u32,
    /// `zeroCorrelationZoneConfig` 0..15 (Table 5.7.2-2, unrestricted set).
    pub zero_correlation_zone_config: u8,
    /// Preamble index 0..63 in the cell's set (5.7.2).
    pub preamble_index: u32,
}

impl Default for PrachConfig {
    /// A 10 MHz cell with `prach-FrequencyOffset` 4, `rootSequenceIndex` 128,
    /// `zeroCorrelationZoneConfig` 5 (N_CS = 26), preamble 0, format 0.
    fn default() -> Self {
        PrachConfig {
            format: 0,
            bandwidth_mhz: 10.0,
            prach_freq_offset: 4,
            root_sequence_index: 128,
            zero_correlation_zone_config: 5,
            preamble_index: 0,
        }
    }
}

impl PrachConfig {
    /// Checks every parameter against the clause.
    pub fn validate(&self) -> Result<(), SynthError> {
        if format_lengths_ts(self.format).is_none() {
            return Err(SynthError::param(
                GENERATOR,
                "format",
                self.format,
                "0, 1, 2 or 3",
            ));
        }
        let n_rb_ul = n_rb_for_bandwidth_mhz(self.bandwidth_mhz).ok_or_else(|| {
            SynthError::param(
                GENERATOR,
                "bandwidth_mhz",
                self.bandwidth_mhz,
                "1.4, 3, 5, 10, 15 or 20",
            )
        })?;
        if self.prach_freq_offset + N_RB_RA > n_rb_ul {
            return Err(SynthError::param(
                GENERATOR,
                "prach_freq_offset",
                self.prach_freq_offset,
                format!("0..={} for {} PRB", n_rb_ul - N_RB_RA, n_rb_ul),
            ));
        }
        if self.root_sequence_index >= N_LOGICAL_ROOTS {
            return Err(SynthError::param(
                GENERATOR,
                "root_sequence_index",
                self.root_sequence_index,
                "0..=837",
            ));
        }
        if n_cs_unrestricted(self.zero_correlation_zone_config).is_none() {
            return Err(SynthError::param(
                GENERATOR,
                "zero_correlation_zone_config",
                self.zero_correlation_zone_config,
                "0..=15",
            ));
        }
        if self.preamble_index >= N_PREAMBLES {
            return Err(SynthError::param(
                GENERATOR,
                "preamble_index",
                self.preamble_index,
                "0..=63",
            ));
        }
        Ok(())
    }

    /// Generates the preamble: one [`Segment`] of `T_CP + T_SEQ` holding the 839 tones of
    /// 5.7.3 with `t_ref_s = T_CP`, normalised to unit mean power (`beta_PRACH` is that
    /// normalisation), frequencies about the LTE carrier centre.
    ///
    /// The truth says `tech = lte-m`: an LTE-M device and a phone send the same PRACH, so the
    /// waveform cannot tell them apart; the scenario decides what it models.
    pub fn generate(&self) -> Result<SynthBurst, SynthError> {
        self.validate()?;
        let (t_cp, t_seq) = format_lengths_ts(self.format)
            .ok_or_else(|| SynthError::param(GENERATOR, "format", self.format, "0, 1, 2 or 3"))?;
        let n_rb_ul = n_rb_for_bandwidth_mhz(self.bandwidth_mhz).ok_or_else(|| {
            SynthError::param(
                GENERATOR,
                "bandwidth_mhz",
                self.bandwidth_mhz,
                "1.4, 3, 5, 10, 15 or 20",
            )
        })?;
        let n_cs = n_cs_unrestricted(self.zero_correlation_zone_config).ok_or_else(|| {
            SynthError::param(
                GENERATOR,
                "zero_correlation_zone_config",
                self.zero_correlation_zone_config,
                "0..=15",
            )
        })?;
        let pre = preamble_sequence(self.root_sequence_index, n_cs, self.preamble_index);
        let spectrum = preamble_spectrum(pre.root, pre.cyclic_shift);
        let b0 = first_subcarrier(self.prach_freq_offset, n_rb_ul);
        let tones = spectrum
            .iter()
            .enumerate()
            .map(|(k, &coeff)| Tone {
                freq_hz: (b0 + k as i64) as f64 * DELTA_F_RA_HZ,
                coeff,
            })
            .collect();
        let mut signal = Burst {
            segments: vec![Segment {
                start_s: 0.0,
                len_s: ts_s(t_cp + t_seq),
                t_ref_s: ts_s(t_cp),
                tones,
            }],
        };
        normalise(&mut signal);

        let mut params = serde_json::Map::new();
        params.insert("format".into(), json!(self.format));
        params.insert("root".into(), json!(pre.root));
        params.insert("logical_root".into(), json!(pre.logical_root));
        params.insert("cyclic_shift".into(), json!(pre.cyclic_shift));
        params.insert("preamble_index".into(), json!(self.preamble_index));
        params.insert("n_cs".into(), json!(n_cs));
        params.insert("prach_freq_offset".into(), json!(self.prach_freq_offset));
        params.insert("n_rb_ul".into(), json!(n_rb_ul));
        params.insert("bandwidth_mhz".into(), json!(self.bandwidth_mhz));
        params.insert(
            "root_sequence_index".into(),
            json!(self.root_sequence_index),
        );
        params.insert(
            "zero_correlation_zone_config".into(),
            json!(self.zero_correlation_zone_config),
        );

        let centre = (b0 as f64 + (N_ZC - 1) as f64 / 2.0) * DELTA_F_RA_HZ;
        Ok(SynthBurst {
            signal,
            kind: Kind::Prach,
            tech: Tech::LteM,
            center_hz: centre,
            bandwidth_hz: OCCUPIED_BANDWIDTH_HZ,
            snr_bandwidth_hz: SNR_BANDWIDTH_HZ,
            params,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sequences::zadoff_chu;
    use num_complex::Complex32;
    use rustfft::FftPlanner;

    const FS_LOW: f64 = 1.92e6;
    const FS_HIGH: f64 = 30.72e6;

    fn c64(v: Complex32) -> Complex64 {
        Complex64::new(v.re as f64, v.im as f64)
    }

    fn fft(x: &[Complex64]) -> Vec<Complex64> {
        let mut y = x.to_vec();
        FftPlanner::new().plan_fft_forward(y.len()).process(&mut y);
        y
    }

    /// Naive DFT in f64 straight from the definition (the oracle).
    fn naive_dft(x: &[Complex64]) -> Vec<Complex64> {
        let n = x.len();
        (0..n)
            .map(|k| {
                x.iter()
                    .enumerate()
                    .map(|(i, &v)| {
                        v * Complex64::from_polar(1.0, -2.0 * PI * ((i * k) % n) as f64 / n as f64)
                    })
                    .sum()
            })
            .collect()
    }

    /// x_{u,v}(n) from the crate's independent ZC generator.
    fn x_uv(u: u32, c_v: u32) -> Vec<Complex64> {
        let x = zadoff_chu(u, 839);
        (0..839).map(|n| x[(n + c_v as usize) % 839]).collect()
    }

    fn cfg(bw: f64, off: u32) -> PrachConfig {
        PrachConfig {
            bandwidth_mhz: bw,
            prach_freq_offset: off,
            ..PrachConfig::default()
        }
    }

    #[test]
    fn spectrum_is_the_dft_of_the_shifted_zc() {
        for &(u, c_v) in &[(129u32, 0u32), (710, 130), (1, 838), (419, 26)] {
            let x = preamble_spectrum(u, c_v);
            let want = naive_dft(&x_uv(u, c_v));
            for k in 0..839 {
                assert!((x[k] - want[k]).norm() < 1e-9, "u={u} c={c_v} k={k}");
                assert!((x[k].norm() - 839f64.sqrt()).abs() < 1e-9);
            }
            // Closed form: X_{u,v}(k) = e^{j 2 pi C_v k / N} X_u(0) conj(x_u(u^-1 k mod N)).
            let xu = zadoff_chu(u, 839);
            let x0: Complex64 = xu.iter().sum();
            let u_inv = (1..839u64).find(|&a| (a * u as u64) % 839 == 1).unwrap();
            for k in 0..839u64 {
                let want = Complex64::from_polar(1.0, 2.0 * PI * (c_v as u64 * k) as f64 / 839.0)
                    * x0
                    * xu[((u_inv * k) % 839) as usize].conj();
                assert!((x[k as usize] - want).norm() < 1e-9);
            }
        }
    }

    #[test]
    fn root_table_spot_values_and_pairs() {
        // Hand-read from Table 5.7.2-4.
        for &(l, u) in &[
            (0, 129),
            (1, 710),
            (20, 2),
            (21, 837),
            (22, 1),
            (23, 838),
            (836, 229),
            (837, 610),
        ] {
            assert_eq!(physical_root(l), u, "logical {l}");
        }
        // Consecutive pairs are conjugate roots, u + u' = 839, and the table is a permutation
        // of 1..838.
        let mut seen = [false; 839];
        for l in (0..838).step_by(2) {
            assert_eq!(physical_root(l) + physical_root(l + 1), 839, "pair at {l}");
        }
        for l in 0..838 {
            let u = physical_root(l) as usize;
            assert!((1..839).contains(&u) && !seen[u]);
            seen[u] = true;
        }
    }

    #[test]
    fn preamble_set_enumeration() {
        assert_eq!(cyclic_shifts_unrestricted(0), vec![0]);
        assert_eq!(cyclic_shifts_unrestricted(13).len(), 64); // floor(839/13) = 64
        assert_eq!(cyclic_shifts_unrestricted(279), vec![0, 279, 558]);
        assert_eq!(cyclic_shifts_unrestricted(419), vec![0, 419]);
        // Hand-worked: rootSequenceIndex 0, N_CS 26 -> 32 shifts per root; preamble 37 is
        // logical root 1 (u = 710), v = 5, C_v = 130.
        let p = preamble_sequence(0, 26, 37);
        assert_eq!((p.logical_root, p.root, p.cyclic_shift), (1, 710, 130));
        // N_CS = 0: one preamble per root, logical order wraps 837 -> 0.
        let p = preamble_sequence(837, 0, 1);
        assert_eq!((p.logical_root, p.root, p.cyclic_shift), (0, 129, 0));
        // N_CS = 419: two per root, preamble 63 -> root +31, C_v = 419.
        let p = preamble_sequence(100, 419, 63);
        assert_eq!((p.logical_root, p.cyclic_shift), (131, 419));
        // All 64 preambles distinct for every N_CS, with C_v a multiple of N_CS.
        for zc in 0..16u8 {
            let n_cs = n_cs_unrestricted(zc).unwrap();
            let mut set: Vec<_> = (0..64)
                .map(|i| {
                    let p = preamble_sequence(830, n_cs, i);
                    assert!(n_cs == 0 && p.cyclic_shift == 0 || p.cyclic_shift % n_cs == 0);
                    (p.root, p.cyclic_shift)
                })
                .collect();
            set.sort();
            set.dedup();
            assert_eq!(set.len(), 64, "zczc {zc}");
        }
    }

    #[test]
    fn critical_sampling_gives_the_constant_envelope_zc() {
        // Sampled at 839 x 1250 Hz in step with T_CP, s(T_CP + n/fs) must equal
        // x_{u,v}(n) e^{j 2 pi b n / 839}, b = first subcarrier (unit power after
        // normalisation): constant envelope, PAPR 0 dB.
        let fs = 839.0 * 1250.0;
        for &(format, bw, off, zczc, pidx) in &[
            (0u8, 10.0, 4u32, 5u8, 37u32),
            (2, 1.4, 0, 13, 5),
            (3, 20.0, 94, 0, 63),
        ] {
            let c = PrachConfig {
                format,
                bandwidth_mhz: bw,
                prach_freq_offset: off,
                root_sequence_index: 0,
                zero_correlation_zone_config: zczc,
                preamble_index: pidx,
            };
            let sb = c.generate().unwrap();
            let (t_cp, t_seq) = format_lengths_ts(format).unwrap();
            let t_cp_samples = t_cp as f64 / 30.72e6 * fs;
            let i0 = t_cp_samples.ceil();
            let periods = (t_seq / 24576) as usize;
            let mut out = vec![Complex32::new(0.0, 0.0); i0 as usize + 839 * periods];
            sb.signal.render_add(
                &mut out,
                0,
                fs,
                i0 - t_cp_samples,
                0.0,
                Complex64::new(1.0, 0.0),
            );
            let u = sb.params["root"].as_u64().unwrap() as u32;
            let c_v = sb.params["cyclic_shift"].as_u64().unwrap() as u32;
            let x = x_uv(u, c_v);
            let b = first_subcarrier(off, n_rb_for_bandwidth_mhz(bw).unwrap());
            for (n, v) in out[i0 as usize..].iter().enumerate() {
                let ramp = Complex64::from_polar(
                    1.0,
                    2.0 * PI * (b * n as i64).rem_euclid(839) as f64 / 839.0,
                );
                let want = x[n % 839] * ramp;
                assert!((c64(*v) - want).norm() < 1e-4, "format {format} n={n}");
            }
        }
    }

    #[test]
    fn oversampled_envelope_is_the_interpolated_zc() {
        // At 30.72 MS/s the sequence part is the 24576-point inverse DFT of X placed on the
        // 1.25 kHz grid (an oracle through rustfft, not the renderer). Its PAPR is not 0 dB:
        // numpy gives 4.50 dB for u = 129 and 2.59 dB for u = 1 (C_v = 0).
        for &(rsi, want_papr_db) in &[(0u32, 4.504), (22, 2.587)] {
            let c = PrachConfig {
                root_sequence_index: rsi,
                zero_correlation_zone_config: 1,
                ..cfg(1.4, 0)
            };
            let sb = c.generate().unwrap();
            let x = sb.signal.render(FS_HIGH);
            assert_eq!(x.len(), 27744);
            let seq: Vec<Complex64> = x[3168..].iter().map(|&v| c64(v)).collect();
            let spec = preamble_spectrum(physical_root(rsi), 0);
            let b = first_subcarrier(0, 6);
            let mut grid = vec![Complex64::new(0.0, 0.0); 24576];
            for (k, &v) in spec.iter().enumerate() {
                grid[(b + k as i64).rem_euclid(24576) as usize] = v / 839.0;
            }
            let mut planner = FftPlanner::new();
            planner.plan_fft_inverse(24576).process(&mut grid);
            for (a, w) in seq.iter().zip(&grid) {
                assert!((a - w).norm() < 1e-4);
            }
            let p: Vec<f64> = x.iter().map(|v| c64(*v).norm_sqr()).collect();
            let mean = p.iter().sum::<f64>() / p.len() as f64;
            let peak = p.iter().cloned().fold(0.0, f64::max);
            let papr = 10.0 * (peak / mean).log10();
            assert!((papr - want_papr_db).abs() < 0.05, "rsi {rsi}: {papr} dB");
            assert!((mean - 1.0).abs() < 0.01, "mean power {mean}");
        }
    }

    /// Occupied 1.25 kHz bins of the sequence part (first period) at `fs` with an FFT of
    /// 24576 Ts, as signed bin indices in ascending order.
    fn occupied_bins(sb: &SynthBurst, format: u8, fs: f64) -> Vec<i64> {
        let (t_cp, _) = format_lengths_ts(format).unwrap();
        let dec = (30.72e6 / fs) as u32;
        let (ncp, nfft) = ((t_cp / dec) as usize, (24576 / dec) as usize);
        let x = sb.signal.render(fs);
        let seq: Vec<Complex64> = x[ncp..ncp + nfft].iter().map(|&v| c64(v)).collect();
        let y = fft(&seq);
        let p: Vec<f64> = y.iter().map(|v| v.norm_sqr()).collect();
        let max = p.iter().cloned().fold(0.0, f64::max);
        let mut bins: Vec<i64> = (0..nfft)
            .filter(|&i| p[i] > 1e-3 * max)
            .map(|i| {
                if i < nfft / 2 {
                    i as i64
                } else {
                    i as i64 - nfft as i64
                }
            })
            .collect();
        bins.sort();
        bins
    }

    #[test]
    fn band_position_and_width() {
        // Hand-worked from 5.7.3: the 6 PRB from PRB n start at (12 n - 6 N_RB) x 15 kHz;
        // the first tone is 13 x 1.25 kHz = 16.25 kHz above that, the last 838 tones higher.
        for &(bw, off, first_hz) in &[
            (1.4, 0u32, -523_750.0), // 6 PRB: -540 kHz + 16.25 kHz (centred on DC)
            (3.0, 0, -1_333_750.0),  // 15 PRB: -1.35 MHz + 16.25 kHz
            (3.0, 9, 286_250.0),     // (108 - 90) x 15 kHz = 270 kHz
            (10.0, 4, -3_763_750.0), // (48 - 300) x 15 kHz = -3.78 MHz
            (10.0, 44, 3_436_250.0), // (528 - 300) x 15 kHz = 3.42 MHz
            (20.0, 94, 7_936_250.0), // (1128 - 600) x 15 kHz = 7.92 MHz
        ] {
            let sb = cfg(bw, off).generate().unwrap();
            let first = (first_hz / 1250.0) as i64;
            // 30.72 MS/s: the absolute position.
            let bins = occupied_bins(&sb, 0, FS_HIGH);
            assert_eq!(bins.len(), 839, "{bw} MHz off {off}");
            assert_eq!(bins[0], first, "{bw} MHz off {off}");
            assert_eq!(bins[838], first + 838);
            let centre = (bins[0] + bins[838]) as f64 / 2.0 * 1250.0;
            assert!((sb.center_hz - centre).abs() < 1e-6);
            assert_eq!(sb.bandwidth_hz, 839.0 * 1250.0);
            // 1.92 MS/s (1536-point FFT): 839 bins, the same ones modulo 1536 (aliased when
            // the carrier is wider than 1.92 MHz).
            let low = occupied_bins(&sb, 0, FS_LOW);
            assert_eq!(low.len(), 839);
            let mut want: Vec<i64> = (0..839)
                .map(|k| {
                    let b = (first + k).rem_euclid(1536);
                    if b < 768 {
                        b
                    } else {
                        b - 1536
                    }
                })
                .collect();
            want.sort();
            assert_eq!(low, want, "{bw} MHz off {off}");
        }
    }

    #[test]
    fn lengths_and_cyclic_prefix() {
        // Table 5.7.1-1 in samples: Ts / 16 at 1.92 MS/s, Ts at 30.72 MS/s.
        for &(format, cp_low, seq_low) in &[
            (0u8, 198usize, 1536usize),
            (1, 1314, 1536),
            (2, 390, 3072),
            (3, 1314, 3072),
        ] {
            let c = PrachConfig {
                format,
                ..PrachConfig::default()
            };
            let sb = c.generate().unwrap();
            for &(fs, mult) in &[(FS_LOW, 1usize), (FS_HIGH, 16)] {
                let (ncp, nseq) = (cp_low * mult, seq_low * mult);
                // Render into a longer buffer: nothing before 0 or after the end.
                let mut out = vec![Complex32::new(0.0, 0.0); ncp + nseq + 64];
                sb.signal
                    .render_add(&mut out, -32, fs, 0.0, 0.0, Complex64::new(1.0, 0.0));
                assert!(out[..32].iter().all(|v| v.norm() == 0.0));
                assert!(out[32 + ncp + nseq..].iter().all(|v| v.norm() == 0.0));
                assert!(out[32].norm() > 0.0 && out[31 + ncp + nseq].norm() > 0.0);
                // `render` sizes its output as ceil(duration * fs).
                let n_render = (sb.signal.duration_s() * fs).ceil() as usize;
                assert_eq!(n_render, ncp + nseq, "format {format}");
                // The CP is the last T_CP of the sequence part.
                let x = &out[32..32 + ncp + nseq];
                for i in 0..ncp {
                    assert!((x[i] - x[nseq + i]).norm() < 1e-4, "format {format} i={i}");
                }
                // And it is not trivially so: the sequence part is not periodic in T_CP.
                assert!((x[ncp] - x[0]).norm() > 1e-3);
            }
        }
    }

    #[test]
    fn root_recovery_by_correlation() {
        // rootSequenceIndex 0, zeroCorrelationZoneConfig 5 (N_CS 26), preamble 37:
        // u = 710, C_v = 130 (hand-worked).
        let c = PrachConfig {
            format: 1,
            bandwidth_mhz: 5.0,
            prach_freq_offset: 7,
            root_sequence_index: 0,
            zero_correlation_zone_config: 5,
            preamble_index: 37,
        };
        let sb = c.generate().unwrap();
        assert_eq!(sb.params["root"], 710);
        assert_eq!(sb.params["cyclic_shift"], 130);
        // Receiver: drop the CP at 1.92 MS/s, 1536-point FFT, take the 839 bins.
        let x = sb.signal.render(FS_LOW);
        let seq: Vec<Complex64> = x[1314..1314 + 1536].iter().map(|&v| c64(v)).collect();
        let y = fft(&seq);
        // (7 x 12 - 150) x 12 + 13 = -779.
        let first = -779i64;
        let rx: Vec<Complex64> = (0..839)
            .map(|k| y[(first + k).rem_euclid(1536) as usize])
            .collect();
        let correlate = |u: u32| -> Vec<f64> {
            let xu = naive_dft(&zadoff_chu(u, 839));
            let z: Vec<Complex64> = rx.iter().zip(&xu).map(|(a, b)| a * b.conj()).collect();
            // z(k) = c N e^{j 2 pi C_v k / N}: its DFT sum_k z(k) e^{-j 2 pi k m / N} peaks
            // at m = C_v.
            naive_dft(&z).iter().map(|v| v.norm()).collect()
        };
        let r = correlate(710);
        let (m, peak) = r
            .iter()
            .enumerate()
            .fold((0, 0.0), |a, (i, &v)| if v > a.1 { (i, v) } else { a });
        assert_eq!(m, 130);
        assert!(r
            .iter()
            .enumerate()
            .all(|(i, &v)| i == m || v < 1e-3 * peak));
        for u in [129u32, 129 + 1, 1, 838, 419] {
            let other = correlate(u);
            let max = other.iter().cloned().fold(0.0, f64::max);
            assert!(max < 3.0 / 839f64.sqrt() * peak, "root {u}: {}", max / peak);
        }
    }

    #[test]
    fn truth_record() {
        let sb = PrachConfig::default().generate().unwrap();
        assert_eq!(sb.kind, Kind::Prach);
        assert_eq!(sb.tech, Tech::LteM);
        assert_eq!(sb.snr_bandwidth_hz, 1.08e6);
        assert!((sb.signal.nominal_power() - 1.0).abs() < 1e-12);
        assert_eq!(sb.signal.segments.len(), 1);
        assert_eq!(sb.signal.segments[0].tones.len(), 839);
        // Default: rootSequenceIndex 128 -> u = 179 (Table 5.7.2-4), N_CS 26, preamble 0.
        for (k, v) in [
            ("format", json!(0)),
            ("root", json!(179)),
            ("logical_root", json!(128)),
            ("cyclic_shift", json!(0)),
            ("preamble_index", json!(0)),
            ("n_cs", json!(26)),
            ("prach_freq_offset", json!(4)),
            ("n_rb_ul", json!(50)),
        ] {
            assert_eq!(sb.params[k], v, "{k}");
        }
        // (4 x 12 - 300) x 15 kHz + 540 kHz = -3.24 MHz: the centre of PRB 4..9.
        assert!((sb.center_hz + 3.24e6).abs() < 1e-6);
    }

    #[test]
    fn validation_errors() {
        assert_eq!(PrachConfig::default().validate(), Ok(()));
        let bad = [
            PrachConfig {
                format: 4,
                ..Default::default()
            },
            PrachConfig {
                bandwidth_mhz: 7.0,
                ..Default::default()
            },
            PrachConfig {
                prach_freq_offset: 45,
                ..Default::default()
            },
            PrachConfig {
                bandwidth_mhz: 1.4,
                prach_freq_offset: 1,
                ..Default::default()
            },
            PrachConfig {
                root_sequence_index: 838,
                ..Default::default()
            },
            PrachConfig {
                zero_correlation_zone_config: 16,
                ..Default::default()
            },
            PrachConfig {
                preamble_index: 64,
                ..Default::default()
            },
        ];
        let names = [
            "format",
            "bandwidth_mhz",
            "prach_freq_offset",
            "prach_freq_offset",
            "root_sequence_index",
            "zero_correlation_zone_config",
            "preamble_index",
        ];
        for (c, name) in bad.iter().zip(names) {
            let e = c.validate().unwrap_err();
            assert!(matches!(&e, SynthError::Param { param, .. } if *param == name));
            assert!(c.generate().is_err());
            let msg = e.to_string();
            assert!(msg.contains(name) && !msg.contains('{'), "{msg}");
        }
        // The last valid offset of a 10 MHz carrier is 44; 1.4 MHz allows only 0.
        assert!(cfg(10.0, 44).validate().is_ok());
        assert!(cfg(1.4, 0).validate().is_ok());
        // Scenario files: defaults fill in, unknown fields are refused.
        let c: PrachConfig = serde_json::from_str(r#"{"format": 2}"#).unwrap();
        assert_eq!(c.format, 2);
        assert_eq!(c.root_sequence_index, 128);
        assert!(serde_json::from_str::<PrachConfig>(r#"{"root": 3}"#).is_err());
    }
}
