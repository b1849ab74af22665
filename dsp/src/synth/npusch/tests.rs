//! Tests of the NPUSCH generator. Oracles: the timing, frequencies and sequences of the
//! clauses written out by hand here (not taken from the module), the shared JSON tables,
//! and measurements on the signal rendered at 1.92 and 30.72 MS/s.

use super::*;
use num_complex::Complex32;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const TS: f64 = 1.0 / 30.72e6;
const RATES: [f64; 2] = [1.92e6, 30.72e6];

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

fn shared_json() -> serde_json::Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/ts36211_prach_npusch_tables.json"
    );
    let Ok(text) = std::fs::read_to_string(path) else {
        panic!("shared tables not found at {path}");
    };
    serde_json::from_str(&text).expect("valid JSON")
}

fn dmrs_phi_json() -> serde_json::Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/ts36211_dmrs_phi.json"
    );
    let Ok(text) = std::fs::read_to_string(path) else {
        panic!("shared tables not found at {path}");
    };
    serde_json::from_str(&text).expect("valid JSON")
}

fn phi_row(v: &serde_json::Value, key: &str, u: usize) -> Vec<f64> {
    v[key][u]
        .as_array()
        .expect("row")
        .iter()
        .map(|p| p.as_f64().unwrap_or(99.0))
        .collect()
}

/// One SC-FDMA symbol as the clause times it, written out by hand (Table 10.1.5-1, 5.6-1).
#[derive(Debug, Clone, Copy)]
struct Sym {
    start: f64,
    t_ref: f64,
    end: f64,
    cp_ts: f64,
    /// symbol counter l~
    lt: usize,
    /// slot of the transmission
    slot: usize,
    /// symbol in slot
    l: usize,
}

/// Symbols of the first `slots` slots (no 256 ms gap in the tests that use this).
fn hand_symbols(spacing_hz: u32, slots: usize) -> Vec<Sym> {
    let (slot_len, cps, n): (f64, [f64; 7], f64) = if spacing_hz == 15000 {
        (
            15360.0,
            [160.0, 144.0, 144.0, 144.0, 144.0, 144.0, 144.0],
            2048.0,
        )
    } else {
        (61440.0, [256.0; 7], 8192.0)
    };
    let mut out = Vec::new();
    for j in 0..slots {
        let mut t = j as f64 * slot_len;
        for (l, &cp) in cps.iter().enumerate() {
            out.push(Sym {
                start: t * TS,
                t_ref: (t + cp) * TS,
                end: (t + cp + n) * TS,
                cp_ts: cp,
                lt: j * 7 + l,
                slot: j,
                l,
            });
            t += cp + n;
        }
    }
    out
}

fn hand_freq(spacing_hz: u32, sc: u32) -> f64 {
    let half = if spacing_hz == 15000 { 6.0 } else { 24.0 };
    (sc as f64 - half + 0.5) * spacing_hz as f64
}

/// Coefficient at `t_ref` of a pure tone `f` over the samples strictly inside the symbol.
fn tone_coeff(x: &[Complex32], fs: f64, s: &Sym, f: f64) -> Complex64 {
    let n0 = (s.start * fs).round() as usize + 1;
    let n1 = (s.end * fs).round() as usize - 1;
    let mut acc = Complex64::new(0.0, 0.0);
    for (n, v) in x.iter().enumerate().take(n1).skip(n0) {
        let t = n as f64 / fs;
        acc += Complex64::new(v.re as f64, v.im as f64)
            * Complex64::from_polar(1.0, -2.0 * PI * f * (t - s.t_ref));
    }
    acc / (n1 - n0) as f64
}

/// DFT over exactly one useful symbol (from `t_ref`, `N Ts` long) at frequency `f`.
fn symbol_bin(x: &[Complex32], fs: f64, s: &Sym, f: f64) -> Complex64 {
    let n0 = (s.t_ref * fs).round() as usize;
    let len = ((s.end - s.t_ref) * fs).round() as usize;
    let mut acc = Complex64::new(0.0, 0.0);
    for (i, v) in x[n0..n0 + len].iter().enumerate() {
        let t = (n0 + i) as f64 / fs;
        acc += Complex64::new(v.re as f64, v.im as f64)
            * Complex64::from_polar(1.0, -2.0 * PI * f * (t - s.t_ref));
    }
    acc / len as f64
}

fn wrap(a: f64) -> f64 {
    (a + PI).rem_euclid(2.0 * PI) - PI
}

fn near_any(v: Complex64, set: &[Complex64], tol: f64) -> bool {
    set.iter().any(|s| (v - s).norm() < tol)
}

