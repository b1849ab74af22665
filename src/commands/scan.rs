//! `ciot-sweep scan INPUT | --device ARGS`: a recording or a live SDR through the detection
//! pipeline.

use crate::cli::{ScanArgs, UsageError};
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
use std::path::{Path, PathBuf};
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
    let path = a
        .input
        .as_deref()
        .ok_or_else(|| UsageError("no INPUT recording given".into()))?;
    let format = match &a.format {
        Some(f) => Some(f.parse::<SampleFormat>()?),
        None => None,
    };
    Ok(IqInput::open(path, format, a.sample_rate, a.frequency)?)
}

/// Sample rate of a device when `--sample-rate` is not given: 15.36 MS/s, an LTE rate
/// (no resampling) that a HackRF's 20 MHz front end covers; it spans a 10 MHz LTE carrier
/// plus margin.
pub const DEFAULT_DEVICE_RATE_HZ: f64 = 15.36e6;

/// Device overflows so far: (sample index, samples lost when known).
type OverflowReport = Box<dyn Fn() -> Vec<(u64, Option<u64>)>>;

/// The source `scan` reads, chosen from the arguments.
struct ScanSource {
    source: LimitedSource,
    ctx: CaptureContext,
    /// The file or device, for messages.
    name: String,
    /// Samples in the input, when known (progress bar).
    total: Option<u64>,
    /// Device overflows (live sources only).
    overflows: Option<OverflowReport>,
    /// Native sample format (what a recording stores).
    format: SampleFormat,
    /// Device (driver, serial) or replayed file, for recordings.
    device: String,
    /// Gains applied, dB.
    gains_db: Vec<(String, f64)>,
    /// A HackRF-like gain chain (AMP/LNA/VGA): health advice names the stage.
    hackrf_like: bool,
}

/// Any source, ended after `limit` samples (`--duration`).
struct LimitedSource {
    inner: Box<dyn Source>,
    limit: Option<u64>,
    done: bool,
}

impl Source for LimitedSource {
    fn read_block(&mut self, block: &mut IqBlock) -> Result<bool> {
        if self.done || !self.inner.read_block(block)? {
            return Ok(false);
        }
        if let Some(limit) = self.limit {
            if block.first_sample >= limit {
                self.done = true;
                return Ok(false);
            }
            let keep = (limit - block.first_sample).min(block.len() as u64) as usize;
            block.samples.truncate(keep);
            self.done = block.end_sample() >= limit;
        }
        Ok(true)
    }
    fn sample_rate_hz(&self) -> f64 {
        self.inner.sample_rate_hz()
    }
    fn is_live(&self) -> bool {
        self.inner.is_live()
    }
    fn take_warnings(&mut self) -> Vec<String> {
        self.inner.take_warnings()
    }
}

/// Opens the recording or the device the arguments name (exactly one of them).
fn open_source(args: &ScanArgs) -> Result<ScanSource> {
    let mut s = match (&args.input.input, &args.device.device) {
        (Some(_), None) => open_file_source(args)?,
        (None, Some(dev)) => open_device_source(args, dev)?,
        _ => {
            return Err(UsageError("give exactly one of INPUT or --device ARGS".into()).into());
        }
    };
    s.source.limit = args
        .duration
        .map(|d| (d * s.ctx.sample_rate_hz).ceil() as u64);
    if let (Some(t), Some(l)) = (s.total, s.source.limit) {
        s.total = Some(t.min(l));
    }
    Ok(s)
}

fn open_file_source(args: &ScanArgs) -> Result<ScanSource> {
    let input = open_input(&args.input)?;
    for w in &input.warnings {
        eprintln!("warning: {w}");
    }
    let reader = input.reader(BLOCK)?;
    Ok(ScanSource {
        source: LimitedSource {
            inner: Box::new(FileSource::new(reader, input.sample_rate_hz)),
            limit: None,
            done: false,
        },
        ctx: CaptureContext {
            sample_rate_hz: input.sample_rate_hz,
            center_freq_hz: input.frequency_hz,
            start_time: input.start_time,
        },
        name: input.data_path.display().to_string(),
        total: input.sigmf.as_ref().map(|r| r.num_samples()),
        overflows: None,
        format: input.format,
        device: input
            .sigmf
            .as_ref()
            .and_then(|r| r.meta.global.hw.clone())
            .map(|hw| {
                format!(
                    "replay of {} (recorded with {hw})",
                    input.data_path.display()
                )
            })
            .unwrap_or_else(|| format!("replay of {}", input.data_path.display())),
        gains_db: Vec::new(),
        hackrf_like: false,
    })
}

