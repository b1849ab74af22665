//! Continuous-time description of an uplink burst, and its exact rendering at any sample rate.
//!
//! Every 3GPP uplink baseband signal we synthesise (TS 36.211 5.6 SC-FDMA, 5.7.3 PRACH,
//! 10.1.5 NB-IoT SC-FDMA, 10.1.6.2 NPRACH) is, piece by piece in time, a finite sum of
//! complex exponentials:
//!
//! ```text
//!   s(t) = sum_k  c_k * exp(j 2 pi f_k (t - t_ref))      for  t_start <= t < t_start + len
//! ```
//!
//! where the pieces are SC-FDMA symbols (with their cyclic prefix: `t_ref` is the end of the
//! CP, so the CP is the cyclic extension the clauses define), PRACH preambles, or NPRACH symbol
//! groups. A [`Burst`] is a list of such [`Segment`]s. [`Burst::render_add`] evaluates the
//! sum at the instants `n / fs` of any sample rate, so there is no resampling and no
//! approximation: the same description renders at 1.92 MS/s, 15.36 MS/s or a HackRF's
//! 10 MS/s, with a fractional start time and a carrier frequency offset applied exactly.
//! (The only inexactness is aliasing when `fs` is narrower than the signal, which is the
//! caller's choice.)

use num_complex::{Complex32, Complex64};
use std::f64::consts::PI;

/// One complex exponential of a [`Segment`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tone {
    /// Frequency relative to the generator's reference (carrier centre), Hz.
    pub freq_hz: f64,
    /// Complex amplitude at `t = t_ref_s`.
    pub coeff: Complex64,
}

/// Anything that can be rendered into a capture at a sample rate: standard bursts
/// ([`Burst`]) and interferers with a non-tonal structure (chirps).
pub trait Render {
    /// Adds the signal, rendered at sample rate `fs_hz`, into `out`; `out[i]` is absolute
    /// sample `out_first + i`, the signal's time 0 falls at absolute (fractional) sample
    /// `start_sample`, every frequency is shifted by `cfo_hz` and the signal is multiplied by
    /// `gain`.
    fn render_add(
        &self,
        out: &mut [Complex32],
        out_first: i64,
        fs_hz: f64,
        start_sample: f64,
        cfo_hz: f64,
        gain: Complex64,
    );

    /// Duration of the signal from its time 0, seconds.
    fn duration_s(&self) -> f64;
}

impl Render for Burst {
    fn render_add(
        &self,
        out: &mut [Complex32],
        out_first: i64,
        fs_hz: f64,
        start_sample: f64,
        cfo_hz: f64,
        gain: Complex64,
    ) {
        Burst::render_add(self, out, out_first, fs_hz, start_sample, cfo_hz, gain)
    }

    fn duration_s(&self) -> f64 {
        Burst::duration_s(self)
    }
}

/// A time interval in which the signal is a sum of [`Tone`]s.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// Start of the interval, seconds from the start of the burst.
    pub start_s: f64,
    /// Length of the interval, seconds.
    pub len_s: f64,
    /// Phase reference instant of the tones, seconds from the start of the burst.
    pub t_ref_s: f64,
    /// The tones active in the interval.
    pub tones: Vec<Tone>,
}

impl Segment {
    /// End of the interval, seconds from the start of the burst.
    pub fn end_s(&self) -> f64 {
        self.start_s + self.len_s
    }
}

/// A burst: segments that follow each other in time (they may leave gaps, never overlap).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Burst {
    /// The pieces of the burst, in time order.
    pub segments: Vec<Segment>,
}

impl Burst {
    /// Duration from the burst start (time 0) to the end of the last segment, seconds.
    pub fn duration_s(&self) -> f64 {
        self.segments.iter().map(Segment::end_s).fold(0.0, f64::max)
    }

    /// Nominal mean power over the occupied segments: the time-weighted mean of
    /// `sum_k |c_k|^2`. It is exact when the tones of each segment are orthogonal over the
    /// segment (one tone, or whole symbols), and the expectation for random data otherwise.
    pub fn nominal_power(&self) -> f64 {
        let (mut e, mut t) = (0.0, 0.0);
        for s in &self.segments {
            e += s.len_s * s.tones.iter().map(|x| x.coeff.norm_sqr()).sum::<f64>();
            t += s.len_s;
        }
        if t > 0.0 {
            e / t
        } else {
            0.0
        }
    }

