//! HDF5 recordings end to end (feature `hdf5`): `scan --record X.h5` checked by h5py and
//! h5dump (independent readers), replayed by `scan X.h5`; gaps replayed with their stream
//! indices; a killed recording; files that are not ours.
#![cfg(feature = "hdf5")]

use ciot_sweep::evidence::hdf5_sink::Hdf5Sink;
use ciot_sweep::evidence::{CaptureInfo, CaptureSink};
use ciot_sweep::iq::{IqBlock, IqInput, SampleFormat};
use ciot_sweep::record::DetectionRecord;
use num_complex::Complex32;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ciot-sweep"))
}

/// The tests of this file run one at a time: HDF5 opens files without close-on-exec, so
/// a `ciot-sweep` child spawned by one test would inherit (and keep, while it runs) the
/// lock of a file another test is writing in this process, and that test could not reopen
/// it. The program itself spawns nothing.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// h5py (with numpy) and h5dump: required under CI, else the checks that need them are
/// skipped with a notice.
fn have_reference_tools() -> bool {
    let h5py = Command::new("python3")
        .args(["-c", "import h5py, numpy"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    let h5dump = Command::new("h5dump")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if h5py && h5dump {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "python3 with h5py and h5dump (hdf5-tools) are required when CI is set"
    );
    eprintln!("NOTICE: h5py or h5dump missing; reference HDF5 checks skipped");
    false
}

/// Runs a Python script (h5py, numpy; no project code) and parses what it prints as JSON.
fn python_json(script: &str, args: &[&Path]) -> Value {
    let o = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python3");
    assert!(
        o.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("python output is JSON")
}

fn h5dump_header(path: &Path) {
    let o = Command::new("h5dump")
        .arg("-H")
        .arg(path)
        .output()
        .expect("h5dump");
    assert!(
        o.status.success(),
        "h5dump -H {}: {}",
        path.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    let text = String::from_utf8_lossy(&o.stdout);
    for name in [
        "\"iq\"",
        "\"captures\"",
        "\"gaps\"",
        "\"detections\"",
        "\"annotations\"",
    ] {
        assert!(text.contains(name), "h5dump shows no {name}:\n{text}");
    }
}

/// Reads a recording with h5py: /iq against a raw file of `raw_dtype`, the root
/// attributes, and every table, as JSON (NaN becomes null; strings are decoded).
const READ_H5: &str = r#"
import json, math, sys
import h5py, numpy as np
def clean(v):
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v
f = h5py.File(sys.argv[1], "r")
out = {"attrs": {k: clean(v) for k, v in f.attrs.items()}}
iq = f["iq"]
out["iq"] = {"shape": list(iq.shape), "dtype": str(iq.dtype), "chunks": list(iq.chunks),
             "maxshape": [m if m is not None else -1 for m in iq.maxshape]}
if len(sys.argv) > 2:
    raw = np.fromfile(sys.argv[2], dtype=sys.argv[3]).reshape(-1, 2)
    data = iq[:]
    out["iq"]["equal_to_raw"] = bool(data.shape == raw.shape and (data == raw).all())
for t in ("captures", "gaps", "detections", "annotations"):
    d = f[t]
    out[t] = [{n: clean(row[n]) for n in d.dtype.names} for row in d[:]]
print(json.dumps(out))
"#;

fn records(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .expect("JSON Lines")
        .lines()
        .map(|l| serde_json::from_str(l).expect("record"))
        .collect()
}

#[test]
fn record_h5_holds_the_native_codes_attributes_and_detections_and_replays() {
    let _serial = serial();
    let src = repo("recordings/nbiot-1.92msps/nbiot-nprach.sigmf-meta");
    let d = tempfile::tempdir().expect("tempdir");
    let out = d.path().join("out.h5");
    let o = bin()
        .arg("scan")
        .arg(&src)
        .arg("--record")
        .arg(&out)
        .arg("--json")
        .arg(d.path().join("d.jsonl"))
        .arg("--quiet")
        .output()
        .expect("runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let recs = records(&d.path().join("d.jsonl"));
    assert!(!recs.is_empty(), "the bundled recording has detections");
    // The manifest covers the recording.
    let sums = std::fs::read_to_string(d.path().join("SHA256SUMS")).expect("manifest");
    assert!(sums.lines().any(|l| l.ends_with("  out.h5")), "{sums}");

    // Replaying the HDF5 file gives the same records as the original.
    let o = bin()
        .arg("scan")
        .arg(&out)
        .arg("--json")
        .arg(d.path().join("replay.jsonl"))
        .arg("--quiet")
        .output()
        .expect("runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(records(&d.path().join("replay.jsonl")), recs);

    if !have_reference_tools() {
        return;
    }
    h5dump_header(&out);
    let data = repo("recordings/nbiot-1.92msps/nbiot-nprach.sigmf-data");
    let h = python_json(READ_H5, &[&out, &data, Path::new("<i2")]);
    assert_eq!(h["iq"]["dtype"], "int16", "ci16 is stored as int16");
    assert_eq!(h["iq"]["shape"], serde_json::json!([480_000, 2]));
    assert_eq!(h["iq"]["maxshape"], serde_json::json!([-1, 2]), "resizable");
    assert_eq!(h["iq"]["chunks"], serde_json::json!([65_536, 2]));
    assert_eq!(h["iq"]["equal_to_raw"], true, "the codes of the original");
    // Attributes: the original's metadata says 1.92 MS/s at 851.5 MHz, no start time.
    let a = &h["attrs"];
    assert_eq!(a["sample_rate_hz"], 1.92e6);
    assert_eq!(a["center_frequency_hz"], 851.5e6);
    assert_eq!(a["datatype"], "ci16_le");
    assert_eq!(a["scale"], 1.0 / 32768.0);
    assert_eq!(a["offset"], 0.0);
    assert_eq!(
        a["software"],
        format!("ciot-sweep {}", env!("CARGO_PKG_VERSION"))
    );
    assert!(a["command_line"]
        .as_str()
        .is_some_and(|c| c.contains("--record")));
    assert!(a["device"]
        .as_str()
        .is_some_and(|c| c.contains("nbiot-nprach.sigmf-data")));
    assert_eq!(a["gains_db"], "");
    assert!(
        a.get("utc_start").is_none(),
        "no start time in the original"
    );
    assert_eq!(a["complete"], 1);
    assert_eq!(a["samples"], 480_000);
    assert_eq!(a["lost_samples"], 0);
    assert_eq!(h["captures"].as_array().map(Vec::len), Some(1));
    assert_eq!(h["captures"][0]["global_index"], 0);
    assert_eq!(h["gaps"].as_array().map(Vec::len), Some(0));
    // One detection row per record, with the record's values.
    let rows = h["detections"].as_array().expect("detections");
    assert_eq!(rows.len(), recs.len());
    for (row, r) in rows.iter().zip(&recs) {
        for k in [
            "kind",
            "tech",
            "sample_start",
            "sample_len",
            "t_start_s",
            "duration_s",
            "freq_offset_hz",
            "freq_hz",
            "bandwidth_hz",
            "power_dbfs",
            "snr_db",
            "score",
        ] {
            assert_eq!(row[k], r[k], "{k} of {r}");
        }
        assert_eq!(row["file_sample_start"], r["sample_start"], "no gaps");
        assert_eq!(
            row["time_utc"],
            r.get("time_utc").cloned().unwrap_or("".into())
        );
        assert_eq!(
            row["emitter"],
            r.get("emitter").cloned().unwrap_or((-1).into())
        );
        let params: Value = serde_json::from_str(row["params_json"].as_str().expect("params_json"))
            .expect("params JSON");
        assert_eq!(
            params,
            r.get("params")
                .cloned()
                .unwrap_or(Value::Object(Default::default()))
        );
    }
}

fn gap_info() -> CaptureInfo {
    CaptureInfo {
        sample_rate_hz: 1e6,
        center_hz: Some(832e6),
        start_time: chrono::DateTime::parse_from_rfc3339("2026-11-27T10:00:00Z")
            .ok()
            .map(|t| t.with_timezone(&chrono::Utc)),
        device: "driver=test".into(),
        gains_db: vec![("LNA".into(), 16.0), ("VGA".into(), 20.0)],
        format: SampleFormat::Ci8,
        command_line: "test".into(),
    }
}

/// Stream sample `i` as a ci8 code pair: I = i mod 100 - 50, Q = -(I).
fn sample_of(i: u64) -> Complex32 {
    let c = (i % 100) as f32 - 50.0;
    Complex32::new(c / 128.0, -c / 128.0)
}

fn stream(a: u64, b: u64) -> Vec<Complex32> {
    (a..b).map(sample_of).collect()
}

#[test]
fn a_gap_replays_with_its_stream_indices() {
    let _serial = serial();
    let d = tempfile::tempdir().expect("tempdir");
    let path = d.path().join("g.h5");
    let mut s: Box<dyn CaptureSink> =
        Box::new(Hdf5Sink::create(&path, &gap_info()).expect("create"));
    s.write(0, &stream(0, 100)).expect("write");
    s.write(100, &stream(100, 150)).expect("write");
    s.write(300, &stream(300, 400)).expect("write"); // 150 samples lost at 150
    s.retune(400, 842e6, 10);
    s.write(400, &stream(400, 420)).expect("write");
    let r = DetectionRecord {
        kind: ciot_dsp::synth::Kind::Prach,
        tech: ciot_dsp::synth::Tech::LteM,
        sample_start: 310,
        sample_len: 20,
        t_start_s: 310e-6,
        duration_s: 20e-6,
        freq_offset_hz: 0.0,
        freq_hz: None,
        bandwidth_hz: 1.08e6,
        power_dbfs: -30.0,
        snr_db: 10.0,
        score: 1.0,
        time_utc: None,
        emitter: Some(3),
        emitter_known: None,
        earfcn: Vec::new(),
        params: Default::default(),
    };
    s.annotate(&r).expect("annotate");
    assert_eq!(s.finish().expect("finish"), vec![path.clone()]);

    // Replay through the library: blocks never span the gap; indices jump 150 -> 300.
    let input = IqInput::open(&path, None, None, None).expect("open");
    assert_eq!(input.format, SampleFormat::Ci8);
    assert_eq!(input.sample_rate_hz, 1e6);
    assert_eq!(input.frequency_hz, Some(832e6));
    assert_eq!(
        input.start_time.map(|t| t.to_rfc3339()),
        Some("2026-11-27T10:00:00+00:00".into())
    );
    let mut reader = input.reader(64).expect("reader");
    let mut block = IqBlock::default();
    let mut spans = Vec::new();
    while reader.read_block(&mut block).expect("read") {
        for (k, v) in block.samples.iter().enumerate() {
            assert_eq!(
                *v,
                sample_of(block.first_sample + k as u64),
                "sample {k} of {spans:?}"
            );
        }
        spans.push((block.first_sample, block.end_sample()));
    }
    assert_eq!(
        spans,
        vec![
            (0, 64),
            (64, 128),
            (128, 150),
            (300, 364),
            (364, 400),
            (400, 420)
        ]
    );

    // The command line sees the gap as the source's: 150 samples missing at 150.
    let o = bin()
        .arg("scan")
        .arg(&path)
        .args(["--quiet", "--detectors", "energy"])
        .output()
        .expect("scan");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stderr.contains("dropped samples: 150 in 1 gaps (first at sample 150)"),
        "{stderr}"
    );

    if !have_reference_tools() {
        return;
    }
    h5dump_header(&path);
    let h = python_json(READ_H5, &[&path]);
    assert_eq!(h["iq"]["dtype"], "int8");
    assert_eq!(h["iq"]["shape"], serde_json::json!([270, 2]));
    let caps: Vec<(u64, u64, f64, u64)> = h["captures"]
        .as_array()
        .expect("captures")
        .iter()
        .map(|c| {
            (
                c["file_index"].as_u64().unwrap_or(u64::MAX),
                c["global_index"].as_u64().unwrap_or(u64::MAX),
                c["frequency_hz"].as_f64().unwrap_or(0.0),
                c["gap_samples"].as_u64().unwrap_or(u64::MAX),
            )
        })
        .collect();
    assert_eq!(
        caps,
        vec![
            (0, 0, 832e6, 0),
            (150, 300, 832e6, 150),
            (250, 400, 842e6, 0)
        ]
    );
    assert_eq!(
        h["gaps"],
        serde_json::json!([{"first_sample": 150, "count": 150, "file_index": 150}])
    );
    assert_eq!(
        h["annotations"],
        serde_json::json!([{"file_index": 250, "count": 10, "label": "settling"}])
    );
    let det = &h["detections"][0];
    assert_eq!(det["kind"], "prach");
    assert_eq!(det["tech"], "lte-m");
    assert_eq!(det["sample_start"], 310);
    assert_eq!(det["file_sample_start"], 160);
    assert_eq!(det["freq_hz"], Value::Null, "NaN: no absolute frequency");
    assert_eq!(det["emitter"], 3);
    let a = &h["attrs"];
    assert_eq!(a["gains_db"], "LNA=16,VGA=20");
    assert_eq!(a["gain_LNA_db"], 16.0);
    assert_eq!(a["gain_VGA_db"], 20.0);
    assert_eq!(a["utc_start"], "2026-11-27T10:00:00Z");
    assert_eq!(a["scale"], 1.0 / 128.0);
    assert_eq!(a["lost_samples"], 150);
    assert_eq!(a["samples"], 270);
    assert_eq!(a["device"], "driver=test");
}

#[test]
fn every_format_is_stored_in_its_native_type() {
    let _serial = serial();
    let d = tempfile::tempdir().expect("tempdir");
    // Codes chosen by hand: (code - offset) * scale is the sample.
    let cases = [
        (
            SampleFormat::Ci8,
            "int8",
            vec![[-128.0, 127.0], [0.0, -1.0]],
        ),
        (
            SampleFormat::Cu8,
            "uint8",
            vec![[0.0, 255.0], [128.0, 127.0]],
        ),
        (
            SampleFormat::Ci16Le,
            "int16",
            vec![[-32768.0, 32767.0], [1.0, -2.0]],
        ),
        (
            SampleFormat::Cf32Le,
            "float32",
            vec![[0.5, -0.25], [1e-3, 2.0]],
        ),
    ];
    let mut paths = Vec::new();
    for (format, _, codes) in &cases {
        let (offset, scale) = match format {
            SampleFormat::Ci8 => (0.0, 1.0 / 128.0),
            SampleFormat::Cu8 => (127.5, 1.0 / 128.0),
            SampleFormat::Ci16Le => (0.0, 1.0 / 32768.0),
            SampleFormat::Cf32Le => (0.0, 1.0),
        };
        let samples: Vec<Complex32> = codes
            .iter()
            .map(|[i, q]| Complex32::new((i - offset) * scale, (q - offset) * scale))
            .collect();
        let path = d.path().join(format!("{}.h5", format.cli_name()));
        let info = CaptureInfo {
            format: *format,
            center_hz: None,
            start_time: None,
            gains_db: Vec::new(),
            ..gap_info()
        };
        let mut s = Box::new(Hdf5Sink::create(&path, &info).expect("create"));
        s.write(0, &samples).expect("write");
        s.finish().expect("finish");
        // Our own reader gives the samples back exactly.
        let input = IqInput::open(&path, None, None, None).expect("open");
        assert_eq!(input.format, *format);
        assert_eq!(input.frequency_hz, None, "NaN centre is unknown");
        let got: Vec<Complex32> = input
            .reader(16)
            .expect("reader")
            .flat_map(|b| b.expect("block").samples)
            .collect();
        assert_eq!(got, samples, "{format}");
        paths.push(path);
    }
    if !have_reference_tools() {
        return;
    }
    for ((format, dtype, codes), path) in cases.iter().zip(&paths) {
        let h = python_json(
            r#"
import json, sys, h5py
f = h5py.File(sys.argv[1], "r")
print(json.dumps({"dtype": str(f["iq"].dtype), "codes": f["iq"][:].tolist(),
                  "centre_is_nan": bool(f.attrs["center_frequency_hz"] != f.attrs["center_frequency_hz"])}))
"#,
            &[path],
        );
        assert_eq!(h["dtype"], *dtype, "{format}");
        let got: Vec<[f32; 2]> = serde_json::from_value(h["codes"].clone()).expect("codes");
        assert_eq!(&got, codes, "{format}");
        assert_eq!(h["centre_is_nan"], true);
    }
}

const NOISE: &str = r#"
[capture]
sample_rate = 1.92e6
center_freq = 832e6
duration_s = 6.0
format = "ci8"
noise_dbfs = -30.0
seed = 5
"#;

#[test]
fn a_killed_h5_recording_keeps_what_was_flushed_and_opens() {
    let _serial = serial();
    let d = tempfile::tempdir().expect("tempdir");
    std::fs::write(d.path().join("n.toml"), NOISE).expect("scenario");
    let o = bin()
        .arg("synth")
        .arg(d.path().join("n.toml"))
        .arg("--output")
        .arg(d.path().join("noise"))
        .output()
        .expect("synth");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let live = d.path().join("live.h5");
    let mut child = bin()
        .arg("scan")
        .arg(d.path().join("noise.sigmf-meta"))
        .args(["--realtime", "--quiet", "--detectors", "energy", "--record"])
        .arg(&live)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("scan");
    std::thread::sleep(std::time::Duration::from_millis(3500));
    child.kill().expect("kill"); // SIGKILL: no clean-up runs
    let _ = child.wait();
    // The cut recording replays with our reader...
    let o = bin().arg("info").arg(&live).output().expect("info");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.contains("complete:    no"), "{stdout}");
    if !have_reference_tools() {
        return;
    }
    // ...and opens in h5py with at least a second of the original codes.
    let h = python_json(
        r#"
import json, sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
iq = f["iq"][:]
raw = np.fromfile(sys.argv[2], dtype=np.int8).reshape(-1, 2)
print(json.dumps({"rows": iq.shape[0], "complete": int(f.attrs["complete"]),
                  "equal": bool((raw[:iq.shape[0]] == iq).all())}))
"#,
        &[&live, &d.path().join("noise.sigmf-data")],
    );
    let rows = h["rows"].as_u64().expect("rows");
    assert!(
        rows >= 1_920_000,
        "at least a second of samples survives a kill after 3.5 s ({rows})"
    );
    assert_eq!(h["complete"], 0, "an unfinished recording says so");
    assert_eq!(h["equal"], true);
}

#[test]
fn files_that_are_not_our_layout_are_refused_naming_the_file_and_the_problem() {
    let _serial = serial();
    let d = tempfile::tempdir().expect("tempdir");
    let scan_err = |p: &Path| {
        let o = bin()
            .arg("scan")
            .arg(p)
            .arg("--quiet")
            .output()
            .expect("scan");
        assert_eq!(o.status.code(), Some(1), "{}", p.display());
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    // Not HDF5 at all.
    let junk = d.path().join("junk.h5");
    std::fs::write(&junk, b"this is not an HDF5 file").expect("write");
    let e = scan_err(&junk);
    assert!(e.contains("junk.h5") && e.contains("HDF5"), "{e}");

    // HDF5, but no /iq.
    let other = d.path().join("other.h5");
    {
        let f = hdf5::File::create(&other).expect("create");
        f.new_dataset::<f64>()
            .shape(4)
            .create("temperature")
            .expect("dataset");
    }
    let e = scan_err(&other);
    assert!(e.contains("other.h5") && e.contains("/iq"), "{e}");

    // /iq of the wrong shape.
    let wide = d.path().join("wide.h5");
    {
        let f = hdf5::File::create(&wide).expect("create");
        f.new_dataset::<i16>()
            .shape((4, 3))
            .create("iq")
            .expect("dataset");
    }
    let e = scan_err(&wide);
    assert!(e.contains("wide.h5") && e.contains("(N, 2)"), "{e}");

    // Our layout without its sample rate.
    let norate = d.path().join("norate.h5");
    {
        let f = hdf5::File::create(&norate).expect("create");
        f.new_dataset::<i8>()
            .shape((4, 2))
            .create("iq")
            .expect("dataset");
    }
    let e = scan_err(&norate);
    assert!(
        e.contains("norate.h5") && e.contains("sample_rate_hz"),
        "{e}"
    );
    // ...which a sample rate on the command line supplies.
    let o = bin()
        .arg("info")
        .arg(&norate)
        .args(["--sample-rate", "1e6"])
        .output()
        .expect("info");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // A recording cut in the middle of the file (a copy interrupted).
    let good = d.path().join("good.h5");
    let mut s = Box::new(Hdf5Sink::create(&good, &gap_info()).expect("create"));
    s.write(0, &stream(0, 200_000)).expect("write");
    s.finish().expect("finish");
    let bytes = std::fs::read(&good).expect("read");
    let cut = d.path().join("cut.h5");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write");
    let e = scan_err(&cut);
    assert!(e.contains("cut.h5") && e.contains("truncated"), "{e}");
}
