//! Front-end health: ADC clipping and a too-weak input, measured on every sample the source
//! delivers, second by second, with advice a sweep team can act on ("clipping 2% of
//! samples: lower LNA by 8 dB").
//!
//! Clipping is counted for the integer formats, whose full scale is known: a sample is
//! clipped when either component sits on the format's extreme code. The level is the mean
//! power in dBFS (0 dBFS = a full-scale sine's power on both axes, i.e. |x|^2 = 1). For
//! `cf32` sources (already scaled by a driver) only the level is watched.

use crate::iq::{IqBlock, SampleFormat};
use crate::pipeline::Source;
use crossbeam_channel::Sender;
use std::sync::{Arc, Mutex};

/// Fraction of clipped samples in a second above which clipping is reported.
pub const CLIP_FRACTION_LIMIT: f64 = 1e-3;
/// Mean power below which an integer-format input is too weak to use the ADC's resolution:
/// -40 dBFS is about 1.3 codes RMS for ci8.
pub const WEAK_LEVEL_DBFS: f64 = -40.0;
/// A condition that persists is repeated this often, seconds of stream.
pub const REPEAT_EVERY_S: f64 = 10.0;

/// The state of one second of input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HealthSecond {
    /// Stream index of the second's first sample.
    pub first_sample: u64,
    /// Fraction of samples clipped.
    pub clip_fraction: f64,
    /// Mean power, dBFS.
    pub level_dbfs: f64,
}

/// Totals over the run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HealthSummary {
    /// Samples looked at.
    pub samples: u64,
    /// Samples with a component on the extreme code.
    pub clipped: u64,
    /// Seconds in which clipping was over the limit.
    pub clipping_seconds: u64,
    /// Seconds below [`WEAK_LEVEL_DBFS`].
    pub weak_seconds: u64,
    /// Highest one-second level, dBFS.
    pub max_level_dbfs: Option<f64>,
    /// Lowest one-second level, dBFS.
    pub min_level_dbfs: Option<f64>,
}

impl HealthSummary {
    /// One line for the scan summary.
    pub fn line(&self) -> String {
        let lv = match (self.min_level_dbfs, self.max_level_dbfs) {
            (Some(a), Some(b)) => format!("level {a:.1} to {b:.1} dBFS"),
            _ => "level unknown".into(),
        };
        format!(
            "front end: {lv}; {} clipped samples ({:.3}%), {} s clipping, {} s too weak",
            self.clipped,
            100.0 * self.clipped as f64 / self.samples.max(1) as f64,
            self.clipping_seconds,
            self.weak_seconds
        )
    }
}

/// What is wrong with a second of input, and what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Condition {
    Ok,
    Clipping,
    Weak,
}

/// Watches the input level, second by second.
pub struct HealthMonitor {
    format: SampleFormat,
    clip_code: f32,
    window: u64,
    acc_n: u64,
    acc_clip: u64,
    acc_pow: f64,
    acc_first: u64,
    last: Condition,
    last_told_s: f64,
    summary: Arc<Mutex<HealthSummary>>,
    notices: Option<Sender<String>>,
    device_hint: bool,
}

impl HealthMonitor {
    /// A monitor for `format` samples at `sample_rate_hz`. Advice goes to `notices`; set
    /// `device_hint` for a HackRF-like gain chain (AMP/LNA/VGA) to name the stage.
    pub fn new(
        format: SampleFormat,
        sample_rate_hz: f64,
        notices: Option<Sender<String>>,
        device_hint: bool,
    ) -> Self {
        // The largest magnitude a component reaches, on the positive extreme code.
        let clip_code = match format {
            SampleFormat::Ci8 | SampleFormat::Cu8 => 127.0 / 128.0,
            SampleFormat::Ci16Le => 32767.0 / 32768.0,
            SampleFormat::Cf32Le => f32::INFINITY,
        };
        HealthMonitor {
            format,
            clip_code: clip_code - 1e-6,
            window: sample_rate_hz.round().max(1.0) as u64,
            acc_n: 0,
            acc_clip: 0,
            acc_pow: 0.0,
            acc_first: 0,
            last: Condition::Ok,
            last_told_s: f64::NEG_INFINITY,
            summary: Arc::new(Mutex::new(HealthSummary::default())),
            notices,
            device_hint,
        }
    }

    /// The totals, shared (readable while the monitor runs in the ingest thread).
    pub fn summary(&self) -> Arc<Mutex<HealthSummary>> {
        self.summary.clone()
    }

    /// Looks at a block; returns the seconds it completed.
    pub fn observe(
        &mut self,
        first_sample: u64,
        x: &[num_complex::Complex32],
    ) -> Vec<HealthSecond> {
        let mut done = Vec::new();
        let mut i = 0usize;
        while i < x.len() {
            if self.acc_n == 0 {
                self.acc_first = first_sample + i as u64;
            }
            let take = ((self.window - self.acc_n) as usize).min(x.len() - i);
            let mut clip = 0u64;
            let mut pow = 0.0f64;
            for s in &x[i..i + take] {
                clip += u64::from(s.re.abs() >= self.clip_code || s.im.abs() >= self.clip_code);
                pow += f64::from(s.norm_sqr());
            }
            self.acc_clip += clip;
            self.acc_pow += pow;
            self.acc_n += take as u64;
            i += take;
            if self.acc_n == self.window {
                done.push(self.close_window());
            }
        }
        done
    }

    /// End of stream: a last partial second (at least 10 ms of samples) counts too.
    pub fn finish(&mut self) -> Option<HealthSecond> {
        (self.acc_n > 0 && self.acc_n * 100 >= self.window).then(|| self.close_window())
    }

