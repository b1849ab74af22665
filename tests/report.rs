//! `ciot-sweep report`: every file written, PNG sizes, the HTML referencing every image,
//! detection and emitter tables that match the records, the manifest, and a headless
//! Chromium rendering of the page (all images loaded, not blank).

use ciot_sweep::record::DetectionRecord;
use ciot_sweep::track::{TrackConfig, Tracker};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const CAR_META: &str = "recordings/car-sweep/car-sweep.sigmf-meta";
const CAR_TRUTH: &str = "recordings/car-sweep/car-sweep.truth.jsonl";
const NBIOT_META: &str = "recordings/nbiot-1.92msps/nbiot-nprach.sigmf-meta";
const PLOTS: [&str; 4] = ["spectrum", "spectrogram", "timeline", "power"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ciot-sweep"));
    c.current_dir(root());
    c
}

fn run_report(out: &Path, extra: &[&str], input: &str) {
    let o = bin()
        .args(["report", input, "--quiet", "--out"])
        .arg(out)
        .args(extra)
        .output()
        .expect("runs");
    assert!(
        o.status.success(),
        "report failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The car-sweep report from its truth file, made once for the tests that read it.
fn car_report() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = tempfile::tempdir().expect("tempdir");
        run_report(d.path(), &["--detections", CAR_TRUTH], CAR_META);
        d
    })
    .path()
}

fn truth_records() -> Vec<DetectionRecord> {
    std::fs::read_to_string(root().join(CAR_TRUTH))
        .expect("truth")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("record"))
        .collect()
}

fn sha256_hex(p: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(p).expect("read")))
}

/// PNG signature and IHDR size, read by hand (independent of any decoder).
fn png_size(p: &Path) -> (u32, u32) {
    let b = std::fs::read(p).expect("png");
    assert_eq!(
        &b[..8],
        b"\x89PNG\r\n\x1a\n",
        "{} is not a PNG",
        p.display()
    );
    assert_eq!(&b[12..16], b"IHDR");
    let be = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    (be(16), be(20))
}