#[cfg(not(feature = "soapy"))]
fn open_device_source(_args: &ScanArgs, dev: &str) -> Result<ScanSource> {
    anyhow::bail!(
        "cannot open device \"{dev}\": this build of ciot-sweep lacks the `soapy` feature; \
         rebuild with `cargo build --release --features soapy` (needs libsoapysdr-dev)"
    )
}

#[cfg(feature = "soapy")]
fn open_device_source(args: &ScanArgs, dev: &str) -> Result<ScanSource> {
    use crate::soapy::{DeviceSettings, SoapySource};
    if args.input.format.is_some() {
        return Err(UsageError(
            "--format is for raw files; a device's stream format is --stream-format".into(),
        )
        .into());
    }
    let center_hz = args.input.frequency.ok_or_else(|| {
        UsageError(format!(
            "--device {dev} needs --frequency HZ, the centre frequency to tune \
             (e.g. --frequency 847M for the band 20 uplink)"
        ))
    })?;
    let settings = DeviceSettings {
        args: dev.to_string(),
        sample_rate_hz: args.input.sample_rate.unwrap_or(DEFAULT_DEVICE_RATE_HZ),
        center_hz,
        bandwidth_hz: args.device.bandwidth,
        antenna: args.device.antenna.clone(),
        gains: args.device.gain.clone(),
        gain_db: args.device.gain_db,
        stream_format: args.device.stream_format.parse().map_err(UsageError)?,
    };
    let mut src = SoapySource::open(&settings)?;
    src.set_report_overflows(!args.quiet);
    let info = src.capture_info().clone();
    if !args.quiet {
        let gains: Vec<String> = info
            .gains_db
            .iter()
            .map(|(n, g)| format!("{n}={g}"))
            .collect();
        eprintln!(
            "{}: {:.6} MS/s at {:.6} MHz{}{}, gains {} dB (fixed), stream {}",
            src.device_name(),
            info.sample_rate_hz / 1e6,
            info.center_hz / 1e6,
            info.bandwidth_hz
                .map(|b| format!(", bandwidth {:.3} MHz", b / 1e6))
                .unwrap_or_default(),
            info.antenna
                .as_deref()
                .map(|a| format!(", antenna {a}"))
                .unwrap_or_default(),
            gains.join(" "),
            info.stream_format
        );
    }
    let log = src.overflow_log();
    let name = src.device_name().to_string();
    Ok(ScanSource {
        source: LimitedSource {
            inner: Box::new(src),
            limit: None,
            done: false,
        },
        ctx: CaptureContext {
            sample_rate_hz: info.sample_rate_hz,
            center_freq_hz: Some(info.center_hz),
            // The stream starts at the first read, moments from now.
            start_time: Some(chrono::Utc::now()),
        },
        name,
        total: None,
        overflows: Some(Box::new(move || {
            log.snapshot()
                .iter()
                .map(|o| (o.at_sample, o.lost_samples))
                .collect()
        })),
        format: if info.stream_format.eq_ignore_ascii_case("cs8") {
            SampleFormat::Ci8
        } else {
            SampleFormat::Cf32Le
        },
        device: info.hw_description(),
        hackrf_like: info.gains_db.iter().any(|(n, _)| n == "LNA")
            && info.gains_db.iter().any(|(n, _)| n == "VGA"),
        gains_db: info.gains_db.clone(),
    })
}

/// Starts the recording `--record PATH` asks for (none without it).
pub fn open_recorder(path: Option<&Path>, info: &CaptureInfo) -> Result<Option<Recorder>> {
    path.map(|p| {
        open_sink(p, info)
            .map(Recorder::new)
            .with_context(|| format!("starting the recording {}", p.display()))
    })
    .transpose()
}

