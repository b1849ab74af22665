//! NB-IoT random-access preamble (NPRACH), TS 36.211 clause 10.1.6, frame structure type 1.
//!
//! # The waveform
//!
//! A preamble is `N_rep` repetitions of a *preamble repetition unit* of `P` symbol groups
//! (10.1.6.1). A symbol group is one pure tone: a cyclic prefix of `T_CP` followed by `N`
//! identical symbols of `1 / Δf_RA` (total `T_SEQ`), so the tone runs phase-continuously
//! through the whole group. The groups follow each other without gaps (frame structure type
//! 1 has `G = P`), except that after every 64 repetitions (formats 0 and 1) or 16 repetitions
//! (format 2) a gap of 40 ms is inserted when more repetitions follow.
//!
//! | format | release | P = G | N | T_CP (Ts) | T_SEQ (Ts) | group | Δf_RA | N_sc^RA | hops in a unit |
//! |---|---|---|---|---|---|---|---|---|---|
//! | 0 | 13 | 4 | 5 | 2048 | 5 x 8192 | 1.4 ms | 3.75 kHz | 12 | ±1, ±6, ∓1 |
//! | 1 | 13 | 4 | 5 | 8192 | 5 x 8192 | 1.6 ms | 3.75 kHz | 12 | ±1, ±6, ∓1 |
//! | 2 | 15 | 6 | 3 | 24576 | 3 x 24576 | 3.2 ms | 1.25 kHz | 36 | ±1, ±3, ±18, ∓3, ∓1 |
//!
//! (Tables 10.1.6.1-1 and 10.1.6.2-1; T_CP of format 2 is not legible in the copy of the
//! table we could read: see [`FormatParams::of`].)
//!
//! # Frequency hopping (10.1.6.1)
//!
//! Group `i` uses subcarrier `n_sc_RA(i) = n_start + ñ(i)` of the `Δf_RA` grid, with
//! `n_start = nprach-SubcarrierOffset + floor(n_init / N_sc^RA) N_sc^RA` and
//! `ñ(0) = n_init mod N_sc^RA`. Inside a repetition unit `ñ` hops by fixed rules (parity of
//! the previous index); the first group of every later unit is `(ñ(0) + f(i/P)) mod N_sc^RA`
//! with
//!
//! ```text
//!   f(t) = ( f(t-1) + (sum_{n=10t+1}^{10t+9} c(n) 2^{n-(10t+1)}) mod (N_sc^RA - 1) + 1 ) mod N_sc^RA,
//!   f(-1) = 0,
//! ```
//!
//! `c(n)` the Gold sequence of 7.2 initialised with `c_init = N_ID^Ncell`. Read literally the
//! clause never uses `f(0)` (the second unit uses `f(1)`); at least one public
//! implementation uses `f(i/P - 1)` instead. [`HopConvention`] selects either, so a detector
//! can be tested on both. A detector should not depend on the inter-repetition hop at all: the
//! hops inside a unit are fixed.
//!
//! # Baseband (10.1.6.2)
//!
//! ```text
//!   s_i(t) = β e^{j 2π (n_sc_RA(i) + K k0 + 1/2) Δf_RA (t - T_CP)},   0 <= t < T_CP + T_SEQ,
//!   K = Δf / Δf_RA,  k0 = -N_sc^UL / 2.
//! ```
//!
//! `Δf` and `N_sc^UL` are those of the cell's NB-IoT uplink (10.1.2: 12 subcarriers of 15 kHz
//! or 48 of 3.75 kHz). Both give the same `K k0 Δf_RA = -Δf N_sc^UL / 2 = -90 kHz`, so the tone
//! of subcarrier `n` is `(n + 1/2) Δf_RA - 90 kHz` from the NB-IoT carrier centre whatever the
//! cell's uplink spacing: `(n - 23.5) x 3.75 kHz` for formats 0/1 (n = 0..47, ±88.125 kHz),
//! `(n - 71.5) x 1.25 kHz` for format 2 (n = 0..143).
//!
//! Each group is defined with its own time origin and its phase is zero at the end of its
//! CP (`t = T_CP`); the clause says nothing about phase continuity *between* groups, so we
//! take the formula literally: every group is one [`Segment`] with `t_ref_s` at the end of its
//! CP and a real coefficient `β` (normalised to unit mean power). The phase therefore jumps
//! between groups in general, as it may in a real UE. Within a group the signal is one
//! complex exponential over `[0, T_CP + T_SEQ)`, hence phase continuous; because of the
//! half-subcarrier shift each of its `N` symbols is the previous one times `e^{jπ} = -1`
//! (`f T_sym = n + K k0 + 1/2`), and the CP is the continuation of the tone backwards.
//!
//! # Detection
//!
//! A 3.75 kHz (1.25 kHz) wide tone on a fixed 1.4 / 1.6 / 3.2 ms grid that jumps by exactly
//! one and six (one, three and eighteen) subcarriers inside each repetition unit; the CP
//! makes the signal correlate with itself at a lag of one symbol (8192 or 24576 Ts).

use super::{normalise, Kind, SynthBurst, SynthError, Tech};
use crate::sequences::gold;
use crate::signal::{Burst, Segment, Tone};
use num_complex::Complex64;
use serde::{Deserialize, Serialize};

const GEN: &str = "nprach";

/// Ts per second (TS 36.211 4: `Ts = 1 / 30.72 MHz`).
const TS_PER_S: f64 = 30_720_000.0;

/// Gap inserted after 64 (formats 0/1) or 16 (format 2) repetitions when more follow,
/// `40 x 30720 Ts` = 40 ms (10.1.6.1, frame structure type 1).
pub const GAP_TS: u64 = 40 * 30_720;

/// Half the NB-IoT carrier, Hz: `-K k0 Δf_RA = Δf N_sc^UL / 2` for either uplink spacing.
const HALF_CARRIER_HZ: f64 = 90_000.0;

/// Segment boundaries (except the burst start) are placed this many Ts early, 33 fs, so that
/// a sample that falls exactly on a group boundary at a rate whose sample instants contain
/// the boundary (1.92 ... 30.72 MS/s) is given to the group that starts there whatever the
/// floating-point rounding of `start_s x fs` (the renderer takes `ceil`). The tones' phase
/// reference `t_ref_s` is not moved, so every sample value is exact.
const BOUNDARY_EPS_TS: f64 = 1e-3;

/// Rel-13 `nprach-SubcarrierOffset-r13` values (TS 36.331), for formats 0 and 1.
pub const SUBCARRIER_OFFSETS_FMT01: [u32; 7] = [0, 2, 12, 18, 24, 34, 36];

