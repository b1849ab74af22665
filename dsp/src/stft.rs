//! Streaming short-time Fourier transform.
//!
//! ```text
//!  x[n] blocks (any size, stamped)       frame h = x[origin + h hop .. + window_len]
//!  ------------------------------>  staging buffer  --> window --> zero-pad --> FFT
//!                                                                 (fft_len)      |
//!                                           phase reference (frame or stream) <--+
//!                                                     |
//!                                             on_frame(StftFrame)
//! ```
//!
//! Frame `h` covers samples `origin + h hop .. origin + h hop + window_len`, where `origin`
//! is the stamp of the first sample after construction, [`Stft::reset`] or a gap. The frame
//! is multiplied by the window, zero-padded to `fft_len` and transformed:
//!
//! ```text
//!   X_h(k) = sum_{n < window_len} w(n) x[origin + h hop + n] e^{-j 2 pi k n / fft_len}.
//! ```
//!
//! With [`PhaseReference::Stream`] every bin is further multiplied by
//! `e^{-j 2 pi k (h hop) / fft_len}`, i.e. the time origin of every frame is the stream
//! origin instead of the frame's first sample. A tone of frequency `f = k fs / fft_len + d`
//! then keeps the phase `2 pi d t_h` from frame to frame (`t_h` the frame start): frames can
//! be combined coherently by a phase ramp in `d` alone. The phasor index `k (h hop) mod
//! fft_len` is computed in integers, so the reference is exact at any stream position.
//!
//! Results do not depend on how the input is cut into blocks; a stamp that does not follow
//! the previous block is a gap: the partial frame is dropped and the frame count restarts.
//! The FFT is planned once (RustFFT); [`Stft::process`] allocates nothing.

use num_complex::Complex32;
use rustfft::{Fft, FftPlanner};
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;
use std::sync::Arc;

/// Analysis window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Window {
    /// `w(n) = 1`: the matched filter for a tone that fills the frame.
    #[default]
    Rectangular,
    /// Periodic Hann window `w(n) = sin^2(pi n / window_len)`.
    Hann,
}

/// Time origin of the phase of each frame's spectrum (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PhaseReference {
    /// Phase relative to the frame's first sample (the plain DFT of the frame).
    #[default]
    Frame,
    /// Phase relative to the stream origin.
    Stream,
}

/// Configuration of an [`Stft`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StftConfig {
    /// Samples per frame (the window length), >= 1.
    pub window_len: usize,
    /// FFT length, >= `window_len` (the frame is zero-padded).
    pub fft_len: usize,
    /// Frame advance, samples, >= 1 (may exceed `window_len`: samples are skipped).
    pub hop: usize,
    /// Analysis window.
    pub window: Window,
    /// Phase reference of the output spectrum.
    pub phase_reference: PhaseReference,
}

impl Default for StftConfig {
    fn default() -> Self {
        StftConfig {
            window_len: 512,
            fft_len: 1024,
            hop: 256,
            window: Window::Rectangular,
            phase_reference: PhaseReference::Frame,
        }
    }
}

/// An invalid [`StftConfig`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StftError {
    /// `window_len` or `hop` is zero.
    #[error("STFT window_len ({window_len}) and hop ({hop}) must be at least 1")]
    Empty {
        /// The window length given.
        window_len: usize,
        /// The hop given.
        hop: usize,
    },
    /// `fft_len < window_len`.
    #[error("STFT fft_len ({fft_len}) is shorter than window_len ({window_len})")]
    FftTooShort {
        /// The FFT length given.
        fft_len: usize,
        /// The window length given.
        window_len: usize,
    },
}

impl StftConfig {
    /// Checks the configuration.
    pub fn validate(&self) -> Result<(), StftError> {
        if self.window_len == 0 || self.hop == 0 {
            return Err(StftError::Empty {
                window_len: self.window_len,
                hop: self.hop,
            });
        }
        if self.fft_len < self.window_len {
            return Err(StftError::FftTooShort {
                fft_len: self.fft_len,
                window_len: self.window_len,
            });
        }
        Ok(())
    }
}

/// One output frame, valid for the duration of the callback.
#[derive(Debug)]
pub struct StftFrame<'a> {
    /// Frame index `h` since the stream origin.
    pub index: u64,
    /// Stamp of the frame's first sample.
    pub first_sample: u64,
    /// The `fft_len` bins, bin `k` at `k fs / fft_len` (bins `>= fft_len / 2` are negative
    /// frequencies).
    pub spectrum: &'a [Complex32],
}

/// Streaming STFT (see the module doc).
pub struct Stft {
    cfg: StftConfig,
    fft: Arc<dyn Fft<f32>>,
    window: Vec<f32>,
    /// Samples of the frame being filled (`fill` of them valid).
    stage: Vec<Complex32>,
    fill: usize,
    /// Samples still to skip before the next frame starts (hop > window_len).
    skip: usize,
    work: Vec<Complex32>,
    scratch: Vec<Complex32>,
    /// `e^{-j 2 pi i / fft_len}`, i = 0..fft_len (only for the stream reference).
    phasors: Vec<Complex32>,
    /// Stamp the next sample must carry, `None` before the first block.
    next_sample: Option<u64>,
    origin: u64,
    frame: u64,
}

