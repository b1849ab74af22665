//! The audible tone of `locate --audio`: a short click per burst of the pinned emitter, its
//! pitch rising with the burst's SNR, so the operator can walk the antenna by ear.
//!
//! ```text
//!  detection path                      |  audio device callback
//!  burst of the pinned emitter         |
//!    -> ClickSender::send(snr_db) --- bounded channel --> ToneGenerator::fill_from
//!       (never blocks; full: dropped,  |   (voices: at most max_voices clicks at once,
//!        counted)                      |    more: dropped, counted; no allocation)
//! ```
//!
//! **Pitch.** The SNR of the burst (its power over the emitter's local noise floor, the
//! quantity of the meter's bar) maps to a frequency on a log scale: 300 Hz at 0 dB (or below)
//! rising to 2.5 kHz at 40 dB (or above), so every dB is the same musical step (40 dB span
//! three octaves and a bit: about 1.1 semitone per dB, an octave per 13 dB):
//! `f = 300 Hz * (2500 / 300)^(clamp(snr_db, 0, 40) / 40)`.
//!
//! **Envelope.** A click lasts 40 ms: a 5 ms raised-cosine rise and a 35 ms raised-cosine fall,
//! exactly zero at both ends, so it starts and stops without a pop. Overlapping clicks are
//! mixed (summed, then clamped to +-1). Between clicks the output is exact silence.
//!
//! Pure Rust and always compiled: the sound card itself (cpal) is `crate::audio`, feature
//! `audio`.

use crossbeam_channel::{Receiver, Sender, TrySendError};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Pitch at (and below) the noise floor, Hz.
pub const PITCH_FLOOR_HZ: f64 = 300.0;
/// Pitch at (and above) [`PITCH_SPAN_DB`] over the noise floor, Hz.
pub const PITCH_TOP_HZ: f64 = 2500.0;
/// SNR that reaches [`PITCH_TOP_HZ`], dB (the meter's full bar,
/// [`crate::locate::BAR_FULL_SNR_DB`]).
pub const PITCH_SPAN_DB: f64 = 40.0;

/// The pitch of a click for a burst `snr_db` over its emitter's noise floor: log-frequency
/// from [`PITCH_FLOOR_HZ`] at 0 dB to [`PITCH_TOP_HZ`] at [`PITCH_SPAN_DB`], clamped at both
/// ends (a NaN SNR gives the floor pitch).
pub fn pitch_hz(snr_db: f64) -> f64 {
    let x = if snr_db.is_nan() {
        0.0
    } else {
        (snr_db / PITCH_SPAN_DB).clamp(0.0, 1.0)
    };
    PITCH_FLOOR_HZ * (PITCH_TOP_HZ / PITCH_FLOOR_HZ).powf(x)
}

/// The pitch for a burst of `power_dbfs` from an emitter whose noise floor is `floor_dbfs`
/// ([`pitch_hz`] of their difference).
pub fn pitch_for_burst_hz(power_dbfs: f64, floor_dbfs: f64) -> f64 {
    pitch_hz(power_dbfs - floor_dbfs)
}

/// An invalid [`ToneConfig`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ToneError {
    /// The output sample rate is not a positive number or too low for the top pitch.
    #[error(
        "output sample rate {0} Hz: must be at least {min} Hz (twice the top pitch)",
        min = 2.0 * PITCH_TOP_HZ
    )]
    SampleRate(f64),
    /// The click or its rise is not a positive length, or the rise is not shorter.
    #[error(
        "click of {click_s} s with a {rise_s} s rise: both must be positive, the rise shorter"
    )]
    Envelope {
        /// Click length, s.
        click_s: f64,
        /// Rise length, s.
        rise_s: f64,
    },
    /// No voice to play a click, or no room in the queue.
    #[error("at least one voice and one queued click are needed")]
    Capacity,
    /// A click amplitude outside (0, 1].
    #[error("click amplitude {0}: must be in (0, 1]")]
    Amplitude(f32),
}

