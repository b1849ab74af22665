//! `ciot-sweep sweep --device ARGS --band B20 | --region eu | --frequency HZ...`: cycles a
//! device over tunings (see [`crate::sweep`]), printing each tuning and each detection,
//! optionally writing JSON Lines and a recording of the whole sweep.

use crate::bands;
use crate::cli::{SweepArgs, UsageError};
use anyhow::Result;

/// The centre frequencies the arguments ask for.
pub fn centers(args: &SweepArgs) -> Result<Vec<f64>> {
    let given = usize::from(!args.band.is_empty())
        + usize::from(args.region.is_some())
        + usize::from(!args.frequency.is_empty());
    if given != 1 {
        return Err(UsageError(
            "give one of --band B.. (repeatable), --region uk|eu|us or --frequency HZ (repeatable)"
                .into(),
        )
        .into());
    }
    if !args.frequency.is_empty() {
        return Ok(args.frequency.clone());
    }
    let list: Vec<&'static bands::Band> = match &args.region {
        Some(r) => bands::region(r)?,
        None => args
            .band
            .iter()
            .map(|&id| bands::band(id).ok_or_else(|| UsageError(format!("no band B{id}"))))
            .collect::<Result<_, _>>()?,
    };
    Ok(bands::plan_region(&list, args.sample_rate)
        .iter()
        .map(|t| t.center_hz)
        .collect())
}

/// Runs the command.
pub fn run(args: &SweepArgs) -> Result<()> {
    let centers = centers(args)?;
    let Some(dev) = args.device.device.clone() else {
        return Err(UsageError("sweep needs --device ARGS (e.g. driver=hackrf)".into()).into());
    };
    run_device(args, &dev, centers)
}

#[cfg(not(feature = "soapy"))]
fn run_device(_args: &SweepArgs, dev: &str, _centers: Vec<f64>) -> Result<()> {
    anyhow::bail!(
        "cannot open device \"{dev}\": this build of ciot-sweep lacks the `soapy` feature; \
         rebuild with `cargo build --release --features soapy` (needs libsoapysdr-dev)"
    )
}