/// Rel-15 `nprach-SubcarrierOffset` values for format 2, in 1.25 kHz subcarriers.
pub const SUBCARRIER_OFFSETS_FMT2: [u32; 16] = [
    0, 6, 12, 18, 24, 36, 42, 48, 54, 60, 72, 78, 84, 90, 102, 108,
];

/// `numRepetitionsPerPreambleAttempt` values.
pub const REPETITIONS: [u32; 8] = [1, 2, 4, 8, 16, 32, 64, 128];

/// Largest narrowband physical cell identity `N_ID^Ncell`.
pub const MAX_CELL_ID: u32 = 503;

/// Which `f` starts the second and later repetition units (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HopConvention {
    /// `f(i/P)` with `f(-1) = 0`, as 10.1.6.1 reads: unit `r >= 1` starts at `ñ(0) + f(r)`.
    #[default]
    Clause,
    /// `f(i/P - 1)`: unit `r >= 1` starts at `ñ(0) + f(r - 1)` (seen in a public
    /// implementation; not the clause).
    Alt,
}

impl HopConvention {
    /// The name used in configurations and `params`: `clause` or `alt`.
    pub fn as_str(self) -> &'static str {
        match self {
            HopConvention::Clause => "clause",
            HopConvention::Alt => "alt",
        }
    }
}

/// Parameters of one preamble format for frame structure type 1 (Tables 10.1.6.1-1 and
/// 10.1.6.2-1, and the hopping and gap rules of 10.1.6.1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FormatParams {
    /// Preamble format, 0, 1 or 2.
    pub format: u8,
    /// Symbol groups per repetition unit, `P` (= `G` for frame structure type 1).
    pub groups_per_unit: usize,
    /// Identical symbols per group, `N`.
    pub symbols_per_group: u32,
    /// Cyclic prefix `T_CP`, Ts.
    pub cp_ts: u64,
    /// Sequence part `T_SEQ = N / Δf_RA`, Ts.
    pub seq_ts: u64,
    /// Subcarrier spacing `Δf_RA`, Hz (Table 10.1.6.2-1).
    pub spacing_hz: f64,
    /// Subcarriers hopped over, `N_sc^RA` (12, or 36 for format 2).
    pub hop_subcarriers: u32,
    /// Subcarriers of `Δf_RA` in the 180 kHz carrier (48, or 144 for format 2): the bound
    /// on `nprach-SubcarrierOffset + nprach-NumSubcarriers`.
    pub grid_subcarriers: u32,
    /// Repetitions sent back to back before a 40 ms gap (64, or 16 for format 2).
    pub units_before_gap: u32,
}

impl FormatParams {
    /// The parameters of `format`, or `None` if it is not 0, 1 or 2.
    ///
    /// Format 2's `T_CP` = 24576 Ts (800 us) is from memory of the Rel-15 table (its cell
    /// is not legible in our copy); it equals one symbol, fits the 120 km range the format was
    /// made for and is what the symbol-group length of 3.2 ms implies.
    pub fn of(format: u8) -> Option<Self> {
        match format {
            0 | 1 => Some(FormatParams {
                format,
                groups_per_unit: 4,
                symbols_per_group: 5,
                cp_ts: if format == 0 { 2048 } else { 8192 },
                seq_ts: 5 * 8192,
                spacing_hz: 3750.0,
                hop_subcarriers: 12,
                grid_subcarriers: 48,
                units_before_gap: 64,
            }),
            2 => Some(FormatParams {
                format,
                groups_per_unit: 6,
                symbols_per_group: 3,
                cp_ts: 24576,
                seq_ts: 3 * 24576,
                spacing_hz: 1250.0,
                hop_subcarriers: 36,
                grid_subcarriers: 144,
                units_before_gap: 16,
            }),
            _ => None,
        }
    }

    /// Length of one symbol group `T_CP + T_SEQ`, Ts.
    pub fn group_ts(&self) -> u64 {
        self.cp_ts + self.seq_ts
    }

    /// Length of one symbol group, seconds.
    pub fn group_duration_s(&self) -> f64 {
        self.group_ts() as f64 / TS_PER_S
    }

    /// Length of one symbol `1 / Δf_RA`, Ts.
    pub fn symbol_ts(&self) -> u64 {
        self.seq_ts / self.symbols_per_group as u64
    }

    /// Start of symbol group `i` (0-based over the whole preamble) from the preamble start,
    /// Ts, counting the 40 ms gaps before it.
    pub fn group_start_ts(&self, i: usize) -> u64 {
        let gaps = (i / (self.groups_per_unit * self.units_before_gap as usize)) as u64;
        i as u64 * self.group_ts() + gaps * GAP_TS
    }

    /// Length of a preamble of `repetitions` units, gaps included, Ts.
    ///
    /// # Panics
    /// If `repetitions` is 0.
    pub fn preamble_ts(&self, repetitions: u32) -> u64 {
        assert!(repetitions > 0, "a preamble has at least one repetition");
        let n = repetitions as usize * self.groups_per_unit;
        self.group_start_ts(n - 1) + self.group_ts()
    }

    /// Baseband frequency of subcarrier `n_sc` of the `Δf_RA` grid relative to the NB-IoT
    /// carrier centre, Hz: `(n_sc + K k0 + 1/2) Δf_RA` (10.1.6.2).
    pub fn tone_hz(&self, n_sc: u32) -> f64 {
        (n_sc as f64 + 0.5) * self.spacing_hz - HALF_CARRIER_HZ
    }
}

/// Length of one symbol group of `format`, seconds, or `None` for an unknown format.
pub fn group_duration_s(format: u8) -> Option<f64> {
    FormatParams::of(format).map(|p| p.group_duration_s())
}

/// An NPRACH preamble transmission (TS 36.211 10.1.6, frame structure type 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NprachConfig {
    /// Preamble format: 0 or 1 (Rel-13, 3.75 kHz), 2 (Rel-15, 1.25 kHz).
    pub format: u8,
    /// Repetitions of the preamble unit `N_rep^NPRACH`: 1, 2, 4, ..., 128.
    pub repetitions: u32,
    /// `nprach-SubcarrierOffset` `N_scoffset^NPRACH`, in `Δf_RA` subcarriers: one of
    /// [`SUBCARRIER_OFFSETS_FMT01`] (formats 0/1) or [`SUBCARRIER_OFFSETS_FMT2`] (format 2).
    pub subcarrier_offset: u32,
    /// `nprach-NumSubcarriers` `N_sc^NPRACH`: 12, 24, 36, 48 (formats 0/1) or 36, 72, 108,
    /// 144 (format 2); `subcarrier_offset + n_subcarriers` must not exceed 48 (144).
    pub n_subcarriers: u32,
    /// Starting subcarrier chosen by the MAC, `n_init`, 0..n_subcarriers-1.
    pub n_init: u32,
    /// Narrowband physical cell identity `N_ID^Ncell`, 0..503 (seeds the hopping).
    pub cell_id: u32,
    /// Which `f` starts each later repetition unit.
    pub hop_convention: HopConvention,
}

