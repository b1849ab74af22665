//! `ciot-sweep report INPUT --out DIR`: the evidence report of a recording: plots (PNG and
//! SVG), `report.html`, `report.json` and a `SHA256SUMS` manifest in DIR.
//!
//! Detections come from `--detections FILE.jsonl` (grouped into emitters again here) or,
//! without it, from scanning the recording as `scan` would. The spectrum and spectrogram
//! come from one streaming pass over the file (bounded memory).

use super::scan::{kind_name, open_input, progress_bar, scan_file, track_record, BLOCK};
use crate::cli::ReportArgs;
use crate::detectors::Which;
use crate::evidence::manifest;
use crate::iq::{is_stdin_path, IqBlock, IqInput};
use crate::record::{sort_by_end, DetectionRecord};
use crate::report::plots::{
    self, PlotContext, PowerPlot, SpectrogramPlot, SpectrumPlot, TimelinePlot, PNG_SIZE,
};
use crate::report::spectrum::{SpectrumAccumulator, SpectrumConfig, SpectrumResult};
use crate::report::{
    bands_overlapping, grid_band, html, CaptureFacts, DetectionFacts, PlotFacts, ReportFacts,
    SpectrumFacts,
};
use crate::track::{Baseline, TrackConfig, Tracker};
use anyhow::{bail, Context, Result};
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// FFT length of the spectrum and spectrogram.
pub const FFT_LEN: usize = 1024;
/// Most time rows of the spectrogram.
pub const MAX_ROWS: usize = 1200;

