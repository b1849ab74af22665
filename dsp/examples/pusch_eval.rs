//! Measures the blind PUSCH detector (`ciot_dsp::detect::pusch`): detection probability
//! against SNR, false alarms on noise, and throughput.
//!
//! ```text
//! cargo run --release -p ciot-dsp --example pusch_eval -- [--seed S] [--why] [--gate P] pd FS N_PRB TRIALS SNR_DB...
//! cargo run --release -p ciot-dsp --example pusch_eval -- fa FS SECONDS
//! ```
//!
//! A trial renders one PUSCH subframe (36.211 5.3-5.6 via `synth::pusch`, random cell, group
//! hopping, cyclic shifts) anywhere in the band (random frequency, not on a grid) at a random
//! start, in unit white noise at the SNR stated in the allocation's bandwidth. It is detected
//! when a PUSCH detection with the right `n_prb` lies within 10 kHz and one slot of the truth.
//! `fa` runs noise only and prints detections, the rate per hour and the throughput (thread
//! CPU time, MS/s).
//!
//! `--gate P` sets `gate_pass_fraction`. `--seed S`: trial `t` uses seed `S + t` (default 1000). `--why`: for every point, counts
//! where the missed bursts were lost (from the detector's counters and reports): no band
//! segment through the energy gate (`gate`), every acquisition below the DMRS threshold
//! (`dmrs_threshold`), no acquisition run (`no_acquisition`: history or covered), or a
//! report that does not match (`wrong_n_prb`, `wrong_freq`, `wrong_time`); and the
//! detector's time per trial.

use ciot_dsp::detect::pusch::{PuschDetector, PuschDetectorConfig};
use ciot_dsp::impair::{add_awgn, signal_power_for_snr};
use ciot_dsp::synth::pusch::{generate, PuschConfig};
use num_complex::{Complex32, Complex64};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

fn arg(a: &[String], i: usize) -> f64 {
    a.get(i).and_then(|s| s.parse().ok()).unwrap_or(0.0)
}

