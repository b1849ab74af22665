//! `synth` end to end: scenarios -> SigMF + truth, checked against what the samples hold.

use ciot_sweep::commands::synth::{synthesize, truth_path};
use ciot_sweep::iq::{IqBlock, IqInput};
use ciot_sweep::record::DetectionRecord;
use ciot_sweep::scenario::Scenario;
use num_complex::Complex32;
use std::path::Path;

fn scenario(text: &str) -> Scenario {
    Scenario::from_toml(text, "test").expect("valid scenario")
}

fn read_all(meta: &Path) -> (IqInput, Vec<Complex32>) {
    let input = IqInput::open(meta, None, None, None).expect("opens");
    let mut r = input.reader(4096).expect("reader");
    let mut b = IqBlock::default();
    let mut all = Vec::new();
    let mut next = 0;
    while r.read_block(&mut b).expect("reads") {
        assert_eq!(b.first_sample, next);
        next = b.end_sample();
        all.extend_from_slice(&b.samples);
    }
    (input, all)
}

fn mean_power(x: &[Complex32]) -> f64 {
    x.iter().map(|v| v.norm_sqr() as f64).sum::<f64>() / x.len().max(1) as f64
}

const ALL_KINDS: &str = r#"
[capture]
sample_rate = 3.84e6
center_freq = 850e6
duration_s = 0.12
format = "cf32_le"
seed = 3
datetime = "2026-01-02T03:04:05Z"

[[emitter]]
kind = "nprach"
start_s = 0.001
carrier_offset_hz = 600e3
power_dbfs = -20.0
[emitter.config]
repetitions = 1
n_init = 3
cell_id = 7

[[emitter]]
kind = "npusch"
start_s = 0.010
carrier_offset_hz = -700e3
power_dbfs = -20.0
[emitter.config]
tones = 12
n_ru = 1

[[emitter]]
kind = "prach"
start_s = 0.030
power_dbfs = -20.0
[emitter.config]
bandwidth_mhz = 1.4
prach_freq_offset = 0

[[emitter]]
kind = "pusch"
start_s = 0.040
period_s = 0.02
count = 2
power_dbfs = -20.0
[emitter.config]
bandwidth_mhz = 3.0
n_prb = 4
first_prb = 5

[[emitter]]
kind = "chirp"
start_s = 0.09
carrier_offset_hz = 1.2e6
power_dbfs = -20.0
"#;

#[test]
fn every_burst_sits_where_the_truth_says_with_the_stated_power() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path().join("all");
    let sc = scenario(ALL_KINDS);
    let s = synthesize(&sc, ALL_KINDS, &base).expect("synth");
    assert_eq!(s.samples, (0.12f64 * 3.84e6).round() as u64);
    let truth: Vec<DetectionRecord> = std::fs::read_to_string(truth_path(&base))
        .expect("truth")
        .lines()
        .map(|l| serde_json::from_str(l).expect("record"))
        .collect();
    assert_eq!(truth.len(), 6);
    // Ordered by burst end, as the contract says.
    assert!(truth
        .windows(2)
        .all(|w| w[0].sample_end() <= w[1].sample_end()));
    let (input, x) = read_all(&s.meta_path);
    assert_eq!(input.frequency_hz, Some(850e6));
    let mut covered = vec![false; x.len()];
    for r in &truth {
        let (a, b) = (r.sample_start as usize, r.sample_end() as usize);
        // Noise-free capture: the burst's mean power is the stated one (NPRACH has gaps
        // between nothing: its groups abut, so the window is full).
        let p = 10.0 * mean_power(&x[a..b]).log10();
        assert!(
            (p - r.power_dbfs).abs() < 0.6,
            "{:?}: {p} vs {}",
            r.kind,
            r.power_dbfs
        );
        // Nothing just before the burst (it starts where the truth says).
        if a > 0 && !covered[a - 1] {
            assert!(x[a - 1].norm() < 1e-6, "{:?} starts before {a}", r.kind);
        }
        assert!(
            x[a].norm() > 1e-4,
            "{:?} has no sample at its start {a}",
            r.kind
        );
        assert_eq!(r.t_start_s, r.sample_start as f64 / 3.84e6);
        assert_eq!(r.freq_hz, Some(850e6 + r.freq_offset_hz));
        assert!(r
            .time_utc
            .as_deref()
            .unwrap_or("")
            .starts_with("2026-01-02T03:04:05"));
        for c in &mut covered[a..b] {
            *c = true;
        }
    }
    // Outside every burst the capture is silent.
    let outside: f64 = x
        .iter()
        .zip(&covered)
        .filter(|(_, c)| !**c)
        .map(|(v, _)| v.norm_sqr() as f64)
        .sum();
    assert!(outside < 1e-9, "{outside}");
    // The truth carries every generator parameter.
    let nprach = truth
        .iter()
        .find(|r| r.params["n_init"] == 3)
        .expect("nprach");
    assert_eq!(nprach.params["cell_id"], 7);
    let prach = truth
        .iter()
        .find(|r| r.params.contains_key("root"))
        .expect("prach");
    assert!(prach.params.contains_key("cyclic_shift"));
    let pusch = truth
        .iter()
        .find(|r| r.params.contains_key("dmrs_group"))
        .expect("pusch");
    assert_eq!(pusch.params["n_prb"], 4);
    assert_eq!(pusch.params["first_prb"], 5);
}

