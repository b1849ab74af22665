//! NB-IoT NPUSCH: narrowband physical uplink shared channel, TS 36.211 10.1.3 (NPUSCH),
//! 10.1.4 (its demodulation reference signal) and 10.1.5 (NB-IoT SC-FDMA baseband).
//!
//! # The waveform
//!
//! One NB-IoT uplink carrier is 180 kHz wide: 12 subcarriers of 15 kHz or 48 of 3.75 kHz,
//! subcarrier `k^(-)` sitting at `(k^(-) - N_sc^UL/2 + 1/2) * Delta_f` about the carrier
//! centre (10.1.5, Table 10.1.5-1). An NPUSCH transmission occupies `N_sc^RU` adjacent
//! subcarriers for `M_rep * N_RU` resource units (Table 10.1.2.3-1):
//!
//! ```text
//!  format  spacing   N_sc^RU  slots/RU  RU length   modulation (Table 10.1.3.2-1)
//!    1     3.75 kHz     1        16      32 ms      pi/2-BPSK, pi/4-QPSK
//!    1     15 kHz       1        16       8 ms      pi/2-BPSK, pi/4-QPSK
//!    1     15 kHz       3         8       4 ms      QPSK (DFT-precoded)
//!    1     15 kHz       6         4       2 ms      QPSK (DFT-precoded)
//!    1     15 kHz      12         2       1 ms      QPSK (DFT-precoded)
//!    2     3.75/15 kHz  1         4      8/2 ms     pi/2-BPSK
//! ```
//!
//! A slot holds 7 SC-FDMA symbols: with 15 kHz the LTE normal-CP slot (0.5 ms, CP 160 Ts
//! for `l = 0` and 144 Ts otherwise, N = 2048 Ts); with 3.75 kHz a 2 ms slot of 7 symbols of
//! CP 256 Ts + N 8192 Ts followed by a 2304 Ts guard period that is not transmitted
//! (10.1.5). The DMRS (10.1.4.2, Table 10.1.4.2-1) takes symbol 3 (15 kHz) or 4 (3.75 kHz)
//! of every slot for format 1, and symbols 2, 3, 4 (15 kHz) or 0, 1, 2 (3.75 kHz) for
//! format 2.
//!
//! Single-tone NPUSCH is not DFT-precoded: each symbol is one tone whose phase is rotated by
//! `phi_k(l~) = rho (l~ mod 2) + phihat_k(l~)` (10.1.5). The `rho` term makes pi/2-BPSK and
//! pi/4-QPSK; the `phihat` recursion cancels the phase a tone at `(k+1/2) Delta_f` advances
//! over each symbol, so the phase is continuous from the end of one symbol to the start of
//! the next and only the modulation step remains: a near-constant-envelope tone. Multi-tone
//! NPUSCH is LTE SC-FDMA (5.6) over the 12 subcarriers of the carrier.
//!
//! # How a detector finds it
//!
//! A tone 3.75 kHz or 15 kHz wide (single-tone) or a 45/90/180 kHz SC-FDMA block, on a 2 ms
//! or 0.5 ms slot grid, with a CP correlation at lag 8192 or 2048 Ts, repeating for tens of
//! milliseconds to seconds, and known DMRS in fixed symbols of every slot: a length-16
//! Hadamard row times a Gold sequence for one tone ([`single_tone_dmrs_base`]), the short
//! tables of 10.1.4.1.2 for 3 and 6 tones, the LTE `M_sc = 12` sequences for 12 tones
//! ([`multi_tone_dmrs`]). [`dmrs_slots`], [`Spacing`] and [`slot_start_ts`] give a detector
//! the templates and the timing this generator uses.
//!
//! # What is modelled and what is not
//!
//! - The data bits are random (from the caller's seeded RNG): they stand in for the turbo
//!   coded (format 1) or repetition coded (format 2, 36.212 6.3.3) bits after scrambling
//!   (10.1.3.1), which are statistically indistinguishable from random. Each pass of the
//!   codeword (each block of `M_identical` repetitions) draws new bits: real passes differ
//!   by redundancy version and by scrambling re-initialisation, so this is an approximation
//!   of the content, not of the structure. Within a pass the `M_identical` slot repetition of
//!   10.1.3.6 is reproduced exactly (multi-tone with `M_rep > 1`).
//! - Group hopping of the DMRS (10.1.4.1.3) is not implemented: the generator uses the
//!   group-hopping-disabled sequences. Sequence index from the cell id or signalled.
//! - One transport block (`N_TB = 1`): the symbol counter `l~` of 10.1.5 runs from 0 at the
//!   first symbol over the whole transmission including repetitions.
//! - The 40 ms gap inserted after every 256 ms of NPUSCH transmission (10.1.3.6) is
//!   generated (recalled from the clause, verify); postponement for NPRACH, invalid uplink subframes and SRS puncturing
//!   (npusch-AllSymbols) are not (no other channel exists in a synthetic scene).

use super::{normalise, Kind, SynthBurst, SynthError, Tech};
use crate::sequences::{base_sequence, gold};
use crate::signal::{Burst, Segment, Tone};
use crate::tables::{NPUSCH_PHI_3_TONES, NPUSCH_PHI_6_TONES};
use num_complex::Complex64;
use serde::{Deserialize, Serialize};
use std::f64::consts::{FRAC_1_SQRT_2, PI};

