//! One streaming pass over a capture for the report's spectrum and spectrogram: Welch
//! averaging and max-hold of Hann-windowed FFT frames (50 % overlap), and a spectrogram
//! decimated to a bounded number of time rows, each the mean of the frames it covers.
//! Memory is bounded by `fft_len x max_rows` whatever the capture length.
//!
//! Levels are dBFS per FFT bin, scaled so that a full-scale complex tone (|x| = 1) centred on
//! a bin reads 0 dBFS: `P_k = |X_k|^2 / (sum w)^2`. White noise of power `s2` then reads
//! `s2 * sum(w^2) / (sum w)^2` per bin (`s2 * 1.5 / N` for a Hann window).

use num_complex::Complex32;
use rustfft::{Fft, FftPlanner};
use std::sync::Arc;

/// Errors of the spectral pass.
#[derive(Debug, thiserror::Error)]
pub enum SpectrumError {
    /// The settings cannot work.
    #[error("spectrum settings: {0}")]
    Config(String),
    /// The capture holds no whole FFT frame.
    #[error("the capture is too short for a spectrum ({samples} samples, one frame is {fft_len})")]
    TooShort {
        /// Samples seen.
        samples: u64,
        /// FFT length.
        fft_len: usize,
    },
}

/// Settings of the spectral pass.
#[derive(Debug, Clone, PartialEq)]
pub struct SpectrumConfig {
    /// FFT length (frequency columns of the spectrogram), a power of two >= 16.
    pub fft_len: usize,
    /// Most time rows of the spectrogram.
    pub max_rows: usize,
    /// Samples in the capture (sets the time of each row).
    pub total_samples: u64,
}

/// The result of the pass. Bins are in display order: from `-fs/2` to `+fs/2` (FFT-shifted).
#[derive(Debug, Clone, PartialEq)]
pub struct SpectrumResult {
    /// FFT length.
    pub fft_len: usize,
    /// Mean power per bin over all frames (Welch), dBFS.
    pub average_dbfs: Vec<f32>,
    /// Highest power per bin in any frame, dBFS.
    pub max_hold_dbfs: Vec<f32>,
    /// Spectrogram rows (time), each `fft_len` bins, dBFS; `None` for a row no frame fell in
    /// (a gap in the capture).
    pub rows_dbfs: Vec<Option<Vec<f32>>>,
    /// Samples covered by each row (row `r` starts at sample `r * samples_per_row`).
    pub samples_per_row: f64,
    /// Frames analysed.
    pub frames: u64,
}

/// The streaming accumulator.
pub struct SpectrumAccumulator {
    cfg: SpectrumConfig,
    fft: Arc<dyn Fft<f32>>,
    window: Vec<f32>,
    scale: f32,
    frame: Vec<Complex32>,
    scratch: Vec<Complex32>,
    pending: Vec<Complex32>,
    pending_first: u64,
    sum: Vec<f64>,
    max: Vec<f32>,
    rows: Vec<Vec<f32>>,
    row_frames: Vec<u32>,
    samples_per_row: f64,
    frames: u64,
    seen: u64,
}

