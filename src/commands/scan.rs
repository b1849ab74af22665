//! `ciot-sweep scan INPUT`: replay a recording through the detection pipeline.

use crate::cli::ScanArgs;
use crate::detectors;
use crate::evidence::health::{HealthMonitor, HealthSource};
use crate::evidence::snapshot::{SnapshotConfig, Snapshotter};
use crate::evidence::{manifest, open_sink, CaptureInfo, Recorder, RecordingSource};
use crate::iq::{IqBlock, IqInput, IqReader, SampleFormat};
use crate::pipeline::{self, Event, PipelineConfig, Source};
use crate::record::DetectionRecord;
use crate::scan::{CaptureContext, Scanner};
use crate::track::{Baseline, Emitter, TrackConfig, Tracker};
use anyhow::{Context, Result};
use ciot_dsp::synth::Kind;
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Samples read per block.
pub const BLOCK: usize = 1 << 16;

/// A file or stdin as a pipeline source.
pub struct FileSource {
    reader: IqReader,
    fs: f64,
}

impl FileSource {
    /// Wraps an opened reader.
    pub fn new(reader: IqReader, fs: f64) -> Self {
        FileSource { reader, fs }
    }
}

impl Source for FileSource {
    fn read_block(&mut self, block: &mut IqBlock) -> Result<bool> {
        Ok(self.reader.read_block(block)?)
    }
    fn sample_rate_hz(&self) -> f64 {
        self.fs
    }
    fn take_warnings(&mut self) -> Vec<String> {
        self.reader
            .warnings()
            .iter()
            .map(|w| w.to_string())
            .collect()
    }
}

/// Opens an input from the command-line arguments.
pub fn open_input(a: &crate::cli::InputArgs) -> Result<IqInput> {
    let format = match &a.format {
        Some(f) => Some(f.parse::<SampleFormat>()?),
        None => None,
    };
    Ok(IqInput::open(&a.input, format, a.sample_rate, a.frequency)?)
}

