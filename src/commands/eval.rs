//! `ciot-sweep eval`: measured sensitivity. Synthesises fresh-seed signals over SNR, runs the
//! same scanner as `scan`, and measures per case the probability of detection (right kind,
//! right place) against SNR, classification accuracy, and false alarms per hour on noise
//! and on each interferer. Writes a Markdown table, a JSON file and PNG curves.

use crate::cli::EvalArgs;
use crate::detectors;
use crate::pipeline::Processor;
use crate::record::DetectionRecord;
use crate::scan::{CaptureContext, Scanner};
use crate::scenario::Scenario;
use crate::score::{score, MatchRule};
use anyhow::{Context, Result};
use ciot_dsp::synth::Kind;
use num_complex::Complex32;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use std::fmt::Write as _;
use std::path::Path;

/// Sample rate of the evaluation captures (one NB-IoT or 1.4 MHz LTE channel); cases that
/// need a wider band (an LTE phone, LTE-M narrowband hopping) say their own.
const FS: f64 = 1.92e6;

/// One evaluated signal type. Bursts start 30-40 ms into the capture, after the detectors'
/// noise-floor warm-up (a separate, documented limit), so that sensitivity is measured.
struct Case {
    name: &'static str,
    kind: Kind,
    /// Emitter TOML (kind, offsets, config) for a random draw; `{snr}` is filled in.
    emitter: fn(&mut ChaCha8Rng) -> String,
    /// Capture duration, seconds.
    duration_s: f64,
    /// Sample rate, Hz.
    fs: f64,
}

fn nprach(rng: &mut ChaCha8Rng, reps: u32) -> String {
    format!(
        "kind = \"nprach\"\nstart_s = {:.6}\ncarrier_offset_hz = {:.1}\ncfo_hz = {:.1}\n\
         timing_offset_samples = {:.3}\n[emitter.config]\nformat = {}\nrepetitions = {reps}\n\
         n_init = {}\ncell_id = {}\nhop_convention = \"{}\"\n",
        rng.random_range(0.03..0.04),
        rng.random_range(-600e3..600e3),
        rng.random_range(-3e3..3e3),
        rng.random_range(0.0..1.0),
        rng.random_range(0..2),
        rng.random_range(0..12),
        rng.random_range(0..504),
        if rng.random_bool(0.5) {
            "clause"
        } else {
            "alt"
        },
    )
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "nprach_rep1",
            kind: Kind::Nprach,
            emitter: |r| nprach(r, 1),
            duration_s: 0.07,
            fs: FS,
        },
        Case {
            name: "nprach_rep8",
            kind: Kind::Nprach,
            emitter: |r| nprach(r, 8),
            duration_s: 0.11,
            fs: FS,
        },
        Case {
            name: "prach_f0",
            kind: Kind::Prach,
            emitter: |r| {
                format!(
                    "kind = \"prach\"\nstart_s = {:.6}\ncarrier_offset_hz = {:.1}\ncfo_hz = {:.1}\n\
                     [emitter.config]\nformat = 0\nbandwidth_mhz = 1.4\nprach_freq_offset = 0\n\
                     root_sequence_index = {}\nzero_correlation_zone_config = {}\npreamble_index = {}\n",
                    r.random_range(0.03..0.04),
                    r.random_range(-300e3..300e3),
                    r.random_range(-2e3..2e3),
                    r.random_range(0..838),
                    r.random_range(1..16),
                    r.random_range(0..64),
                )
            },
            duration_s: 0.07,
            fs: FS,
        },
        Case {
            name: "npusch_st15k",
            kind: Kind::Npusch,
            emitter: |r| {
                format!(
                    "kind = \"npusch\"\nstart_s = {:.6}\ncarrier_offset_hz = {:.1}\ncfo_hz = {:.1}\n\
                     [emitter.config]\nspacing_hz = 15000\ntones = 1\nfirst_subcarrier = {}\ncell_id = {}\n",
                    r.random_range(0.03..0.04),
                    r.random_range(-600e3..600e3),
                    r.random_range(-2e3..2e3),
                    r.random_range(0..12),
                    r.random_range(0..504),
                )
            },
            duration_s: 0.07,
            fs: FS,
        },
        Case {
            name: "npusch_st3k75",
            kind: Kind::Npusch,
            emitter: |r| npusch(r, 3750, 1),
            duration_s: 0.09,
            fs: FS,
        },
        Case {
            name: "npusch_mt12",
            kind: Kind::Npusch,
            emitter: |r| npusch(r, 15000, 12),
            duration_s: 0.06,
            fs: FS,
        },
        Case {
            name: "pusch_1prb",
            kind: Kind::Pusch,
            emitter: |r| pusch(r, 1),
            duration_s: 0.06,
            fs: FS,
        },
        Case {
            name: "pusch_6prb",
            kind: Kind::Pusch,
            emitter: |r| pusch(r, 6),
            duration_s: 0.06,
            fs: FS,
        },
        Case {
            name: "pusch_ltem_6prb_rep4_hop",
            kind: Kind::Pusch,
            emitter: |r| pusch_ltem(r, 6, 4),
            duration_s: 0.07,
            fs: 7.68e6,
        },
        Case {
            name: "pusch_phone_20prb",
            kind: Kind::Pusch,
            emitter: |r| pusch_phone(r, 20),
            duration_s: 0.06,
            fs: 7.68e6,
        },
    ]
}

