//! Golden recordings (the rtl_433_tests model): every `recordings/<case>/` that holds a SigMF
//! recording and its `*.truth.jsonl` is scanned through the same pipeline as `scan`, and the
//! detections are scored against the truth, per kind: found with the right kind, found as
//! another kind, missed, false alarms; cellular reports on interferers.

use ciot_sweep::commands::scan::{FileSource, BLOCK};
use ciot_sweep::detectors;
use ciot_sweep::iq::IqInput;
use ciot_sweep::pipeline::{self, Event, PipelineConfig};
use ciot_sweep::record::DetectionRecord;
use ciot_sweep::scan::{CaptureContext, Scanner};
use ciot_sweep::score::{score, MatchRule};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

fn cases() -> Vec<(PathBuf, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("recordings");
    let mut v = Vec::new();
    for e in std::fs::read_dir(&root)
        .expect("recordings folder")
        .flatten()
    {
        let dir = e.path();
        if !dir.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&dir).expect("case folder").flatten() {
            let p = f.path();
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if let Some(base) = name.strip_suffix(".truth.jsonl") {
                v.push((dir.join(format!("{base}.sigmf-meta")), p.clone()));
            }
        }
    }
    v.sort();
    v
}

fn scan(meta: &Path) -> Vec<DetectionRecord> {
    let input = IqInput::open(meta, None, None, None).expect("opens");
    let ctx = CaptureContext {
        sample_rate_hz: input.sample_rate_hz,
        center_freq_hz: input.frequency_hz,
        start_time: input.start_time,
    };
    let (dets, _) =
        detectors::build(input.sample_rate_hz, 0.5, &detectors::Which::DEFAULT).expect("detectors");
    let source = FileSource::new(input.reader(BLOCK).expect("reader"), input.sample_rate_hz);
    let mut out = Vec::new();
    pipeline::run(
        source,
        Scanner::new(dets, ctx, 0.25),
        &PipelineConfig::default(),
        Arc::new(AtomicBool::new(false)),
        |e| {
            if let Event::Output(r) = e {
                out.push(r);
            }
            Ok(())
        },
    )
    .expect("scan");
    out
}

#[test]
fn golden_recordings() {
    let cases = cases();
    assert!(!cases.is_empty(), "no golden recording found");
    for (meta, truth_path) in cases {
        let truth: Vec<DetectionRecord> = std::fs::read_to_string(&truth_path)
            .expect("truth")
            .lines()
            .map(|l| serde_json::from_str(l).expect("truth record"))
            .collect();
        let dets = scan(&meta);
        let s = score(&truth, &dets, &MatchRule::default());
        println!("{}\n{s}\n", meta.display());
        // Never a cellular report on a non-cellular signal.
        assert_eq!(s.cellular_on_interferer, 0, "{}", meta.display());
        // Every truth burst at >= 6 dB SNR (own bandwidth) and >= 1 ms is found, as its kind
        // or at least as an energy burst. (A signal on for most of the capture is, by design,
        // absorbed into the noise floor: neither a long one nor one that fills the capture is
        // required.)
        let capture_len = IqInput::open(&meta, None, None, None)
            .expect("opens")
            .sigmf
            .as_ref()
            .map(|r| r.num_samples())
            .unwrap_or(u64::MAX);
        for t in truth.iter().filter(|t| {
            t.snr_db >= 6.0
                && t.duration_s >= 1e-3
                && t.duration_s < 0.25
                && (t.sample_len as f64) < 0.9 * capture_len as f64
        }) {
            assert!(
                dets.iter()
                    .any(|d| ciot_sweep::score::matches(t, d, &MatchRule::default())),
                "{}: missed {:?} at {:.4} s, {:.0} Hz, SNR {:.1} dB",
                meta.display(),
                t.kind,
                t.t_start_s,
                t.freq_offset_hz,
                t.snr_db
            );
        }
        // Results are ordered by burst end (INTERFACES.md).
        assert!(dets
            .windows(2)
            .all(|w| w[0].sample_end() <= w[1].sample_end()));
        // Nothing but the truth: no detection far from every truth burst.
        let stray: Vec<&DetectionRecord> = dets
            .iter()
            .filter(|d| {
                !truth.iter().any(|t| {
                    ciot_sweep::score::matches(
                        t,
                        d,
                        &MatchRule {
                            min_time_overlap: 0.0,
                            freq_tolerance_hz: 100e3,
                        },
                    )
                })
            })
            .collect();
        assert!(
            stray.len() <= 1,
            "{}: stray detections {stray:?}",
            meta.display()
        );
    }
}