#[cfg(test)]
mod tests;

const GEN: &str = "npusch";

fn bad(param: &'static str, value: impl ToString, allowed: impl ToString) -> SynthError {
    SynthError::param(GEN, param, value, allowed)
}

/// SC-FDMA symbols per uplink slot, `N_symb^UL` (normal CP is the only NB-IoT option, 10.1.5).
pub const N_SYMB_UL: usize = 7;

/// `c_init` of the Gold sequence of the single-tone DMRS (10.1.4.1.1), set at the start of
/// the NPUSCH transmission.
pub const DMRS_C_INIT: u32 = 35;

/// NPUSCH transmission time after which a gap is inserted, in Ts: 256 ms (10.1.3.6).
pub const UL_GAP_PERIOD_TS: u64 = 256 * 30_720;

/// Length of the gap inserted after every [`UL_GAP_PERIOD_TS`] of NPUSCH transmission, in Ts:
/// 40 ms (10.1.3.6).
pub const UL_GAP_TS: u64 = 40 * 30_720;

/// TS 36.211 Table 10.1.4.1.1-1: the sequences `w(n)`, n = 0..15, of the single-tone DMRS,
/// row `u` = 0..15. (It is the 16 x 16 Sylvester-Hadamard matrix in natural order,
/// `w_u(n) = (-1)^popcount(u AND n)`; the unit tests check that and the orthogonality.)
pub const NPUSCH_W: [[i8; 16]; 16] = [
    [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
    [1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1],
    [1, 1, -1, -1, 1, 1, -1, -1, 1, 1, -1, -1, 1, 1, -1, -1],
    [1, -1, -1, 1, 1, -1, -1, 1, 1, -1, -1, 1, 1, -1, -1, 1],
    [1, 1, 1, 1, -1, -1, -1, -1, 1, 1, 1, 1, -1, -1, -1, -1],
    [1, -1, 1, -1, -1, 1, -1, 1, 1, -1, 1, -1, -1, 1, -1, 1],
    [1, 1, -1, -1, -1, -1, 1, 1, 1, 1, -1, -1, -1, -1, 1, 1],
    [1, -1, -1, 1, -1, 1, 1, -1, 1, -1, -1, 1, -1, 1, 1, -1],
    [1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1, -1, -1, -1],
    [1, -1, 1, -1, 1, -1, 1, -1, -1, 1, -1, 1, -1, 1, -1, 1],
    [1, 1, -1, -1, 1, 1, -1, -1, -1, -1, 1, 1, -1, -1, 1, 1],
    [1, -1, -1, 1, 1, -1, -1, 1, -1, 1, 1, -1, -1, 1, 1, -1],
    [1, 1, 1, 1, -1, -1, -1, -1, -1, -1, -1, -1, 1, 1, 1, 1],
    [1, -1, 1, -1, -1, 1, -1, 1, -1, 1, -1, 1, 1, -1, 1, -1],
    [1, 1, -1, -1, -1, -1, 1, 1, -1, -1, 1, 1, 1, 1, -1, -1],
    [1, -1, -1, 1, -1, 1, 1, -1, -1, 1, 1, -1, 1, -1, -1, 1],
];

/// The NB-IoT uplink subcarrier spacing and the slot timing that goes with it (10.1.5,
/// Table 10.1.5-1). All lengths are in `Ts = 1/30.72 MHz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Spacing {
    /// 3.75 kHz: 48 subcarriers, 2 ms slots of 7 symbols (CP 256, N 8192) plus a 2304 Ts guard.
    Hz3750,
    /// 15 kHz: 12 subcarriers, the LTE 0.5 ms normal-CP slot.
    Hz15000,
}

impl Spacing {
    /// The spacing for `hz` = 3750 or 15000, `None` otherwise.
    pub fn from_hz(hz: u32) -> Option<Self> {
        match hz {
            3750 => Some(Spacing::Hz3750),
            15000 => Some(Spacing::Hz15000),
            _ => None,
        }
    }

    /// `Delta_f`, Hz.
    pub fn hz(self) -> f64 {
        match self {
            Spacing::Hz3750 => 3750.0,
            Spacing::Hz15000 => 15000.0,
        }
    }

    /// Subcarriers of the 180 kHz carrier, `N_sc^UL`: 48 or 12 (10.1.2).
    pub fn n_sc_ul(self) -> u32 {
        match self {
            Spacing::Hz3750 => 48,
            Spacing::Hz15000 => 12,
        }
    }

    /// Useful symbol length `N`, Ts (Table 10.1.5-1): 8192 or 2048.
    pub fn symbol_ts(self) -> u32 {
        match self {
            Spacing::Hz3750 => 8192,
            Spacing::Hz15000 => 2048,
        }
    }

    /// Cyclic-prefix length `N_CP,l` of symbol `l` (0..6) of a slot, Ts (Table 10.1.5-1):
    /// 256 for 3.75 kHz; 160 for `l = 0` and 144 otherwise for 15 kHz (Table 5.6-1).
    pub fn cp_ts(self, l: usize) -> u32 {
        match self {
            Spacing::Hz3750 => 256,
            Spacing::Hz15000 => {
                if l == 0 {
                    160
                } else {
                    144
                }
            }
        }
    }