/// Runs the command.
pub fn run(args: &ReportArgs) -> Result<()> {
    let Some(path) = args.input.input.as_deref() else {
        return Err(crate::cli::UsageError("report needs the INPUT recording".into()).into());
    };
    if is_stdin_path(path) {
        bail!("report reads the recording more than once: give a file, not standard input");
    }
    let input = open_input(&args.input)?;
    let mut warnings: Vec<String> = input.warnings.iter().map(|w| w.to_string()).collect();
    let total = total_samples(&input)?;
    let fs = input.sample_rate_hz;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating the report folder {}", args.out.display()))?;
    let baseline = match &args.baseline {
        Some(p) => Some(Baseline::read(p)?),
        None => None,
    };
    let which: Vec<Which> = args
        .detectors
        .clone()
        .unwrap_or_else(|| Which::DEFAULT.to_vec());

    // Detections and emitters.
    let (records, emitters, dropped) = match &args.detections {
        Some(p) => {
            let mut records = read_jsonl(p)?;
            sort_by_end(&mut records);
            let mut tracker = Tracker::new(TrackConfig::default());
            for r in &mut records {
                r.emitter = None;
                r.emitter_known = None;
                track_record(&mut tracker, baseline.as_ref(), r);
            }
            // Marks of emitters that changed after a record was placed: use the final ones.
            for r in &mut records {
                if baseline.is_some() {
                    r.emitter_known = tracker
                        .emitters()
                        .iter()
                        .find(|e| Some(e.id) == r.emitter)
                        .and_then(|e| e.known);
                }
            }
            (records, tracker.emitters().to_vec(), 0)
        }
        None => {
            let o = scan_file(
                &input,
                Some(&which),
                args.false_alarms_per_hour,
                baseline.as_ref(),
                !args.quiet,
            )?;
            warnings.extend(o.warnings);
            (o.records, o.emitters, o.summary.samples_dropped)
        }
    };

    // One streaming pass for the spectrum and the spectrogram.
    let spectrum = spectral_pass(&input, total, !args.quiet)?;

    let name = input
        .data_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| input.data_path.display().to_string());
    let ctx = PlotContext {
        sample_rate_hz: fs,
        center_hz: input.frequency_hz,
        total_samples: total,
        name,
    };
    let (bands, grid) = match input.frequency_hz {
        Some(fc) => (
            bands_overlapping(fc - fs / 2.0, fc + fs / 2.0),
            grid_band(fc, fs),
        ),
        None => (Vec::new(), None),
    };
    let out = &args.out;
    let mut written: Vec<PathBuf> = Vec::new();
    let mut plot_facts = Vec::new();
    let mut add = |name: &str, size: (u32, u32), caption: String, files: Vec<PathBuf>| {
        plot_facts.push(PlotFacts {
            name: name.into(),
            png: format!("{name}.png"),
            svg: format!("{name}.svg"),
            width_px: size.0,
            height_px: size.1,
            caption,
        });
        written.extend(files);
    };
    let (unit_s, unit) = ctx.time_unit();
    let bin_hz = fs / FFT_LEN as f64;
    let files = plots::render(
        &SpectrumPlot {
            ctx: &ctx,
            spectrum: &spectrum,
            bands: bands.clone(),
            grid_band: grid,
        },
        out,
        "spectrum",
        PNG_SIZE,
    )?;
    add(
        "spectrum",
        PNG_SIZE,
        format!(
            "Power spectrum: mean of {} Hann-windowed {FFT_LEN}-point FFT frames (Welch, 50 % \
             overlap) in black, maximum of any frame (max hold) in orange, in dBFS per {:.2} kHz \
             bin.{}",
            spectrum.frames,
            bin_hz / 1e3,
            match grid {
                Some(b) => format!(
                    " Red: uplink band edges of TS 36.101; green and blue: the 180 kHz and \
                     1.08 MHz grid counted from the {} uplink lower edge ({:.1} MHz; the \
                     operator's actual carrier placement may differ).",
                    b.label(),
                    b.ul_low_hz / 1e6
                ),
                None => String::new(),
            }
        ),
        files,
    );
    let sp = SpectrogramPlot {
        ctx: &ctx,
        spectrum: &spectrum,
        records: &records,
    };
    let (lo, hi) = sp.color_range_dbfs();
    let files = plots::render(&sp, out, "spectrogram", PNG_SIZE)?;
    let row_s = spectrum.samples_per_row / fs;
    add(
        "spectrogram",
        PNG_SIZE,
        format!(
            "Spectrogram: {} time rows of {:.3} {unit} (each the mean of the FFT frames it \
             covers) by {FFT_LEN} frequency bins, colour {lo:.0} to {hi:.0} dBFS per bin. \
             Each of the {} detections is boxed at its exact start, length, centre frequency \
             and bandwidth, coloured by kind and labelled with its emitter where room allows; \
             boxes are drawn at least {} pixels wide and tall.",
            spectrum.rows_dbfs.len(),
            row_s / unit_s,
            records.len(),
            plots::MIN_MARK_PX
        ),
        files,
    );
    let tsize = TimelinePlot::size(emitters.len());
    let files = plots::render(
        &TimelinePlot {
            ctx: &ctx,
            emitters: &emitters,
            records: &records,
        },
        out,
        "timeline",
        tsize,
    )?;
    add(
        "timeline",
        tsize,
        "Emitter timeline: one row per emitter (id, technology, kinds, frequency; known or \
         NEW against the baseline when one was given), one mark per burst coloured by kind."
            .into(),
        files,
    );
    let files = plots::render(
        &PowerPlot {
            ctx: &ctx,
            emitters: &emitters,
            records: &records,
        },
        out,
        "power",
        PNG_SIZE,
    )?;
    add(
        "power",
        PNG_SIZE,
        "Mean power of each burst (dBFS) over time, one line per emitter: a rising line while \
         the antenna moves means the source is being approached."
            .into(),
        files,
    );

    let sha = |p: &Path| -> Result<String> {
        manifest::sha256_file(p).with_context(|| format!("hashing {}", p.display()))
    };
    let (meta_file, meta_sha256) = match &input.sigmf {
        Some(rec) => (
            Some(rec.meta_path.display().to_string()),
            Some(sha(&rec.meta_path)?),
        ),
        None => (None, None),
    };
    let monitored_mhz = fs / 1e6;
    let facts = ReportFacts {
        software: format!("ciot-sweep {}", env!("CARGO_PKG_VERSION")),
        generated_utc: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        command_line: super::scan::command_line(),
        capture: CaptureFacts {
            data_file: input.data_path.display().to_string(),
            meta_file,
            format: input.format.to_string(),
            sample_rate_hz: fs,
            center_freq_hz: input.frequency_hz,
            samples: total,
            duration_s: total as f64 / fs,
            start_utc: input
                .start_time
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
            hw: input.sigmf.as_ref().and_then(|r| r.meta.global.hw.clone()),
            description: input
                .sigmf
                .as_ref()
                .and_then(|r| r.meta.global.description.clone()),
            data_sha256: sha(&input.data_path)?,
            meta_sha256,
        },
        detection: DetectionFacts {
            source: if args.detections.is_some() {
                "file".into()
            } else {
                "scan".into()
            },
            file: args.detections.as_ref().map(|p| p.display().to_string()),
            file_sha256: match &args.detections {
                Some(p) => Some(sha(p)?),
                None => None,
            },
            detectors: which.iter().map(|w| w.name().to_string()).collect(),
            false_alarms_per_hour_per_mhz: args.false_alarms_per_hour,
            monitored_mhz,
            false_alarms_per_hour: args.false_alarms_per_hour * monitored_mhz,
            expected_false_alarms_in_capture: args.false_alarms_per_hour
                * monitored_mhz
                * (total as f64 / fs)
                / 3600.0,
            settings_verified: args.detections.is_none(),
            baseline: args.baseline.as_ref().map(|p| p.display().to_string()),
            samples_dropped: dropped,
        },
        spectrum: SpectrumFacts {
            fft_len: FFT_LEN,
            bin_hz,
            frames: spectrum.frames,
            rows: spectrum.rows_dbfs.len(),
            row_s,
            bands: bands.iter().map(|b| b.label()).collect(),
            grid_band: grid.map(|b| b.label()),
        },
        emitters,
        detections_count: records.len(),
        detections: records,
        plots: plot_facts,
        warnings,
    };
    let json_path = out.join("report.json");
    let text = serde_json::to_string_pretty(&facts).context("serialising report.json")?;
    std::fs::write(&json_path, text).with_context(|| format!("writing {}", json_path.display()))?;
    written.push(json_path);
    let html_path = out.join("report.html");
    std::fs::write(&html_path, html::render(&facts))
        .with_context(|| format!("writing {}", html_path.display()))?;
    written.push(html_path.clone());
    let manifests = manifest::add_to_manifests(&written).context("writing the SHA-256 manifest")?;

    let mut per_kind: std::collections::BTreeMap<&str, usize> = Default::default();
    for r in &facts.detections {
        *per_kind.entry(kind_name(r.kind)).or_default() += 1;
    }
    let kinds: Vec<String> = per_kind.iter().map(|(k, n)| format!("{n} {k}")).collect();
    eprintln!(
        "report: {} ({} detections{}, {} emitters)",
        html_path.display(),
        facts.detections_count,
        if kinds.is_empty() {
            String::new()
        } else {
            format!(": {}", kinds.join(", "))
        },
        facts.emitters.len()
    );
    for m in &manifests {
        eprintln!("  SHA-256 manifest: {}", m.display());
    }
    for w in &facts.warnings {
        eprintln!("warning: {w}");
    }
    Ok(())
}

