//! Measures the blind NPUSCH detector (`ciot_dsp::detect::npusch`): detection probability
//! against SNR, false alarms on noise, and throughput.
//!
//! ```text
//! cargo run --release -p ciot-dsp --example npusch_eval -- pd    FS SPACING TONES SNR_DB... [--reps R] [--format F] [--trials N] [--seed S]
//! cargo run --release -p ciot-dsp --example npusch_eval -- fa    FS SECONDS [--rate FA_PER_HOUR] [--seed S]
//! cargo run --release -p ciot-dsp --example npusch_eval -- speed FS SECONDS
//! ```
//!
//! A trial renders one NPUSCH transmission (TS 36.211 10.1.3 - 10.1.5 via `synth::npusch`)
//! with a random allowed subcarrier indication, cell id and modulation, at a random carrier
//! frequency anywhere in the band with a random CFO of ±5 kHz and a random start, in white
//! noise of power 1e-3 at the stated SNR in 180 kHz. It is detected when exactly one NPUSCH
//! detection overlaps it with the right tone count and spacing, a start within 1 ms and a
//! centre within half a subcarrier of the truth.

use ciot_dsp::detect::npusch::{NpuschDetector, NpuschDetectorConfig};
use ciot_dsp::detect::Detection;
use ciot_dsp::impair::{add_awgn, signal_power_for_snr};
use ciot_dsp::synth::npusch::{NpuschConfig, NpuschModulation};
use num_complex::{Complex32, Complex64};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

mod common;
use common::{arg_after, cpu_s, feed_noise, overlapping, positional};

/// Usage, as in the module documentation.
const USAGE: &str = "usage:\ncargo run --release -p ciot-dsp --example npusch_eval -- pd    FS SPACING TONES SNR_DB... [--reps R] [--format F] [--trials N] [--seed S]\ncargo run --release -p ciot-dsp --example npusch_eval -- fa    FS SECONDS [--rate FA_PER_HOUR] [--seed S]\ncargo run --release -p ciot-dsp --example npusch_eval -- speed FS SECONDS";

const NOISE: f64 = 1e-3;

struct Truth {
    start: f64,
    len: f64,
    centre_hz: f64,
    tones: u32,
    spacing: u32,
}

fn scenario(fs: f64, base: &NpuschConfig, snr_db: f64, seed: u64) -> (Vec<Complex32>, Truth) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut cfg = base.clone();
    let nsc = if cfg.spacing_hz == 3750 { 48 } else { 12 };
    cfg.first_subcarrier = if cfg.tones == 1 {
        rng.random_range(0..nsc)
    } else {
        cfg.tones * rng.random_range(0..12 / cfg.tones)
    };
    cfg.cell_id = rng.random_range(0..504);
    if cfg.tones == 1 && cfg.format == 1 && rng.random::<bool>() {
        cfg.modulation = Some(NpuschModulation::Pi2Bpsk);
    }
    let b = ciot_dsp::synth::npusch::generate(&cfg, &mut rng).expect("valid config");
    let carrier = rng.random_range(-0.45 * fs + 100e3..0.45 * fs - 100e3);
    let cfo = rng.random_range(-5e3..5e3);
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
            start,
            len: dur,
            centre_hz: carrier + cfo + b.center_hz,
            tones: cfg.tones,
            spacing: cfg.spacing_hz,
        },
    )
}

fn run(
    cfg: &NpuschDetectorConfig,
    x: &[Complex32],
    block: usize,
) -> (Vec<Detection>, NpuschDetector) {
    let mut d = NpuschDetector::new(cfg.clone()).expect("valid detector config");
    let mut out = Vec::new();
    for (i, c) in x.chunks(block).enumerate() {
        d.process((i * block) as u64, c, &mut out);
    }
    d.finish(&mut out);
    (out, d)
}

