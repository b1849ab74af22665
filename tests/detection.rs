//! Whole-scanner properties (the same detectors and claim resolution as `scan`), on signals
//! synthesised with fresh seeds that no detector was tuned on:
//! - a burst injected at a random place, carrier offset, CFO and an SNR above the detector's
//!   limit is found, with the right kind, at LTE-family rates and at a HackRF rate that must
//!   be resampled;
//! - the records do not depend on how the input is cut into blocks;
//! - no interferer is ever reported as cellular uplink.

use ciot_dsp::synth::Kind;
use ciot_sweep::commands::eval::run_scan_with;
use ciot_sweep::detectors::Which;
use ciot_sweep::record::DetectionRecord;
use ciot_sweep::score::{matches, MatchRule};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Seeds of this file: disjoint from the detectors' unit tests and from `eval`'s default.
const SEED: u64 = 0x7e57_0de7;

fn capture(fs: f64, duration_s: f64, seed: u64) -> String {
    format!(
        "[capture]\nsample_rate = {fs}\nduration_s = {duration_s}\nformat = \"cf32_le\"\n\
         noise_dbfs = -30.0\nseed = {seed}\n"
    )
}

fn found(truth: &DetectionRecord, dets: &[DetectionRecord]) -> bool {
    dets.iter()
        .any(|d| d.kind == truth.kind && matches(truth, d, &MatchRule::default()))
}

fn nprach(r: &mut ChaCha8Rng, fs: f64, snr: f64) -> String {
    let span = 0.4 * fs - 100e3;
    format!(
        "[[emitter]]\nkind = \"nprach\"\nstart_s = {:.6}\ncarrier_offset_hz = {:.1}\n\
         cfo_hz = {:.1}\nsnr_db = {snr}\n[emitter.config]\nformat = {}\nrepetitions = 2\n\
         n_init = {}\ncell_id = {}\n",
        r.random_range(0.02..0.03),
        r.random_range(-span..span),
        r.random_range(-3e3..3e3),
        r.random_range(0..2),
        r.random_range(0..12),
        r.random_range(0..504),
    )
}

fn prach(r: &mut ChaCha8Rng, fs: f64, snr: f64) -> String {
    let span = 0.4 * fs - 600e3;
    format!(
        "[[emitter]]\nkind = \"prach\"\nstart_s = {:.6}\ncarrier_offset_hz = {:.1}\n\
         cfo_hz = {:.1}\nsnr_db = {snr}\n[emitter.config]\nformat = {}\nbandwidth_mhz = 1.4\n\
         prach_freq_offset = 0\nroot_sequence_index = {}\nzero_correlation_zone_config = {}\n\
         preamble_index = {}\n",
        r.random_range(0.02..0.03),
        r.random_range(-span..span.max(1.0)),
        r.random_range(-2e3..2e3),
        r.random_range(0..4),
        r.random_range(0..838),
        r.random_range(1..16),
        r.random_range(0..64),
    )
}

/// Random bursts above the limit are found with the right kind, at 1.92 MS/s, at 7.68 MS/s
/// (whole band searched) and at 10 MS/s (not an LTE rate: resampled to 9.6 MS/s, records
/// mapped back to the input's sample indices).
#[test]
fn random_bursts_above_the_limit_are_found() {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    for &(fs, trials) in &[(1.92e6, 4), (7.68e6, 2), (10e6, 2)] {
        for t in 0..trials {
            let seed = rng.random_range(0..1u64 << 40);
            let mut r = ChaCha8Rng::seed_from_u64(seed);
            // NPRACH at 0 dB in 180 kHz and PRACH at +3 dB in 1.08 MHz, far enough apart
            // in time not to overlap.
            let text = format!(
                "{}{}",
                capture(fs, 0.08, seed),
                if t % 2 == 0 {
                    nprach(&mut r, fs, 0.0)
                } else {
                    prach(&mut r, fs, 3.0)
                }
            );
            let (truth, dets) =
                run_scan_with(&text, 0.5, &Which::DEFAULT, 1 << 15).expect("scan runs");
            assert_eq!(truth.len(), 1);
            assert!(
                found(&truth[0], &dets),
                "fs {fs} seed {seed}: {:?} at {:.4} s {:.0} Hz not found; got {:?}",
                truth[0].kind,
                truth[0].t_start_s,
                truth[0].freq_offset_hz,
                dets.iter()
                    .map(|d| (d.kind, d.t_start_s, d.freq_offset_hz))
                    .collect::<Vec<_>>()
            );
            // Nothing else is reported as cellular.
            let cellular = dets
                .iter()
                .filter(|d| {
                    d.kind != Kind::Unknown && !matches(&truth[0], d, &MatchRule::default())
                })
                .count();
            assert_eq!(cellular, 0, "fs {fs} seed {seed}: {dets:?}");
        }
    }
}