/// Runs the command.
pub fn run(args: &ScanArgs) -> Result<()> {
    let input = open_input(&args.input)?;
    for w in &input.warnings {
        eprintln!("warning: {w}");
    }
    let fs = input.sample_rate_hz;
    let (scanner, det_warnings) = build_scanner(
        &input,
        args.detectors.as_deref(),
        args.false_alarms_per_hour,
    )?;
    for w in &det_warnings {
        eprintln!("warning: {w}");
    }
    let reader = input.reader(BLOCK)?;
    let total = input.sigmf.as_ref().map(|r| r.num_samples());
    let info = CaptureInfo {
        sample_rate_hz: fs,
        center_hz: input.frequency_hz,
        start_time: input.start_time,
        device: format!("replay of {}", input.data_path.display()),
        gains_db: Vec::new(),
        format: input.format,
        command_line: command_line(),
    };

    // Evidence: the recorder sits in front of the ring (it keeps what the DSP drops), the
    // health monitor looks at every delivered sample, snapshots wrap the scanner.
    let recorder = match &args.record {
        Some(p) => {
            Some(Recorder::new(open_sink(p, &info).with_context(|| {
                format!("starting the recording {}", p.display())
            })?))
        }
        None => None,
    };
    let (notice_tx, notice_rx) = crossbeam_channel::bounded::<String>(64);
    let health = HealthMonitor::new(input.format, fs, Some(notice_tx), false);
    let health_summary = health.summary();
    let source = HealthSource::new(
        RecordingSource::new(FileSource::new(reader, fs), recorder.clone()),
        health,
    );
    let processor = match &args.snapshots {
        Some(dir) => {
            let cfg = SnapshotConfig {
                pre_s: args.snapshot_pre_ms / 1e3,
                post_s: args.snapshot_post_ms / 1e3,
                ..SnapshotConfig::new(dir.clone())
            };
            Snapshotter::new(scanner, cfg, info.clone())
                .with_context(|| format!("creating the snapshot folder {}", dir.display()))?
        }
        None => Snapshotter::disabled(scanner, info.clone()),
    };

    let mut json: Option<Box<dyn Write>> = match &args.json {
        Some(p) if p.as_os_str() == "-" => {
            Some(Box::new(std::io::BufWriter::new(std::io::stdout().lock())))
        }
        Some(p) => Some(Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        ))),
        None => None,
    };

    let bar = progress_bar(!args.quiet, total);

    let stop = Arc::new(AtomicBool::new(false));
    {
        let s = stop.clone();
        // Ctrl-C: stop reading, finish the pipeline, write the summary and complete outputs.
        let _ = ctrlc::set_handler(move || s.store(true, std::sync::atomic::Ordering::Relaxed));
    }
    let cfg = PipelineConfig {
        realtime: args.realtime,
        ..Default::default()
    };
    let mut records: Vec<DetectionRecord> = Vec::new();
    let mut tracker = Tracker::new(TrackConfig::default());
    let baseline = match &args.baseline {
        Some(p) => Some(Baseline::read(p)?),
        None => None,
    };
    let mut gaps = Vec::new();
    let t0 = std::time::Instant::now();
    let result = pipeline::run(source, processor, &cfg, stop, |ev| {
        for n in notice_rx.try_iter() {
            match &bar {
                Some(b) => b.println(format!("warning: {n}")),
                None => eprintln!("warning: {n}"),
            }
        }
        match ev {
            Event::Output(mut r) => {
                track_record(&mut tracker, baseline.as_ref(), &mut r);
                if let Some(w) = json.as_mut() {
                    serde_json::to_writer(&mut *w, &r)?;
                    w.write_all(b"\n")?;
                }
                if let Some(rec) = &recorder {
                    rec.annotate(&r)?;
                }
                records.push(r);
            }
            Event::Gap(g) => {
                if let Some(rec) = &recorder {
                    rec.note_gap(&g);
                }
                gaps.push(g)
            }
            Event::Progress(p) => {
                if let Some(b) = &bar {
                    b.set_position(p);
                    let el = t0.elapsed().as_secs_f64().max(1e-9);
                    b.set_message(format!("{:.1} MS/s", p as f64 / el / 1e6));
                }
            }
        }
        Ok(())
    });
    for n in notice_rx.try_iter() {
        eprintln!("warning: {n}");
    }
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    // Whatever happened to the pipeline, close the outputs so what was written stays valid.
    let mut written: Vec<std::path::PathBuf> = Vec::new();
    let baseline_result = match &args.baseline_out {
        Some(p) => write_baseline(p, &input.data_path, tracker.emitters())
            .map(|()| written.push(p.clone())),
        None => Ok(()),
    };
    let json_result = match json.take() {
        Some(mut w) => w.flush().context("writing the JSON Lines output"),
        None => Ok(()),
    };
    if let Some(p) = args.json.as_ref().filter(|p| p.as_os_str() != "-") {
        written.push(p.clone());
    }
    let rec_result = match &recorder {
        Some(rec) => rec
            .finish()
            .map(|files| written.extend(files))
            .with_context(|| format!("closing the recording {}", rec.path().display())),
        None => Ok(()),
    };
    let manifest_result = if written.is_empty() {
        Ok(Vec::new())
    } else {
        manifest::add_to_manifests(&written).context("writing the SHA-256 manifest")
    };
    let (summary, processor) =
        result.with_context(|| format!("scanning {}", input.data_path.display()))?;
    json_result?;
    baseline_result?;
    rec_result?;
    let manifests = manifest_result?;
    let snaps = processor.report().clone();
    let scanner = processor.inner();

    // Human summary: stderr, so standard output stays pure JSON Lines with `--json -`.
    let mut err = std::io::stderr().lock();
    let dur = summary.samples_processed as f64 / fs;
    writeln!(
        err,
        "{}: {:.3} s at {:.3} MS/s{}; {} detections",
        input.data_path.display(),
        dur,
        fs / 1e6,
        input
            .frequency_hz
            .map(|f| format!(", centre {:.4} MHz", f / 1e6))
            .unwrap_or_default(),
        records.len()
    )?;
    let mut per_kind: BTreeMap<String, usize> = BTreeMap::new();
    for r in &records {
        let k = format!(
            "{}/{}",
            kind_name(r.kind),
            serde_json::to_value(r.tech)?.as_str().unwrap_or("?")
        );
        *per_kind.entry(k).or_default() += 1;
    }
    for (k, n) in &per_kind {
        writeln!(err, "  {n:5}  {k}")?;
    }
    let mut strongest: Vec<&DetectionRecord> = records.iter().collect();
    strongest.sort_by(|a, b| b.power_dbfs.total_cmp(&a.power_dbfs));
    if !strongest.is_empty() {
        writeln!(err, "  strongest:")?;
        for r in strongest.iter().take(5) {
            writeln!(
                err,
                "    {:>8} {:>7.3} s  {:+9.1} kHz  {:7.1} kHz wide  {:6.1} dBFS  SNR {:5.1} dB",
                kind_name(r.kind),
                r.t_start_s,
                r.freq_offset_hz / 1e3,
                r.bandwidth_hz / 1e3,
                r.power_dbfs,
                r.snr_db
            )?;
        }
    }
    print_emitters(&mut err, tracker.emitters())?;
    writeln!(
        err,
        "  dropped samples: {} in {} gaps{}",
        summary.samples_dropped,
        summary.gaps,
        gaps.first()
            .map(|g: &pipeline::Gap| format!(" (first at sample {})", g.first_sample))
            .unwrap_or_default()
    )?;
    writeln!(
        err,
        "  processing: {:.1} MS/s ({:.1}x real time){}",
        summary.samples_processed as f64 / summary.elapsed_s.max(1e-9) / 1e6,
        dur / summary.elapsed_s.max(1e-9),
        if summary.interrupted {
            "; interrupted: outputs cover what was processed"
        } else {
            ""
        }
    )?;
    if let Ok(h) = health_summary.lock() {
        writeln!(err, "  {}", h.line())?;
    }
    if let Some(rec) = &recorder {
        writeln!(err, "  recorded: {}", rec.path().display())?;
    }
    if args.snapshots.is_some() {
        writeln!(
            err,
            "  snapshots: {} written{}{}",
            snaps.written,
            if snaps.truncated > 0 {
                format!(", {} cut short", snaps.truncated)
            } else {
                String::new()
            },
            args.snapshots
                .as_ref()
                .map(|d| format!(" in {}", d.display()))
                .unwrap_or_default()
        )?;
        for f in &snaps.failures {
            writeln!(err, "warning: snapshot not written: {f}")?;
        }
    }
    for m in &manifests {
        writeln!(err, "  SHA-256 manifest: {}", m.display())?;
    }
    for w in &summary.warnings {
        writeln!(err, "warning: {w}")?;
    }
    if args.stats {
        writeln!(err, "  detector counters:")?;
        for (name, counters) in scanner.stats() {
            let c: Vec<String> = counters.iter().map(|(k, n)| format!("{k}={n}")).collect();
            writeln!(err, "    {name}: {}", c.join(" "))?;
        }
    }
    Ok(())
}

