//! Sequences of TS 36.211: Zadoff-Chu (5.7.2), the pseudo-random Gold sequence (7.2) and the
//! uplink reference-signal base sequences (5.5.1).

use crate::tables::{PHI_M_SC_12, PHI_M_SC_24};
use num_complex::Complex64;
use std::f64::consts::PI;

/// Zadoff-Chu sequence of odd prime length `n_zc` and root `u`:
/// `x_u(n) = exp(-j pi u n (n+1) / N_ZC)`, n = 0..N_ZC-1 (TS 36.211 5.7.2, eq. for the PRACH
/// root sequence; the same form with root `q` is used by 5.5.1.1).
///
/// # Panics
/// If `n_zc` is 0 or `u` is not in `1..n_zc`.
pub fn zadoff_chu(u: u32, n_zc: u32) -> Vec<Complex64> {
    assert!(
        n_zc > 0 && u > 0 && u < n_zc,
        "ZC root {u} outside 1..{n_zc}"
    );
    (0..n_zc as u64)
        .map(|n| {
            // u n (n+1) mod 2 N_ZC keeps the argument small and exact in integers.
            let m = (u as u64 * n * (n + 1)) % (2 * n_zc as u64);
            Complex64::from_polar(1.0, -PI * m as f64 / n_zc as f64)
        })
        .collect()
}

/// Pseudo-random sequence `c(n)`, n = 0..len-1, of TS 36.211 7.2: a length-31 Gold sequence
/// with `N_C = 1600`, `x1` initialised to `1, 0, 0, ...` and `x2` to the bits of `c_init`.
pub fn gold(c_init: u32, len: usize) -> Vec<u8> {
    const NC: usize = 1600;
    let total = NC + len;
    let mut x1 = vec![0u8; total + 31];
    let mut x2 = vec![0u8; total + 31];
    x1[0] = 1;
    for (i, b) in x2.iter_mut().take(31).enumerate() {
        *b = ((c_init >> i) & 1) as u8;
    }
    for n in 0..total {
        x1[n + 31] = (x1[n + 3] + x1[n]) & 1;
        x2[n + 31] = (x2[n + 3] + x2[n + 2] + x2[n + 1] + x2[n]) & 1;
    }
    (0..len).map(|n| (x1[n + NC] + x2[n + NC]) & 1).collect()
}

/// Largest prime strictly below `m`.
///
/// # Panics
/// If there is none (`m <= 2`).
pub fn largest_prime_below(m: usize) -> usize {
    (2..m)
        .rev()
        .find(|&p| (2..).take_while(|d| d * d <= p).all(|d| p % d != 0))
        .expect("no prime below m")
}

