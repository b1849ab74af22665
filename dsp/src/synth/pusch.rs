//! LTE PUSCH generator: the uplink data channel of phones (LTE) and of Cat-M1 modules
//! (LTE-M, eMTC), TS 36.211 Rel-13+.
//!
//! # Waveform
//! One subframe (1 ms) = two slots of 15360 Ts; a slot holds 7 SC-FDMA symbols with normal
//! cyclic prefix (CP 160 Ts for l = 0, 144 Ts otherwise, symbol 2048 Ts; Table 5.6-1) or 6
//! with extended CP (512 Ts each). Symbol l = 3 (normal CP) or l = 2 (extended CP) of every
//! slot carries the DMRS ([`dmrs`], 5.5.2.1); the others carry data:
//!
//! ```text
//!  bits -> QPSK / 16QAM (7.1) -> transform precoding, z = DFT(d) / sqrt(M_sc) (5.3.3)
//!       -> n_prb contiguous PRBs (5.3.4) -> SC-FDMA with the 7.5 kHz shift (5.6):
//!  s_l(t) = sum_k a_{k(-),l} e^{j 2 pi (k + 1/2) df (t - N_CP,l Ts)},  k(-) = k + 6 N_RB_UL
//! ```
//!
//! so resource-element subcarrier `k(-)` (0 .. 12 N_RB_UL - 1) sits at
//! `(k(-) - 6 N_RB_UL + 1/2) x 15 kHz` from the carrier centre ([`subcarrier_freq_hz`]). The
//! bits are random (a seeded RNG): no transport channel coding, scrambling (5.3.1), SRS or
//! PUCCH. Single layer, single antenna port, no orthogonal cover code on the DMRS, no
//! intra-/inter-subframe PUSCH hopping of 5.3.4 type 1/2 (phones), frame structure type 1.
//!
//! # LTE-M (`lte_m = true`)
//! - The allocation (at most 6 PRB) lies inside narrowband `narrowband` of 36.211 5.2.4
//!   ([`narrowband_first_prb`]): `N_NB^UL = floor(N_RB^UL / 6)` narrowbands of 6 PRBs from
//!   `i0 = floor(N_RB^UL / 2) - 6 N_NB^UL / 2`, the centre PRB skipped for odd `N_RB^UL`.
//!   `nb_first_prb` is the offset of the first PRB inside the narrowband (as in DCI 6-0A).
//! - `repetitions`: each subframe's data symbols are sent again in the following
//!   `repetitions - 1` subframes. APPROXIMATION: in the standard the scrambling (5.3.1,
//!   re-initialised every `N_acc` subframes for BL/CE UEs) and the redundancy version
//!   (36.213 8.6.1) change along the repetitions; with random bits and no channel coding
//!   we repeat the modulation symbols unchanged. The DMRS follows the slot number, so with
//!   group hopping it changes from slot to slot as the clause requires.
//! - Narrowband hopping (36.211 5.3.4, BL/CE UEs, FDD): with `hop_narrowbands` non-empty the
//!   narrowband of absolute subframe `i` is `cycle[(j - j0) mod len]`, where `cycle =
//!   [narrowband] ++ hop_narrowbands`, `j = floor(i / hop_interval)` and `j0` is `j` of the
//!   first subframe (`i = 10 sfn + n_s / 2`, `i_Delta = 0` for FDD). With one hop narrowband
//!   `b` this is exactly the Rel-13 rule, `f_NB,hop^UL = (b - narrowband) mod N_NB^UL` and
//!   `N_NB^ch,UL = hop_interval`; longer cycles generalise it (APPROXIMATION of the later
//!   releases' multi-narrowband hopping). The PRB offset inside the narrowband is kept.
//!   At each narrowband change the UE's retuning guard period of 36.211 5.2.5 is applied
//!   for PUSCH followed by PUSCH: the last SC-FDMA symbol of the earlier subframe and the
//!   first of the later one are not transmitted.
//!
//! # Detection hints
//! Energy on a multiple of 180 kHz on the 15 kHz grid shifted by 7.5 kHz; 0.5 ms slots with
//! a CP correlation at lag 2048 Ts whose sign is negative (the half-subcarrier shift makes
//! the CP equal to minus the symbol's tail, see the tests); a constant-envelope-spectrum
//! DMRS in the middle symbol of each slot, from 30 (60) base sequences x 12 cyclic shifts.
//! LTE-M: <= 6 PRB inside a 5.2.4 narrowband, identical data over consecutive subframes.

pub mod dmrs;

pub use dmrs::{cyclic_shift, dmrs_sequence, group_number, n_pn, sequence_number};

use super::{normalise, Kind, SynthBurst, SynthError, Tech};
use crate::numerology::{n_rb_for_bandwidth_mhz, DELTA_F_HZ, N_SC_RB, TS_S};
use crate::signal::{Burst, Segment, Tone};
use num_complex::Complex64;
use rand::Rng;
use rustfft::FftPlanner;
use serde::{Deserialize, Serialize};
use serde_json::json;

const GEN: &str = "pusch";

/// Length of a slot in Ts (4.1, 5.2.1): 0.5 ms.
pub const SLOT_TS: u32 = 15360;

/// Length of a subframe in Ts: 1 ms.
pub const SUBFRAME_TS: u32 = 2 * SLOT_TS;

/// SC-FDMA useful symbol length `N` in Ts for 15 kHz (5.6).
pub const SYMBOL_TS: u32 = 2048;

/// Largest number of distinct subframes of one burst (a generator limit, not the clause's).
pub const MAX_SUBFRAMES: u32 = 100;

/// Largest `n_subframes x repetitions` (2048 is the largest BL/CE PUSCH repetition number).
pub const MAX_TOTAL_SUBFRAMES: u32 = 2048;

/// PUSCH repetition numbers of BL/CE UEs (36.213 8.0 / 36.331 pusch-maxNumRepetitionCEmodeA
/// and -B; CE mode A uses 1..32, CE mode B up to 2048).
pub const LTE_M_REPETITIONS: [u32; 16] = [
    1, 2, 4, 8, 16, 32, 64, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048,
];

/// Narrowband hopping intervals `N_NB^ch,UL` for FDD, subframes (36.331
/// interval-ULHoppingConfigCommon: CE mode A 1, 2, 4, 8; CE mode B 2, 4, 8, 16).
pub const LTE_M_HOP_INTERVALS: [u32; 5] = [1, 2, 4, 8, 16];

/// Uplink cyclic prefix (Table 5.6-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CyclicPrefix {
    /// Normal CP: 7 symbols per slot, CP 160 Ts (l = 0) and 144 Ts (l = 1..6).
    #[default]
    Normal,
    /// Extended CP: 6 symbols per slot, CP 512 Ts.
    Extended,
}

impl CyclicPrefix {
    /// SC-FDMA symbols per slot, `N_symb^UL`.
    pub fn symbols_per_slot(self) -> usize {
        dmrs::symbols_per_slot(self) as usize
    }

    /// Cyclic-prefix length `N_CP,l` of symbol `l` in Ts (Table 5.6-1).
    pub fn cp_len_ts(self, l: usize) -> u32 {
        match (self, l) {
            (CyclicPrefix::Normal, 0) => 160,
            (CyclicPrefix::Normal, _) => 144,
            (CyclicPrefix::Extended, _) => 512,
        }
    }

    /// Start of symbol `l` (its CP) from the slot start, Ts.
    pub fn symbol_start_ts(self, l: usize) -> u32 {
        (0..l).map(|i| self.cp_len_ts(i) + SYMBOL_TS).sum()
    }

    /// Symbol index of the PUSCH DMRS in each slot (5.5.2.1.2): 3 normal CP, 2 extended CP.
    pub fn dmrs_symbol(self) -> usize {
        match self {
            CyclicPrefix::Normal => 3,
            CyclicPrefix::Extended => 2,
        }
    }

    fn name(self) -> &'static str {
        match self {
            CyclicPrefix::Normal => "normal",
            CyclicPrefix::Extended => "extended",
        }
    }
}

/// PUSCH data modulation (5.3.2, mapping of 7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Modulation {
    /// QPSK, Table 7.1.2-1.
    #[default]
    #[serde(rename = "qpsk")]
    Qpsk,
    /// 16QAM, Table 7.1.3-1.
    #[serde(rename = "16qam")]
    Qam16,
}

impl Modulation {
    /// Bits per modulation symbol.
    pub fn bits_per_symbol(self) -> usize {
        match self {
            Modulation::Qpsk => 2,
            Modulation::Qam16 => 4,
        }
    }