fn bpsk_set(rot: f64) -> Vec<Complex64> {
    [1.0, -1.0]
        .iter()
        .map(|&s| Complex64::new(s, s) * FRAC_1_SQRT_2 * Complex64::from_polar(1.0, rot))
        .collect()
}

fn qpsk_set(rot: f64) -> Vec<Complex64> {
    [(1.0, 1.0), (1.0, -1.0), (-1.0, 1.0), (-1.0, -1.0)]
        .iter()
        .map(|&(a, b)| Complex64::new(a, b) * FRAC_1_SQRT_2 * Complex64::from_polar(1.0, rot))
        .collect()
}

/// Sylvester-Hadamard row, the closed form of Table 10.1.4.1.1-1.
fn hadamard(u: usize, n: usize) -> f64 {
    if (u & n).count_ones() % 2 == 0 {
        1.0
    } else {
        -1.0
    }
}

/// `phihat(l~)` in closed form: the phase a tone `f` advances from `t_ref(0)` to `t_ref(l~)`
/// less the untransmitted guards (3.75 kHz): `2 pi f sum_{m=1..l~} (N + N_CP(m)) Ts`.
fn phihat_closed(spacing_hz: u32, f: f64, s: &Sym, s0: &Sym) -> f64 {
    let guard = if spacing_hz == 15000 { 0.0 } else { 2304.0 };
    2.0 * PI * f * (s.t_ref - s0.t_ref - s.slot as f64 * guard * TS)
}

fn single(spacing_hz: u32, sc: u32, m: NpuschModulation) -> NpuschConfig {
    NpuschConfig {
        spacing_hz,
        first_subcarrier: sc,
        modulation: Some(m),
        ..NpuschConfig::default()
    }
}

#[test]
fn single_tone_frequency_measured_from_signal() {
    // (k + 1/2) Delta_f about the carrier centre, worked out by hand.
    let cases = [
        (15000, 11, 82_500.0),
        (15000, 0, -82_500.0),
        (15000, 6, 7_500.0),
        (3750, 0, -88_125.0),
        (3750, 47, 88_125.0),
        (3750, 30, 24_375.0),
    ];
    for (sp, sc, want) in cases {
        let b = generate(&single(sp, sc, NpuschModulation::Pi2Bpsk), &mut rng(1)).expect("valid");
        assert_eq!(b.center_hz, want);
        assert_eq!(b.bandwidth_hz, sp as f64);
        assert_eq!(b.snr_bandwidth_hz, 180e3);
        for fs in RATES {
            let x = b.signal.render(fs);
            let (mut sum, mut cnt) = (0.0, 0usize);
            for s in hand_symbols(sp, 2) {
                let n0 = (s.start * fs).round() as usize + 1;
                let n1 = (s.end * fs).round() as usize - 1;
                for n in n0..n1 {
                    sum += (x[n + 1] * x[n].conj()).arg() as f64;
                    cnt += 1;
                }
            }
            let f = sum / cnt as f64 * fs / (2.0 * PI);
            assert!(
                (f - want).abs() < 0.5,
                "{sp} Hz sc {sc} at {fs}: {f} vs {want}"
            );
        }
    }
}

#[test]
fn single_tone_phase_is_continuous_up_to_the_modulation_step() {
    let bpsk = [PI / 2.0, -PI / 2.0];
    let qpsk = [PI / 4.0, -PI / 4.0, 3.0 * PI / 4.0, -3.0 * PI / 4.0];
    let cases = [
        (15000, 3, NpuschModulation::Pi2Bpsk, 2, &bpsk[..]),
        (15000, 10, NpuschModulation::Pi4Qpsk, 1, &qpsk[..]),
        (3750, 17, NpuschModulation::Pi2Bpsk, 1, &bpsk[..]),
        (3750, 40, NpuschModulation::Pi4Qpsk, 1, &qpsk[..]),
    ];
    for (sp, sc, m, reps, steps) in cases {
        let cfg = NpuschConfig {
            repetitions: reps,
            ..single(sp, sc, m)
        };
        let b = generate(&cfg, &mut rng(2)).expect("valid");
        let f = hand_freq(sp, sc);
        let syms = hand_symbols(sp, cfg.total_slots());
        // Without the phihat term the tone's own advance over a symbol would show up as
        // the jump: it is not a multiple of pi/4 here, so the test can fail.
        let raw = 2.0 * PI * f * (syms[1].end - syms[1].start);
        assert!(
            wrap(raw * 4.0).abs() > 0.05,
            "{sp} {sc}: raw advance is pi/4-aligned"
        );
        for fs in RATES {
            let x = b.signal.render(fs);
            let c: Vec<Complex64> = syms.iter().map(|s| tone_coeff(&x, fs, s, f)).collect();
            let mut seen = std::collections::HashSet::new();
            for i in 0..syms.len() - 1 {
                let (a, z) = (&syms[i], &syms[i + 1]);
                // Phase at the end of symbol i and at the start of symbol i+1 (across the
                // 3.75 kHz guard the clause's recursion ignores the guard: end vs start).
                let end_phase = c[i].arg() + 2.0 * PI * f * (a.end - a.t_ref);
                let start_phase = c[i + 1].arg() - 2.0 * PI * f * z.cp_ts * TS;
                let jump = wrap(start_phase - end_phase);
                let k = steps
                    .iter()
                    .position(|&s| wrap(jump - s).abs() < 2e-3)
                    .unwrap_or_else(|| panic!("{sp} {sc} {fs}: jump {jump} at symbol {i}"));
                seen.insert(k);
            }
            assert!(seen.len() >= 2, "modulation steps should vary");
            for ci in &c {
                assert!(
                    (ci.norm() - 1.0).abs() < 1e-3,
                    "constant envelope, unit power"
                );
            }
        }
    }
}