/// The records are the same whatever the block size the scanner is fed with.
#[test]
fn records_do_not_depend_on_the_block_size() {
    let mut r = ChaCha8Rng::seed_from_u64(SEED ^ 1);
    let text = format!(
        "{}{}{}[[emitter]]\nkind = \"cw\"\nstart_s = 0.01\ncarrier_offset_hz = 300e3\n\
         snr_db = 20\n[emitter.config]\nduration_s = 0.02\n",
        capture(1.92e6, 0.1, 77),
        nprach(&mut r, 1.92e6, 3.0),
        prach(&mut r, 1.92e6, 3.0).replace("start_s = 0.0", "start_s = 0.06"),
    );
    let (_, a) = run_scan_with(&text, 0.5, &Which::DEFAULT, 1 << 16).expect("scan");
    assert!(a.iter().any(|d| d.kind != Kind::Unknown), "{a:?}");
    for block in [1000usize, 4093, 32768] {
        let (_, b) = run_scan_with(&text, 0.5, &Which::DEFAULT, block).expect("scan");
        assert_eq!(a, b, "block {block}");
    }
}

/// Every interferer kind, strong, at two rates: never reported as cellular uplink.
#[test]
fn interferers_are_never_cellular() {
    let cases = [
        (
            "CW",
            "kind = \"cw\"\nstart_s = 0.0\ncarrier_offset_hz = 123e3\nsnr_db = 30\n\
             [emitter.config]\nduration_s = 0.3\n",
        ),
        (
            "CW bursts",
            "kind = \"cw\"\nstart_s = 0.01\nperiod_s = 0.03\ncount = 8\n\
             carrier_offset_hz = -321e3\nsnr_db = 25\n[emitter.config]\nduration_s = 0.008\n",
        ),
        (
            "LoRa-like chirps",
            "kind = \"chirp\"\nstart_s = 0.01\ncarrier_offset_hz = -250e3\nsnr_db = 15\n\
             [emitter.config]\nspreading_factor = 9\nn_symbols = 40\n",
        ),
        (
            "LoRa-like chirps SF8, strong",
            "kind = \"chirp\"\nstart_s = 0.02\ncarrier_offset_hz = 400e3\nsnr_db = 25\n\
             [emitter.config]\nbandwidth_hz = 125e3\nspreading_factor = 8\nn_symbols = 24\n",
        ),
        (
            "LoRa-like chirps SF7",
            "kind = \"chirp\"\nstart_s = 0.05\ncarrier_offset_hz = 0.0\nsnr_db = 15\n\
             [emitter.config]\nbandwidth_hz = 125e3\nspreading_factor = 7\nn_symbols = 40\n",
        ),
        (
            "GSM GMSK handset bursts",
            "kind = \"gsm\"\nstart_s = 0.01\ncarrier_offset_hz = 200e3\nsnr_db = 20\n\
             [emitter.config]\nn_frames = 40\ntimeslot = 2\ntraining_sequence = 5\n",
        ),
        (
            "LTE downlink carrier (6 RB)",
            "kind = \"lte_downlink\"\nstart_s = 0.0\ncarrier_offset_hz = 0.0\nsnr_db = 15\n\
             [emitter.config]\nn_rb = 6\nduration_s = 0.25\nsubframe_fraction = 0.6\n",
        ),
        (
            "Sigfox-like ultra-narrowband bursts",
            "kind = \"sigfox\"\nstart_s = 0.005\ncarrier_offset_hz = -300e3\nsnr_db = 20\n\
             [emitter.config]\nframe_bits = 8\ngap_s = 0.01\n",
        ),
        (
            "wideband noise bursts",
            "kind = \"noise\"\nstart_s = 0.01\nperiod_s = 0.05\ncount = 5\nsnr_db = 10\n\
             [emitter.config]\nbandwidth_hz = 1e6\nduration_s = 0.004\n",
        ),
    ];
    for &fs in &[1.92e6, 7.68e6] {
        for (i, (name, emitter)) in cases.iter().enumerate() {
            let text = format!(
                "{}[[emitter]]\n{emitter}",
                capture(fs, 0.3, SEED + 100 + i as u64)
            );
            let (_, dets) = run_scan_with(&text, 0.5, &Which::DEFAULT, 1 << 16).expect("scan");
            let cellular: Vec<&DetectionRecord> =
                dets.iter().filter(|d| d.kind != Kind::Unknown).collect();
            assert!(
                cellular.is_empty(),
                "{name} at {fs}: reported as {:?}",
                cellular
                    .iter()
                    .map(|d| (d.kind, d.t_start_s, d.freq_offset_hz, &d.params))
                    .collect::<Vec<_>>()
            );
        }
    }
}

