use super::*;
use crate::impair::{add_awgn, signal_power_for_snr};
use crate::synth::pusch::{generate, PuschConfig};
use num_complex::Complex64;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Truth of an injected burst.
#[derive(Debug, Clone)]
struct Truth {
    start: u64,
    len: u64,
    freq_hz: f64,
    n_prb: u32,
    tech: Tech,
}

/// Renders `cfg` with its allocation centre at `freq_hz`, time 0 at `start`, at `snr_db` in
/// the allocation bandwidth against unit noise.
fn add_pusch<R: Rng>(
    x: &mut [Complex32],
    fs: f64,
    cfg: &PuschConfig,
    start: f64,
    freq_hz: f64,
    snr_db: f64,
    rng: &mut R,
) -> Truth {
    let sb = generate(cfg, rng).unwrap();
    let p = signal_power_for_snr(1.0, fs, snr_db, sb.snr_bandwidth_hz);
    sb.signal.render_add(
        x,
        0,
        fs,
        start,
        freq_hz - sb.center_hz,
        Complex64::from_polar(p.sqrt(), rng.random_range(0.0..2.0 * PI)),
    );
    Truth {
        start: crate::signal::ceil_tol(start) as u64,
        len: (sb.signal.duration_s() * fs).round() as u64,
        freq_hz,
        n_prb: cfg.n_prb,
        tech: sb.tech,
    }
}

fn run(d: &mut PuschDetector, x: &[Complex32], block: usize) -> Vec<Detection> {
    let mut out = Vec::new();
    for (i, c) in x.chunks(block).enumerate() {
        d.process((i * block) as u64, c, &mut out);
    }
    d.finish(&mut out);
    out
}

fn det(fs: f64) -> PuschDetector {
    PuschDetector::new(PuschDetectorConfig {
        sample_rate_hz: fs,
        ..Default::default()
    })
    .unwrap()
}

fn phone_cfg<R: Rng>(rng: &mut R, n_prb: u32) -> PuschConfig {
    PuschConfig {
        bandwidth_mhz: 20.0,
        n_prb,
        first_prb: rng.random_range(0..=(100 - n_prb)),
        cell_id: rng.random_range(0..504),
        delta_ss: rng.random_range(0..30),
        cyclic_shift_cfg: rng.random_range(0..8),
        cyclic_shift_dci: rng.random_range(0..8),
        group_hopping: rng.random_bool(0.5),
        slot_start: 2 * rng.random_range(0..10),
        ..Default::default()
    }
}

/// One burst per trial; checks a single PUSCH detection near the truth.
fn check_found(fs: f64, n_prb: u32, trials: usize, snr_db: f64, seed: u64) {
    // Known limitation: for a Zadoff-Chu DMRS (>= 3 PRB) the band edge is only known
    // from the energy profile, within a few 15 kHz bins at low SNR.
    let f_tol = if n_prb >= 3 { 40e3 } else { 10e3 };
    check_found_within(fs, n_prb, trials, snr_db, seed, f_tol);
}

fn check_found_within(fs: f64, n_prb: u32, trials: usize, snr_db: f64, seed: u64, f_tol: f64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut d = det(fs);
    for trial in 0..trials {
        let n = (fs * 4e-3) as usize;
        let mut x = vec![Complex32::new(0.0, 0.0); n];
        let bw = n_prb as f64 * 180e3;
        let half = 0.5 * fs - 0.5 * bw - 20e3;
        let f = rng.random_range(-half..half);
        let start = rng.random_range(0.0..fs * 1e-3) + fs * 1e-3;
        let cfg = phone_cfg(&mut rng, n_prb);
        let t = add_pusch(&mut x, fs, &cfg, start, f, snr_db, &mut rng);
        add_awgn(&mut x, 1.0, &mut rng);
        d.reset();
        let out = run(&mut d, &x, 4096);
        let what = format!("fs {fs} trial {trial}: truth {t:?}, got {out:?}");
        assert_eq!(out.len(), 1, "{what}");
        let o = &out[0];
        assert_eq!(o.kind, Kind::Pusch, "{what}");
        assert_eq!(o.params["n_prb"], t.n_prb, "{what}");
        assert!((o.freq_offset_hz - t.freq_hz).abs() < f_tol, "{what}");
        let ds = o.sample_start as i64 - t.start as i64;
        assert!(
            ds.unsigned_abs() < (fs * 0.5e-3) as u64 + (fs * 20e-6) as u64,
            "start {ds}: {what}"
        );
        // Known limitation: at low SNR one of the two slots may fail its own test.
        let slot = (fs * 0.5e-3) as i64;
        assert!((o.sample_len as i64 - t.len as i64).abs() <= slot, "{what}");
        let _ = t.tech;
    }
}