/// Uplink reference-signal base sequence `rbar_{u,v}(n)`, n = 0..m_sc-1, TS 36.211 5.5.1:
/// for `m_sc >= 36` the cyclic extension of a Zadoff-Chu sequence of the largest prime
/// length `N_ZC < m_sc` with root `q` (5.5.1.1); for `m_sc` = 12 and 24 `exp(j phi(n) pi / 4)`
/// with `phi` from Tables 5.5.1.2-1 / 5.5.1.2-2 (5.5.1.2).
///
/// `u` is the sequence-group number 0..29, `v` the base sequence number (0, or 1 when
/// sequence hopping applies to allocations of 6 PRB and more).
///
/// # Panics
/// If `u > 29`, `v > 1`, or `m_sc` is not 12, 24 or a multiple of 12 of at least 36.
pub fn base_sequence(u: u32, v: u32, m_sc: usize) -> Vec<Complex64> {
    assert!(u < 30 && v < 2, "base sequence u={u} v={v} out of range");
    assert!(
        m_sc % 12 == 0 && m_sc >= 12,
        "M_sc={m_sc} is not a PRB multiple"
    );
    let from_phi = |phi: &[i8]| {
        phi.iter()
            .map(|&p| Complex64::from_polar(1.0, p as f64 * PI / 4.0))
            .collect::<Vec<_>>()
    };
    match m_sc {
        12 => from_phi(&PHI_M_SC_12[u as usize]),
        24 => from_phi(&PHI_M_SC_24[u as usize]),
        _ => {
            let n_zc = largest_prime_below(m_sc);
            let q_bar = n_zc as f64 * (u as f64 + 1.0) / 31.0;
            let sign = if (2.0 * q_bar).floor() as i64 % 2 == 0 {
                1
            } else {
                -1
            };
            let q = (q_bar + 0.5).floor() as i64 + v as i64 * sign;
            (0..m_sc)
                .map(|n| {
                    let m = (n % n_zc) as i64;
                    let arg = (q * m * (m + 1)).rem_euclid(2 * n_zc as i64);
                    Complex64::from_polar(1.0, -PI * arg as f64 / n_zc as f64)
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cyclic_corr(a: &[Complex64], b: &[Complex64], lag: usize) -> Complex64 {
        let n = a.len();
        (0..n).map(|i| a[i] * b[(i + lag) % n].conj()).sum()
    }

    #[test]
    fn zc_constant_amplitude_and_ideal_cyclic_autocorrelation() {
        for &u in &[1u32, 25, 29, 129, 710, 838] {
            let x = zadoff_chu(u, 839);
            assert!(x.iter().all(|v| (v.norm() - 1.0).abs() < 1e-12));
            assert!((cyclic_corr(&x, &x, 0).norm() - 839.0).abs() < 1e-6);
            for lag in [1usize, 2, 13, 400, 838] {
                assert!(cyclic_corr(&x, &x, lag).norm() < 1e-6, "u={u} lag={lag}");
            }
        }
    }

    #[test]
    fn zc_cross_correlation_is_sqrt_n() {
        // Two roots u1 != u2 of a prime-length ZC have |cross-correlation| = sqrt(N_ZC) at
        // every lag.
        let a = zadoff_chu(129, 839);
        let b = zadoff_chu(710, 839);
        for lag in [0usize, 5, 300] {
            assert!((cyclic_corr(&a, &b, lag).norm() - 839f64.sqrt()).abs() < 1e-6);
        }
    }

    #[test]
    fn zc_dft_is_constant_amplitude() {
        let x = zadoff_chu(129, 839);
        for k in [0usize, 1, 100, 838] {
            let s: Complex64 = x
                .iter()
                .enumerate()
                .map(|(n, v)| v * Complex64::from_polar(1.0, -2.0 * PI * (k * n) as f64 / 839.0))
                .sum();
            assert!((s.norm() - 839f64.sqrt()).abs() < 1e-6);
        }
    }

    /// Independent bit-serial implementation of the two shift registers of 7.2.
    fn gold_reference(c_init: u32, len: usize) -> Vec<u8> {
        let mut r1: u32 = 1;
        let mut r2: u32 = c_init & 0x7fff_ffff;
        let mut out = Vec::new();
        for n in 0..1600 + len {
            let b1 = r1 & 1;
            let b2 = r2 & 1;
            if n >= 1600 {
                out.push((b1 ^ b2) as u8);
            }
            let f1 = (r1 ^ (r1 >> 3)) & 1;
            let f2 = (r2 ^ (r2 >> 1) ^ (r2 >> 2) ^ (r2 >> 3)) & 1;
            r1 = (r1 >> 1) | (f1 << 30);
            r2 = (r2 >> 1) | (f2 << 30);
        }
        out
    }

    #[test]
    fn gold_matches_shift_register_reference() {
        for c_init in [0u32, 1, 0x1234_5678 & 0x7fff_ffff, 510, 9 << 9] {
            assert_eq!(gold(c_init, 200), gold_reference(c_init, 200));
        }
        // Balanced: a Gold sequence has about as many ones as zeros.
        let c = gold(77, 10_000);
        let ones = c.iter().filter(|&&b| b == 1).count();
        assert!((4800..5200).contains(&ones));
    }

    #[test]
    fn primes() {
        assert_eq!(largest_prime_below(36), 31);
        assert_eq!(largest_prime_below(72), 71);
        assert_eq!(largest_prime_below(839 + 1), 839);
        assert_eq!(largest_prime_below(1200), 1193);
    }

    #[test]
    fn table_base_sequences_match_shared_json() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/data/ts36211_dmrs_phi.json"
        );
        let Ok(text) = std::fs::read_to_string(path) else {
            panic!("shared tables not found at {path}");
        };
        let v: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        for (key, m_sc) in [("phi_m_sc_12", 12usize), ("phi_m_sc_24", 24)] {
            let rows = v[key].as_array().expect("table");
            for (u, row) in rows.iter().enumerate() {
                let seq = base_sequence(u as u32, 0, m_sc);
                for (n, phi) in row.as_array().expect("row").iter().enumerate() {
                    let want = Complex64::from_polar(1.0, phi.as_f64().unwrap_or(99.0) * PI / 4.0);
                    assert!((seq[n] - want).norm() < 1e-12, "{key} u={u} n={n}");
                }
            }
        }
    }

    #[test]
    fn zc_base_sequences_36_and_72() {
        // M_sc = 36: N_ZC = 31, q_bar = 31 (u+1)/31 = u+1, so q = u+1 for v = 0, and the
        // sequence is x_q(n mod 31).
        for u in [0u32, 16, 29] {
            let s = base_sequence(u, 0, 36);
            let q = (u + 1) as f64;
            for (n, v) in s.iter().enumerate() {
                let m = (n % 31) as f64;
                let want = Complex64::from_polar(1.0, -PI * q * m * (m + 1.0) / 31.0);
                assert!((v - want).norm() < 1e-9, "u={u} n={n}");
            }
        }
        // M_sc = 72: N_ZC = 71; u = 0: q_bar = 71/31 = 2.29 -> q = 2 (v = 0); v = 1 adds
        // (-1)^floor(4.58) = +1 -> q = 3.
        let s0 = base_sequence(0, 0, 72);
        let s1 = base_sequence(0, 1, 72);
        for (n, (a, b)) in s0.iter().zip(&s1).enumerate() {
            let m = (n % 71) as f64;
            let w0 = Complex64::from_polar(1.0, -PI * 2.0 * m * (m + 1.0) / 71.0);
            let w1 = Complex64::from_polar(1.0, -PI * 3.0 * m * (m + 1.0) / 71.0);
            assert!((a - w0).norm() < 1e-9);
            assert!((b - w1).norm() < 1e-9);
        }
        // The 30 groups are distinct sequences with low cross-correlation.
        let a = base_sequence(3, 0, 72);
        let b = base_sequence(4, 0, 72);
        let c: Complex64 = a.iter().zip(&b).map(|(x, y)| x * y.conj()).sum();
        assert!(c.norm() < 0.5 * 72.0);
    }
}