#[test]
fn rotated_constellations_alternate_per_symbol() {
    for (sp, sc) in [(15000, 2), (3750, 33)] {
        for m in [NpuschModulation::Pi2Bpsk, NpuschModulation::Pi4Qpsk] {
            let cfg = single(sp, sc, m);
            let b = generate(&cfg, &mut rng(3)).expect("valid");
            let f = hand_freq(sp, sc);
            let syms = hand_symbols(sp, cfg.total_slots());
            let x = b.signal.render(1.92e6);
            for s in &syms {
                let c = tone_coeff(&x, 1.92e6, s, f);
                let v =
                    c / c.norm() * Complex64::from_polar(1.0, -phihat_closed(sp, f, s, &syms[0]));
                let (even, odd) = match m {
                    NpuschModulation::Pi2Bpsk => (bpsk_set(0.0), bpsk_set(PI / 2.0)),
                    _ => (qpsk_set(0.0), qpsk_set(PI / 4.0)),
                };
                let (own, other) = if s.lt % 2 == 0 {
                    (&even, &odd)
                } else {
                    (&odd, &even)
                };
                assert!(near_any(v, own, 2e-3), "{sp} {m:?} l~={}: {v}", s.lt);
                assert!(!near_any(v, other, 0.3), "{sp} {m:?} l~={}: {v}", s.lt);
            }
        }
    }
}

#[test]
fn single_tone_dmrs_matches_clause_after_demodulation() {
    // Format 1: rbar(n) = (1+j)/sqrt2 (1 - 2c(n)) w_u(n mod 16), u = cell mod 16, one value
    // per slot in l = 3 (15 kHz) / 4 (3.75 kHz), then the 10.1.5 rotation.
    for (sp, sc, cell, m, reps, l_dmrs) in [
        (15000, 5, 37u32, NpuschModulation::Pi2Bpsk, 2, 3usize),
        (3750, 21, 500, NpuschModulation::Pi4Qpsk, 1, 4),
    ] {
        let cfg = NpuschConfig {
            cell_id: cell,
            repetitions: reps,
            ..single(sp, sc, m)
        };
        let b = generate(&cfg, &mut rng(4)).expect("valid");
        let f = hand_freq(sp, sc);
        let syms = hand_symbols(sp, cfg.total_slots());
        let c = crate::sequences::gold(35, cfg.total_slots());
        let u = (cell % 16) as usize;
        for fs in RATES {
            let x = b.signal.render(fs);
            for s in syms.iter().filter(|s| s.l == l_dmrs) {
                let meas = tone_coeff(&x, fs, s, f);
                let phi = m.rho() * (s.lt % 2) as f64 + phihat_closed(sp, f, s, &syms[0]);
                let v = meas / meas.norm() * Complex64::from_polar(1.0, -phi);
                let sign = (1.0 - 2.0 * c[s.slot] as f64) * hadamard(u, s.slot % 16);
                let want = Complex64::new(sign, sign) * FRAC_1_SQRT_2;
                assert!(
                    (v - want).norm() < 2e-3,
                    "{sp} slot {}: {v} vs {want}",
                    s.slot
                );
            }
        }
    }
}