    /// Lowest and highest tone frequency used, Hz (0, 0 for an empty burst).
    pub fn freq_span_hz(&self) -> (f64, f64) {
        let mut lo = f64::INFINITY;
        let mut hi = f64::NEG_INFINITY;
        for t in self.segments.iter().flat_map(|s| s.tones.iter()) {
            lo = lo.min(t.freq_hz);
            hi = hi.max(t.freq_hz);
        }
        if lo > hi {
            (0.0, 0.0)
        } else {
            (lo, hi)
        }
    }

    /// Multiplies every tone by `gain`.
    pub fn scale(&mut self, gain: f64) {
        for t in self.segments.iter_mut().flat_map(|s| s.tones.iter_mut()) {
            t.coeff *= gain;
        }
    }

    /// Adds the burst, rendered at sample rate `fs_hz`, into `out`.
    ///
    /// `out[i]` is the sample of absolute index `out_first + i`; the burst's time 0 falls at
    /// the (possibly fractional) absolute sample index `start_sample`. Every tone is shifted
    /// by `cfo_hz` (a carrier frequency offset, phase continuous over the whole burst, zero
    /// phase at burst time 0) and multiplied by `gain`.
    pub fn render_add(
        &self,
        out: &mut [Complex32],
        out_first: i64,
        fs_hz: f64,
        start_sample: f64,
        cfo_hz: f64,
        gain: Complex64,
    ) {
        let out_last = out_first + out.len() as i64; // exclusive
        for seg in &self.segments {
            // Samples n with start <= (n - start_sample)/fs < end.
            let n0 = ceil_tol(start_sample + seg.start_s * fs_hz);
            let n1 = ceil_tol(start_sample + seg.end_s() * fs_hz); // exclusive
            let a = n0.max(out_first);
            let b = n1.min(out_last);
            if a >= b {
                continue;
            }
            let dst = &mut out[(a - out_first) as usize..(b - out_first) as usize];
            let t_a = (a as f64 - start_sample) / fs_hz; // burst time of sample a
            let mut acc = vec![Complex64::new(0.0, 0.0); dst.len()];
            for tone in &seg.tones {
                let f = tone.freq_hz + cfo_hz;
                // Value at sample a: coeff * e^{j2pi f (t_a - t_ref)} * e^{j2pi cfo t_ref}
                // (the CFO term keeps the offset phase-continuous across segments).
                let ph0 = 2.0 * PI * (f * (t_a - seg.t_ref_s) + cfo_hz * seg.t_ref_s);
                let step = Complex64::from_polar(1.0, 2.0 * PI * f / fs_hz);
                let mut z = tone.coeff * gain * Complex64::from_polar(1.0, ph0);
                for (i, v) in acc.iter_mut().enumerate() {
                    // Re-anchor every 1024 samples so rounding cannot accumulate.
                    if i % 1024 == 0 && i > 0 {
                        let t = t_a + i as f64 / fs_hz;
                        z = tone.coeff
                            * gain
                            * Complex64::from_polar(
                                1.0,
                                2.0 * PI * (f * (t - seg.t_ref_s) + cfo_hz * seg.t_ref_s),
                            );
                    }
                    *v += z;
                    z *= step;
                }
            }
            for (d, v) in dst.iter_mut().zip(acc) {
                d.re += v.re as f32;
                d.im += v.im as f32;
            }
        }
    }

    /// Renders the whole burst on its own, starting at sample 0, at `fs_hz`.
    pub fn render(&self, fs_hz: f64) -> Vec<Complex32> {
        let n = ceil_tol(self.duration_s() * fs_hz).max(0) as usize;
        let mut out = vec![Complex32::new(0.0, 0.0); n];
        self.render_add(&mut out, 0, fs_hz, 0.0, 0.0, Complex64::new(1.0, 0.0));
        out
    }
}