    /// Maps `bits_per_symbol()` bits `b(i), b(i+1), ...` (each 0 or 1) to a symbol of unit
    /// mean energy per 7.1.2 (QPSK: `((1 - 2 b0) + j (1 - 2 b1)) / sqrt 2`) and 7.1.3
    /// (16QAM: `((1 - 2 b0)(1 + 2 b2) + j (1 - 2 b1)(1 + 2 b3)) / sqrt 10`, the closed form
    /// of Table 7.1.3-1).
    ///
    /// # Panics
    /// If `bits` is shorter than `bits_per_symbol()`.
    pub fn map(self, bits: &[u8]) -> Complex64 {
        let s = |b: u8| 1.0 - 2.0 * (b & 1) as f64;
        match self {
            Modulation::Qpsk => Complex64::new(s(bits[0]), s(bits[1])) / 2f64.sqrt(),
            Modulation::Qam16 => {
                let i = s(bits[0]) * (2.0 - s(bits[2]));
                let q = s(bits[1]) * (2.0 - s(bits[3]));
                Complex64::new(i, q) / 10f64.sqrt()
            }
        }
    }

    fn name(self) -> &'static str {
        match self {
            Modulation::Qpsk => "qpsk",
            Modulation::Qam16 => "16qam",
        }
    }
}

/// Configuration of a PUSCH burst (cell and UE parameters), embedded verbatim in scenario
/// files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PuschConfig {
    /// Carrier bandwidth, MHz: 1.4, 3, 5, 10, 15 or 20 (`N_RB^UL` 6 .. 100).
    pub bandwidth_mhz: f64,
    /// Allocated PRBs `M_RB^PUSCH`, 1 ..= N_RB^UL, of the form `2^a 3^b 5^c` (5.3.3); at
    /// most 6 for LTE-M.
    pub n_prb: u32,
    /// First allocated PRB, `n_PRB` (LTE only; with `lte_m` see `nb_first_prb`).
    pub first_prb: u32,
    /// Physical cell identity `N_ID^cell`, 0..503.
    pub cell_id: u32,
    /// `Delta_ss` of 5.5.1.3 (groupAssignmentPUSCH), 0..29.
    pub delta_ss: u32,
    /// Higher-layer `cyclicShift` 0..7, giving `n_DMRS(1)` by Table 5.5.2.1.1-2.
    pub cyclic_shift_cfg: u32,
    /// "Cyclic shift for DMRS" field of the uplink DCI 0..7 (binary 000..111), giving
    /// `n_DMRS,0(2)` by Table 5.5.2.1.1-1. Use 0 for a random-access-response grant or
    /// semi-persistent PUSCH (the clause's rule) and for LTE-M (DCI 6-0A/6-0B carry no such
    /// field; verify).
    pub cyclic_shift_dci: u32,
    /// NOT 3GPP: a direct `n_cs` (0..11) used in every slot instead of the 5.5.2.1.1
    /// formula, for tests and for a fixed-shift emitter. `None` (absent) uses the clause.
    pub n_cs_override: Option<u32>,
    /// Group hopping (5.5.1.3, Group-hopping-enabled).
    pub group_hopping: bool,
    /// Sequence hopping (5.5.1.4, Sequence-hopping-enabled); effective only for >= 6 PRB and
    /// with group hopping off.
    pub sequence_hopping: bool,
    /// Slot number `n_s` (in the radio frame, 0..19) of the first slot; even, since a PUSCH
    /// starts with a subframe.
    pub slot_start: u32,
    /// System frame number of the first subframe, 0..1023 (only the narrowband hopping
    /// phase depends on it).
    pub sfn: u32,
    /// Data modulation.
    pub modulation: Modulation,
    /// Number of distinct subframes (each repeated `repetitions` times), 1 ..= 100.
    pub n_subframes: u32,
    /// Cyclic prefix.
    pub cyclic_prefix: CyclicPrefix,
    /// LTE-M (Cat-M1) transmission: narrowband allocation, repetitions, narrowband hopping.
    pub lte_m: bool,
    /// LTE-M: narrowband index (5.2.4), 0 .. N_NB^UL - 1.
    pub narrowband: u32,
    /// LTE-M: offset of the first allocated PRB inside the narrowband, 0..5.
    pub nb_first_prb: u32,
    /// LTE-M: transmissions of each subframe, one of [`LTE_M_REPETITIONS`] (1 for LTE).
    pub repetitions: u32,
    /// LTE-M: subframes between narrowband hops, `N_NB^ch,UL`, one of
    /// [`LTE_M_HOP_INTERVALS`] (used when `hop_narrowbands` is not empty).
    pub hop_interval: u32,
    /// LTE-M: narrowbands visited after `narrowband`, in order, cyclically; empty = no
    /// hopping.
    pub hop_narrowbands: Vec<u32>,
}

impl Default for PuschConfig {
    fn default() -> Self {
        PuschConfig {
            bandwidth_mhz: 10.0,
            n_prb: 6,
            first_prb: 22,
            cell_id: 0,
            delta_ss: 0,
            cyclic_shift_cfg: 0,
            cyclic_shift_dci: 0,
            n_cs_override: None,
            group_hopping: false,
            sequence_hopping: false,
            slot_start: 0,
            sfn: 0,
            modulation: Modulation::Qpsk,
            n_subframes: 1,
            cyclic_prefix: CyclicPrefix::Normal,
            lte_m: false,
            narrowband: 0,
            nb_first_prb: 0,
            repetitions: 1,
            hop_interval: 4,
            hop_narrowbands: Vec::new(),
        }
    }
}

/// Where one transmitted subframe of a burst goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubframeAlloc {
    /// Slot number `n_s` (0..19) of the subframe's first slot.
    pub n_s: u32,
    /// First allocated PRB (absolute, `n_PRB`).
    pub first_prb: u32,
    /// LTE-M narrowband, `None` for LTE.
    pub narrowband: Option<u32>,
    /// First SC-FDMA symbol left out (retuning guard, 5.2.5).
    pub blank_first: bool,
    /// Last SC-FDMA symbol left out (retuning guard, 5.2.5).
    pub blank_last: bool,
}

/// True when `n` is `2^a 3^b 5^c` (the allowed `M_RB^PUSCH` of 5.3.3), `n >= 1`.
pub fn is_235_smooth(n: u32) -> bool {
    if n == 0 {
        return false;
    }
    let mut n = n;
    for p in [2, 3, 5] {
        while n % p == 0 {
            n /= p;
        }
    }
    n == 1
}

/// Number of uplink narrowbands `N_NB^UL = floor(N_RB^UL / 6)` (36.211 5.2.4).
pub fn narrowband_count(n_rb_ul: u32) -> u32 {
    n_rb_ul / 6
}

/// First PRB of uplink narrowband `n_nb` (36.211 5.2.4): narrowband `n_nb` is PRBs
/// `6 n_nb + i0 + i`, i = 0..5, with `i0 = floor(N_RB^UL / 2) - 6 N_NB^UL / 2`, plus one
/// more for odd `N_RB^UL` and `n_nb >= N_NB^UL / 2` (the centre PRB is left out). `None` if
/// `n_nb >= N_NB^UL`.
pub fn narrowband_first_prb(n_rb_ul: u32, n_nb: u32) -> Option<u32> {
    let n_nb_ul = narrowband_count(n_rb_ul);
    if n_nb >= n_nb_ul {
        return None;
    }
    // 6 N_NB / 2 = 3 N_NB is an integer for any N_NB.
    let i0 = n_rb_ul / 2 - 3 * n_nb_ul;
    // n_nb >= N_NB / 2  <=>  2 n_nb >= N_NB (exact for odd N_NB too).
    let skip = u32::from(n_rb_ul % 2 == 1 && 2 * n_nb >= n_nb_ul);
    Some(6 * n_nb + i0 + skip)
}

/// Baseband frequency of resource-element subcarrier `k` (0 .. 12 N_RB^UL - 1) relative to
/// the carrier centre (5.6): `(k - 6 N_RB^UL + 1/2) x 15 kHz`.
pub fn subcarrier_freq_hz(k: u32, n_rb_ul: u32) -> f64 {
    (k as f64 - (n_rb_ul as usize * N_SC_RB / 2) as f64 + 0.5) * DELTA_F_HZ
}

/// Centre of an allocation of `n_prb` PRBs from `first_prb` relative to the carrier centre
/// (the 7.5 kHz shift included): the midpoint of its lowest and highest subcarrier,
/// `(12 first_prb + 6 n_prb - 6 N_RB^UL) x 15 kHz`.
pub fn allocation_center_hz(first_prb: u32, n_prb: u32, n_rb_ul: u32) -> f64 {
    let k0 = first_prb * N_SC_RB as u32;
    let k1 = k0 + n_prb * N_SC_RB as u32 - 1;
    0.5 * (subcarrier_freq_hz(k0, n_rb_ul) + subcarrier_freq_hz(k1, n_rb_ul))
}

impl PuschConfig {
    /// `N_RB^UL` of the configured bandwidth, or `None` for a bandwidth LTE does not have.
    pub fn n_rb_ul(&self) -> Option<u32> {
        n_rb_for_bandwidth_mhz(self.bandwidth_mhz)
    }

    /// Subcarriers of the allocation, `M_sc^PUSCH = 12 n_prb`.
    pub fn m_sc(&self) -> usize {
        self.n_prb as usize * N_SC_RB
    }

    /// Data (non-DMRS) SC-FDMA symbols per subframe: 12 normal CP, 10 extended CP.
    pub fn data_symbols_per_subframe(&self) -> usize {
        2 * (self.cyclic_prefix.symbols_per_slot() - 1)
    }