#[test]
fn format2_dmrs_has_orthogonal_cover_in_three_symbols() {
    for (sp, l0, start_slot, cell) in [(15000, 2usize, 6u32, 77u32), (3750, 0, 3, 200)] {
        let cfg = NpuschConfig {
            format: 2,
            spacing_hz: sp,
            first_subcarrier: 1,
            cell_id: cell,
            start_slot,
            repetitions: 2,
            ..NpuschConfig::default()
        };
        let b = generate(&cfg, &mut rng(5)).expect("valid");
        assert_eq!(b.params["modulation"], "pi/2-bpsk");
        let f = hand_freq(sp, 1);
        let syms = hand_symbols(sp, cfg.total_slots());
        assert_eq!(cfg.total_slots(), 8);
        let c = crate::sequences::gold(35, 8);
        let u = (cell % 16) as usize;
        let per_frame = if sp == 15000 { 20 } else { 5 };
        let x = b.signal.render(1.92e6);
        for s in &syms {
            let meas = tone_coeff(&x, 1.92e6, s, f);
            let phi = PI / 2.0 * (s.lt % 2) as f64 + phihat_closed(sp, f, s, &syms[0]);
            let v = meas / meas.norm() * Complex64::from_polar(1.0, -phi);
            if (l0..l0 + 3).contains(&s.l) {
                let n_s = (start_slot as usize + s.slot) % per_frame;
                let g = crate::sequences::gold(cell, 8 * n_s + 8);
                let n_oc = (0..8)
                    .map(|i| (g[8 * n_s + i] as usize) << i)
                    .sum::<usize>()
                    % 3;
                let m = (s.l - l0) as f64;
                let w = Complex64::from_polar(1.0, 2.0 * PI / 3.0 * n_oc as f64 * m);
                let sign = (1.0 - 2.0 * c[s.slot] as f64) * hadamard(u, s.slot % 16);
                let want = w * Complex64::new(sign, sign) * FRAC_1_SQRT_2;
                assert!((v - want).norm() < 2e-3, "{sp} slot {} l {}", s.slot, s.l);
            } else {
                assert!(
                    near_any(v, &bpsk_set(0.0), 2e-3),
                    "data is BPSK before rotation"
                );
            }
        }
    }
}

#[test]
fn multi_tone_dmrs_after_fft_matches_tables() {
    let json = shared_json();
    let phi12 = dmrs_phi_json();
    // (tones, first sc, cell, signalled base sequence, cyclic shift)
    let cases: [(u32, u32, u32, Option<u32>, u32); 6] = [
        (3, 9, 29, None, 2),
        (3, 0, 7, Some(11), 1),
        (6, 6, 100, None, 3),
        (6, 0, 5, Some(13), 0),
        (12, 0, 503, None, 0),
        (12, 0, 0, Some(17), 0),
    ];
    for (tones, sc, cell, base, cs) in cases {
        let cfg = NpuschConfig {
            tones,
            first_subcarrier: sc,
            cell_id: cell,
            base_sequence: base,
            cyclic_shift: cs,
            ..NpuschConfig::default()
        };
        let b = generate(&cfg, &mut rng(6)).expect("valid");
        // Expected r_u(n) = e^{j alpha n} e^{j phi(n) pi/4}, written from the clause.
        let (key, n_seq, alpha) = match tones {
            3 => ("npusch_dmrs_phi_3_tones", 12, 2.0 * PI * cs as f64 / 3.0),
            6 => (
                "npusch_dmrs_phi_6_tones",
                14,
                [0.0, 2.0 * PI / 6.0, 4.0 * PI / 6.0, 8.0 * PI / 6.0][cs as usize],
            ),
            _ => ("phi_m_sc_12", 30, 0.0),
        };
        let u = base.unwrap_or(cell % n_seq) as usize;
        let phi = if tones == 12 {
            phi_row(&phi12, key, u)
        } else {
            phi_row(&json, key, u)
        };
        let want: Vec<Complex64> = phi
            .iter()
            .enumerate()
            .map(|(n, p)| Complex64::from_polar(1.0, p * PI / 4.0 + alpha * n as f64))
            .collect();
        let syms = hand_symbols(15000, cfg.total_slots());
        for fs in RATES {
            let x = b.signal.render(fs);
            for s in syms.iter().filter(|s| s.l == 3) {
                let bins: Vec<Complex64> = (0..12)
                    .map(|k| symbol_bin(&x, fs, s, hand_freq(15000, k)))
                    .collect();
                let alloc = &bins[sc as usize..(sc + tones) as usize];
                let g: Complex64 = alloc
                    .iter()
                    .zip(&want)
                    .map(|(a, w)| a * w.conj())
                    .sum::<Complex64>()
                    / tones as f64;
                assert!(g.re > 0.1 && g.im.abs() < 1e-4, "{tones} tones: gain {g}");
                for (a, w) in alloc.iter().zip(&want) {
                    assert!((a - g * w).norm() < 1e-4, "{tones} tones u={u} at {fs}");
                }
                for (k, v) in bins.iter().enumerate() {
                    if !(sc..sc + tones).contains(&(k as u32)) {
                        assert!(v.norm() < 1e-4, "leak into subcarrier {k}");
                    }
                }
            }
        }
    }
}

