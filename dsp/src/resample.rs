//! Streaming rational resampler (polyphase, windowed-sinc), used to bring a capture at a
//! rate that is not an LTE-family rate (a HackRF at 20, 10, 8 or 2 MS/s) to the nearest
//! `m x 1.92 MS/s` below it, where every TS 36.211 length is a whole number of samples.
//!
//! ```text
//!  x[i] at fs_in  --> y[j] = sum_i x[i] g(j q - i p)   at fs_out = fs_in p / q
//!                     g: Kaiser-windowed sinc at the rate p fs_in, cut at
//!                        `cutoff` x min(fs_in, fs_out) / 2, gain p
//! ```
//!
//! Output sample `j` is the input signal at the instant `j q / p` input samples (the filter is
//! centred: no group delay), so a time `t` in the output maps back to `t q / p` in the input
//! exactly. Output indices are stamped globally: after a gap at input sample `o` the next
//! output index is `ceil(o p / q)`, so a gap in the input is a gap in the output and indices
//! stay comparable. Results do not depend on how the input is cut into blocks.
//!
//! The filter is an approximation of the ideal band limit (finite length): the passband is
//! flat to about `cutoff - transition/2` of the output Nyquist band and the band near the
//! output's edges may alias; detectors see the inner part of the band unchanged.

use num_complex::Complex32;

/// An invalid resampler configuration.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ResampleError {
    /// A ratio term is zero or too large to tabulate.
    #[error("resampling ratio {p}/{q} is not supported (1 <= p, q <= {max})", max = MAX_TERM)]
    Ratio {
        /// Interpolation factor.
        p: u32,
        /// Decimation factor.
        q: u32,
    },
    /// No rational ratio between the two rates with small terms.
    #[error("cannot resample {from} Hz to {to} Hz with a ratio of small integers")]
    Rates {
        /// Input rate, Hz.
        from: f64,
        /// Output rate, Hz.
        to: f64,
    },
    /// Taps or cutoff out of range.
    #[error("{0}")]
    Filter(&'static str),
}

/// Largest interpolation or decimation term accepted.
pub const MAX_TERM: u32 = 4000;