impl Default for NprachConfig {
    fn default() -> Self {
        NprachConfig {
            format: 0,
            repetitions: 4,
            subcarrier_offset: 0,
            n_subcarriers: 12,
            n_init: 0,
            cell_id: 0,
            hop_convention: HopConvention::Clause,
        }
    }
}

impl NprachConfig {
    /// Checks every parameter against the sets the clause and RRC allow.
    pub fn validate(&self) -> Result<(), SynthError> {
        let p = FormatParams::of(self.format)
            .ok_or_else(|| SynthError::param(GEN, "format", self.format, "0, 1 or 2"))?;
        if !REPETITIONS.contains(&self.repetitions) {
            return Err(SynthError::param(
                GEN,
                "repetitions",
                self.repetitions,
                "1, 2, 4, 8, 16, 32, 64 or 128",
            ));
        }
        let (offsets, n_scs): (&[u32], [u32; 4]) = if self.format == 2 {
            (&SUBCARRIER_OFFSETS_FMT2, [36, 72, 108, 144])
        } else {
            (&SUBCARRIER_OFFSETS_FMT01, [12, 24, 36, 48])
        };
        if !offsets.contains(&self.subcarrier_offset) {
            return Err(SynthError::param(
                GEN,
                "subcarrier_offset",
                self.subcarrier_offset,
                format!("one of {offsets:?} for format {}", self.format),
            ));
        }
        if !n_scs.contains(&self.n_subcarriers) {
            return Err(SynthError::param(
                GEN,
                "n_subcarriers",
                self.n_subcarriers,
                format!("one of {n_scs:?} for format {}", self.format),
            ));
        }
        if self.subcarrier_offset + self.n_subcarriers > p.grid_subcarriers {
            return Err(SynthError::param(
                GEN,
                "subcarrier_offset + n_subcarriers",
                self.subcarrier_offset + self.n_subcarriers,
                format!("at most {} (10.1.6.1)", p.grid_subcarriers),
            ));
        }
        if self.n_init >= self.n_subcarriers {
            return Err(SynthError::param(
                GEN,
                "n_init",
                self.n_init,
                format!("0..={}", self.n_subcarriers - 1),
            ));
        }
        if self.cell_id > MAX_CELL_ID {
            return Err(SynthError::param(GEN, "cell_id", self.cell_id, "0..=503"));
        }
        Ok(())
    }

    /// The format's parameters.
    ///
    /// # Panics
    /// If `format` is not 0, 1 or 2 (call [`NprachConfig::validate`] first).
    pub fn format_params(&self) -> FormatParams {
        FormatParams::of(self.format).expect("NPRACH format validated to 0, 1 or 2")
    }

    /// `n_start = N_scoffset^NPRACH + floor(n_init / N_sc^RA) N_sc^RA` (10.1.6.1).
    ///
    /// # Panics
    /// If `format` is not 0, 1 or 2.
    pub fn n_start(&self) -> u32 {
        let n = self.format_params().hop_subcarriers;
        self.subcarrier_offset + (self.n_init / n) * n
    }

    /// Number of symbol groups in the whole preamble, `P N_rep`.
    ///
    /// # Panics
    /// If `format` is not 0, 1 or 2.
    pub fn n_groups(&self) -> usize {
        self.format_params().groups_per_unit * self.repetitions as usize
    }

    /// Generates the preamble: one [`Segment`] per symbol group, unit mean power, time 0 at
    /// the start of the first CP, frequencies relative to the NB-IoT carrier centre.
    pub fn generate(&self) -> Result<SynthBurst, SynthError> {
        let seq = subcarrier_sequence(self)?;
        let p = self.format_params();
        let n = seq.len();
        let start_s = |i: usize| -> f64 {
            let ts = p.group_start_ts(i);
            if ts == 0 {
                0.0
            } else {
                (ts as f64 - BOUNDARY_EPS_TS) / TS_PER_S
            }
        };
        let mut segments = Vec::with_capacity(n);
        for (i, &n_sc) in seq.iter().enumerate() {
            let s0 = start_s(i);
            let end_ts = p.group_start_ts(i) + p.group_ts();
            // Abutting groups: len = next start - start, which is exact (Sterbenz), so
            // `end_s()` equals the next `start_s` bit for bit and no sample is lost or doubled.
            let len_s = if i + 1 < n && p.group_start_ts(i + 1) == end_ts {
                start_s(i + 1) - s0
            } else {
                (end_ts as f64 - BOUNDARY_EPS_TS) / TS_PER_S - s0
            };
            segments.push(Segment {
                start_s: s0,
                len_s,
                t_ref_s: (p.group_start_ts(i) + p.cp_ts) as f64 / TS_PER_S,
                tones: vec![Tone {
                    freq_hz: p.tone_hz(n_sc),
                    coeff: Complex64::new(1.0, 0.0),
                }],
            });
        }
        let mut signal = Burst { segments };
        normalise(&mut signal);

        let lo = seq.iter().copied().min().unwrap_or(0);
        let hi = seq.iter().copied().max().unwrap_or(0);
        let (f_lo, f_hi) = (p.tone_hz(lo), p.tone_hz(hi));

        let mut params = serde_json::Map::new();
        let mut put = |k: &str, v: serde_json::Value| {
            params.insert(k.to_string(), v);
        };
        put("format", self.format.into());
        put("n_init", self.n_init.into());
        put("repetitions", self.repetitions.into());
        put("cell_id", self.cell_id.into());
        put("subcarrier_offset", self.subcarrier_offset.into());
        put("n_subcarriers", self.n_subcarriers.into());
        put("hop_convention", self.hop_convention.as_str().into());
        put("first_subcarrier", seq[0].into());
        put("n_start", self.n_start().into());
        put("spacing_hz", p.spacing_hz.into());
        put("n_groups", n.into());
        put("group_duration_s", p.group_duration_s().into());
        put("frame_structure", 1.into());

        Ok(SynthBurst {
            signal,
            kind: Kind::Nprach,
            tech: Tech::NbIot,
            center_hz: 0.5 * (f_lo + f_hi),
            bandwidth_hz: f_hi - f_lo + p.spacing_hz,
            snr_bandwidth_hz: 180e3,
            params,
        })
    }
}