#[test]
fn multi_tone_data_is_dft_precoded_qpsk() {
    // Inverting the transform precoding of 10.1.3.4 on a data symbol gives QPSK points.
    for (tones, sc) in [(3u32, 3u32), (6, 0), (12, 0)] {
        let cfg = NpuschConfig {
            tones,
            first_subcarrier: sc,
            ..NpuschConfig::default()
        };
        let b = generate(&cfg, &mut rng(7)).expect("valid");
        let x = b.signal.render(1.92e6);
        let syms = hand_symbols(15000, cfg.total_slots());
        let m = tones as usize;
        // Gain from the DMRS of slot 0 (unit-modulus sequence).
        let dm = &syms[3];
        let g = (sc..sc + tones)
            .map(|k| symbol_bin(&x, 1.92e6, dm, hand_freq(15000, k)).norm())
            .sum::<f64>()
            / m as f64;
        for s in syms.iter().filter(|s| s.l != 3) {
            let z: Vec<Complex64> = (sc..sc + tones)
                .map(|k| symbol_bin(&x, 1.92e6, s, hand_freq(15000, k)) / g)
                .collect();
            for i in 0..m {
                let y: Complex64 = z
                    .iter()
                    .enumerate()
                    .map(|(k, v)| {
                        v * Complex64::from_polar(1.0, 2.0 * PI * (i * k) as f64 / m as f64)
                    })
                    .sum::<Complex64>()
                    / (m as f64).sqrt();
                assert!(near_any(y, &qpsk_set(0.0), 1e-3), "{tones} tones: {y}");
            }
        }
    }
}

#[test]
fn ru_duration_in_samples() {
    // (format, spacing, tones, transmitted Ts of one RU): slots x slot length, less the
    // untransmitted 2304 Ts guard at the end of the last 3.75 kHz slot.
    let cases = [
        (1u8, 15000u32, 1u32, 16 * 15360u64),
        (1, 15000, 3, 8 * 15360),
        (1, 15000, 6, 4 * 15360),
        (1, 15000, 12, 2 * 15360),
        (1, 3750, 1, 16 * 61440 - 2304),
        (2, 15000, 1, 4 * 15360),
        (2, 3750, 1, 4 * 61440 - 2304),
    ];
    for (format, sp, tones, ts) in cases {
        let cfg = NpuschConfig {
            format,
            spacing_hz: sp,
            tones,
            ..NpuschConfig::default()
        };
        let b = generate(&cfg, &mut rng(8)).expect("valid");
        assert_eq!(b.signal.segments.len(), cfg.total_slots() * 7);
        // Contiguous symbols share their boundary instant exactly.
        for w in b.signal.segments.windows(2) {
            let gap = w[1].start_s - w[0].end_s();
            assert!(gap == 0.0 || (gap - 2304.0 * TS).abs() < 1e-15, "gap {gap}");
        }
        for fs in RATES {
            let x = b.signal.render(fs);
            let want = (ts * (fs / 1.92e6) as u64 / 16) as usize;
            assert!((b.signal.duration_s() * fs - want as f64).abs() < 1e-6);
            // Burst::render takes the ceil of a float product, so when the end lands on a
            // sample instant it may render that one sample too (the tone continued).
            assert!(
                x.len() >= want && x.len() <= want + 1,
                "{format} {sp} {tones} at {fs}"
            );
            assert!(x[want - 1].norm() > 0.01, "last transmitted sample");
            // Every sample of a single-tone symbol, including those on a boundary between
            // contiguous symbols, is rendered exactly once: unit modulus, never 0 or doubled.
            if tones == 1 {
                let segs = &b.signal.segments;
                for (i, seg) in segs.iter().enumerate() {
                    let n0 = (seg.start_s * fs).round() as usize;
                    let n1 = (seg.end_s() * fs).round() as usize;
                    let contiguous = segs.get(i + 1).is_some_and(|z| z.start_s == seg.end_s());
                    let last = if contiguous { n1 } else { n1 - 1 };
                    for v in &x[n0 + 1..=last] {
                        assert!((v.norm() - 1.0).abs() < 1e-3, "segment {i} at {fs}");
                    }
                }
            }
        }
        // The RU helpers agree with the hand table (ms): 8, 4, 2, 1, 32, 2, 8.
        let sp_e = Spacing::from_hz(sp).expect("spacing");
        let ru_ts = ru_slots(format, tones).expect("ru") as u64 * sp_e.slot_ts() as u64;
        assert_eq!(ru_ts, ts + sp_e.guard_ts() as u64);
    }
    // N_RU and repetitions scale the duration.
    let cfg = NpuschConfig {
        tones: 6,
        n_ru: 3,
        repetitions: 4,
        ..NpuschConfig::default()
    };
    let b = generate(&cfg, &mut rng(9)).expect("valid");
    assert_eq!(b.signal.render(1.92e6).len(), 3 * 4 * 2 * 1920);
}

