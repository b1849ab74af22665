//! The live path without hardware: the project's own SoapySDR module `ciottest`
//! (tests/soapy-device) replays files as a HackRF would, with overflows, timeouts and a lost
//! device on demand. The module is built here with tests/soapy-device/build.sh (or taken from
//! SOAPY_SDR_PLUGIN_PATH when that is set). When it cannot be built the tests are skipped,
//! except under CI (env `CI` set), where that is a failure.
#![cfg(feature = "soapy")]

use ciot_sweep::iq::IqBlock;
use ciot_sweep::pipeline::Source;
use ciot_sweep::soapy::{DeviceSettings, SoapySource, StreamFormat};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

const CAR_SWEEP: &str = "recordings/car-sweep/car-sweep.sigmf-data";
const CAR_SWEEP_META: &str = "recordings/car-sweep/car-sweep.sigmf-meta";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The folder holding libciottest.so, set in SOAPY_SDR_PLUGIN_PATH for this process (the
/// library tests) and its children; `None` to skip.
fn module_dir() -> Option<&'static Path> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = match std::env::var_os("SOAPY_SDR_PLUGIN_PATH") {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => {
                let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("soapy-modules");
                let r = Command::new("bash")
                    .arg(root().join("tests/soapy-device/build.sh"))
                    .arg(&out)
                    .output();
                match r {
                    Ok(o) if o.status.success() => {}
                    other => {
                        let why = match other {
                            Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
                            Err(e) => e.to_string(),
                        };
                        if std::env::var_os("CI").is_some() {
                            panic!("CI: cannot build the ciottest SoapySDR module: {why}");
                        }
                        eprintln!("skipping: cannot build the ciottest SoapySDR module: {why}");
                        return None;
                    }
                }
                // Set before this process first touches SoapySDR (the loader reads it once).
                std::env::set_var("SOAPY_SDR_PLUGIN_PATH", &out);
                out
            }
        };
        Some(dir)
    })
    .as_deref()
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ciot-sweep"));
    c.current_dir(root());
    if let Some(d) = module_dir() {
        c.env("SOAPY_SDR_PLUGIN_PATH", d);
    }
    c
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn run_ok(c: &mut Command) -> Output {
    let o = c.output().expect("runs");
    assert!(
        o.status.success(),
        "exit {:?}\nstderr:\n{}",
        o.status.code(),
        text(&o.stderr)
    );
    o
}

/// JSON Lines as values, without `time_utc` (a device's start time is the wall clock).
fn records(path: &Path) -> Vec<Value> {
    let s = std::fs::read_to_string(path).expect("json file");
    assert!(
        s.is_empty() || s.ends_with('\n'),
        "last record is a whole line"
    );
    s.lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).expect("every line is JSON");
            if let Some(o) = v.as_object_mut() {
                o.remove("time_utc");
            }
            v
        })
        .collect()
}

/// A ci8 file whose sample i is a pattern of i (I = i mod 251 - 125, Q = (i / 251) mod 241 -
/// 120), so any misplaced sample shows.
fn pattern_file(dir: &Path, n: usize) -> PathBuf {
    let mut b = Vec::with_capacity(2 * n);
    for i in 0..n {
        b.push(((i % 251) as i32 - 125) as i8 as u8);
        b.push((((i / 251) % 241) as i32 - 120) as i8 as u8);
    }
    let p = dir.join("pattern.cs8");
    std::fs::write(&p, b).expect("write");
    p
}

fn pattern_value(i: u64) -> (f32, f32) {
    (
        ((i % 251) as f32 - 125.0) / 128.0,
        (((i / 251) % 241) as f32 - 120.0) / 128.0,
    )
}

/// The summary line `dropped samples: N in G gaps...` as (N, G).
fn dropped(stderr: &str) -> (u64, u64) {
    let l = stderr
        .lines()
        .find(|l| l.trim_start().starts_with("dropped samples:"))
        .unwrap_or_else(|| panic!("no dropped-samples line in\n{stderr}"));
    let w: Vec<&str> = l.split_whitespace().collect();
    (
        w[2].parse().expect("count"),
        w[4].parse().expect("gap count"),
    )
}

