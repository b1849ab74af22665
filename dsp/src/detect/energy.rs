//! Wideband energy burst detector: the `unknown` reporter, and the cheap gate in front of the
//! structured detectors.
//!
//! It finds any burst of energy that rises above a per-bin noise floor, whatever the
//! waveform, at any sample rate from 0.1 to 61.44 MS/s (not only the LTE family), and
//! reports each one as a [`Detection`] of kind [`Kind::Unknown`] with its time span,
//! frequency span, power and SNR. No 3GPP clause is involved; everything here is generic
//! detection theory, and every approximation is named as one.
//!
//! ```text
//!  Complex<f32> blocks --> STFT (Hann, N = 2^ceil(log2(fs / max_bin_hz)), hop N/2)
//!                            |  P[k,t] = |X|^2 / (N sum w^2)   (sum over k = mean power)
//!                            v
//!  per-bin floor F[k] <-- q-quantile of the means of 4 ms blocks over the last 0.5 s
//!                            |  z[k,t] = P[k,t] / F[k]
//!                            v
//!  box averages of z over a few time-frequency shapes, each against its own threshold
//!                            |  cells of every box over threshold ("footprint")
//!                            v
//!  connected components (small gap tolerance) --> edges from the mean profiles
//!                            |  --> whole-burst test --> Detection (when the burst ends)
//! ```
//!
//! # STFT
//! Frame `t` covers input samples `[tH, tH + N)` of the current segment, `H = N/2`, with a
//! periodic Hann window. Bins are kept in ascending frequency: bin `i` is centred at
//! `(i - N/2) * bin_hz`. `P` is scaled so that white noise of total power `s2` gives
//! `E P = s2 / N` in every bin (the noise power in one bin spacing), and a burst's power is
//! the sum of `P` over its bins. The STFT is a small private one (`Stft`) with the same
//! contract as a shared one: a swap changes only `Stft::new` / `Stft::push`.
//!
//! # Noise floor (robust, bounded memory)
//! Per bin, the mean of `P` over blocks of `floor_block_s` (4 ms) is kept for the last
//! `floor_window_s` (0.5 s): `M` block means per bin. The floor is their order statistic
//! `r = floor(q (n - 1))` of the `n` blocks held (`q = floor_quantile`, 0.25), divided by its
//! expected value on noise, `c(n) ~ G^-1((r + 1) / (n + 1))` where `G` is the distribution
//! of a block mean of noise: a gamma of shape `k_b`, the effective number of independent
//! frames in a block (from the exact Hann overlap correlation). This approximates the mean of
//! an order statistic by the quantile at `(r + 1)/(n + 1)` (good to a fraction of the
//! floor's own spread for `k_b` of ~100). With `q = 0.25` a bin's floor is unaffected by
//! bursts that occupy up to 75 % of the window in that bin; a signal that is on for longer
//! (a CW carrier, an LTE downlink carrier, a DC spike) becomes its bins' floor and is no
//! longer reported, while the other bins keep their own floor. Until the window has filled
//! (the first `floor_window_s` of a stream) it holds the time elapsed so far, and the 75 %
//! applies to that. Frames are tested against the floor of the blocks before theirs
//! (causal).
//!
//! **Warm-up.** The first 4 blocks (16 ms) are held; the floor is then seeded with the
//! minimum (`q = 0.25` of 4) of their 4 block means, and the held frames are tested against
//! it, so a burst during warm-up is still found unless it covers most of the warm-up in its
//! bins. Until the window is full the thresholds account for the larger error of a floor
//! estimated from fewer blocks (see below); they fall to their steady values as blocks
//! arrive. The hold costs `16 ms x N` floats (2 MB at 30.72 MS/s).
//!
//! # Thresholds from a false-alarm rate
//! The budget is `false_alarms_per_hour` per monitored MHz (the monitored band is `fs`),
//! split equally between the box shapes. A shape of `Kf` bins x `Kt` frames is tested at
//! every bin position of every frame; the number of tests per hour is `(N - Kf + 1) x 3600 fs
//! / H` (a Bonferroni bound: overlapping boxes are counted as independent, so the realised
//! rate is lower than requested). On noise a box sum of `z` is a sum of correlated
//! exponentials; it is modelled as a gamma variable with the same mean and variance (a
//! Satterthwaite approximation) whose shape `k_a = (Kf Kt)^2 / sum rho^2` uses the exact
//! power correlations `rho^2` of the Hann STFT between neighbouring bins and frames. The
//! floor is itself a gamma-like estimate with shape `k_f = n k_b / 2` (an order statistic of
//! `n` block means has about twice the variance of their mean); the ratio of the two is an
//! F variable, and the threshold solves its tail for the per-test probability. With an exact
//! floor (`k_f -> inf`) and integer `k_a` this is [`super::erlang_threshold`] (tested).
//!
//! # Bursts
//! Every cell covered by a box over its threshold is marked; marked cells are joined into
//! components across bins and frames, bridging gaps of `merge_gap_hz` and `merge_gap_s`.
//! A component's footprint exceeds the burst by up to one box, so the reported edges come
//! from mean profiles: the mean excess `z - 1` per bin (accumulated over the component's
//! frames) and per frame (over its bins, from a short history ring). On each profile the
//! edges are the maximum-likelihood step: the segment maximising `sum (p - L/2)` for the
//! plateau level `L` (iterated to convergence), refined to a fraction of a hop (a bin) by
//! inverting the Hann energy fraction of the frame (the spectral kernel fraction of the bin)
//! on each side of the edge. A burst that fits in the history ring (up to about 2.5 box
//! lengths) is dated as a whole when it closes, and its frequency profile is then taken again
//! over its own frames only; a longer burst's start is estimated when it is `Kt_max + 24`
//! frames old, its end when it closes. The burst is then tested as
//! a whole (its mean `z` over its estimated extent against the threshold of a box that size,
//! per-cell probability) and emitted if it passes and lasts at least `min_duration_s`. A
//! component still open after `max_duration_s` is emitted and continues as a new one
//! (`params.truncated`, `params.continued`), so memory stays bounded and a continuous
//! signal that starts mid-stream is reported at most once per `max_duration_s` until the
//! floor absorbs it (after 75 % of the floor window, 0.375 s by default).
//!
//! # Limits (approximations)
//! Two bursts closer than about one box (240 kHz, 0.5 ms by default) in both time and
//! frequency merge into one. A continuous signal whose power fluctuates more than noise
//! (a loaded LTE downlink) can be reported again as its power rises. The last `< N` input
//! samples before a gap or `finish` are not analysed.

use super::Detection;
use crate::synth::{Kind, Tech};
use num_complex::Complex32;
use rustfft::{Fft, FftPlanner};
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;
use std::sync::Arc;

/// Number of floor blocks held during warm-up before the floor is seeded.
const WARMUP_BLOCKS: usize = 4;
/// Largest box duration in frames (the per-bin anchor history is a `u64`).
const MAX_BOX_FRAMES: usize = 64;
/// Frames of noise taken on each side of a burst for its time profile.
const EDGE_MARGIN_FRAMES: u64 = 4;
/// Plateau frames after the latest possible start used to estimate the start edge.
const START_PLATEAU_FRAMES: u64 = 24;
/// Bins of margin accumulated around each marked span for the frequency profile.
const PROFILE_MARGIN_BINS: usize = 3;
/// Components tracked at once (bounded memory); more are dropped and counted.
const MAX_COMPONENTS: usize = 1024;
/// Components with a frequency profile at once; more are dropped and counted.
const MAX_PROFILES: usize = 64;
/// Largest bin offset with a non-zero Hann power correlation kept in the dof formula.
const CORR_BINS: i64 = 4;
/// Smallest floor value (a digital-zero input would otherwise divide by zero).
const FLOOR_MIN: f32 = 1e-30;

// ---------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------

/// One time-frequency averaging box, in physical units (converted to whole bins and frames
/// at the detector's rate, at least one of each).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BoxShape {
    /// Width of the box, Hz (at most half the bins are used at low sample rates).
    pub bandwidth_hz: f64,
    /// Length of the box, seconds (at most 64 hops, about 2 ms at a 15 kHz bin).
    pub duration_s: f64,
}

impl Default for BoxShape {
    fn default() -> Self {
        BoxShape {
            bandwidth_hz: 60e3,
            duration_s: 0.25e-3,
        }
    }
}

/// Configuration of the [`EnergyDetector`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnergyDetectorConfig {
    /// Input sample rate, Hz (0.1 .. 61.44 MS/s, any value).
    pub sample_rate_hz: f64,
    /// Requested false alarms per hour per monitored MHz (the monitored band is the sample
    /// rate). The thresholds are set for it with a union bound, so the realised rate on
    /// white noise is lower.
    pub false_alarms_per_hour: f64,
    /// Shortest burst reported, seconds.
    pub min_duration_s: f64,
    /// Longest burst before it is split (emitted and continued), seconds.
    pub max_duration_s: f64,
    /// Largest STFT bin spacing, Hz: `N` is the next power of two `>= fs / max_bin_hz`.
    pub max_bin_hz: f64,
    /// Length of the sliding window of the noise floor, seconds.
    pub floor_window_s: f64,
    /// Length of one floor block (the floor keeps one mean per block and bin), seconds.
    pub floor_block_s: f64,
    /// Quantile of the block means taken as the floor (0.05 .. 0.5); lower tolerates more
    /// burst occupancy.
    pub floor_quantile: f64,
    /// Averaging boxes (1 to 8); each gets an equal share of the false-alarm budget.
    pub boxes: Vec<BoxShape>,
    /// Frequency gap bridged when joining cells into a burst, Hz.
    pub merge_gap_hz: f64,
    /// Time gap bridged when joining cells into a burst, seconds.
    pub merge_gap_s: f64,
}

impl Default for EnergyDetectorConfig {
    fn default() -> Self {
        EnergyDetectorConfig {
            sample_rate_hz: 1.92e6,
            false_alarms_per_hour: 1.0,
            min_duration_s: 0.0,
            max_duration_s: 1.0,
            max_bin_hz: 15e3,
            floor_window_s: 0.5,
            floor_block_s: 4e-3,
            floor_quantile: 0.25,
            boxes: vec![
                // Narrow and long: single tones (NB-IoT 3.75/15 kHz), CW-like bursts.
                BoxShape {
                    bandwidth_hz: 15e3,
                    duration_s: 1e-3,
                },
                // Medium.
                BoxShape {
                    bandwidth_hz: 60e3,
                    duration_s: 0.25e-3,
                },
                // Wide: PUSCH / PRACH / LTE-M allocations near 0 dB.
                BoxShape {
                    bandwidth_hz: 240e3,
                    duration_s: 0.5e-3,
                },
            ],
            merge_gap_hz: 30e3,
            merge_gap_s: 70e-6,
        }
    }
}

/// A configuration value the energy detector does not accept.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum EnergyConfigError {
    /// A parameter outside its allowed range.
    #[error("energy detector: {param} = {value} is not allowed ({allowed})")]
    Param {
        /// Parameter name.
        param: &'static str,
        /// The value given.
        value: String,
        /// What is allowed.
        allowed: String,
    },
}

fn cfg_err(param: &'static str, value: impl ToString, allowed: impl ToString) -> EnergyConfigError {
    EnergyConfigError::Param {
        param,
        value: value.to_string(),
        allowed: allowed.to_string(),
    }
}

/// STFT size, hop and derived spacings.
#[derive(Debug, Clone, Copy)]
struct Geometry {
    n: usize,
    hop: usize,
    bin_hz: f64,
    hop_s: f64,
}

fn geometry(fs: f64, max_bin_hz: f64) -> Geometry {
    let n = ((fs / max_bin_hz).ceil().max(16.0) as usize).next_power_of_two();
    Geometry {
        n,
        hop: n / 2,
        bin_hz: fs / n as f64,
        hop_s: (n / 2) as f64 / fs,
    }
}