fn npusch(r: &mut ChaCha8Rng, spacing_hz: u32, tones: u32) -> String {
    let max_first = if spacing_hz == 3750 { 48 } else { 12 } - tones;
    format!(
        "kind = \"npusch\"\nstart_s = {:.6}\ncarrier_offset_hz = {:.1}\ncfo_hz = {:.1}\n\
         [emitter.config]\nspacing_hz = {spacing_hz}\ntones = {tones}\nfirst_subcarrier = {}\n\
         cell_id = {}\n",
        r.random_range(0.03..0.04),
        r.random_range(-600e3..600e3),
        r.random_range(-2e3..2e3),
        r.random_range(0..=max_first) / tones * tones,
        r.random_range(0..504),
    )
}

/// An LTE-M PUSCH (Cat-M1): 1..6 PRB in a narrowband of a 5 MHz carrier, repeated, hopping
/// between two narrowbands.
fn pusch_ltem(r: &mut ChaCha8Rng, n_prb: u32, repetitions: u32) -> String {
    let nb = r.random_range(0..4u32);
    let hop = (nb + 1 + r.random_range(0..3u32)) % 4;
    format!(
        "kind = \"pusch\"\nstart_s = {:.6}\ncarrier_offset_hz = {:.1}\ncfo_hz = {:.1}\n\
         [emitter.config]\nbandwidth_mhz = 5.0\nn_prb = {n_prb}\ncell_id = {}\n\
         group_hopping = {}\nlte_m = true\nnarrowband = {nb}\nnb_first_prb = {}\n\
         repetitions = {repetitions}\nhop_interval = 2\nhop_narrowbands = [{hop}]\n",
        r.random_range(0.03..0.035),
        r.random_range(-100e3..100e3),
        r.random_range(-1e3..1e3),
        r.random_range(0..504),
        r.random_bool(0.5),
        r.random_range(0..=6 - n_prb),
    )
}

/// An LTE phone's PUSCH: a wide allocation on a 5 MHz carrier, one subframe.
fn pusch_phone(r: &mut ChaCha8Rng, n_prb: u32) -> String {
    format!(
        "kind = \"pusch\"\nstart_s = {:.6}\ncarrier_offset_hz = {:.1}\ncfo_hz = {:.1}\n\
         [emitter.config]\nbandwidth_mhz = 5.0\nn_prb = {n_prb}\nfirst_prb = {}\ncell_id = {}\n\
         group_hopping = {}\n",
        r.random_range(0.03..0.035),
        r.random_range(-100e3..100e3),
        r.random_range(-1e3..1e3),
        r.random_range(0..=25 - n_prb),
        r.random_range(0..504),
        r.random_bool(0.5),
    )
}

fn pusch(r: &mut ChaCha8Rng, n_prb: u32) -> String {
    format!(
        "kind = \"pusch\"\nstart_s = {:.6}\ncarrier_offset_hz = {:.1}\ncfo_hz = {:.1}\n\
         [emitter.config]\nbandwidth_mhz = 1.4\nn_prb = {n_prb}\nfirst_prb = {}\ncell_id = {}\n\
         group_hopping = {}\n",
        r.random_range(0.03..0.035),
        r.random_range(-200e3..200e3),
        r.random_range(-1e3..1e3),
        r.random_range(0..=6 - n_prb),
        r.random_range(0..504),
        r.random_bool(0.5),
    )
}