#[test]
fn devices_lists_the_test_device_with_its_formats_and_gains() {
    if module_dir().is_none() {
        return;
    }
    let o = run_ok(bin().args(["devices", "--probe"]));
    let out = text(&o.stdout);
    assert!(out.contains("driver=ciottest"), "{out}");
    assert!(out.contains("serial: ciottest-0001"), "{out}");
    assert!(out.contains("native format: CS8 (full scale 128)"), "{out}");
    assert!(out.contains("gain LNA: 0 to 40 dB in steps of 8"), "{out}");
    assert!(out.contains("gain VGA: 0 to 62 dB in steps of 2"), "{out}");
    assert!(out.contains("gain AMP: 0 to 14 dB"), "{out}");
    // A filter that matches nothing is not an error.
    let o = run_ok(bin().args(["devices", "driver=nosuchdriver"]));
    assert!(text(&o.stdout).contains("no SoapySDR device found"));
}

#[test]
fn device_scan_of_the_car_sweep_equals_the_file_scan() {
    if module_dir().is_none() {
        return;
    }
    // The recording is ci8 at 15.36 MS/s centred on 847 MHz (its meta says so).
    let meta: Value =
        serde_json::from_str(&std::fs::read_to_string(root().join(CAR_SWEEP_META)).expect("meta"))
            .expect("json");
    assert_eq!(meta["global"]["core:datatype"], "ci8");
    assert_eq!(meta["global"]["core:sample_rate"], 15.36e6);
    assert_eq!(meta["captures"][0]["core:frequency"], 847e6);

    // The default detectors run at about 0.3 MS/s, far from real time at 15.36 MS/s, so a
    // live source would overflow the 4 Mi-sample ring. 0.25 s (3.84 M samples) fits in the
    // ring: nothing can be dropped however slow the DSP, and both runs see the same samples.
    let dir = tempfile::tempdir().expect("tempdir");
    let file_json = dir.path().join("file.jsonl");
    run_ok(
        bin()
            .args([
                "scan",
                CAR_SWEEP_META,
                "--quiet",
                "--duration",
                "0.25",
                "--json",
            ])
            .arg(&file_json),
    );
    let dev_json = dir.path().join("dev.jsonl");
    let o = run_ok(
        bin()
            .args(["scan", "--device"])
            .arg(format!("driver=ciottest,file={CAR_SWEEP},rate_factor=0"))
            .args(["--frequency", "847e6", "--sample-rate", "15.36e6", "--json"])
            .arg(&dev_json)
            .args(["--duration", "0.25"]),
    );
    let stderr = text(&o.stderr);
    assert_eq!(dropped(&stderr), (0, 0), "{stderr}");
    assert!(stderr.contains("device overflows: 0"), "{stderr}");
    assert!(stderr.contains("gains LNA=16 AMP=0 VGA=20"), "{stderr}");
    let a = records(&file_json);
    let b = records(&dev_json);
    assert!(stderr.contains(": 0.250 s at 15.360 MS/s"), "{stderr}");
    assert!(a.len() >= 4, "the car sweep has bursts: {a:?}");
    assert_eq!(a, b, "the device path gives the file path's detections");
}

#[test]
fn cf32_stream_gives_the_same_detections_as_the_file_and_duration_stops() {
    if module_dir().is_none() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let file_json = dir.path().join("file.jsonl");
    let o = run_ok(
        bin()
            .args([
                "scan",
                CAR_SWEEP_META,
                "--quiet",
                "--duration",
                "0.1",
                "--json",
            ])
            .arg(&file_json),
    );
    assert!(text(&o.stderr).contains(": 0.100 s at 15.360 MS/s"));
    let dev_json = dir.path().join("dev.jsonl");
    let o = run_ok(
        bin()
            .args(["scan", "--device"])
            .arg(format!(
                "driver=ciottest,file={CAR_SWEEP},rate_factor=0,loop=1"
            ))
            .args([
                "--frequency",
                "847e6",
                "--sample-rate",
                "15.36e6",
                "--stream-format",
                "cf32",
                "--duration",
                "0.1",
                "--json",
            ])
            .arg(&dev_json),
    );
    let stderr = text(&o.stderr);
    assert!(stderr.contains("stream CF32"), "{stderr}");
    assert!(stderr.contains(": 0.100 s at 15.360 MS/s"), "{stderr}");
    assert_eq!(dropped(&stderr), (0, 0), "{stderr}");
    let a = records(&file_json);
    assert!(!a.is_empty());
    assert_eq!(a, records(&dev_json));
}