impl std::fmt::Debug for Stft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stft")
            .field("cfg", &self.cfg)
            .field("frame", &self.frame)
            .finish_non_exhaustive()
    }
}

impl Stft {
    /// Plans the FFT and builds the window.
    pub fn new(cfg: StftConfig) -> Result<Self, StftError> {
        cfg.validate()?;
        let fft = FftPlanner::<f32>::new().plan_fft_forward(cfg.fft_len);
        let scratch = vec![Complex32::new(0.0, 0.0); fft.get_inplace_scratch_len()];
        let n = cfg.window_len;
        let window = (0..n)
            .map(|i| match cfg.window {
                Window::Rectangular => 1.0,
                Window::Hann => (PI * i as f64 / n as f64).sin().powi(2) as f32,
            })
            .collect();
        let phasors = match cfg.phase_reference {
            PhaseReference::Frame => Vec::new(),
            PhaseReference::Stream => (0..cfg.fft_len)
                .map(|i| {
                    let a = -2.0 * PI * i as f64 / cfg.fft_len as f64;
                    Complex32::new(a.cos() as f32, a.sin() as f32)
                })
                .collect(),
        };
        Ok(Stft {
            fft,
            window,
            stage: vec![Complex32::new(0.0, 0.0); n],
            fill: 0,
            skip: 0,
            work: vec![Complex32::new(0.0, 0.0); cfg.fft_len],
            scratch,
            phasors,
            next_sample: None,
            origin: 0,
            frame: 0,
            cfg,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &StftConfig {
        &self.cfg
    }

    /// Stamp of the stream origin (first sample after construction, reset or gap).
    pub fn origin(&self) -> u64 {
        self.origin
    }

    /// Forgets all input: the next block starts a new stream.
    pub fn reset(&mut self) {
        self.fill = 0;
        self.skip = 0;
        self.next_sample = None;
        self.frame = 0;
    }

    /// Consumes a block whose first sample has stamp `first_sample` and calls `on_frame` for
    /// every frame completed by it, in order. Returns `true` if the stamp was a gap (the
    /// stream restarted at `first_sample`; on the very first block this is `false`).
    pub fn process(
        &mut self,
        first_sample: u64,
        x: &[Complex32],
        mut on_frame: impl FnMut(StftFrame<'_>),
    ) -> bool {
        let gap = match self.next_sample {
            Some(s) => s != first_sample,
            None => false,
        };
        if gap || self.next_sample.is_none() {
            self.reset();
            self.origin = first_sample;
        }
        self.next_sample = Some(first_sample + x.len() as u64);
        let n = self.cfg.window_len;
        let hop = self.cfg.hop;
        let mut rest = x;
        while !rest.is_empty() {
            if self.skip > 0 {
                let k = self.skip.min(rest.len());
                self.skip -= k;
                rest = &rest[k..];
                continue;
            }
            let k = (n - self.fill).min(rest.len());
            self.stage[self.fill..self.fill + k].copy_from_slice(&rest[..k]);
            self.fill += k;
            rest = &rest[k..];
            if self.fill == n {
                self.emit(&mut on_frame);
                if hop < n {
                    self.stage.copy_within(hop.., 0);
                    self.fill = n - hop;
                } else {
                    self.fill = 0;
                    self.skip = hop - n;
                }
            }
        }
        gap
    }

    fn emit(&mut self, on_frame: &mut impl FnMut(StftFrame<'_>)) {
        let n = self.cfg.window_len;
        for ((w, s), &win) in self.work[..n].iter_mut().zip(&self.stage).zip(&self.window) {
            *w = s * win;
        }
        for w in &mut self.work[n..] {
            *w = Complex32::new(0.0, 0.0);
        }
        self.fft
            .process_with_scratch(&mut self.work, &mut self.scratch);
        let h = self.frame;
        let start = h * self.cfg.hop as u64;
        if self.cfg.phase_reference == PhaseReference::Stream {
            let len = self.cfg.fft_len;
            let base = (start % len as u64) as usize;
            let mut idx = 0usize;
            for v in self.work.iter_mut() {
                *v *= self.phasors[idx];
                idx += base;
                if idx >= len {
                    idx -= len;
                }
            }
        }
        on_frame(StftFrame {
            index: h,
            first_sample: self.origin + start,
            spectrum: &self.work,
        });
        self.frame += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn noise(n: usize, seed: u64) -> Vec<Complex32> {
        let mut r = ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .map(|_| Complex32::new(r.random::<f32>() - 0.5, r.random::<f32>() - 0.5))
            .collect()
    }

    /// Naive DFT of frame h, the oracle.
    fn naive(cfg: &StftConfig, x: &[Complex32], h: usize) -> Vec<Complex32> {
        let st = h * cfg.hop;
        let n = cfg.window_len;
        (0..cfg.fft_len)
            .map(|k| {
                let mut acc = num_complex::Complex64::new(0.0, 0.0);
                for i in 0..n {
                    let w = match cfg.window {
                        Window::Rectangular => 1.0,
                        Window::Hann => (PI * i as f64 / n as f64).sin().powi(2),
                    };
                    let t = match cfg.phase_reference {
                        PhaseReference::Frame => i,
                        PhaseReference::Stream => st + i,
                    };
                    let a = -2.0 * PI * (k * t) as f64 / cfg.fft_len as f64;
                    let v = x[st + i];
                    acc += num_complex::Complex64::new(v.re as f64, v.im as f64)
                        * w
                        * num_complex::Complex64::from_polar(1.0, a);
                }
                Complex32::new(acc.re as f32, acc.im as f32)
            })
            .collect()
    }

    fn run(cfg: &StftConfig, x: &[Complex32], block: usize) -> Vec<(u64, u64, Vec<Complex32>)> {
        let mut s = Stft::new(cfg.clone()).unwrap();
        let mut out = Vec::new();
        let mut pos = 0;
        for c in x.chunks(block) {
            s.process(1000 + pos as u64, c, |f| {
                out.push((f.index, f.first_sample, f.spectrum.to_vec()))
            });
            pos += c.len();
        }
        out
    }

    #[test]
    fn matches_naive_dft_for_every_option() {
        let x = noise(700, 1);
        for (window, phase, hop) in [
            (Window::Rectangular, PhaseReference::Frame, 24),
            (Window::Hann, PhaseReference::Stream, 40),
            (Window::Rectangular, PhaseReference::Stream, 100),
        ] {
            let cfg = StftConfig {
                window_len: 64,
                fft_len: 160,
                hop,
                window,
                phase_reference: phase,
            };
            let frames = run(&cfg, &x, 77);
            assert_eq!(frames.len(), (700 - 64) / hop + 1);
            for (h, first, spec) in frames.iter().step_by(3) {
                assert_eq!(*first, 1000 + *h * hop as u64);
                let want = naive(&cfg, &x, *h as usize);
                let err = spec
                    .iter()
                    .zip(&want)
                    .map(|(a, b)| (a - b).norm())
                    .fold(0.0f32, f32::max);
                assert!(err < 1e-4, "{window:?} {phase:?} hop {hop}: {err}");
            }
        }
    }

    #[test]
    fn block_size_does_not_matter_and_gaps_restart() {
        let x = noise(3000, 2);
        let cfg = StftConfig {
            window_len: 128,
            fft_len: 512,
            hop: 64,
            window: Window::Rectangular,
            phase_reference: PhaseReference::Stream,
        };
        let a = run(&cfg, &x, 3000);
        for b in [1, 17, 64, 1000] {
            assert_eq!(a, run(&cfg, &x, b), "block {b}");
        }
        // A gap: frames restart at the new stamp.
        let mut s = Stft::new(cfg).unwrap();
        let mut firsts = Vec::new();
        assert!(!s.process(0, &x[..300], |f| firsts.push((f.index, f.first_sample))));
        assert!(s.process(5000, &x[..300], |f| firsts.push((f.index, f.first_sample))));
        assert_eq!(firsts[..3], [(0, 0), (1, 64), (2, 128)]);
        assert!(firsts.contains(&(0, 5000)) && firsts.contains(&(2, 5128)));
    }

    #[test]
    fn stream_reference_keeps_an_off_bin_tone_coherent() {
        // A tone a quarter bin off: with the stream reference its phase advances by exactly
        // 2 pi d t_h from frame to frame (d = offset from the bin), whatever the bin.
        let (n, nfft, hop) = (64usize, 256usize, 32usize);
        let k = 37usize;
        let d = 0.25 / nfft as f64; // cycles per sample
        let f = k as f64 / nfft as f64 + d;
        let x: Vec<Complex32> = (0..2000)
            .map(|i| {
                let a = 2.0 * PI * f * i as f64;
                Complex32::new(a.cos() as f32, a.sin() as f32)
            })
            .collect();
        let cfg = StftConfig {
            window_len: n,
            fft_len: nfft,
            hop,
            window: Window::Rectangular,
            phase_reference: PhaseReference::Stream,
        };
        let frames = run(&cfg, &x, 333);
        let z0 = frames[0].2[k];
        for (h, _, spec) in &frames {
            let want = 2.0 * PI * d * (*h as f64 * hop as f64);
            let got = (spec[k] / z0).arg() as f64;
            let e = (got - want).rem_euclid(2.0 * PI);
            assert!(e.min(2.0 * PI - e) < 1e-3, "frame {h}");
        }
    }

    #[test]
    fn config_errors() {
        let bad = StftConfig {
            fft_len: 10,
            window_len: 20,
            ..StftConfig::default()
        };
        assert!(matches!(bad.validate(), Err(StftError::FftTooShort { .. })));
        let bad = StftConfig {
            hop: 0,
            ..StftConfig::default()
        };
        assert!(matches!(Stft::new(bad), Err(StftError::Empty { .. })));
        let msg = StftError::FftTooShort {
            fft_len: 10,
            window_len: 20,
        }
        .to_string();
        assert!(msg.contains("10") && msg.contains("20") && !msg.contains('{'));
    }
}