/// Samples in the input's data file.
fn total_samples(input: &IqInput) -> Result<u64> {
    if let Some(rec) = &input.sigmf {
        return Ok(rec.num_samples());
    }
    let len = std::fs::metadata(&input.data_path)
        .with_context(|| format!("reading the size of {}", input.data_path.display()))?
        .len();
    Ok(len / input.format.bytes_per_sample() as u64)
}

/// Reads detection records (JSON Lines; blank lines skipped).
pub fn read_jsonl(path: &Path) -> Result<Vec<DetectionRecord>> {
    let f = std::fs::File::open(path)
        .with_context(|| format!("opening the detections {}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in std::io::BufReader::new(f).lines().enumerate() {
        let line = line.with_context(|| format!("reading {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let r: DetectionRecord = serde_json::from_str(&line).with_context(|| {
            format!(
                "{} line {}: not a detection record (INTERFACES.md section 1)",
                path.display(),
                i + 1
            )
        })?;
        out.push(r);
    }
    Ok(out)
}

/// Streams the whole recording once through the spectrum accumulator.
fn spectral_pass(input: &IqInput, total: u64, progress: bool) -> Result<SpectrumResult> {
    let mut acc = SpectrumAccumulator::new(SpectrumConfig {
        fft_len: FFT_LEN,
        max_rows: MAX_ROWS,
        total_samples: total,
    })?;
    let mut reader = input
        .reader(BLOCK)
        .with_context(|| format!("reading {}", input.data_path.display()))?;
    let bar = progress_bar(progress, Some(total));
    if let Some(b) = &bar {
        b.set_message("spectrum");
    }
    let mut block = IqBlock::default();
    while reader
        .read_block(&mut block)
        .with_context(|| format!("reading {}", input.data_path.display()))?
    {
        acc.push(block.first_sample, &block.samples);
        if let Some(b) = &bar {
            b.set_position(block.end_sample());
        }
    }
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    acc.finish()
        .with_context(|| format!("spectrum of {}", input.data_path.display()))
}