/// Opens the JSON Lines output `--json PATH` asks for: `-` is standard output, any other
/// path a file created (or truncated) now; none without it.
pub fn open_json(path: Option<&Path>) -> Result<Option<Box<dyn Write>>> {
    Ok(match path {
        Some(p) if p.as_os_str() == "-" => {
            Some(Box::new(std::io::BufWriter::new(std::io::stdout().lock())))
        }
        Some(p) => Some(Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        ))),
        None => None,
    })
}

/// What became of each output closed by [`close_outputs`], for the caller to report in its
/// own order.
pub struct ClosedOutputs {
    /// Flushing the JSON Lines output.
    pub json: Result<()>,
    /// Finishing the recording.
    pub recording: Result<()>,
    /// Adding the files written to the SHA-256 manifests: the manifests written (none when
    /// no file was written).
    pub manifests: Result<Vec<PathBuf>>,
}

/// Closes the outputs at the end of a run, whatever happened to the run, so that what was
/// written stays valid: flushes the JSON Lines output `json` (written to `json_path`, `-`
/// for standard output), finishes the recording and adds the files written to the SHA-256
/// manifests of their folders. `written` are files the caller has written already; the
/// JSON Lines file (not standard output) and the recording's files follow them. Every step
/// runs even when one before it failed.
pub fn close_outputs(
    json: Option<Box<dyn Write>>,
    json_path: Option<&Path>,
    recorder: Option<&Recorder>,
    mut written: Vec<PathBuf>,
) -> ClosedOutputs {
    let json = match json {
        Some(mut w) => w.flush().context("writing the JSON Lines output"),
        None => Ok(()),
    };
    if let Some(p) = json_path.filter(|p| p.as_os_str() != "-") {
        written.push(p.to_path_buf());
    }
    let recording = match recorder {
        Some(rec) => rec
            .finish()
            .map(|files| written.extend(files))
            .with_context(|| format!("closing the recording {}", rec.path().display())),
        None => Ok(()),
    };
    let manifests = if written.is_empty() {
        Ok(Vec::new())
    } else {
        manifest::add_to_manifests(&written).context("writing the SHA-256 manifest")
    };
    ClosedOutputs {
        json,
        recording,
        manifests,
    }
}