/// A train of 45 kHz noise bursts at 12 dB (10 ms every 70 ms, 7.68 MS/s; the recording of
/// `docs/eval/noise_bursts.sh` with seed 11): no cellular report. With the floor that leaves
/// strong values out (2026-11-28) a track opened by the bursts' crossings was placed in the
/// noise 8 ms before a burst and reported as NPRACH, until a track's extent had to hold the
/// repetitions of its best crossing.
#[test]
fn narrow_noise_burst_train_is_not_cellular() {
    let text = "[capture]\nsample_rate = 7.68e6\ncenter_freq = 868.0e6\nduration_s = 0.4\n\
                format = \"cf32\"\nnoise_dbfs = -35.0\nseed = 11\n\n[[emitter]]\n\
                kind = \"noise\"\nstart_s = 0.05\nperiod_s = 0.07\ncount = 5\n\
                carrier_offset_hz = 200e3\nsnr_db = 12\n[emitter.config]\n\
                bandwidth_hz = 45e3\nduration_s = 0.01\n";
    let (_, dets) = run_scan_with(text, 0.5, &Which::DEFAULT, 1 << 16).expect("scan");
    let cellular: Vec<_> = dets
        .iter()
        .filter(|d| d.kind != Kind::Unknown)
        .map(|d| (d.kind, d.t_start_s, d.freq_offset_hz, &d.params))
        .collect();
    assert!(cellular.is_empty(), "reported as {cellular:?}");
    assert_eq!(
        dets.iter().filter(|d| d.kind == Kind::Unknown).count(),
        5,
        "each burst is one unknown report: {dets:?}"
    );
}

/// Cellular reports of the Sigfox-like scene of `eval` (a 120 ms ultra-narrowband burst at
/// 20 dB and its two repeats, at -300 kHz) switching on at `start_s`, capture seeds
/// `0x5eed ^ (base + t)`.
fn sigfox_onset_reports(start_s: f64, base: u64, ts: &[u64]) -> Vec<(u64, Kind, f64, f64)> {
    let mut cellular = Vec::new();
    for &t in ts {
        let text = format!(
            "{}[[emitter]]\nkind = \"sigfox\"\nstart_s = {start_s}\ncarrier_offset_hz = -300e3\n\
             snr_db = 20\n[emitter.config]\nframe_bits = 12\ngap_s = 0.01\n",
            capture(1.92e6, 0.6, 0x5eed ^ (base + t))
        );
        let (_, dets) = run_scan_with(&text, 0.5, &Which::DEFAULT, 1 << 16).expect("scan");
        cellular.extend(
            dets.iter()
                .filter(|d| d.kind != Kind::Unknown)
                .map(|d| (t, d.kind, d.t_start_s, d.freq_offset_hz)),
        );
    }
    cellular
}

/// A Sigfox-like burst switching on while the floor learns it was taken for a
/// multi-repetition NPRACH (found 2026-11-29): these are the captures that were reported
/// (onset 10 ms: 9 and 14; 0 s: 22; 15 ms: 8; 0.1 s: 5) and their neighbours. Since the
/// NPRACH steady-line test and the share limit of a hop path that confirms a track, none
/// is (docs/DETECTION.md).
#[test]
fn a_carrier_switching_on_is_not_cellular() {
    let mut cellular = sigfox_onset_reports(0.01, 0x1f00, &[8, 9, 10, 13, 14]);
    cellular.extend(sigfox_onset_reports(0.0, 0x2f00, &[21, 22]));
    cellular.extend(sigfox_onset_reports(0.015, 0x4f00, &[7, 8]));
    cellular.extend(sigfox_onset_reports(0.1, 0x5f00, &[4, 5, 6]));
    assert!(cellular.is_empty(), "reported as {cellular:?}");
}

/// The same scene at five onsets (0, 5, 10, 15 ms and 0.1 s; 135 captures): none reported
/// as cellular since 2026-11-29 (10 before the hop-path rules, 5 before the steady-line
/// test, 1 before the share limit). Long, so not run by default:
/// `cargo test --release --test detection -- --ignored` (about 2.5 min).
#[test]
#[ignore = "long: 135 captures (about 2.5 min in release)"]
fn carriers_switching_on_at_any_onset_are_not_cellular() {
    let all: Vec<u64> = (0..35).collect();
    let mut cellular = sigfox_onset_reports(0.01, 0x1f00, &all);
    for (start_s, base) in [
        (0.0, 0x2f00),
        (0.005, 0x3f00),
        (0.015, 0x4f00),
        (0.1, 0x5f00),
    ] {
        cellular.extend(sigfox_onset_reports(start_s, base, &all[..25]));
    }
    assert!(cellular.is_empty(), "reported as {cellular:?}");
}