    /// Start of symbol `l` (0..6, or 7 for the end of the last symbol) within its slot, Ts:
    /// `sum_{l' < l} (N_CP,l' + N)` (10.1.5).
    pub fn symbol_start_ts(self, l: usize) -> u32 {
        (0..l).map(|i| self.cp_ts(i) + self.symbol_ts()).sum()
    }

    /// Slot length `T_slot`, Ts: 61440 (2 ms) or 15360 (0.5 ms).
    pub fn slot_ts(self) -> u32 {
        match self {
            Spacing::Hz3750 => 61_440,
            Spacing::Hz15000 => 15_360,
        }
    }

    /// Untransmitted guard at the end of every slot, Ts: `T_slot` minus the 7 symbols,
    /// 2304 for 3.75 kHz, 0 for 15 kHz (10.1.5).
    pub fn guard_ts(self) -> u32 {
        self.slot_ts() - self.symbol_start_ts(N_SYMB_UL)
    }

    /// Slots per 10 ms radio frame: 5 or 20 (the range of the slot number `n_s`).
    pub fn slots_per_frame(self) -> u32 {
        307_200 / self.slot_ts()
    }

    /// `N_slots` of the `M_identical` repetition of 10.1.3.6: 1 for 3.75 kHz, 2 for 15 kHz.
    pub fn identical_chunk_slots(self) -> usize {
        match self {
            Spacing::Hz3750 => 1,
            Spacing::Hz15000 => 2,
        }
    }
}

/// Frequency of subcarrier `k^(-)` (0..N_sc^UL-1) of the NB-IoT uplink carrier relative to
/// the carrier centre, Hz: `(k^(-) - N_sc^UL/2 + 1/2) * Delta_f` (10.1.5, Table 10.1.5-1).
pub fn tone_freq_hz(spacing: Spacing, subcarrier: u32) -> f64 {
    (subcarrier as f64 - (spacing.n_sc_ul() / 2) as f64 + 0.5) * spacing.hz()
}

/// Slots per resource unit, `N_slots^UL`, for an NPUSCH format (1 or 2) and `N_sc^RU`
/// (Table 10.1.2.3-1), or `None` for a combination the table does not have. (The table also
/// restricts 3, 6, 12 tones to 15 kHz; that is checked by [`NpuschConfig::validate`].)
pub fn ru_slots(format: u8, tones: u32) -> Option<usize> {
    match (format, tones) {
        (1, 1) => Some(16),
        (1, 3) => Some(8),
        (1, 6) => Some(4),
        (1, 12) => Some(2),
        (2, 1) => Some(4),
        _ => None,
    }
}

/// SC-FDMA symbols `l` of each slot that carry the DMRS (Table 10.1.4.2-1), or an empty
/// slice for a format other than 1 or 2.
pub fn dmrs_symbols(format: u8, spacing: Spacing) -> &'static [usize] {
    match (format, spacing) {
        (1, Spacing::Hz3750) => &[4],
        (1, Spacing::Hz15000) => &[3],
        (2, Spacing::Hz3750) => &[0, 1, 2],
        (2, Spacing::Hz15000) => &[2, 3, 4],
        _ => &[],
    }
}

/// Start of the `slot`-th slot of an NPUSCH transmission (0 = first), Ts from the start of
/// the transmission, including the 40 ms gap inserted after every 256 ms of transmission
/// (10.1.3.6). Slot lengths divide 256 ms, so the gaps fall on slot boundaries.
pub fn slot_start_ts(spacing: Spacing, slot: usize) -> u64 {
    let t = slot as u64 * spacing.slot_ts() as u64;
    t + (t / UL_GAP_PERIOD_TS) * UL_GAP_TS
}

/// The single-tone phase rotation `phi_k(l~)`, l~ = 0..count-1, of 10.1.5, radians in
/// `[0, 2 pi)` up to the `rho` term:
///
/// ```text
///   phi_k(l~)    = rho (l~ mod 2) + phihat_k(l~)
///   phihat_k(0)  = 0
///   phihat_k(l~) = phihat_k(l~-1) + 2 pi Delta_f (k + 1/2) (N + N_CP,l) Ts
/// ```
///
/// with `k = subcarrier - N_sc^UL/2`, `rho` = pi/2 (pi/2-BPSK) or pi/4 (pi/4-QPSK), and `l =
/// l~ mod 7` the index in its slot of symbol `l~` (the counter starts at the first symbol of
/// a slot). Reading `N_CP,l` as the CP of the current symbol `l~` is what makes the phase
/// continuous from the end of symbol `l~-1` to the start of symbol `l~`. Since
/// `Delta_f N Ts = 1`, the increment is `2 pi (2k+1)(N + N_CP,l) / (2N)`, accumulated here
/// exactly in integers modulo `2N`.
///
/// `modulation` QPSK (multi-tone, no rotation) gives `rho = 0`.
pub fn single_tone_phases(
    spacing: Spacing,
    subcarrier: u32,
    modulation: NpuschModulation,
    count: usize,
) -> Vec<f64> {
    let n = spacing.symbol_ts() as i64;
    let two_k_plus_1 = 2 * (subcarrier as i64 - (spacing.n_sc_ul() / 2) as i64) + 1;
    let rho = modulation.rho();
    let mut acc: i64 = 0; // phihat = 2 pi acc / (2N)
    (0..count)
        .map(|lt| {
            if lt > 0 {
                let cp = spacing.cp_ts(lt % N_SYMB_UL) as i64;
                acc = (acc + two_k_plus_1 * (n + cp)).rem_euclid(2 * n);
            }
            rho * (lt % 2) as f64 + PI * acc as f64 / n as f64
        })
        .collect()
}