/// `f(0), f(1), ..., f(count - 1)` of 10.1.6.1 for `N_sc^RA = hop_subcarriers`, with the
/// Gold sequence of 7.2 initialised with `c_init = cell_id`.
///
/// # Panics
/// If `hop_subcarriers < 2`.
pub fn f_sequence(hop_subcarriers: u32, cell_id: u32, count: usize) -> Vec<u32> {
    assert!(hop_subcarriers >= 2, "N_sc^RA must be at least 2");
    let c = gold(cell_id, 10 * count);
    let mut f_prev = 0u32; // f(-1)
    (0..count)
        .map(|t| {
            let sum: u32 = (1..=9).map(|k| (c[10 * t + k] as u32) << (k - 1)).sum();
            f_prev = (f_prev + sum % (hop_subcarriers - 1) + 1) % hop_subcarriers;
            f_prev
        })
        .collect()
}

/// The hop offsets `ñ_sc^RA(i)`, i = 0..n_groups-1, of 10.1.6.1 (frame structure type 1)
/// for a format, cell and `ñ(0) = n_init mod N_sc^RA`.
///
/// # Panics
/// If `n_tilde0 >= params.hop_subcarriers`.
pub fn hop_offsets(
    params: &FormatParams,
    cell_id: u32,
    n_tilde0: u32,
    n_groups: usize,
    convention: HopConvention,
) -> Vec<u32> {
    let n_ra = params.hop_subcarriers;
    assert!(n_tilde0 < n_ra, "ñ(0) = {n_tilde0} outside 0..{n_ra}");
    let pg = params.groups_per_unit;
    let units = n_groups.div_ceil(pg);
    let f = f_sequence(n_ra, cell_id, units + 1);
    let mut out: Vec<u32> = Vec::with_capacity(n_groups);
    for i in 0..n_groups {
        let v = if i == 0 {
            n_tilde0
        } else if i % pg == 0 {
            let t = match convention {
                HopConvention::Clause => i / pg,
                HopConvention::Alt => i / pg - 1,
            };
            (n_tilde0 + f[t]) % n_ra
        } else {
            let prev = out[i - 1];
            let step_1 = |p: u32| if p % 2 == 0 { p + 1 } else { p - 1 };
            if pg == 4 {
                match i % 4 {
                    1 | 3 => step_1(prev),
                    _ => {
                        if prev < 6 {
                            prev + 6
                        } else {
                            prev - 6
                        }
                    }
                }
            } else {
                match i % 6 {
                    1 | 5 => step_1(prev),
                    2 | 4 => {
                        if (prev / 3) % 2 == 0 {
                            prev + 3
                        } else {
                            prev - 3
                        }
                    }
                    _ => {
                        if prev < 18 {
                            prev + 18
                        } else {
                            prev - 18
                        }
                    }
                }
            }
        };
        out.push(v);
    }
    out
}