/// The ratio `p / q` in lowest terms that takes `from_hz` to `to_hz`, both integral Hz.
pub fn ratio(from_hz: f64, to_hz: f64) -> Result<(u32, u32), ResampleError> {
    let err = ResampleError::Rates {
        from: from_hz,
        to: to_hz,
    };
    if !(from_hz.is_finite() && to_hz.is_finite() && from_hz >= 1.0 && to_hz >= 1.0) {
        return Err(err);
    }
    let (a, b) = (from_hz.round(), to_hz.round());
    if (a - from_hz).abs() > 1e-6 || (b - to_hz).abs() > 1e-6 {
        return Err(err);
    }
    let (a, b) = (a as u64, b as u64);
    let g = gcd(a, b);
    let (p, q) = (b / g, a / g);
    if p > MAX_TERM as u64 || q > MAX_TERM as u64 {
        return Err(err);
    }
    Ok((p as u32, q as u32))
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The zeroth-order modified Bessel function of the first kind (series), for the Kaiser
/// window.
fn bessel_i0(x: f64) -> f64 {
    let mut sum = 1.0;
    let mut term = 1.0;
    let h = x / 2.0;
    for k in 1..200 {
        term *= (h / k as f64) * (h / k as f64);
        sum += term;
        if term < 1e-17 * sum {
            break;
        }
    }
    sum
}

/// Streaming rational resampler (see the module doc).
#[derive(Debug, Clone)]
pub struct Resampler {
    p: u32,
    q: u32,
    half: usize,
    /// `coef[r * (2 half + 1) + (k + half)] = g(r + k p)`, r in 0..p, k in -half..=half.
    coef: Vec<f32>,
    /// Input history: `buf[0]` is input sample `buf_start` (relative to `origin`).
    buf: Vec<Complex32>,
    buf_start: u64,
    /// Input stamp of relative sample 0.
    origin: u64,
    /// Next input stamp expected (None before the first block).
    next_in: Option<u64>,
    /// Next output index relative to `out_origin`.
    j: u64,
    out_origin: u64,
    out: Vec<Complex32>,
}

impl Resampler {
    /// A resampler by `p / q` with `half` input taps each side of the centre and the
    /// low-pass cut at `cutoff` (0.5 ..= 1) of the narrower Nyquist band, Kaiser `beta`.
    pub fn new(p: u32, q: u32, half: usize, cutoff: f64, beta: f64) -> Result<Self, ResampleError> {
        if p == 0 || q == 0 || p > MAX_TERM || q > MAX_TERM {
            return Err(ResampleError::Ratio { p, q });
        }
        if !(2..=256).contains(&half) {
            return Err(ResampleError::Filter("half must be in 2 ..= 256"));
        }
        if !(0.5..=1.0).contains(&cutoff) {
            return Err(ResampleError::Filter("cutoff must be in 0.5 ..= 1"));
        }
        if !(0.0..=20.0).contains(&beta) {
            return Err(ResampleError::Filter("beta must be in 0 ..= 20"));
        }
        let g = gcd(p as u64, q as u64) as u32;
        let (p, q) = (p / g, q / g);
        // Prototype at the rate p fs_in: cut (in cycles per high-rate sample) at
        // cutoff / (2 max(p, q)).
        let fc = cutoff / (2.0 * p.max(q) as f64);
        let support = (half * p as usize) as f64;
        let width = 2 * half + 1;
        let mut coef = vec![0f32; p as usize * width];
        let i0b = bessel_i0(beta);
        for r in 0..p as usize {
            for (kk, c) in coef[r * width..(r + 1) * width].iter_mut().enumerate() {
                let m = r as f64 + (kk as f64 - half as f64) * p as f64;
                if m.abs() > support {
                    continue;
                }
                let x = 2.0 * fc * m;
                let sinc = if x == 0.0 {
                    1.0
                } else {
                    (std::f64::consts::PI * x).sin() / (std::f64::consts::PI * x)
                };
                let ratio = m / support;
                let w = bessel_i0(beta * (1.0 - ratio * ratio).max(0.0).sqrt()) / i0b;
                // DC gain p over the whole prototype (each phase sums to about 1).
                *c = (2.0 * fc * p as f64 * sinc * w) as f32;
            }
        }
        Ok(Resampler {
            p,
            q,
            half,
            coef,
            buf: Vec::new(),
            buf_start: 0,
            origin: 0,
            next_in: None,
            j: 0,
            out_origin: 0,
            out: Vec::new(),
        })
    }

    /// A resampler from `from_hz` to `to_hz` with the default filter (24 taps each side,
    /// cut at 0.92 of the narrower Nyquist band, Kaiser beta 8: about 70 dB stop band).
    pub fn between(from_hz: f64, to_hz: f64) -> Result<Self, ResampleError> {
        let (p, q) = ratio(from_hz, to_hz)?;
        Resampler::new(p, q, 24, 0.92, 8.0)
    }

    /// The reduced ratio `(p, q)`: output rate = input rate x p / q.
    pub fn ratio(&self) -> (u32, u32) {
        (self.p, self.q)
    }

    /// Input stamp of output index `j`, rounded down (the input instant is `j q / p`).
    pub fn input_index_floor(&self, j: u64) -> u64 {
        ((j as u128 * self.q as u128) / self.p as u128) as u64
    }

    /// Input stamp of output index `j`, rounded up.
    pub fn input_index_ceil(&self, j: u64) -> u64 {
        ((j as u128 * self.q as u128).div_ceil(self.p as u128)) as u64
    }

    /// Forgets all state.
    pub fn reset(&mut self) {
        self.buf.clear();
        self.next_in = None;
        self.j = 0;
    }

    fn restart(&mut self, stamp: u64) {
        self.buf.clear();
        self.buf_start = 0;
        self.origin = stamp;
        // First output index at or after the input instant `stamp`.
        self.out_origin = ((stamp as u128 * self.p as u128).div_ceil(self.q as u128)) as u64;
        // Relative output j is at relative input time (out_origin + j) q / p - stamp.
        self.j = 0;
    }

    /// Feeds input samples `first_sample ..` and returns the output samples now complete,
    /// with the global output index of the first. A jump in `first_sample` is a gap.
    pub fn process(&mut self, first_sample: u64, x: &[Complex32]) -> (u64, &[Complex32]) {
        if self.next_in != Some(first_sample) {
            self.restart(first_sample);
        }
        self.next_in = Some(first_sample + x.len() as u64);
        self.buf.extend_from_slice(x);
        self.out.clear();
        let out_first = self.out_origin + self.j;
        let (p, q) = (self.p as u128, self.q as u128);
        let width = 2 * self.half + 1;
        let avail_end = self.buf_start + self.buf.len() as u64; // relative input index
        loop {
            // Input instant of output j, relative to origin, in units of 1/p input samples.
            let c = (self.out_origin + self.j) as u128 * q - self.origin as u128 * p;
            let n0 = (c / p) as u64;
            let r = (c % p) as usize;
            if n0 + self.half as u64 >= avail_end {
                break;
            }
            let taps = &self.coef[r * width..(r + 1) * width];
            let mut acc = Complex32::new(0.0, 0.0);
            // Taps k = -half..=half apply to input n0 - k.
            for (kk, &h) in taps.iter().enumerate() {
                let k = kk as i64 - self.half as i64;
                let i = n0 as i64 - k;
                if i < self.buf_start as i64 {
                    continue; // before the stream start: zero
                }
                acc += self.buf[(i - self.buf_start as i64) as usize] * h;
            }
            self.out.push(acc);
            self.j += 1;
        }
        // Keep the history the next output needs.
        let c = (self.out_origin + self.j) as u128 * q - self.origin as u128 * p;
        let need_from = ((c / p) as u64).saturating_sub(self.half as u64 + 1);
        if need_from > self.buf_start {
            let drop = ((need_from - self.buf_start) as usize).min(self.buf.len());
            self.buf.drain(..drop);
            self.buf_start += drop as u64;
        }
        (out_first, &self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    fn tone(f_norm: f64, n: usize) -> Vec<Complex32> {
        (0..n)
            .map(|i| {
                let ph = 2.0 * PI * f_norm * i as f64;
                Complex32::new(ph.cos() as f32, ph.sin() as f32)
            })
            .collect()
    }

    #[test]
    fn ratios_of_hackrf_rates() {
        assert_eq!(ratio(20e6, 19.2e6), Ok((24, 25)));
        assert_eq!(ratio(10e6, 9.6e6), Ok((24, 25)));
        assert_eq!(ratio(2e6, 1.92e6), Ok((24, 25)));
        assert_eq!(ratio(12.5e6, 11.52e6), Ok((576, 625)));
        assert!(ratio(10e6 + 0.5, 9.6e6).is_err());
        assert!(ratio(1e6, 0.0).is_err());
    }

    /// A tone in the passband comes out as the same tone (frequency, amplitude, phase at the
    /// mapped instant), whatever the block cut.
    #[test]
    fn tone_is_resampled_exactly_in_the_passband() {
        let (fs_in, fs_out) = (20e6, 19.2e6);
        for &f in &[1.234e6, -7.5e6, 0.0, 8.0e6] {
            let x = tone(f / fs_in, 20_000);
            for block in [20_000usize, 777, 64] {
                let mut r = Resampler::between(fs_in, fs_out).unwrap();
                let mut y = Vec::new();
                let mut first = None;
                for (bi, chunk) in x.chunks(block).enumerate() {
                    let (j0, out) = r.process((bi * block) as u64, chunk);
                    if first.is_none() && !out.is_empty() {
                        first = Some(j0);
                    }
                    y.extend_from_slice(out);
                }
                assert_eq!(first, Some(0));
                // Skip the edge transient (the filter sees zeros before sample 0).
                let mut worst = 0f64;
                for (j, v) in y.iter().enumerate().skip(100) {
                    let t = j as f64 / fs_out;
                    let ph = 2.0 * PI * f * t;
                    let want = Complex32::new(ph.cos() as f32, ph.sin() as f32);
                    worst = worst.max((v - want).norm() as f64);
                }
                // 8 MHz sits near the passband edge of 9.6 MHz x 0.92: allow its ripple.
                let tol = if f.abs() > 7.9e6 { 0.05 } else { 3e-3 };
                assert!(worst < tol, "f {f} block {block}: {worst}");
                assert!(y.len() >= 19_000 && y.len() <= 19_200, "{}", y.len());
            }
        }
    }

    /// Energy above the output Nyquist band is suppressed (stop band).
    #[test]
    fn out_of_band_tone_is_rejected() {
        let x = tone(9.85e6 / 20e6, 20_000);
        let mut r = Resampler::between(20e6, 19.2e6).unwrap();
        let (_, y) = r.process(0, &x);
        let p: f64 =
            y[200..].iter().map(|v| v.norm_sqr() as f64).sum::<f64>() / (y.len() - 200) as f64;
        assert!(p < 1e-3, "{p}");
    }

    #[test]
    fn gap_restarts_output_at_the_mapped_index() {
        let mut r = Resampler::between(20e6, 19.2e6).unwrap();
        let x = tone(0.01, 1000);
        let (j0, _) = r.process(0, &x);
        assert_eq!(j0, 0);
        let (j1, out) = r.process(50_000, &x);
        // ceil(50000 x 24 / 25) = 48000.
        assert_eq!(j1, 48_000);
        assert!(!out.is_empty());
        assert_eq!(r.input_index_floor(48_000), 50_000);
        assert_eq!(r.input_index_ceil(48_001), 50_002);
    }

    #[test]
    fn bad_configs_are_errors() {
        assert!(Resampler::new(0, 1, 8, 0.9, 8.0).is_err());
        assert!(Resampler::new(1, 1, 1, 0.9, 8.0).is_err());
        assert!(Resampler::new(2, 3, 8, 0.2, 8.0).is_err());
        assert!(Resampler::new(2, 3, 8, 0.9, 30.0).is_err());
    }
}