/// Single-tone DMRS base sequence `rbar(n)`, n = 0..n_slots-1, one value per slot of the
/// transmission (10.1.4.1.1, group hopping disabled):
///
/// ```text
///   rbar(n) = (1 + j)/sqrt(2) * (1 - 2 c(n)) * w_u(n mod 16),   u = N_ID^Ncell mod 16
/// ```
///
/// with `c(n)` the Gold sequence of 7.2 initialised with `c_init = 35` ([`DMRS_C_INIT`]) at
/// the start of the NPUSCH transmission and `w_u` row `u` of Table 10.1.4.1.1-1
/// ([`NPUSCH_W`]). Format 1 uses `r(n) = rbar(n)`; format 2 multiplies by an orthogonal
/// cover ([`format2_cover`]).
///
/// Unverified against the final clause text (no copy of 10.1.4.1.1 with its formulas was at
/// hand): whether the Gold bit is `c(n)` or `c(2n)`. `c(n)` is used, as in an independent
/// transcription of the Rel-13 CR and as usual for a BPSK-valued sequence; changing it is
/// one index here.
pub fn single_tone_dmrs_base(cell_id: u32, n_slots: usize) -> Vec<Complex64> {
    let c = gold(DMRS_C_INIT, n_slots);
    let w = &NPUSCH_W[(cell_id % 16) as usize];
    c.iter()
        .enumerate()
        .map(|(n, &bit)| {
            let s = (1 - 2 * bit as i32) * w[n % 16] as i32;
            Complex64::new(s as f64 * FRAC_1_SQRT_2, s as f64 * FRAC_1_SQRT_2)
        })
        .collect()
}

/// Orthogonal-cover index `n_oc` of the NPUSCH format 2 DMRS in the slot with number `n_s`
/// within its radio frame (10.1.4.1.1): `(sum_{i=0}^{7} c(8 n_s + i) 2^i) mod 3`, `c` the
/// Gold sequence of 7.2 with `c_init = N_ID^Ncell` (recalled, not checked against the
/// clause text: verify).
pub fn format2_cover_index(cell_id: u32, n_s: u32) -> usize {
    let base = 8 * n_s as usize;
    let c = gold(cell_id, base + 8);
    let v: usize = (0..8).map(|i| (c[base + i] as usize) << i).sum();
    v % 3
}

/// The orthogonal sequence `wbar(m)`, m = 0..2, of index `n_oc` (0..2) used by NPUSCH format 2:
/// Table 5.5.2.2.1-2 (normal CP): `[1 1 1]`, `[1 e^{j2pi/3} e^{j4pi/3}]`,
/// `[1 e^{j4pi/3} e^{j2pi/3}]`.
///
/// # Panics
/// If `n_oc > 2`.
pub fn format2_cover(n_oc: usize) -> [Complex64; 3] {
    assert!(n_oc < 3, "n_oc {n_oc} outside 0..2");
    let step = 2.0 * PI / 3.0 * n_oc as f64;
    [0.0, 1.0, 2.0].map(|m| Complex64::from_polar(1.0, step * m))
}

/// Number of DMRS base sequences for `N_sc^RU` tones (10.1.4.1.2): 12, 14, 30 for 3, 6, 12
/// tones (16 Hadamard rows for 1 tone), or `None` for another count.
pub fn n_base_sequences(tones: u32) -> Option<u32> {
    match tones {
        1 => Some(16),
        3 => Some(12),
        6 => Some(14),
        12 => Some(30),
        _ => None,
    }
}

/// Cyclic shift `alpha` of the multi-tone DMRS (Table 10.1.4.1.2-3): threeTone-CyclicShift
/// 0, 1, 2 -> 0, 2pi/3, 4pi/3; sixTone-CyclicShift 0, 1, 2, 3 -> 0, 2pi/6, 4pi/6, 8pi/6;
/// 0 for 12 tones. `None` for a value outside those.
pub fn cyclic_shift_alpha(tones: u32, cyclic_shift: u32) -> Option<f64> {
    match (tones, cyclic_shift) {
        (3, 0..=2) => Some(2.0 * PI * cyclic_shift as f64 / 3.0),
        (6, 0..=2) => Some(2.0 * PI * cyclic_shift as f64 / 6.0),
        (6, 3) => Some(8.0 * PI / 6.0),
        (12, 0) => Some(0.0),
        _ => None,
    }
}

