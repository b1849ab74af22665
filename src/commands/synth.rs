//! `ciot-sweep synth SCENARIO --output BASE`: render a scenario into a SigMF recording with
//! its truth as annotations and as `BASE.truth.jsonl` (detection records).

use crate::cli::SynthArgs;
use crate::iq::{SampleFormat, SigmfAnnotation, SigmfCapture, SigmfWriter};
use crate::record::DetectionRecord;
use crate::scenario::Scenario;
use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Samples rendered per chunk (bounded memory).
const CHUNK: usize = 1 << 16;

/// Runs the command.
pub fn run(args: &SynthArgs) -> Result<()> {
    let text = std::fs::read_to_string(&args.scenario)
        .with_context(|| format!("reading scenario {}", args.scenario.display()))?;
    let mut scenario = Scenario::from_toml(&text, &args.scenario.display().to_string())?;
    if let Some(s) = args.seed {
        scenario.capture.seed = s;
    }
    if let Some(f) = &args.format {
        scenario.capture.format = f.clone();
    }
    if let Some(d) = args.duration {
        scenario.capture.duration_s = d;
    }
    let summary = synthesize(&scenario, &text, &args.output)
        .with_context(|| format!("synthesising {}", args.scenario.display()))?;
    eprintln!("{summary}");
    Ok(())
}

/// What [`synthesize`] wrote.
#[derive(Debug, Clone)]
pub struct SynthSummary {
    /// The metadata file.
    pub meta_path: PathBuf,
    /// The truth file.
    pub truth_path: PathBuf,
    /// Samples written.
    pub samples: u64,
    /// Samples clipped by the sample format.
    pub clipped: u64,
    /// Bursts per kind label.
    pub per_kind: BTreeMap<String, usize>,
}

impl std::fmt::Display for SynthSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kinds: Vec<String> = self
            .per_kind
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
        writeln!(
            f,
            "wrote {} ({} samples)",
            self.meta_path.display(),
            self.samples
        )?;
        write!(
            f,
            "truth {}: {}",
            self.truth_path.display(),
            if kinds.is_empty() {
                "no bursts".to_string()
            } else {
                kinds.join(", ")
            }
        )?;
        if self.clipped > 0 {
            write!(
                f,
                "\nwarning: {} samples clipped by the sample format (lower the levels or use cf32_le)",
                self.clipped
            )?;
        }
        Ok(())
    }
}

/// Renders `scenario` (whose TOML text is `text`, kept in the metadata) into `base`.
pub fn synthesize(scenario: &Scenario, text: &str, base: &Path) -> Result<SynthSummary> {
    let format: SampleFormat = scenario
        .capture
        .format
        .parse()
        .with_context(|| "capture.format".to_string())?;
    let plan = scenario.clone().plan()?;
    let fs = scenario.capture.sample_rate;
    let mut w = SigmfWriter::create(base, format, fs)?;
    let start: Option<DateTime<Utc>> = match &scenario.capture.datetime {
        Some(s) => Some(
            DateTime::parse_from_rfc3339(s)
                .with_context(|| format!("capture.datetime '{s}' is not RFC 3339"))?
                .with_timezone(&Utc),
        ),
        None => None,
    };
    {
        let g = w.global_mut();
        g.description = Some(
            scenario
                .capture
                .description
                .clone()
                .unwrap_or_else(|| "ciot-sweep synthetic recording".into()),
        );
        g.hw = Some("simulated (ciot-sweep synth: TS 36.211 waveforms, AWGN)".into());
        g.extra.insert(
            "ciot:generator".into(),
            format!("ciot-sweep synth {}", env!("CARGO_PKG_VERSION")).into(),
        );
        g.extra
            .insert("ciot:seed".into(), scenario.capture.seed.into());
        g.extra.insert("ciot:scenario".into(), text.into());
    }
    let mut cap = SigmfCapture::new(0);
    if let Some(f) = scenario.capture.center_freq {
        cap = cap.with_frequency(f);
    }
    if let Some(t) = start {
        cap = cap.with_datetime(t);
    }
    w.add_capture(cap);

    let mut truth = plan.truth.clone();
    let mut per_kind = BTreeMap::new();
    for r in &mut truth {
        if let Some(t0) = start {
            let t = t0 + chrono::Duration::nanoseconds((r.t_start_s * 1e9).round() as i64);
            r.time_utc = Some(t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true));
        }
        let label = match r.params.get("interferer").and_then(|v| v.as_str()) {
            Some(i) => format!("interferer:{i}"),
            None => serde_json::to_value(r.kind)?
                .as_str()
                .unwrap_or("unknown")
                .to_string(),
        };
        *per_kind.entry(label.clone()).or_insert(0) += 1;
        w.add_annotation(annotation(r, &label, scenario.capture.center_freq));
    }

    plan.render(CHUNK, |chunk| {
        w.write_samples(chunk)?;
        Ok(())
    })?;
    let ws = w.finish()?;

    let truth_path = truth_path(base);
    write_jsonl(&truth_path, &truth)?;
    Ok(SynthSummary {
        meta_path: ws.meta_path,
        truth_path,
        samples: ws.samples,
        clipped: ws.clipped_samples,
        per_kind,
    })
}

fn annotation(r: &DetectionRecord, label: &str, centre: Option<f64>) -> SigmfAnnotation {
    let mut a = SigmfAnnotation::new(r.sample_start, r.sample_len);
    let c = centre.unwrap_or(0.0) + r.freq_offset_hz;
    // SigMF edges are absolute frequencies; without a capture frequency they are offsets.
    a.freq_lower_edge = Some(c - r.bandwidth_hz / 2.0);
    a.freq_upper_edge = Some(c + r.bandwidth_hz / 2.0);
    a.label = Some(label.to_string());
    a.comment = Some("ground truth (synthesised); never used for detection".into());
    a.kind = serde_json::to_value(r.kind)
        .ok()
        .and_then(|v| v.as_str().map(String::from));
    a.tech = serde_json::to_value(r.tech)
        .ok()
        .and_then(|v| v.as_str().map(String::from));
    a.params = Some(serde_json::Value::Object(r.params.clone()));
    a
}

/// `BASE.truth.jsonl` for an output base (with or without a SigMF extension).
pub fn truth_path(base: &Path) -> PathBuf {
    let b = crate::iq::sigmf::sigmf_base(base);
    let mut s = b.into_os_string();
    s.push(".truth.jsonl");
    PathBuf::from(s)
}

/// Writes records as JSON Lines, atomically (temporary file, then rename).
pub fn write_jsonl(path: &Path, records: &[DetectionRecord]) -> Result<()> {
    let tmp = path.with_extension("jsonl.partial");
    let mut f = std::io::BufWriter::new(
        std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?,
    );
    for r in records {
        serde_json::to_writer(&mut f, r)?;
        f.write_all(b"\n")?;
    }
    f.flush()
        .with_context(|| format!("writing {}", tmp.display()))?;
    drop(f);
    std::fs::rename(&tmp, path)
        .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
    Ok(())
}