#[test]
fn overflows_are_gaps_of_the_exact_size_at_the_exact_index() {
    if module_dir().is_none() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let f = pattern_file(dir.path(), 1_000_000);
    let o = run_ok(
        bin()
            .args(["scan", "--device"])
            .arg(format!(
                "driver=ciottest,file={},overflow_at=300000:12345;700001:1000",
                f.display()
            ))
            .args(["--frequency", "847e6", "--sample-rate", "2e6"]),
    );
    let stderr = text(&o.stderr);
    assert_eq!(dropped(&stderr), (13_345, 2), "{stderr}");
    assert!(stderr.contains("first at sample 300000"), "{stderr}");
    assert!(
        stderr.contains("gap at sample 300000: 12345 samples (device overflow)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("gap at sample 700001: 1000 samples (device overflow)"),
        "{stderr}"
    );
    assert!(stderr.contains("device overflows: 2"), "{stderr}");
    // The live line, printed when it happened (and again in the summary).
    assert_eq!(
        stderr
            .matches("overflow at sample 300000: 12345 samples lost")
            .count(),
        2,
        "{stderr}"
    );
    // Samples processed: the file less what was skipped.
    assert!(stderr.contains(": 0.493 s at 2.000 MS/s"), "{stderr}");
}

#[test]
fn source_stamps_every_sample_with_its_true_index_across_overflows_in_both_formats() {
    if module_dir().is_none() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let n = 400_000u64;
    let f = pattern_file(dir.path(), n as usize);
    for format in [StreamFormat::Cs8, StreamFormat::Cf32] {
        let mut s = DeviceSettings::new(
            &format!(
                "driver=ciottest,file={},rate_factor=0,overflow_at=100000:777;250000:5",
                f.display()
            ),
            4e6,
            847e6,
        );
        s.stream_format = format;
        let mut src = SoapySource::open(&s).expect("opens");
        let mut b = IqBlock::default();
        let mut expected = 0u64;
        let mut gaps = Vec::new();
        let mut total = 0u64;
        while src.read_block(&mut b).expect("reads") {
            if b.first_sample != expected {
                gaps.push((expected, b.first_sample - expected));
            }
            for (k, v) in b.samples.iter().enumerate() {
                let i = b.first_sample + k as u64;
                let (re, im) = pattern_value(i);
                assert!(
                    v.re == re && v.im == im,
                    "{format:?}: sample {i} is {v}, want {re}+{im}i"
                );
            }
            total += b.len() as u64;
            expected = b.end_sample();
        }
        assert_eq!(gaps, vec![(100_000, 777), (250_000, 5)], "{format:?}");
        assert_eq!(total, n - 782);
        assert_eq!(expected, n, "ends at the end of the file");
        let log: Vec<(u64, Option<u64>)> = src
            .overflow_log()
            .snapshot()
            .iter()
            .map(|o| (o.at_sample, o.lost_samples))
            .collect();
        assert_eq!(log, vec![(100_000, Some(777)), (250_000, Some(5))]);
    }
}

#[test]
fn settings_are_applied_validated_and_reported_and_retune_keeps_streaming() {
    if module_dir().is_none() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let f = pattern_file(dir.path(), 200_000);
    let args = format!(
        "driver=ciottest,file={},rate_factor=0,serial=car-7",
        f.display()
    );
    let mut s = DeviceSettings::new(&args, 1.92e6, 832.5e6);
    s.gains = vec![
        ("lna".into(), 24.0),
        ("VGA".into(), 30.0),
        ("AMP".into(), 14.0),
    ];
    s.bandwidth_hz = Some(1.9e6);
    s.antenna = Some("TX/RX".into());
    let mut src = SoapySource::open(&s).expect("opens");
    let info = src.capture_info().clone();
    assert_eq!(info.driver, "ciottest");
    assert_eq!(info.serial.as_deref(), Some("car-7"));
    assert_eq!(info.sample_rate_hz, 1.92e6);
    assert_eq!(info.center_hz, 832.5e6);
    // The MAX2837 filter at or below 1.9 MHz is 1.75 MHz.
    assert_eq!(info.bandwidth_hz, Some(1.75e6));
    assert_eq!(info.antenna.as_deref(), Some("TX/RX"));
    let mut gains = info.gains_db.clone();
    gains.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        gains,
        vec![
            ("AMP".to_string(), 14.0),
            ("LNA".to_string(), 24.0),
            ("VGA".to_string(), 30.0)
        ]
    );
    assert_eq!(info.gain_db, 68.0);
    assert_eq!(info.stream_format, "CS8");
    assert!(info.hw_description().contains("LNA=24 dB"));

    let mut b = IqBlock::default();
    assert!(src.read_block(&mut b).expect("reads"));
    let at = src.retune(840e6).expect("retunes");
    assert_eq!(at, b.end_sample());
    assert_eq!(src.capture_info().center_hz, 840e6);
    assert_eq!(src.retunes(), &[(at, 840e6)]);
    assert!(src.read_block(&mut b).expect("reads after the retune"));
    assert_eq!(b.first_sample, at);
    assert_eq!(b.samples[0].re, pattern_value(at).0);

    // Validation names the device and what is allowed.
    let bad = |edit: &dyn Fn(&mut DeviceSettings)| {
        let mut s = DeviceSettings::new(&args, 1.92e6, 832.5e6);
        edit(&mut s);
        let e = SoapySource::open(&s).expect_err("rejected");
        format!("{:#}", anyhow::Error::from(e))
    };
    let m = bad(&|s| s.gains = vec![("LNA".into(), 20.0)]);
    assert!(
        m.contains("ciottest car-7") && m.contains("LNA=20") && m.contains("steps of 8"),
        "{m}"
    );
    let m = bad(&|s| s.gains = vec![("MIX".into(), 3.0)]);
    assert!(m.contains("\"MIX\"") && m.contains("LNA, AMP, VGA"), "{m}");
    let m = bad(&|s| s.antenna = Some("RX2".into()));
    assert!(m.contains("RX2") && m.contains("TX/RX"), "{m}");
    let m = bad(&|s| s.sample_rate_hz = 30e6);
    assert!(
        m.contains("sample rate") && m.contains("1000000 to 20000000 Hz"),
        "{m}"
    );
    let m = bad(&|s| s.gain_db = Some(200.0));
    assert!(m.contains("overall gain 200"), "{m}");
    let e = SoapySource::open(&DeviceSettings::new("driver=nosuchdriver", 2e6, 847e6))
        .expect_err("no such device");
    assert!(e.to_string().contains("driver=nosuchdriver"), "{e}");
}