/// The subcarrier `n_sc_RA(i) = n_start + ñ_sc^RA(i)` of every symbol group of the preamble,
/// i = 0..P N_rep - 1 (10.1.6.1), on the `Δf_RA` grid of the NB-IoT carrier (tone frequency:
/// [`FormatParams::tone_hz`]).
pub fn subcarrier_sequence(cfg: &NprachConfig) -> Result<Vec<u32>, SynthError> {
    cfg.validate()?;
    let p = cfg.format_params();
    let n_start = cfg.n_start();
    Ok(hop_offsets(
        &p,
        cfg.cell_id,
        cfg.n_init % p.hop_subcarriers,
        cfg.n_groups(),
        cfg.hop_convention,
    )
    .into_iter()
    .map(|v| n_start + v)
    .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_complex::Complex32;
    use rustfft::FftPlanner;
    use std::f64::consts::PI;

    const RATES: [f64; 2] = [1.92e6, 30.72e6];

    fn cfg(format: u8, reps: u32, off: u32, nsc: u32, n_init: u32, cell: u32) -> NprachConfig {
        NprachConfig {
            format,
            repetitions: reps,
            subcarrier_offset: off,
            n_subcarriers: nsc,
            n_init,
            cell_id: cell,
            hop_convention: HopConvention::Clause,
        }
    }

    fn c64(v: Complex32) -> Complex64 {
        Complex64::new(v.re as f64, v.im as f64)
    }

    /// Sample index of an instant given in Ts, at a rate where it is a whole sample.
    fn sample_of(ts: u64, fs: f64) -> usize {
        let x = ts as f64 * fs / TS_PER_S;
        assert!(
            (x - x.round()).abs() < 1e-9,
            "{ts} Ts is not a sample at {fs}"
        );
        x.round() as usize
    }

    #[test]
    fn table_10_1_6_1_1_lengths() {
        // Format 0: CP 2048 Ts + 5 x 8192 Ts = 43008 Ts = 1.4 ms (2688 samples at 1.92 MS/s).
        let p0 = FormatParams::of(0).unwrap();
        assert_eq!((p0.cp_ts, p0.seq_ts, p0.group_ts()), (2048, 40960, 43008));
        assert!((p0.group_duration_s() - 1.4e-3).abs() < 1e-15);
        // Format 1: CP 8192 Ts, group 49152 Ts = 1.6 ms (3072 samples).
        let p1 = FormatParams::of(1).unwrap();
        assert_eq!((p1.cp_ts, p1.group_ts()), (8192, 49152));
        assert!((group_duration_s(1).unwrap() - 1.6e-3).abs() < 1e-15);
        // Format 2: 3 symbols of 1 / 1.25 kHz = 800 us = 24576 Ts, CP 24576 Ts: 3.2 ms.
        let p2 = FormatParams::of(2).unwrap();
        assert_eq!(p2.symbol_ts() as f64, TS_PER_S / p2.spacing_hz);
        assert_eq!(p0.symbol_ts() as f64, TS_PER_S / p0.spacing_hz);
        assert!((p2.group_duration_s() - 3.2e-3).abs() < 1e-15);
        assert_eq!(group_duration_s(3), None);

        // Rendered: group boundaries and preamble length in samples at both rates.
        for (fmt, off, nsc) in [(0u8, 0u32, 12u32), (1, 24, 24), (2, 36, 72)] {
            let c = cfg(fmt, 2, off, nsc, 5, 77);
            let p = c.format_params();
            let b = c.generate().unwrap();
            assert_eq!(b.signal.segments.len(), 2 * p.groups_per_unit);
            for &fs in &RATES {
                let x = b.signal.render(fs);
                let want = sample_of(2 * p.groups_per_unit as u64 * p.group_ts(), fs);
                assert_eq!(x.len(), want, "format {fmt} at {fs}");
                for (i, seg) in b.signal.segments.iter().enumerate() {
                    // The sample at the boundary belongs to group i, the one before to i-1.
                    let n0 = sample_of(i as u64 * p.group_ts(), fs);
                    let n_cp = sample_of(i as u64 * p.group_ts() + p.cp_ts, fs);
                    let f = seg.tones[0].freq_hz;
                    let want0 =
                        Complex64::from_polar(1.0, -2.0 * PI * f * p.cp_ts as f64 / TS_PER_S);
                    assert!((c64(x[n0]) - want0).norm() < 1e-5, "group {i} first sample");
                    assert!((c64(x[n_cp]) - 1.0).norm() < 1e-5, "group {i} end of CP");
                }
            }
        }
        // The durations in the description itself, Ts-exact.
        for fmt in 0..3u8 {
            let p = FormatParams::of(fmt).unwrap();
            for reps in REPETITIONS {
                let b = cfg(fmt, reps, 0, if fmt == 2 { 36 } else { 12 }, 0, 1)
                    .generate()
                    .unwrap();
                let want_ts = p.preamble_ts(reps);
                assert!((b.signal.duration_s() * TS_PER_S - want_ts as f64).abs() < 0.01);
            }
        }
    }

    #[test]
    fn no_gaps_except_40_ms_after_64_or_16_repetitions() {
        for (fmt, reps, per) in [(0u8, 128u32, 64usize), (1, 64, 64), (2, 64, 16)] {
            let c = cfg(fmt, reps, 0, if fmt == 2 { 36 } else { 12 }, 3, 9);
            let p = c.format_params();
            let b = c.generate().unwrap();
            let segs = &b.signal.segments;
            assert_eq!(segs.len(), reps as usize * p.groups_per_unit);
            assert_eq!(segs[0].start_s, 0.0);
            let mut gaps = 0;
            for i in 1..segs.len() {
                if i % (per * p.groups_per_unit) == 0 {
                    gaps += 1;
                    let g = segs[i].start_s - segs[i - 1].end_s();
                    assert!((g - 0.040).abs() < 1e-12, "gap {g} before group {i}");
                } else {
                    // Abutting exactly, bit for bit.
                    assert_eq!(segs[i - 1].end_s(), segs[i].start_s, "group {i}");
                }
            }
            assert_eq!(gaps, (reps as usize - 1) / per);
            let want_ts =
                (segs.len() as u64) * p.group_ts() + ((reps as u64 - 1) / per as u64) * GAP_TS;
            assert_eq!(p.preamble_ts(reps), want_ts);
            assert!((b.signal.duration_s() * TS_PER_S - want_ts as f64).abs() < 0.01);
        }
    }

    /// Over long preambles (128 repetitions with the 40 ms gap; 16 format-2 repetitions) the
    /// sample on every group boundary carries the new group's first value and the one
    /// before it the old group's last value: no sample moves across a boundary by rounding.
    #[test]
    fn every_group_boundary_lands_on_its_sample() {
        let fs = 1.92e6;
        for c in [cfg(0, 128, 0, 12, 7, 11), cfg(2, 16, 0, 36, 20, 11)] {
            let p = c.format_params();
            let seq = subcarrier_sequence(&c).unwrap();
            let x = c.generate().unwrap().signal.render(fs);
            assert_eq!(x.len(), sample_of(p.preamble_ts(c.repetitions), fs));
            let value = |i: usize, t_ts: i64| {
                let f = p.tone_hz(seq[i]);
                Complex64::from_polar(
                    1.0,
                    2.0 * PI * f * (t_ts - p.cp_ts as i64) as f64 / TS_PER_S,
                )
            };
            for i in 0..seq.len() {
                let n0 = sample_of(p.group_start_ts(i), fs);
                assert!(
                    (c64(x[n0]) - value(i, 0)).norm() < 1e-5,
                    "start of group {i}"
                );
                let last = sample_of(p.group_ts(), fs) as i64 - 1;
                let n_last = n0 + last as usize;
                assert!(
                    (c64(x[n_last]) - value(i, last * (TS_PER_S / fs) as i64)).norm() < 1e-5,
                    "end of group {i}"
                );
                if n_last + 1 < x.len() && sample_of(p.group_start_ts(i + 1), fs) != n_last + 1 {
                    assert_eq!(x[n_last + 1].norm(), 0.0, "gap after group {i}");
                }
            }
        }
    }

    /// Frequency of every group measured on the rendered signal, two ways: the mean phase
    /// step of consecutive samples, and the DFT of each symbol after removing the half
    /// subcarrier shift (the tone then sits exactly on bin n_sc - 24, or n_sc - 72, and every
    /// other bin is empty).
    #[test]
    fn rendered_tone_of_every_group_matches_the_formula() {
        let cases = [
            (cfg(0, 2, 0, 12, 5, 1), RATES.to_vec()),
            (cfg(1, 2, 34, 12, 11, 300), RATES.to_vec()),
            (cfg(0, 1, 0, 48, 47, 503), RATES.to_vec()),
            (cfg(2, 1, 108, 36, 35, 17), RATES.to_vec()),
            (cfg(2, 2, 0, 144, 100, 0), vec![1.92e6]),
        ];
        let mut planner = FftPlanner::<f64>::new();
        for (c, rates) in cases {
            let p = c.format_params();
            let seq = subcarrier_sequence(&c).unwrap();
            let b = c.generate().unwrap();
            for fs in rates {
                let x = b.signal.render(fs);
                let n_sym = sample_of(p.symbol_ts(), fs);
                let fft = planner.plan_fft_forward(n_sym);
                for (i, &n_sc) in seq.iter().enumerate() {
                    // Formula, written out independently of tone_hz: K k0 with the 15 kHz
                    // uplink (K = 15 kHz / Δf_RA, k0 = -6).
                    let k = 15_000.0 / p.spacing_hz;
                    let f_want = (n_sc as f64 + k * -6.0 + 0.5) * p.spacing_hz;
                    let g0 = sample_of(p.group_start_ts(i), fs);
                    let g1 = g0 + sample_of(p.group_ts(), fs);
                    let step: Complex64 =
                        (g0 + 1..g1).map(|n| c64(x[n]) * c64(x[n - 1]).conj()).sum();
                    let f_meas = step.arg() * fs / (2.0 * PI);
                    assert!(
                        (f_meas - f_want).abs() < 0.05,
                        "group {i}: {f_meas} Hz, want {f_want} Hz at {fs}"
                    );
                    let bin = (n_sc as i64 - (HALF_CARRIER_HZ / p.spacing_hz) as i64)
                        .rem_euclid(n_sym as i64) as usize;
                    let s_cp = sample_of(p.group_start_ts(i) + p.cp_ts, fs);
                    for s in 0..p.symbols_per_group as usize {
                        let a = s_cp + s * n_sym;
                        let mut buf: Vec<Complex64> = (0..n_sym)
                            .map(|m| {
                                let t = m as f64 / fs;
                                c64(x[a + m]) * Complex64::from_polar(1.0, -PI * p.spacing_hz * t)
                            })
                            .collect();
                        fft.process(&mut buf);
                        let peak = buf[bin].norm();
                        assert!(
                            (peak / n_sym as f64 - 1.0).abs() < 1e-4,
                            "group {i} symbol {s}"
                        );
                        let leak = buf
                            .iter()
                            .enumerate()
                            .filter(|&(k, _)| k != bin)
                            .map(|(_, v)| v.norm())
                            .fold(0.0, f64::max);
                        assert!(leak < 1e-4 * peak, "group {i} symbol {s}: leakage {leak}");
                    }
                }
            }
        }
    }

    /// Within a group the phase advances by exactly 2π f / fs per sample (CP to symbol and
    /// symbol to symbol included) and is zero at the end of the CP; the next group restarts
    /// with its own reference (10.1.6.2 read literally).
    #[test]
    fn phase_continuous_within_each_group() {
        for c in [
            cfg(0, 2, 12, 24, 13, 42),
            cfg(1, 1, 2, 12, 7, 5),
            cfg(2, 1, 6, 36, 4, 8),
        ] {
            let p = c.format_params();
            let seq = subcarrier_sequence(&c).unwrap();
            let b = c.generate().unwrap();
            for &fs in &RATES {
                let x = b.signal.render(fs);
                for (i, &n_sc) in seq.iter().enumerate() {
                    let f = p.tone_hz(n_sc);
                    let g0 = sample_of(p.group_start_ts(i), fs);
                    let g1 = g0 + sample_of(p.group_ts(), fs);
                    let want = 2.0 * PI * f / fs;
                    for n in g0 + 1..g1 {
                        let d = (c64(x[n]) * c64(x[n - 1]).conj()).arg();
                        assert!((d - want).abs() < 2e-4, "group {i} sample {n} at {fs}");
                        assert!((x[n].norm() - 1.0).abs() < 1e-5);
                    }
                    let r = sample_of(p.group_start_ts(i) + p.cp_ts, fs);
                    assert!((c64(x[r]) - 1.0).norm() < 1e-5);
                }
            }
        }
    }

    /// The two shift registers of 7.2 (x1: x^31 + x^3 + 1 from 1,0,...; x2: x^31 + x^3 +
    /// x^2 + x + 1 from c_init), kept as 31-bit words, clocked 1600 times before output.
    /// Written independently of `sequences::gold`.
    fn c_bits(c_init: u32, len: usize) -> Vec<u8> {
        let (mut x1, mut x2) = (1u32, c_init);
        let mut out = Vec::new();
        for n in 0..1600 + len {
            if n >= 1600 {
                out.push(((x1 ^ x2) & 1) as u8);
            }
            let b1 = (x1 ^ (x1 >> 3)) & 1;
            let b2 = (x2 ^ (x2 >> 1) ^ (x2 >> 2) ^ (x2 >> 3)) & 1;
            x1 = (x1 >> 1) | (b1 << 30);
            x2 = (x2 >> 1) | (b2 << 30);
        }
        out
    }

    fn bits(s: &str) -> Vec<u8> {
        s.bytes().map(|b| b - b'0').collect()
    }

    /// Hopping for two cells and 4 repetitions, worked out by hand from 10.1.6.1.
    ///
    /// c(n), n = 0..29, from the shift registers above (checked below):
    ///   cell 1:   0000001010 0000110000 0011011101
    ///   cell 300: 1001110100 1101100000 1000010111
    /// Sums S(t) = sum_{n=10t+1}^{10t+9} c(n) 2^{n-(10t+1)} (c(10t+1) is the LSB; c(10t) is
    /// not used), N_sc^RA = 12 so S mod 11, f(t) = (f(t-1) + S mod 11 + 1) mod 12, f(-1) = 0:
    ///   cell 1:   S(0) = 2^5 + 2^7 = 160 -> 6, f(0) = 7
    ///             S(1) = 2^3 + 2^4 = 24 -> 2,   f(1) = (7 + 2 + 1) = 10
    ///             S(2) = 2+4+16+32+64+256 = 374 = 34 x 11 -> 0, f(2) = 11
    ///             S(3) = 8+32+128+256 = 424 -> 6 (c(31..39) = 000101011), f(3) = 18 mod 12 = 6
    ///   cell 300: S(0) = 4+8+16+64 = 92 -> 4,  f(0) = 5
    ///             S(1) = 1+4+8 = 13 -> 2,      f(1) = 8
    ///             S(2) = 16+64+128+256 = 464 -> 2, f(2) = 11
    ///             S(3) = 4+8+32+64 = 108 -> 9 (c(31..39) = 001101100), f(3) = 21 mod 12 = 9
    /// Inside a unit: i mod 4 = 1, 3: +1 if ñ(i-1) even else -1; i mod 4 = 2: +6 if
    /// ñ(i-1) < 6 else -6; i mod 4 = 0: (ñ(0) + f(i/4)) mod 12 (clause) or f(i/4 - 1) (alt).
    ///
    /// Cell 1, offset 0, 12 subcarriers, n_init 5: n_start 0, ñ(0) = 5.
    ///   clause: 5 4 10 11 | (5+10)%12=3 2 8 9 | (5+11)%12=4 5 11 10 | (5+6)=11 10 4 5
    ///   alt:    5 4 10 11 | (5+7)%12=0 1 7 6  | (5+10)%12=3 2 8 9   | (5+11)%12=4 5 11 10
    /// Cell 300, offset 12, 24 subcarriers, n_init 18: n_start = 12 + 12 = 24, ñ(0) = 6.
    ///   clause ñ: 6 7 1 0 | (6+8)%12=2 3 9 8 | (6+11)%12=5 4 10 11 | (6+9)%12=3 2 8 9
    ///   alt ñ:    6 7 1 0 | (6+5)=11 10 4 5  | (6+8)%12=2 3 9 8    | (6+11)%12=5 4 10 11
    #[test]
    fn hopping_matches_hand_derivation_for_two_cells() {
        assert_eq!(
            c_bits(1, 40),
            bits("0000001010000011000000110111010000101011")
        );
        assert_eq!(
            c_bits(300, 40),
            bits("1001110100110110000010000101111001101100")
        );
        // The library Gold sequence agrees with the independent registers.
        assert_eq!(gold(1, 40), c_bits(1, 40));
        assert_eq!(gold(300, 40), c_bits(300, 40));

        assert_eq!(f_sequence(12, 1, 4), vec![7, 10, 11, 6]);
        assert_eq!(f_sequence(12, 300, 4), vec![5, 8, 11, 9]);

        let mut c = cfg(0, 4, 0, 12, 5, 1);
        assert_eq!(
            subcarrier_sequence(&c).unwrap(),
            vec![5, 4, 10, 11, 3, 2, 8, 9, 4, 5, 11, 10, 11, 10, 4, 5]
        );
        c.hop_convention = HopConvention::Alt;
        assert_eq!(
            subcarrier_sequence(&c).unwrap(),
            vec![5, 4, 10, 11, 0, 1, 7, 6, 3, 2, 8, 9, 4, 5, 11, 10]
        );
        let add = |v: [u32; 16]| v.iter().map(|x| x + 24).collect::<Vec<_>>();
        let mut c = cfg(1, 4, 12, 24, 18, 300);
        assert_eq!(
            subcarrier_sequence(&c).unwrap(),
            add([6, 7, 1, 0, 2, 3, 9, 8, 5, 4, 10, 11, 3, 2, 8, 9])
        );
        c.hop_convention = HopConvention::Alt;
        assert_eq!(
            subcarrier_sequence(&c).unwrap(),
            add([6, 7, 1, 0, 11, 10, 4, 5, 2, 3, 9, 8, 5, 4, 10, 11])
        );
        // The first unit does not depend on the cell (MathWorks' documented example for
        // cell 0, n_init 0, one repetition gives subcarriers 0 1 7 6).
        assert_eq!(
            subcarrier_sequence(&cfg(0, 1, 0, 12, 0, 0)).unwrap(),
            vec![0, 1, 7, 6]
        );
    }

    /// Format 2 (N_sc^RA = 36, P = 6), cell 1, offset 0, 72 subcarriers, n_init 40:
    /// n_start = 0 + floor(40/36) x 36 = 36, ñ(0) = 4. With the sums of the test above and
    /// mod 35: f(0) = 160 mod 35 + 1 = 21; f(1) = (21 + 24 + 1) mod 36 = 10;
    /// f(2) = (10 + 374 mod 35 (= 24) + 1) mod 36 = 35; f(3) = (35 + 424 mod 35 (= 4) + 1)
    /// mod 36 = 4.
    /// Hops: i mod 6 = 1, 5: ±1 by parity; 2, 4: +3 if floor(ñ/3) even else -3; 3: +18 if
    /// ñ < 18 else -18.
    ///   ñ: 4 5 2 20 23 22 | (4+10)=14 15 12 30 33 32 | (4+35)%36=3 2 5 23 20 21
    ///      | (4+4)=8 9 6 24 27 26
    #[test]
    fn format2_hopping_matches_hand_derivation() {
        assert_eq!(f_sequence(36, 1, 4), vec![21, 10, 35, 4]);
        let want: Vec<u32> = [
            4, 5, 2, 20, 23, 22, 14, 15, 12, 30, 33, 32, 3, 2, 5, 23, 20, 21, 8, 9, 6, 24, 27, 26,
        ]
        .iter()
        .map(|v| v + 36)
        .collect();
        assert_eq!(subcarrier_sequence(&cfg(2, 4, 0, 72, 40, 1)).unwrap(), want);
    }

    /// Inside every repetition unit the hops are fixed: +-1, +-6, -+1 (formats 0/1) and
    /// +-1, +-3, +-18, -+3, -+1 (format 2), with the sign set by the rules of 10.1.6.1, for
    /// every n_init; all groups stay in the 12 (36) subcarriers from n_start; and the
    /// repetition starts move (f advances by 1..N_sc^RA - 1 each time).
    #[test]
    fn intra_unit_pattern_for_every_n_init() {
        let setups = [
            (0u8, 0u32, 48u32),
            (1, 2, 12),
            (0, 36, 12),
            (2, 0, 144),
            (2, 108, 36),
        ];
        for (fmt, off, nsc) in setups {
            for cell in [0u32, 1, 137, 503] {
                for conv in [HopConvention::Clause, HopConvention::Alt] {
                    for n_init in 0..nsc {
                        let mut c = cfg(fmt, 16, off, nsc, n_init, cell);
                        c.hop_convention = conv;
                        let p = c.format_params();
                        let n_ra = p.hop_subcarriers as i64;
                        let seq = subcarrier_sequence(&c).unwrap();
                        let n_start =
                            (off + (n_init / p.hop_subcarriers) * p.hop_subcarriers) as i64;
                        assert_eq!(seq[0] as i64, n_start + (n_init as i64 % n_ra));
                        let nt: Vec<i64> = seq.iter().map(|&v| v as i64 - n_start).collect();
                        assert!(nt.iter().all(|&v| (0..n_ra).contains(&v)));
                        assert!(seq.iter().all(|&v| v >= off && v < off + nsc));
                        for u in nt.chunks(p.groups_per_unit) {
                            let d: Vec<i64> = u.windows(2).map(|w| w[1] - w[0]).collect();
                            let one = if u[0] % 2 == 0 { 1 } else { -1 };
                            if fmt < 2 {
                                let six = if u[1] < 6 { 6 } else { -6 };
                                assert_eq!(d, vec![one, six, -one], "{c:?}");
                            } else {
                                let three = if (u[1] / 3) % 2 == 0 { 3 } else { -3 };
                                let e18 = if u[2] < 18 { 18 } else { -18 };
                                assert_eq!(d, vec![one, three, e18, -three, -one], "{c:?}");
                            }
                        }
                        let starts: Vec<i64> =
                            nt.iter().step_by(p.groups_per_unit).copied().collect();
                        let skip = if conv == HopConvention::Clause { 1 } else { 0 };
                        for w in starts.windows(2).skip(skip) {
                            assert_ne!(w[0], w[1], "{c:?}: consecutive units start alike");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn k_k0_is_the_same_for_either_uplink_spacing() {
        for fmt in 0..3u8 {
            let p = FormatParams::of(fmt).unwrap();
            // Δf = 15 kHz, N_sc^UL = 12 and Δf = 3.75 kHz, N_sc^UL = 48 (10.1.2).
            let kk0 = |df: f64, n_ul: f64| df / p.spacing_hz * -(n_ul / 2.0);
            assert_eq!(kk0(15e3, 12.0), kk0(3750.0, 48.0));
            for n in [0u32, 23, 47] {
                let want = (n as f64 + kk0(15e3, 12.0) + 0.5) * p.spacing_hz;
                assert!((p.tone_hz(n) - want).abs() < 1e-9);
            }
        }
        let p0 = FormatParams::of(0).unwrap();
        assert_eq!(p0.tone_hz(0), -88_125.0);
        assert_eq!(p0.tone_hz(47), 88_125.0);
        let p2 = FormatParams::of(2).unwrap();
        assert_eq!(p2.tone_hz(143), 89_375.0);
    }

    #[test]
    fn synth_burst_ground_truth() {
        let c = cfg(0, 8, 24, 24, 20, 222);
        let seq = subcarrier_sequence(&c).unwrap();
        let b = c.generate().unwrap();
        assert_eq!(b.kind, Kind::Nprach);
        assert_eq!(b.tech, Tech::NbIot);
        assert_eq!(b.snr_bandwidth_hz, 180e3);
        let lo = *seq.iter().min().unwrap() as f64;
        let hi = *seq.iter().max().unwrap() as f64;
        // n_start = 24 + 12 = 36: every tone within subcarriers 36..47.
        assert!(lo >= 36.0 && hi <= 47.0);
        let f = |n: f64| (n - 23.5) * 3750.0;
        assert!((b.center_hz - (f(lo) + f(hi)) / 2.0).abs() < 1e-9);
        assert!((b.bandwidth_hz - (f(hi) - f(lo) + 3750.0)).abs() < 1e-9);
        let (flo, fhi) = b.signal.freq_span_hz();
        assert!((flo - f(lo)).abs() < 1e-9 && (fhi - f(hi)).abs() < 1e-9);
        // Unit mean power, nominal and measured.
        assert!((b.signal.nominal_power() - 1.0).abs() < 1e-12);
        let x = b.signal.render(1.92e6);
        let pw = x.iter().map(|v| v.norm_sqr() as f64).sum::<f64>() / x.len() as f64;
        assert!((pw - 1.0).abs() < 1e-4);
        let pr = &b.params;
        assert_eq!(pr["format"], 0);
        assert_eq!(pr["n_init"], 20);
        assert_eq!(pr["repetitions"], 8);
        assert_eq!(pr["cell_id"], 222);
        assert_eq!(pr["subcarrier_offset"], 24);
        assert_eq!(pr["n_subcarriers"], 24);
        assert_eq!(pr["hop_convention"], "clause");
        assert_eq!(pr["first_subcarrier"], 36 + 20 % 12);
        assert_eq!(pr["n_start"], 36);
    }

    #[test]
    fn config_validation() {
        assert_eq!(NprachConfig::default().validate(), Ok(()));
        let ok = cfg(0, 4, 0, 48, 47, 503);
        assert_eq!(ok.validate(), Ok(()));
        let bad = |f: &dyn Fn(&mut NprachConfig), param: &str| {
            let mut c = ok.clone();
            f(&mut c);
            match c.validate() {
                Err(SynthError::Param {
                    param: p,
                    generator,
                    ..
                }) => {
                    assert_eq!((generator, p), ("nprach", param), "{c:?}")
                }
                Ok(()) => panic!("{c:?} accepted"),
            }
            assert!(c.generate().is_err());
            assert!(subcarrier_sequence(&c).is_err());
        };
        bad(&|c| c.format = 3, "format");
        bad(&|c| c.repetitions = 0, "repetitions");
        bad(&|c| c.repetitions = 3, "repetitions");
        bad(&|c| c.repetitions = 256, "repetitions");
        bad(&|c| c.n_subcarriers = 18, "n_subcarriers");
        bad(&|c| c.n_subcarriers = 72, "n_subcarriers"); // a format-2 value
        bad(
            &|c| {
                c.subcarrier_offset = 5;
                c.n_subcarriers = 12;
                c.n_init = 0
            },
            "subcarrier_offset",
        );
        bad(
            &|c| {
                c.subcarrier_offset = 6;
                c.n_subcarriers = 12;
                c.n_init = 0
            },
            "subcarrier_offset",
        );
        bad(
            &|c| c.subcarrier_offset = 12,
            "subcarrier_offset + n_subcarriers",
        ); // 12 + 48
        bad(
            &|c| {
                c.subcarrier_offset = 2;
                c.n_subcarriers = 48;
            },
            "subcarrier_offset + n_subcarriers",
        );
        bad(
            &|c| {
                c.subcarrier_offset = 36;
                c.n_subcarriers = 24;
                c.n_init = 0
            },
            "subcarrier_offset + n_subcarriers",
        );
        bad(&|c| c.n_init = 48, "n_init");
        bad(&|c| c.cell_id = 504, "cell_id");
        bad(
            &|c| {
                c.format = 2;
                c.n_subcarriers = 36;
                c.subcarrier_offset = 2;
                c.n_init = 0
            },
            "subcarrier_offset",
        );
        bad(
            &|c| {
                c.format = 2;
                c.n_subcarriers = 144;
                c.subcarrier_offset = 6;
                c.n_init = 0
            },
            "subcarrier_offset + n_subcarriers",
        );
        bad(
            &|c| {
                c.format = 2;
                c.n_subcarriers = 48;
                c.n_init = 0
            },
            "n_subcarriers",
        );
        // Edges that are allowed.
        assert_eq!(cfg(0, 128, 36, 12, 11, 0).validate(), Ok(()));
        assert_eq!(cfg(1, 1, 34, 12, 0, 0).validate(), Ok(()));
        assert_eq!(cfg(2, 128, 108, 36, 35, 503).validate(), Ok(()));
        // Error messages carry the value, never a placeholder.
        let e = cfg(0, 4, 0, 12, 12, 0).validate().unwrap_err().to_string();
        assert!(e.contains("n_init = 12") && e.contains("0..=11"), "{e}");
    }

    #[test]
    fn serde_embeds_verbatim() {
        let c: NprachConfig = serde_json::from_str(
            r#"{"format":1,"repetitions":8,"n_init":3,"cell_id":7,"hop_convention":"alt"}"#,
        )
        .unwrap();
        assert_eq!(c.format, 1);
        assert_eq!(c.hop_convention, HopConvention::Alt);
        assert_eq!(c.n_subcarriers, NprachConfig::default().n_subcarriers);
        assert!(serde_json::from_str::<NprachConfig>(r#"{"formta":1}"#).is_err());
        assert!(serde_json::from_str::<NprachConfig>(r#"{"hop_convention":"other"}"#).is_err());
        let back: NprachConfig = serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
        assert_eq!(back, c);
    }
}