#[test]
fn snr_is_calibrated_in_the_stated_bandwidth_over_100_seeds() {
    // For each kind: SNR 0 dB in its standard bandwidth; the SNR measured from the samples
    // (power in the burst window minus the noise power measured outside, over the noise in
    // the stated bandwidth), averaged over 100 seeds, is within 0.2 dB of 0.
    for (kind, cfg, bw) in [
        ("nprach", "repetitions = 1", 180e3),
        ("npusch", "tones = 1\nspacing_hz = 15000\nn_ru = 1", 180e3),
        (
            "prach",
            "bandwidth_mhz = 1.4\nprach_freq_offset = 0",
            1.08e6,
        ),
        (
            "pusch",
            "bandwidth_mhz = 1.4\nn_prb = 3\nfirst_prb = 1",
            540e3,
        ),
    ] {
        let mut sum_lin = 0.0;
        let seeds = 100;
        for seed in 0..seeds {
            let text = format!(
                "[capture]\nsample_rate = 1.92e6\nduration_s = 0.03\nnoise_dbfs = -30\nseed = {seed}\n\
                 [[emitter]]\nkind = \"{kind}\"\nstart_s = 0.011\nsnr_db = 0.0\n[emitter.config]\n{cfg}\n"
            );
            let plan = scenario(&text).plan().expect("plan");
            let r = plan.truth[0].clone();
            let mut x = Vec::new();
            plan.render(10_000, |c| {
                x.extend_from_slice(c);
                Ok(())
            })
            .expect("render");
            let (a, b) = (r.sample_start as usize, r.sample_end() as usize);
            let p_in = mean_power(&x[a..b]);
            let outside: Vec<Complex32> = x[..a].iter().chain(&x[b..]).copied().collect();
            let p_n = mean_power(&outside);
            sum_lin += (p_in - p_n) / (p_n * bw / 1.92e6);
        }
        let snr = 10.0 * (sum_lin / seeds as f64).log10();
        assert!(snr.abs() < 0.2, "{kind}: measured {snr:.3} dB for 0 dB");
    }
}

#[test]
fn scenario_errors_name_the_problem() {
    let bad = [
        ("[capture]\nsample_rate = 0\nduration_s = 1\n", "sample_rate"),
        ("[capture]\nsample_rate = 1.92e6\nduration_s = 0.01\n[[emitter]]\nkind = \"nprach\"\nsnr_db = 3\n", "noise_dbfs"),
        ("[capture]\nsample_rate = 1.92e6\nduration_s = 0.01\n[[emitter]]\nkind = \"wifi\"\npower_dbfs = -3\n", "unknown emitter kind"),
        ("[capture]\nsample_rate = 1.92e6\nduration_s = 0.01\n[[emitter]]\nkind = \"prach\"\npower_dbfs = -3\n", "outside the capture"),
        ("[capture]\nsample_rate = 1.92e6\nduration_s = 0.1\n[[emitter]]\nkind = \"nprach\"\npower_dbfs = -3\n[emitter.config]\nrepetitions = 3\n", "repetitions"),
        ("[capture]\nsample_rate = 1.92e6\nduration_s = 0.1\n[[emitter]]\nkind = \"nprach\"\npower_dbfs = -3\ncarrier_offset_hz = 1.1e6\n", "outside the capture's"),
        ("[capture]\nsample_rate = 1.92e6\nduration_s = 0.1\nbogus = 1\n", "bogus"),
    ];
    for (text, want) in bad {
        let err = Scenario::from_toml(text, "t.toml").and_then(|s| s.plan().map(|_| ()));
        let msg = format!("{:#}", err.expect_err(want));
        assert!(msg.contains(want), "'{msg}' should mention '{want}'");
    }
}