fn capture(fs: f64, duration_s: f64, seed: u64) -> String {
    format!(
        "[capture]\nsample_rate = {fs}\nduration_s = {duration_s}\nformat = \"cf32_le\"\n\
         noise_dbfs = -30.0\nseed = {seed}\n"
    )
}

/// Runs the scanner over a rendered scenario (TOML text), in memory, as `scan` would, with
/// the detectors `which` and the false-alarm budget `far` (per hour per monitored MHz),
/// feeding blocks of `block` samples. Returns the truth and the detections.
pub fn run_scan_with(
    text: &str,
    far: f64,
    which: &[detectors::Which],
    block: usize,
) -> Result<(Vec<DetectionRecord>, Vec<DetectionRecord>)> {
    let plan = Scenario::from_toml(text, "eval")?.plan()?;
    let truth = plan.truth.clone();
    let fs = plan.scenario.capture.sample_rate;
    let ctx = CaptureContext {
        sample_rate_hz: fs,
        center_freq_hz: None,
        start_time: None,
    };
    let mut scanner = Scanner::new(detectors::build(fs, far, which)?.0, ctx, 0.25);
    let mut out = Vec::new();
    let mut pos = 0u64;
    plan.render(block.max(1), |chunk: &[Complex32]| {
        scanner.process(pos, chunk, &mut out);
        pos += chunk.len() as u64;
        Ok(())
    })?;
    scanner.finish(&mut out);
    Ok((truth, out))
}

fn run_scan(
    text: &str,
    which: &[detectors::Which],
    far: f64,
) -> Result<(Vec<DetectionRecord>, Vec<DetectionRecord>)> {
    run_scan_with(text, far, which, 1 << 16)
}

/// One row of the result table.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Point {
    /// Case name.
    pub case: String,
    /// SNR in the kind's standard bandwidth, dB.
    pub snr_db: f64,
    /// Trials.
    pub trials: usize,
    /// Found with the right kind.
    pub right_kind: usize,
    /// Found with the right kind and technology (classification right).
    pub right_tech: usize,
    /// Found as another kind.
    pub other_kind: usize,
    /// Detections matching no truth burst.
    pub false_alarms: usize,
}