#[test]
fn smoke_1prb_and_6prb_1m92() {
    check_found(1.92e6, 1, 3, 10.0, 1);
    check_found(1.92e6, 6, 3, 3.0, 2);
}

#[test]
fn finds_1prb_at_6db_and_6prb_at_0db_15m36() {
    check_found(15.36e6, 1, 2, 6.0, 11);
    check_found(15.36e6, 6, 2, 0.0, 12);
}

/// Strong allocations: the right size and place. Before, a 6 PRB burst at 30 dB grew (its
/// spectral leakage) into a segment only wide hypotheses were tried on (1 of 40 found), and
/// the edges came from the other sub-bin variant's profile (a subcarrier or two off in 3 of
/// 8 trials at any SNR).
#[test]
fn strong_6prb_is_sized_and_placed_within_a_subcarrier_7m68() {
    check_found_within(7.68e6, 6, 4, 15.0, 32, 10e3);
    check_found_within(7.68e6, 6, 4, 30.0, 31, 10e3);
}

/// One PRB at +6 dB (fresh seeds) is placed within 10 kHz: the band edge from the energy
/// profile within 2 bins of the DMRS position (before, the DMRS position alone was a
/// subcarrier or two off in 5 of 60 `pusch_eval` trials at +6 dB).
#[test]
fn one_prb_is_placed_within_10_khz_at_6_db() {
    check_found_within(1.92e6, 1, 16, 6.0, 0x1b0b, 10e3);
}

#[test]
fn noise_and_cw_are_not_pusch() {
    use crate::synth::interferer::CwConfig;
    let mut rng = ChaCha8Rng::seed_from_u64(77);
    for fs in [1.92e6, 15.36e6] {
        let n = (fs * 0.04) as usize;
        let mut x = vec![Complex32::new(0.0, 0.0); n];
        let cw = CwConfig { duration_s: 0.02 }.generate().unwrap();
        let p = signal_power_for_snr(1.0, fs, 30.0, 15e3);
        cw.signal.render_add(
            &mut x,
            0,
            fs,
            1000.0,
            rng.random_range(-0.4 * fs..0.4 * fs),
            Complex64::new(p.sqrt(), 0.0),
        );
        add_awgn(&mut x, 1.0, &mut rng);
        let mut d = det(fs);
        let out = run(&mut d, &x, 5000);
        assert!(out.is_empty(), "fs {fs}: {out:?}");
    }
}

#[test]
fn same_result_for_any_block_size_and_gap() {
    let fs = 1.92e6;
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let n = (fs * 6e-3) as usize;
    let mut x = vec![Complex32::new(0.0, 0.0); n];
    let cfg = phone_cfg(&mut rng, 2);
    add_pusch(&mut x, fs, &cfg, 2500.3, 123e3, 10.0, &mut rng);
    add_awgn(&mut x, 1.0, &mut rng);
    let mut d = det(fs);
    let a = run(&mut d, &x, 4096);
    d.reset();
    let b = run(&mut d, &x, 777);
    assert_eq!(a.len(), 1);
    assert_eq!(a, b);
    // A gap (jump in the stamps) in the middle of the burst's subframe drops the state.
    d.reset();
    let mut out = Vec::new();
    d.process(0, &x[..3000], &mut out);
    d.process(1_000_000, &x[3000..], &mut out);
    d.finish(&mut out);
    assert_eq!(d.stats().gaps, 1);
}

#[test]
fn config_errors() {
    let bad = |c: PuschDetectorConfig| PuschDetector::new(c).unwrap_err();
    let ok = PuschDetectorConfig::default();
    assert!(matches!(
        bad(PuschDetectorConfig {
            sample_rate_hz: 2e6,
            ..ok.clone()
        }),
        PuschDetectorError::SampleRate(_)
    ));
    for c in [
        PuschDetectorConfig {
            false_alarms_per_hour: 0.0,
            ..ok.clone()
        },
        PuschDetectorConfig {
            max_prb: 0,
            ..ok.clone()
        },
        PuschDetectorConfig {
            gate_pass_fraction: 1.0,
            ..ok.clone()
        },
        PuschDetectorConfig {
            track_false_slot: 0.5,
            ..ok.clone()
        },
        PuschDetectorConfig {
            sub_bin_variants: 3,
            ..ok.clone()
        },
    ] {
        let e = bad(c);
        let msg = e.to_string();
        assert!(
            msg.contains("pusch detector") && !msg.contains("{"),
            "{msg}"
        );
    }
}
