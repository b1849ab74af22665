//! `synth` checked by an independent implementation of TS 36.211.
//!
//! `tests/independent/verify_synth.py` (Python 3 + numpy, written from the specification and not
//! from this crate's code) re-derives every burst's sequence from the truth record's `params`
//! and measures it in the samples: NPRACH hopping tones, PRACH root and cyclic shift, PUSCH and
//! 12-tone NPUSCH DMRS group and cyclic shift, NPUSCH tones, SigMF validity. This test
//! synthesises three small scenarios (1.92, 3.84 and 7.68 MS/s), runs the script on each and
//! requires it to pass, then corrupts two truth files and requires it to fail.
//!
//! Without python3 + numpy the test prints a notice and passes, unless `CI` is set.

use ciot_sweep::commands::synth::{synthesize, truth_path};
use ciot_sweep::scenario::Scenario;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/independent/verify_synth.py"
);

/// 1.92 MS/s: NPRACH format 0 ("clause" hopping) and format 1 ("alt"), PUSCH of 2 PRB and 1 PRB
/// (the phi tables of 5.5.1.2) in a 1.4 MHz carrier, a 15 kHz single-tone NPUSCH.
const SCENARIO_A: &str = r#"
[capture]
sample_rate = 1.92e6
center_freq = 815.0e6
duration_s = 0.06
format = "cf32_le"
noise_dbfs = -30.0
seed = 710301

[[emitter]]
kind = "nprach"
start_s = 0.002
carrier_offset_hz = 310e3
cfo_hz = 2100.0
snr_db = 12.0
[emitter.config]
format = 0
repetitions = 4
subcarrier_offset = 0
n_subcarriers = 12
n_init = 9
cell_id = 77
hop_convention = "clause"

[[emitter]]
kind = "nprach"
start_s = 0.026
carrier_offset_hz = -240e3
cfo_hz = -1700.0
snr_db = 10.0
[emitter.config]
format = 1
repetitions = 2
subcarrier_offset = 12
n_subcarriers = 36
n_init = 29
cell_id = 410
hop_convention = "alt"

[[emitter]]
kind = "pusch"
start_s = 0.042
cfo_hz = 600.0
snr_db = 12.0
[emitter.config]
bandwidth_mhz = 1.4
n_prb = 2
first_prb = 3
cell_id = 13
cyclic_shift_cfg = 3

[[emitter]]
kind = "pusch"
start_s = 0.046
cfo_hz = -350.0
snr_db = 12.0
[emitter.config]
bandwidth_mhz = 1.4
n_prb = 1
first_prb = 0
cell_id = 200
cyclic_shift_dci = 5

[[emitter]]
kind = "npusch"
start_s = 0.050
carrier_offset_hz = 420e3
cfo_hz = 900.0
snr_db = 12.0
[emitter.config]
spacing_hz = 15000
tones = 1
first_subcarrier = 10
cell_id = 77
"#;

/// 3.84 MS/s: PRACH format 1 in a 3 MHz carrier, PUSCH of 4 PRB (extended Zadoff-Chu) with group
/// hopping over two subframes, NPUSCH with 12, 3 and 6 tones and a 3.75 kHz single tone.
const SCENARIO_B: &str = r#"
[capture]
sample_rate = 3.84e6
center_freq = 1747.5e6
duration_s = 0.05
format = "cf32_le"
noise_dbfs = -30.0
seed = 52417

[[emitter]]
kind = "prach"
start_s = 0.003
carrier_offset_hz = 100e3
cfo_hz = -900.0
snr_db = 10.0
[emitter.config]
format = 1
bandwidth_mhz = 3.0
prach_freq_offset = 5
root_sequence_index = 137
zero_correlation_zone_config = 3
preamble_index = 50

[[emitter]]
kind = "pusch"
start_s = 0.008
carrier_offset_hz = 100e3
cfo_hz = 350.0
snr_db = 12.0
[emitter.config]
bandwidth_mhz = 3.0
n_prb = 4
first_prb = 9
cell_id = 58
group_hopping = true
n_subframes = 2

[[emitter]]
kind = "npusch"
start_s = 0.012
carrier_offset_hz = 1.3e6
cfo_hz = 800.0
snr_db = 12.0
[emitter.config]
tones = 12
n_ru = 1
cell_id = 71

[[emitter]]
kind = "npusch"
start_s = 0.016
carrier_offset_hz = -1.3e6
cfo_hz = -450.0
snr_db = 10.0
[emitter.config]
spacing_hz = 3750
tones = 1
first_subcarrier = 5
modulation = "pi/2-bpsk"
cell_id = 71

[[emitter]]
kind = "npusch"
start_s = 0.020
carrier_offset_hz = 1.3e6
cfo_hz = 800.0
snr_db = 12.0
[emitter.config]
tones = 3
first_subcarrier = 9
cell_id = 71

[[emitter]]
kind = "npusch"
start_s = 0.026
carrier_offset_hz = 1.3e6
cfo_hz = 800.0
snr_db = 12.0
[emitter.config]
tones = 6
first_subcarrier = 6
cell_id = 71
"#;

/// 7.68 MS/s: PRACH format 3 in a 5 MHz carrier, an LTE-M PUSCH (narrowband 3, group hopping,
/// 2 repetitions), NPRACH format 0 on 48 subcarriers, a 5-PRB PUSCH.
const SCENARIO_C: &str = r#"
[capture]
sample_rate = 7.68e6
center_freq = 1950.0e6
duration_s = 0.03
format = "cf32_le"
noise_dbfs = -30.0
seed = 913