/// How clicks sound and how many may wait or overlap.
#[derive(Debug, Clone, PartialEq)]
pub struct ToneConfig {
    /// The output device's sample rate, Hz.
    pub sample_rate_hz: f64,
    /// Click length, s (40 ms).
    pub click_s: f64,
    /// Raised-cosine rise, s (5 ms); the rest of the click is the raised-cosine fall.
    pub rise_s: f64,
    /// Peak amplitude of one click, full scale 1.0 (0.25: four overlapping clicks fit).
    pub amplitude: f32,
    /// Clicks that may sound at once (4); more are dropped and counted.
    pub max_voices: usize,
    /// Clicks that may wait between the detection path and the audio callback (16); more are
    /// dropped and counted.
    pub queue_len: usize,
}

impl ToneConfig {
    /// The defaults at an output rate of `sample_rate_hz`.
    pub fn new(sample_rate_hz: f64) -> Self {
        ToneConfig {
            sample_rate_hz,
            click_s: 0.040,
            rise_s: 0.005,
            amplitude: 0.25,
            max_voices: 4,
            queue_len: 16,
        }
    }

    /// Checks the configuration.
    pub fn validate(&self) -> Result<(), ToneError> {
        if !(self.sample_rate_hz.is_finite() && self.sample_rate_hz >= 2.0 * PITCH_TOP_HZ) {
            return Err(ToneError::SampleRate(self.sample_rate_hz));
        }
        let samples = |s: f64| s * self.sample_rate_hz;
        if !(self.click_s.is_finite()
            && self.rise_s.is_finite()
            && samples(self.rise_s) >= 1.0
            && samples(self.click_s - self.rise_s) >= 2.0)
        {
            return Err(ToneError::Envelope {
                click_s: self.click_s,
                rise_s: self.rise_s,
            });
        }
        if self.max_voices == 0 || self.queue_len == 0 {
            return Err(ToneError::Capacity);
        }
        if !(self.amplitude > 0.0 && self.amplitude <= 1.0) {
            return Err(ToneError::Amplitude(self.amplitude));
        }
        Ok(())
    }
}

/// Counters shared by the sender and the generator.
#[derive(Debug, Default)]
struct Counters {
    sent: AtomicU64,
    dropped_queue: AtomicU64,
    dropped_voices: AtomicU64,
    played: AtomicU64,
}

/// What became of the clicks so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClickStats {
    /// Clicks asked for (bursts of the pinned emitter).
    pub sent: u64,
    /// Dropped because the queue to the audio callback was full.
    pub dropped_queue_full: u64,
    /// Dropped because every voice was busy.
    pub dropped_voices_busy: u64,
    /// Clicks started.
    pub played: u64,
}

impl ClickStats {
    /// All the dropped clicks.
    pub fn dropped(&self) -> u64 {
        self.dropped_queue_full + self.dropped_voices_busy
    }
}

/// A click request: the burst's SNR over its emitter's noise floor, dB.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Click {
    /// SNR, dB.
    pub snr_db: f64,
}

/// The detection path's end of the click queue: [`ClickSender::send`] never blocks.
#[derive(Debug, Clone)]
pub struct ClickSender {
    tx: Sender<Click>,
    counters: Arc<Counters>,
}