#[cfg(feature = "soapy")]
fn run_device(args: &SweepArgs, dev: &str, centers: Vec<f64>) -> Result<()> {
    use crate::commands::scan::{close_outputs, open_json, open_recorder};
    use crate::evidence::CaptureInfo;
    use crate::soapy::{DeviceSettings, SoapySource};
    use crate::sweep::{SweepConfig, SweepEvent};
    use crate::track::{TrackConfig, Tracker};
    use anyhow::Context;
    use std::io::Write;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    let first = centers[0];
    // The HackRF's baseband filter must pass the usable 80% of the band (bands.rs).
    let bandwidth_hz = args
        .device
        .bandwidth
        .or(Some(bands::USABLE_FRACTION * args.sample_rate));
    let settings = DeviceSettings {
        args: dev.to_string(),
        sample_rate_hz: args.sample_rate,
        center_hz: first,
        bandwidth_hz,
        antenna: args.device.antenna.clone(),
        gains: args.device.gain.clone(),
        gain_db: args.device.gain_db,
        stream_format: args.device.stream_format.parse().map_err(UsageError)?,
    };
    let mut src = SoapySource::open(&settings)?;
    src.set_report_overflows(!args.quiet);
    let info = src.capture_info().clone();
    let start_time = Some(chrono::Utc::now());
    let cinfo = CaptureInfo {
        sample_rate_hz: info.sample_rate_hz,
        center_hz: Some(info.center_hz),
        start_time,
        device: info.hw_description(),
        gains_db: info.gains_db.clone(),
        format: if info.stream_format.eq_ignore_ascii_case("cs8") {
            crate::iq::SampleFormat::Ci8
        } else {
            crate::iq::SampleFormat::Cf32Le
        },
        command_line: crate::commands::scan::command_line(),
    };
    let recorder = open_recorder(args.record.as_deref(), &cinfo)?;
    let mut json = open_json(args.json.as_deref())?;
    let cfg = SweepConfig {
        centers_hz: centers.clone(),
        dwell_s: args.dwell,
        settle_s: args.settle_ms / 1e3,
        cycles: args.cycles,
        false_alarms_per_hour: args.false_alarms_per_hour,
        which: args
            .detectors
            .clone()
            .unwrap_or_else(|| crate::detectors::Which::DEFAULT.to_vec()),
        start_time,
    };
    eprintln!(
        "{}: sweeping {} tunings at {:.2} MS/s, {:.1} s dwell ({:.0} ms settling){}",
        info.device_name(),
        centers.len(),
        info.sample_rate_hz / 1e6,
        cfg.dwell_s,
        cfg.settle_s * 1e3,
        cfg.cycles
            .map(|c| format!(", {c} cycles"))
            .unwrap_or_else(|| ", until Ctrl-C".into())
    );
    let stop = Arc::new(AtomicBool::new(false));
    {
        let s = stop.clone();
        let _ = ctrlc::set_handler(move || s.store(true, std::sync::atomic::Ordering::Relaxed));
    }
    let mut tracker = Tracker::new(TrackConfig::default());
    let mut n_det = 0u64;
    let quiet = args.quiet;
    let result = crate::sweep::run(src, &cfg, recorder.clone(), stop, |ev| {
        match ev {
            SweepEvent::Tuned {
                center_hz,
                first_sample,
            } => {
                if !quiet {
                    let bands: Vec<String> = bands::BANDS
                        .iter()
                        .filter(|b| b.ul_low_hz <= center_hz && center_hz <= b.ul_high_hz)
                        .map(|b| format!("B{}", b.id))
                        .collect();
                    eprintln!(
                        "tuned {:.4} MHz ({}) from sample {first_sample}",
                        center_hz / 1e6,
                        if bands.is_empty() {
                            "no band".into()
                        } else {
                            bands.join("/")
                        }
                    );
                }
            }
            SweepEvent::Detection(mut r) => {
                tracker.add(&mut r);
                n_det += 1;
                if let Some(w) = json.as_mut() {
                    serde_json::to_writer(&mut *w, &r)?;
                    w.write_all(b"\n")?;
                }
                if !quiet {
                    eprintln!(
                        "  {:8.3} s  {:8} {:7} {:10.4} MHz  {:6.1} dBFS  SNR {:5.1} dB  emitter #{}",
                        r.t_start_s,
                        crate::commands::scan::kind_name(r.kind),
                        serde_json::to_value(r.tech)?.as_str().unwrap_or("?"),
                        r.freq_hz.unwrap_or(0.0) / 1e6,
                        r.power_dbfs,
                        r.snr_db,
                        r.emitter.unwrap_or(0)
                    );
                }
            }
            SweepEvent::Gap(g) => {
                if !quiet && g.cause == crate::pipeline::GapCause::RingFull {
                    eprintln!(
                        "  {} samples dropped at sample {} (processing too slow)",
                        g.count, g.first_sample
                    );
                }
            }
        }
        Ok(())
    });
    // Close every output whatever happened (a lost device too).
    let closed = close_outputs(
        json.take(),
        args.json.as_deref(),
        recorder.as_ref(),
        Vec::new(),
    );
    closed.manifests?;
    let summary = result.with_context(|| format!("sweeping with {dev}"))?;
    closed.json?;
    closed.recording?;
    let mut err = std::io::stderr().lock();
    writeln!(
        err,
        "sweep: {} dwells, {} detections, {} samples analysed, {} settling, {} dropped{}",
        summary.dwells,
        n_det,
        summary.samples_processed,
        summary.samples_settling,
        summary.samples_dropped,
        if summary.interrupted {
            " (stopped)"
        } else {
            ""
        }
    )?;
    crate::commands::scan::print_emitters(&mut err, tracker.emitters())?;
    for w in &summary.warnings {
        writeln!(err, "warning: {w}")?;
    }
    Ok(())
}