/// Checks what every report folder must hold; returns the HTML and the JSON.
fn check_folder(dir: &Path) -> (String, serde_json::Value) {
    for p in PLOTS {
        let png = dir.join(format!("{p}.png"));
        let svg = dir.join(format!("{p}.svg"));
        let img = image::open(&png)
            .unwrap_or_else(|e| panic!("{} does not decode: {e}", png.display()))
            .to_rgb8();
        assert_eq!(img.dimensions(), png_size(&png));
        assert_eq!(img.width(), 1800, "{p}: A4-sized width");
        if p != "timeline" {
            assert_eq!(img.height(), 900, "{p}");
        }
        // Not blank: many pixels far from white.
        let dark = img
            .pixels()
            .filter(|px| px.0.iter().any(|&c| c < 160))
            .count();
        assert!(dark > 2000, "{p}.png looks blank ({dark} dark pixels)");
        let s = std::fs::read_to_string(&svg).expect("svg");
        assert!(
            s.contains("<svg") && s.trim_end().ends_with("</svg>"),
            "{p}.svg"
        );
    }
    let spec_svg = std::fs::read_to_string(dir.join("spectrogram.svg")).expect("svg");
    assert!(
        spec_svg.contains("data:image/png;base64,"),
        "the spectrogram SVG embeds its heat map as one PNG"
    );
    assert!(
        spec_svg.len() < 8_000_000,
        "spectrogram.svg is {} bytes",
        spec_svg.len()
    );
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report.html");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).expect("json"))
            .expect("report.json parses");
    // Every image referenced, relatively, and present.
    let srcs: Vec<&str> = html
        .split("<img src=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .collect();
    for p in PLOTS {
        let want = format!("{p}.png");
        assert!(
            srcs.contains(&want.as_str()),
            "report.html lacks {want}: {srcs:?}"
        );
        assert!(html.contains(&format!("href=\"{p}.svg\"")));
    }
    for s in &srcs {
        assert!(!s.contains('/') && dir.join(s).is_file(), "{s}");
    }
    // The manifest covers every file written, with the right hashes.
    let sums = std::fs::read_to_string(dir.join("SHA256SUMS")).expect("SHA256SUMS");
    let mut names = Vec::new();
    for line in sums.lines() {
        let (h, name) = line.split_once("  ").expect("sha256sum format");
        assert_eq!(h, sha256_hex(&dir.join(name)), "{name}");
        names.push(name.to_string());
    }
    for p in PLOTS {
        for ext in ["png", "svg"] {
            assert!(names.contains(&format!("{p}.{ext}")), "{names:?}");
        }
    }
    assert!(names.contains(&"report.html".into()) && names.contains(&"report.json".into()));
    (html, json)
}

fn count_between(html: &str, open: &str, close: &str) -> Option<usize> {
    let s = html.split(open).nth(1)?;
    s.split(close).next()?.trim().parse().ok()
}

#[test]
fn car_sweep_report_from_the_truth_file() {
    let dir = car_report();
    let (html, json) = check_folder(dir);
    let truth = truth_records();
    assert_eq!(truth.len(), 11);
    // Detections: the count shown, the rows listed and report.json all equal the records.
    assert_eq!(
        count_between(&html, "<span id=\"detections-count\">", "<"),
        Some(truth.len())
    );
    assert_eq!(html.matches("<tr class=\"det\">").count(), truth.len());
    assert_eq!(json["detections_count"], truth.len());
    // Emitters: what the tracker makes of the records, row by row.
    let mut sorted = truth.clone();
    ciot_sweep::record::sort_by_end(&mut sorted);
    let mut t = Tracker::new(TrackConfig::default());
    for r in &mut sorted {
        t.add(r);
    }
    let emitters = t.emitters();
    assert_eq!(
        json["emitters"].as_array().map(|a| a.len()),
        Some(emitters.len())
    );
    let section = html
        .split("<h2>3. Emitters")
        .nth(1)
        .and_then(|s| s.split("</table>").next())
        .expect("emitter table");
    for e in emitters {
        let row = format!("<tr><td class=\"num\">#{}</td>", e.id);
        assert!(section.contains(&row), "emitter #{} missing", e.id);
    }
    assert_eq!(section.matches("<tr><td").count(), emitters.len());
    // Independent facts of the scenario: the phone's three PUSCH bursts at 845.85 MHz are one
    // emitter of three bursts; the LTE-M module another.
    let phone = emitters
        .iter()
        .find(|e| (e.freq_hz - 845.85005e6).abs() < 1e3)
        .expect("phone");
    assert_eq!(phone.bursts, 3);
    assert!(section.contains("845.850"), "phone frequency in the table");
    // The LTE-M module: its PRACH at 841.26 MHz and its two repeated PUSCH at 842.88 MHz.
    let ltem = emitters
        .iter()
        .find(|e| (e.freq_max_hz - 842.8792e6).abs() < 1e3)
        .expect("LTE-M PUSCH");
    assert_eq!(ltem.bursts, 3);
    assert!((ltem.freq_min_hz - 841.2592e6).abs() < 1e3, "{ltem:?}");
    // Recording facts: the hashes are those of the files, the metadata is shown.
    let data = root().join("recordings/car-sweep/car-sweep.sigmf-data");
    let data_sha = sha256_hex(&data);
    assert_eq!(json["capture"]["data_sha256"], data_sha.as_str());
    assert!(html.contains(&data_sha));
    assert!(html.contains(&sha256_hex(&root().join(CAR_META))));
    assert!(html.contains(&sha256_hex(&root().join(CAR_TRUTH))));
    assert_eq!(json["capture"]["sample_rate_hz"], 15.36e6);
    assert_eq!(json["capture"]["samples"], 7_680_000);
    assert!(html.contains("847.000000 MHz"));
    assert!(html.contains("2026-11-27T09:00:00"));
    assert!(html.contains("simulated (ciot-sweep synth"));
    assert!(html.contains("--detections"), "the command line is shown");
    assert!(html.contains("Detectors (declared, not verified)"));
    // 0.5 per hour per MHz over 15.36 MHz = 7.68 per hour.
    assert_eq!(json["detection"]["false_alarms_per_hour"], 7.68);
    assert_eq!(json["spectrum"]["grid_band"], "B20");
    assert_eq!(json["spectrum"]["rows"], 1200);
    // 1024-point frames, 50 % overlap over 7 680 000 samples: (7 680 000 - 1024) / 512 + 1.
    assert_eq!(json["spectrum"]["frames"], 14999);
    assert!(!html.contains("<script>alert"), "nothing unescaped");
}

#[test]
fn html_escapes_what_comes_from_input_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A copy of the nbiot recording whose description carries markup.
    let src = root().join("recordings/nbiot-1.92msps");
    let mut meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(src.join("nbiot-nprach.sigmf-meta")).expect("meta"),
    )
    .expect("json");
    meta["global"]["core:description"] = "<script>alert('x')</script> & co".into();
    std::fs::write(
        dir.path().join("x.sigmf-meta"),
        serde_json::to_string(&meta).expect("json"),
    )
    .expect("write");
    std::fs::copy(
        src.join("nbiot-nprach.sigmf-data"),
        dir.path().join("x.sigmf-data"),
    )
    .expect("copy");
    let truth = root().join("recordings/nbiot-1.92msps/nbiot-nprach.truth.jsonl");
    let out = dir.path().join("out");
    run_report(
        &out,
        &["--detections", truth.to_str().unwrap_or_default()],
        dir.path().join("x.sigmf-meta").to_str().unwrap_or_default(),
    );
    let html = std::fs::read_to_string(out.join("report.html")).expect("html");
    assert!(!html.contains("<script>alert"));
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co"));
}