#[test]
fn timeouts_are_retried_then_a_clear_error() {
    if module_dir().is_none() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let f = pattern_file(dir.path(), 300_000);
    // A few timeouts in a row: retried, nothing lost.
    let o = run_ok(
        bin()
            .args(["scan", "--device"])
            .arg(format!(
                "driver=ciottest,file={},timeout_at=100000:3",
                f.display()
            ))
            .args(["--frequency", "847e6", "--sample-rate", "2e6"]),
    );
    let stderr = text(&o.stderr);
    assert_eq!(dropped(&stderr), (0, 0), "{stderr}");
    assert!(stderr.contains(": 0.150 s at 2.000 MS/s"), "{stderr}");
    // A device that stops answering: an error naming it, exit 1.
    let o = bin()
        .args(["scan", "--device"])
        .arg(format!(
            "driver=ciottest,file={},timeout_at=100000:1000",
            f.display()
        ))
        .args(["--frequency", "847e6", "--sample-rate", "2e6"])
        .output()
        .expect("runs");
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("ciottest ciottest-0001")
            && stderr.contains("timeout")
            && stderr.contains("after sample 100000"),
        "{stderr}"
    );
}

#[test]
fn a_lost_device_ends_the_scan_with_exit_1_and_complete_json() {
    if module_dir().is_none() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("lost.jsonl");
    // After the first NPRACH burst (samples 307200..651264), within the ring's capacity.
    let lost_at = 1_000_000u64;
    let o = bin()
        .args(["scan", "--device"])
        .arg(format!(
            "driver=ciottest,file={CAR_SWEEP},rate_factor=0,serial=hackrf-in-car,lost_at={lost_at}"
        ))
        .args(["--frequency", "847e6", "--sample-rate", "15.36e6", "--json"])
        .arg(&json)
        .output()
        .expect("runs");
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("ciottest hackrf-in-car")
            && stderr.contains("device lost after sample 1000000"),
        "{stderr}"
    );
    let recs = records(&json);
    assert!(!recs.is_empty(), "bursts before the loss were written");
    for r in &recs {
        let end =
            r["sample_start"].as_u64().expect("start") + r["sample_len"].as_u64().expect("len");
        assert!(end <= lost_at, "{r}");
        assert!(r["kind"].is_string() && r["freq_hz"].is_number(), "{r}");
    }
}

