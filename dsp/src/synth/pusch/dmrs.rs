//! PUSCH demodulation reference signal, TS 36.211 5.5.2.1, and the sequence-group and
//! cyclic-shift hopping of 5.5.1.3, 5.5.1.4 and 5.5.2.1.1.
//!
//! The reference signal of slot `n_s` (single layer, lambda = 0) is
//!
//! ```text
//!   r(n) = w(m) e^{j alpha n} rbar_{u,v}(n),   n = 0..M_sc-1,   alpha = 2 pi n_cs / 12
//!   u    = (f_gh(n_s) + f_ss) mod 30,          f_ss = (N_ID_cell + Delta_ss) mod 30
//!   n_cs = (n_DMRS(1) + n_DMRS,0(2) + n_PN(n_s)) mod 12
//! ```
//!
//! with `w(m) = 1` (no orthogonal cover code: the clause's value when the higher-layer
//! parameter Activate-DMRS-with-OCC is not set). The cell identity is the physical cell
//! identity `N_ID_cell` throughout (5.5.1.5 with no virtual cell identity `n_ID^PUSCH`
//! configured, and no `N_ID^csh_DMRS` for `n_PN`). Pseudo-random sequences are `c(n)` of 7.2,
//! re-initialised at the start of each radio frame, so every function here takes the slot
//! number inside the radio frame, `n_s` in 0..19 (larger values are reduced mod 20).
//!
//! A detector that does not know the cell can try every `(u, n_cs)`: 30 groups x 12 cyclic
//! shifts (x 2 base sequences from 6 PRB with sequence hopping).

use super::CyclicPrefix;
use crate::sequences::{base_sequence, gold};
use num_complex::Complex64;
use std::f64::consts::PI;

/// Slots per radio frame (4.1, frame structure type 1).
pub const SLOTS_PER_FRAME: u32 = 20;

/// Table 5.5.2.1.1-2: `n_DMRS(1)` for the higher-layer parameter `cyclicShift` 0..7.
pub const N_DMRS1: [u32; 8] = [0, 2, 3, 4, 6, 8, 9, 10];

/// Table 5.5.2.1.1-1, column lambda = 0: `n_DMRS,0(2)` for the "cyclic shift for DMRS" field
/// 000..111 of the most recent uplink DCI.
pub const N_DMRS2: [u32; 8] = [0, 6, 3, 4, 2, 8, 10, 9];

/// Sequence-shift pattern of PUSCH, `f_ss^PUSCH = (N_ID_cell + Delta_ss) mod 30` (5.5.1.3).
pub fn f_ss_pusch(cell_id: u32, delta_ss: u32) -> u32 {
    (cell_id + delta_ss) % 30
}

/// Sum of eight consecutive bits of `c` weighted `2^i`: `sum_{i=0}^{7} c(start + i) 2^i`.
fn byte_at(c: &[u8], start: usize) -> u32 {
    (0..8).map(|i| (c[start + i] as u32) << i).sum()
}

/// Group-hopping pattern `f_gh(n_s) = (sum_{i=0}^{7} c(8 n_s + i) 2^i) mod 30` with `c(n)`
/// initialised with `c_init = floor(N_ID_cell / 30)` at the start of each radio frame
/// (5.5.1.3, group hopping enabled).
pub fn group_hopping_pattern(cell_id: u32, n_s: u32) -> u32 {
    let n_s = (n_s % SLOTS_PER_FRAME) as usize;
    let c = gold(cell_id / 30, 8 * (n_s + 1));
    byte_at(&c, 8 * n_s) % 30
}

/// Sequence-group number `u(n_s) = (f_gh(n_s) + f_ss^PUSCH) mod 30` (5.5.1.3); `f_gh = 0`
/// when group hopping is disabled.
pub fn group_number(cell_id: u32, delta_ss: u32, n_s: u32, group_hopping: bool) -> u32 {
    let f_gh = if group_hopping {
        group_hopping_pattern(cell_id, n_s)
    } else {
        0
    };
    (f_gh + f_ss_pusch(cell_id, delta_ss)) % 30
}

/// `c_init = floor(N_ID_cell / 30) 2^5 + f_ss^PUSCH`, the initialisation of both the
/// sequence-hopping (5.5.1.4) and the `n_PN` (5.5.2.1.1) pseudo-random sequences of PUSCH.
pub fn c_init_pusch(cell_id: u32, delta_ss: u32) -> u32 {
    ((cell_id / 30) << 5) + f_ss_pusch(cell_id, delta_ss)
}