#[test]
fn slot_timing_helpers_match_table() {
    let s = Spacing::Hz15000;
    let starts: Vec<u32> = (0..8).map(|l| s.symbol_start_ts(l)).collect();
    assert_eq!(starts, [0, 2208, 4400, 6592, 8784, 10976, 13168, 15360]);
    assert_eq!(s.guard_ts(), 0);
    let s = Spacing::Hz3750;
    assert_eq!(s.symbol_start_ts(4), 4 * 8448);
    assert_eq!(s.guard_ts(), 2304);
    assert_eq!(s.slots_per_frame(), 5);
    assert_eq!(Spacing::Hz15000.slots_per_frame(), 20);
    assert_eq!(dmrs_symbols(1, Spacing::Hz15000), &[3]);
    assert_eq!(dmrs_symbols(1, Spacing::Hz3750), &[4]);
    assert_eq!(dmrs_symbols(2, Spacing::Hz15000), &[2, 3, 4]);
    assert_eq!(dmrs_symbols(2, Spacing::Hz3750), &[0, 1, 2]);
}

#[test]
fn phase_recursion_matches_closed_form() {
    for (sp, sc) in [(15000u32, 0u32), (15000, 11), (3750, 5), (3750, 47)] {
        let spe = Spacing::from_hz(sp).expect("spacing");
        let f = hand_freq(sp, sc);
        let syms = hand_symbols(sp, 40);
        let ph = single_tone_phases(spe, sc, NpuschModulation::Pi4Qpsk, syms.len());
        for (s, p) in syms.iter().zip(&ph) {
            let want = PI / 4.0 * (s.lt % 2) as f64 + phihat_closed(sp, f, s, &syms[0]);
            assert!(wrap(p - want).abs() < 1e-9, "{sp} {sc} l~={}", s.lt);
        }
    }
}

#[test]
fn hadamard_table_rows_orthogonal_and_sylvester() {
    for (u, row) in NPUSCH_W.iter().enumerate() {
        for (n, &w) in row.iter().enumerate() {
            assert_eq!(w as f64, hadamard(u, n), "row {u} col {n}");
        }
        for (v, other) in NPUSCH_W.iter().enumerate() {
            let dot: i32 = row
                .iter()
                .zip(other)
                .map(|(a, b)| (*a as i32) * (*b as i32))
                .sum();
            assert_eq!(dot, if u == v { 16 } else { 0 });
        }
    }
}

#[test]
fn multi_tone_tables_match_shared_json() {
    let json = shared_json();
    for (u, row) in NPUSCH_PHI_3_TONES.iter().enumerate() {
        let want = phi_row(&json, "npusch_dmrs_phi_3_tones", u);
        assert_eq!(row.iter().map(|&p| p as f64).collect::<Vec<_>>(), want);
    }
    for (u, row) in NPUSCH_PHI_6_TONES.iter().enumerate() {
        let want = phi_row(&json, "npusch_dmrs_phi_6_tones", u);
        assert_eq!(row.iter().map(|&p| p as f64).collect::<Vec<_>>(), want);
    }
}

#[test]
fn m_identical_repeats_slot_pairs() {
    // 3 tones, 15 kHz: M_identical = min(ceil(M_rep/2), 4); pairs of slots repeated.
    for (reps, m_id) in [(1u32, 1usize), (2, 1), (4, 2), (8, 4), (128, 4)] {
        let cfg = NpuschConfig {
            tones: 3,
            repetitions: reps,
            ..NpuschConfig::default()
        };
        assert_eq!(cfg.m_identical() as usize, m_id);
        if reps > 8 {
            continue;
        }
        let b = generate(&cfg, &mut rng(10)).expect("valid");
        let slot = |j: usize| -> Vec<Complex64> {
            b.signal.segments[j * 7..j * 7 + 7]
                .iter()
                .filter(|s| s.tones.len() == 3)
                .flat_map(|s| s.tones.iter().map(|t| t.coeff))
                .collect()
        };
        // Slot 0 repeats at slot 2 (m_id - 1 times); the next pair (slots 2m_id, 2m_id+1)
        // carries new data.
        for r in 1..m_id {
            assert_eq!(slot(0), slot(2 * r), "reps {reps}");
            assert_eq!(slot(1), slot(2 * r + 1), "reps {reps}");
        }
        assert_ne!(slot(0), slot(2 * m_id));
        assert_ne!(slot(0), slot(1));
    }
}