#[test]
fn scan_device_usage_errors_exit_2() {
    if module_dir().is_none() {
        return;
    }
    let o = bin()
        .args(["scan", "--device", "driver=ciottest"])
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("--frequency"));
    let o = bin()
        .args(["scan", "--device", "driver=ciottest", "--frequency", "847M"])
        .args(["--gain", "LNA=7"])
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("LNA 0 to 40 dB in steps of 8"));
}

/// `sweep` through the device: each tuning is a capture segment of the recording with its
/// frequency, the settling samples after each retune are annotated and never detected, and
/// every record's absolute frequency is its dwell's centre plus its offset.
#[test]
fn sweep_retunes_records_segments_and_never_detects_settling_samples() {
    if module_dir().is_none() {
        return;
    }
    let d = tempfile::tempdir().expect("tempdir");
    let dev = format!(
        "driver=ciottest,file={},file_format=ci8,loop=1",
        root().join(CAR_SWEEP).display()
    );
    let o = run_ok(
        bin()
            .args(["sweep", "--device", &dev])
            .args([
                "--frequency",
                "847M",
                "--frequency",
                "850M",
                "--sample-rate",
                "1.92M",
            ])
            .args(["--dwell", "0.4", "--settle-ms", "50", "--cycles", "1"])
            .args(["--detectors", "energy", "--record"])
            .arg(d.path().join("sw"))
            .arg("--json")
            .arg(d.path().join("sw.jsonl")),
    );
    let stderr = text(&o.stderr);
    assert!(stderr.contains("sweep: 2 dwells"), "{stderr}");
    let settle = 96_000u64; // 50 ms at 1.92 MS/s
    let meta: Value = serde_json::from_str(
        &std::fs::read_to_string(d.path().join("sw.sigmf-meta")).expect("meta"),
    )
    .expect("json");
    let caps = meta["captures"].as_array().expect("captures");
    let freqs: Vec<f64> = caps
        .iter()
        .map(|c| c["core:frequency"].as_f64().unwrap_or(0.0))
        .collect();
    assert_eq!(freqs.last(), Some(&850e6), "{caps:?}");
    assert!(freqs.contains(&847e6), "{caps:?}");
    let retune_at: Vec<u64> = caps
        .iter()
        .filter(|c| c["core:frequency"] == 850e6)
        .map(|c| c["core:global_index"].as_u64().expect("global index"))
        .collect();
    assert_eq!(retune_at.len(), 1, "{caps:?}");
    let settles: Vec<&Value> = meta["annotations"]
        .as_array()
        .expect("annotations")
        .iter()
        .filter(|a| a["core:label"] == "settling")
        .collect();
    assert_eq!(settles.len(), 2, "a settling annotation per tuning");
    assert!(settles.iter().all(|a| a["core:sample_count"] == settle));
    let recs = records(&d.path().join("sw.jsonl"));
    assert!(
        !recs.is_empty(),
        "the car sweep's bursts are found: {stderr}"
    );
    for r in &recs {
        let s = r["sample_start"].as_u64().expect("start");
        let center = if s >= retune_at[0] { 850e6 } else { 847e6 };
        let first_signal = if s >= retune_at[0] {
            retune_at[0] + settle
        } else {
            settle
        };
        assert!(s >= first_signal, "a detection from settling samples: {r}");
        let f = r["freq_hz"].as_f64().expect("freq") - r["freq_offset_hz"].as_f64().expect("off");
        assert!((f - center).abs() < 1.0, "{r}");
    }
    assert!(d.path().join("SHA256SUMS").is_file());
}