/// `ceil` that forgives floating-point noise: a sample instant within 1e-6 samples after an
/// interval edge counts as on the edge (`27744 Ts x 30.72 MHz` computes as 27744.000000000004).
pub fn ceil_tol(x: f64) -> i64 {
    (x - 1e-6).ceil() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_tone(f: f64, start: f64, len: f64, t_ref: f64) -> Burst {
        Burst {
            segments: vec![Segment {
                start_s: start,
                len_s: len,
                t_ref_s: t_ref,
                tones: vec![Tone {
                    freq_hz: f,
                    coeff: Complex64::new(1.0, 0.0),
                }],
            }],
        }
    }

    #[test]
    fn tone_matches_closed_form_at_any_rate() {
        for &fs in &[1.92e6, 10e6, 15.36e6] {
            let b = one_tone(3750.0 * 7.5, 0.0, 5e-3, 1e-3);
            let x = b.render(fs);
            assert_eq!(x.len(), (5e-3 * fs).ceil() as usize);
            for (n, v) in x.iter().enumerate().step_by(997) {
                let t = n as f64 / fs;
                let want = Complex64::from_polar(1.0, 2.0 * PI * 3750.0 * 7.5 * (t - 1e-3));
                assert!((Complex64::new(v.re as f64, v.im as f64) - want).norm() < 1e-5);
            }
        }
    }

    #[test]
    fn fractional_start_shifts_exactly() {
        let b = one_tone(10e3, 0.0, 1e-3, 0.0);
        let fs = 1.92e6;
        let mut out = vec![Complex32::new(0.0, 0.0); 4000];
        b.render_add(&mut out, 0, fs, 100.25, 0.0, Complex64::new(1.0, 0.0));
        assert_eq!(out[100].norm(), 0.0);
        let t = (101.0 - 100.25) / fs;
        let want = Complex64::from_polar(1.0, 2.0 * PI * 10e3 * t);
        assert!((Complex64::new(out[101].re as f64, out[101].im as f64) - want).norm() < 1e-6);
        // Ends after exactly 1 ms = 1920 samples from 100.25: last sample index 2020.
        assert!(out[2020].norm() > 0.5);
        assert_eq!(out[2021].norm(), 0.0);
    }

    #[test]
    fn windowed_render_equals_whole_render() {
        let b = one_tone(-44e3, 0.1e-3, 2e-3, 0.3e-3);
        let fs = 3.84e6;
        let whole = b.render(fs);
        let mut parts = vec![Complex32::new(0.0, 0.0); whole.len()];
        for (ci, chunk) in parts.chunks_mut(777).enumerate() {
            b.render_add(
                chunk,
                (ci * 777) as i64,
                fs,
                0.0,
                0.0,
                Complex64::new(1.0, 0.0),
            );
        }
        for (a, c) in whole.iter().zip(&parts) {
            assert!((a - c).norm() < 1e-6);
        }
    }

    #[test]
    fn cfo_is_phase_continuous_across_segments() {
        let mut b = one_tone(0.0, 0.0, 1e-3, 0.0);
        b.segments.push(Segment {
            start_s: 1e-3,
            len_s: 1e-3,
            t_ref_s: 1e-3,
            tones: vec![Tone {
                freq_hz: 0.0,
                coeff: Complex64::new(1.0, 0.0),
            }],
        });
        let fs = 1.92e6;
        let mut out = vec![Complex32::new(0.0, 0.0); 3840];
        b.render_add(&mut out, 0, fs, 0.0, 1000.0, Complex64::new(1.0, 0.0));
        for n in 1..out.len() {
            let d = (out[n] * out[n - 1].conj()).arg() as f64;
            assert!((d - 2.0 * PI * 1000.0 / fs).abs() < 1e-4, "jump at {n}");
        }
    }

    #[test]
    fn nominal_power_and_span() {
        let b = one_tone(5.0, 0.0, 1.0, 0.0);
        assert!((b.nominal_power() - 1.0).abs() < 1e-12);
        assert_eq!(b.freq_span_hz(), (5.0, 5.0));
        assert_eq!(Burst::default().freq_span_hz(), (0.0, 0.0));
    }
}