impl ClickSender {
    /// Asks for a click for a burst `snr_db` over its noise floor. Returns false (and counts
    /// it) when the queue is full or the audio side has gone: never blocks.
    pub fn send(&self, snr_db: f64) -> bool {
        self.counters.sent.fetch_add(1, Ordering::Relaxed);
        match self.tx.try_send(Click { snr_db }) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.counters.dropped_queue.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// What became of the clicks so far.
    pub fn stats(&self) -> ClickStats {
        self.counters.snapshot()
    }
}

impl Counters {
    fn snapshot(&self) -> ClickStats {
        ClickStats {
            sent: self.sent.load(Ordering::Relaxed),
            dropped_queue_full: self.dropped_queue.load(Ordering::Relaxed),
            dropped_voices_busy: self.dropped_voices.load(Ordering::Relaxed),
            played: self.played.load(Ordering::Relaxed),
        }
    }
}

/// One sounding click.
#[derive(Debug, Clone, Copy)]
struct Voice {
    /// Oscillator phase, cycles (0..1).
    phase: f64,
    /// Phase step per sample, cycles.
    step: f64,
    /// Samples of the envelope already played.
    pos: usize,
}

/// Renders clicks into an output buffer at the device's rate: a bank of at most
/// `max_voices` oscillators with the click envelope, planned once in [`ToneGenerator::new`];
/// [`ToneGenerator::fill`] and [`ToneGenerator::fill_from`] never allocate.
#[derive(Debug)]
pub struct ToneGenerator {
    cfg: ToneConfig,
    /// The click envelope, one value per sample (zero at both ends).
    envelope: Vec<f32>,
    /// Sounding clicks (capacity `max_voices`, never grown).
    voices: Vec<Voice>,
    counters: Arc<Counters>,
    rx: Option<Receiver<Click>>,
}

/// A generator and the sender that feeds it through a bounded channel of
/// `cfg.queue_len` clicks.
pub fn click_channel(cfg: ToneConfig) -> Result<(ClickSender, ToneGenerator), ToneError> {
    let mut generator = ToneGenerator::new(cfg)?;
    let (tx, rx) = crossbeam_channel::bounded(generator.cfg.queue_len);
    generator.rx = Some(rx);
    let sender = ClickSender {
        tx,
        counters: generator.counters.clone(),
    };
    Ok((sender, generator))
}

impl ToneGenerator {
    /// A generator (no queue: clicks are started with [`ToneGenerator::trigger`]).
    pub fn new(cfg: ToneConfig) -> Result<Self, ToneError> {
        cfg.validate()?;
        let fs = cfg.sample_rate_hz;
        let n = (cfg.click_s * fs).round() as usize;
        let rise = ((cfg.rise_s * fs).round() as usize).clamp(1, n - 2);
        let fall = n - 1 - rise;
        let envelope = (0..n)
            .map(|i| {
                let w = if i < rise {
                    0.5 * (1.0 - (std::f64::consts::PI * i as f64 / rise as f64).cos())
                } else {
                    0.5 * (1.0 + (std::f64::consts::PI * (i - rise) as f64 / fall as f64).cos())
                };
                (w * cfg.amplitude as f64) as f32
            })
            .collect();
        Ok(ToneGenerator {
            voices: Vec::with_capacity(cfg.max_voices),
            envelope,
            cfg,
            counters: Arc::new(Counters::default()),
            rx: None,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ToneConfig {
        &self.cfg
    }

    /// The click envelope, one value per output sample (peak = the amplitude).
    pub fn envelope(&self) -> &[f32] {
        &self.envelope
    }

    /// Clicks sounding now.
    pub fn active_voices(&self) -> usize {
        self.voices.len()
    }

    /// What became of the clicks so far.
    pub fn stats(&self) -> ClickStats {
        self.counters.snapshot()
    }

    /// Starts a click for a burst `snr_db` over its noise floor at the next output sample.
    /// Returns false (and counts it) when every voice is busy.
    pub fn trigger(&mut self, snr_db: f64) -> bool {
        if self.voices.len() >= self.cfg.max_voices {
            self.counters.dropped_voices.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        self.voices.push(Voice {
            phase: 0.0,
            step: pitch_hz(snr_db) / self.cfg.sample_rate_hz,
            pos: 0,
        });
        self.counters.played.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// The next mono output sample (all sounding clicks summed, clamped to +-1).
    pub fn next_sample(&mut self) -> f32 {
        let mut acc = 0.0f32;
        let mut i = 0;
        while i < self.voices.len() {
            let v = &mut self.voices[i];
            acc += self.envelope[v.pos] * (std::f64::consts::TAU * v.phase).sin() as f32;
            v.phase = (v.phase + v.step).fract();
            v.pos += 1;
            if v.pos >= self.envelope.len() {
                self.voices.swap_remove(i);
            } else {
                i += 1;
            }
        }
        acc.clamp(-1.0, 1.0)
    }

    /// Fills `out`, interleaved frames of `channels` samples (the same sound on each).
    ///
    /// # Panics
    /// When `channels` is 0.
    pub fn fill(&mut self, out: &mut [f32], channels: usize) {
        assert!(channels > 0, "an output has at least one channel");
        for frame in out.chunks_mut(channels) {
            let s = self.next_sample();
            frame.fill(s);
        }
    }

    /// Starts the clicks waiting in the queue of [`click_channel`] (none without one), then
    /// fills `out` as [`ToneGenerator::fill`]. For the audio callback: never blocks, never
    /// allocates.
    pub fn fill_from_queue(&mut self, out: &mut [f32], channels: usize) {
        self.drain_queue();
        self.fill(out, channels);
    }

    /// Starts the clicks waiting in the queue of [`click_channel`] (none without one).
    pub fn drain_queue(&mut self) {
        let Some(rx) = self.rx.take() else {
            return;
        };
        while let Ok(c) = rx.try_recv() {
            self.trigger(c.snr_db);
        }
        self.rx = Some(rx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustfft::num_complex::Complex;
    use rustfft::FftPlanner;

    const FS: f64 = 48_000.0;

    /// The frequency of the largest bin of `x` zero-padded to `n`, Hz, and the bin width.
    fn dominant_hz(x: &[f32], fs: f64, n: usize) -> (f64, f64) {
        let mut buf: Vec<Complex<f64>> = (0..n)
            .map(|i| Complex::new(x.get(i).copied().unwrap_or(0.0) as f64, 0.0))
            .collect();
        FftPlanner::new().plan_fft_forward(n).process(&mut buf);
        let (k, _) = buf[..n / 2]
            .iter()
            .enumerate()
            .map(|(k, c)| (k, c.norm()))
            .fold((0, -1.0), |a, b| if b.1 > a.1 { b } else { a });
        (k as f64 * fs / n as f64, fs / n as f64)
    }

    #[test]
    fn dominant_hz_helper_finds_a_pure_tone() {
        // The helper itself: a 1 kHz sine is found within one bin, a silent input at 0 Hz.
        let x: Vec<f32> = (0..4096)
            .map(|i| (std::f64::consts::TAU * 1000.0 * i as f64 / FS).sin() as f32)
            .collect();
        let (f, bin) = dominant_hz(&x, FS, 4096);
        assert!((f - 1000.0).abs() <= bin, "{f}");
        assert_eq!(dominant_hz(&[0.0; 16], FS, 64).0, 0.0);
    }

    #[test]
    fn pitch_is_monotonic_log_and_clamped() {
        assert_eq!(pitch_hz(0.0), PITCH_FLOOR_HZ);
        assert!((pitch_hz(40.0) - PITCH_TOP_HZ).abs() < 1e-9);
        assert_eq!(pitch_hz(-30.0), PITCH_FLOOR_HZ);
        assert_eq!(pitch_hz(f64::NAN), PITCH_FLOOR_HZ);
        assert!((pitch_hz(95.0) - PITCH_TOP_HZ).abs() < 1e-9);
        assert!((pitch_hz(f64::INFINITY) - PITCH_TOP_HZ).abs() < 1e-9);
        // Log-frequency: the midpoint in dB is the geometric mean of the ends.
        let mid = (PITCH_FLOOR_HZ * PITCH_TOP_HZ).sqrt();
        assert!((pitch_hz(20.0) - mid).abs() < 1e-9);
        assert_eq!(pitch_for_burst_hz(-50.0, -70.0), pitch_hz(20.0));
        let mut last = 0.0;
        for i in -100..=600 {
            let p = pitch_hz(i as f64 / 10.0);
            assert!(p >= last, "not monotonic at {} dB", i as f64 / 10.0);
            assert!((PITCH_FLOOR_HZ..=PITCH_TOP_HZ + 1e-9).contains(&p));
            if (0..=400).contains(&i) && i > 0 {
                assert!(p > last, "not strictly rising at {} dB", i as f64 / 10.0);
            }
            last = p;
        }
    }

    #[test]
    fn click_sounds_at_the_mapped_pitch_at_any_rate() {
        for fs in [8_000.0, 22_050.0, 44_100.0, 48_000.0, 96_000.0] {
            for snr in [-5.0, 0.0, 7.0, 20.0, 33.0, 40.0, 60.0] {
                let mut g = ToneGenerator::new(ToneConfig::new(fs)).expect("valid");
                assert!(g.trigger(snr));
                let n = g.envelope().len();
                let mut out = vec![0.0f32; n];
                g.fill(&mut out, 1);
                let (f, bin) = dominant_hz(&out, fs, 8192);
                assert!(
                    (f - pitch_hz(snr)).abs() <= bin,
                    "fs {fs}: SNR {snr} dB rendered at {f} Hz, mapped {} Hz (bin {bin} Hz)",
                    pitch_hz(snr)
                );
            }
        }
    }

    #[test]
    fn envelope_starts_and_ends_at_zero_and_steps_are_small() {
        let g = ToneGenerator::new(ToneConfig::new(FS)).expect("valid");
        let e = g.envelope();
        assert_eq!(e.len(), 1920, "40 ms at 48 kHz");
        assert_eq!(e[0], 0.0);
        assert!(e[e.len() - 1].abs() < 1e-7, "{}", e[e.len() - 1]);
        let peak = e.iter().copied().fold(0.0f32, f32::max);
        assert!((peak - 0.25).abs() < 1e-6, "{peak}");
        // No pop: the largest step of the envelope is a small fraction of its peak.
        let max_step = e
            .windows(2)
            .map(|w| (w[1] - w[0]).abs())
            .fold(0.0f32, f32::max);
        assert!(max_step < 0.02 * peak, "{max_step}");
        // Rendered: the first sample is exactly zero, the last nearly so.
        let mut g = ToneGenerator::new(ToneConfig::new(FS)).expect("valid");
        g.trigger(40.0);
        let mut out = vec![1.0f32; e.len()];
        g.fill(&mut out, 1);
        assert_eq!(out[0], 0.0);
        assert!(out[out.len() - 1].abs() < 1e-6);
    }

    #[test]
    fn silence_between_clicks_and_stereo_frames_carry_the_same_sample() {
        let mut g = ToneGenerator::new(ToneConfig::new(FS)).expect("valid");
        let mut out = vec![1.0f32; 4800];
        g.fill(&mut out, 2);
        assert!(out.iter().all(|&s| s == 0.0), "silence before any click");
        g.trigger(10.0);
        let n = g.envelope().len();
        let mut out = vec![0.0f32; 2 * (n + 2400)];
        g.fill(&mut out, 2);
        assert!(
            out[..2 * n].iter().any(|&s| s.abs() > 0.1),
            "the click sounds"
        );
        assert!(
            out[2 * n..].iter().all(|&s| s == 0.0),
            "exact silence once it is over"
        );
        assert!(out.chunks(2).all(|f| f[0] == f[1]));
        assert_eq!(g.active_voices(), 0);
    }

    #[test]
    fn overlapping_clicks_mix() {
        let cfg = ToneConfig::new(FS);
        let mut a = ToneGenerator::new(cfg.clone()).expect("valid");
        let mut b = ToneGenerator::new(cfg.clone()).expect("valid");
        let mut ab = ToneGenerator::new(cfg).expect("valid");
        let n = a.envelope().len();
        let (mut xa, mut xb, mut xab) =
            (vec![0.0f32; 2 * n], vec![0.0f32; 2 * n], vec![0.0; 2 * n]);
        a.trigger(0.0);
        ab.trigger(0.0);
        a.fill(&mut xa[..n / 2], 1);
        ab.fill(&mut xab[..n / 2], 1);
        // The second click starts while the first sounds.
        b.fill(&mut xb[..n / 2], 1);
        b.trigger(40.0);
        ab.trigger(40.0);
        assert_eq!(ab.active_voices(), 2);
        a.fill(&mut xa[n / 2..], 1);
        b.fill(&mut xb[n / 2..], 1);
        ab.fill(&mut xab[n / 2..], 1);
        for i in 0..2 * n {
            assert!((xab[i] - (xa[i] + xb[i])).abs() < 1e-6, "sample {i}");
        }
    }

    #[test]
    fn clicks_faster_than_they_play_are_dropped_and_counted() {
        let cfg = ToneConfig::new(FS);
        let (voices, queue) = (cfg.max_voices, cfg.queue_len);
        let (tx, mut g) = click_channel(cfg).expect("valid");
        // A flood of bursts: the queue holds `queue_len`, the rest is dropped at once.
        let accepted = (0..1000).filter(|i| tx.send(*i as f64 / 50.0)).count();
        assert_eq!(accepted, queue);
        let s = tx.stats();
        assert_eq!((s.sent, s.dropped_queue_full), (1000, 1000 - queue as u64));
        // The callback starts what voices allow and drops the rest of the queue.
        let mut out = vec![0.0f32; 256];
        g.fill_from_queue(&mut out, 1);
        assert_eq!(g.active_voices(), voices);
        let s = g.stats();
        assert_eq!(s.played, voices as u64);
        assert_eq!(s.dropped_voices_busy, (queue - voices) as u64);
        assert_eq!(s.played + s.dropped(), s.sent);
        assert!(out.iter().all(|x| x.abs() <= 1.0), "mixed and clamped");
        // Bounded memory: the voice bank never grew; once played, the queue takes clicks again.
        let mut rest = vec![0.0f32; g.envelope().len()];
        g.fill_from_queue(&mut rest, 1);
        assert_eq!(g.active_voices(), 0);
        assert!(tx.send(10.0));
        g.fill_from_queue(&mut out, 1);
        assert_eq!(g.active_voices(), 1);
        assert_eq!(g.stats().played, voices as u64 + 1);
    }

    #[test]
    fn sender_never_blocks_once_the_audio_side_is_gone() {
        let (tx, g) = click_channel(ToneConfig::new(FS)).expect("valid");
        drop(g);
        assert!(!tx.send(3.0));
        assert_eq!(tx.stats().dropped_queue_full, 1);
    }

    #[test]
    fn configuration_is_validated() {
        let ok = ToneConfig::new(44_100.0);
        assert_eq!(ok.validate(), Ok(()));
        let bad = |f: &dyn Fn(&mut ToneConfig)| {
            let mut c = ok.clone();
            f(&mut c);
            ToneGenerator::new(c).expect_err("invalid")
        };
        let e = bad(&|c| c.sample_rate_hz = 4000.0);
        assert_eq!(e, ToneError::SampleRate(4000.0));
        assert!(e.to_string().contains("5000 Hz"), "{e}");
        assert!(matches!(
            bad(&|c| c.rise_s = c.click_s),
            ToneError::Envelope { .. }
        ));
        assert!(matches!(
            bad(&|c| c.click_s = f64::NAN),
            ToneError::Envelope { .. }
        ));
        assert_eq!(bad(&|c| c.max_voices = 0), ToneError::Capacity);
        assert_eq!(bad(&|c| c.queue_len = 0), ToneError::Capacity);
        assert_eq!(bad(&|c| c.amplitude = 1.5), ToneError::Amplitude(1.5));
        let e = ToneError::Envelope {
            click_s: 0.01,
            rise_s: 0.02,
        };
        assert!(!e.to_string().contains('{'), "{e}");
    }
}