#[test]
fn forty_ms_gap_after_256_ms() {
    let cfg = NpuschConfig {
        spacing_hz: 3750,
        n_ru: 10,
        ..NpuschConfig::default()
    };
    let b = generate(&cfg, &mut rng(11)).expect("valid");
    // 160 slots of 2 ms = 320 ms; slot 128 starts after 256 ms + 40 ms.
    let seg = &b.signal.segments;
    assert!((seg[127 * 7].start_s - 0.254).abs() < 1e-12);
    assert!((seg[128 * 7].start_s - 0.296).abs() < 1e-12);
    assert!((b.signal.duration_s() - (0.360 - 2304.0 * TS)).abs() < 1e-12);
    assert_eq!(slot_start_ts(Spacing::Hz15000, 512), (256 + 40) * 30720);
    assert_eq!(slot_start_ts(Spacing::Hz15000, 511), 511 * 15360);
}

#[test]
fn params_and_serde() {
    let cfg = NpuschConfig {
        tones: 6,
        first_subcarrier: 6,
        n_ru: 2,
        repetitions: 4,
        cell_id: 101,
        cyclic_shift: 1,
        ..NpuschConfig::default()
    };
    let b = generate(&cfg, &mut rng(12)).expect("valid");
    assert_eq!(b.kind, Kind::Npusch);
    assert_eq!(b.tech, Tech::NbIot);
    assert_eq!(b.bandwidth_hz, 90e3);
    assert_eq!(
        b.center_hz,
        (hand_freq(15000, 8) + hand_freq(15000, 9)) / 2.0
    );
    let p = &b.params;
    for (k, v) in [
        ("format", serde_json::json!(1)),
        ("tones", serde_json::json!(6)),
        ("spacing_hz", serde_json::json!(15000)),
        ("first_subcarrier", serde_json::json!(6)),
        ("n_ru", serde_json::json!(2)),
        ("repetitions", serde_json::json!(4)),
        ("modulation", serde_json::json!("qpsk")),
        ("cell_id", serde_json::json!(101)),
        ("base_sequence", serde_json::json!(101 % 14)),
        ("cyclic_shift", serde_json::json!(1)),
    ] {
        assert_eq!(p[k], v, "{k}");
    }
    assert!((b.signal.nominal_power() - 1.0).abs() < 1e-12);
    let text = serde_json::to_string(&cfg).expect("serialise");
    assert_eq!(serde_json::from_str::<NpuschConfig>(&text).ok(), Some(cfg));
    assert_eq!(
        serde_json::from_str::<NpuschConfig>("{}").ok(),
        Some(NpuschConfig::default())
    );
    assert!(serde_json::from_str::<NpuschConfig>(r#"{"tone": 3}"#).is_err());
    let m: NpuschConfig =
        serde_json::from_str(r#"{"modulation": "pi/2-bpsk", "spacing_hz": 3750}"#).expect("parse");
    assert_eq!(m.modulation, Some(NpuschModulation::Pi2Bpsk));
}

#[test]
fn deterministic_for_a_seed() {
    let cfg = single(15000, 4, NpuschModulation::Pi4Qpsk);
    let a = generate(&cfg, &mut rng(13)).expect("valid");
    let b = generate(&cfg, &mut rng(13)).expect("valid");
    let c = generate(&cfg, &mut rng(14)).expect("valid");
    assert_eq!(a.signal, b.signal);
    assert_ne!(a.signal, c.signal);
}

#[test]
fn validation_errors() {
    let ok = NpuschConfig::default();
    assert_eq!(ok.validate(), Ok(()));
    let bad = |c: NpuschConfig, param: &str| {
        match c.validate() {
            Err(SynthError::Param { param: p, .. }) => assert_eq!(p, param, "{c:?}"),
            other => panic!("{c:?} gave {other:?}, want error on {param}"),
        }
        assert!(generate(&c, &mut rng(0)).is_err());
    };
    let d = NpuschConfig::default;
    bad(NpuschConfig { format: 3, ..d() }, "format");
    bad(
        NpuschConfig {
            spacing_hz: 7500,
            ..d()
        },
        "spacing_hz",
    );
    bad(NpuschConfig { tones: 2, ..d() }, "tones");
    bad(
        NpuschConfig {
            tones: 3,
            spacing_hz: 3750,
            ..d()
        },
        "tones",
    );
    bad(
        NpuschConfig {
            tones: 12,
            format: 2,
            ..d()
        },
        "tones",
    );
    bad(
        NpuschConfig {
            first_subcarrier: 12,
            ..d()
        },
        "first_subcarrier",
    );
    bad(
        NpuschConfig {
            first_subcarrier: 48,
            spacing_hz: 3750,
            ..d()
        },
        "first_subcarrier",
    );
    bad(
        NpuschConfig {
            tones: 3,
            first_subcarrier: 4,
            ..d()
        },
        "first_subcarrier",
    );
    bad(
        NpuschConfig {
            tones: 6,
            first_subcarrier: 3,
            ..d()
        },
        "first_subcarrier",
    );
    bad(
        NpuschConfig {
            tones: 12,
            first_subcarrier: 6,
            ..d()
        },
        "first_subcarrier",
    );
    bad(NpuschConfig { n_ru: 7, ..d() }, "n_ru");
    bad(NpuschConfig { n_ru: 0, ..d() }, "n_ru");
    bad(
        NpuschConfig {
            format: 2,
            n_ru: 2,
            ..d()
        },
        "n_ru",
    );
    bad(
        NpuschConfig {
            repetitions: 3,
            ..d()
        },
        "repetitions",
    );
    bad(
        NpuschConfig {
            repetitions: 256,
            ..d()
        },
        "repetitions",
    );
    bad(
        NpuschConfig {
            cell_id: 504,
            ..d()
        },
        "cell_id",
    );
    let qpsk = Some(NpuschModulation::Qpsk);
    bad(
        NpuschConfig {
            modulation: qpsk,
            ..d()
        },
        "modulation",
    );
    let pi4 = Some(NpuschModulation::Pi4Qpsk);
    bad(
        NpuschConfig {
            tones: 12,
            modulation: pi4,
            ..d()
        },
        "modulation",
    );
    bad(
        NpuschConfig {
            format: 2,
            modulation: pi4,
            ..d()
        },
        "modulation",
    );
    bad(
        NpuschConfig {
            start_slot: 1,
            ..d()
        },
        "start_slot",
    );
    bad(
        NpuschConfig {
            start_slot: 20,
            ..d()
        },
        "start_slot",
    );
    bad(
        NpuschConfig {
            start_slot: 5,
            spacing_hz: 3750,
            ..d()
        },
        "start_slot",
    );
    bad(
        NpuschConfig {
            base_sequence: Some(0),
            ..d()
        },
        "base_sequence",
    );
    bad(
        NpuschConfig {
            tones: 3,
            base_sequence: Some(12),
            ..d()
        },
        "base_sequence",
    );
    bad(
        NpuschConfig {
            tones: 6,
            base_sequence: Some(14),
            ..d()
        },
        "base_sequence",
    );
    bad(
        NpuschConfig {
            tones: 12,
            base_sequence: Some(30),
            ..d()
        },
        "base_sequence",
    );
    bad(
        NpuschConfig {
            cyclic_shift: 1,
            ..d()
        },
        "cyclic_shift",
    );
    bad(
        NpuschConfig {
            tones: 3,
            cyclic_shift: 3,
            ..d()
        },
        "cyclic_shift",
    );
    bad(
        NpuschConfig {
            tones: 6,
            cyclic_shift: 4,
            ..d()
        },
        "cyclic_shift",
    );
    bad(
        NpuschConfig {
            tones: 12,
            cyclic_shift: 1,
            ..d()
        },
        "cyclic_shift",
    );
    // The message names the value and what is allowed.
    let e = NpuschConfig {
        tones: 3,
        first_subcarrier: 4,
        ..d()
    }
    .validate();
    let msg = e.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        msg.contains("first_subcarrier = 4") && msg.contains("0, 3, 6 or 9"),
        "{msg}"
    );
    // Edges that are allowed.
    for c in [
        NpuschConfig {
            first_subcarrier: 47,
            spacing_hz: 3750,
            start_slot: 4,
            ..d()
        },
        NpuschConfig {
            tones: 3,
            first_subcarrier: 9,
            cyclic_shift: 2,
            ..d()
        },
        NpuschConfig {
            tones: 6,
            first_subcarrier: 6,
            cyclic_shift: 3,
            base_sequence: Some(13),
            ..d()
        },
        NpuschConfig {
            format: 2,
            spacing_hz: 3750,
            repetitions: 128,
            cell_id: 503,
            ..d()
        },
        NpuschConfig {
            n_ru: 10,
            repetitions: 128,
            start_slot: 18,
            ..d()
        },
    ] {
        assert_eq!(c.validate(), Ok(()), "{c:?}");
    }
}