impl EnergyDetectorConfig {
    /// Checks the configuration.
    pub fn validate(&self) -> Result<(), EnergyConfigError> {
        let fs = self.sample_rate_hz;
        if !(fs.is_finite() && (1e5..=61.44e6).contains(&fs)) {
            return Err(cfg_err("sample_rate_hz", fs, "0.1 .. 61.44 MS/s"));
        }
        let fa = self.false_alarms_per_hour;
        if !(fa.is_finite() && fa > 0.0 && fa <= 1e9) {
            return Err(cfg_err("false_alarms_per_hour", fa, "0 < x <= 1e9"));
        }
        if !(self.max_bin_hz.is_finite() && self.max_bin_hz > 0.0) || fs / self.max_bin_hz > 65536.0
        {
            return Err(cfg_err(
                "max_bin_hz",
                self.max_bin_hz,
                "> 0 and fs / max_bin_hz <= 65536",
            ));
        }
        let g = geometry(fs, self.max_bin_hz);
        if !(self.max_duration_s.is_finite() && self.max_duration_s > 0.0)
            || self.max_duration_s > 60.0
            || self.max_duration_s < 4.0 * g.hop_s
        {
            return Err(cfg_err(
                "max_duration_s",
                self.max_duration_s,
                format!("{} .. 60 s (at least 4 hops)", 4.0 * g.hop_s),
            ));
        }
        if !(self.min_duration_s.is_finite()
            && self.min_duration_s >= 0.0
            && self.min_duration_s < self.max_duration_s)
        {
            return Err(cfg_err(
                "min_duration_s",
                self.min_duration_s,
                "0 <= x < max_duration_s",
            ));
        }
        let b = (self.floor_block_s / g.hop_s).round();
        if !(b.is_finite() && (4.0..=1e5).contains(&b)) {
            return Err(cfg_err(
                "floor_block_s",
                self.floor_block_s,
                format!("4 .. 100000 hops of {} s", g.hop_s),
            ));
        }
        let m = (self.floor_window_s / self.floor_block_s).round();
        if !(m.is_finite() && (8.0..=4096.0).contains(&m)) {
            return Err(cfg_err(
                "floor_window_s",
                self.floor_window_s,
                "8 .. 4096 floor blocks",
            ));
        }
        if !(self.floor_quantile.is_finite() && (0.05..=0.5).contains(&self.floor_quantile)) {
            return Err(cfg_err(
                "floor_quantile",
                self.floor_quantile,
                "0.05 ..= 0.5",
            ));
        }
        if self.boxes.is_empty() || self.boxes.len() > 8 {
            return Err(cfg_err("boxes", self.boxes.len(), "1 ..= 8 shapes"));
        }
        for bx in &self.boxes {
            if !(bx.bandwidth_hz.is_finite() && bx.bandwidth_hz > 0.0) {
                return Err(cfg_err("boxes.bandwidth_hz", bx.bandwidth_hz, "> 0"));
            }
            let kt = (bx.duration_s / g.hop_s).round();
            if !(bx.duration_s.is_finite() && bx.duration_s > 0.0 && kt <= MAX_BOX_FRAMES as f64) {
                return Err(cfg_err(
                    "boxes.duration_s",
                    bx.duration_s,
                    format!("0 < d <= {MAX_BOX_FRAMES} hops = {} s", 64.0 * g.hop_s),
                ));
            }
        }
        let gf = self.merge_gap_hz / g.bin_hz;
        if !(gf.is_finite() && (0.0..=64.0).contains(&gf)) {
            return Err(cfg_err("merge_gap_hz", self.merge_gap_hz, "0 ..= 64 bins"));
        }
        let gt = self.merge_gap_s / g.hop_s;
        if !(gt.is_finite() && (0.0..=16.0).contains(&gt)) {
            return Err(cfg_err("merge_gap_s", self.merge_gap_s, "0 ..= 16 hops"));
        }
        Ok(())
    }
}

/// Counters of what the detector did and why it rejected candidates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EnergyStats {
    /// Input samples received.
    pub samples: u64,
    /// STFT frames computed.
    pub frames: u64,
    /// Non-finite input samples (replaced by zero).
    pub nonfinite_samples: u64,
    /// Discontinuities in the sample stamps (each flushes open bursts).
    pub gaps: u64,
    /// Components closed (or split) and examined.
    pub candidates: u64,
    /// Bursts emitted.
    pub emitted: u64,
    /// Rejected: shorter than `min_duration_s`.
    pub rejected_too_short: u64,
    /// Rejected: the burst as a whole is below the threshold of its extent.
    pub rejected_below_threshold: u64,
    /// Dropped: the component or profile pool was full (bounded memory).
    pub dropped_no_capacity: u64,
    /// Bursts split at `max_duration_s`.
    pub splits: u64,
}

// ---------------------------------------------------------------------------------------
// Private STFT (to be swapped for the shared `crate::stft` when it lands)
// ---------------------------------------------------------------------------------------

/// Streaming STFT: periodic Hann window of `n`, hop `n / 2`, power per bin in ascending
/// frequency order, scaled by `1 / (n sum w^2)`. Plans once; no allocation in `push`.
struct Stft {
    n: usize,
    hop: usize,
    window: Vec<f32>,
    fft: Arc<dyn Fft<f32>>,
    inbuf: Vec<Complex32>,
    fill: usize,
    work: Vec<Complex32>,
    scratch: Vec<Complex32>,
    power: Vec<f32>,
    scale: f32,
    nonfinite: u64,
}

impl Stft {
    fn new(n: usize) -> Self {
        let window = hann(n);
        let sw2: f64 = window.iter().map(|&w| (w as f64) * (w as f64)).sum();
        let fft = FftPlanner::<f32>::new().plan_fft_forward(n);
        let scratch = vec![Complex32::new(0.0, 0.0); fft.get_inplace_scratch_len()];
        Stft {
            n,
            hop: n / 2,
            window,
            fft,
            inbuf: vec![Complex32::new(0.0, 0.0); n],
            fill: 0,
            work: vec![Complex32::new(0.0, 0.0); n],
            scratch,
            power: vec![0.0; n],
            scale: (1.0 / (n as f64 * sw2)) as f32,
            nonfinite: 0,
        }
    }

    /// Drops buffered samples (the next frame starts with the next sample pushed).
    fn reset(&mut self) {
        self.fill = 0;
    }

    /// Feeds samples; calls `on_frame` with the power of every completed frame.
    fn push(&mut self, x: &[Complex32], mut on_frame: impl FnMut(&[f32])) {
        let mut i = 0;
        while i < x.len() {
            let take = (self.n - self.fill).min(x.len() - i);
            for (d, s) in self.inbuf[self.fill..self.fill + take]
                .iter_mut()
                .zip(&x[i..i + take])
            {
                if s.re.is_finite() && s.im.is_finite() {
                    *d = *s;
                } else {
                    *d = Complex32::new(0.0, 0.0);
                    self.nonfinite += 1;
                }
            }
            self.fill += take;
            i += take;
            if self.fill == self.n {
                for ((o, v), w) in self.work.iter_mut().zip(&self.inbuf).zip(&self.window) {
                    *o = v * *w;
                }
                self.fft
                    .process_with_scratch(&mut self.work, &mut self.scratch);
                let half = self.n / 2;
                let (neg, pos) = self.work.split_at(half);
                for (p, v) in self.power.iter_mut().zip(pos.iter().chain(neg)) {
                    *p = v.norm_sqr() * self.scale;
                }
                on_frame(&self.power);
                self.inbuf.copy_within(self.hop.., 0);
                self.fill = self.n - self.hop;
            }
        }
    }
}

/// Periodic Hann window `sin^2(pi i / n)`.
fn hann(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let s = (PI * i as f64 / n as f64).sin();
            (s * s) as f32
        })
        .collect()
}

/// Half-width of the spectral kernel table, bins.
const KERNEL_HALF_BINS: f64 = 8.0;
/// Points of the spectral kernel table per bin.
const KERNEL_PER_BIN: f64 = 64.0;

/// `G(x)`: the fraction of the Hann window's power response `|W(nu)|^2` at offsets
/// `nu >= x` bins, tabulated for `x` in `[-8, 8]` bins (1/64 bin steps). Uses the large-`N`
/// limit `W(nu) ~ 0.5 sinc(nu) + 0.25 sinc(nu - 1) + 0.25 sinc(nu + 1)` (an approximation;
/// the power beyond 8 bins, ~1e-6, is ignored). A bin centred at `c` sees a flat band
/// starting at `a` with the fraction `G(a - c)` of the band's level.
fn hann_kernel_fraction() -> Vec<f64> {
    let sinc = |x: f64| {
        if x.abs() < 1e-12 {
            1.0
        } else {
            (PI * x).sin() / (PI * x)
        }
    };
    let m = (2.0 * KERNEL_HALF_BINS * KERNEL_PER_BIN) as usize;
    let dx = 1.0 / KERNEL_PER_BIN;
    // Power at the midpoints of the cells; G[j] = sum of cells at or above x_j.
    let cell: Vec<f64> = (0..m)
        .map(|j| {
            let nu = -KERNEL_HALF_BINS + (j as f64 + 0.5) * dx;
            let w = 0.5 * sinc(nu) + 0.25 * sinc(nu - 1.0) + 0.25 * sinc(nu + 1.0);
            w * w
        })
        .collect();
    let total: f64 = cell.iter().sum();
    let mut g = vec![0.0; m + 1];
    for j in (0..m).rev() {
        g[j] = g[j + 1] + cell[j] / total;
    }
    g
}

// ---------------------------------------------------------------------------------------
// Statistics helpers
// ---------------------------------------------------------------------------------------

/// `ln Gamma(x)` for `x > 0` (Lanczos, g = 7, 9 terms; relative error ~1e-15).
fn ln_gamma(x: f64) -> f64 {
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        PI.ln() - (PI * x).sin().ln() - ln_gamma(1.0 - x)
    } else {
        let x = x - 1.0;
        let mut a = C[0];
        for (i, c) in C.iter().enumerate().skip(1) {
            a += c / (x + i as f64);
        }
        let t = x + 7.5;
        0.5 * (2.0 * PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
    }
}

/// Regularised lower incomplete gamma `P(a, x)`.
fn gamma_p(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    let front = (-x + a * x.ln() - ln_gamma(a)).exp();
    if x < a + 1.0 {
        // Series.
        let (mut ap, mut del) = (a, 1.0 / a);
        let mut sum = del;
        for _ in 0..100_000 {
            ap += 1.0;
            del *= x / ap;
            sum += del;
            if del.abs() < sum.abs() * 1e-15 {
                break;
            }
        }
        (sum * front).min(1.0)
    } else {
        // Continued fraction for Q (modified Lentz).
        let tiny = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..100_000 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < tiny {
                d = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let del = d * c;
            h *= del;
            if (del - 1.0).abs() < 1e-15 {
                break;
            }
        }
        (1.0 - front * h).max(0.0)
    }
}