fn main() {
    let mut a: Vec<String> = std::env::args().collect();
    let mut seed0 = 1000u64;
    let mut why = false;
    let mut gate = PuschDetectorConfig::default().gate_pass_fraction;
    while let Some(i) = a.iter().position(|s| s.starts_with("--")) {
        match a[i].as_str() {
            "--seed" => {
                seed0 = a.get(i + 1).and_then(|s| s.parse().ok()).unwrap_or(seed0);
                a.drain(i..(i + 2).min(a.len()));
            }
            "--gate" => {
                gate = a.get(i + 1).and_then(|s| s.parse().ok()).unwrap_or(gate);
                a.drain(i..(i + 2).min(a.len()));
            }
            "--why" => {
                why = true;
                a.remove(i);
            }
            o => {
                eprintln!("unknown option {o}");
                std::process::exit(2);
            }
        }
    }
    let fs = arg(&a, 2);
    let mut d = match PuschDetector::new(PuschDetectorConfig {
        sample_rate_hz: fs,
        gate_pass_fraction: gate,
        ..Default::default()
    }) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let mut out = Vec::new();
    match a.get(1).map(String::as_str) {
        Some("pd") => {
            let n_prb = arg(&a, 3) as u32;
            let trials = arg(&a, 4) as usize;
            for snr in a.iter().skip(5).filter_map(|s| s.parse::<f64>().ok()) {
                let mut hits = 0;
                let mut reasons: Vec<(&str, usize)> = Vec::new();
                let mut cpu = 0.0;
                for t in 0..trials {
                    let mut rng = ChaCha8Rng::seed_from_u64(seed0 + t as u64);
                    let cfg = PuschConfig {
                        bandwidth_mhz: 20.0,
                        n_prb,
                        first_prb: 10,
                        cell_id: rng.random_range(0..504),
                        group_hopping: rng.random_bool(0.5),
                        cyclic_shift_dci: rng.random_range(0..8),
                        slot_start: 2 * rng.random_range(0..10),
                        ..Default::default()
                    };
                    let sb = generate(&cfg, &mut rng).expect("valid config");
                    let mut x = vec![Complex32::new(0.0, 0.0); (fs * 4e-3) as usize];
                    let half = 0.5 * fs - 0.5 * sb.bandwidth_hz - 20e3;
                    let f = rng.random_range(-half..half);
                    let start = rng.random_range(fs * 1e-3..fs * 2e-3);
                    let p = signal_power_for_snr(1.0, fs, snr, sb.snr_bandwidth_hz);
                    sb.signal.render_add(
                        &mut x,
                        0,
                        fs,
                        start,
                        f - sb.center_hz,
                        Complex64::from_polar(
                            p.sqrt(),
                            rng.random_range(0.0..std::f64::consts::TAU),
                        ),
                    );
                    add_awgn(&mut x, 1.0, &mut rng);
                    d.reset();
                    out.clear();
                    let t0 = Instant::now();
                    d.process(0, &x, &mut out);
                    d.finish(&mut out);
                    cpu += t0.elapsed().as_secs_f64();
                    let f_ok = |o: &ciot_dsp::detect::Detection| (o.freq_offset_hz - f).abs() < 10e3;
                    let t_ok = |o: &ciot_dsp::detect::Detection| {
                        (o.sample_start as f64 - start).abs() < fs * 0.55e-3
                    };
                    let n_ok = |o: &ciot_dsp::detect::Detection| o.params["n_prb"] == n_prb;
                    if out.iter().any(|o| n_ok(o) && f_ok(o) && t_ok(o)) {
                        hits += 1;
                        continue;
                    }
                    let st = d.stats();
                    let r = if st.gated_segments == 0 {
                        "gate"
                    } else if st.acquisitions == 0 {
                        "no_acquisition"
                    } else if st.tracks == 0 {
                        "dmrs_threshold"
                    } else if !out.iter().any(n_ok) {
                        "wrong_n_prb"
                    } else if !out.iter().any(|o| n_ok(o) && f_ok(o)) {
                        "wrong_freq"
                    } else {
                        "wrong_time"
                    };
                    if why && r == "wrong_freq" {
                        let e: Vec<String> = out
                            .iter()
                            .filter(|o| n_ok(o))
                            .map(|o| format!("{:+.1}", (o.freq_offset_hz - f) / 15e3))
                            .collect();
                        println!("  trial {t}: frequency error {e:?} x 15 kHz");
                    }
                    match reasons.iter_mut().find(|e| e.0 == r) {
                        Some(e) => e.1 += 1,
                        None => reasons.push((r, 1)),
                    }
                }
                println!(
                    "fs {fs} n_prb {n_prb} snr {snr:5.1} dB: Pd {:.3} ({hits}/{trials}), seeds \
                     {seed0}..{}",
                    hits as f64 / trials as f64,
                    seed0 + trials as u64
                );
                if why {
                    println!(
                        "  misses {reasons:?}, detector {:.1} ms per 4 ms trial, threshold {:.2}",
                        1e3 * cpu / trials.max(1) as f64,
                        d.threshold(n_prb).unwrap_or(f64::NAN)
                    );
                }
            }
        }
        Some("fa") => {
            let secs = arg(&a, 3);
            let mut rng = ChaCha8Rng::seed_from_u64(99);
            let blk = (fs * 0.01) as usize;
            let mut x = vec![Complex32::new(0.0, 0.0); blk];
            let (mut cpu, mut total, mut n_det) = (0.0, 0u64, 0usize);
            while (total as f64) < secs * fs {
                x.iter_mut().for_each(|v| *v = Complex32::new(0.0, 0.0));
                add_awgn(&mut x, 1.0, &mut rng);
                let t0 = Instant::now();
                out.clear();
                d.process(total, &x, &mut out);
                cpu += t0.elapsed().as_secs_f64();
                n_det += out.len();
                total += blk as u64;
            }
            println!(
                "fs {fs}: {secs} s noise, {n_det} detections ({:.1}/h), {:.2} MS/s (wall time of \
                 process() on a shared machine), stats {:?}",
                n_det as f64 * 3600.0 / secs,
                total as f64 / cpu / 1e6,
                d.stats()
            );
        }
        _ => eprintln!("usage: pusch_eval [--seed S] [--why] [--gate P] pd FS N_PRB TRIALS SNR... | fa FS SECONDS"),
    }
}