/// Base-sequence number `v(n_s)` within the group (5.5.1.4): `c(n_s)` when `m_sc >= 72`
/// (6 PRB and more), group hopping is disabled and sequence hopping is enabled; 0 otherwise.
pub fn sequence_number(
    cell_id: u32,
    delta_ss: u32,
    n_s: u32,
    m_sc: usize,
    group_hopping: bool,
    sequence_hopping: bool,
) -> u32 {
    if m_sc < 72 || group_hopping || !sequence_hopping {
        return 0;
    }
    let n_s = (n_s % SLOTS_PER_FRAME) as usize;
    gold(c_init_pusch(cell_id, delta_ss), n_s + 1)[n_s] as u32
}

/// Uplink SC-FDMA symbols per slot, `N_symb^UL` (Table 5.2.3-1): 7 (normal CP), 6 (extended).
pub fn symbols_per_slot(cp: CyclicPrefix) -> u32 {
    match cp {
        CyclicPrefix::Normal => 7,
        CyclicPrefix::Extended => 6,
    }
}

/// `n_PN(n_s) = sum_{i=0}^{7} c(8 N_symb^UL n_s + i) 2^i`, `c(n)` initialised with
/// [`c_init_pusch`] at the start of each radio frame (5.5.2.1.1).
pub fn n_pn(cell_id: u32, delta_ss: u32, n_s: u32, cp: CyclicPrefix) -> u32 {
    let n_s = (n_s % SLOTS_PER_FRAME) as usize;
    let start = 8 * symbols_per_slot(cp) as usize * n_s;
    let c = gold(c_init_pusch(cell_id, delta_ss), start + 8);
    byte_at(&c, start)
}

/// `n_cs = (n_DMRS(1) + n_DMRS,0(2) + n_PN(n_s)) mod 12` (5.5.2.1.1), from the higher-layer
/// `cyclicShift` index (Table 5.5.2.1.1-2) and the DCI "cyclic shift for DMRS" field
/// (Table 5.5.2.1.1-1, lambda = 0).
///
/// # Panics
/// If `cyclic_shift_cfg` or `cyclic_shift_dci` exceeds 7.
pub fn cyclic_shift(
    cell_id: u32,
    delta_ss: u32,
    cyclic_shift_cfg: u32,
    cyclic_shift_dci: u32,
    n_s: u32,
    cp: CyclicPrefix,
) -> u32 {
    (N_DMRS1[cyclic_shift_cfg as usize]
        + N_DMRS2[cyclic_shift_dci as usize]
        + n_pn(cell_id, delta_ss, n_s, cp))
        % 12
}