/// Builds the scanner for `input`: the detectors `which` (default: [`detectors::Which::DEFAULT`])
/// with a budget of `false_alarms_per_hour` per monitored MHz. Returns it with the detector
/// warnings for the user.
pub fn build_scanner(
    input: &IqInput,
    which: Option<&[detectors::Which]>,
    false_alarms_per_hour: f64,
) -> Result<(Scanner, Vec<String>)> {
    let fs = input.sample_rate_hz;
    let ctx = CaptureContext {
        sample_rate_hz: fs,
        center_freq_hz: input.frequency_hz,
        start_time: input.start_time,
    };
    let which = which.unwrap_or(&detectors::Which::DEFAULT);
    let (dets, warnings) = detectors::build(fs, false_alarms_per_hour, which)
        .with_context(|| format!("setting up the detectors for {}", input.data_path.display()))?;
    Ok((Scanner::new(dets, ctx, 0.25), warnings))
}

/// Assigns `r` to an emitter of `tracker` and, with a baseline, marks every emitter known or
/// new and copies the mark of `r`'s emitter into `r.emitter_known`.
pub fn track_record(tracker: &mut Tracker, baseline: Option<&Baseline>, r: &mut DetectionRecord) {
    tracker.add(r);
    if let Some(b) = baseline {
        tracker.mark(b);
        let id = r.emitter;
        r.emitter_known = tracker
            .emitters()
            .iter()
            .find(|e| Some(e.id) == id)
            .and_then(|e| e.known);
    }
}

/// A progress bar on stderr when `enabled` and stderr is a terminal (a bar over `total`
/// samples, or a spinner when the length is unknown).
pub fn progress_bar(enabled: bool, total: Option<u64>) -> Option<ProgressBar> {
    if !enabled || !std::io::stderr().is_terminal() {
        return None;
    }
    let b = match total {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::new_spinner(),
    };
    b.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {percent:>3}% {msg} ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    Some(b)
}

/// What [`scan_file`] found.
#[derive(Debug, Clone)]
pub struct ScanOutcome {
    /// The detection records, in the order the bursts end, with their emitter ids (and
    /// `emitter_known` with a baseline).
    pub records: Vec<DetectionRecord>,
    /// The emitters, in order of first appearance (marked known/new with a baseline).
    pub emitters: Vec<Emitter>,
    /// Pipeline totals.
    pub summary: pipeline::RunSummary,
    /// Samples that never reached the detectors.
    pub gaps: Vec<pipeline::Gap>,
    /// Warnings for the user (detector set-up, source).
    pub warnings: Vec<String>,
}