/// Multi-tone DMRS `r_u(n) = e^{j alpha n} e^{j phi(n) pi/4}`, n = 0..tones-1 (10.1.4.1.2),
/// `phi` from Table 10.1.4.1.2-1 (3 tones), 10.1.4.1.2-2 (6 tones) or 5.5.1.2-1 (12 tones),
/// `alpha` from [`cyclic_shift_alpha`]. It is the same in every slot (group hopping off)
/// and is not DFT-precoded: `r_u(n)` sits directly on the `n`-th subcarrier of the allocation.
///
/// # Panics
/// If `tones` is not 3, 6 or 12, `u` is not below [`n_base_sequences`], or the cyclic shift
/// is not allowed for `tones`.
pub fn multi_tone_dmrs(tones: u32, u: u32, cyclic_shift: u32) -> Vec<Complex64> {
    let alpha = cyclic_shift_alpha(tones, cyclic_shift)
        .unwrap_or_else(|| panic!("cyclic shift {cyclic_shift} not allowed for {tones} tones"));
    let base: Vec<Complex64> = match tones {
        3 => phi_row(&NPUSCH_PHI_3_TONES[u as usize]),
        6 => phi_row(&NPUSCH_PHI_6_TONES[u as usize]),
        12 => base_sequence(u, 0, 12),
        _ => panic!("multi-tone DMRS for {tones} tones"),
    };
    base.iter()
        .enumerate()
        .map(|(n, b)| b * Complex64::from_polar(1.0, alpha * n as f64))
        .collect()
}

fn phi_row(phi: &[i8]) -> Vec<Complex64> {
    phi.iter()
        .map(|&p| Complex64::from_polar(1.0, p as f64 * PI / 4.0))
        .collect()
}

/// DMRS values of the first `n_slots` slots of the NPUSCH transmission `cfg` describes,
/// indexed `[slot][i][n]`: slot from the start of the transmission, `i` over the DMRS
/// symbols of the slot in the order of [`dmrs_symbols`], `n` over the allocated subcarriers
/// (10.1.4.1, mapping of 10.1.4.2). Single tone: `rbar(slot)` (format 1) or
/// `wbar(m) rbar(slot)`, m = 0..2 (format 2, `n_oc` from the slot number `n_s` =
/// `(start_slot + time slot) mod slots_per_frame`). Multi-tone: [`multi_tone_dmrs`].
/// These are the resource-element values before the single-tone rotation of 10.1.5.
pub fn dmrs_slots(
    cfg: &NpuschConfig,
    n_slots: usize,
) -> Result<Vec<Vec<Vec<Complex64>>>, SynthError> {
    cfg.validate()?;
    let sp = cfg.spacing()?;
    if cfg.tones > 1 {
        let r = multi_tone_dmrs(cfg.tones, cfg.base_sequence_index(), cfg.cyclic_shift);
        return Ok(vec![vec![r]; n_slots]);
    }
    let rbar = single_tone_dmrs_base(cfg.cell_id, n_slots);
    Ok(rbar
        .iter()
        .enumerate()
        .map(|(j, &rb)| {
            if cfg.format == 1 {
                vec![vec![rb]]
            } else {
                let w = format2_cover(format2_cover_index(cfg.cell_id, cfg.slot_number(sp, j)));
                w.iter().map(|&wm| vec![wm * rb]).collect()
            }
        })
        .collect())
}

/// Modulation of the NPUSCH data (Table 10.1.3.2-1; mapping tables of 7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NpuschModulation {
    /// pi/2-BPSK: BPSK of Table 7.1.1-1, `+-(1+j)/sqrt2`, rotated by `pi/2 (l~ mod 2)` in
    /// the baseband (10.1.5). Single tone, formats 1 and 2.
    #[serde(rename = "pi/2-bpsk")]
    Pi2Bpsk,
    /// pi/4-QPSK: QPSK of Table 7.1.2-1 rotated by `pi/4 (l~ mod 2)` (10.1.5). Single tone,
    /// format 1.
    #[serde(rename = "pi/4-qpsk")]
    Pi4Qpsk,
    /// QPSK of Table 7.1.2-1, DFT-precoded (10.1.3.4). Multi-tone (3, 6, 12), format 1.
    #[serde(rename = "qpsk")]
    Qpsk,
}

impl NpuschModulation {
    /// Name as in the configuration and in `params`.
    pub fn name(self) -> &'static str {
        match self {
            NpuschModulation::Pi2Bpsk => "pi/2-bpsk",
            NpuschModulation::Pi4Qpsk => "pi/4-qpsk",
            NpuschModulation::Qpsk => "qpsk",
        }
    }

    /// `rho` of the single-tone rotation (10.1.5): pi/2, pi/4, or 0 for QPSK.
    pub fn rho(self) -> f64 {
        match self {
            NpuschModulation::Pi2Bpsk => PI / 2.0,
            NpuschModulation::Pi4Qpsk => PI / 4.0,
            NpuschModulation::Qpsk => 0.0,
        }
    }

    /// Bits per modulation symbol.
    pub fn bits(self) -> usize {
        match self {
            NpuschModulation::Pi2Bpsk => 1,
            _ => 2,
        }
    }
}