    /// Subframes transmitted, `n_subframes x repetitions`.
    pub fn total_subframes(&self) -> u32 {
        self.n_subframes * self.repetitions
    }

    /// Checks every parameter against the clause (and the generator's size limits).
    pub fn validate(&self) -> Result<(), SynthError> {
        let n_rb = self.n_rb_ul().ok_or_else(|| {
            SynthError::param(
                GEN,
                "bandwidth_mhz",
                self.bandwidth_mhz,
                "1.4, 3, 5, 10, 15 or 20",
            )
        })?;
        if self.cell_id > 503 {
            return Err(SynthError::param(GEN, "cell_id", self.cell_id, "0..=503"));
        }
        if self.delta_ss > 29 {
            return Err(SynthError::param(GEN, "delta_ss", self.delta_ss, "0..=29"));
        }
        if self.cyclic_shift_cfg > 7 {
            return Err(SynthError::param(
                GEN,
                "cyclic_shift_cfg",
                self.cyclic_shift_cfg,
                "0..=7",
            ));
        }
        if self.cyclic_shift_dci > 7 {
            return Err(SynthError::param(
                GEN,
                "cyclic_shift_dci",
                self.cyclic_shift_dci,
                "0..=7",
            ));
        }
        if let Some(n) = self.n_cs_override {
            if n > 11 {
                return Err(SynthError::param(GEN, "n_cs_override", n, "0..=11"));
            }
        }
        if self.slot_start > 19 || self.slot_start % 2 == 1 {
            return Err(SynthError::param(
                GEN,
                "slot_start",
                self.slot_start,
                "an even slot number 0..=18 (a PUSCH starts with a subframe)",
            ));
        }
        if self.sfn > 1023 {
            return Err(SynthError::param(GEN, "sfn", self.sfn, "0..=1023"));
        }
        if self.n_subframes == 0 || self.n_subframes > MAX_SUBFRAMES {
            return Err(SynthError::param(
                GEN,
                "n_subframes",
                self.n_subframes,
                format!("1..={MAX_SUBFRAMES}"),
            ));
        }
        if self.n_prb == 0 || self.n_prb > n_rb || !is_235_smooth(self.n_prb) {
            return Err(SynthError::param(
                GEN,
                "n_prb",
                self.n_prb,
                format!("1..={n_rb} of the form 2^a 3^b 5^c (5.3.3)"),
            ));
        }
        if !self.lte_m {
            if self.first_prb + self.n_prb > n_rb {
                return Err(SynthError::param(
                    GEN,
                    "first_prb",
                    self.first_prb,
                    format!(
                        "0..={} for {} PRB in N_RB_UL = {n_rb}",
                        n_rb - self.n_prb,
                        self.n_prb
                    ),
                ));
            }
            if self.repetitions != 1 {
                return Err(SynthError::param(
                    GEN,
                    "repetitions",
                    self.repetitions,
                    "1 unless lte_m",
                ));
            }
            if !self.hop_narrowbands.is_empty() {
                return Err(SynthError::param(
                    GEN,
                    "hop_narrowbands",
                    format!("{:?}", self.hop_narrowbands),
                    "empty unless lte_m",
                ));
            }
            return Ok(());
        }
        let n_nb = narrowband_count(n_rb);
        if self.n_prb > 6 {
            return Err(SynthError::param(
                GEN,
                "n_prb",
                self.n_prb,
                "1..=6 with lte_m",
            ));
        }
        if self.nb_first_prb + self.n_prb > 6 {
            return Err(SynthError::param(
                GEN,
                "nb_first_prb",
                self.nb_first_prb,
                format!(
                    "0..={} for {} PRB in a 6-PRB narrowband",
                    6 - self.n_prb,
                    self.n_prb
                ),
            ));
        }
        if self.narrowband >= n_nb {
            return Err(SynthError::param(
                GEN,
                "narrowband",
                self.narrowband,
                format!("0..={} (N_NB_UL = {n_nb})", n_nb - 1),
            ));
        }
        if !LTE_M_REPETITIONS.contains(&self.repetitions) {
            return Err(SynthError::param(
                GEN,
                "repetitions",
                self.repetitions,
                format!("one of {LTE_M_REPETITIONS:?}"),
            ));
        }
        if self.total_subframes() > MAX_TOTAL_SUBFRAMES {
            return Err(SynthError::param(
                GEN,
                "repetitions",
                self.repetitions,
                format!("n_subframes x repetitions <= {MAX_TOTAL_SUBFRAMES}"),
            ));
        }
        if let Some(&bad) = self.hop_narrowbands.iter().find(|&&nb| nb >= n_nb) {
            return Err(SynthError::param(
                GEN,
                "hop_narrowbands",
                bad,
                format!("narrowbands 0..={} (N_NB_UL = {n_nb})", n_nb - 1),
            ));
        }
        if !self.hop_narrowbands.is_empty() && !LTE_M_HOP_INTERVALS.contains(&self.hop_interval) {
            return Err(SynthError::param(
                GEN,
                "hop_interval",
                self.hop_interval,
                format!("one of {LTE_M_HOP_INTERVALS:?} subframes (FDD)"),
            ));
        }
        Ok(())
    }

    /// The narrowbands visited, in order: `narrowband` then `hop_narrowbands`.
    pub fn narrowband_cycle(&self) -> Vec<u32> {
        std::iter::once(self.narrowband)
            .chain(self.hop_narrowbands.iter().copied())
            .collect()
    }

    /// Slot number, PRBs and guard symbols of every transmitted subframe, in time order.
    pub fn subframe_allocations(&self) -> Result<Vec<SubframeAlloc>, SynthError> {
        self.validate()?;
        // validate() has checked the bandwidth; 0 cannot be reached.
        let n_rb = self.n_rb_ul().unwrap_or(0);
        let i_first = 10 * self.sfn as u64 + self.slot_start as u64 / 2;
        let cycle = self.narrowband_cycle();
        let hop = self.lte_m && cycle.len() > 1;
        let interval = self.hop_interval.max(1) as u64;
        let mut out: Vec<SubframeAlloc> = (0..self.total_subframes() as u64)
            .map(|s| {
                let i = i_first + s;
                let n_s = 2 * (i % 10) as u32;
                if !self.lte_m {
                    return SubframeAlloc {
                        n_s,
                        first_prb: self.first_prb,
                        narrowband: None,
                        blank_first: false,
                        blank_last: false,
                    };
                }
                let nb = if hop {
                    let j = i / interval - i_first / interval;
                    cycle[(j % cycle.len() as u64) as usize]
                } else {
                    self.narrowband
                };
                let nb_prb = narrowband_first_prb(n_rb, nb).unwrap_or(0);
                SubframeAlloc {
                    n_s,
                    first_prb: nb_prb + self.nb_first_prb,
                    narrowband: Some(nb),
                    blank_first: false,
                    blank_last: false,
                }
            })
            .collect();
        // 36.211 5.2.5, PUSCH followed by PUSCH in another narrowband: no transmission in
        // the last symbol of subframe n and the first symbol of subframe n + 1.
        for s in 1..out.len() {
            if out[s].narrowband != out[s - 1].narrowband {
                out[s - 1].blank_last = true;
                out[s].blank_first = true;
            }
        }
        Ok(out)
    }

    /// `(u, v, n_cs)` of the DMRS in slot `n_s` (5.5.1.3, 5.5.1.4, 5.5.2.1.1, or the
    /// `n_cs_override`).
    pub fn dmrs_params(&self, n_s: u32) -> (u32, u32, u32) {
        let u = group_number(self.cell_id, self.delta_ss, n_s, self.group_hopping);
        let v = sequence_number(
            self.cell_id,
            self.delta_ss,
            n_s,
            self.m_sc(),
            self.group_hopping,
            self.sequence_hopping,
        );
        let n_cs = self.n_cs_override.unwrap_or_else(|| {
            cyclic_shift(
                self.cell_id,
                self.delta_ss,
                self.cyclic_shift_cfg,
                self.cyclic_shift_dci,
                n_s,
                self.cyclic_prefix,
            )
        });
        (u, v, n_cs)
    }
}

/// Generates a PUSCH burst with random data bits drawn from `rng` (7.1 mapping of uniform
/// bits), see [`synthesize_with_data`].
pub fn generate(cfg: &PuschConfig, rng: &mut impl Rng) -> Result<SynthBurst, SynthError> {
    cfg.validate()?;
    let bps = cfg.modulation.bits_per_symbol();
    let n = cfg.n_subframes as usize * cfg.data_symbols_per_subframe() * cfg.m_sc();
    let mut bits = vec![0u8; bps];
    let data: Vec<Complex64> = (0..n)
        .map(|_| {
            for b in bits.iter_mut() {
                *b = u8::from(rng.random::<bool>());
            }
            cfg.modulation.map(&bits)
        })
        .collect();
    synthesize_with_data(cfg, &data)
}

