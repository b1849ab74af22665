//! The command line as a user meets it: exit codes, `--json -` purity, eval outputs.

use std::path::Path;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ciot-sweep"))
}

/// `scan [EXTRA] META --json JSON`, which must succeed; returns its output and the JSON Lines.
fn scan_json(meta: &Path, extra: &[&str], json: &Path) -> (std::process::Output, String) {
    let o = bin()
        .arg("scan")
        .args(extra)
        .arg(meta)
        .arg("--json")
        .arg(json)
        .output()
        .expect("runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(json).expect("json written");
    (o, text)
}

const SCENARIO: &str = r#"
[capture]
sample_rate = 1.92e6
center_freq = 847e6
duration_s = 0.1
format = "ci8"
noise_dbfs = -35.0
seed = 77
[[emitter]]
kind = "noise"
start_s = 0.04
snr_db = 10.0
[emitter.config]
bandwidth_hz = 600e3
duration_s = 0.004
"#;

#[test]
fn synth_then_scan_with_json_on_stdout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sc = dir.path().join("s.toml");
    std::fs::write(&sc, SCENARIO).expect("write");
    let base = dir.path().join("rec");
    let o = bin()
        .args(["synth", sc.to_str().unwrap_or_default(), "--output"])
        .arg(&base)
        .output()
        .expect("runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let meta = dir.path().join("rec.sigmf-meta");
    assert!(meta.is_file());
    let o = bin()
        .arg("scan")
        .arg(&meta)
        .args(["--json", "-", "--stats"])
        .output()
        .expect("runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8(o.stdout).expect("utf-8");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(!lines.is_empty(), "the noise burst is detected");
    for l in &lines {
        let v: serde_json::Value = serde_json::from_str(l).expect("stdout is only JSON Lines");
        assert!(v["freq_hz"].is_number());
    }
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("detections") && stderr.contains("energy:"),
        "{stderr}"
    );
}

#[test]
fn exit_codes_and_messages_name_the_file() {
    let o = bin().args(["scan"]).output().expect("runs");
    assert_eq!(o.status.code(), Some(2), "usage error");
    let o = bin()
        .args(["scan", "/nonexistent/capture.sigmf-meta"])
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/capture.sigmf-meta"));
    let o = bin()
        .args(["scan", "/nonexistent/raw.bin", "--sample-rate", "1M"])
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("sample format"));
}

#[test]
fn eval_writes_table_json_and_plot() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("ev");
    let o = bin()
        .args([
            "eval",
            "--trials",
            "1",
            "--snr-min",
            "-4",
            "--snr-max",
            "6",
            "--snr-step",
            "10",
            "--noise-seconds",
            "2",
            "--case",
            "prach_f0",
            "--detectors",
            "energy,nprach,prach",
            "--out",
        ])
        .arg(&out)
        .output()
        .expect("runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let md = std::fs::read_to_string(out.join("eval.md")).expect("table");
    assert!(md.contains("| prach_f0 | 6.0 | 1 |"), "{md}");
    assert!(md.contains("| prach_f0 | -4.0 | 1 |"), "{md}");
    assert!(md.contains("noise only"));
    let png = std::fs::read(out.join("pd_vs_snr.png")).expect("plot");
    assert_eq!(&png[..4], b"\x89PNG");
    assert!(Path::new(&out.join("eval.json")).is_file());
    // --replot redraws the curves from eval.json alone, and names a bad file.
    std::fs::remove_file(out.join("pd_vs_snr.png")).expect("rm");
    let o = bin()
        .args(["eval", "--replot", "--out"])
        .arg(&out)
        .output()
        .expect("runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        &std::fs::read(out.join("pd_vs_snr.png")).expect("replotted")[..4],
        b"\x89PNG"
    );
    std::fs::write(out.join("eval.json"), "[{\"case\": 1}]").expect("write");
    let o = bin()
        .args(["eval", "--replot", "--out"])
        .arg(&out)
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("eval.json"));
}

/// The README's first command, `scan recordings/car-sweep/car-sweep.sigmf-meta`, as a user
/// runs it: it succeeds, prints its summary, and finds the car sweep's random-access bursts
/// (the golden test checks every record in detail).
#[test]
fn readme_quick_start_scans_the_bundled_car_sweep() {
    let meta =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("recordings/car-sweep/car-sweep.sigmf-meta");
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("car.jsonl");
    let (o, text) = scan_json(&meta, &[], &json);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("detections") && stderr.contains("dropped samples: 0"),
        "{stderr}"
    );
    let kinds: Vec<String> = text
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("JSON Lines");
            v["kind"].as_str().unwrap_or_default().to_string()
        })
        .collect();
    for k in ["nprach", "prach"] {
        assert!(kinds.iter().any(|x| x == k), "no {k} in {kinds:?}");
    }
}

#[test]
fn detections_do_not_depend_on_the_number_of_threads() {
    // The bundled 20 MS/s capture runs two stages (input rate and the resampled LTE rate),
    // each with several detectors, and the PRACH window searches are split over the pool.
    let meta = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("recordings/hackrf-20msps/hackrf-20msps.sigmf-meta");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut outputs = Vec::new();
    for threads in ["1", "2", "3"] {
        let json = dir.path().join(format!("t{threads}.jsonl"));
        outputs.push(scan_json(&meta, &["--threads", threads], &json).1);
    }
    assert!(outputs[0].lines().count() >= 2, "{}", outputs[0]);
    assert_eq!(outputs[0], outputs[1], "1 vs 2 threads");
    assert_eq!(outputs[0], outputs[2], "1 vs 3 threads");
    let o = bin()
        .args(["scan", "--threads", "0"])
        .arg(&meta)
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(2), "clap refuses 0 threads");
}