/// Configuration of one NPUSCH transmission (a UE's scheduled data or HARQ-ACK with all its
/// repetitions). Parameter names follow 36.211/36.213.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NpuschConfig {
    /// NPUSCH format: 1 (UL-SCH data) or 2 (HARQ-ACK).
    pub format: u8,
    /// Subcarrier spacing `Delta_f`, Hz: 3750 or 15000.
    pub spacing_hz: u32,
    /// Subcarriers per resource unit `N_sc^RU`: 1; or 3, 6, 12 with 15 kHz and format 1
    /// (Table 10.1.2.3-1).
    pub tones: u32,
    /// First allocated subcarrier `k^(-)` (36.213 16.5.1.1, I_sc): single tone 0..47 (3.75
    /// kHz) or 0..11 (15 kHz); 3 tones 0, 3, 6, 9; 6 tones 0, 6; 12 tones 0.
    pub first_subcarrier: u32,
    /// Resource units per codeword `N_RU` (36.213 Table 16.5.1.1-2): 1, 2, 3, 4, 5, 6, 8, 10;
    /// format 2 uses 1.
    pub n_ru: u32,
    /// Repetitions `M_rep^NPUSCH`: 1, 2, 4, ..., 128 (36.213 Table 16.5.1.1-3).
    pub repetitions: u32,
    /// Physical cell id `N_ID^Ncell`, 0..503.
    pub cell_id: u32,
    /// Data modulation (Table 10.1.3.2-1). `None`: pi/4-QPSK for single-tone format 1,
    /// pi/2-BPSK for format 2, QPSK for multi-tone.
    pub modulation: Option<NpuschModulation>,
    /// Slot number `n_s` in its radio frame of the first slot: 0, 2, ..., 18 with 15 kHz (the
    /// transmission starts at a subframe), 0..4 with 3.75 kHz. Only the format 2 DMRS cover
    /// depends on it.
    pub start_slot: u32,
    /// Signalled DMRS base sequence (threeTone-BaseSequence 0..11, sixTone-BaseSequence 0..13,
    /// twelveTone-BaseSequence 0..29; 10.1.4.1.2). `None`: `N_ID^Ncell mod 12 / 14 / 30`.
    /// Must be `None` for one tone.
    pub base_sequence: Option<u32>,
    /// Multi-tone DMRS cyclic shift (threeTone-CyclicShift 0..2, sixTone-CyclicShift 0..3,
    /// Table 10.1.4.1.2-3); 0 for 1 and 12 tones.
    pub cyclic_shift: u32,
}

impl Default for NpuschConfig {
    fn default() -> Self {
        NpuschConfig {
            format: 1,
            spacing_hz: 15000,
            tones: 1,
            first_subcarrier: 0,
            n_ru: 1,
            repetitions: 1,
            cell_id: 0,
            modulation: None,
            start_slot: 0,
            base_sequence: None,
            cyclic_shift: 0,
        }
    }
}

impl NpuschConfig {
    /// Checks every parameter against the sets the clauses allow.
    pub fn validate(&self) -> Result<(), SynthError> {
        if !matches!(self.format, 1 | 2) {
            return Err(bad("format", self.format, "1 or 2"));
        }
        let sp = self.spacing()?;
        let tones_ok = match (self.format, sp) {
            (1, Spacing::Hz15000) => matches!(self.tones, 1 | 3 | 6 | 12),
            _ => self.tones == 1,
        };
        if !tones_ok {
            let allowed = if self.format == 1 && sp == Spacing::Hz15000 {
                "1, 3, 6 or 12"
            } else {
                "1 (format 2 and 3.75 kHz are single-tone)"
            };
            return Err(bad("tones", self.tones, allowed));
        }
        let sc_ok = match self.tones {
            1 => self.first_subcarrier < sp.n_sc_ul(),
            t => self.first_subcarrier % t == 0 && self.first_subcarrier + t <= 12,
        };
        if !sc_ok {
            let allowed = match self.tones {
                1 => format!("0..{}", sp.n_sc_ul() - 1),
                3 => "0, 3, 6 or 9".into(),
                6 => "0 or 6".into(),
                _ => "0".into(),
            };
            return Err(bad("first_subcarrier", self.first_subcarrier, allowed));
        }
        if self.format == 2 && self.n_ru != 1 {
            return Err(bad("n_ru", self.n_ru, "1 for format 2"));
        }
        if !matches!(self.n_ru, 1..=6 | 8 | 10) {
            return Err(bad("n_ru", self.n_ru, "1, 2, 3, 4, 5, 6, 8 or 10"));
        }
        if !(self.repetitions.is_power_of_two() && self.repetitions <= 128) {
            return Err(bad("repetitions", self.repetitions, "1, 2, 4, ..., 128"));
        }
        if self.cell_id > 503 {
            return Err(bad("cell_id", self.cell_id, "0..503"));
        }
        let m = self.resolved_modulation();
        let m_ok = match (self.format, self.tones) {
            (2, _) => m == NpuschModulation::Pi2Bpsk,
            (_, 1) => m != NpuschModulation::Qpsk,
            _ => m == NpuschModulation::Qpsk,
        };
        if !m_ok {
            let allowed = match (self.format, self.tones) {
                (2, _) => "pi/2-bpsk for format 2",
                (_, 1) => "pi/2-bpsk or pi/4-qpsk for one tone",
                _ => "qpsk for 3, 6, 12 tones",
            };
            return Err(bad("modulation", m.name(), allowed));
        }
        let slot_ok = match sp {
            Spacing::Hz15000 => self.start_slot < 20 && self.start_slot % 2 == 0,
            Spacing::Hz3750 => self.start_slot < 5,
        };
        if !slot_ok {
            let allowed = match sp {
                Spacing::Hz15000 => "0, 2, ..., 18 with 15 kHz",
                Spacing::Hz3750 => "0..4 with 3.75 kHz",
            };
            return Err(bad("start_slot", self.start_slot, allowed));
        }
        if let Some(u) = self.base_sequence {
            if self.tones == 1 {
                return Err(bad("base_sequence", u, "unset for one tone"));
            }
            let n = n_base_sequences(self.tones).unwrap_or(0);
            if u >= n {
                return Err(bad(
                    "base_sequence",
                    u,
                    format!("0..{}", n.saturating_sub(1)),
                ));
            }
        }
        let cs_ok = match self.tones {
            1 => self.cyclic_shift == 0,
            t => cyclic_shift_alpha(t, self.cyclic_shift).is_some(),
        };
        if !cs_ok {
            let allowed = match self.tones {
                3 => "0..2",
                6 => "0..3",
                _ => "0 for 1 and 12 tones",
            };
            return Err(bad("cyclic_shift", self.cyclic_shift, allowed));
        }
        Ok(())
    }