#[test]
fn rendering_does_not_depend_on_chunk_size() {
    let sc = scenario(ALL_KINDS);
    let plan = sc.plan().expect("plan");
    let mut a = Vec::new();
    let mut b = Vec::new();
    plan.render(1 << 16, |c| {
        a.extend_from_slice(c);
        Ok(())
    })
    .expect("render");
    plan.render(777, |c| {
        b.extend_from_slice(c);
        Ok(())
    })
    .expect("render");
    assert_eq!(a.len(), b.len());
    assert!(a.iter().zip(&b).all(|(x, y)| (x - y).norm() < 1e-6));
}

#[test]
fn every_bundled_scenario_is_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("recordings/scenarios");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).expect("scenario folder") {
        let p = e.expect("entry").path();
        if p.extension().and_then(|x| x.to_str()) != Some("toml") {
            continue;
        }
        let text = std::fs::read_to_string(&p).expect("readable");
        let plan = Scenario::from_toml(&text, &p.display().to_string())
            .and_then(|s| s.plan())
            .unwrap_or_else(|e| panic!("{}: {e:#}", p.display()));
        assert!(!plan.truth.is_empty(), "{} has no burst", p.display());
        n += 1;
    }
    assert!(n >= 4, "only {n} scenarios found");
}

#[test]
fn hackrf_rates_are_rendered_exactly_without_resampling() {
    // The same NPRACH at 20 MS/s (not a multiple of 1.92): its first group is a tone at the
    // frequency the clause gives, starting at the stated sample.
    for fs in [10e6, 20e6] {
        let text = format!(
            "[capture]\nsample_rate = {fs}\nduration_s = 0.01\nformat = \"cf32_le\"\n\
             [[emitter]]\nkind = \"nprach\"\nstart_s = 0.001\ncarrier_offset_hz = 1e6\npower_dbfs = -10\n\
             [emitter.config]\nrepetitions = 1\nn_init = 2\n"
        );
        let plan = scenario(&text).plan().expect("plan");
        let r = plan.truth[0].clone();
        assert_eq!(r.sample_start, (0.001 * fs) as u64);
        let mut x = Vec::new();
        plan.render(1 << 14, |c| {
            x.extend_from_slice(c);
            Ok(())
        })
        .expect("render");
        let a = r.sample_start as usize;
        assert_eq!(x[a - 1].norm(), 0.0);
        // Group 0 on subcarrier 2: (2 - 23.5) x 3.75 kHz from the carrier at +1 MHz.
        let want = 1e6 + (2.0 - 23.5) * 3750.0;
        let n = (1e-3 * fs) as usize;
        let f: f64 = (a + 1..a + n)
            .map(|i| (x[i] * x[i - 1].conj()).arg() as f64)
            .sum::<f64>()
            / (n - 1) as f64
            * fs
            / (2.0 * std::f64::consts::PI);
        assert!((f - want).abs() < 1.0, "{fs}: {f} vs {want}");
    }
}