/// Generates a PUSCH burst carrying the given modulation symbols `d`: for each of the
/// `n_subframes` distinct subframes, `data_symbols_per_subframe()` SC-FDMA symbols of
/// `m_sc()` symbols each, in time order (5.3.3 numbering `d(l M_sc + i)`). Each distinct
/// subframe is sent `repetitions` times.
///
/// The result is normalised to unit nominal power; time 0 is the start of the CP of the
/// first symbol of slot `slot_start`; frequencies are relative to the carrier centre.
pub fn synthesize_with_data(
    cfg: &PuschConfig,
    data: &[Complex64],
) -> Result<SynthBurst, SynthError> {
    let allocs = cfg.subframe_allocations()?;
    let m_sc = cfg.m_sc();
    let per_sf = cfg.data_symbols_per_subframe() * m_sc;
    if data.len() != cfg.n_subframes as usize * per_sf {
        return Err(SynthError::param(
            GEN,
            "data",
            format!("{} symbols", data.len()),
            format!(
                "n_subframes x {per_sf} = {}",
                cfg.n_subframes as usize * per_sf
            ),
        ));
    }
    let n_rb = cfg.n_rb_ul().unwrap_or(0);

    // Transform precoding (5.3.3): z(l M + k) = 1/sqrt(M) sum_i d(l M + i) e^{-j 2 pi i k / M}.
    let fft = FftPlanner::<f64>::new().plan_fft_forward(m_sc);
    let mut z = data.to_vec();
    fft.process(&mut z);
    let scale = 1.0 / (m_sc as f64).sqrt();
    z.iter_mut().for_each(|v| *v *= scale);

    let cp = cfg.cyclic_prefix;
    let n_symb = cp.symbols_per_slot();
    let l_dmrs = cp.dmrs_symbol();
    let mut segments = Vec::with_capacity(allocs.len() * 2 * n_symb);
    for (s, alloc) in allocs.iter().enumerate() {
        let sf_data = &z[(s / cfg.repetitions as usize) * per_sf..][..per_sf];
        let k0 = alloc.first_prb * N_SC_RB as u32;
        let freqs: Vec<f64> = (0..m_sc as u32)
            .map(|i| subcarrier_freq_hz(k0 + i, n_rb))
            .collect();
        for slot in 0..2usize {
            let (u, v, n_cs) = cfg.dmrs_params(alloc.n_s + slot as u32);
            let r = dmrs_sequence(u, v, n_cs, m_sc);
            for l in 0..n_symb {
                if (slot == 0 && l == 0 && alloc.blank_first)
                    || (slot == 1 && l == n_symb - 1 && alloc.blank_last)
                {
                    continue;
                }
                let coeffs: &[Complex64] = if l == l_dmrs {
                    &r
                } else {
                    let d = slot * (n_symb - 1) + if l < l_dmrs { l } else { l - 1 };
                    &sf_data[d * m_sc..][..m_sc]
                };
                let start_ts = s as u64 * SUBFRAME_TS as u64
                    + slot as u64 * SLOT_TS as u64
                    + cp.symbol_start_ts(l) as u64;
                let cp_ts = cp.cp_len_ts(l) as u64;
                segments.push(Segment {
                    start_s: start_ts as f64 * TS_S,
                    len_s: (cp_ts + SYMBOL_TS as u64) as f64 * TS_S,
                    t_ref_s: (start_ts + cp_ts) as f64 * TS_S,
                    tones: freqs
                        .iter()
                        .zip(coeffs)
                        .map(|(&freq_hz, &coeff)| Tone { freq_hz, coeff })
                        .collect(),
                });
            }
        }
    }
    let mut signal = Burst { segments };
    normalise(&mut signal);

    let first = allocs[0];
    let (u0, v0, n_cs0) = cfg.dmrs_params(first.n_s);
    let mut params = serde_json::Map::new();
    let mut put = |k: &str, v: serde_json::Value| {
        params.insert(k.to_string(), v);
    };
    put("n_prb", json!(cfg.n_prb));
    put("first_prb", json!(first.first_prb));
    put("dmrs_group", json!(u0));
    put("dmrs_base_seq", json!(v0));
    put("cyclic_shift", json!(n_cs0));
    put("cell_id", json!(cfg.cell_id));
    put("delta_ss", json!(cfg.delta_ss));
    put("cyclic_shift_cfg", json!(cfg.cyclic_shift_cfg));
    put("cyclic_shift_dci", json!(cfg.cyclic_shift_dci));
    put("n_cs_override", json!(cfg.n_cs_override));
    put("group_hopping", json!(cfg.group_hopping));
    put("sequence_hopping", json!(cfg.sequence_hopping));
    put("modulation", json!(cfg.modulation.name()));
    put("n_subframes", json!(cfg.n_subframes));
    put("repetitions", json!(cfg.repetitions));
    put("slot_start", json!(cfg.slot_start));
    put("sfn", json!(cfg.sfn));
    put("cyclic_prefix", json!(cp.name()));
    put("bandwidth_mhz", json!(cfg.bandwidth_mhz));
    put("n_rb_ul", json!(n_rb));
    put("lte_m", json!(cfg.lte_m));
    if cfg.lte_m {
        put("narrowband", json!(first.narrowband));
        put("nb_first_prb", json!(cfg.nb_first_prb));
        put("narrowbands", json!(cfg.narrowband_cycle()));
        put("hopping", json!(cfg.narrowband_cycle().len() > 1));
        put("hop_interval", json!(cfg.hop_interval));
    }

    Ok(SynthBurst {
        signal,
        kind: Kind::Pusch,
        tech: if cfg.lte_m { Tech::LteM } else { Tech::Lte },
        center_hz: allocation_center_hz(first.first_prb, cfg.n_prb, n_rb),
        bandwidth_hz: cfg.n_prb as f64 * 180e3,
        snr_bandwidth_hz: cfg.n_prb as f64 * 180e3,
        params,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use std::f64::consts::PI;

    const FS_LOW: f64 = 1.92e6;
    const FS_HIGH: f64 = 30.72e6;

    fn render(b: &SynthBurst, fs: f64) -> Vec<Complex64> {
        b.signal
            .render(fs)
            .iter()
            .map(|v| Complex64::new(v.re as f64, v.im as f64))
            .collect()
    }

    /// Samples per Ts at `fs` (1/16 at 1.92 MS/s).
    fn per_ts(fs: f64) -> f64 {
        fs * TS_S
    }

    /// FFT of the useful part (after the CP) of symbol `l` of slot `slot` of subframe `sf`.
    /// With `derotate` the 7.5 kHz shift is removed first, so bin b holds subcarrier
    /// frequency `b x 15 kHz` (+ 7.5 kHz in the signal), scaled by N.
    fn symbol_fft(
        x: &[Complex64],
        fs: f64,
        cp: CyclicPrefix,
        sf: usize,
        slot: usize,
        l: usize,
        derotate: bool,
    ) -> Vec<Complex64> {
        let n = (SYMBOL_TS as f64 * per_ts(fs)).round() as usize;
        let start_ts = sf as u32 * SUBFRAME_TS
            + slot as u32 * SLOT_TS
            + cp.symbol_start_ts(l)
            + cp.cp_len_ts(l);
        let start = (start_ts as f64 * per_ts(fs)).round() as usize;
        let mut buf: Vec<Complex64> = x[start..start + n]
            .iter()
            .enumerate()
            .map(|(i, v)| {
                if derotate {
                    v * Complex64::from_polar(1.0, -PI * i as f64 / n as f64)
                } else {
                    *v
                }
            })
            .collect();
        FftPlanner::<f64>::new()
            .plan_fft_forward(n)
            .process(&mut buf);
        buf
    }

    /// The bins of resource-element subcarriers `k0 .. k0 + m` (5.6: `k = k(-) - 6 N_RB`).
    fn alloc_bins(bins: &[Complex64], k0: u32, m: usize, n_rb: u32) -> Vec<Complex64> {
        let n = bins.len() as i64;
        (0..m as i64)
            .map(|i| {
                let k = k0 as i64 + i - 6 * n_rb as i64;
                bins[k.rem_euclid(n) as usize]
            })
            .collect()
    }

    /// Least-squares gain g with y ~ g r; asserts g is real positive and the fit exact.
    fn assert_scaled_copy(y: &[Complex64], r: &[Complex64], what: &str) -> f64 {
        let num: Complex64 = y.iter().zip(r).map(|(a, b)| a * b.conj()).sum();
        let den: f64 = r.iter().map(|b| b.norm_sqr()).sum();
        let g = num / den;
        assert!(g.re > 0.0, "{what}: gain {g} not positive");
        assert!(g.im.abs() < 1e-5 * g.re, "{what}: gain {g} not real");
        for (i, (a, b)) in y.iter().zip(r).enumerate() {
            let e = (a - g * b).norm();
            assert!(e < 1e-4 * g.re, "{what}: n={i} got {a}, want {}", g * b);
        }
        g.re
    }

    fn phi_table(key: &str) -> Vec<Vec<f64>> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/data/ts36211_dmrs_phi.json"
        );
        let Ok(text) = std::fs::read_to_string(path) else {
            panic!("shared tables not found at {path}");
        };
        let v: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        v[key]
            .as_array()
            .expect("table")
            .iter()
            .map(|row| {
                row.as_array()
                    .expect("row")
                    .iter()
                    .map(|x| x.as_f64().expect("number"))
                    .collect()
            })
            .collect()
    }

    /// e^{j pi phi(n) / 4} e^{j 2 pi n_cs n / 12} from the JSON transcription.
    fn table_dmrs(phi: &[f64], n_cs: u32) -> Vec<Complex64> {
        phi.iter()
            .enumerate()
            .map(|(n, p)| {
                Complex64::from_polar(
                    1.0,
                    p * PI / 4.0 + 2.0 * PI * (n_cs as f64) * n as f64 / 12.0,
                )
            })
            .collect()
    }

    /// Cyclically extended ZC of prime length n_zc, root q, with cyclic shift n_cs.
    fn zc_dmrs(q: f64, n_zc: usize, m_sc: usize, n_cs: u32) -> Vec<Complex64> {
        (0..m_sc)
            .map(|n| {
                let m = (n % n_zc) as f64;
                Complex64::from_polar(
                    1.0,
                    -PI * q * m * (m + 1.0) / n_zc as f64
                        + 2.0 * PI * n_cs as f64 * n as f64 / 12.0,
                )
            })
            .collect()
    }

    fn base_cfg() -> PuschConfig {
        PuschConfig {
            bandwidth_mhz: 1.4,
            n_prb: 1,
            first_prb: 0,
            ..PuschConfig::default()
        }
    }

    // n_PN(n_s) for slots 0 and 1, normal CP, from an independent Python implementation of
    // 7.2 / 5.5.2.1.1 (see dmrs.rs): cell 1, Delta_ss 0 (c_init = 1) and cell 100,
    // Delta_ss 3 (c_init = 3 * 32 + 13 = 109).
    const NPN_CELL1: [u32; 2] = [64, 71];
    const NPN_CELL100_DSS3: [u32; 2] = [96, 198];
    // Cell 77, Delta_ss 0: u(n_s) with group hopping, n_PN(n_s) and v(n_s) (dmrs.rs oracle).
    const CELL77_U: [u32; 20] = [
        22, 20, 16, 14, 9, 22, 21, 16, 20, 8, 27, 3, 28, 8, 12, 9, 19, 7, 8, 5,
    ];
    const CELL77_NPN: [u32; 20] = [
        118, 88, 153, 212, 67, 1, 134, 93, 39, 12, 31, 14, 145, 247, 83, 92, 45, 136, 235, 85,
    ];

    #[test]
    fn rendered_dmrs_matches_tables_and_zadoff_chu() {
        let phi12 = phi_table("phi_m_sc_12");
        let phi24 = phi_table("phi_m_sc_24");
        struct Case {
            cfg: PuschConfig,
            want: [Vec<Complex64>; 2],
        }
        let n1 = [0u32, 2, 3, 4, 6, 8, 9, 10]; // Table 5.5.2.1.1-2
        let n2 = [0u32, 6, 3, 4, 2, 8, 10, 9]; // Table 5.5.2.1.1-1, lambda = 0
        let ncs = |cfg_i: usize, dci: usize, npn: u32| (n1[cfg_i] + n2[dci] + npn) % 12;
        let cases = vec![
            // M_sc = 12: cell 1 -> u = 1; cyclicShift 3, DCI 010.
            Case {
                cfg: PuschConfig {
                    bandwidth_mhz: 1.4,
                    n_prb: 1,
                    first_prb: 2,
                    cell_id: 1,
                    cyclic_shift_cfg: 3,
                    cyclic_shift_dci: 2,
                    ..PuschConfig::default()
                },
                want: [0, 1].map(|s| table_dmrs(&phi12[1], ncs(3, 2, NPN_CELL1[s]))),
            },
            // M_sc = 24: cell 100, Delta_ss 3 -> u = (100 + 3) mod 30 = 13; cyclicShift 1.
            Case {
                cfg: PuschConfig {
                    bandwidth_mhz: 5.0,
                    n_prb: 2,
                    first_prb: 10,
                    cell_id: 100,
                    delta_ss: 3,
                    cyclic_shift_cfg: 1,
                    ..PuschConfig::default()
                },
                want: [0, 1].map(|s| table_dmrs(&phi24[13], ncs(1, 0, NPN_CELL100_DSS3[s]))),
            },
            // M_sc = 36: N_ZC = 31, u = 1 -> q_bar = 31 * 2 / 31 = 2 -> q = 2.
            Case {
                cfg: PuschConfig {
                    bandwidth_mhz: 1.4,
                    n_prb: 3,
                    first_prb: 3,
                    cell_id: 1,
                    cyclic_shift_cfg: 3,
                    cyclic_shift_dci: 2,
                    ..PuschConfig::default()
                },
                want: [0, 1].map(|s| zc_dmrs(2.0, 31, 36, ncs(3, 2, NPN_CELL1[s]))),
            },
            // M_sc = 72: N_ZC = 71, u = 13 -> q_bar = 71 * 14 / 31 = 32.06 -> q = 32.
            Case {
                cfg: PuschConfig {
                    bandwidth_mhz: 1.4,
                    n_prb: 6,
                    first_prb: 0,
                    cell_id: 100,
                    delta_ss: 3,
                    cyclic_shift_cfg: 1,
                    ..PuschConfig::default()
                },
                want: [0, 1].map(|s| zc_dmrs(32.0, 71, 72, ncs(1, 0, NPN_CELL100_DSS3[s]))),
            },
            // M_sc = 72 with sequence hopping, cell 77: u = 17, q_bar = 71 * 18 / 31 = 41.23;
            // v(0) = 0 -> q = 41; v(1) = 1 -> floor(2 q_bar) = 82 even -> q = 42.
            Case {
                cfg: PuschConfig {
                    bandwidth_mhz: 3.0,
                    n_prb: 6,
                    first_prb: 4,
                    cell_id: 77,
                    sequence_hopping: true,
                    ..PuschConfig::default()
                },
                want: [
                    zc_dmrs(41.0, 71, 72, CELL77_NPN[0] % 12),
                    zc_dmrs(42.0, 71, 72, CELL77_NPN[1] % 12),
                ],
            },
        ];
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for c in &cases {
            let b = generate(&c.cfg, &mut rng).expect("valid");
            let n_rb = c.cfg.n_rb_ul().expect("bw");
            for fs in [FS_LOW, FS_HIGH] {
                let x = render(&b, fs);
                for slot in 0..2 {
                    let bins = symbol_fft(&x, fs, CyclicPrefix::Normal, 0, slot, 3, true);
                    let y = alloc_bins(&bins, c.cfg.first_prb * 12, c.cfg.m_sc(), n_rb);
                    let what = format!("M_sc={} fs={fs} slot={slot}", c.cfg.m_sc());
                    assert_scaled_copy(&y, &c.want[slot], &what);
                }
            }
        }
    }

    #[test]
    fn dmrs_follows_group_hopping_over_repetitions() {
        // LTE-M, 4 repetitions from subframe 2 (slots 4..11), cell 77 with group hopping:
        // every slot's DMRS uses u(n_s) of the oracle, the data symbols repeat exactly.
        let cfg = PuschConfig {
            bandwidth_mhz: 5.0,
            n_prb: 3,
            lte_m: true,
            narrowband: 2,
            nb_first_prb: 1,
            cell_id: 77,
            group_hopping: true,
            slot_start: 4,
            repetitions: 4,
            ..PuschConfig::default()
        };
        let b = generate(&cfg, &mut ChaCha8Rng::seed_from_u64(3)).expect("valid");
        assert_eq!(b.tech, Tech::LteM);
        assert_eq!(b.params["dmrs_group"], json!(CELL77_U[4]));
        assert_eq!(b.params["cyclic_shift"], json!(CELL77_NPN[4] % 12));
        // Narrowband 2 of 5 MHz starts at PRB 13 (centre PRB 12 skipped); + 1.
        let k0 = 14 * 12;
        assert_eq!(b.params["first_prb"], json!(14));
        let x = render(&b, FS_LOW);
        let mut first_data = None;
        for sf in 0..4 {
            for slot in 0..2 {
                let n_s = 4 + 2 * sf + slot;
                let u = CELL77_U[n_s];
                // N_ZC = 31, q = u + 1 for M_sc = 36.
                let want = zc_dmrs((u + 1) as f64, 31, 36, CELL77_NPN[n_s] % 12);
                let bins = symbol_fft(&x, FS_LOW, CyclicPrefix::Normal, sf, slot, 3, true);
                assert_scaled_copy(&alloc_bins(&bins, k0, 36, 25), &want, "hopping DMRS");
            }
            let bins = symbol_fft(&x, FS_LOW, CyclicPrefix::Normal, sf, 1, 5, true);
            let y = alloc_bins(&bins, k0, 36, 25);
            match &first_data {
                None => first_data = Some(y),
                Some(y0) => {
                    assert_scaled_copy(&y, y0, "repeated data");
                }
            };
        }
    }

    /// QPSK of Table 7.1.2-1 and 16QAM of Table 7.1.3-1, written out row by row.
    const QPSK_TABLE: [(f64, f64); 4] = [(1.0, 1.0), (1.0, -1.0), (-1.0, 1.0), (-1.0, -1.0)];
    const QAM16_TABLE: [(f64, f64); 16] = [
        (1.0, 1.0),
        (1.0, 3.0),
        (3.0, 1.0),
        (3.0, 3.0),
        (1.0, -1.0),
        (1.0, -3.0),
        (3.0, -1.0),
        (3.0, -3.0),
        (-1.0, 1.0),
        (-1.0, 3.0),
        (-3.0, 1.0),
        (-3.0, 3.0),
        (-1.0, -1.0),
        (-1.0, -3.0),
        (-3.0, -1.0),
        (-3.0, -3.0),
    ];

    fn bits_of(v: usize, n: usize) -> Vec<u8> {
        (0..n).map(|i| ((v >> (n - 1 - i)) & 1) as u8).collect()
    }

    #[test]
    fn modulation_mapping_matches_tables() {
        for (v, &(i, q)) in QPSK_TABLE.iter().enumerate() {
            let got = Modulation::Qpsk.map(&bits_of(v, 2));
            assert!((got - Complex64::new(i, q) / 2f64.sqrt()).norm() < 1e-12);
        }
        let mut e = 0.0;
        for (v, &(i, q)) in QAM16_TABLE.iter().enumerate() {
            let got = Modulation::Qam16.map(&bits_of(v, 4));
            assert!(
                (got - Complex64::new(i, q) / 10f64.sqrt()).norm() < 1e-12,
                "v={v}"
            );
            e += got.norm_sqr() / 16.0;
        }
        assert!((e - 1.0).abs() < 1e-12);
    }

    /// Inverse of 5.3.3: d(i) = 1/sqrt(M) sum_k z(k) e^{+j 2 pi i k / M}, naive.
    fn idft(z: &[Complex64]) -> Vec<Complex64> {
        let m = z.len();
        (0..m)
            .map(|i| {
                z.iter()
                    .enumerate()
                    .map(|(k, v)| {
                        v * Complex64::from_polar(1.0, 2.0 * PI * (i * k % m) as f64 / m as f64)
                    })
                    .sum::<Complex64>()
                    / (m as f64).sqrt()
            })
            .collect()
    }

    #[test]
    fn data_symbols_survive_despreading() {
        // 5 PRB (M_sc = 60, a non-power-of-two DFT), 2 subframes, 3 MHz.
        let cfg = PuschConfig {
            bandwidth_mhz: 3.0,
            n_prb: 5,
            first_prb: 9,
            n_subframes: 2,
            cell_id: 41,
            ..PuschConfig::default()
        };
        let n = 2 * 12 * 60;
        let mut rng = ChaCha8Rng::seed_from_u64(99);
        let idx: Vec<usize> = (0..n).map(|_| rng.random_range(0..4)).collect();
        let data: Vec<Complex64> = idx
            .iter()
            .map(|&v| Complex64::new(QPSK_TABLE[v].0, QPSK_TABLE[v].1) / 2f64.sqrt())
            .collect();
        let b = synthesize_with_data(&cfg, &data).expect("valid");
        for fs in [FS_LOW, FS_HIGH] {
            let x = render(&b, fs);
            let mut got = Vec::new();
            for sf in 0..2 {
                for slot in 0..2 {
                    for l in [0usize, 1, 2, 4, 5, 6] {
                        let bins = symbol_fft(&x, fs, CyclicPrefix::Normal, sf, slot, l, true);
                        got.extend(idft(&alloc_bins(&bins, 9 * 12, 60, 15)));
                    }
                }
            }
            assert_scaled_copy(&got, &data, "despread QPSK");
        }
        // Wrong data length is a configuration error, not a panic.
        assert!(synthesize_with_data(&cfg, &data[1..]).is_err());
    }

    #[test]
    fn random_16qam_lands_on_the_constellation() {
        let cfg = PuschConfig {
            bandwidth_mhz: 1.4,
            n_prb: 4,
            first_prb: 1,
            modulation: Modulation::Qam16,
            ..PuschConfig::default()
        };
        let b = generate(&cfg, &mut ChaCha8Rng::seed_from_u64(5)).expect("valid");
        let x = render(&b, FS_LOW);
        let mut d = Vec::new();
        for l in [0usize, 1, 2, 4, 5, 6] {
            let bins = symbol_fft(&x, FS_LOW, CyclicPrefix::Normal, 0, 0, l, true);
            d.extend(idft(&alloc_bins(&bins, 12, 48, 6)));
        }
        // Nearest 16QAM point of each symbol, then the fit must be exact.
        let g = (d.iter().map(|v| v.norm_sqr()).sum::<f64>() / d.len() as f64).sqrt();
        let nearest: Vec<Complex64> = d
            .iter()
            .map(|v| {
                QAM16_TABLE
                    .iter()
                    .map(|&(i, q)| Complex64::new(i, q) / 10f64.sqrt())
                    .min_by(|a, c| (v / g - a).norm().total_cmp(&(v / g - c).norm()))
                    .unwrap_or_default()
            })
            .collect();
        assert_scaled_copy(&d, &nearest, "16QAM");
        // All four amplitude levels appear.
        let levels: std::collections::BTreeSet<i64> = nearest
            .iter()
            .map(|v| (v.re * 10f64.sqrt()).round() as i64)
            .collect();
        assert_eq!(levels.into_iter().collect::<Vec<_>>(), vec![-3, -1, 1, 3]);
    }

    #[test]
    fn half_subcarrier_shift_is_in_the_spectrum() {
        for (bw, n_prb, first_prb) in [(1.4, 1u32, 0u32), (1.4, 6, 0), (5.0, 2, 11)] {
            let cfg = PuschConfig {
                bandwidth_mhz: bw,
                n_prb,
                first_prb,
                ..PuschConfig::default()
            };
            let n_rb = cfg.n_rb_ul().expect("bw");
            let b = generate(&cfg, &mut ChaCha8Rng::seed_from_u64(1)).expect("valid");
            let x = render(&b, FS_HIGH);
            for l in [0usize, 3] {
                // On the (k + 1/2) 15 kHz grid all energy is in the allocated bins...
                let shifted = symbol_fft(&x, FS_HIGH, CyclicPrefix::Normal, 0, 0, l, true);
                let total: f64 = shifted.iter().map(|v| v.norm_sqr()).sum();
                let inside: f64 = alloc_bins(&shifted, first_prb * 12, cfg.m_sc(), n_rb)
                    .iter()
                    .map(|v| v.norm_sqr())
                    .sum();
                assert!(total - inside < 1e-9 * total, "bw={bw} l={l}");
                // ...on the k 15 kHz grid it leaks out of any m_sc bins.
                let plain = symbol_fft(&x, FS_HIGH, CyclicPrefix::Normal, 0, 0, l, false);
                let mut p: Vec<f64> = plain.iter().map(|v| v.norm_sqr()).collect();
                p.sort_by(|a, c| c.total_cmp(a));
                let best: f64 = p[..cfg.m_sc()].iter().sum();
                // (1.3 % .. 7 % for these cases, against < 1e-9 on the shifted grid.)
                assert!(
                    total - best > 1e-3 * total,
                    "bw={bw} l={l}: {best} of {total}"
                );
            }
            // Burst centre: midpoint of the lowest and highest tone.
            let (lo, hi) = b.signal.freq_span_hz();
            assert!((b.center_hz - 0.5 * (lo + hi)).abs() < 1e-6);
        }
        // By hand: 1 PRB at PRB 0 of 1.4 MHz, tones (k - 36 + 1/2) 15 kHz, k = 0..11:
        // -532.5 .. -367.5 kHz, centre -450 kHz; the whole 1.4 MHz carrier is centred on 0.
        assert!((allocation_center_hz(0, 1, 6) + 450e3).abs() < 1e-6);
        assert!((allocation_center_hz(0, 6, 6)).abs() < 1e-6);
        assert!((subcarrier_freq_hz(0, 6) + 532.5e3).abs() < 1e-6);
        assert!((subcarrier_freq_hz(71, 6) - 532.5e3).abs() < 1e-6);
        // 5 MHz, 1 PRB at PRB 13: (156 + 6 - 150) 15 kHz = 180 kHz.
        assert!((allocation_center_hz(13, 1, 25) - 180e3).abs() < 1e-6);
    }

    #[test]
    fn slot_timing_and_cyclic_prefix() {
        for cp in [CyclicPrefix::Normal, CyclicPrefix::Extended] {
            // Table 5.6-1: a slot is 15360 Ts either way.
            let n_symb = cp.symbols_per_slot();
            assert_eq!(cp.symbol_start_ts(n_symb), SLOT_TS);
            let cfg = PuschConfig {
                bandwidth_mhz: 1.4,
                n_prb: 2,
                first_prb: 1,
                cyclic_prefix: cp,
                ..PuschConfig::default()
            };
            let b = generate(&cfg, &mut ChaCha8Rng::seed_from_u64(11)).expect("valid");
            assert_eq!(b.signal.segments.len(), 2 * n_symb);
            // Slot 1 starts exactly 15360 Ts after slot 0.
            let s1 = b.signal.segments[n_symb].start_s;
            assert!((s1 - 15360.0 * TS_S).abs() < 1e-15);
            assert!((b.signal.duration_s() - 1e-3).abs() < 1e-12);
            for fs in [FS_LOW, FS_HIGH] {
                let x = render(&b, fs);
                assert_eq!(x.len(), (2.0 * 15360.0 * per_ts(fs)).round() as usize);
                let nn = (2048.0 * per_ts(fs)).round() as usize;
                for slot in 0..2 {
                    for l in 0..n_symb {
                        let start_ts = slot as u32 * SLOT_TS + cp.symbol_start_ts(l);
                        let a = (start_ts as f64 * per_ts(fs)).round() as usize;
                        let ncp = (cp.cp_len_ts(l) as f64 * per_ts(fs)).round() as usize;
                        // (k + 1/2) df N Ts = k + 1/2 cycles: the CP is MINUS the tail.
                        // Sample i = 0 is skipped: Burst::render_add takes ceil() of a
                        // floating-point start (19760 Ts * Ts * 30.72e6 = 19760.000000000004)
                        // and hands some boundary samples to the previous segment (reported
                        // against signal.rs).
                        for i in 1..ncp {
                            let e = (x[a + i] + x[a + i + nn]).norm();
                            assert!(e < 1e-5, "{cp:?} fs={fs} slot={slot} l={l} i={i}: {e}");
                        }
                    }
                }
            }
            // Extended CP: the DMRS is in symbol 2.
            let x = render(&b, FS_LOW);
            let (u, v, n_cs) = cfg.dmrs_params(0);
            assert_eq!((u, v), (0, 0));
            let bins = symbol_fft(&x, FS_LOW, cp, 0, 0, cp.dmrs_symbol(), true);
            let want = table_dmrs(&phi_table("phi_m_sc_24")[0], n_cs);
            assert_scaled_copy(&alloc_bins(&bins, 12, 24, 6), &want, "DMRS symbol");
        }
        assert_eq!(CyclicPrefix::Normal.dmrs_symbol(), 3);
        assert_eq!(CyclicPrefix::Extended.dmrs_symbol(), 2);
    }

    #[test]
    fn narrowbands_follow_5_2_4() {
        let first = |bw: f64| {
            let n_rb = n_rb_for_bandwidth_mhz(bw).expect("bw");
            (0..narrowband_count(n_rb))
                .map(|nb| narrowband_first_prb(n_rb, nb).expect("nb"))
                .collect::<Vec<_>>()
        };
        // 1.4 MHz: N_NB = 1, i0 = 3 - 3 = 0.
        assert_eq!(first(1.4), vec![0]);
        // 3 MHz: N_RB = 15 (odd), N_NB = 2, i0 = 7 - 6 = 1; centre PRB 7 skipped.
        assert_eq!(first(3.0), vec![1, 8]);
        // 5 MHz: N_RB = 25 (odd), N_NB = 4, i0 = 12 - 12 = 0; centre PRB 12 skipped.
        assert_eq!(first(5.0), vec![0, 6, 13, 19]);
        // 10 MHz: N_RB = 50, N_NB = 8, i0 = 25 - 24 = 1; PRBs 0 and 49 unused.
        assert_eq!(first(10.0), vec![1, 7, 13, 19, 25, 31, 37, 43]);
        // 15 MHz: N_RB = 75, N_NB = 12, i0 = 37 - 36 = 1; centre PRB 37 skipped after NB 5.
        let f15 = first(15.0);
        assert_eq!((f15.len(), f15[5], f15[6], f15[11]), (12, 31, 38, 68));
        // 20 MHz: N_RB = 100, N_NB = 16, i0 = 50 - 48 = 2.
        let f20 = first(20.0);
        assert_eq!((f20.len(), f20[0], f20[15]), (16, 2, 92));
        assert_eq!(narrowband_first_prb(25, 4), None);

        // The rendered LTE-M burst occupies exactly PRBs 13..18 in narrowband 2 of 5 MHz.
        let cfg = PuschConfig {
            bandwidth_mhz: 5.0,
            n_prb: 6,
            lte_m: true,
            narrowband: 2,
            ..PuschConfig::default()
        };
        let b = generate(&cfg, &mut ChaCha8Rng::seed_from_u64(2)).expect("valid");
        let x = render(&b, FS_HIGH);
        let bins = symbol_fft(&x, FS_HIGH, CyclicPrefix::Normal, 0, 0, 1, true);
        let prb_energy = |prb: u32| -> f64 {
            alloc_bins(&bins, prb * 12, 12, 25)
                .iter()
                .map(|v| v.norm_sqr())
                .sum()
        };
        let total: f64 = bins.iter().map(|v| v.norm_sqr()).sum();
        let inside: f64 = (13..19).map(prb_energy).sum();
        assert!(total - inside < 1e-9 * total);
        assert!(prb_energy(12) < 1e-9 * total);
        assert_eq!(b.params["first_prb"], json!(13));
        assert_eq!(b.params["narrowband"], json!(2));
        assert!((b.center_hz - allocation_center_hz(13, 6, 25)).abs() < 1e-9);
    }

    #[test]
    fn narrowband_hopping_and_retuning_guard() {
        // 10 MHz, NB 1 <-> NB 5 every 2 subframes, starting in subframe 1 of SFN 0: absolute
        // subframes i = 1..8, j = floor(i / 2) = 0,1,1,2,2,3,3,4, j0 = 0 -> NB 1,5,5,1,1,5,5,1.
        let cfg = PuschConfig {
            bandwidth_mhz: 10.0,
            n_prb: 2,
            lte_m: true,
            narrowband: 1,
            nb_first_prb: 3,
            hop_narrowbands: vec![5],
            hop_interval: 2,
            slot_start: 2,
            repetitions: 8,
            ..PuschConfig::default()
        };
        let allocs = cfg.subframe_allocations().expect("valid");
        let nbs: Vec<u32> = allocs.iter().map(|a| a.narrowband.unwrap_or(99)).collect();
        assert_eq!(nbs, vec![1, 5, 5, 1, 1, 5, 5, 1]);
        let n_s: Vec<u32> = allocs.iter().map(|a| a.n_s).collect();
        assert_eq!(n_s, vec![2, 4, 6, 8, 10, 12, 14, 16]);
        // NB 1 starts at PRB 7, NB 5 at PRB 31 (10 MHz); offset 3 inside the narrowband.
        assert_eq!(allocs[0].first_prb, 10);
        assert_eq!(allocs[1].first_prb, 34);
        let blanks: Vec<(bool, bool)> = allocs
            .iter()
            .map(|a| (a.blank_first, a.blank_last))
            .collect();
        assert_eq!(
            blanks,
            vec![
                (false, true),
                (true, false),
                (false, true),
                (true, false),
                (false, true),
                (true, false),
                (false, true),
                (true, false)
            ]
        );
        let b = generate(&cfg, &mut ChaCha8Rng::seed_from_u64(4)).expect("valid");
        // 4 narrowband changes, 2 silent symbols each.
        assert_eq!(b.signal.segments.len(), 8 * 14 - 4 * 2);
        assert_eq!(b.params["narrowbands"], json!([1, 5]));
        let x = render(&b, FS_HIGH);
        // Subframe 0's last symbol and subframe 1's first symbol are silent.
        let sym = |sf: u32, slot: u32, l: usize| {
            let a = (sf * SUBFRAME_TS + slot * SLOT_TS + CyclicPrefix::Normal.symbol_start_ts(l))
                as usize;
            let len = (CyclicPrefix::Normal.cp_len_ts(l) + SYMBOL_TS) as usize;
            // Edge samples left out: the renderer's ceil() of floating-point segment ends
            // can spill one sample of a neighbour into the gap (see the CP test).
            x[a + 1..a + len - 1]
                .iter()
                .map(|v| v.norm_sqr())
                .sum::<f64>()
                / len as f64
        };
        assert_eq!(sym(0, 1, 6), 0.0);
        assert_eq!(sym(1, 0, 0), 0.0);
        assert!(sym(0, 1, 5) > 0.5 && sym(1, 0, 1) > 0.5);
        // Subframe 1 sits in NB 5 (PRBs 34, 35).
        let bins = symbol_fft(&x, FS_HIGH, CyclicPrefix::Normal, 1, 0, 2, true);
        let total: f64 = bins.iter().map(|v| v.norm_sqr()).sum();
        let inside: f64 = alloc_bins(&bins, 34 * 12, 24, 50)
            .iter()
            .map(|v| v.norm_sqr())
            .sum();
        assert!(total - inside < 1e-9 * total);

        // The hop phase follows the absolute subframe number: from SFN 1 subframe 1 (i = 11,
        // j0 = 5) the pattern is 1, 5, 5, 1 ...; from subframe 0 (i = 10) it is 1, 1, 5, 5.
        let c2 = PuschConfig {
            sfn: 1,
            ..cfg.clone()
        };
        let nb2: Vec<u32> = c2
            .subframe_allocations()
            .expect("valid")
            .iter()
            .map(|a| a.narrowband.unwrap_or(99))
            .collect();
        assert_eq!(nb2, vec![1, 5, 5, 1, 1, 5, 5, 1]);
        let c3 = PuschConfig {
            sfn: 1,
            slot_start: 0,
            ..cfg.clone()
        };
        let nb3: Vec<u32> = c3
            .subframe_allocations()
            .expect("valid")
            .iter()
            .map(|a| a.narrowband.unwrap_or(99))
            .collect();
        assert_eq!(nb3, vec![1, 1, 5, 5, 1, 1, 5, 5]);
    }

    #[test]
    fn burst_metadata_and_determinism() {
        let cfg = PuschConfig {
            bandwidth_mhz: 20.0,
            n_prb: 25,
            first_prb: 40,
            cell_id: 77,
            group_hopping: true,
            slot_start: 4,
            n_subframes: 2,
            modulation: Modulation::Qam16,
            ..PuschConfig::default()
        };
        let b = generate(&cfg, &mut ChaCha8Rng::seed_from_u64(8)).expect("valid");
        assert_eq!(b.kind, Kind::Pusch);
        assert_eq!(b.tech, Tech::Lte);
        assert!((b.bandwidth_hz - 25.0 * 180e3).abs() < 1e-6);
        assert_eq!(b.snr_bandwidth_hz, b.bandwidth_hz);
        assert!((b.signal.nominal_power() - 1.0).abs() < 1e-9);
        assert!((b.signal.duration_s() - 2e-3).abs() < 1e-12);
        // (480 + 150 - 600) 15 kHz = 450 kHz.
        assert!((b.center_hz - 450e3).abs() < 1e-6);
        let p = &b.params;
        assert_eq!(p["n_prb"], json!(25));
        assert_eq!(p["first_prb"], json!(40));
        assert_eq!(p["dmrs_group"], json!(CELL77_U[4]));
        assert_eq!(p["cyclic_shift"], json!(CELL77_NPN[4] % 12));
        assert_eq!(p["cell_id"], json!(77));
        assert_eq!(p["group_hopping"], json!(true));
        assert_eq!(p["modulation"], json!("16qam"));
        assert_eq!(p["n_subframes"], json!(2));
        assert_eq!(p["repetitions"], json!(1));
        assert!(p.get("narrowband").is_none());
        // Same seed, same burst; another seed, other data.
        let b2 = generate(&cfg, &mut ChaCha8Rng::seed_from_u64(8)).expect("valid");
        assert_eq!(b.signal, b2.signal);
        let b3 = generate(&cfg, &mut ChaCha8Rng::seed_from_u64(9)).expect("valid");
        assert_ne!(b.signal, b3.signal);
        // The n_cs override replaces the formula in every slot.
        let c4 = PuschConfig {
            n_cs_override: Some(5),
            ..cfg.clone()
        };
        let b4 = generate(&c4, &mut ChaCha8Rng::seed_from_u64(8)).expect("valid");
        assert_eq!(b4.params["cyclic_shift"], json!(5));
        assert_eq!(c4.dmrs_params(13).2, 5);
    }

    #[test]
    fn config_serde() {
        let c: PuschConfig = serde_json::from_str(
            r#"{"bandwidth_mhz": 5, "lte_m": true, "narrowband": 3, "n_prb": 2,
                "modulation": "16qam", "hop_narrowbands": [0], "cyclic_prefix": "extended"}"#,
        )
        .expect("parses");
        assert_eq!(c.narrowband, 3);
        assert_eq!(c.modulation, Modulation::Qam16);
        assert_eq!(c.cyclic_prefix, CyclicPrefix::Extended);
        assert_eq!(c.n_cs_override, None);
        assert_eq!(c.repetitions, 1);
        assert!(c.validate().is_ok());
        assert!(serde_json::from_str::<PuschConfig>(r#"{"n_prbs": 2}"#).is_err());
        let back: PuschConfig =
            serde_json::from_str(&serde_json::to_string(&c).expect("ser")).expect("de");
        assert_eq!(back, c);
    }

    #[test]
    fn validation_errors() {
        assert!(PuschConfig::default().validate().is_ok());
        let lte_m = PuschConfig {
            bandwidth_mhz: 5.0,
            lte_m: true,
            ..PuschConfig::default()
        };
        assert!(lte_m.validate().is_ok());
        let cases: Vec<(&str, PuschConfig)> = vec![
            (
                "bandwidth_mhz",
                PuschConfig {
                    bandwidth_mhz: 7.0,
                    ..base_cfg()
                },
            ),
            (
                "n_prb",
                PuschConfig {
                    n_prb: 0,
                    ..base_cfg()
                },
            ),
            (
                "n_prb",
                PuschConfig {
                    bandwidth_mhz: 10.0,
                    n_prb: 7,
                    ..base_cfg()
                },
            ),
            (
                "n_prb",
                PuschConfig {
                    bandwidth_mhz: 20.0,
                    n_prb: 14,
                    ..base_cfg()
                },
            ),
            (
                "n_prb",
                PuschConfig {
                    n_prb: 8,
                    ..base_cfg()
                },
            ),
            (
                "first_prb",
                PuschConfig {
                    n_prb: 2,
                    first_prb: 5,
                    ..base_cfg()
                },
            ),
            (
                "cell_id",
                PuschConfig {
                    cell_id: 504,
                    ..base_cfg()
                },
            ),
            (
                "delta_ss",
                PuschConfig {
                    delta_ss: 30,
                    ..base_cfg()
                },
            ),
            (
                "cyclic_shift_cfg",
                PuschConfig {
                    cyclic_shift_cfg: 8,
                    ..base_cfg()
                },
            ),
            (
                "cyclic_shift_dci",
                PuschConfig {
                    cyclic_shift_dci: 8,
                    ..base_cfg()
                },
            ),
            (
                "n_cs_override",
                PuschConfig {
                    n_cs_override: Some(12),
                    ..base_cfg()
                },
            ),
            (
                "slot_start",
                PuschConfig {
                    slot_start: 3,
                    ..base_cfg()
                },
            ),
            (
                "slot_start",
                PuschConfig {
                    slot_start: 20,
                    ..base_cfg()
                },
            ),
            (
                "sfn",
                PuschConfig {
                    sfn: 1024,
                    ..base_cfg()
                },
            ),
            (
                "n_subframes",
                PuschConfig {
                    n_subframes: 0,
                    ..base_cfg()
                },
            ),
            (
                "n_subframes",
                PuschConfig {
                    n_subframes: 101,
                    ..base_cfg()
                },
            ),
            (
                "repetitions",
                PuschConfig {
                    repetitions: 2,
                    ..base_cfg()
                },
            ),
            (
                "hop_narrowbands",
                PuschConfig {
                    hop_narrowbands: vec![0],
                    ..base_cfg()
                },
            ),
            (
                "n_prb",
                PuschConfig {
                    n_prb: 8,
                    ..lte_m.clone()
                },
            ),
            (
                "nb_first_prb",
                PuschConfig {
                    n_prb: 2,
                    nb_first_prb: 5,
                    ..lte_m.clone()
                },
            ),
            (
                "narrowband",
                PuschConfig {
                    narrowband: 4,
                    ..lte_m.clone()
                },
            ),
            (
                "narrowband",
                PuschConfig {
                    bandwidth_mhz: 1.4,
                    narrowband: 1,
                    ..lte_m.clone()
                },
            ),
            (
                "repetitions",
                PuschConfig {
                    repetitions: 3,
                    ..lte_m.clone()
                },
            ),
            (
                "repetitions",
                PuschConfig {
                    repetitions: 2048,
                    n_subframes: 2,
                    ..lte_m.clone()
                },
            ),
            (
                "hop_narrowbands",
                PuschConfig {
                    hop_narrowbands: vec![1, 4],
                    ..lte_m.clone()
                },
            ),
            (
                "hop_interval",
                PuschConfig {
                    hop_narrowbands: vec![1],
                    hop_interval: 3,
                    ..lte_m.clone()
                },
            ),
        ];
        for (param, cfg) in cases {
            let mut rng = ChaCha8Rng::seed_from_u64(0);
            match generate(&cfg, &mut rng) {
                Err(e @ SynthError::Param { param: p, .. }) => {
                    assert_eq!(p, param, "{cfg:?}");
                    let msg = e.to_string();
                    assert!(msg.starts_with("pusch: "), "{msg}");
                    assert!(
                        !msg.contains('{') && !msg.contains('}'),
                        "placeholder in {msg}"
                    );
                }
                Ok(_) => panic!("{param}: accepted {cfg:?}"),
            }
        }
        // 2^a 3^b 5^c up to 100 PRB: 34 values (1, 2, 3, 4, 5, 6, 8, 9, 10, 12, ...).
        let ok: Vec<u32> = (1..=100).filter(|&n| is_235_smooth(n)).collect();
        assert_eq!(ok.len(), 34);
        assert_eq!(&ok[..10], &[1, 2, 3, 4, 5, 6, 8, 9, 10, 12]);
        assert!(!is_235_smooth(7) && !is_235_smooth(11) && !is_235_smooth(0));
    }
}