    /// The subcarrier spacing, or the error for a value other than 3750 / 15000.
    pub fn spacing(&self) -> Result<Spacing, SynthError> {
        Spacing::from_hz(self.spacing_hz)
            .ok_or_else(|| SynthError::param(GEN, "spacing_hz", self.spacing_hz, "3750 or 15000"))
    }

    /// The modulation used: the configured one, or the default of Table 10.1.3.2-1 for the
    /// format and tone count.
    pub fn resolved_modulation(&self) -> NpuschModulation {
        match (self.modulation, self.format, self.tones) {
            (Some(m), _, _) => m,
            (None, 2, _) => NpuschModulation::Pi2Bpsk,
            (None, _, 1) => NpuschModulation::Pi4Qpsk,
            (None, _, _) => NpuschModulation::Qpsk,
        }
    }

    /// Multi-tone DMRS base sequence index `u`: the signalled one or `N_ID^Ncell mod 12 / 14
    /// / 30` (10.1.4.1.2); for one tone the Hadamard row `N_ID^Ncell mod 16` (10.1.4.1.1).
    pub fn base_sequence_index(&self) -> u32 {
        let n = n_base_sequences(self.tones).unwrap_or(16);
        self.base_sequence.unwrap_or(self.cell_id % n)
    }

    /// `M_identical^NPUSCH` of 10.1.3.6: `min(ceil(M_rep/2), 4)` for more than one tone, else 1.
    pub fn m_identical(&self) -> u32 {
        if self.tones > 1 {
            self.repetitions.div_ceil(2).min(4)
        } else {
            1
        }
    }

    /// Slots of the whole transmission, `M_rep * N_RU * N_slots^UL` (0 for an invalid
    /// format / tone combination).
    pub fn total_slots(&self) -> usize {
        ru_slots(self.format, self.tones).unwrap_or(0)
            * self.n_ru as usize
            * self.repetitions as usize
    }

    /// Slot number `n_s` in its radio frame of the `slot`-th slot of the transmission. The
    /// 40 ms uplink gaps are whole frames, so they do not change it.
    fn slot_number(&self, sp: Spacing, slot: usize) -> u32 {
        let time_slot = slot_start_ts(sp, slot) / sp.slot_ts() as u64;
        ((self.start_slot as u64 + time_slot) % sp.slots_per_frame() as u64) as u32
    }
}

/// A time in Ts as seconds, correctly rounded (`Ts = 1/30.72 MHz`, 4).
fn ts_to_s(ts: u64) -> f64 {
    ts as f64 / 30_720_000.0
}

/// One modulation symbol of Table 7.1.1-1 (BPSK) or 7.1.2-1 (QPSK) from random bits.
fn random_symbol(m: NpuschModulation, rng: &mut impl rand::Rng) -> Complex64 {
    let s = |b: bool| if b { -FRAC_1_SQRT_2 } else { FRAC_1_SQRT_2 };
    match m {
        NpuschModulation::Pi2Bpsk => {
            let v = s(rng.random::<bool>());
            Complex64::new(v, v)
        }
        _ => {
            let b0 = rng.random::<bool>();
            let b1 = rng.random::<bool>();
            Complex64::new(s(b0), s(b1))
        }
    }
}

/// Transform precoding of 10.1.3.4 (5.3.3 with `M_sc` = `N_sc^RU`) of one symbol's block:
/// `z(k) = 1/sqrt(M) sum_i y(i) e^{-j 2 pi i k / M}`.
fn dft_precode(y: &[Complex64]) -> Vec<Complex64> {
    let m = y.len();
    let norm = 1.0 / (m as f64).sqrt();
    (0..m)
        .map(|k| {
            y.iter()
                .enumerate()
                .map(|(i, v)| {
                    v * Complex64::from_polar(1.0, -2.0 * PI * ((i * k) % m) as f64 / m as f64)
                })
                .sum::<Complex64>()
                * norm
        })
        .collect()
}