    fn close_window(&mut self) -> HealthSecond {
        let n = self.acc_n.max(1) as f64;
        let sec = HealthSecond {
            first_sample: self.acc_first,
            clip_fraction: self.acc_clip as f64 / n,
            level_dbfs: 10.0 * (self.acc_pow / n).max(1e-20).log10(),
        };
        let integer = self.format != SampleFormat::Cf32Le;
        let cond = if sec.clip_fraction > CLIP_FRACTION_LIMIT {
            Condition::Clipping
        } else if integer && sec.level_dbfs < WEAK_LEVEL_DBFS {
            Condition::Weak
        } else {
            Condition::Ok
        };
        {
            let mut s = self.summary.lock().unwrap_or_else(|p| p.into_inner());
            s.samples += self.acc_n;
            s.clipped += self.acc_clip;
            s.clipping_seconds += u64::from(cond == Condition::Clipping);
            s.weak_seconds += u64::from(cond == Condition::Weak);
            s.max_level_dbfs = Some(
                s.max_level_dbfs
                    .map_or(sec.level_dbfs, |m| m.max(sec.level_dbfs)),
            );
            s.min_level_dbfs = Some(
                s.min_level_dbfs
                    .map_or(sec.level_dbfs, |m| m.min(sec.level_dbfs)),
            );
        }
        let t = sec.first_sample as f64 / self.window as f64;
        if cond != self.last || (cond != Condition::Ok && t - self.last_told_s >= REPEAT_EVERY_S) {
            if let Some(msg) = self.advice(cond, &sec, t) {
                if let Some(tx) = &self.notices {
                    let _ = tx.try_send(msg);
                }
            }
            self.last_told_s = t;
        }
        self.last = cond;
        self.acc_n = 0;
        self.acc_clip = 0;
        self.acc_pow = 0.0;
        sec
    }

    fn advice(&self, cond: Condition, sec: &HealthSecond, t: f64) -> Option<String> {
        Some(match cond {
            Condition::Clipping => format!(
                "front end at {t:.0} s: clipping {:.1}% of samples ({:.1} dBFS): {}",
                100.0 * sec.clip_fraction,
                sec.level_dbfs,
                if self.device_hint {
                    "lower LNA by 8 dB (or turn AMP off); detections and power readings are unreliable while clipping"
                } else {
                    "lower the gain; detections and power readings are unreliable while clipping"
                }
            ),
            Condition::Weak => format!(
                "front end at {t:.0} s: input too weak ({:.1} dBFS, close to the ADC's last bits): {}",
                sec.level_dbfs,
                if self.device_hint {
                    "raise VGA by 10 dB (or LNA by 8 dB)"
                } else {
                    "raise the gain"
                }
            ),
            Condition::Ok => {
                if self.last == Condition::Ok {
                    return None;
                }
                format!("front end at {t:.0} s: level back to normal ({:.1} dBFS)", sec.level_dbfs)
            }
        })
    }
}

/// A source whose blocks pass through a [`HealthMonitor`].
pub struct HealthSource<S> {
    inner: S,
    monitor: HealthMonitor,
}

impl<S> HealthSource<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, monitor: HealthMonitor) -> Self {
        HealthSource { inner, monitor }
    }
}

impl<S: Source> Source for HealthSource<S> {
    fn read_block(&mut self, block: &mut IqBlock) -> anyhow::Result<bool> {
        if !self.inner.read_block(block)? {
            self.monitor.finish();
            return Ok(false);
        }
        self.monitor.observe(block.first_sample, &block.samples);
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

#[cfg(test)]
mod tests {
    use super::*;
    use num_complex::Complex32;

    #[test]
    fn clipping_and_weak_seconds_are_told_with_advice() {
        let (tx, rx) = crossbeam_channel::bounded(16);
        let mut m = HealthMonitor::new(SampleFormat::Ci8, 1000.0, Some(tx), true);
        // Second 0: fine (-10 dBFS, no clipping). Second 1: 2% of samples at -128.
        // Second 2: weak (1 code). Second 3: fine again.
        let fine = Complex32::new(0.3, 0.1);
        let mut x = vec![fine; 4000];
        for s in x[1000..1020].iter_mut() {
            *s = Complex32::new(-1.0, 0.0);
        }
        for s in x[2000..3000].iter_mut() {
            *s = Complex32::new(1.0 / 128.0, 0.0);
        }
        let secs = m.observe(0, &x[..1500]);
        assert_eq!(secs.len(), 1);
        let secs2 = m.observe(1500, &x[1500..]);
        assert_eq!(secs2.len(), 3, "2.5 s more input closes seconds 2, 3 and 4");
        m.observe(4000, &x[..1000]);
        let told: Vec<String> = rx.try_iter().collect();
        assert_eq!(told.len(), 3, "{told:?}");
        assert!(told[0].contains("clipping 2.0%") && told[0].contains("lower LNA by 8 dB"));
        assert!(told[1].contains("too weak") && told[1].contains("-42.1 dBFS"));
        assert!(told[2].contains("back to normal"));
        let s = m.summary();
        let s = s.lock().expect("lock");
        assert_eq!((s.clipped, s.clipping_seconds, s.weak_seconds), (20, 1, 1));
        assert_eq!(s.samples, 5000);
    }

    #[test]
    fn float_input_has_no_clipping_and_no_weak_advice() {
        let (tx, rx) = crossbeam_channel::bounded(16);
        let mut m = HealthMonitor::new(SampleFormat::Cf32Le, 100.0, Some(tx), false);
        m.observe(0, &vec![Complex32::new(1.0, 0.0); 100]);
        m.observe(100, &vec![Complex32::new(1e-4, 0.0); 100]);
        assert_eq!(rx.try_iter().count(), 0);
    }
}
