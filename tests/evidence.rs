//! Evidence recording end to end: `scan --record/--snapshots` on a replay, gaps as capture
//! segments, a killed run, a full disk.

use ciot_sweep::evidence::sigmf_sink::SigmfSink;
use ciot_sweep::evidence::{CaptureInfo, CaptureSink};
use ciot_sweep::iq::SampleFormat;
use ciot_sweep::record::DetectionRecord;
use num_complex::Complex32;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ciot-sweep"))
}

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

fn meta(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("meta")).expect("meta JSON")
}

const VALIDATOR: &str = r#"
import json, sys, warnings
warnings.simplefilter("error")
from sigmf import sigmffile, validate
for m in sys.argv[1:]:
    validate.validate(json.load(open(m)))
    sigmffile.fromfile(m).validate()  # checks core:sha512 against the data
print("ok")
"#;

/// Runs the reference SigMF validator; required under CI, skipped with a notice elsewhere.
fn validate_sigmf(metas: &[PathBuf]) {
    let have = Command::new("python3")
        .args(["-c", "import sigmf"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !have {
        assert!(
            std::env::var_os("CI").is_none(),
            "python3 with the `sigmf` package is required when CI is set"
        );
        eprintln!("NOTICE: python sigmf missing; reference validation skipped");
        return;
    }
    let o = Command::new("python3")
        .arg("-c")
        .arg(VALIDATOR)
        .args(metas)
        .output()
        .expect("python3");
    assert!(
        o.status.success(),
        "validator rejected {metas:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn check_manifest(dir: &Path) -> usize {
    let text = std::fs::read_to_string(dir.join("SHA256SUMS")).expect("manifest");
    for line in text.lines() {
        let (hash, name) = line.split_once("  ").expect("sha256sum format");
        let bytes = std::fs::read(dir.join(name)).expect("listed file");
        assert_eq!(hex::encode(Sha256::digest(&bytes)), hash, "{name}");
    }
    text.lines().count()
}

#[test]
fn replay_record_is_bit_exact_annotated_valid_and_hashed() {
    let src = repo("recordings/nbiot-1.92msps/nbiot-nprach.sigmf-meta");
    let d = tempfile::tempdir().expect("tempdir");
    let o = bin()
        .arg("scan")
        .arg(&src)
        .arg("--record")
        .arg(d.path().join("rec"))
        .arg("--snapshots")
        .arg(d.path().join("snaps"))
        .arg("--json")
        .arg(d.path().join("d.jsonl"))
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(
        stderr.contains("recorded:") && stderr.contains("snapshots:"),
        "{stderr}"
    );
    // Every sample, bit exact, in the native format.
    let orig =
        std::fs::read(repo("recordings/nbiot-1.92msps/nbiot-nprach.sigmf-data")).expect("orig");
    let rec = std::fs::read(d.path().join("rec.sigmf-data")).expect("rec");
    assert!(
        orig == rec,
        "the recording differs from the samples replayed"
    );
    let m = meta(&d.path().join("rec.sigmf-meta"));
    assert_eq!(m["global"]["core:datatype"], "ci16_le");
    assert_eq!(
        m["global"]["core:sha512"].as_str().map(str::len),
        Some(128),
        "complete recordings carry core:sha512"
    );
    // One annotation per detection record, at the same place.
    let recs: Vec<DetectionRecord> = std::fs::read_to_string(d.path().join("d.jsonl"))
        .expect("json")
        .lines()
        .map(|l| serde_json::from_str(l).expect("record"))
        .collect();
    assert!(!recs.is_empty());
    let anns: Vec<&Value> = m["annotations"]
        .as_array()
        .expect("annotations")
        .iter()
        .filter(|a| a.get("ciot:detection").is_some())
        .collect();
    assert_eq!(anns.len(), recs.len());
    for r in &recs {
        assert!(
            anns.iter().any(|a| a["core:sample_start"] == r.sample_start
                && a["core:sample_count"] == r.sample_len
                && a["ciot:detection"]["kind"] == serde_json::to_value(r.kind).expect("kind")),
            "no annotation for {r:?}"
        );
    }
    // Snapshots: each holds exactly the original samples at its global index.
    let snaps: Vec<PathBuf> = std::fs::read_dir(d.path().join("snaps"))
        .expect("snaps")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "sigmf-meta"))
        .collect();
    assert_eq!(snaps.len(), recs.len(), "one snapshot per detection");
    for s in &snaps {
        let sm = meta(s);
        let gi = sm["captures"][0]["core:global_index"]
            .as_u64()
            .expect("global index") as usize;
        let data = std::fs::read(s.with_extension("sigmf-data")).expect("snap data");
        assert_eq!(
            &orig[gi * 4..gi * 4 + data.len()],
            &data[..],
            "{}",
            s.display()
        );
        let det = &sm["annotations"][0]["ciot:detection"];
        let start = det["sample_start"].as_u64().expect("start") as usize;
        // 50 ms before the burst (or the file start).
        assert_eq!(gi, start.saturating_sub(96_000));
    }
    assert_eq!(check_manifest(d.path()), 3, "rec meta + data + JSON");
    assert_eq!(check_manifest(&d.path().join("snaps")), 2 * snaps.len());
    let mut all = vec![d.path().join("rec.sigmf-meta")];
    all.extend(snaps);
    validate_sigmf(&all);
}

#[test]
fn gaps_become_capture_segments_and_annotations_follow_them() {
    let d = tempfile::tempdir().expect("tempdir");
    let info = CaptureInfo {
        sample_rate_hz: 1e6,
        center_hz: Some(832e6),
        start_time: chrono::DateTime::parse_from_rfc3339("2026-11-27T10:00:00Z")
            .ok()
            .map(|t| t.with_timezone(&chrono::Utc)),
        device: "driver=test".into(),
        gains_db: vec![("LNA".into(), 16.0), ("VGA".into(), 20.0)],
        format: SampleFormat::Ci8,
        command_line: "test".into(),
    };
    let mut s: Box<dyn CaptureSink> =
        Box::new(SigmfSink::create(&d.path().join("g"), &info).expect("create"));
    let x = |n: usize, v: f32| vec![Complex32::new(v, -v); n];
    s.write(0, &x(100, 0.25)).expect("write");
    s.write(100, &x(50, 0.25)).expect("write");
    s.write(300, &x(100, 0.5)).expect("write"); // 150 samples lost at 150
    s.retune(400, 842e6, 10);
    s.write(400, &x(20, 0.75)).expect("write");
    let r = DetectionRecord {
        kind: ciot_dsp::synth::Kind::Prach,
        tech: ciot_dsp::synth::Tech::LteM,
        sample_start: 310,
        sample_len: 20,
        t_start_s: 310e-6,
        duration_s: 20e-6,
        freq_offset_hz: 0.0,
        freq_hz: Some(832e6),
        bandwidth_hz: 1.08e6,
        power_dbfs: -30.0,
        snr_db: 10.0,
        score: 1.0,
        time_utc: None,
        emitter: None,
        emitter_known: None,
        earfcn: Vec::new(),
        params: Default::default(),
    };
    s.annotate(&r).expect("annotate");
    let files = s.finish().expect("finish");
    assert_eq!(files.len(), 2);
    let m = meta(&d.path().join("g.sigmf-meta"));
    let caps = m["captures"].as_array().expect("captures");
    let got: Vec<(u64, u64, f64)> = caps
        .iter()
        .map(|c| {
            (
                c["core:sample_start"].as_u64().unwrap_or(u64::MAX),
                c["core:global_index"].as_u64().unwrap_or(u64::MAX),
                c["core:frequency"].as_f64().unwrap_or(0.0),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![(0, 0, 832e6), (150, 300, 832e6), (250, 400, 842e6)]
    );
    assert_eq!(caps[1]["ciot:gap_samples"], 150);
    assert_eq!(m["global"]["ciot:lost_samples"], 150);
    assert_eq!(caps[1]["core:datetime"], "2026-11-27T10:00:00.000300Z");
    let anns = m["annotations"].as_array().expect("annotations");
    let det = anns
        .iter()
        .find(|a| a["ciot:kind"] == "prach")
        .expect("prach annotation");
    assert_eq!(
        (
            det["core:sample_start"].as_u64(),
            det["core:sample_count"].as_u64()
        ),
        (Some(160), Some(20))
    );
    let settle = anns
        .iter()
        .find(|a| a["core:label"] == "settling")
        .expect("settling annotation");
    assert_eq!(settle["core:sample_start"], 250);
    assert_eq!(settle["core:sample_count"], 10);
    assert!(m["global"]["core:hw"]
        .as_str()
        .is_some_and(|h| h.contains("LNA=16 dB") && h.contains("driver=test")));
    assert_eq!(
        std::fs::metadata(d.path().join("g.sigmf-data"))
            .expect("data")
            .len(),
        270 * 2
    );
    validate_sigmf(&[d.path().join("g.sigmf-meta")]);
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
fn a_killed_recording_keeps_what_was_checkpointed_and_opens() {
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
    let mut child = bin()
        .arg("scan")
        .arg(d.path().join("noise.sigmf-meta"))
        .args(["--realtime", "--quiet", "--detectors", "energy", "--record"])
        .arg(d.path().join("live"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("scan");
    std::thread::sleep(std::time::Duration::from_millis(3500));
    child.kill().expect("kill"); // SIGKILL: no clean-up runs
    let _ = child.wait();
    let m = meta(&d.path().join("live.sigmf-meta"));
    assert!(
        m["global"].get("core:sha512").is_none(),
        "an unfinished recording has no hash"
    );
    let n = std::fs::metadata(d.path().join("live.sigmf-data"))
        .expect("data")
        .len()
        / 2;
    assert!(
        n >= 1_920_000,
        "at least a second of samples survives a kill after 3.5 s ({n})"
    );
    // The cut recording replays.
    let o = bin()
        .arg("scan")
        .arg(d.path().join("live.sigmf-meta"))
        .args(["--detectors", "energy", "--quiet"])
        .output()
        .expect("scan");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[cfg(unix)]
#[test]
fn a_full_disk_stops_with_the_file_and_offset_and_keeps_the_rest() {
    let d = tempfile::tempdir().expect("tempdir");
    // Writes to /dev/full fail with ENOSPC, as on a full disk.
    std::os::unix::fs::symlink("/dev/full", d.path().join("rec.sigmf-data")).expect("symlink");
    let o = bin()
        .arg("scan")
        .arg(repo("recordings/nbiot-1.92msps/nbiot-nprach.sigmf-meta"))
        .arg("--record")
        .arg(d.path().join("rec"))
        .arg("--json")
        .arg(d.path().join("d.jsonl"))
        .arg("--quiet")
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("rec.sigmf-data") && stderr.contains("byte offset"),
        "{stderr}"
    );
    assert!(stderr.to_lowercase().contains("no space"), "{stderr}");
    // The metadata written at the start still opens; the JSON written is whole lines.
    let _ = meta(&d.path().join("rec.sigmf-meta"));
    let json = std::fs::read_to_string(d.path().join("d.jsonl")).expect("json");
    for l in json.lines() {
        let _: DetectionRecord = serde_json::from_str(l).expect("whole records");
    }
}

#[cfg(not(feature = "hdf5"))]
#[test]
fn without_the_hdf5_feature_h5_paths_name_the_file_and_the_feature() {
    let d = tempfile::tempdir().expect("tempdir");
    // Replaying an .h5 file.
    let h5 = d.path().join("x.h5");
    std::fs::write(&h5, b"\x89HDF\r\n\x1a\n").expect("write");
    let o = bin().arg("scan").arg(&h5).output().expect("runs");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("x.h5") && stderr.contains("--features hdf5"),
        "{stderr}"
    );
    // Recording to one.
    let o = bin()
        .arg("scan")
        .arg(repo("recordings/nbiot-1.92msps/nbiot-nprach.sigmf-meta"))
        .arg("--record")
        .arg(d.path().join("rec.hdf5"))
        .arg("--quiet")
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("rec.hdf5") && stderr.contains("--features hdf5"),
        "{stderr}"
    );
}