#[test]
fn report_scans_a_small_recording_itself() {
    let dir = tempfile::tempdir().expect("tempdir");
    run_report(dir.path(), &[], NBIOT_META);
    let (html, json) = check_folder(dir.path());
    assert_eq!(json["detection"]["source"], "scan");
    assert_eq!(json["detection"]["settings_verified"], true);
    let dets = json["detections"].as_array().expect("detections");
    let n = dets.len();
    assert_eq!(
        count_between(&html, "<span id=\"detections-count\">", "<"),
        Some(n)
    );
    assert_eq!(html.matches("<tr class=\"det\">").count(), n);
    // The recording holds NB-IoT preambles near +238 kHz (truth file): the scan finds one.
    assert!(
        dets.iter().any(|d| d["kind"] == "nprach"
            && (d["freq_offset_hz"].as_f64().unwrap_or(0.0) - 238.2e3).abs() < 30e3),
        "{dets:#?}"
    );
    let ids: Vec<u64> = dets.iter().filter_map(|d| d["emitter"].as_u64()).collect();
    assert_eq!(ids.len(), n, "every scanned detection has an emitter");
    for id in ids {
        assert!(html.contains(&format!("<tr><td class=\"num\">#{id}</td>")));
    }
    // 1 920 000 bytes of ci16_le (4 bytes a sample): 480 000 samples, 0.25 s at 1.92 MS/s;
    // fewer 50 % overlapped frames than the 1200-row limit: one row per frame.
    assert_eq!(json["capture"]["samples"], 480_000);
    assert_eq!(json["spectrum"]["frames"], (480_000 - 1024) / 512 + 1);
    assert_eq!(json["spectrum"]["rows"], (480_000 - 1024) / 512 + 1);
}

#[test]
fn bad_inputs_are_reported_with_the_file_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"kind\":\"nprach\"}\n").expect("write");
    let o = bin()
        .args(["report", CAR_META, "--quiet", "--out"])
        .arg(dir.path().join("out"))
        .arg("--detections")
        .arg(&bad)
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad.jsonl line 1"), "{err}");
    let o = bin()
        .args([
            "report",
            "-",
            "--format",
            "ci8",
            "--sample-rate",
            "1.92M",
            "--out",
        ])
        .arg(dir.path().join("out2"))
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("standard input"));
    let o = bin().args(["report", CAR_META]).output().expect("runs");
    assert_eq!(o.status.code(), Some(2), "--out is required");
}

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|n| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|p| p.join(n))
                    .find(|p| p.is_file())
            })
        })
}

fn chromium_cmd(exe: &Path, profile: &Path) -> Command {
    let mut c = Command::new("timeout");
    c.arg("180").arg(exe).args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ]);
    c.arg(format!("--user-data-dir={}", profile.display()));
    c
}

#[test]
fn chromium_renders_the_report_with_every_image() {
    let Some(exe) = chromium() else {
        if std::env::var_os("CI").is_some() {
            panic!("chromium is not installed (CI must install it: see .ci/run)");
        }
        eprintln!("NOTICE: chromium not found: skipping the headless rendering test");
        return;
    };
    let dir = car_report();
    let page = format!("file://{}", dir.join("report.html").display());
    let tmp = tempfile::tempdir().expect("tempdir");
    let shot = tmp.path().join("shot.png");
    let o = chromium_cmd(&exe, &tmp.path().join("p1"))
        .arg(format!("--screenshot={}", shot.display()))
        .arg("--window-size=1400,4000")
        .arg(&page)
        .output()
        .expect("chromium runs");
    assert!(
        shot.is_file(),
        "no screenshot: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let img = image::open(&shot).expect("screenshot decodes").to_rgb8();
    assert_eq!(img.dimensions(), (1400, 4000));
    let dark = img
        .pixels()
        .filter(|p| p.0.iter().any(|&c| c < 128))
        .count();
    let colourful = img
        .pixels()
        .filter(|p| {
            let (mx, mn) = (
                p.0.iter().copied().max().unwrap_or(0),
                p.0.iter().copied().min().unwrap_or(0),
            );
            mx - mn > 60
        })
        .count();
    assert!(dark > 20_000, "screenshot looks blank ({dark} dark pixels)");
    assert!(
        colourful > 20_000,
        "no plots visible ({colourful} coloured pixels)"
    );
    let o = chromium_cmd(&exe, &tmp.path().join("p2"))
        .arg("--virtual-time-budget=10000")
        .arg("--dump-dom")
        .arg(&page)
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&o.stdout);
    assert!(
        dom.contains("data-loaded=\"true\"") && dom.contains("data-images-loaded=\"4/4\""),
        "not every image loaded: {}",
        dom.lines()
            .find(|l| l.contains("<body"))
            .unwrap_or("no <body>")
    );
}