[[emitter]]
kind = "prach"
start_s = 0.001
carrier_offset_hz = -200e3
cfo_hz = 1300.0
snr_db = 10.0
[emitter.config]
format = 3
bandwidth_mhz = 5.0
prach_freq_offset = 12
root_sequence_index = 611
zero_correlation_zone_config = 12
preamble_index = 20

[[emitter]]
kind = "pusch"
start_s = 0.006
carrier_offset_hz = -200e3
cfo_hz = -450.0
snr_db = 12.0
[emitter.config]
bandwidth_mhz = 5.0
lte_m = true
narrowband = 3
nb_first_prb = 0
n_prb = 6
cell_id = 222
group_hopping = true
repetitions = 2

[[emitter]]
kind = "nprach"
start_s = 0.010
carrier_offset_hz = 2.9e6
cfo_hz = 500.0
snr_db = 10.0
[emitter.config]
format = 0
repetitions = 2
subcarrier_offset = 0
n_subcarriers = 48
n_init = 40
cell_id = 503

[[emitter]]
kind = "pusch"
start_s = 0.024
carrier_offset_hz = -200e3
cfo_hz = 75.0
snr_db = 12.0
[emitter.config]
bandwidth_mhz = 5.0
n_prb = 5
first_prb = 18
cell_id = 17
"#;

/// True when python3 can import numpy; otherwise a notice (or a failure under CI).
fn python_ready() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import numpy"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "python3 with numpy is required for the independent verification (CI is set)"
        );
        eprintln!("NOTICE: python3 or numpy not available: independent synth verification skipped");
    }
    ok
}

fn synth(dir: &Path, name: &str, text: &str) -> PathBuf {
    let scenario = Scenario::from_toml(text, name).expect("valid scenario");
    let base = dir.join(name);
    let summary = synthesize(&scenario, text, &base).expect("synthesizes");
    assert!(summary.truth_path.exists());
    base
}

fn spawn(base: &Path) -> Child {
    Command::new("python3")
        .arg(SCRIPT)
        .arg(base)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs python3")
}

struct Run {
    code: Option<i32>,
    stdout: String,
}

fn finish(name: &str, child: Child) -> Run {
    let out = child.wait_with_output().expect("python3 finishes");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    println!("--- {name}: exit {:?}\n{stdout}", out.status.code());
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !stderr.trim().is_empty() {
        println!("(stderr)\n{stderr}");
    }
    Run {
        code: out.status.code(),
        stdout,
    }
}

/// Copies BASE's recording to BAD with a truth file whose first record of `kind` has
/// `params[key]` replaced by `f(old value)`.
fn corrupt(base: &Path, bad: &Path, kind: &str, key: &str, f: impl Fn(u64) -> u64) {
    for ext in ["sigmf-meta", "sigmf-data"] {
        fs::copy(base.with_extension(ext), bad.with_extension(ext)).expect("copies recording");
    }
    let text = fs::read_to_string(truth_path(base)).expect("reads truth");
    let mut done = false;
    let mut out = String::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut v: serde_json::Value = serde_json::from_str(line).expect("truth is JSON");
        if !done && v["kind"] == kind {
            let old = v["params"][key].as_u64().expect("integer parameter");
            v["params"][key] = serde_json::json!(f(old));
            done = true;
        }
        out.push_str(&v.to_string());
        out.push('\n');
    }
    assert!(done, "no {kind} record to corrupt");
    fs::write(truth_path(bad), out).expect("writes corrupted truth");
}

fn truth_count(base: &Path) -> usize {
    fs::read_to_string(truth_path(base))
        .expect("reads truth")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count()
}

#[test]
fn synth_agrees_with_an_independent_implementation() {
    if !python_ready() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let good: Vec<(&str, PathBuf)> = vec![
        ("a-1.92M", synth(dir.path(), "a", SCENARIO_A)),
        ("b-3.84M", synth(dir.path(), "b", SCENARIO_B)),
        ("c-7.68M", synth(dir.path(), "c", SCENARIO_C)),
    ];
    // Wrong claims that the verifier must reject.
    let bad_nprach = dir.path().join("a_bad_n_init");
    corrupt(&good[0].1, &bad_nprach, "nprach", "n_init", |n| {
        (n + 1) % 12
    });
    let bad_prach = dir.path().join("b_bad_root");
    corrupt(&good[1].1, &bad_prach, "prach", "root", |u| u % 838 + 1);

    // Run all five at once (the script is single-threaded; this keeps the test short).
    let children: Vec<(String, Child)> = good
        .iter()
        .map(|(n, b)| (n.to_string(), spawn(b)))
        .chain([
            ("a with a wrong n_init".to_string(), spawn(&bad_nprach)),
            ("b with a wrong root".to_string(), spawn(&bad_prach)),
        ])
        .collect();
    let runs: Vec<(String, Run)> = children
        .into_iter()
        .map(|(n, c)| {
            let r = finish(&n, c);
            (n, r)
        })
        .collect();

    for ((name, run), (_, base)) in runs.iter().zip(good.iter()) {
        assert_eq!(
            run.code,
            Some(0),
            "{name}: the independent verifier failed:\n{}",
            run.stdout
        );
        let passed = run
            .stdout
            .lines()
            .filter(|l| l.starts_with("PASS #"))
            .count();
        assert_eq!(
            passed,
            truth_count(base),
            "{name}: every truth record must be verified and pass:\n{}",
            run.stdout
        );
        assert!(!run.stdout.lines().any(|l| l.starts_with("FAIL")), "{name}");
    }
    for (name, run) in &runs[3..] {
        assert_eq!(
            run.code,
            Some(1),
            "{name}: the verifier accepted a wrong claim:\n{}",
            run.stdout
        );
        assert!(
            run.stdout.lines().any(|l| l.starts_with("FAIL #")),
            "{name}: no FAIL line"
        );
    }
}
