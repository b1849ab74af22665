//! Measures the blind PRACH detector (`ciot_dsp::detect::prach`): detection probability
//! against SNR, where the misses are lost (stage counters), false alarms on noise, and
//! throughput, for any detector configuration.
//!
//! ```text
//! cargo run --release -p ciot-dsp --example prach_eval -- pd    FS FORMAT SNR_DB... [--trials N] [--seed S] [KNOBS]
//! cargo run --release -p ciot-dsp --example prach_eval -- fa    FS SECONDS [--seed S] [KNOBS]
//! cargo run --release -p ciot-dsp --example prach_eval -- speed FS SECONDS [KNOBS]
//! KNOBS: --lags L --cand K --step BINS --wpp W --var V --every R --gate F --nscreen T2 --rate FA_PER_HOUR --threads T --no-fine
//! ```
//!
//! A trial renders one preamble (TS 36.211 5.7 via `synth::prach`) with a random root
//! sequence index, zero-correlation zone and preamble index, at a random frequency anywhere
//! in the band (not on a grid) plus a CFO of +-2 kHz and a random fractional start, in white
//! noise of power 1e-3 at the stated SNR in 1.08 MHz. It is detected when exactly one
//! detection overlaps it with the right root and format and a start within one CP.

use ciot_dsp::detect::prach::{PrachDetector, PrachDetectorConfig};
use ciot_dsp::detect::Detection;
use ciot_dsp::impair::{add_awgn, signal_power_for_snr};
use ciot_dsp::synth::prach::PrachConfig;
use num_complex::{Complex32, Complex64};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

mod common;
use common::{arg_after, feed_noise, overlapping};

const NOISE: f64 = 1e-3;

struct Truth {
    start: f64,
    len: f64,
    root: u64,
    format: u8,
}

fn scenario(fs: f64, format: u8, snr_db: f64, seed: u64) -> (Vec<Complex32>, Truth) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let cfg = PrachConfig {
        format,
        bandwidth_mhz: 10.0,
        prach_freq_offset: rng.random_range(0..=44),
        root_sequence_index: rng.random_range(0..838),
        zero_correlation_zone_config: rng.random_range(1..16),
        preamble_index: rng.random_range(0..64),
    };
    let sb = cfg.generate().expect("valid config");
    let half = 0.5 * fs - 0.5 * 1.04875e6 - 10e3;
    let f = rng.random_range(-half..half) + rng.random_range(-2e3..2e3);
    let start = 0.03 * fs + rng.random_range(0.0..0.01 * fs);
    let dur = sb.signal.duration_s() * fs;
    let total = (start + dur + 0.03 * fs) as usize;
    let mut x = vec![Complex32::new(0.0, 0.0); total];
    let p = signal_power_for_snr(NOISE, fs, snr_db, 1.08e6);
    sb.signal.render_add(
        &mut x,
        0,
        fs,
        start,
        f - sb.center_hz,
        Complex64::from_polar(p.sqrt(), rng.random_range(0.0..std::f64::consts::TAU)),
    );
    add_awgn(&mut x, NOISE, &mut rng);
    let root = sb.params["root"].as_u64().unwrap_or(0);
    (
        x,
        Truth {
            start,
            len: dur,
            root,
            format,
        },
    )
}

fn run(cfg: &PrachDetectorConfig, x: &[Complex32]) -> (Vec<Detection>, PrachDetector) {
    let mut d = PrachDetector::new(cfg.clone()).expect("valid detector config");
    let mut out = Vec::new();
    for (i, c) in x.chunks(65536).enumerate() {
        d.process((i * 65536) as u64, c, &mut out);
    }
    d.finish(&mut out);
    (out, d)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 || !matches!(args[0].as_str(), "pd" | "fa" | "speed") {
        eprintln!(
            "usage: prach_eval pd FS FORMAT SNR_DB... | fa FS SECONDS | speed FS SECONDS [--trials N] [--seed S] [--lags L --cand K --step BINS --wpp W --var V --every R --gate F --nscreen T2 --rate FA_PER_HOUR --threads T --no-fine]"
        );
        std::process::exit(2);
    }
    let mode = args[0].as_str();
    let fs: f64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1.92e6);
    let seed: u64 = arg_after(&args, "--seed")
        .and_then(|s| s.parse().ok())
        .unwrap_or(7000);
    let mut cfg = PrachDetectorConfig {
        sample_rate_hz: fs,
        ..Default::default()
    };
    let num = |k: &str| arg_after(&args, k).and_then(|s| s.parse::<f64>().ok());
    if let Some(v) = num("--lags") {
        cfg.lags = v as u32;
    }
    if let Some(v) = num("--cand") {
        cfg.candidates_per_window = v as u32;
    }
    if let Some(v) = num("--step") {
        cfg.position_step_bins = v as u32;
    }
    if let Some(v) = num("--wpp") {
        cfg.windows_per_period = v as u32;
    }
    if let Some(v) = num("--var") {
        cfg.sub_bin_variants = v as u32;
    }
    if args.iter().any(|a| a == "--no-fine") {
        cfg.fine_confirmation = false;
    }
    if let Some(v) = num("--every") {
        cfg.root_search_every = v as u32;
    }
    if let Some(v) = num("--nscreen") {
        cfg.neighbour_screen = v;
    }
    if let Some(v) = num("--gate") {
        cfg.stage1_pass_fraction = v;
    }
    if let Some(v) = num("--rate") {
        cfg.false_alarms_per_hour = v;
    }
    let threads = num("--threads").map_or(1, |v| v as usize);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool");
    pool.install(|| run_mode(&args, mode, fs, seed, &cfg));
}