/// Runs the command.
pub fn run(args: &EvalArgs) -> Result<()> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    if args.replot {
        return replot(&args.out);
    }
    let snrs: Vec<f64> = {
        let mut v = Vec::new();
        let mut s = args.snr_min;
        while s <= args.snr_max + 1e-9 {
            v.push(s);
            s += args.snr_step;
        }
        v
    };
    let which = args
        .detectors
        .clone()
        .unwrap_or_else(|| detectors::Which::ALL.to_vec());
    let rule = MatchRule::default();
    let mut points = Vec::new();
    for case in cases() {
        if let Some(only) = &args.case {
            if !case.name.contains(only.as_str()) {
                continue;
            }
        }
        for &snr in &snrs {
            let mut p = Point {
                case: case.name.into(),
                snr_db: snr,
                trials: 0,
                right_kind: 0,
                right_tech: 0,
                other_kind: 0,
                false_alarms: 0,
            };
            // Trials run in parallel on the rayon pool; each has its own seed and the
            // totals do not depend on the order.
            let key = crate::commands::scan::kind_name(case.kind);
            let results = (0..args.trials)
                .into_par_iter()
                .map(|t| -> Result<(usize, usize, usize, usize)> {
                    // Fresh seeds, disjoint from every seed the detectors' tests use.
                    // TOML integers are i64: keep the seed below 2^63.
                    let seed = (args.seed
                        ^ (0x9e37_79b9 * (t as u64 + 1))
                        ^ (((snr * 100.0) as i64 as u64) << 20))
                        & 0x7fff_ffff_ffff_ffff;
                    let mut rng = ChaCha8Rng::seed_from_u64(seed);
                    let text = format!(
                        "{}[[emitter]]\nsnr_db = {snr}\n{}",
                        capture(case.fs, case.duration_s, seed),
                        (case.emitter)(&mut rng)
                    );
                    let (truth, dets) = run_scan(&text, &which, args.false_alarms_per_hour)?;
                    let s = score(&truth, &dets, &rule);
                    let (a, b, c) = s.by_kind.get(key).map_or((0, 0, 0), |k| {
                        (k.found_right_kind, k.found_right_tech, k.found_other_kind)
                    });
                    let fa = s.by_kind.values().map(|k| k.false_alarms).sum::<usize>();
                    Ok((a, b, c, fa))
                })
                .collect::<Result<Vec<_>>>()?;
            for (a, b, c, fa) in results {
                p.right_kind += a;
                p.right_tech += b;
                p.other_kind += c;
                p.false_alarms += fa;
                p.trials += 1;
            }
            eprintln!(
                "{:<24} {:>6.1} dB  Pd {:>5.1} %  class {:>5.1} %  other-kind {:>3}  false {:>3}",
                p.case,
                p.snr_db,
                100.0 * p.right_kind as f64 / p.trials as f64,
                100.0 * p.right_tech as f64 / p.trials as f64,
                p.other_kind,
                p.false_alarms
            );
            points.push(p);
        }
    }

    // False alarms on noise only and on each interferer.
    let mut fa_rows = Vec::new();
    if args.noise_seconds > 0.0 {
        let chunk_s = 2.0;
        let mut total = 0usize;
        let mut by_kind = std::collections::BTreeMap::<String, usize>::new();
        let n = (args.noise_seconds / chunk_s).ceil() as usize;
        let runs = (0..n)
            .into_par_iter()
            .map(|i| {
                let text = capture(FS, chunk_s, args.seed ^ (0xfa00 + i as u64));
                run_scan(&text, &which, args.false_alarms_per_hour).map(|r| r.1)
            })
            .collect::<Result<Vec<_>>>()?;
        for dets in runs {
            total += dets.len();
            for d in dets {
                *by_kind
                    .entry(crate::commands::scan::kind_name(d.kind).into())
                    .or_default() += 1;
            }
        }
        let hours = n as f64 * chunk_s / 3600.0;
        fa_rows.push((
            "noise only".to_string(),
            n as f64 * chunk_s,
            total,
            total as f64 / hours,
            by_kind,
        ));
    }
    for (name, emitter) in [
        ("CW carrier", "kind = \"cw\"\nstart_s = 0.01\ncarrier_offset_hz = 123e3\nsnr_db = 30\n[emitter.config]\nduration_s = 0.5\n"),
        ("LoRa-like chirps", "kind = \"chirp\"\nstart_s = 0.01\ncarrier_offset_hz = -250e3\nsnr_db = 15\n[emitter.config]\nspreading_factor = 9\nn_symbols = 20\n"),
        ("noise bursts 1 MHz", "kind = \"noise\"\nstart_s = 0.01\nperiod_s = 0.05\ncount = 8\nsnr_db = 10\n[emitter.config]\nbandwidth_hz = 1e6\nduration_s = 0.004\n"),
        ("GSM GMSK bursts", "kind = \"gsm\"\nstart_s = 0.01\ncarrier_offset_hz = 200e3\nsnr_db = 20\n[emitter.config]\nn_frames = 100\n"),
        ("LTE downlink 6 RB", "kind = \"lte_downlink\"\nstart_s = 0.0\nsnr_db = 15\n[emitter.config]\nn_rb = 6\nduration_s = 0.55\nsubframe_fraction = 0.6\n"),
        ("Sigfox-like UNB", "kind = \"sigfox\"\nstart_s = 0.01\ncarrier_offset_hz = -300e3\nsnr_db = 20\n[emitter.config]\nframe_bits = 12\ngap_s = 0.01\n"),
    ] {
        let mut cellular = 0usize;
        let mut by_kind = std::collections::BTreeMap::<String, usize>::new();
        let trials = args.interferer_trials.unwrap_or(args.trials);
        if trials == 0 {
            continue;
        }
        let runs = (0..trials)
            .into_par_iter()
            .map(|t| {
                let text = format!("{}[[emitter]]\n{emitter}", capture(FS, 0.6, args.seed ^ (0x1f00 + t as u64)));
                run_scan(&text, &which, args.false_alarms_per_hour).map(|r| r.1)
            })
            .collect::<Result<Vec<_>>>()?;
        for d in runs.into_iter().flatten() {
            if d.kind != Kind::Unknown {
                cellular += 1;
            }
            *by_kind.entry(crate::commands::scan::kind_name(d.kind).into()).or_default() += 1;
        }
        fa_rows.push((name.to_string(), trials as f64 * 0.6, cellular, f64::NAN, by_kind));
    }

    // Table.
    let mut md = String::new();
    writeln!(md, "Measured with `ciot-sweep eval {}` (fs = 1.92 MS/s, AWGN, fresh seeds; SNR in the standard bandwidth: 180 kHz NB-IoT, 1.08 MHz PRACH, the allocation for PUSCH).\n", args.describe())?;
    writeln!(
        md,
        "| case | SNR dB | trials | Pd (right kind) | classified right (kind + tech) | found as other kind | false alarms |"
    )?;
    writeln!(md, "|---|---:|---:|---:|---:|---:|---:|")?;
    for p in &points {
        writeln!(
            md,
            "| {} | {:.1} | {} | {:.1} % | {:.1} % | {} | {} |",
            p.case,
            p.snr_db,
            p.trials,
            100.0 * p.right_kind as f64 / p.trials.max(1) as f64,
            100.0 * p.right_tech as f64 / p.trials.max(1) as f64,
            p.other_kind,
            p.false_alarms
        )?;
    }
    writeln!(md, "\n| input | seconds | reports | per hour | by kind |")?;
    writeln!(md, "|---|---:|---:|---:|---|")?;
    for (name, secs, n, per_h, by_kind) in &fa_rows {
        let k: Vec<String> = by_kind.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        let label = if per_h.is_nan() {
            format!("{n} cellular")
        } else {
            format!("{n}")
        };
        writeln!(
            md,
            "| {name} | {secs:.1} | {label} | {} | {} |",
            if per_h.is_nan() {
                "-".into()
            } else {
                format!("{per_h:.1}")
            },
            k.join(", ")
        )?;
    }
    let table = args.out.join("eval.md");
    std::fs::write(&table, &md).with_context(|| format!("writing {}", table.display()))?;
    let json = args.out.join("eval.json");
    std::fs::write(&json, serde_json::to_string_pretty(&points)?)
        .with_context(|| format!("writing {}", json.display()))?;
    plot_pd(&args.out.join("pd_vs_snr.png"), &points, &snrs)?;
    print!("{md}");
    eprintln!(
        "wrote {}, {}, {}",
        table.display(),
        json.display(),
        args.out.join("pd_vs_snr.png").display()
    );
    Ok(())
}