/// Outcome of one trial: (found at all, found and right class/time/frequency, extras, why).
fn judge(dets: &[Detection], t: &Truth, fs: f64) -> (bool, bool, usize, String) {
    let ov = overlapping(dets, t.start, t.len);
    let extra = dets.len() - ov.len();
    if ov.len() != 1 {
        return (
            !ov.is_empty(),
            false,
            extra,
            format!(
                "{} overlapping{}",
                ov.len(),
                ov.iter()
                    .map(|d| format!(
                        " [tones {} sp {} dt {:.2} ms len {:.2} ms df {:.0} Hz]",
                        d.params["tones"],
                        d.params["spacing_hz"],
                        (d.sample_start as f64 - t.start) / fs * 1e3,
                        d.sample_len as f64 / fs * 1e3,
                        d.freq_offset_hz - t.centre_hz
                    ))
                    .collect::<String>()
            ),
        );
    }
    let d = ov[0];
    let tones = d.params["tones"].as_u64().unwrap_or(0) as u32;
    let sp = d.params["spacing_hz"].as_u64().unwrap_or(0) as u32;
    let dt = (d.sample_start as f64 - t.start) / fs;
    let dl = (d.sample_len as f64 - t.len) / fs;
    let df = d.freq_offset_hz - t.centre_hz;
    let ok = tones == t.tones
        && sp == t.spacing
        && dt.abs() <= 1e-3
        && df.abs() <= 0.5 * t.spacing as f64;
    (
        true,
        ok,
        extra,
        format!(
            "tones {tones} sp {sp} dt {:.2} ms dlen {:.2} ms df {df:.0} Hz coh {} metric {:.2}",
            dt * 1e3,
            dl * 1e3,
            d.params["coherence"],
            d.metric
        ),
    )
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args.first().map(String::as_str).unwrap_or("pd");
    let fs: f64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1.92e6);
    let seed: u64 = arg_after(&args, "--seed")
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let mut cfg = NpuschDetectorConfig {
        sample_rate_hz: fs,
        ..Default::default()
    };
    if let Some(r) = arg_after(&args, "--rate").and_then(|s| s.parse().ok()) {
        cfg.false_alarms_per_hour = r;
    }
    match mode {
        "pd" => {
            let spacing: u32 = positional(&args, 2, "spacing", USAGE);
            let tones: u32 = positional(&args, 3, "tones", USAGE);
            let trials: u64 = arg_after(&args, "--trials")
                .and_then(|s| s.parse().ok())
                .unwrap_or(100);
            let reps: u32 = arg_after(&args, "--reps")
                .and_then(|s| s.parse().ok())
                .unwrap_or(1);
            let format: u8 = arg_after(&args, "--format")
                .and_then(|s| s.parse().ok())
                .unwrap_or(1);
            let snrs: Vec<f64> = args[4..]
                .iter()
                .take_while(|a| !a.starts_with("--"))
                .filter_map(|s| s.parse().ok())
                .collect();
            let base = NpuschConfig {
                format,
                spacing_hz: spacing,
                tones,
                repetitions: reps,
                ..Default::default()
            };
            for snr in snrs {
                let (mut found, mut ok, mut extra) = (0, 0, 0);
                for t in 0..trials {
                    let (x, truth) = scenario(fs, &base, snr, seed + t);
                    let (dets, d) = run(&cfg, &x, 65_536);
                    let (f, o, e, why) = judge(&dets, &truth, fs);
                    found += f as u64;
                    ok += o as u64;
                    extra += e;
                    if !o && arg_after(&args, "--verbose").is_some() {
                        println!("  miss seed {}: {why}; {:?}", seed + t, d.stats());
                    }
                }
                println!(
                    "fs {:.2} MS/s sp {spacing} tones {tones} fmt {format} reps {reps} SNR {snr:5.1} dB: found {:.3} correct {:.3} extra {extra} ({trials} trials)",
                    fs / 1e6,
                    found as f64 / trials as f64,
                    ok as f64 / trials as f64
                );
            }
        }
        "fa" => {
            let secs: f64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(60.0);
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut d = NpuschDetector::new(cfg.clone()).expect("config");
            let block = (fs * 0.1) as usize;
            let blocks = (secs / 0.1) as usize;
            let mut out = Vec::new();
            feed_noise(blocks * block, block, NOISE, &mut rng, |at, x| {
                d.process(at, x, &mut out)
            });
            d.finish(&mut out);
            println!(
                "{secs} s of noise at {:.2} MS/s: {} false alarms ({:.2} per hour); stats {:?}",
                fs / 1e6,
                out.len(),
                out.len() as f64 * 3600.0 / secs,
                d.stats()
            );
            for o in &out {
                println!("  {o:?}");
            }
        }
        "speed" => {
            let secs: f64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(5.0);
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let block = (fs * 0.1) as usize;
            let mut x = vec![Complex32::new(0.0, 0.0); block];
            add_awgn(&mut x, NOISE, &mut rng);
            let mut d = NpuschDetector::new(cfg.clone()).expect("config");
            let mut out = Vec::new();
            let blocks = (secs / 0.1) as u64;
            let c0 = cpu_s();
            for i in 0..blocks {
                d.process(i * block as u64, &x, &mut out);
            }
            let c1 = cpu_s();
            let n = blocks as f64 * block as f64;
            println!(
                "{:.1} s of input at {:.2} MS/s: CPU {:.2} s, {:.2} MS/s ({:.2}x real time)",
                secs,
                fs / 1e6,
                c1 - c0,
                n / (c1 - c0) / 1e6,
                n / fs / (c1 - c0)
            );
        }
        _ => {
            eprintln!("unknown mode {mode:?}\n\n{USAGE}");
            std::process::exit(2)
        }
    }
}