impl SpectrumAccumulator {
    /// Plans the FFT and allocates every buffer.
    pub fn new(cfg: SpectrumConfig) -> Result<Self, SpectrumError> {
        let n = cfg.fft_len;
        if n < 16 || !n.is_power_of_two() {
            return Err(SpectrumError::Config(format!(
                "FFT length {n} is not a power of two >= 16"
            )));
        }
        if cfg.max_rows == 0 {
            return Err(SpectrumError::Config("max_rows is 0".into()));
        }
        let hop = (n / 2) as u64;
        let frames_expected = if cfg.total_samples >= n as u64 {
            (cfg.total_samples - n as u64) / hop + 1
        } else {
            0
        };
        let n_rows = (frames_expected as usize).clamp(1, cfg.max_rows);
        let samples_per_row = cfg.total_samples.max(1) as f64 / n_rows as f64;
        // Periodic Hann window.
        let window: Vec<f32> = (0..n)
            .map(|i| {
                let x = std::f64::consts::PI * i as f64 / n as f64;
                (x.sin() * x.sin()) as f32
            })
            .collect();
        let wsum: f64 = window.iter().map(|&w| w as f64).sum();
        let fft = FftPlanner::<f32>::new().plan_fft_forward(n);
        let scratch = vec![Complex32::default(); fft.get_inplace_scratch_len()];
        Ok(SpectrumAccumulator {
            fft,
            window,
            scale: (1.0 / (wsum * wsum)) as f32,
            frame: vec![Complex32::default(); n],
            scratch,
            pending: Vec::with_capacity(2 * n),
            pending_first: 0,
            sum: vec![0.0; n],
            max: vec![0.0; n],
            rows: vec![vec![0.0; n]; n_rows],
            row_frames: vec![0; n_rows],
            samples_per_row,
            frames: 0,
            seen: 0,
            cfg,
        })
    }

    /// Feeds samples `first_sample ..`. A jump in `first_sample` (a gap) restarts framing.
    pub fn push(&mut self, first_sample: u64, x: &[Complex32]) {
        let n = self.cfg.fft_len;
        let hop = n / 2;
        if self.pending_first + self.pending.len() as u64 != first_sample {
            self.pending.clear();
            self.pending_first = first_sample;
        }
        self.seen += x.len() as u64;
        self.pending.extend_from_slice(x);
        let mut off = 0;
        while off + n <= self.pending.len() {
            let start = self.pending_first + off as u64;
            for ((f, &s), &w) in self
                .frame
                .iter_mut()
                .zip(&self.pending[off..off + n])
                .zip(&self.window)
            {
                *f = s * w;
            }
            self.fft
                .process_with_scratch(&mut self.frame, &mut self.scratch);
            let row = ((start as f64 / self.samples_per_row) as usize).min(self.rows.len() - 1);
            self.row_frames[row] += 1;
            let r = &mut self.rows[row];
            for (k, c) in self.frame.iter().enumerate() {
                let p = c.norm_sqr() * self.scale;
                // FFT shift: bin k (0..n) goes to display column (k + n/2) mod n.
                let col = (k + n / 2) % n;
                self.sum[col] += p as f64;
                if p > self.max[col] {
                    self.max[col] = p;
                }
                r[col] += p;
            }
            self.frames += 1;
            off += hop;
        }
        self.pending.drain(..off);
        self.pending_first += off as u64;
    }

    /// The spectra, in dBFS.
    pub fn finish(self) -> Result<SpectrumResult, SpectrumError> {
        if self.frames == 0 {
            return Err(SpectrumError::TooShort {
                samples: self.seen,
                fft_len: self.cfg.fft_len,
            });
        }
        let db = |p: f64| (10.0 * p.max(1e-20).log10()) as f32;
        let nf = self.frames as f64;
        Ok(SpectrumResult {
            fft_len: self.cfg.fft_len,
            average_dbfs: self.sum.iter().map(|&s| db(s / nf)).collect(),
            max_hold_dbfs: self.max.iter().map(|&m| db(m as f64)).collect(),
            rows_dbfs: self
                .rows
                .iter()
                .zip(&self.row_frames)
                .map(|(r, &c)| {
                    (c > 0).then(|| r.iter().map(|&p| db(p as f64 / c as f64)).collect())
                })
                .collect(),
            samples_per_row: self.samples_per_row,
            frames: self.frames,
        })
    }
}

