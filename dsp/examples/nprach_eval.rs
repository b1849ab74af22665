//! Measures the blind NPRACH detector (`ciot_dsp::detect::nprach`): detection probability
//! against SNR, false alarms on noise, and throughput.
//!
//! ```text
//! cargo run --release -p ciot-dsp --example nprach_eval -- pd   FS FORMAT REPS SNR_DB... [--trials N] [--seed S] [--verbose (misses) | --dump (every trial)]
//! cargo run --release -p ciot-dsp --example nprach_eval -- fa   FS SECONDS [--rate FA_PER_HOUR] [--windows 1,2,4,8] [--seed S]
//! cargo run --release -p ciot-dsp --example nprach_eval -- speed FS SECONDS
//! ```
//!
//! A trial renders one preamble (TS 36.211 10.1.6 via `synth::nprach`) with a random
//! subcarrier offset, `n_init`, cell id and hop convention, at a random carrier frequency
//! anywhere in the band (not on a grid) with a random CFO of ±3 kHz and a random start, in
//! white noise of power 1e-3 at the stated SNR in 180 kHz. It is detected when exactly one
//! NPRACH detection overlaps it with the right format and repetition count, a start within
//! 0.3 ms and a centre within 2 kHz of the truth.

use ciot_dsp::detect::nprach::{NprachDetector, NprachDetectorConfig};
use ciot_dsp::detect::Detection;
use ciot_dsp::impair::{add_awgn, signal_power_for_snr};
use ciot_dsp::synth::nprach::{HopConvention, NprachConfig, SUBCARRIER_OFFSETS_FMT01};
use num_complex::{Complex32, Complex64};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

mod common;
use common::{arg_after, feed_noise, overlapping, positional};

/// Usage, as in the module documentation.
const USAGE: &str = "usage:\ncargo run --release -p ciot-dsp --example nprach_eval -- pd   FS FORMAT REPS SNR_DB... [--trials N] [--seed S] [--verbose (misses) | --dump (every trial)]\ncargo run --release -p ciot-dsp --example nprach_eval -- fa   FS SECONDS [--rate FA_PER_HOUR] [--windows 1,2,4,8] [--seed S]\ncargo run --release -p ciot-dsp --example nprach_eval -- speed FS SECONDS";

const NOISE: f64 = 1e-3;

struct Truth {
    power: f64,
    start: f64,
    len: f64,
    centre_hz: f64,
    format: u8,
    reps: u32,
}

fn scenario(fs: f64, format: u8, reps: u32, snr_db: f64, seed: u64) -> (Vec<Complex32>, Truth) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let off = SUBCARRIER_OFFSETS_FMT01[rng.random_range(0..SUBCARRIER_OFFSETS_FMT01.len())];
    let nsc = 12;
    let cfg = NprachConfig {
        format,
        repetitions: reps,
        subcarrier_offset: off,
        n_subcarriers: nsc,
        n_init: rng.random_range(0..nsc),
        cell_id: rng.random_range(0..504),
        hop_convention: if rng.random::<bool>() {
            HopConvention::Clause
        } else {
            HopConvention::Alt
        },
    };
    let b = cfg.generate().expect("valid config");
    let carrier = rng.random_range(-0.45 * fs + 100e3..0.45 * fs - 100e3);
    let cfo = rng.random_range(-3e3..3e3);
    let dur = b.signal.duration_s() * fs;
    let start = 0.03 * fs + rng.random_range(0.0..0.01 * fs);
    let total = (start + dur + 0.03 * fs) as usize;
    let mut x = vec![Complex32::new(0.0, 0.0); total];
    let p = signal_power_for_snr(NOISE, fs, snr_db, 180e3);
    b.signal.render_add(
        &mut x,
        0,
        fs,
        start,
        carrier + cfo,
        Complex64::from_polar(p.sqrt(), rng.random_range(0.0..std::f64::consts::TAU)),
    );
    add_awgn(&mut x, NOISE, &mut rng);
    (
        x,
        Truth {
            power: p,
            start,
            len: dur,
            centre_hz: carrier + cfo + b.center_hz,
            format,
            reps,
        },
    )
}

fn run(
    cfg: &NprachDetectorConfig,
    x: &[Complex32],
    block: usize,
) -> (Vec<Detection>, NprachDetector) {
    let mut d = NprachDetector::new(cfg.clone()).expect("valid detector config");
    let mut out = Vec::new();
    for (i, c) in x.chunks(block).enumerate() {
        d.process((i * block) as u64, c, &mut out);
    }
    d.finish(&mut out);
    (out, d)
}

/// Outcome of one trial.
#[derive(Default)]
struct Score {
    /// Exactly one detection overlaps the truth, right format, start within 0.3 ms.
    detected: bool,
    /// And the repetition count is right.
    reps_ok: bool,
    /// And the centre is within 2 kHz.
    freq_ok: bool,
    /// Detections not overlapping the truth.
    extra: usize,
    /// Power error, dB (detected only).
    power_db: Option<f64>,
    why: String,
}