/// Scans an opened input with the detectors `which` (default set when `None`) at
/// `false_alarms_per_hour` per monitored MHz, tracking emitters (and marking them against
/// `baseline`), as `scan` does without its outputs. `progress`: a progress bar on a terminal.
pub fn scan_file(
    input: &IqInput,
    which: Option<&[detectors::Which]>,
    false_alarms_per_hour: f64,
    baseline: Option<&Baseline>,
    progress: bool,
) -> Result<ScanOutcome> {
    let fs = input.sample_rate_hz;
    let (scanner, mut warnings) = build_scanner(input, which, false_alarms_per_hour)?;
    let reader = input
        .reader(BLOCK)
        .with_context(|| format!("reading {}", input.data_path.display()))?;
    let bar = progress_bar(progress, input.sigmf.as_ref().map(|r| r.num_samples()));
    let mut tracker = Tracker::new(TrackConfig::default());
    let mut records = Vec::new();
    let mut gaps = Vec::new();
    let stop = Arc::new(AtomicBool::new(false));
    let result = pipeline::run(
        FileSource::new(reader, fs),
        scanner,
        &PipelineConfig::default(),
        stop,
        |ev| {
            match ev {
                Event::Output(mut r) => {
                    track_record(&mut tracker, baseline, &mut r);
                    records.push(r);
                }
                Event::Gap(g) => gaps.push(g),
                Event::Progress(p) => {
                    if let Some(b) = &bar {
                        b.set_position(p);
                    }
                }
            }
            Ok(())
        },
    );
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let (summary, _) = result.with_context(|| format!("scanning {}", input.data_path.display()))?;
    warnings.extend(summary.warnings.iter().cloned());
    Ok(ScanOutcome {
        records,
        emitters: tracker.emitters().to_vec(),
        summary,
        gaps,
        warnings,
    })
}

/// Writes the emitters heard as a baseline file.
fn write_baseline(
    path: &std::path::Path,
    source: &std::path::Path,
    emitters: &[Emitter],
) -> Result<()> {
    let b = Baseline {
        ciot_sweep_baseline: Baseline::VERSION,
        created_utc: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        source: source.display().to_string(),
        command_line: command_line(),
        emitters: emitters.to_vec(),
    };
    let text = serde_json::to_string_pretty(&b)?;
    std::fs::write(path, text)
        .with_context(|| format!("writing the baseline {}", path.display()))?;
    eprintln!(
        "baseline: {} emitters written to {}",
        emitters.len(),
        path.display()
    );
    Ok(())
}

/// Prints the emitter table (strongest first, at most 12 rows).
pub fn print_emitters(err: &mut impl Write, emitters: &[Emitter]) -> Result<()> {
    if emitters.is_empty() {
        return Ok(());
    }
    writeln!(err, "  emitters: {}", emitters.len())?;
    let mut v: Vec<&Emitter> = emitters.iter().collect();
    v.sort_by(|a, b| b.peak_dbfs.total_cmp(&a.peak_dbfs));
    for e in v.iter().take(12) {
        let kinds: Vec<&str> = e.kinds.iter().map(|k| kind_name(*k)).collect();
        let f = if e.freq_is_absolute {
            format!("{:10.4} MHz", e.freq_hz / 1e6)
        } else {
            format!("{:+9.1} kHz", e.freq_hz / 1e3)
        };
        let behaviour: Vec<String> = e.behaviour.iter().map(|b| b.text()).collect();
        writeln!(
            err,
            "    #{:<3} {:7} {:15} {f}  {:4} bursts  {:6.1} dBFS (peak {:6.1}) {}  {}{}",
            e.id,
            serde_json::to_value(e.tech)?.as_str().unwrap_or("?"),
            kinds.join("+"),
            e.bursts,
            e.power_dbfs,
            e.peak_dbfs,
            e.trend.arrow(),
            behaviour.join(", "),
            match e.known {
                Some(true) => "  [known]",
                Some(false) => "  [NEW]",
                None => "",
            }
        )?;
    }
    Ok(())
}

/// The command line as typed (for recordings and reports).
pub fn command_line() -> String {
    std::env::args()
        .map(|a| {
            if a.contains(char::is_whitespace) {
                format!("'{a}'")
            } else {
                a
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `kind` string of the contract.
pub fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Nprach => "nprach",
        Kind::Npusch => "npusch",
        Kind::Prach => "prach",
        Kind::Pusch => "pusch",
        Kind::Pucch => "pucch",
        Kind::Scfdma => "scfdma",
        Kind::Unknown => "unknown",
    }
}