/// A device lost mid-recording: SigMF and (with `hdf5`) HDF5 recordings are closed properly,
/// hold exactly every sample delivered before the loss, bit for bit, and validate.
#[test]
fn a_lost_device_leaves_complete_valid_recordings() {
    if module_dir().is_none() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let lost_at = 700_000usize;
    let orig = std::fs::read(root().join(CAR_SWEEP)).expect("car sweep");
    let mut targets = vec![dir.path().join("lost")];
    if cfg!(feature = "hdf5") {
        targets.push(dir.path().join("lost.h5"));
    }
    for rec in &targets {
        let o = bin()
            .args(["scan", "--device"])
            .arg(format!(
                "driver=ciottest,file={CAR_SWEEP},rate_factor=0,serial=lost-test,lost_at={lost_at}"
            ))
            .args([
                "--frequency",
                "847e6",
                "--sample-rate",
                "15.36e6",
                "--quiet",
            ])
            .args(["--detectors", "energy", "--record"])
            .arg(rec)
            .output()
            .expect("runs");
        let stderr = text(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("lost-test"), "{stderr}");
    }
    // SigMF: every delivered sample, equal to the source, with core:sha512 (closed).
    let data = std::fs::read(dir.path().join("lost.sigmf-data")).expect("data");
    assert_eq!(
        data.len(),
        2 * lost_at,
        "every sample delivered before the loss"
    );
    assert!(data[..] == orig[..2 * lost_at]);
    let meta: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("lost.sigmf-meta")).expect("meta"),
    )
    .expect("json");
    assert_eq!(meta["global"]["core:datatype"], "ci8");
    assert!(meta["global"]["core:sha512"].is_string(), "closed properly");
    assert!(meta["global"]["core:hw"]
        .as_str()
        .is_some_and(|h| h.contains("lost-test") && h.contains("LNA")));
    let have_sigmf = Command::new("python3")
        .args(["-c", "import sigmf"])
        .output()
        .is_ok_and(|o| o.status.success());
    if have_sigmf {
        let o = Command::new("python3")
            .arg("-c")
            .arg("import sys; from sigmf import sigmffile; sigmffile.fromfile(sys.argv[1]).validate()")
            .arg(dir.path().join("lost.sigmf-meta"))
            .output()
            .expect("python3");
        assert!(o.status.success(), "{}", text(&o.stderr));
    } else {
        assert!(std::env::var_os("CI").is_none(), "CI needs python sigmf");
    }
    if cfg!(feature = "hdf5") {
        let o = Command::new("python3")
            .arg("-c")
            .arg(
                "import sys, h5py; f = h5py.File(sys.argv[1], 'r'); \
                 print(f['iq'].shape[0], int(f.attrs['complete']), f['iq'].dtype)",
            )
            .arg(dir.path().join("lost.h5"))
            .output()
            .expect("python3");
        if o.status.success() {
            assert_eq!(text(&o.stdout).trim(), format!("{lost_at} 1 int8"));
        } else {
            assert!(std::env::var_os("CI").is_none(), "{}", text(&o.stderr));
        }
    }
}

/// `scan --device --band`: a band that fits one capture is tuned at its centre; a wider one
/// is swept over its tunings; on a file `--band` is a usage error.
#[test]
fn scan_band_tunes_or_sweeps_the_band() {
    if module_dir().is_none() {
        return;
    }
    let dev = format!("driver=ciottest,file={CAR_SWEEP},loop=1,rate_factor=0");
    // B13 uplink 777-787 MHz fits one 15.36 MS/s capture: centre 782 MHz.
    let o = run_ok(
        bin()
            .args([
                "scan",
                "--device",
                &dev,
                "--band",
                "B13",
                "--duration",
                "0.05",
            ])
            .args(["--detectors", "energy"]),
    );
    let e = text(&o.stderr);
    assert!(e.contains("at 782.000000 MHz"), "{e}");
    // B20 (30 MHz) needs three tunings: swept.
    let o = run_ok(
        bin()
            .args([
                "scan",
                "--device",
                &dev,
                "--band",
                "20",
                "--sample-rate",
                "1.92M",
            ])
            .args(["--duration", "0.1", "--detectors", "energy"]),
    );
    let e = text(&o.stderr);
    assert!(e.contains("sweeping them") && e.contains("sweep: "), "{e}");
    let o = bin()
        .args(["scan", CAR_SWEEP_META, "--band", "B20"])
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
}