fn run_mode(args: &[String], mode: &str, fs: f64, seed: u64, cfg: &PrachDetectorConfig) {
    let num = |k: &str| arg_after(args, k).and_then(|s| s.parse::<f64>().ok());
    println!("{cfg:?}");
    match mode {
        "pd" => {
            let format: u8 = args[2].parse().expect("format");
            let trials: u64 = num("--trials").map_or(100, |v| v as u64);
            let snrs: Vec<f64> = args[3..]
                .iter()
                .take_while(|a| !a.starts_with("--"))
                .filter_map(|s| s.parse().ok())
                .collect();
            for snr in snrs {
                let (mut ok, mut extra) = (0u64, 0usize);
                let mut stats = Vec::new();
                let mut fails = Vec::new();
                for t in 0..trials {
                    let (x, truth) = scenario(fs, format, snr, seed + t);
                    let (dets, det) = run(cfg, &x);
                    let ov = overlapping(&dets, truth.start, truth.len);
                    extra += dets.len() - ov.len();
                    let hit = ov.len() == 1
                        && ov[0].params["root"].as_u64() == Some(truth.root)
                        && ov[0].params["format"].as_u64() == Some(truth.format as u64)
                        && (ov[0].sample_start as f64 - truth.start).abs() < 0.11e-3 * fs;
                    if hit {
                        ok += 1;
                    } else {
                        let st = det.stats();
                        fails.push(format!(
                            "seed {}: {} overlapping (hits {}, sub-threshold hits {}, fine-rejected {}, shadowed or duplicate {}); {:?}",
                            seed + t,
                            ov.len(),
                            st.hits,
                            st.sub_hits,
                            st.rejected_fine,
                            st.rejected_duplicate,
                            ov.first().map(|d| (
                                &d.params["root"],
                                &d.params["format"],
                                d.sample_start as f64 - truth.start
                            ))
                        ));
                    }
                    stats.push(det.stats().clone());
                }
                let sum = |f: fn(&ciot_dsp::detect::prach::PrachStats) -> u64| -> u64 {
                    stats.iter().map(f).sum()
                };
                println!(
                    "fs {fs:.3e} format {format} snr {snr:6.1} dB over {trials}: Pd {:.3}; extra {extra}; hits {} sub-threshold hits {} fine-confirmed {} fine-rejected {} refine-rejected {} narrowband {}",
                    ok as f64 / trials as f64,
                    sum(|s| s.hits),
                    sum(|s| s.sub_hits),
                    sum(|s| s.fine_confirmed),
                    sum(|s| s.rejected_fine),
                    sum(|s| s.rejected_refine),
                    sum(|s| s.rejected_narrowband),
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
            let chunk = (fs * 0.1) as usize;
            let mut d = PrachDetector::new(cfg.clone()).expect("config");
            println!("threshold {:.2}", d.threshold());
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut out = Vec::new();
            let total = (secs * fs) as usize;
            let t = feed_noise(total, chunk, NOISE, &mut rng, |at, x| {
                d.process(at, x, &mut out)
            });
            d.finish(&mut out);
            println!(
                "{secs} s of noise at {fs:.3e}: {} detections ({:.1} per hour, budget {}); wall {:.3} MS/s, CPU {:.3} MS/s",
                out.len(),
                out.len() as f64 / (secs / 3600.0),
                cfg.false_alarms_per_hour,
                total as f64 / t.wall_s / 1e6,
                total as f64 / t.cpu_s / 1e6,
            );
            println!("{:?}", d.stats());
        }
        _ => eprintln!("modes: pd, fa, speed"),
    }
}