/// Continued fraction of the incomplete beta function (modified Lentz).
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    let tiny = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < tiny {
        d = tiny;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..200_000 {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < tiny {
            d = tiny;
        }
        c = 1.0 + aa / c;
        if c.abs() < tiny {
            c = tiny;
        }
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if d.abs() < tiny {
            d = tiny;
        }
        c = 1.0 + aa / c;
        if c.abs() < tiny {
            c = tiny;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// Regularised incomplete beta `I_x(a, b)`.
fn beta_inc(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (-x).ln_1p();
    if x < (a + 1.0) / (a + b + 2.0) {
        ln_front.exp() * beta_cf(a, b, x) / a
    } else {
        1.0 - ln_front.exp() * beta_cf(b, a, 1.0 - x) / b
    }
}

/// `P(A / F > y)` for independent `A ~ Gamma(ka)/ka` and `F ~ Gamma(kf)/kf` (both mean 1):
/// the tail of an F(2 ka, 2 kf) variable. `kf = inf` gives the gamma tail of `A`.
fn ratio_tail(ka: f64, kf: f64, y: f64) -> f64 {
    if y <= 0.0 {
        return 1.0;
    }
    if kf.is_infinite() {
        return 1.0 - gamma_p(ka, ka * y);
    }
    beta_inc(kf, ka, kf / (kf + ka * y))
}

/// The `y` with `ratio_tail(ka, kf, y) = p` (bisection).
fn ratio_threshold(ka: f64, kf: f64, p: f64) -> f64 {
    let p = p.clamp(1e-300, 0.5);
    let (mut lo, mut hi) = (0.0f64, 2.0f64);
    let mut guard = 0;
    while ratio_tail(ka, kf, hi) > p && guard < 200 {
        lo = hi;
        hi *= 2.0;
        guard += 1;
    }
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if ratio_tail(ka, kf, mid) > p {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-12 * hi {
            break;
        }
    }
    hi
}

/// The `p`-quantile of `Gamma(k)/k` (mean 1).
fn gamma_quantile_mean1(k: f64, p: f64) -> f64 {
    let (mut lo, mut hi) = (0.0f64, 2.0f64);
    while gamma_p(k, k * hi) < p {
        lo = hi;
        hi *= 2.0;
    }
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if gamma_p(k, k * mid) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Power correlations `|rho(df, dt)|^2` of the STFT of white noise between bins `df` and
/// frames `dt` apart, `df` in `-CORR_BINS..=CORR_BINS`, `dt` in `-1..=1` (frames two hops
/// apart do not overlap when the hop is `N/2`). Index `[(dt + 1) * W + df + CORR_BINS]`.
fn stft_power_corr(window: &[f32], hop: usize) -> Vec<f64> {
    let n = window.len();
    let sw2: f64 = window.iter().map(|&w| (w as f64).powi(2)).sum();
    let wdt = (2 * CORR_BINS + 1) as usize;
    let mut out = vec![0.0; 3 * wdt];
    for dt in -1i64..=1 {
        for df in -CORR_BINS..=CORR_BINS {
            let (mut re, mut im) = (0.0f64, 0.0f64);
            for i in 0..n as i64 {
                let j = i - dt * hop as i64;
                if j < 0 || j >= n as i64 {
                    continue;
                }
                let g = window[i as usize] as f64 * window[j as usize] as f64;
                let ph = 2.0 * PI * (df * i) as f64 / n as f64;
                re += g * ph.cos();
                im += g * ph.sin();
            }
            out[((dt + 1) as usize) * wdt + (df + CORR_BINS) as usize] =
                (re * re + im * im) / (sw2 * sw2);
        }
    }
    out
}

/// Effective gamma shape (moment matched) of the sum of `kf x kt` STFT power cells of white
/// noise, from the power correlations `corr` of [`stft_power_corr`].
fn box_dof(kf: usize, kt: usize, corr: &[f64]) -> f64 {
    let wdt = (2 * CORR_BINS + 1) as usize;
    let mut var = 0.0;
    for dt in -1i64..=1 {
        let wt = (kt as f64 - dt.abs() as f64).max(0.0);
        for df in -CORR_BINS..=CORR_BINS {
            let wf = (kf as f64 - df.abs() as f64).max(0.0);
            var += wt * wf * corr[((dt + 1) as usize) * wdt + (df + CORR_BINS) as usize];
        }
    }
    let m = (kf * kt) as f64;
    m * m / var
}

/// The segment `[s, e]` maximising `sum (p[i] - level)` (Kadane), if its sum is positive.
fn best_segment(p: &[f64], level: f64) -> Option<(usize, usize)> {
    let mut best: Option<(usize, usize, f64)> = None;
    let (mut cur, mut cur_s) = (0.0f64, 0usize);
    for (i, &v) in p.iter().enumerate() {
        if cur <= 0.0 {
            cur = 0.0;
            cur_s = i;
        }
        cur += v - level;
        if cur > 0.0 && best.is_none_or(|b| cur > b.2) {
            best = Some((cur_s, i, cur));
        }
    }
    best.map(|b| (b.0, b.1))
}

/// Maximum-likelihood step edges of a profile `p` with baseline 0: the segment maximising
/// `sum (p - L/2)` where `L` is the mean of `p` over the segment (fixed point, started from
/// the mean over `init`). Returns `(s, e, L)`.
fn step_edges(p: &[f64], init: (usize, usize)) -> Option<(usize, usize, f64)> {
    let mean = |s: usize, e: usize| p[s..=e].iter().sum::<f64>() / (e - s + 1) as f64;
    if p.is_empty() || init.0 > init.1 || init.1 >= p.len() {
        return None;
    }
    let mut level = mean(init.0, init.1);
    let mut seg = None;
    for _ in 0..8 {
        if level <= 0.0 || !level.is_finite() {
            return None;
        }
        let (s, e) = best_segment(p, 0.5 * level)?;
        let l = mean(s, e);
        let same = seg == Some((s, e));
        seg = Some((s, e));
        level = l;
        if same {
            break;
        }
    }
    seg.map(|(s, e)| (s, e, level))
}

// ---------------------------------------------------------------------------------------
// Detector
// ---------------------------------------------------------------------------------------

/// One averaging box at the detector's rate.
struct Shape {
    kf: usize,
    kt: usize,
    /// Threshold on the box SUM of `z` (`y x kf x kt`), per floor level.
    thr_sum: Vec<f64>,
    /// Sum of `z` over the last `kt` frames, per bin.
    sum_t: Vec<f64>,
    /// Bit `i` set: a box over threshold anchored (ending) `i` frames ago covers this bin.
    hist: Vec<u64>,
}

/// A connected component (a burst in progress). Union-find over a slab.
#[derive(Debug, Clone, Copy)]
struct Comp {
    parent: u32,
    fp_start: u64,
    last_frame: u64,
    bin_lo: usize,
    bin_hi: usize,
    profile: Option<u16>,
    /// Estimated start, samples from the segment origin.
    start_sample: Option<f64>,
    continued: bool,
}

/// Per-bin accumulations of a component over its frames (frequency profile and power).
struct Profile {
    sum_z: Vec<f64>,
    sum_ex: Vec<f64>,
    sum_fl: Vec<f64>,
    cnt: Vec<u32>,
    lo: usize,
    hi: usize,
}

impl Profile {
    fn new(n: usize) -> Self {
        Profile {
            sum_z: vec![0.0; n],
            sum_ex: vec![0.0; n],
            sum_fl: vec![0.0; n],
            cnt: vec![0; n],
            lo: usize::MAX,
            hi: 0,
        }
    }

    fn clear(&mut self) {
        if self.lo <= self.hi {
            for k in self.lo..=self.hi {
                self.sum_z[k] = 0.0;
                self.sum_ex[k] = 0.0;
                self.sum_fl[k] = 0.0;
                self.cnt[k] = 0;
            }
        }
        self.lo = usize::MAX;
        self.hi = 0;
    }
}

/// A burst's frequency extent: bins `lo..=hi` and band edges in fractional bins (bin `i`
/// is centred at `i`).
#[derive(Debug, Clone, Copy)]
struct Band {
    lo: usize,
    hi: usize,
    edge_lo: f64,
    edge_hi: f64,
}

const NO_FRAME: u64 = u64::MAX;

/// Everything but the STFT.
struct Core {
    n: usize,
    hop: usize,
    bin_hz: f64,
    // Noise floor.
    blk_len: usize,
    n_blk: usize,
    quantile: f64,
    blk_sum: Vec<f64>,
    blk_count: usize,
    blocks: Vec<f32>,
    blocks_total: u64,
    n_valid: usize,
    bias: Vec<f64>,
    floor: Vec<f32>,
    inv_floor: Vec<f32>,
    floor_db: Vec<f32>,
    floor_ready: bool,
    /// Per bin, the valid block means in ascending order (sliding-window order statistic).
    sorted: Vec<f32>,
    hold: Vec<f32>,
    held: usize,
    // Thresholds.
    level_of_n: Vec<usize>,
    level_kf: Vec<f64>,
    shapes: Vec<Shape>,
    kt_max: usize,
    p_cell: f64,
    corr: Vec<f64>,
    // Frame history.
    ring_len: usize,
    ring_z: Vec<f32>,
    ring_p: Vec<f32>,
    t_next: u64,
    next_label: u64,
    // Labelling.
    marked: Vec<bool>,
    spans: Vec<(usize, usize)>,
    found: Vec<u32>,
    lab_comp: Vec<u32>,
    lab_frame: Vec<u64>,
    acc_tag: Vec<u64>,
    comps: Vec<Comp>,
    free_comps: Vec<u32>,
    open: Vec<u32>,
    profiles: Vec<Profile>,
    free_profiles: Vec<u16>,
    gap_f: usize,
    gap_t: u64,
    max_len_samples: f64,
    min_len_samples: f64,
    phi: Vec<f64>,
    kernel: Vec<f64>,
    prof: Vec<f64>,
    stats: EnergyStats,
}

/// The wideband energy burst detector (see the module documentation).
///
/// ```
/// use ciot_dsp::detect::energy::{EnergyDetector, EnergyDetectorConfig};
/// use num_complex::Complex32;
/// let mut det = EnergyDetector::new(EnergyDetectorConfig {
///     sample_rate_hz: 1.92e6,
///     ..Default::default()
/// })
/// .expect("valid configuration");
/// let mut out = Vec::new();
/// det.process(0, &vec![Complex32::new(0.0, 0.0); 4096], &mut out);
/// det.finish(&mut out);
/// assert!(out.is_empty());
/// ```
pub struct EnergyDetector {
    cfg: EnergyDetectorConfig,
    stft: Stft,
    core: Core,
    next_sample: Option<u64>,
    origin: u64,
}

impl EnergyDetector {
    /// Builds the detector: STFT plan, window, correlation model, thresholds.
    pub fn new(cfg: EnergyDetectorConfig) -> Result<Self, EnergyConfigError> {
        cfg.validate()?;
        let fs = cfg.sample_rate_hz;
        let g = geometry(fs, cfg.max_bin_hz);
        let n = g.n;
        let stft = Stft::new(n);
        let corr = stft_power_corr(&stft.window, g.hop);

        // Floor.
        let blk_len = (cfg.floor_block_s / g.hop_s).round() as usize;
        let n_blk = (cfg.floor_window_s / cfg.floor_block_s).round() as usize;
        let kb = box_dof(1, blk_len, &corr);
        let q = cfg.floor_quantile;
        let mut bias = vec![1.0; n_blk + 1];
        for (nv, b) in bias.iter_mut().enumerate().skip(1) {
            let r = (q * (nv - 1) as f64).floor();
            *b = gamma_quantile_mean1(kb, (r + 1.0) / (nv as f64 + 1.0));
        }

        // Floor levels (numbers of blocks) at which thresholds are tabulated.
        let mut levels: Vec<usize> = Vec::new();
        let mut v = 1usize;
        while v < n_blk {
            levels.push(v);
            v = if v < 4 { v + 1 } else { v + v / 2 };
        }
        levels.push(n_blk);
        let mut level_of_n = vec![0usize; n_blk + 1];
        for (nv, l) in level_of_n.iter_mut().enumerate() {
            *l = levels.iter().rposition(|&x| x <= nv.max(1)).unwrap_or(0);
        }
        let level_kf: Vec<f64> = levels.iter().map(|&l| l as f64 * kb / 2.0).collect();

        // False-alarm budget.
        let frames_per_hour = 3600.0 / g.hop_s;
        let budget = cfg.false_alarms_per_hour * fs / 1e6;
        let n_shapes = cfg.boxes.len() as f64;
        let mut shapes = Vec::with_capacity(cfg.boxes.len());
        for bx in &cfg.boxes {
            let kf = ((bx.bandwidth_hz / g.bin_hz).round() as usize).clamp(1, n / 2);
            let kt = ((bx.duration_s / g.hop_s).round() as usize).clamp(1, MAX_BOX_FRAMES);
            let dof = box_dof(kf, kt, &corr);
            let tests = (n - kf + 1) as f64 * frames_per_hour;
            let p = budget / n_shapes / tests;
            let thr_sum = level_kf
                .iter()
                .map(|&kfl| ratio_threshold(dof, kfl, p) * (kf * kt) as f64)
                .collect();
            shapes.push(Shape {
                kf,
                kt,
                thr_sum,
                sum_t: vec![0.0; n],
                hist: vec![0; n],
            });
        }
        let kt_max = shapes.iter().map(|s| s.kt).max().unwrap_or(1);
        let p_cell = budget / (n as f64 * frames_per_hour);
        let gap_f = (cfg.merge_gap_hz / g.bin_hz).round() as usize;
        let gap_t = (cfg.merge_gap_s / g.hop_s).round() as u64;
        let ring_len =
            2 * kt_max + (START_PLATEAU_FRAMES + gap_t + EDGE_MARGIN_FRAMES) as usize + 4;

        // Hann energy fraction at offsets >= d.
        let w2: Vec<f64> = stft.window.iter().map(|&w| (w as f64).powi(2)).collect();
        let sw2: f64 = w2.iter().sum();
        let mut phi = vec![0.0; n + 1];
        for d in (0..n).rev() {
            phi[d] = phi[d + 1] + w2[d] / sw2;
        }

        let core = Core {
            n,
            hop: g.hop,
            bin_hz: g.bin_hz,
            blk_len,
            n_blk,
            quantile: q,
            blk_sum: vec![0.0; n],
            blk_count: 0,
            blocks: vec![0.0; n * n_blk],
            blocks_total: 0,
            n_valid: 0,
            bias,
            floor: vec![1.0; n],
            inv_floor: vec![1.0; n],
            floor_db: vec![0.0; n],
            floor_ready: false,
            sorted: vec![0.0; n * n_blk],
            hold: vec![0.0; WARMUP_BLOCKS * blk_len * n],
            held: 0,
            level_of_n,
            level_kf,
            shapes,
            kt_max,
            p_cell,
            corr,
            ring_len,
            ring_z: vec![0.0; ring_len * n],
            ring_p: vec![0.0; ring_len * n],
            t_next: 0,
            next_label: 0,
            marked: vec![false; n],
            spans: Vec::with_capacity(n),
            found: Vec::with_capacity(n),
            lab_comp: vec![0; n],
            lab_frame: vec![NO_FRAME; n],
            acc_tag: vec![NO_FRAME; n],
            comps: Vec::with_capacity(MAX_COMPONENTS),
            free_comps: Vec::with_capacity(MAX_COMPONENTS),
            open: Vec::with_capacity(MAX_COMPONENTS),
            profiles: (0..MAX_PROFILES).map(|_| Profile::new(n)).collect(),
            free_profiles: (0..MAX_PROFILES as u16).rev().collect(),
            gap_f,
            gap_t,
            max_len_samples: cfg.max_duration_s * fs,
            min_len_samples: cfg.min_duration_s * fs,
            phi,
            kernel: hann_kernel_fraction(),
            prof: Vec::with_capacity(ring_len.max(n)),
            stats: EnergyStats::default(),
        };
        Ok(EnergyDetector {
            cfg,
            stft,
            core,
            next_sample: None,
            origin: 0,
        })
    }

    /// Feeds a block whose first sample has index `first_sample`; appends the bursts that
    /// ended to `out`. A stamp that does not continue the previous block is a gap: open
    /// bursts are flushed (as by [`Self::finish`]) and the STFT restarts at `first_sample`
    /// (the noise floor is kept). Results do not depend on how the input is cut into blocks.
    pub fn process(&mut self, first_sample: u64, x: &[Complex32], out: &mut Vec<Detection>) {
        if let Some(e) = self.next_sample {
            if e != first_sample {
                self.core.stats.gaps += 1;
                self.flush(out);
            }
        }
        if self.next_sample.is_none() {
            self.origin = first_sample;
            self.stft.reset();
        }
        self.next_sample = Some(first_sample + x.len() as u64);
        self.core.stats.samples += x.len() as u64;
        let origin = self.origin;
        let core = &mut self.core;
        self.stft.push(x, |p| core.on_frame(p, origin, out));
        self.core.stats.nonfinite_samples = self.stft.nonfinite;
    }

    /// End of input: emits every burst still open (bursts reaching the end are cut there).
    /// The detector can then take a new stream (the noise floor is kept).
    pub fn finish(&mut self, out: &mut Vec<Detection>) {
        self.flush(out);
    }

    fn flush(&mut self, out: &mut Vec<Detection>) {
        self.core.flush(self.origin, out);
        self.stft.reset();
        self.next_sample = None;
    }

    /// Forgets everything (floor, bursts, counters), as if newly built.
    pub fn reset(&mut self) {
        if let Ok(d) = EnergyDetector::new(self.cfg.clone()) {
            *self = d;
        }
    }

    /// Counters.
    pub fn stats(&self) -> &EnergyStats {
        &self.core.stats
    }

    /// The configuration.
    pub fn config(&self) -> &EnergyDetectorConfig {
        &self.cfg
    }

    /// STFT size `N`.
    pub fn fft_len(&self) -> usize {
        self.core.n
    }

    /// STFT hop, samples (`N / 2`).
    pub fn hop(&self) -> usize {
        self.core.hop
    }

    /// Bin spacing `fs / N`, Hz.
    pub fn bin_hz(&self) -> f64 {
        self.core.bin_hz
    }

    /// Centre frequency of bin `i` of [`Self::noise_floor_db`], Hz: `(i - N/2) * bin_hz`.
    pub fn bin_freq_hz(&self, i: usize) -> f64 {
        (i as f64 - (self.core.n / 2) as f64) * self.core.bin_hz
    }

    /// Current per-bin noise floor in ascending frequency order (see [`Self::bin_freq_hz`]):
    /// the noise power in one bin spacing, dB relative to full scale (`|x| = 1` is 0 dB).
    /// `None` until the floor is seeded (after the warm-up, 16 ms by default).
    pub fn noise_floor_db(&self) -> Option<&[f32]> {
        self.core.floor_ready.then_some(&self.core.floor_db[..])
    }

    /// Noise power (linear, full scale) in `[f_lo_hz, f_hi_hz]` from the current floor: the
    /// floor of the bins whose centres fall in the band, `None` before the floor is seeded
    /// or if no bin centre is in the band.
    pub fn noise_power_in_band(&self, f_lo_hz: f64, f_hi_hz: f64) -> Option<f64> {
        if !self.core.floor_ready {
            return None;
        }
        let mut sum = 0.0;
        let mut any = false;
        for (i, &f) in self.core.floor.iter().enumerate() {
            let c = self.bin_freq_hz(i);
            if c >= f_lo_hz && c <= f_hi_hz {
                sum += f as f64;
                any = true;
            }
        }
        any.then_some(sum)
    }

    /// Threshold of each box shape on the mean normalised power (1.0 = floor), at the
    /// steady state (full floor window): for inspection and documentation.
    pub fn box_thresholds(&self) -> Vec<f64> {
        let l = *self.core.level_of_n.last().unwrap_or(&0);
        self.core
            .shapes
            .iter()
            .map(|s| s.thr_sum[l] / (s.kf * s.kt) as f64)
            .collect()
    }
}

impl Core {
    fn on_frame(&mut self, p: &[f32], origin: u64, out: &mut Vec<Detection>) {
        self.stats.frames += 1;
        if !self.floor_ready {
            let n = self.n;
            self.hold[self.held * n..(self.held + 1) * n].copy_from_slice(p);
            self.held += 1;
            if self.accumulate_block(p) && self.n_valid >= WARMUP_BLOCKS {
                self.end_warmup(origin, out);
            }
            return;
        }
        self.test_frame(p, origin, out);
        if self.accumulate_block(p) {
            self.compute_floor();
        }
    }

    /// Adds a frame to the current floor block; true when the block was completed.
    fn accumulate_block(&mut self, p: &[f32]) -> bool {
        for (s, &v) in self.blk_sum.iter_mut().zip(p) {
            *s += v as f64;
        }
        self.blk_count += 1;
        if self.blk_count == self.blk_len {
            self.push_block();
            true
        } else {
            false
        }
    }

    fn push_block(&mut self) {
        if self.blk_count == 0 {
            return;
        }
        let m = self.n_blk;
        let col = (self.blocks_total % m as u64) as usize;
        let inv = 1.0 / self.blk_count as f64;
        let nv = self.n_valid;
        for (k, s) in self.blk_sum.iter_mut().enumerate() {
            let new = (*s * inv) as f32;
            *s = 0.0;
            // Keep the window sorted: drop the block leaving it, insert the new one.
            let row = &mut self.sorted[k * m..(k + 1) * m];
            let mut len = nv;
            if nv == m {
                let old = self.blocks[k * m + col];
                let i = row[..len].partition_point(|v| v.total_cmp(&old).is_lt());
                row.copy_within(i + 1..len, i);
                len -= 1;
            }
            let j = row[..len].partition_point(|v| v.total_cmp(&new).is_le());
            row.copy_within(j..len, j + 1);
            row[j] = new;
            self.blocks[k * m + col] = new;
        }
        self.blk_count = 0;
        self.blocks_total += 1;
        self.n_valid = (self.n_valid + 1).min(self.n_blk);
    }

    fn compute_floor(&mut self) {
        let nv = self.n_valid;
        if nv == 0 {
            return;
        }
        let r = (self.quantile * (nv - 1) as f64).floor() as usize;
        let c = self.bias[nv];
        for k in 0..self.n {
            let v = self.sorted[k * self.n_blk + r];
            let f = ((v as f64 / c) as f32).max(FLOOR_MIN);
            self.floor[k] = f;
            self.inv_floor[k] = 1.0 / f;
            self.floor_db[k] = 10.0 * f.log10();
        }
        self.floor_ready = true;
    }

    fn end_warmup(&mut self, origin: u64, out: &mut Vec<Detection>) {
        self.compute_floor();
        let hold = std::mem::take(&mut self.hold);
        let n = self.n;
        for i in 0..self.held {
            self.test_frame(&hold[i * n..(i + 1) * n], origin, out);
        }
        self.held = 0;
    }

    /// Normalises a frame, updates the box sums and anchors, and labels the frame that has
    /// become final.
    fn test_frame(&mut self, p: &[f32], origin: u64, out: &mut Vec<Detection>) {
        let n = self.n;
        let t = self.t_next;
        self.t_next += 1;
        let rl = self.ring_len as u64;
        let slot = (t % rl) as usize;
        {
            let z = &mut self.ring_z[slot * n..(slot + 1) * n];
            self.ring_p[slot * n..(slot + 1) * n].copy_from_slice(p);
            for ((zv, &pv), &inv) in z.iter_mut().zip(p).zip(&self.inv_floor) {
                *zv = pv * inv;
            }
        }
        let level = self.level_of_n[self.n_valid];
        let ring_z = &self.ring_z;
        let z = &ring_z[slot * n..(slot + 1) * n];
        for s in self.shapes.iter_mut() {
            let kt = s.kt as u64;
            if t >= kt {
                let os = ((t - kt) % rl) as usize;
                let zo = &ring_z[os * n..(os + 1) * n];
                for ((a, &zn), &zold) in s.sum_t.iter_mut().zip(z).zip(zo) {
                    *a += zn as f64 - zold as f64;
                }
            } else {
                for (a, &zn) in s.sum_t.iter_mut().zip(z) {
                    *a += zn as f64;
                }
            }
            if t + 1 >= kt {
                let thr = s.thr_sum[level];
                let kf = s.kf;
                if kf == 1 {
                    for (h, &a) in s.hist.iter_mut().zip(&s.sum_t) {
                        *h = (*h << 1) | (a > thr) as u64;
                    }
                } else {
                    // Box sums over bins k..k+kf (sliding), and the bins they cover: bin k is
                    // covered by the box starting at `last` if last + kf > k.
                    let npos = n - kf + 1;
                    let mut acc: f64 = s.sum_t[..kf].iter().sum();
                    let mut last: isize = -(kf as isize) - 1;
                    let (sum_t, hist) = (&s.sum_t, &mut s.hist);
                    for k in 0..npos {
                        if k > 0 {
                            acc += sum_t[k + kf - 1] - sum_t[k - 1];
                        }
                        if acc > thr {
                            last = k as isize;
                        }
                        let d = last + kf as isize > k as isize;
                        hist[k] = (hist[k] << 1) | d as u64;
                    }
                    for (k, h) in hist.iter_mut().enumerate().skip(npos) {
                        let d = last + kf as isize > k as isize;
                        *h = (*h << 1) | d as u64;
                    }
                }
            } else {
                for h in s.hist.iter_mut() {
                    *h <<= 1;
                }
            }
        }
        if t + 1 >= self.kt_max as u64 {
            self.label_row(t + 1 - self.kt_max as u64, t, origin, out);
        }
    }

    /// Marks, labels and accumulates frame `tr`, the newest frame being `t_now`; then closes,
    /// dates or splits components.
    fn label_row(&mut self, tr: u64, t_now: u64, origin: u64, out: &mut Vec<Detection>) {
        let n = self.n;
        debug_assert_eq!(tr, self.next_label);
        self.next_label = tr + 1;
        // Anchors of shape s covering frame tr: anchors tr ..= tr + kt - 1 (<= t_now), bits
        // t_now - anchor.
        let mut masks = [0u64; 8];
        let age = t_now - tr;
        for (m, s) in masks.iter_mut().zip(&self.shapes) {
            let hi = age;
            let lo = (age + 1).saturating_sub(s.kt as u64);
            let width = hi - lo + 1;
            let ones = if width >= 64 {
                u64::MAX
            } else {
                (1u64 << width) - 1
            };
            *m = ones << lo;
        }
        self.marked.fill(false);
        for (s, &mask) in self.shapes.iter().zip(&masks) {
            for (m, &h) in self.marked.iter_mut().zip(&s.hist) {
                *m |= h & mask != 0;
            }
        }
        let any = self.marked.contains(&true);
        if any {
            // Spans of marked bins, bridging gaps of up to gap_f bins.
            self.spans.clear();
            let mut k = 0;
            while k < n {
                if !self.marked[k] {
                    k += 1;
                    continue;
                }
                let a = k;
                let mut b = k;
                let mut j = k + 1;
                while j < n && j <= b + self.gap_f + 1 {
                    if self.marked[j] {
                        b = j;
                    }
                    j += 1;
                }
                self.spans.push((a, b));
                k = b + 1;
            }
            let slot = (tr % self.ring_len as u64) as usize;
            for si in 0..self.spans.len() {
                let (a, b) = self.spans[si];
                self.connect_span(a, b, tr, slot);
            }
        }
        self.maintain(tr, t_now, origin, out);
    }

    fn find(&mut self, mut c: u32) -> u32 {
        let mut root = c;
        while self.comps[root as usize].parent != root {
            root = self.comps[root as usize].parent;
        }
        while self.comps[c as usize].parent != root {
            let next = self.comps[c as usize].parent;
            self.comps[c as usize].parent = root;
            c = next;
        }
        root
    }

    fn connect_span(&mut self, a: usize, b: usize, tr: u64, slot: usize) {
        let n = self.n;
        self.found.clear();
        let lo = a.saturating_sub(self.gap_f);
        let hi = (b + self.gap_f).min(n - 1);
        for k in lo..=hi {
            let lf = self.lab_frame[k];
            if lf != NO_FRAME && lf + 1 + self.gap_t >= tr {
                let r = self.find(self.lab_comp[k]);
                if !self.found.contains(&r) {
                    self.found.push(r);
                }
            }
        }
        let root = if self.found.is_empty() {
            let Some(c) = self.new_comp(tr, a, b) else {
                self.stats.dropped_no_capacity += 1;
                return;
            };
            c
        } else {
            // Oldest component becomes the root.
            let mut root = self.found[0];
            for &c in &self.found[1..] {
                let (rc, cc) = (&self.comps[root as usize], &self.comps[c as usize]);
                if (cc.fp_start, c) < (rc.fp_start, root) {
                    root = c;
                }
            }
            for i in 0..self.found.len() {
                let c = self.found[i];
                if c != root {
                    self.merge(root, c);
                }
            }
            root
        };
        {
            let rc = &mut self.comps[root as usize];
            rc.last_frame = tr;
            rc.bin_lo = rc.bin_lo.min(a);
            rc.bin_hi = rc.bin_hi.max(b);
        }
        for k in a..=b {
            self.lab_comp[k] = root;
            self.lab_frame[k] = tr;
        }
        if let Some(pi) = self.comps[root as usize].profile {
            let pr = &mut self.profiles[pi as usize];
            let lo = a.saturating_sub(PROFILE_MARGIN_BINS);
            let hi = (b + PROFILE_MARGIN_BINS).min(n - 1);
            let tag = tr * MAX_COMPONENTS as u64 + root as u64;
            let z = &self.ring_z[slot * n..(slot + 1) * n];
            let p = &self.ring_p[slot * n..(slot + 1) * n];
            for k in lo..=hi {
                if self.acc_tag[k] == tag {
                    continue;
                }
                self.acc_tag[k] = tag;
                let fl = self.floor[k] as f64;
                pr.sum_z[k] += z[k] as f64;
                pr.sum_ex[k] += p[k] as f64 - fl;
                pr.sum_fl[k] += fl;
                pr.cnt[k] += 1;
            }
            pr.lo = pr.lo.min(lo);
            pr.hi = if pr.lo <= pr.hi { pr.hi.max(hi) } else { hi };
        }
    }

    fn new_comp(&mut self, tr: u64, a: usize, b: usize) -> Option<u32> {
        let c = Comp {
            parent: 0,
            fp_start: tr,
            last_frame: tr,
            bin_lo: a,
            bin_hi: b,
            profile: None,
            start_sample: None,
            continued: false,
        };
        let idx = if let Some(i) = self.free_comps.pop() {
            self.comps[i as usize] = c;
            i
        } else if self.comps.len() < MAX_COMPONENTS {
            self.comps.push(c);
            (self.comps.len() - 1) as u32
        } else {
            return None;
        };
        let Some(pi) = self.free_profiles.pop() else {
            self.free_comps.push(idx);
            return None;
        };
        let cm = &mut self.comps[idx as usize];
        cm.parent = idx;
        cm.profile = Some(pi);
        self.open.push(idx);
        Some(idx)
    }

    /// Merges root `c` into root `root`.
    fn merge(&mut self, root: u32, c: u32) {
        let cc = self.comps[c as usize];
        self.comps[c as usize].parent = root;
        self.comps[c as usize].profile = None;
        let rc = &mut self.comps[root as usize];
        rc.fp_start = rc.fp_start.min(cc.fp_start);
        rc.last_frame = rc.last_frame.max(cc.last_frame);
        rc.bin_lo = rc.bin_lo.min(cc.bin_lo);
        rc.bin_hi = rc.bin_hi.max(cc.bin_hi);
        if rc.start_sample.is_none() {
            rc.start_sample = cc.start_sample;
        }
        match (rc.profile, cc.profile) {
            (Some(rp), Some(cp)) => {
                let (rp, cp) = (rp as usize, cp as usize);
                let (a, b) = if rp < cp {
                    let (x, y) = self.profiles.split_at_mut(cp);
                    (&mut x[rp], &mut y[0])
                } else {
                    let (x, y) = self.profiles.split_at_mut(rp);
                    (&mut y[0], &mut x[cp])
                };
                if b.lo <= b.hi {
                    for k in b.lo..=b.hi {
                        a.sum_z[k] += b.sum_z[k];
                        a.sum_ex[k] += b.sum_ex[k];
                        a.sum_fl[k] += b.sum_fl[k];
                        a.cnt[k] += b.cnt[k];
                    }
                    a.hi = if a.lo <= a.hi { a.hi.max(b.hi) } else { b.hi };
                    a.lo = a.lo.min(b.lo);
                }
                b.clear();
                self.free_profiles.push(cp as u16);
            }
            (None, Some(cp)) => rc.profile = Some(cp),
            _ => {}
        }
    }

    /// Closes stale components, dates the start of old enough ones, splits long ones.
    fn maintain(&mut self, tr: u64, t_now: u64, origin: u64, out: &mut Vec<Detection>) {
        let a_age = self.kt_max as u64 + START_PLATEAU_FRAMES;
        let mut i = 0;
        while i < self.open.len() {
            let c = self.open[i];
            let cm = self.comps[c as usize];
            let is_root = cm.parent == c;
            if cm.last_frame + self.gap_t < tr {
                if is_root {
                    self.close(c, t_now, origin, out);
                }
                self.release(c);
                self.open.swap_remove(i);
                continue;
            }
            if is_root {
                if cm.start_sample.is_none() && tr >= cm.fp_start + a_age {
                    let s0 = self.estimate_start(c, tr, t_now);
                    self.comps[c as usize].start_sample = Some(s0);
                }
                let cm = self.comps[c as usize];
                let start = cm
                    .start_sample
                    .unwrap_or((cm.fp_start * self.hop as u64) as f64);
                let split_at = ((tr + 1) * self.hop as u64) as f64;
                if split_at - start >= self.max_len_samples {
                    self.split(c, tr, t_now, origin, out);
                }
            }
            i += 1;
        }
    }

    fn release(&mut self, c: u32) {
        if let Some(pi) = self.comps[c as usize].profile.take() {
            self.profiles[pi as usize].clear();
            self.free_profiles.push(pi);
        }
        self.free_comps.push(c);
    }

    /// Oldest frame still in the history ring.
    fn oldest(&self, t_now: u64) -> u64 {
        (t_now + 1).saturating_sub(self.ring_len as u64)
    }

    /// Band of a component from its accumulated frequency profile (footprint as fallback).
    fn freq_edges(&mut self, c: u32) -> Band {
        let cm = self.comps[c as usize];
        let fallback = Band {
            lo: cm.bin_lo,
            hi: cm.bin_hi,
            edge_lo: cm.bin_lo as f64 - 0.5,
            edge_hi: cm.bin_hi as f64 + 0.5,
        };
        let Some(pi) = cm.profile else {
            return fallback;
        };
        let pr = &self.profiles[pi as usize];
        if pr.lo > pr.hi {
            return fallback;
        }
        let (b0, b1) = (pr.lo, pr.hi);
        self.prof.clear();
        for k in b0..=b1 {
            let v = if pr.cnt[k] > 0 {
                pr.sum_z[k] / pr.cnt[k] as f64 - 1.0
            } else {
                0.0
            };
            self.prof.push(v);
        }
        let i0 = cm.bin_lo.max(b0) - b0;
        let i1 = cm.bin_hi.min(b1).saturating_sub(b0).max(i0);
        self.freq_step(b0, (i0, i1)).unwrap_or(fallback)
    }

    /// Refines a band with the frequency profile over frames `[f0, f1]` of the ring (the
    /// burst's own frames), searching bins `[b0, b1]`.
    fn refine_band(&mut self, band: Band, b0: usize, b1: usize, f0: u64, f1: u64) -> Band {
        let n = self.n;
        self.prof.clear();
        self.prof.resize(b1 - b0 + 1, 0.0);
        for t in f0..=f1 {
            let slot = (t % self.ring_len as u64) as usize;
            let z = &self.ring_z[slot * n + b0..slot * n + b1 + 1];
            for (a, &v) in self.prof.iter_mut().zip(z) {
                *a += v as f64 - 1.0;
            }
        }
        let inv = 1.0 / (f1 - f0 + 1) as f64;
        self.prof.iter_mut().for_each(|v| *v *= inv);
        let i0 = band.lo.clamp(b0, b1) - b0;
        let i1 = band.hi.clamp(b0, b1) - b0;
        self.freq_step(b0, (i0, i1.max(i0))).unwrap_or(band)
    }

    /// Step edges of the frequency profile in `self.prof` (index 0 = bin `b0`), refined to a
    /// fraction of a bin by inverting the kernel fraction `G` on the two bins around each
    /// edge (a flat band starting at `a` gives a bin centred at `c` the fraction `G(a - c)`).
    fn freq_step(&self, b0: usize, init: (usize, usize)) -> Option<Band> {
        let (s, e, level) = step_edges(&self.prof, init)?;
        let frac = |i: usize| (self.prof[i] / level).clamp(0.0, 1.0);
        // Lower edge a in [s - 1, s] (bin s over half the level, bin s - 1 not).
        let mut lo_best = (f64::INFINITY, s as f64 - 0.5);
        for i in s.saturating_sub(1)..=s {
            let f = frac(i);
            let d = (f - 0.5).abs();
            if d < lo_best.0 {
                lo_best = (d, i as f64 + self.kernel_inv(f));
            }
        }
        let mut hi_best = (f64::INFINITY, e as f64 + 0.5);
        for i in e..=(e + 1).min(self.prof.len() - 1) {
            let f = frac(i);
            let d = (f - 0.5).abs();
            if d < hi_best.0 {
                hi_best = (d, i as f64 + self.kernel_inv(1.0 - f));
            }
        }
        let a = if s == 0 {
            -0.5
        } else {
            lo_best.1.clamp(s as f64 - 1.0, s as f64)
        };
        let b = if e + 1 == self.prof.len() {
            e as f64 + 0.5
        } else {
            hi_best.1.clamp(e as f64, e as f64 + 1.0)
        };
        Some(Band {
            lo: b0 + s,
            hi: b0 + e,
            edge_lo: b0 as f64 + a,
            edge_hi: b0 as f64 + b,
        })
    }

    /// Inverse of the kernel fraction: the offset `x` (bins) with `G(x) = f`.
    fn kernel_inv(&self, f: f64) -> f64 {
        let g = &self.kernel;
        let f = f.clamp(0.0, 1.0);
        let i = g.partition_point(|&v| v >= f);
        let m = g.len() - 1;
        let x = |j: f64| -KERNEL_HALF_BINS + j / KERNEL_PER_BIN;
        if i == 0 {
            return x(0.0);
        }
        let i = i - 1;
        if i >= m {
            return x(m as f64);
        }
        let (a, b) = (g[i], g[i + 1]);
        if a - b <= 0.0 {
            x(i as f64)
        } else {
            x(i as f64 + (a - f) / (a - b))
        }
    }

    /// Fills `self.prof` with the excess `sum (z - 1)` over bins `[lo, hi]` of frames
    /// `[w0, w1]` (all in the ring).
    fn time_profile(&mut self, lo: usize, hi: usize, w0: u64, w1: u64) {
        let n = self.n;
        self.prof.clear();
        for t in w0..=w1 {
            let slot = (t % self.ring_len as u64) as usize;
            let z = &self.ring_z[slot * n + lo..slot * n + hi + 1];
            let s: f64 = z.iter().map(|&v| v as f64 - 1.0).sum();
            self.prof.push(s);
        }
    }

    /// Inverse of the Hann energy fraction at offsets `>= d`: the `d` (fractional) with
    /// `phi(d) = f`.
    fn phi_inv(&self, f: f64) -> f64 {
        let f = f.clamp(0.0, 1.0);
        // phi decreasing from 1 (d = 0) to 0 (d = n): last index with phi >= f.
        let i = self.phi.partition_point(|&v| v >= f);
        if i == 0 {
            return 0.0;
        }
        let i = i - 1;
        if i >= self.n {
            return self.n as f64;
        }
        let (a, b) = (self.phi[i], self.phi[i + 1]);
        if a - b <= 0.0 {
            i as f64
        } else {
            i as f64 + (a - f) / (a - b)
        }
    }

    /// Start sample (from the segment origin) of a step rising at profile index `s` of a
    /// profile whose index 0 is frame `w0`, plateau `level`.
    fn refine_start(&self, w0: u64, s: usize, level: f64) -> f64 {
        let h = self.hop as f64;
        let js = (w0 + s as u64) as f64;
        let (lo, hi) = (js * h, js * h + h);
        let mut best = (f64::INFINITY, lo);
        let first = s.saturating_sub(1);
        for idx in first..=s {
            let f = (self.prof[idx] / level).clamp(0.0, 1.0);
            let est = (w0 + idx as u64) as f64 * h + self.phi_inv(f);
            let dist = (f - 0.5).abs();
            if dist < best.0 {
                best = (dist, est);
            }
        }
        if s == 0 && w0 == 0 {
            return 0.0;
        }
        best.1.clamp(lo, hi)
    }

    /// End sample (exclusive, from the segment origin) of a step falling after profile index
    /// `e`.
    fn refine_end(&self, w0: u64, e: usize, level: f64) -> f64 {
        let h = self.hop as f64;
        let je = (w0 + e as u64) as f64;
        let (lo, hi) = (je * h + h, je * h + 2.0 * h);
        let mut best = (f64::INFINITY, hi);
        let last = (e + 1).min(self.prof.len() - 1);
        for idx in e..=last {
            let f = (self.prof[idx] / level).clamp(0.0, 1.0);
            let est = (w0 + idx as u64) as f64 * h + self.phi_inv(1.0 - f);
            let dist = (f - 0.5).abs();
            if dist < best.0 {
                best = (dist, est);
            }
        }
        best.1.clamp(lo, hi)
    }

    fn estimate_start(&mut self, c: u32, tr: u64, t_now: u64) -> f64 {
        let cm = self.comps[c as usize];
        let band = self.freq_edges(c);
        let (lo, hi) = (band.lo, band.hi);
        let w0 = cm
            .fp_start
            .saturating_sub(EDGE_MARGIN_FRAMES)
            .max(self.oldest(t_now));
        let w1 = tr;
        self.time_profile(lo, hi, w0, w1);
        let init = (cm.fp_start.max(w0) - w0, (w1 - w0) as usize);
        match step_edges(&self.prof, (init.0 as usize, init.1)) {
            Some((s, _, level)) => self.refine_start(w0, s, level),
            None => (cm.fp_start * self.hop as u64) as f64,
        }
    }

    fn close(&mut self, c: u32, t_now: u64, origin: u64, out: &mut Vec<Detection>) {
        self.stats.candidates += 1;
        let cm = self.comps[c as usize];
        let Some(pi) = cm.profile else {
            self.stats.dropped_no_capacity += 1;
            return;
        };
        let mut band = self.freq_edges(c);
        let h = self.hop as u64;
        let oldest = self.oldest(t_now);
        let w1 = (cm.last_frame + EDGE_MARGIN_FRAMES).min(t_now);
        let (s0, e0) = match cm.start_sample {
            None => {
                // The whole burst is in the ring: time edges, then the frequency profile over
                // the burst's own frames, then the time edges again on the refined band.
                let w0 = cm.fp_start.saturating_sub(EDGE_MARGIN_FRAMES).max(oldest);
                let init = (
                    (cm.fp_start.max(w0) - w0) as usize,
                    (cm.last_frame - w0) as usize,
                );
                let mut span = None;
                for pass in 0..2 {
                    self.time_profile(band.lo, band.hi, w0, w1);
                    let Some((s, e, level)) = step_edges(&self.prof, init) else {
                        break;
                    };
                    let (s0, e0) = (
                        self.refine_start(w0, s, level),
                        self.refine_end(w0, e, level),
                    );
                    span = Some((s0, e0));
                    if pass == 1 {
                        break;
                    }
                    // Frames mostly inside the burst.
                    let hf = h as f64;
                    let f0 = ((s0 / hf).floor() as u64).clamp(w0, w1);
                    let f1 = (((e0 / hf).ceil() as u64).saturating_sub(2)).clamp(f0, w1);
                    let pr = &self.profiles[pi as usize];
                    let (b0, b1) = if pr.lo <= pr.hi {
                        (pr.lo, pr.hi)
                    } else {
                        (band.lo, band.hi)
                    };
                    band = self.refine_band(band, b0, b1, f0, f1);
                }
                span.unwrap_or(((cm.fp_start * h) as f64, (cm.last_frame * h + 2 * h) as f64))
            }
            Some(s0) => {
                let w0 = (cm.last_frame + 1)
                    .saturating_sub(self.kt_max as u64 + START_PLATEAU_FRAMES)
                    .max(cm.fp_start)
                    .max(oldest);
                self.time_profile(band.lo, band.hi, w0, w1);
                let init = (0usize, cm.last_frame.saturating_sub(w0) as usize);
                let e0 = match step_edges(&self.prof, init) {
                    Some((_, e, level)) => self.refine_end(w0, e, level),
                    None => (cm.last_frame * h + 2 * h) as f64,
                };
                (s0, e0)
            }
        };
        self.emit(c, band, s0, e0, false, origin, out);
    }

    fn split(&mut self, c: u32, tr: u64, t_now: u64, origin: u64, out: &mut Vec<Detection>) {
        self.stats.candidates += 1;
        self.stats.splits += 1;
        let _ = t_now;
        let band = self.freq_edges(c);
        let cm = self.comps[c as usize];
        let h = self.hop as u64;
        let s0 = cm.start_sample.unwrap_or((cm.fp_start * h) as f64);
        let e0 = ((tr + 1) * h) as f64;
        self.emit(c, band, s0, e0, true, origin, out);
        let cm = &mut self.comps[c as usize];
        cm.start_sample = Some(e0);
        cm.fp_start = tr + 1;
        cm.continued = true;
        if let Some(pi) = cm.profile {
            self.profiles[pi as usize].clear();
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn emit(
        &mut self,
        c: u32,
        band: Band,
        s0: f64,
        e0: f64,
        truncated: bool,
        origin: u64,
        out: &mut Vec<Detection>,
    ) {
        let cm = self.comps[c as usize];
        let Some(pi) = cm.profile else {
            return;
        };
        let pr = &self.profiles[pi as usize];
        let total: u64 = if pr.lo <= pr.hi {
            pr.cnt[pr.lo..=pr.hi].iter().map(|&v| v as u64).sum()
        } else {
            0
        };
        if total == 0 {
            return;
        }
        let start = s0.round().max(0.0) as u64;
        let end = (e0.round().max(0.0) as u64).max(start + 1);
        let dur = (end - start) as f64;
        if dur < self.min_len_samples {
            self.stats.rejected_too_short += 1;
            return;
        }
        let nf = dur / self.hop as f64;
        let (lo, hi) = (band.lo, band.hi);
        let (mut ez, mut ex, mut noise, mut peak) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
        for k in lo..=hi {
            if pr.cnt[k] == 0 {
                continue;
            }
            let fl = pr.sum_fl[k] / pr.cnt[k] as f64;
            ez += pr.sum_z[k] - pr.cnt[k] as f64;
            ex += pr.sum_ex[k];
            noise += fl;
            peak = peak.max(pr.sum_ex[k] / nf / fl);
        }
        let nb = hi - lo + 1;
        let cells = nb as f64 * nf;
        let mean_z = 1.0 + ez / cells;
        let ka = box_dof(nb, (nf.round() as usize).max(1), &self.corr);
        let kf = self.level_kf[self.level_of_n[self.n_valid]];
        let thr = ratio_threshold(ka, kf, self.p_cell);
        let metric = mean_z / thr;
        if metric.is_nan() || metric < 1.0 {
            self.stats.rejected_below_threshold += 1;
            return;
        }
        let power = (ex / nf).max(1e-30);
        let snr_db = 10.0 * (power / noise.max(1e-30)).log10();
        let half = (self.n / 2) as f64;
        let f_lo = (band.edge_lo - half) * self.bin_hz;
        let f_hi = (band.edge_hi - half) * self.bin_hz;
        let mut params = serde_json::Map::new();
        params.insert("n_bins".into(), nb.into());
        params.insert("n_frames".into(), (nf.round() as u64).into());
        params.insert(
            "peak_snr_db".into(),
            serde_json::Value::from(10.0 * peak.max(1e-30).log10()),
        );
        params.insert("continued".into(), cm.continued.into());
        params.insert("truncated".into(), truncated.into());
        self.stats.emitted += 1;
        out.push(Detection {
            kind: Kind::Unknown,
            tech: Tech::Unknown,
            sample_start: origin + start,
            sample_len: end - start,
            freq_offset_hz: 0.5 * (f_lo + f_hi),
            bandwidth_hz: f_hi - f_lo,
            power,
            snr_db,
            score: (1.0 - 1.0 / metric).clamp(0.0, 1.0),
            metric,
            params,
        });
    }

    /// End of a segment: drains the warm-up, labels the remaining frames, closes everything
    /// and resets the segment state (the floor is kept).
    fn flush(&mut self, origin: u64, out: &mut Vec<Detection>) {
        if !self.floor_ready {
            if self.held == 0 {
                self.reset_segment();
                return;
            }
            self.push_block();
            self.end_warmup(origin, out);
        }
        if self.t_next > 0 {
            let t_last = self.t_next - 1;
            while self.next_label <= t_last {
                self.label_row(self.next_label, t_last, origin, out);
            }
            let mut i = 0;
            while i < self.open.len() {
                let c = self.open[i];
                if self.comps[c as usize].parent == c {
                    self.close(c, t_last, origin, out);
                }
                i += 1;
            }
        }
        self.reset_segment();
    }

    fn reset_segment(&mut self) {
        while let Some(c) = self.open.pop() {
            self.release(c);
        }
        self.comps.clear();
        self.free_comps.clear();
        self.t_next = 0;
        self.next_label = 0;
        for s in self.shapes.iter_mut() {
            s.sum_t.iter_mut().for_each(|v| *v = 0.0);
            s.hist.iter_mut().for_each(|v| *v = 0);
        }
        self.lab_frame.iter_mut().for_each(|v| *v = NO_FRAME);
        self.acc_tag.iter_mut().for_each(|v| *v = NO_FRAME);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::impair::{add_awgn, signal_power_for_snr};
    use crate::synth::interferer::{CwConfig, NoiseBurstConfig};
    use crate::synth::pusch::{self, PuschConfig};
    use num_complex::Complex64;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Total white-noise power of the test captures.
    const NOISE: f64 = 1e-3;

    fn detector(fs: f64) -> EnergyDetector {
        EnergyDetector::new(EnergyDetectorConfig {
            sample_rate_hz: fs,
            ..Default::default()
        })
        .expect("valid configuration")
    }

    fn run(d: &mut EnergyDetector, x: &[Complex32], block: usize) -> Vec<Detection> {
        let mut out = Vec::new();
        for (i, c) in x.chunks(block).enumerate() {
            d.process((i * block) as u64, c, &mut out);
        }
        d.finish(&mut out);
        out
    }

    fn noise(fs: f64, dur_s: f64, rng: &mut ChaCha8Rng) -> Vec<Complex32> {
        let mut x = vec![Complex32::new(0.0, 0.0); (fs * dur_s) as usize];
        add_awgn(&mut x, NOISE, rng);
        x
    }

    /// Adds a band-limited noise burst at `snr_db` in its own bandwidth.
    #[allow(clippy::too_many_arguments)]
    fn add_noise_burst(
        x: &mut [Complex32],
        fs: f64,
        start: f64,
        f_hz: f64,
        bw: f64,
        dur: f64,
        snr_db: f64,
        rng: &mut ChaCha8Rng,
    ) {
        let b = NoiseBurstConfig {
            bandwidth_hz: bw,
            duration_s: dur,
        }
        .generate(rng)
        .expect("valid");
        let p = signal_power_for_snr(NOISE, fs, snr_db, bw);
        b.signal
            .render_add(x, 0, fs, start, f_hz, Complex64::new(p.sqrt(), 0.0));
    }

    fn add_cw(x: &mut [Complex32], fs: f64, start: f64, dur: f64, f_hz: f64, power: f64) {
        let b = CwConfig { duration_s: dur }.generate().expect("valid");
        b.signal
            .render_add(x, 0, fs, start, f_hz, Complex64::new(power.sqrt(), 0.0));
    }

    /// A true burst: start sample, length in samples, centre and bandwidth, Hz.
    #[derive(Debug, Clone, Copy)]
    struct Truth {
        start: f64,
        len: f64,
        f: f64,
        bw: f64,
    }

    /// Checks a detection against a truth: start and end within `hops` hops, centre within
    /// `bins_c` bins, bandwidth within `bins_bw` bins.
    fn check(d: &Detection, t: &Truth, hop: f64, bin: f64, hops: f64, bins_c: f64, bins_bw: f64) {
        let ds = d.sample_start as f64 - t.start;
        let de = d.sample_end() as f64 - (t.start + t.len);
        let dc = d.freq_offset_hz - t.f;
        let db = d.bandwidth_hz - t.bw;
        assert!(
            ds.abs() <= hops * hop,
            "start off by {ds} samples: {d:?} vs {t:?}"
        );
        assert!(
            de.abs() <= hops * hop,
            "end off by {de} samples: {d:?} vs {t:?}"
        );
        assert!(
            dc.abs() <= bins_c * bin,
            "centre off by {dc} Hz: {d:?} vs {t:?}"
        );
        assert!(
            db.abs() <= bins_bw * bin,
            "bandwidth off by {db} Hz: {d:?} vs {t:?}"
        );
    }

    fn overlaps(d: &Detection, t: &Truth) -> bool {
        let (a, b) = (d.sample_start as f64, d.sample_end() as f64);
        let (fa, fb) = (
            d.freq_offset_hz - d.bandwidth_hz / 2.0,
            d.freq_offset_hz + d.bandwidth_hz / 2.0,
        );
        a < t.start + t.len && b > t.start && fa < t.f + t.bw / 2.0 && fb > t.f - t.bw / 2.0
    }

    #[test]
    fn special_functions_match_closed_forms() {
        assert!(ln_gamma(1.0).abs() < 1e-13);
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-12);
        assert!((ln_gamma(0.5) - 0.5 * PI.ln()).abs() < 1e-12);
        assert!((ln_gamma(101.0) - (1..=100).map(|k| (k as f64).ln()).sum::<f64>()).abs() < 1e-9);
        for &x in &[0.1, 1.0, 3.0, 20.0] {
            assert!((gamma_p(1.0, x) - (1.0 - (-x).exp())).abs() < 1e-13, "{x}");
        }
        for &(a, b, x) in &[(1.0f64, 3.0f64, 0.2f64), (1.0, 50.0, 0.01), (2.5, 1.0, 0.7)] {
            let want = if a == 1.0 {
                1.0 - (1.0 - x).powf(b)
            } else {
                x.powf(a)
            };
            assert!((beta_inc(a, b, x) - want).abs() < 1e-12, "{a} {b} {x}");
        }
        // Symmetry I_x(a, b) = 1 - I_{1-x}(b, a), both branches.
        let (a, b, x) = (30.0, 7.0, 0.8);
        assert!((beta_inc(a, b, x) + beta_inc(b, a, 1.0 - x) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn thresholds_reduce_to_erlang_and_match_simulated_f_ratio() {
        // Exact floor: the gamma threshold is erlang_threshold / dof.
        for &dof in &[1u32, 4, 9, 30] {
            for &p in &[1e-3, 1e-9] {
                let want = super::super::erlang_threshold(dof, 1.0, p) / dof as f64;
                let got = ratio_threshold(dof as f64, f64::INFINITY, p);
                assert!(
                    (got / want - 1.0).abs() < 1e-6,
                    "dof {dof} p {p}: {got} {want}"
                );
                // An estimated floor needs a higher threshold, falling as it improves.
                let t1 = ratio_threshold(dof as f64, 50.0, p);
                let t2 = ratio_threshold(dof as f64, 5000.0, p);
                assert!(t1 > t2 && t2 > got, "{t1} {t2} {got}");
            }
        }
        // F-ratio tail against a simulation of A / F with A ~ Erlang(4)/4, F ~ Erlang(20)/20.
        let mut rng = ChaCha8Rng::seed_from_u64(77);
        let mut erl = |k: u32| -> f64 {
            (0..k)
                .map(|_| -(1.0 - rng.random::<f64>()).ln())
                .sum::<f64>()
                / k as f64
        };
        let y = ratio_threshold(4.0, 20.0, 0.01);
        let n = 200_000;
        let over = (0..n).filter(|_| erl(4) / erl(20) > y).count();
        let p = over as f64 / n as f64;
        assert!((p - 0.01).abs() < 0.0015, "{p}");
    }

    #[test]
    fn stft_matches_naive_dft_and_parseval() {
        let n = 64;
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut x = vec![Complex32::new(0.0, 0.0); n + n / 2 + 10];
        add_awgn(&mut x, 1.0, &mut rng);
        let mut st = Stft::new(n);
        let mut frames: Vec<Vec<f32>> = Vec::new();
        // Two pushes: frames must not depend on the cut.
        st.push(&x[..37], |p| frames.push(p.to_vec()));
        st.push(&x[37..], |p| frames.push(p.to_vec()));
        assert_eq!(frames.len(), 2);
        let w = hann(n);
        let sw2: f64 = w.iter().map(|&v| (v as f64).powi(2)).sum();
        for (t, fr) in frames.iter().enumerate() {
            let seg = &x[t * n / 2..t * n / 2 + n];
            for (i, &got) in fr.iter().enumerate() {
                let k = (i + n / 2) % n;
                let mut acc = Complex64::new(0.0, 0.0);
                for (j, v) in seg.iter().enumerate() {
                    let ph = -2.0 * PI * (k * j) as f64 / n as f64;
                    acc += Complex64::new(v.re as f64, v.im as f64)
                        * w[j] as f64
                        * Complex64::from_polar(1.0, ph);
                }
                let want = acc.norm_sqr() / (n as f64 * sw2);
                assert!((got as f64 - want).abs() < 1e-5 * (1.0 + want), "{t} {i}");
            }
            let total: f64 = fr.iter().map(|&v| v as f64).sum();
            let tw: f64 = seg
                .iter()
                .zip(&w)
                .map(|(v, &ww)| v.norm_sqr() as f64 * (ww as f64).powi(2))
                .sum::<f64>()
                / sw2;
            assert!((total / tw - 1.0).abs() < 1e-5);
        }
        // A tone at a bin centre: bin i at (i - n/2) fs/n.
        let fs = n as f64;
        let tone: Vec<Complex32> = (0..n)
            .map(|j| {
                let ph = 2.0 * PI * 5.0 * j as f64 / fs;
                Complex32::new(ph.cos() as f32, ph.sin() as f32)
            })
            .collect();
        let mut st = Stft::new(n);
        let mut p5 = Vec::new();
        st.push(&tone, |p| p5 = p.to_vec());
        assert!((p5[n / 2 + 5] - 2.0 / 3.0).abs() < 1e-5);
        assert!((p5[n / 2 + 4] - 1.0 / 6.0).abs() < 1e-5);
    }

    #[test]
    fn box_dof_matches_hann_closed_form_and_simulation() {
        let n = 64;
        let w = hann(n);
        let corr = stft_power_corr(&w, n / 2);
        let at =
            |df: i64, dt: i64| corr[((dt + 1) * (2 * CORR_BINS + 1) + df + CORR_BINS) as usize];
        assert!((at(0, 0) - 1.0).abs() < 1e-6);
        assert!((at(1, 0) - 4.0 / 9.0).abs() < 1e-6);
        assert!((at(2, 0) - 1.0 / 36.0).abs() < 1e-6);
        assert!(at(3, 0) < 1e-6);
        assert!((at(0, 1) - 1.0 / 36.0).abs() < 1e-6);
        // Simulated box sums of 4 bins x 8 frames of white noise.
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut x = vec![Complex32::new(0.0, 0.0); n / 2 * 4002];
        add_awgn(&mut x, 1.0, &mut rng);
        let mut st = Stft::new(n);
        let mut frames: Vec<Vec<f32>> = Vec::new();
        st.push(&x, |p| frames.push(p.to_vec()));
        let (kf, kt) = (4, 8);
        let mut sums = Vec::new();
        for t0 in (0..frames.len() - kt).step_by(kt) {
            for b0 in (0..n - kf).step_by(kf) {
                let s: f64 = (t0..t0 + kt)
                    .map(|t| {
                        frames[t][b0..b0 + kf]
                            .iter()
                            .map(|&v| v as f64)
                            .sum::<f64>()
                    })
                    .sum();
                sums.push(s);
            }
        }
        let m = sums.iter().sum::<f64>() / sums.len() as f64;
        let v = sums.iter().map(|s| (s - m).powi(2)).sum::<f64>() / (sums.len() - 1) as f64;
        let dof_sim = m * m / v;
        let dof = box_dof(kf, kt, &corr);
        assert!((dof_sim / dof - 1.0).abs() < 0.1, "{dof_sim} vs {dof}");
        // And far from the independent-cell count.
        assert!(dof < 0.6 * (kf * kt) as f64);
    }

    #[test]
    fn floor_matches_white_noise_level() {
        let fs = 1.92e6;
        let mut rng = ChaCha8Rng::seed_from_u64(21);
        let x = noise(fs, 0.6, &mut rng);
        let mut d = detector(fs);
        let mut out = Vec::new();
        assert!(d.noise_floor_db().is_none());
        // Just after warm-up.
        let n1 = (0.02 * fs) as usize;
        d.process(0, &x[..n1], &mut out);
        let want_db = 10.0 * (NOISE / d.fft_len() as f64).log10();
        let med = |v: &[f32]| {
            let mut v = v.to_vec();
            v.sort_by(f32::total_cmp);
            v[v.len() / 2] as f64
        };
        let early = med(d.noise_floor_db().expect("seeded"));
        assert!((early - want_db).abs() < 0.6, "{early} vs {want_db}");
        d.process(n1 as u64, &x[n1..], &mut out);
        let fl = d.noise_floor_db().expect("seeded");
        let late = med(fl);
        assert!((late - want_db).abs() < 0.2, "{late} vs {want_db}");
        // Every bin within 1 dB at steady state.
        assert!(fl.iter().all(|&v| (v as f64 - want_db).abs() < 1.0));
        let total = d.noise_power_in_band(-fs, fs).expect("seeded");
        assert!((total / NOISE - 1.0).abs() < 0.05, "{total}");
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn noise_burst_found_with_accurate_edges_at_several_rates() {
        // 1 MHz, 2 ms, +3 dB in its bandwidth, random time and frequency.
        for (fs, seed) in [
            (15.36e6, 101u64),
            (15.36e6, 102),
            (15.36e6, 103),
            (1.92e6, 104),
            (1.92e6, 105),
            (10e6, 106),
        ] {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut x = noise(fs, 0.06, &mut rng);
            let start = rng.random_range(0.02..0.05) * fs;
            let fmax = fs / 2.0 - 0.55e6 - 60e3;
            let f = rng.random_range(-fmax..fmax);
            add_noise_burst(&mut x, fs, start, f, 1e6, 2e-3, 3.0, &mut rng);
            let mut d = detector(fs);
            let out = run(&mut d, &x, 4096);
            assert_eq!(out.len(), 1, "fs {fs} seed {seed}: {out:?}");
            // The burst's tones sit on a 500 Hz grid centred 250 Hz below f.
            let t = Truth {
                start,
                len: 2e-3 * fs,
                f: f - 250.0,
                bw: 1e6,
            };
            let det = &out[0];
            check(det, &t, d.hop() as f64, d.bin_hz(), 2.0, 1.0, 2.0);
            assert!((det.snr_db - 3.0).abs() < 1.0, "{det:?}");
            let p = signal_power_for_snr(NOISE, fs, 3.0, 1e6);
            assert!((10.0 * (det.power / p).log10()).abs() < 1.0, "{det:?}");
            assert_eq!(det.kind, Kind::Unknown);
            assert_eq!(det.tech, Tech::Unknown);
            assert!(det.metric >= 1.0 && det.score > 0.0 && det.score <= 1.0);
        }
    }

    #[test]
    fn pusch_six_prb_subframe_at_0_db_found() {
        for (fs, bw_mhz, first_prb, seed) in [(15.36e6, 10.0, 22u32, 201u64), (1.92e6, 1.4, 0, 202)]
        {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let cfg = PuschConfig {
                bandwidth_mhz: bw_mhz,
                n_prb: 6,
                first_prb,
                ..Default::default()
            };
            let b = pusch::generate(&cfg, &mut rng).expect("valid");
            let mut x = noise(fs, 0.15, &mut rng);
            let start = 0.1 * fs + rng.random_range(0.0..1000.0);
            let p = signal_power_for_snr(NOISE, fs, 0.0, b.snr_bandwidth_hz);
            b.signal
                .render_add(&mut x, 0, fs, start, 0.0, Complex64::new(p.sqrt(), 0.0));
            let mut d = detector(fs);
            let out = run(&mut d, &x, 4096);
            assert_eq!(out.len(), 1, "fs {fs}: {out:?}");
            let t = Truth {
                start,
                len: 1e-3 * fs,
                f: b.center_hz,
                bw: b.bandwidth_hz,
            };
            check(&out[0], &t, d.hop() as f64, d.bin_hz(), 2.0, 1.5, 3.0);
            assert!(out[0].snr_db.abs() < 1.5, "{:?}", out[0]);
        }
    }

    fn several_bursts(fs: f64, rng: &mut ChaCha8Rng) -> (Vec<Complex32>, Vec<Truth>) {
        let mut x = noise(fs, 0.08, rng);
        // (start s, centre Hz, bandwidth Hz, duration s, SNR dB)
        let spec = [
            (0.020, -4.0e6, 500e3, 3e-3, 6.0),
            (0.030, 1.0e6, 1e6, 2e-3, 3.0),
            (0.030, 4.0e6, 300e3, 2e-3, 6.0),
            (0.045, -1.0e6, 200e3, 1e-3, 8.0),
            (0.060, 5.0e6, 2e6, 1e-3, 3.0),
        ];
        let mut truth = Vec::new();
        for &(t0, f, bw, dur, snr) in &spec {
            let start = t0 * fs + rng.random_range(0.0..500.0);
            add_noise_burst(&mut x, fs, start, f, bw, dur, snr, rng);
            truth.push(Truth {
                start,
                len: dur * fs,
                f: f - 250.0 * 2e-3 / dur,
                bw,
            });
        }
        (x, truth)
    }

    #[test]
    fn several_bursts_give_separate_detections() {
        let fs = 15.36e6;
        let mut rng = ChaCha8Rng::seed_from_u64(301);
        let (x, truth) = several_bursts(fs, &mut rng);
        let mut d = detector(fs);
        let out = run(&mut d, &x, 4096);
        assert_eq!(out.len(), truth.len(), "{out:?}");
        for t in &truth {
            let m: Vec<&Detection> = out.iter().filter(|d| overlaps(d, t)).collect();
            assert_eq!(m.len(), 1, "{t:?}: {out:?}");
            check(m[0], t, d.hop() as f64, d.bin_hz(), 2.0, 1.5, 3.0);
        }
    }

    #[test]
    fn strong_cw_does_not_blind_the_band_and_is_not_reported() {
        let fs = 15.36e6;
        let mut rng = ChaCha8Rng::seed_from_u64(401);
        let dur = 0.08;
        let mut x = noise(fs, dur, &mut rng);
        let mut d = detector(fs);
        let bin = d.bin_hz();
        let f_cw = 3.0e6 + 0.3 * bin;
        // +40 dB in its bin: the noise in a bin is NOISE / N.
        add_cw(&mut x, fs, 0.0, dur, f_cw, 1e4 * NOISE / d.fft_len() as f64);
        let start = 0.05 * fs + 77.0;
        add_noise_burst(&mut x, fs, start, f_cw - 1e6, 500e3, 2e-3, 3.0, &mut rng);
        let out = run(&mut d, &x, 4096);
        let t = Truth {
            start,
            len: 2e-3 * fs,
            f: f_cw - 1e6 - 250.0,
            bw: 500e3,
        };
        let near_cw = out
            .iter()
            .filter(|o| (o.freq_offset_hz - f_cw).abs() < 10.0 * bin)
            .count();
        assert!(near_cw <= 1, "{out:?}");
        let hits: Vec<&Detection> = out.iter().filter(|o| overlaps(o, &t)).collect();
        assert_eq!(hits.len(), 1, "{out:?}");
        check(hits[0], &t, d.hop() as f64, bin, 2.0, 1.0, 2.0);
        assert_eq!(out.len(), 1 + near_cw, "{out:?}");
        // The carrier is in its bin's floor, the rest of the band is not raised.
        let fl = d.noise_floor_db().expect("seeded");
        let i_cw = ((f_cw / bin).round() as i64 + (d.fft_len() / 2) as i64) as usize;
        let want_db = 10.0 * (NOISE / d.fft_len() as f64).log10();
        assert!(fl[i_cw] as f64 > want_db + 35.0, "{}", fl[i_cw]);
        assert!((fl[i_cw - 67] as f64 - want_db).abs() < 1.0);
    }

    #[test]
    fn cw_starting_mid_stream_is_reported_once() {
        let fs = 1.92e6;
        let mut rng = ChaCha8Rng::seed_from_u64(402);
        let dur = 1.5;
        let mut x = noise(fs, dur, &mut rng);
        let mut d = detector(fs);
        let bin = d.bin_hz();
        let f_cw = 300e3 + 0.2 * bin;
        let start = 0.3 * fs + 11.0;
        add_cw(
            &mut x,
            fs,
            start,
            dur - 0.3,
            f_cw,
            100.0 * NOISE / d.fft_len() as f64,
        );
        let out = run(&mut d, &x, 8192);
        assert_eq!(out.len(), 1, "{out:?}");
        let o = &out[0];
        assert!(
            (o.sample_start as f64 - start).abs() <= 2.0 * d.hop() as f64,
            "{o:?}"
        );
        assert!((o.freq_offset_hz - f_cw).abs() <= 1.5 * bin, "{o:?}");
        // Absorbed by the floor after 75 % of the 0.5 s window (and before the split).
        let len_s = o.sample_len as f64 / fs;
        assert!((0.3..0.5).contains(&len_s), "{len_s}");
        assert_eq!(o.params["truncated"], serde_json::Value::Bool(false));
    }

    #[test]
    fn long_signal_is_split_at_max_duration() {
        let fs = 1.92e6;
        let mut rng = ChaCha8Rng::seed_from_u64(403);
        let mut x = noise(fs, 1.0, &mut rng);
        let mut d = EnergyDetector::new(EnergyDetectorConfig {
            sample_rate_hz: fs,
            max_duration_s: 0.1,
            ..Default::default()
        })
        .expect("valid");
        // After the floor window (0.5 s) is full: 0.25 s is not enough to be absorbed.
        let start = 0.55 * fs;
        add_cw(
            &mut x,
            fs,
            start,
            0.25,
            200e3,
            100.0 * NOISE / d.fft_len() as f64,
        );
        let out = run(&mut d, &x, 4096);
        assert_eq!(out.len(), 3, "{out:?}");
        let hop = d.hop() as f64;
        assert!((out[0].sample_start as f64 - start).abs() <= 2.0 * hop);
        assert!((out[2].sample_end() as f64 - (start + 0.25 * fs)).abs() <= 2.0 * hop);
        for (i, o) in out.iter().enumerate() {
            assert_eq!(
                o.params["continued"],
                serde_json::Value::Bool(i > 0),
                "{o:?}"
            );
            assert_eq!(
                o.params["truncated"],
                serde_json::Value::Bool(i < 2),
                "{o:?}"
            );
            if i > 0 {
                assert_eq!(o.sample_start, out[i - 1].sample_end());
            }
            if i < 2 {
                assert!((o.sample_len as f64 - 0.1 * fs).abs() <= 2.0 * hop, "{o:?}");
            }
        }
        assert_eq!(d.stats().splits, 2);
    }

    #[test]
    fn pure_noise_false_alarms_within_budget() {
        // 20 s at 1.92 MS/s over 4 seeds, default 1 false alarm per hour per MHz: the budget
        // is 1.92 x 20 / 3600 = 0.011.
        let fs = 1.92e6;
        let mut total = 0;
        for seed in 0..4u64 {
            let mut rng = ChaCha8Rng::seed_from_u64(500 + seed);
            let x = noise(fs, 5.0, &mut rng);
            let mut d = detector(fs);
            let out = run(&mut d, &x, 65536);
            total += out.len();
        }
        assert!(total <= 1, "{total} false alarms");
        // At a high requested rate the realised rate stays below it (union bound), and the
        // thresholds are not absurdly conservative: the count is printed.
        let rate = 7500.0; // per hour per MHz: 20 expected in 5 s at 1.92 MS/s
        let budget = rate * fs / 1e6 * 5.0 / 3600.0;
        let mut count = 0;
        for seed in 0..1u64 {
            let mut rng = ChaCha8Rng::seed_from_u64(600 + seed);
            let x = noise(fs, 5.0, &mut rng);
            let mut d = EnergyDetector::new(EnergyDetectorConfig {
                sample_rate_hz: fs,
                false_alarms_per_hour: rate,
                ..Default::default()
            })
            .expect("valid");
            count += run(&mut d, &x, 65536).len();
        }
        println!("high-rate null: {count} false alarms for a budget of {budget}");
        assert!((count as f64) <= 2.0 * budget, "{count} > 2 x {budget}");
    }

    #[test]
    fn results_do_not_depend_on_block_size() {
        let fs = 15.36e6;
        let mut rng = ChaCha8Rng::seed_from_u64(701);
        let (mut x, _) = several_bursts(fs, &mut rng);
        add_cw(&mut x, fs, 0.035 * fs, 0.02, -2.2e6, 30.0 * NOISE / 1024.0);
        let mut results = Vec::new();
        for block in [1000usize, 4096, 65536] {
            let mut d = detector(fs);
            results.push((run(&mut d, &x, block), d.stats().clone()));
        }
        assert!(results[0].0.len() >= 5);
        assert_eq!(results[0], results[1]);
        assert_eq!(results[0], results[2]);
    }

    #[test]
    fn burst_during_warmup_is_found() {
        let fs = 1.92e6;
        let mut rng = ChaCha8Rng::seed_from_u64(801);
        let mut x = noise(fs, 0.05, &mut rng);
        let start = 0.005 * fs + 3.0;
        add_noise_burst(&mut x, fs, start, 200e3, 500e3, 2e-3, 6.0, &mut rng);
        let mut d = detector(fs);
        let out = run(&mut d, &x, 4096);
        assert_eq!(out.len(), 1, "{out:?}");
        let t = Truth {
            start,
            len: 2e-3 * fs,
            f: 200e3 - 250.0,
            bw: 500e3,
        };
        check(&out[0], &t, d.hop() as f64, d.bin_hz(), 2.0, 1.0, 2.0);
    }

    #[test]
    fn gap_flushes_and_restarts_in_the_stamp_domain() {
        let fs = 1.92e6;
        let mut rng = ChaCha8Rng::seed_from_u64(901);
        let mut a = noise(fs, 0.06, &mut rng);
        let mut b = noise(fs, 0.03, &mut rng);
        add_noise_burst(&mut a, fs, 0.04 * fs, -300e3, 400e3, 2e-3, 6.0, &mut rng);
        add_noise_burst(&mut b, fs, 0.01 * fs, 300e3, 400e3, 2e-3, 6.0, &mut rng);
        let mut d = detector(fs);
        let mut out = Vec::new();
        d.process(0, &a, &mut out);
        let jump = a.len() as u64 + 1_000_000;
        d.process(jump, &b, &mut out);
        d.finish(&mut out);
        assert_eq!(d.stats().gaps, 1);
        assert_eq!(out.len(), 2, "{out:?}");
        let hop = d.hop() as f64;
        assert!((out[0].sample_start as f64 - 0.04 * fs).abs() <= 2.0 * hop);
        assert!((out[1].sample_start as f64 - (jump as f64 + 0.01 * fs)).abs() <= 2.0 * hop);
    }

    #[test]
    fn min_duration_rejects_short_bursts() {
        let fs = 1.92e6;
        let mut rng = ChaCha8Rng::seed_from_u64(902);
        let mut x = noise(fs, 0.05, &mut rng);
        add_noise_burst(&mut x, fs, 0.03 * fs, 0.0, 500e3, 1e-3, 8.0, &mut rng);
        let mut d = EnergyDetector::new(EnergyDetectorConfig {
            sample_rate_hz: fs,
            min_duration_s: 2e-3,
            ..Default::default()
        })
        .expect("valid");
        let out = run(&mut d, &x, 4096);
        assert!(out.is_empty(), "{out:?}");
        assert_eq!(d.stats().rejected_too_short, 1);
    }

    #[test]
    fn nonfinite_input_is_counted_not_propagated() {
        let fs = 1.92e6;
        let mut rng = ChaCha8Rng::seed_from_u64(903);
        let mut x = noise(fs, 0.05, &mut rng);
        x[1000] = Complex32::new(f32::NAN, 0.0);
        x[2000] = Complex32::new(0.0, f32::INFINITY);
        let mut d = detector(fs);
        let out = run(&mut d, &x, 4096);
        assert_eq!(d.stats().nonfinite_samples, 2);
        assert!(d
            .noise_floor_db()
            .expect("seeded")
            .iter()
            .all(|v| v.is_finite()));
        assert!(out
            .iter()
            .all(|o| o.power.is_finite() && o.snr_db.is_finite()));
    }

    #[test]
    fn config_validation() {
        assert!(EnergyDetectorConfig::default().validate().is_ok());
        let bad = [
            EnergyDetectorConfig {
                sample_rate_hz: 0.0,
                ..Default::default()
            },
            EnergyDetectorConfig {
                false_alarms_per_hour: -1.0,
                ..Default::default()
            },
            EnergyDetectorConfig {
                boxes: vec![],
                ..Default::default()
            },
            EnergyDetectorConfig {
                boxes: vec![BoxShape {
                    bandwidth_hz: 15e3,
                    duration_s: 10e-3,
                }],
                ..Default::default()
            },
            EnergyDetectorConfig {
                floor_quantile: 0.9,
                ..Default::default()
            },
            EnergyDetectorConfig {
                floor_window_s: 0.01,
                ..Default::default()
            },
            EnergyDetectorConfig {
                min_duration_s: 2.0,
                ..Default::default()
            },
        ];
        for c in &bad {
            let e = c.validate().expect_err("invalid");
            let msg = e.to_string();
            assert!(
                msg.starts_with("energy detector: ") && !msg.contains('{'),
                "{msg}"
            );
            assert!(EnergyDetector::new(c.clone()).is_err());
        }
        // Every rate of the range builds, and the bin is at most max_bin_hz.
        for fs in [1e5, 1e6, 1.92e6, 2.5e6, 10e6, 20e6, 30.72e6, 61.44e6] {
            let d = EnergyDetector::new(EnergyDetectorConfig {
                sample_rate_hz: fs,
                ..Default::default()
            })
            .expect("valid");
            assert!(d.bin_hz() <= 15e3, "{fs}");
            assert!(fs < 240e3 || d.bin_hz() > 7.5e3 - 1e-9, "{fs}");
            assert_eq!(d.hop() * 2, d.fft_len());
        }
        // The configuration round-trips through serde with unknown fields rejected.
        let c = EnergyDetectorConfig::default();
        let s = serde_json::to_string(&c).expect("serialise");
        let back: EnergyDetectorConfig = serde_json::from_str(&s).expect("parse");
        assert_eq!(back, c);
        assert!(serde_json::from_str::<EnergyDetectorConfig>(r#"{"nope": 1}"#).is_err());
    }
}