/// Runs the command.
pub fn run(args: &ScanArgs) -> Result<()> {
    if let Some(band) = args.band {
        return run_band(args, band);
    }
    // `locate --audio`: the sound card first (a build without the feature stops here, before
    // any input is opened; a missing sound card is one warning and no sound).
    let audio = match &args.locate {
        Some(o) if o.audio => crate::commands::locate::open_audio()?,
        _ => None,
    };
    let ScanSource {
        source,
        ctx,
        name,
        total,
        overflows,
        format,
        device,
        gains_db,
        hackrf_like,
    } = open_source(args)?;
    let fs = ctx.sample_rate_hz;
    let which = args
        .detectors
        .clone()
        .unwrap_or_else(|| detectors::Which::DEFAULT.to_vec());
    let (dets, det_warnings) = detectors::build(fs, args.false_alarms_per_hour, &which)
        .with_context(|| format!("setting up the detectors for {name}"))?;
    for w in &det_warnings {
        eprintln!("warning: {w}");
    }
    let scanner = Scanner::new(dets, ctx, 0.25);
    let info = CaptureInfo {
        sample_rate_hz: fs,
        center_hz: ctx.center_freq_hz,
        start_time: ctx.start_time,
        device,
        gains_db,
        format,
        command_line: command_line(),
    };

    // Evidence: the recorder sits in front of the ring (it keeps what the DSP drops), the
    // health monitor looks at every delivered sample, snapshots wrap the scanner.
    let recorder = open_recorder(args.record.as_deref(), &info)?;
    let (notice_tx, notice_rx) = crossbeam_channel::bounded::<String>(64);
    let health = HealthMonitor::new(format, fs, Some(notice_tx), hackrf_like);
    let health_summary = health.summary();
    let source = HealthSource::new(RecordingSource::new(source, recorder.clone()), health);
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

    let mut json = open_json(args.json.as_deref())?;

    let mut ui = match &args.locate {
        Some(opts) => Some(crate::commands::locate::LocateUi::new(
            format!(
                "{name}  {:.2} MS/s{}{}",
                fs / 1e6,
                ctx.center_freq_hz
                    .map(|f| format!("  centre {:.4} MHz", f / 1e6))
                    .unwrap_or_default(),
                match (&audio, opts.audio) {
                    (Some(_), _) => "  audio: clicks on the pinned emitter",
                    (None, true) => "  audio: no sound (the reason is on stderr)",
                    (None, false) => "",
                }
            ),
            opts.pin,
            audio.as_ref().map(|a| a.sender()),
        )?),
        None => None,
    };
    let bar = if ui.is_none() {
        progress_bar(!args.quiet, total)
    } else {
        None
    };

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
    let stop_ui = stop.clone();
    let result = pipeline::run(source, processor, &cfg, stop, |ev| {
        for n in notice_rx.try_iter() {
            match (&bar, ui.as_mut()) {
                (_, Some(u)) => u.notice(&n),
                (Some(b), None) => b.println(format!("warning: {n}")),
                (None, None) => eprintln!("warning: {n}"),
            }
        }
        match ev {
            Event::Output(mut r) => {
                track_record(&mut tracker, baseline.as_ref(), &mut r);
                if let Some(u) = ui.as_mut() {
                    if let Some(e) = tracker.emitters().iter().find(|e| Some(e.id) == r.emitter) {
                        u.on_detection(&r, e)?;
                    }
                    if u.quit {
                        stop_ui.store(true, std::sync::atomic::Ordering::Relaxed);
                    }
                }
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
                // Device overflows are reported by the source as they happen.
                if !args.quiet && g.cause == pipeline::GapCause::RingFull {
                    let msg = format!(
                        "{name}: {} samples dropped at sample {} (processing too slow)",
                        g.count, g.first_sample
                    );
                    match &bar {
                        Some(b) => b.println(msg),
                        None => eprintln!("{msg}"),
                    }
                }
                gaps.push(g)
            }
            Event::Progress(p) => {
                if let Some(u) = ui.as_mut() {
                    u.on_progress(p as f64 / fs)?;
                    if u.quit {
                        stop_ui.store(true, std::sync::atomic::Ordering::Relaxed);
                    }
                }
                if let Some(b) = &bar {
                    b.set_position(p);
                    let el = t0.elapsed().as_secs_f64().max(1e-9);
                    b.set_message(format!("{:.1} MS/s", p as f64 / el / 1e6));
                }
            }
        }
        Ok(())
    });
    if let Some(mut u) = ui.take() {
        if !u.quit {
            u.hold("end of input: q to quit".into())?;
        }
    }
    for n in notice_rx.try_iter() {
        eprintln!("warning: {n}");
    }
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    // Whatever happened to the pipeline, close the outputs so what was written stays valid.
    let mut written: Vec<std::path::PathBuf> = Vec::new();
    let baseline_result = match &args.baseline_out {
        Some(p) => write_baseline(p, std::path::Path::new(&name), tracker.emitters())
            .map(|()| written.push(p.clone())),
        None => Ok(()),
    };
    let closed = close_outputs(
        json.take(),
        args.json.as_deref(),
        recorder.as_ref(),
        written,
    );
    let (summary, processor) = result.with_context(|| format!("scanning {name}"))?;
    closed.json?;
    baseline_result?;
    closed.recording?;
    let manifests = closed.manifests?;
    let snaps = processor.report().clone();
    let scanner = processor.inner();

    // Human summary: stderr, so standard output stays pure JSON Lines with `--json -`.
    let mut err = std::io::stderr().lock();
    let dur = summary.samples_processed as f64 / fs;
    writeln!(
        err,
        "{}: {:.3} s at {:.3} MS/s{}; {} detections",
        name,
        dur,
        fs / 1e6,
        ctx.center_freq_hz
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
    const MAX_LISTED: usize = 20;
    for g in gaps.iter().take(MAX_LISTED) {
        writeln!(
            err,
            "    gap at sample {}: {} samples ({})",
            g.first_sample,
            g.count,
            match g.cause {
                pipeline::GapCause::Source => "device overflow",
                pipeline::GapCause::RingFull => "ring full: processing too slow",
            }
        )?;
    }
    if gaps.len() > MAX_LISTED {
        writeln!(err, "    ... and {} more gaps", gaps.len() - MAX_LISTED)?;
    }
    if let Some(report) = &overflows {
        let list = report();
        writeln!(err, "  device overflows: {}", list.len())?;
        for (at, lost) in list.iter().take(MAX_LISTED) {
            match lost {
                Some(l) => writeln!(err, "    overflow at sample {at}: {l} samples lost")?,
                None => writeln!(
                    err,
                    "    overflow at sample {at}: samples lost, count unknown (no device timestamps)"
                )?,
            }
        }
        if list.len() > MAX_LISTED {
            writeln!(
                err,
                "    ... and {} more overflows",
                list.len() - MAX_LISTED
            )?;
        }
    }
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
    if let Some(a) = &audio {
        writeln!(err, "  {}", a.summary())?;
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

/// `scan --device ARGS --band B..`: one tuning when the band fits in one capture at the
/// sample rate, else a sweep over the band's tunings.
fn run_band(args: &ScanArgs, band_id: u16) -> Result<()> {
    let Some(dev) = args.device.device.clone() else {
        return Err(UsageError(
            "--band is for a live --device; a recording's frequency comes from its metadata or \
             --frequency"
                .into(),
        )
        .into());
    };
    let band = crate::bands::band(band_id)
        .ok_or_else(|| UsageError(format!("no band B{band_id} in the table")))?;
    let rate = args.input.sample_rate.unwrap_or(DEFAULT_DEVICE_RATE_HZ);
    let plan = crate::bands::plan_tunings(band, rate);
    if let [one] = plan.as_slice() {
        let mut a = clone_scan_args(args);
        a.band = None;
        a.input.frequency = Some(one.center_hz);
        a.input.sample_rate = Some(one.sample_rate_hz);
        return run(&a);
    }
    eprintln!(
        "B{band_id} uplink ({:.1}-{:.1} MHz) needs {} tunings at {:.2} MS/s: sweeping them",
        band.ul_low_hz / 1e6,
        band.ul_high_hz / 1e6,
        plan.len(),
        rate / 1e6
    );
    let sweep = crate::cli::SweepArgs {
        device: crate::cli::DeviceArgs {
            device: Some(dev),
            ..args.device.clone()
        },
        band: vec![band_id],
        region: None,
        frequency: Vec::new(),
        sample_rate: rate,
        // With --duration: one pass over the tunings sharing it (at least 0.3 s each).
        dwell: args
            .duration
            .map(|d| (d / plan.len() as f64).max(0.3))
            .unwrap_or(crate::sweep::DEFAULT_DWELL_S),
        settle_ms: crate::sweep::DEFAULT_SETTLE_S * 1e3,
        cycles: args.duration.map(|_| 1),
        json: args.json.clone(),
        record: args.record.clone(),
        false_alarms_per_hour: args.false_alarms_per_hour,
        detectors: args.detectors.clone(),
        quiet: args.quiet,
    };
    crate::commands::sweep::run(&sweep)
}

fn clone_scan_args(a: &ScanArgs) -> ScanArgs {
    ScanArgs {
        input: a.input.clone(),
        device: a.device.clone(),
        duration: a.duration,
        band: a.band,
        json: a.json.clone(),
        stats: a.stats,
        realtime: a.realtime,
        false_alarms_per_hour: a.false_alarms_per_hour,
        detectors: a.detectors.clone(),
        quiet: a.quiet,
        record: a.record.clone(),
        snapshots: a.snapshots.clone(),
        snapshot_pre_ms: a.snapshot_pre_ms,
        snapshot_post_ms: a.snapshot_post_ms,
        baseline: a.baseline.clone(),
        baseline_out: a.baseline_out.clone(),
        locate: a.locate.clone(),
    }
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