impl SpectrumResult {
    /// Frequency of display column `col` relative to the capture centre, Hz.
    pub fn bin_offset_hz(&self, col: usize, sample_rate_hz: f64) -> f64 {
        (col as f64 - (self.fft_len / 2) as f64) * sample_rate_hz / self.fft_len as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn run(x: &[Complex32], block: usize, max_rows: usize) -> SpectrumResult {
        let mut acc = SpectrumAccumulator::new(SpectrumConfig {
            fft_len: 256,
            max_rows,
            total_samples: x.len() as u64,
        })
        .expect("config");
        for (i, c) in x.chunks(block).enumerate() {
            acc.push((i * block) as u64, c);
        }
        acc.finish().expect("frames")
    }

    #[test]
    fn full_scale_tone_reads_0_dbfs_in_its_bin() {
        // Tone at bin +32 of 256: fs/8 above the centre.
        let n = 256 * 40;
        let x: Vec<Complex32> = (0..n)
            .map(|i| {
                let ph = 2.0 * std::f64::consts::PI * 32.0 * i as f64 / 256.0;
                Complex32::new(ph.cos() as f32, ph.sin() as f32)
            })
            .collect();
        let r = run(&x, 1000, 10);
        let col = 128 + 32;
        assert!(r.average_dbfs[col].abs() < 0.01, "{}", r.average_dbfs[col]);
        assert!(r.max_hold_dbfs[col].abs() < 0.01);
        // Hann: the neighbours are -6.02 dB (0.5^2), the next ones are empty.
        assert!((r.average_dbfs[col + 1] + 6.02).abs() < 0.05);
        assert!(r.average_dbfs[col + 3] < -100.0);
        assert!((r.bin_offset_hz(col, 1.92e6) - 240e3).abs() < 1e-6);
        assert_eq!(r.rows_dbfs.len(), 10);
        assert!(r.rows_dbfs.iter().all(|row| row.is_some()));
    }

    #[test]
    fn white_noise_level_and_block_independence() {
        // Complex white noise of power 0.01 (-20 dBFS): per bin 0.01 * 1.5 / 256.
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let s = (0.01f64 / 2.0).sqrt();
        let x: Vec<Complex32> = (0..256 * 400)
            .map(|_| {
                let a: f64 = rng.random::<f64>() * 2.0 - 1.0;
                let b: f64 = rng.random::<f64>() * 2.0 - 1.0;
                // Uniform on [-1, 1] has variance 1/3.
                Complex32::new((a * s * 3f64.sqrt()) as f32, (b * s * 3f64.sqrt()) as f32)
            })
            .collect();
        let r = run(&x, 4096, 50);
        let expect = 10.0 * (0.01f64 * 1.5 / 256.0).log10();
        let mean: f64 = r.average_dbfs.iter().map(|&d| d as f64).sum::<f64>() / 256.0;
        assert!((mean - expect).abs() < 0.3, "{mean} vs {expect}");
        let r2 = run(&x, 777, 50);
        for (a, b) in r.average_dbfs.iter().zip(&r2.average_dbfs) {
            assert!((a - b).abs() < 1e-3);
        }
        assert_eq!(r.frames, r2.frames);
        assert_eq!(r.frames, (256 * 400 - 256) / 128 + 1);
    }

    #[test]
    fn rows_are_bounded_and_gaps_leave_empty_rows() {
        let x = vec![Complex32::new(0.1, 0.0); 256 * 1000];
        let r = run(&x, 65536, 100);
        assert_eq!(r.rows_dbfs.len(), 100);
        // The same length with the middle tenth missing.
        let mut acc = SpectrumAccumulator::new(SpectrumConfig {
            fft_len: 256,
            max_rows: 100,
            total_samples: x.len() as u64,
        })
        .expect("config");
        let tenth = x.len() / 10;
        acc.push(0, &x[..4 * tenth]);
        acc.push(5 * tenth as u64, &x[5 * tenth..]);
        let r = acc.finish().expect("frames");
        let empty: Vec<usize> = (0..100).filter(|&i| r.rows_dbfs[i].is_none()).collect();
        assert!(
            empty.len() >= 8 && empty.iter().all(|&i| (40..=50).contains(&i)),
            "{empty:?}"
        );
        let short = SpectrumAccumulator::new(SpectrumConfig {
            fft_len: 256,
            max_rows: 10,
            total_samples: 100,
        })
        .expect("config");
        assert!(matches!(
            short.finish(),
            Err(SpectrumError::TooShort { samples: 0, .. })
        ));
    }
}