/// Generates the NPUSCH transmission `cfg` describes, data drawn from `rng`.
///
/// One [`Segment`] per SC-FDMA symbol (CP included, `t_ref_s` at the end of the CP, where
/// the clause's `t - N_CP,l Ts` is zero), time 0 at the start of the first symbol,
/// frequencies relative to the NB-IoT carrier centre, normalised to unit mean power over the
/// transmitted symbols. The burst ends with the last transmitted symbol (the 3.75 kHz guard
/// of the last slot is not part of it).
pub fn generate(cfg: &NpuschConfig, rng: &mut impl rand::Rng) -> Result<SynthBurst, SynthError> {
    cfg.validate()?;
    let sp = cfg.spacing()?;
    let modulation = cfg.resolved_modulation();
    let tones = cfg.tones as usize;
    let dmrs_l = dmrs_symbols(cfg.format, sp);
    let total_slots = cfg.total_slots();
    let cw_slots = ru_slots(cfg.format, cfg.tones).unwrap_or(0) * cfg.n_ru as usize;
    let per_slot = (N_SYMB_UL - dmrs_l.len()) * tones;

    // Data per slot of the transmission: codeword passes of M_identical repetitions, each
    // mapping N_slots-slot chunks M_identical times (10.1.3.6).
    let m_id = cfg.m_identical() as usize;
    let chunk = if m_id > 1 {
        sp.identical_chunk_slots()
    } else {
        1
    };
    let passes = cfg.repetitions as usize / m_id;
    let mut slot_data: Vec<Vec<Complex64>> = Vec::with_capacity(total_slots);
    for _ in 0..passes {
        let cw: Vec<Complex64> = (0..cw_slots * per_slot)
            .map(|_| random_symbol(modulation, rng))
            .collect();
        for c in cw.chunks(chunk * per_slot) {
            for _ in 0..m_id {
                slot_data.extend(c.chunks(per_slot).map(<[Complex64]>::to_vec));
            }
        }
    }
    debug_assert_eq!(slot_data.len(), total_slots);

    let dmrs = dmrs_slots(cfg, total_slots)?;
    let phases = if tones == 1 {
        single_tone_phases(
            sp,
            cfg.first_subcarrier,
            modulation,
            total_slots * N_SYMB_UL,
        )
    } else {
        Vec::new()
    };
    let freqs: Vec<f64> = (0..cfg.tones)
        .map(|i| tone_freq_hz(sp, cfg.first_subcarrier + i))
        .collect();

    let mut segments = Vec::with_capacity(total_slots * N_SYMB_UL);
    for (j, data) in slot_data.iter().enumerate() {
        let slot0 = slot_start_ts(sp, j);
        let mut data_syms = data.chunks(tones);
        for l in 0..N_SYMB_UL {
            let values: Vec<Complex64> = match dmrs_l.iter().position(|&d| d == l) {
                Some(i) => dmrs[j][i].clone(),
                None => {
                    let y = data_syms.next().unwrap_or_default();
                    if tones == 1 {
                        y.to_vec()
                    } else {
                        dft_precode(y)
                    }
                }
            };
            let rot = if tones == 1 {
                Complex64::from_polar(1.0, phases[j * N_SYMB_UL + l])
            } else {
                Complex64::new(1.0, 0.0)
            };
            let start_ts = slot0 + sp.symbol_start_ts(l) as u64;
            let cp = sp.cp_ts(l) as u64;
            // Times as correctly rounded quotients, and the length as a difference, so that
            // `start_s + len_s` equals the next symbol's `start_s` bit for bit (Sterbenz) and
            // no sample at a symbol boundary is rendered twice or skipped.
            let start_s = ts_to_s(start_ts);
            let end_s = ts_to_s(start_ts + cp + sp.symbol_ts() as u64);
            segments.push(Segment {
                start_s,
                len_s: end_s - start_s,
                t_ref_s: ts_to_s(start_ts + cp),
                tones: values
                    .iter()
                    .zip(&freqs)
                    .map(|(&v, &f)| Tone {
                        freq_hz: f,
                        coeff: v * rot,
                    })
                    .collect(),
            });
        }
    }
    let mut signal = Burst { segments };
    normalise(&mut signal);

    let center_hz = freqs.iter().sum::<f64>() / freqs.len().max(1) as f64;
    let mut params = serde_json::Map::new();
    let mut put = |k: &str, v: serde_json::Value| {
        params.insert(k.to_string(), v);
    };
    put("format", cfg.format.into());
    put("tones", cfg.tones.into());
    put("spacing_hz", cfg.spacing_hz.into());
    put("first_subcarrier", cfg.first_subcarrier.into());
    put("n_ru", cfg.n_ru.into());
    put("repetitions", cfg.repetitions.into());
    put("modulation", modulation.name().into());
    put("cell_id", cfg.cell_id.into());
    put("start_slot", cfg.start_slot.into());
    put("base_sequence", cfg.base_sequence_index().into());
    put("cyclic_shift", cfg.cyclic_shift.into());
    Ok(SynthBurst {
        signal,
        kind: Kind::Npusch,
        tech: Tech::NbIot,
        center_hz,
        bandwidth_hz: cfg.tones as f64 * sp.hz(),
        snr_bandwidth_hz: 180e3,
        params,
    })
}