fn judge(dets: &[Detection], t: &Truth, fs: f64) -> Score {
    let ov = overlapping(dets, t.start, t.len);
    let mut s = Score {
        extra: dets.len() - ov.len(),
        ..Default::default()
    };
    if ov.len() != 1 {
        s.why = format!("{} overlapping detections", ov.len());
        return s;
    }
    let d = ov[0];
    let fmt = d.params["format"].as_u64().unwrap_or(9) as u8;
    let reps = d.params["repetitions"].as_u64().unwrap_or(0) as u32;
    let dt = (d.sample_start as f64 - t.start) / fs;
    let df = d.freq_offset_hz - t.centre_hz;
    s.why = format!(
        "fmt {fmt} reps {reps} dt {:.3} ms df {:.0} Hz",
        dt * 1e3,
        df
    );
    s.detected = fmt == t.format && dt.abs() <= 0.3e-3;
    if s.detected {
        s.power_db = Some(10.0 * (d.power / t.power).log10());
    }
    s.reps_ok = s.detected && reps == t.reps;
    s.freq_ok = s.reps_ok && df.abs() <= 2e3;
    s
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args.first().map(String::as_str).unwrap_or("pd");
    let fs: f64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1.92e6);
    let seed: u64 = arg_after(&args, "--seed")
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let mut cfg = NprachDetectorConfig {
        sample_rate_hz: fs,
        ..Default::default()
    };
    if let Some(r) = arg_after(&args, "--rate").and_then(|s| s.parse().ok()) {
        cfg.false_alarms_per_hour = r;
    }
    if let Some(w) = arg_after(&args, "--windows") {
        cfg.window_reps = w.split(',').filter_map(|s| s.parse().ok()).collect();
    }
    if let Some(w) = arg_after(&args, "--formats") {
        cfg.formats = w.split(',').filter_map(|s| s.parse().ok()).collect();
    }
    match mode {
        "pd" => {
            let format: u8 = positional(&args, 2, "format", USAGE);
            let reps: u32 = positional(&args, 3, "reps", USAGE);
            let trials: u64 = arg_after(&args, "--trials")
                .and_then(|s| s.parse().ok())
                .unwrap_or(100);
            let snrs: Vec<f64> = args[4..]
                .iter()
                .take_while(|a| !a.starts_with("--"))
                .filter_map(|s| s.parse().ok())
                .collect();
            let d = NprachDetector::new(cfg.clone()).expect("config");
            println!("thresholds {:?}", d.thresholds());
            for snr in snrs {
                let mut ok = 0;
                let mut det_ok = 0;
                let mut reps_ok = 0;
                let mut extra = 0;
                let mut perr: Vec<f64> = Vec::new();
                let mut found = 0;
                let mut fails = Vec::new();
                for t in 0..trials {
                    let (x, truth) = scenario(fs, format, reps, snr, seed + t);
                    let (dets, det) = run(&cfg, &x, 65536);
                    if !dets.is_empty() {
                        found += 1;
                    }
                    let sc = judge(&dets, &truth, fs);
                    det_ok += sc.detected as u32;
                    reps_ok += sc.reps_ok as u32;
                    ok += sc.freq_ok as u32;
                    extra += sc.extra;
                    if let Some(e) = sc.power_db {
                        perr.push(e);
                    }
                    if !sc.freq_ok || args.iter().any(|a| a == "--dump") {
                        if args.iter().any(|a| a == "--verbose" || a == "--dump") {
                            println!(
                                "truth start {:.0} len {:.0} centre {:.0}",
                                truth.start, truth.len, truth.centre_hz
                            );
                            println!("  {:?}", det.stats());
                            for d in &dets {
                                println!(
                                    "  det start {} len {} f {:.0} bw {:.0} metric {:.2} snr {:.1} pw {:.2e} {:?}",
                                    d.sample_start,
                                    d.sample_len,
                                    d.freq_offset_hz,
                                    d.bandwidth_hz,
                                    d.metric,
                                    d.snr_db,
                                    d.power,
                                    d.params
                                );
                            }
                        }
                        if !sc.freq_ok {
                            fails.push(format!("seed {}: {}", seed + t, sc.why));
                        }
                    }
                }
                let n = trials as f64;
                if !perr.is_empty() {
                    let m = perr.iter().sum::<f64>() / perr.len() as f64;
                    let sd = (perr.iter().map(|e| (e - m).powi(2)).sum::<f64>()
                        / perr.len() as f64)
                        .sqrt();
                    println!("   power error {m:+.2} dB mean, {sd:.2} dB rms about it");
                }
                println!(
                    "fs {fs:.3e} format {format} reps {reps} snr {snr:6.1} dB over {trials}: Pd {:.3} (any detection {:.3}); +reps right {:.3}; +freq within 2 kHz {:.3}; extra detections {extra}",
                    det_ok as f64 / n,
                    found as f64 / n,
                    reps_ok as f64 / n,
                    ok as f64 / n,
                );
                for f in fails.iter().take(if args.iter().any(|a| a == "--all") {
                    1000
                } else {
                    4
                }) {
                    println!("   miss: {f}");
                }
            }
        }
        "fa" | "speed" => {
            let secs: f64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1.0);
            let chunk = (fs * 1.0) as usize;
            let mut d = NprachDetector::new(cfg.clone()).expect("config");
            println!("thresholds {:?}", d.thresholds());
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut out = Vec::new();
            let total = (secs * fs) as usize;
            let t = feed_noise(total, chunk, NOISE, &mut rng, |at, x| {
                d.process(at, x, &mut out)
            });
            d.finish(&mut out);
            let hours = secs / 3600.0;
            println!(
                "{secs} s of noise at {fs:.3e}: {} detections ({:.1} per hour, budget {}); wall {:.2} MS/s, CPU {:.2} MS/s ({:.2}x real time per core)",
                out.len(),
                out.len() as f64 / hours,
                cfg.false_alarms_per_hour,
                total as f64 / t.wall_s / 1e6,
                total as f64 / t.cpu_s / 1e6,
                total as f64 / fs / t.cpu_s
            );
            for det in out.iter().take(10) {
                println!(
                    "   t {:.4} s f {:.0} Hz metric {:.2} {:?}",
                    det.sample_start as f64 / fs,
                    det.freq_offset_hz,
                    det.metric,
                    det.params
                );
            }
            println!("{:?}", d.stats());
        }
        _ => {
            eprintln!("unknown mode {mode:?}\n\n{USAGE}");
            std::process::exit(2)
        }
    }
}