/// PUSCH DMRS sequence `r(n) = e^{j alpha n} rbar_{u,v}(n)`, `alpha = 2 pi n_cs / 12`,
/// n = 0..m_sc-1 (5.5.2.1.1 with 5.5.1; `w = 1`, amplitude scaling `beta = 1`).
///
/// # Panics
/// If `u > 29`, `v > 1`, `n_cs > 11`, or `m_sc` is not a multiple of 12 (see
/// [`crate::sequences::base_sequence`]).
pub fn dmrs_sequence(u: u32, v: u32, n_cs: u32, m_sc: usize) -> Vec<Complex64> {
    assert!(n_cs < 12, "n_cs = {n_cs} outside 0..11");
    base_sequence(u, v, m_sc)
        .into_iter()
        .enumerate()
        .map(|(n, r)| {
            // alpha n = 2 pi (n_cs n mod 12) / 12, exact in integers.
            let k = (n_cs as usize * n) % 12;
            r * Complex64::from_polar(1.0, 2.0 * PI * k as f64 / 12.0)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Oracle values computed at authoring time with an independent, from-scratch Python
    // implementation of the two shift registers of 7.2 and the formulas of 5.5.1.3,
    // 5.5.1.4 and 5.5.2.1.1 (not derived from this crate's code).
    // Cell 77, Delta_ss = 0: c_init(f_gh) = floor(77/30) = 2, f_ss = 77 mod 30 = 17,
    // c_init(n_PN, v) = 2 * 32 + 17 = 81.
    const CELL77_FGH: [u32; 20] = [
        5, 3, 29, 27, 22, 5, 4, 29, 3, 21, 10, 16, 11, 21, 25, 22, 2, 20, 21, 18,
    ];
    const CELL77_NPN_NORMAL: [u32; 20] = [
        118, 88, 153, 212, 67, 1, 134, 93, 39, 12, 31, 14, 145, 247, 83, 92, 45, 136, 235, 85,
    ];
    const CELL77_NPN_EXTENDED: [u32; 20] = [
        118, 189, 234, 93, 217, 59, 64, 134, 68, 90, 188, 178, 152, 176, 145, 152, 169, 161, 204,
        222,
    ];
    const CELL77_V: [u32; 20] = [0, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1, 0];

    #[test]
    fn group_hopping_u_matches_independent_oracle() {
        for n_s in 0..20u32 {
            assert_eq!(group_hopping_pattern(77, n_s), CELL77_FGH[n_s as usize]);
            let want = (CELL77_FGH[n_s as usize] + 17) % 30;
            assert_eq!(group_number(77, 0, n_s, true), want, "n_s={n_s}");
            // Without group hopping u is the sequence-shift pattern alone.
            assert_eq!(group_number(77, 0, n_s, false), 17);
            // The pattern restarts every radio frame.
            assert_eq!(group_number(77, 0, n_s + 20, true), want);
        }
        // First values spelled out: f_gh(0) = 5 -> u = 22; f_gh(1) = 3 -> u = 20.
        assert_eq!(group_number(77, 0, 0, true), 22);
        assert_eq!(group_number(77, 0, 1, true), 20);
        // Delta_ss shifts u (f_ss = (77 + 5) mod 30 = 22) but not f_gh: (5 + 22) mod 30.
        assert_eq!(group_number(77, 5, 0, true), 27);
    }

    #[test]
    fn n_pn_and_sequence_hopping_match_independent_oracle() {
        for n_s in 0..20u32 {
            let i = n_s as usize;
            assert_eq!(n_pn(77, 0, n_s, CyclicPrefix::Normal), CELL77_NPN_NORMAL[i]);
            assert_eq!(
                n_pn(77, 0, n_s, CyclicPrefix::Extended),
                CELL77_NPN_EXTENDED[i]
            );
            assert_eq!(sequence_number(77, 0, n_s, 72, false, true), CELL77_V[i]);
            // v = 0 below 6 PRB, with group hopping, or with sequence hopping off.
            assert_eq!(sequence_number(77, 0, n_s, 60, false, true), 0);
            assert_eq!(sequence_number(77, 0, n_s, 72, true, true), 0);
            assert_eq!(sequence_number(77, 0, n_s, 72, false, false), 0);
        }
        assert_eq!(c_init_pusch(77, 0), 81);
    }

    #[test]
    fn cyclic_shift_tables() {
        // n_PN(0) = 118 for cell 77: n_cs = (n1 + n2 + 118) mod 12, 118 mod 12 = 10.
        assert_eq!(cyclic_shift(77, 0, 0, 0, 0, CyclicPrefix::Normal), 10);
        // cyclicShift 3 -> n_DMRS(1) = 4; DCI 001 -> n_DMRS(2) = 6: (4 + 6 + 10) mod 12 = 8.
        assert_eq!(cyclic_shift(77, 0, 3, 1, 0, CyclicPrefix::Normal), 8);
        // cyclicShift 7 -> 10; DCI 111 -> 9: (10 + 9 + 10) mod 12 = 5.
        assert_eq!(cyclic_shift(77, 0, 7, 7, 0, CyclicPrefix::Normal), 5);
        // Each table is 8 distinct shifts out of 12.
        for t in [N_DMRS1, N_DMRS2] {
            let mut s = t.to_vec();
            s.sort_unstable();
            s.dedup();
            assert_eq!(s.len(), 8);
            assert!(t.iter().all(|&x| x < 12));
        }
    }

    #[test]
    fn cyclic_shifts_are_orthogonal() {
        // e^{j alpha n} with different n_cs are orthogonal over a whole PRB multiple.
        for m_sc in [12usize, 24, 36] {
            let a = dmrs_sequence(4, 0, 0, m_sc);
            for n_cs in 1..12 {
                let b = dmrs_sequence(4, 0, n_cs, m_sc);
                let c: Complex64 = a.iter().zip(&b).map(|(x, y)| x * y.conj()).sum();
                assert!(c.norm() < 1e-9, "m_sc={m_sc} n_cs={n_cs}");
            }
        }
    }
}
