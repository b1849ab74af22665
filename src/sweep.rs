//! Sweeps: a tunable source (a SoapySDR device) visits a list of centre frequencies, dwelling
//! on each long enough to catch the NPRACH periods; the samples right after each retune are
//! settling (the tuner's PLL and the device's transfer buffers still hold the old
//! frequency): they are recorded, annotated `settling`, and never given to a detector.
//!
//! Each dwell runs the same streaming pipeline as `scan` with a scanner that knows the
//! dwell's centre frequency, so records carry the absolute frequency. Sample indices are the
//! device stream's, continuous across the sweep, so a sweep recording's annotations and the
//! JSON records agree.

use crate::detectors;
use crate::evidence::Recorder;
use crate::iq::IqBlock;
use crate::pipeline::{self, Event, Gap, PipelineConfig, Source};
use crate::record::DetectionRecord;
use crate::scan::{CaptureContext, Scanner};
use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Default dwell, seconds: one whole NPRACH period at the longest configurable periodicity
/// (2.56 s, TS 36.331 `nprach-Periodicity`) plus the longest preamble (format 1 with 128
/// repetitions: 128 x 6.4 ms = 819.2 ms, TS 36.211 10.1.6), rounded up.
pub const DEFAULT_DWELL_S: f64 = 3.5;
/// Default settling time after a retune, seconds: a HackRF's PLL locks in well under 1 ms,
/// but the USB transfer buffers (libhackrf: 15 transfers of 256 KiB, i.e. about 0.1 s at
/// 20 MS/s) still hold samples of the previous frequency.
pub const DEFAULT_SETTLE_S: f64 = 0.12;

/// A source that can be retuned while it streams.
pub trait Tunable: Source {
    /// Tunes to `center_hz`; samples read after this call come from the new frequency once
    /// the device has settled.
    fn retune(&mut self, center_hz: f64) -> Result<()>;
    /// Stream index of the next sample [`Source::read_block`] returns.
    fn next_sample(&self) -> u64;
}

/// What to sweep and how.
#[derive(Debug, Clone)]
pub struct SweepConfig {
    /// Centre frequencies to visit, Hz, in order.
    pub centers_hz: Vec<f64>,
    /// Seconds on each (settling included).
    pub dwell_s: f64,
    /// Seconds after each retune that are not signal.
    pub settle_s: f64,
    /// Passes over the list; `None` = until stopped.
    pub cycles: Option<u64>,
    /// False-alarm budget (as `scan`).
    pub false_alarms_per_hour: f64,
    /// Detectors.
    pub which: Vec<detectors::Which>,
    /// UTC time of stream sample 0.
    pub start_time: Option<DateTime<Utc>>,
}

/// What the sweep tells its caller.
#[derive(Debug)]
pub enum SweepEvent {
    /// A dwell starts: the centre frequency and the stream index of its first signal sample.
    Tuned {
        /// Centre frequency, Hz.
        center_hz: f64,
        /// First sample after settling.
        first_sample: u64,
    },
    /// A detection.
    Detection(DetectionRecord),
    /// Samples the detectors did not see (device overflow or ring drop).
    Gap(Gap),
}

/// Totals of a sweep.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SweepSummary {
    /// Dwells completed.
    pub dwells: u64,
    /// Samples given to the detectors.
    pub samples_processed: u64,
    /// Samples set aside as settling.
    pub samples_settling: u64,
    /// Samples missing (device overflows, ring drops).
    pub samples_dropped: u64,
    /// Stopped before the planned cycles.
    pub interrupted: bool,
    /// Source warnings.
    pub warnings: Vec<String>,
}

/// The device shared across dwells.
type Shared<T> = Arc<Mutex<T>>;

/// One dwell's view of the device: settling samples are recorded and cut off, the dwell
/// ends at the first block boundary past its length.
struct DwellSource<T> {
    dev: Shared<T>,
    fs: f64,
    settle_until: u64,
    end: u64,
    recorder: Option<Recorder>,
    settling_seen: Arc<Mutex<u64>>,
    ended: Arc<AtomicBool>,
}