/// Redraws `pd_vs_snr.png` from the `eval.json` of an earlier run in `dir`.
fn replot(dir: &Path) -> Result<()> {
    let json = dir.join("eval.json");
    let text =
        std::fs::read_to_string(&json).with_context(|| format!("reading {}", json.display()))?;
    let points: Vec<Point> = serde_json::from_str(&text)
        .with_context(|| format!("{}: not the eval.json of `ciot-sweep eval`", json.display()))?;
    let mut snrs: Vec<f64> = points.iter().map(|p| p.snr_db).collect();
    snrs.sort_by(f64::total_cmp);
    snrs.dedup();
    let png = dir.join("pd_vs_snr.png");
    plot_pd(&png, &points, &snrs)?;
    eprintln!("wrote {}", png.display());
    Ok(())
}

fn plot_pd(path: &Path, points: &[Point], snrs: &[f64]) -> Result<()> {
    let mut curves: Vec<crate::plot::Curve> = Vec::new();
    for p in points {
        let y = 100.0 * p.right_kind as f64 / p.trials.max(1) as f64;
        match curves.iter_mut().find(|c| c.label == p.case) {
            Some(c) => c.points.push((p.snr_db, y)),
            None => curves.push(crate::plot::Curve {
                label: p.case.clone(),
                points: vec![(p.snr_db, y)],
            }),
        }
    }
    let lo = snrs.first().copied().unwrap_or(-20.0);
    let hi = snrs.last().copied().unwrap_or(10.0);
    crate::plot::line_chart(
        path,
        "Probability of detection (right kind) vs SNR",
        "SNR in the standard bandwidth (dB)",
        "Pd (%)",
        (lo, hi.max(lo + 1.0)),
        (0.0, 100.0),
        &curves,
    )
}