#[test]
fn gsm_lte_downlink_and_sigfox_render_through_the_scenario_path_as_unknown() {
    let text = r#"
[capture]
sample_rate = 1.92e6
duration_s = 0.25
format = "cf32_le"
seed = 4

[[emitter]]
kind = "gsm"
start_s = 0.001
carrier_offset_hz = 400e3
power_dbfs = -20.0
[emitter.config]
n_frames = 4
timeslot = 1
training_sequence = 2
freq_offset_hz = 10e3
seed = 1

[[emitter]]
kind = "lte_downlink"
start_s = 0.03
power_dbfs = -20.0
[emitter.config]
n_rb = 6
duration_s = 0.005
modulation = "16qam"

[[emitter]]
kind = "sigfox"
start_s = 0.04
carrier_offset_hz = -500e3
power_dbfs = -20.0
[emitter.config]
frame_bits = 4
gap_s = 0.01
seed = 3
"#;
    let plan = scenario(text).plan().expect("plan");
    assert_eq!(plan.truth.len(), 3);
    let mut x = Vec::new();
    plan.render(5000, |c| {
        x.extend_from_slice(c);
        Ok(())
    })
    .expect("render");
    let fs = 1.92e6;
    for r in &plan.truth {
        // Interferers are never cellular: kind and tech unknown, labelled as interferers.
        assert_eq!(serde_json::to_value(r.kind).expect("kind"), "unknown");
        assert_eq!(serde_json::to_value(r.tech).expect("tech"), "unknown");
        let a = r.sample_start as usize;
        assert_eq!(
            x[a - 1].norm(),
            0.0,
            "{:?} starts before its truth",
            r.params
        );
        let label = r.params["interferer"].as_str().expect("label");
        match label {
            "gsm" => {
                // Every generator parameter is in the truth; the centre adds its offset.
                for k in [
                    "n_frames",
                    "timeslot",
                    "slots_per_frame",
                    "freq_offset_hz",
                    "seed",
                ] {
                    assert!(r.params.contains_key(k), "gsm truth lacks {k}");
                }
                assert_eq!(r.params["training_sequence"], 2);
                assert_eq!(r.freq_offset_hz, 410e3);
                // 3 frames + one burst of 152 bits on air.
                let want = 3.0 * 60e-3 / 13.0 + 152.0 * 48.0 / 13e6;
                assert!((r.duration_s - want).abs() < 1.5 / fs, "{}", r.duration_s);
                let n = (152.0 * 48.0 / 13e6 * fs) as usize;
                let p = 10.0 * mean_power(&x[a..a + n]).log10();
                assert!((p + 20.0).abs() < 0.1, "gsm burst at {p} dBFS");
                // Constant envelope inside the burst.
                let m = x[a + 20].norm();
                assert!(x[a + 20..a + n - 20]
                    .iter()
                    .all(|v| (v.norm() - m).abs() < 1e-4 * m));
            }
            "lte_downlink" => {
                assert_eq!(r.params["n_rb"], 6);
                assert_eq!(r.params["modulation"], "16qam");
                assert_eq!(r.sample_len, (0.005 * fs).round() as u64);
                assert_eq!(r.bandwidth_hz, 73.0 * 15e3);
                let p = 10.0 * mean_power(&x[a..a + r.sample_len as usize]).log10();
                assert!((p + 20.0).abs() < 0.3, "lte downlink at {p} dBFS");
            }
            "sigfox" => {
                let f: Vec<f64> = r.params["repeat_freqs_hz"]
                    .as_array()
                    .expect("freqs")
                    .iter()
                    .map(|v| v.as_f64().expect("f"))
                    .collect();
                assert_eq!(f.len(), 3);
                let (lo, hi) = (
                    f.iter().copied().fold(f64::INFINITY, f64::min),
                    f.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                );
                assert!((r.freq_offset_hz - (-500e3 + (lo + hi) / 2.0)).abs() < 1e-6);
                assert!((r.bandwidth_hz - (hi - lo + 100.0)).abs() < 1e-6);
                // 3 frames of 5 bit periods and 2 gaps of 10 ms.
                assert!((r.duration_s - 0.17).abs() < 1.5 / fs, "{}", r.duration_s);
                let n = (0.05 * fs) as usize;
                let p = 10.0 * mean_power(&x[a..a + n]).log10();
                assert!((p + 20.0).abs() < 0.1, "sigfox repeat at {p} dBFS");
            }
            other => panic!("unexpected interferer {other}"),
        }
    }
    // Unknown generator parameters are refused.
    let bad = "[capture]\nsample_rate = 1.92e6\nduration_s = 0.1\n[[emitter]]\nkind = \"gsm\"\npower_dbfs = -3\n[emitter.config]\nbogus = 1\n";
    let err = Scenario::from_toml(bad, "t.toml").and_then(|s| s.plan().map(|_| ()));
    assert!(format!("{:#}", err.expect_err("bogus")).contains("bogus"));
}