impl<T: Tunable> Source for DwellSource<T> {
    fn read_block(&mut self, block: &mut IqBlock) -> Result<bool> {
        loop {
            let mut dev = self.dev.lock().unwrap_or_else(|p| p.into_inner());
            if dev.next_sample() >= self.end {
                return Ok(false);
            }
            if !dev.read_block(block)? {
                self.ended.store(true, Ordering::Relaxed);
                return Ok(false);
            }
            drop(dev);
            if let Some(r) = &self.recorder {
                r.write_block(block).context("recording the sweep")?;
            }
            if block.first_sample >= self.settle_until {
                return Ok(true);
            }
            let cut = (self.settle_until - block.first_sample).min(block.len() as u64);
            *self.settling_seen.lock().unwrap_or_else(|p| p.into_inner()) += cut;
            if cut < block.len() as u64 {
                block.samples.drain(..cut as usize);
                block.first_sample += cut;
                return Ok(true);
            }
        }
    }
    fn sample_rate_hz(&self) -> f64 {
        self.fs
    }
    fn is_live(&self) -> bool {
        true
    }
}

/// Runs a sweep until its cycles are done or `stop` is set. The device is retuned to each
/// centre in turn; `on_event` sees every dwell start, detection and gap.
pub fn run<T, F>(
    device: T,
    cfg: &SweepConfig,
    recorder: Option<Recorder>,
    stop: Arc<AtomicBool>,
    mut on_event: F,
) -> Result<SweepSummary>
where
    T: Tunable + 'static,
    F: FnMut(SweepEvent) -> Result<()>,
{
    anyhow::ensure!(
        !cfg.centers_hz.is_empty(),
        "nothing to sweep: no centre frequency"
    );
    anyhow::ensure!(
        cfg.dwell_s > cfg.settle_s && cfg.settle_s >= 0.0,
        "the dwell ({} s) must be longer than the settling time ({} s)",
        cfg.dwell_s,
        cfg.settle_s
    );
    let fs = device.sample_rate_hz();
    let dev: Shared<T> = Arc::new(Mutex::new(device));
    let dwell = (cfg.dwell_s * fs).round() as u64;
    let settle = (cfg.settle_s * fs).round() as u64;
    let mut summary = SweepSummary::default();
    let settling_seen = Arc::new(Mutex::new(0u64));
    let ended = Arc::new(AtomicBool::new(false));
    let mut cycle = 0u64;
    'sweep: loop {
        if cfg.cycles.is_some_and(|c| cycle >= c) {
            break;
        }
        for &center in &cfg.centers_hz {
            if stop.load(Ordering::Relaxed) {
                summary.interrupted = true;
                break 'sweep;
            }
            let at = {
                let mut d = dev.lock().unwrap_or_else(|p| p.into_inner());
                d.retune(center)
                    .with_context(|| format!("retuning to {:.4} MHz", center / 1e6))?;
                d.next_sample()
            };
            if let Some(r) = &recorder {
                r.retune(at, center, settle);
            }
            on_event(SweepEvent::Tuned {
                center_hz: center,
                first_sample: at + settle,
            })?;
            let ctx = CaptureContext {
                sample_rate_hz: fs,
                center_freq_hz: Some(center),
                start_time: cfg.start_time,
            };
            let (stages, _) = detectors::build(fs, cfg.false_alarms_per_hour, &cfg.which)?;
            let scanner = Scanner::new(stages, ctx, 0.25);
            let src = DwellSource {
                dev: dev.clone(),
                fs,
                settle_until: at + settle,
                end: at + dwell,
                recorder: recorder.clone(),
                settling_seen: settling_seen.clone(),
                ended: ended.clone(),
            };
            let pcfg = PipelineConfig::default();
            let (s, _) = pipeline::run(src, scanner, &pcfg, stop.clone(), |ev| match ev {
                Event::Output(r) => {
                    if let Some(rec) = &recorder {
                        rec.annotate(&r)?;
                    }
                    on_event(SweepEvent::Detection(r))
                }
                Event::Gap(g) => {
                    if let Some(rec) = &recorder {
                        rec.note_gap(&g);
                    }
                    on_event(SweepEvent::Gap(g))
                }
                Event::Progress(_) => Ok(()),
            })?;
            summary.dwells += 1;
            summary.samples_processed += s.samples_processed;
            summary.samples_dropped += s.samples_dropped;
            summary.warnings.extend(s.warnings);
            if s.interrupted {
                summary.interrupted = true;
                break 'sweep;
            }
            if ended.load(Ordering::Relaxed) {
                summary
                    .warnings
                    .push("the device stream ended; sweep stopped".into());
                summary.interrupted = cfg.cycles.is_none() || cycle + 1 < cfg.cycles.unwrap_or(0);
                break 'sweep;
            }
        }
        cycle += 1;
    }
    summary.samples_settling = *settling_seen.lock().unwrap_or_else(|p| p.into_inner());
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_complex::Complex32;
    use rand::{Rng, SeedableRng};

    /// A tunable test source: complex noise at -30 dBFS; when tuned to `hot_hz` a strong
    /// 200 kHz-wide noise burst at +300 kHz offset is on for 20 ms every 100 ms. After a
    /// retune, the first `lag` samples still come from the previous frequency (as a real
    /// device's buffers do).
    struct FakeTuner {
        fs: f64,
        pos: u64,
        center: f64,
        prev_center: f64,
        retuned_at: u64,
        lag: u64,
        hot_hz: f64,
        rng: rand_chacha::ChaCha8Rng,
        end: u64,
    }

    impl Source for FakeTuner {
        fn read_block(&mut self, b: &mut IqBlock) -> Result<bool> {
            if self.pos >= self.end {
                return Ok(false);
            }
            let n = 8192usize.min((self.end - self.pos) as usize);
            b.first_sample = self.pos;
            b.samples.clear();
            let sigma = (1e-3f64 / 2.0).sqrt();
            for i in 0..n {
                let k = self.pos + i as u64;
                let f = if k < self.retuned_at + self.lag {
                    self.prev_center
                } else {
                    self.center
                };
                let mut v = Complex32::new(
                    (self.rng.random::<f64>() - 0.5) as f32 * (sigma * 3.46) as f32,
                    (self.rng.random::<f64>() - 0.5) as f32 * (sigma * 3.46) as f32,
                );
                let t = k as f64 / self.fs;
                if f == self.hot_hz && (t % 0.1) < 0.02 {
                    // Band-limited burst: a few tones around +300 kHz.
                    for m in -4..=4 {
                        let fr = 300e3 + m as f64 * 20e3;
                        let ph = 2.0 * std::f64::consts::PI * fr * t + m as f64;
                        v += Complex32::new(ph.cos() as f32, ph.sin() as f32) * 0.02;
                    }
                }
                b.samples.push(v);
            }
            self.pos += n as u64;
            Ok(true)
        }
        fn sample_rate_hz(&self) -> f64 {
            self.fs
        }
        fn is_live(&self) -> bool {
            true
        }
    }

    impl Tunable for FakeTuner {
        fn retune(&mut self, center_hz: f64) -> Result<()> {
            self.prev_center = self.center;
            self.center = center_hz;
            self.retuned_at = self.pos;
            Ok(())
        }
        fn next_sample(&self) -> u64 {
            self.pos
        }
    }

    #[test]
    fn detections_come_only_from_the_hot_tuning_never_from_settling_samples() {
        let fs = 1.92e6;
        let dev = FakeTuner {
            fs,
            pos: 0,
            center: 0.0,
            prev_center: 0.0,
            retuned_at: 0,
            // Stale samples last 60 ms; settling is 100 ms.
            lag: (0.06 * fs) as u64,
            hot_hz: 832e6,
            rng: rand_chacha::ChaCha8Rng::seed_from_u64(3),
            end: u64::MAX,
        };
        let cfg = SweepConfig {
            centers_hz: vec![832e6, 842e6],
            dwell_s: 0.5,
            settle_s: 0.1,
            cycles: Some(2),
            false_alarms_per_hour: 0.5,
            which: vec![detectors::Which::Energy],
            start_time: None,
        };
        let mut tuned = Vec::new();
        let mut dets = Vec::new();
        let s = run(dev, &cfg, None, Arc::new(AtomicBool::new(false)), |e| {
            match e {
                SweepEvent::Tuned {
                    center_hz,
                    first_sample,
                } => tuned.push((center_hz, first_sample)),
                SweepEvent::Detection(r) => dets.push(r),
                SweepEvent::Gap(_) => {}
            }
            Ok(())
        })
        .expect("sweep");
        assert_eq!(s.dwells, 4);
        assert_eq!(
            tuned.iter().map(|t| t.0).collect::<Vec<_>>(),
            vec![832e6, 842e6, 832e6, 842e6]
        );
        assert_eq!(s.samples_settling, 4 * (0.1 * fs) as u64);
        assert!(!dets.is_empty(), "the hot tuning's bursts are found");
        for r in &dets {
            // Which dwell was it in?
            let dwell = tuned
                .iter()
                .rev()
                .find(|t| t.1 <= r.sample_start)
                .expect("in a dwell");
            assert_eq!(dwell.0, 832e6, "{r:?} in a dwell at {}", dwell.0);
            assert!(
                r.sample_start >= dwell.1,
                "not from settling samples: {r:?}"
            );
            let f = r.freq_hz.expect("absolute frequency");
            assert!((f - 832.3e6).abs() < 60e3, "{f}");
        }
        // Two hot dwells, 0.4 s of signal each: bursts at every 100 ms.
        assert!(dets.len() >= 6, "{} detections", dets.len());
    }
}
