//! Blind streaming detector of NB-IoT uplink shared-channel transmissions (NPUSCH, TS 36.211
//! 10.1.3 - 10.1.5), formats 1 and 2, single-tone (3.75 and 15 kHz) and multi-tone (3, 6, 12
//! tones of 15 kHz), over the whole input band.
//!
//! # What is assumed (and what is not)
//!
//! Only what 10.1.5 fixes for every cell: the SC-FDMA numerology (15 kHz: useful symbol
//! `N = 2048 Ts`, 7 symbols in a 0.5 ms slot; 3.75 kHz: `N = 8192 Ts`, 7 symbols in a 2 ms
//! slot), the single-tone phase rotation `phi_k(l~)` of 10.1.5 (it keeps the tone phase
//! continuous across symbol boundaries except for the modulation step, so that in a
//! stream-referenced DFT the tone reads `A s(l~) e^{j rho (l~ mod 2)}` with `s` a BPSK/QPSK
//! point: every symbol boundary carries a phase step of an odd multiple of `pi/4` or of
//! `+-pi/2`, never 0), and the occupied widths of Table 10.1.2.3-1 (1, 3, 6 or 12 adjacent
//! subcarriers). Nothing else: carrier position (no raster, any LO error), subcarrier
//! indication, cell identity, timing, repetitions and resource units are unknown.
//!
//! # How it is detected
//!
//! ```text
//!  x --> two branches, one per subcarrier spacing Df (15 kHz, 3.75 kHz):
//!        STFT, rectangular window N = 1/Df (128 m / 512 m samples), FFT 2N (Df/2 bins),
//!        hop N/2, phase referenced to the stream origin (crate::stft), fft-shifted
//!    --> per-bin noise floor (clipped recursive mean, bias-corrected, frozen under
//!        candidates, smoothed over 17 bins), e = |X|^2 / floor: unit-mean exponential
//!        on noise
//!    --> sliding window sums over W frames (15 kHz: 2 and 8 ms; 3.75 kHz: 8 and 32 ms)
//!        and over bands of 1 bin (one tone) or 2T bins (T = 3, 6, 12 tones, 15 kHz only);
//!        threshold from the false-alarm budget, Gamma tail with the exact first two noise
//!        moments (the overlaps of frames and bins are known)               -> crossings
//!    --> candidates: crossings near in frequency and time; per candidate a 96-bin region
//!        accumulates the power profile, the lag-N differential product X_t X*_{t-2}
//!        (phase continuity) and a decimated time profile (extent)
//!    --> at the end of a candidate: width (1/3/6/12 tones) by the best band deflection;
//!        checks: one tone concentrated in < Df (rejects 15 kHz tones in the 3.75 kHz branch
//!        and wideband bursts), multi-tone flat in band with empty edges (rejects chirps,
//!        LTE PUSCH/PRACH, wideband noise), and phase steps: the normalised lag-N
//!        differential coherence must be low (a CW, an NPRACH symbol group, a band-limited
//!        noise burst and a 3.75 kHz tone seen with the 15 kHz window are phase continuous
//!        over N); extent by the maximum-likelihood (maximum-sum) run of the band power
//!        (one tone: on its own bins, matched weights); constant envelope slot by slot
//!        inside the extent (rejects GSM burst trains, chirps sweeping a block) and at
//!        least 3/4 of one resource unit of the width (Table 10.1.2.3-1)
//!    --> one Detection per transmission
//! ```
//!
//! # What is resolved blindly
//!
//! - `tones`, `spacing_hz`, the band centre (to about a quarter of `Df`), the extent (to
//!   about N/2 at high SNR), power and SNR.
//! - `resource_units`: the extent divided by the resource-unit length of the resolved
//!   width and spacing (Table 10.1.2.3-1), at least 1. `N_RU` and `M_rep` cannot be told
//!   apart blindly: `repetitions` reports the same count (resource units seen).
//! - `format`: 1 for multi-tone; for one tone 2 when the transmission is shorter than one
//!   format-1 resource unit (8 ms at 15 kHz, 32 ms at 3.75 kHz); otherwise not reported
//!   (the DMRS positions of Table 10.1.4.2-1 that separate them are not tested).
//!
//! # Approximations (named)
//!
//! - The detection statistic is band energy; the NPUSCH structure is used as a classifier
//!   (phase steps, widths), not in the statistic. The DMRS of 10.1.4 and the CP are not
//!   correlated against (so the Hadamard row / base sequence and cyclic shift are not
//!   reported).
//! - The noise tail is the Gamma law with the exact mean and variance of the window sum;
//!   every tested cell counts as an independent test (conservative: sliding windows are
//!   strongly correlated).
//! - Two transmissions of different UEs adjacent in frequency (within 120 kHz at 15 kHz,
//!   30 kHz at 3.75 kHz) and overlapping in time are reported as one.
//! - The 40 ms gap after every 256 ms of transmission (10.1.3.6) splits a detection.

use super::envelope::{self, Tester};
use super::{lte_rate_multiple, Detection};
use crate::stft::{PhaseReference, Stft, StftConfig, StftError, StftFrame, Window};
use crate::synth::npusch::{ru_slots, Spacing};
use crate::synth::{Kind, Tech};
use num_complex::{Complex32, Complex64};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Subcarrier spacings the detector can search, Hz (10.1.5).
pub const SPACINGS_HZ: [u32; 2] = [15000, 3750];

/// Zero-padding factor of the FFT (bins per subcarrier).
const PAD: usize = 2;
/// Bins of a candidate's region (centred on its first crossing).
const REGION: usize = 96;
/// Bins per group of the extent profile.
const GROUP: usize = 4;
const GROUPS: usize = REGION / GROUP;
/// Bins around a candidate's first crossing whose energies the extent profile also keeps one
/// by one (a single tone's extent is measured on its own bins, not on 4-bin groups).
const FINE: usize = 12;
/// Extent-profile entry: the group energies, then the [`FINE`] single bins.
const EXT_W: usize = GROUPS + FINE;
/// Most candidates open per branch.
const MAX_CANDS: usize = 16;
/// Entries of a candidate's extent profile before it is decimated by 2 in time.
const EXT_CAP: usize = 2048;
/// Lag of the differential coherence, frames (hop N/2: lag 2 = N, disjoint frames).
const LAG: usize = 2;
/// Noise floor: values above `FLOOR_CLIP x floor` are clipped.
const FLOOR_CLIP: f32 = 4.0;
/// A crossing joins a candidate if its band centre is this close to the candidate's, bins.
const JOIN_BINS: f64 = 16.0;
/// Most crossings examined per test frame and branch (the rest are counted).
const MAX_CROSSINGS: usize = 256;
/// Largest normalised lag-N differential coherence accepted. On pure NPUSCH it is about
/// 0.1 - 0.4 (the two disjoint frames share one symbol over a fraction of their length, and
/// the modulation steps average out); a continuous tone gives 1 at high SNR (see the tests).
pub const MAX_COHERENCE: f64 = 0.6;
/// Noise allowance of the concentration test, standard deviations of one bin's excess
/// times the square root of the 13 bins tested.
const CONCENTRATION_NOISE_SD: f64 = 1.5;
/// Fraction of a single tone's excess power within +-1 bin of the peak, of that within
/// +-6 bins (a tone at any offset keeps more than 0.85; a block of one subcarrier or more in
/// the 3.75 kHz branch, or a wideband burst, keeps less).
const MIN_CONCENTRATION: f64 = 0.6;
/// Multi-tone: largest mean excess in the 4 bins beyond each band edge, relative to the
/// in-band mean excess.
const MAX_EDGE: f64 = 0.3;
/// Multi-tone: smallest excess of any in-band bin (edges excepted), relative to the mean.
const MIN_FLAT: f64 = 0.5;
/// Multi-tone: largest excess of the bin two bins beyond each band edge (one subcarrier),
/// relative to the plateau (an SC-FDMA block's skirt falls within one bin of its soft edge;
/// a broad single tone's does not).
const MAX_NEXT: f64 = 0.35;
/// Multi-tone: largest difference between the equivalent width (bins) and the band's `2T`.
const MAX_WIDTH_ERROR: f64 = 1.2;
/// 3.75 kHz branch: half-width (bins of 1.875 kHz) around the peak that must hold
/// [`VETO_LOCAL_FRACTION`] of a phase-continuous candidate's excess for it to veto 15 kHz
/// reports (NPRACH hops within 45 kHz, 24 bins; a 12-tone block spans 96).
const VETO_HALF_WIDTH: usize = 26;
/// See [`VETO_HALF_WIDTH`].
const VETO_LOCAL_FRACTION: f64 = 0.8;
/// Most vetoes kept per branch (oldest dropped).
const MAX_VETOES: usize = 64;
/// Fraction of the power within three bins of the peak that lies within one bin, above which
/// the burst is taken as one tone.
const TONE_FRACTION: f64 = 0.7;
/// Half-width of the frequency smoothing of the noise floor, bins.
const FLOOR_SMOOTH: usize = 8;
/// Multi-tone: bins beyond each band edge that must be near noise.
const EDGE_MARGIN: usize = 4;
/// Detections are held this long after their end (s) so that the other branch's report of
/// the same burst (the 3.75 kHz branch closes up to a 32 ms window later) can be merged.
const HOLD_S: f64 = 0.08;
/// Shortest extent accepted, as a fraction of the shortest transmission of the resolved
/// width (one resource unit, Table 10.1.2.3-1).
const MIN_DURATION_FRACTION: f64 = 0.75;
/// Constant-envelope test: tolerated relative deviation of a slot's band energy excess from
/// the extent's mean (model error: symbol-boundary and leakage effects of the STFT).
const CONSTANT_TOLERANCE: f64 = 0.15;
/// Extent: level between noise (0) and the mean signal excess (1) that a frame must exceed.
const EXTENT_LEVEL: f64 = 0.5;

/// Configuration of a [`NpuschDetector`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NpuschDetectorConfig {
    /// Input sample rate, `m x 1.92 MS/s` with m = 1..16.
    pub sample_rate_hz: f64,
    /// False-alarm budget for the whole input band, per hour of input (noise only).
    pub false_alarms_per_hour: f64,
    /// Subcarrier spacings to search: 15000 and/or 3750.
    pub spacings_hz: Vec<u32>,
    /// Time constant of the per-bin noise floor, seconds (0.01 ..= 10).
    pub noise_time_constant_s: f64,
    /// Input at the start of the stream (and after a gap) used only to learn the noise
    /// floor, seconds (0.005 ..= 1).
    pub warmup_s: f64,
}

impl Default for NpuschDetectorConfig {
    fn default() -> Self {
        NpuschDetectorConfig {
            sample_rate_hz: 1.92e6,
            false_alarms_per_hour: 1.0,
            spacings_hz: SPACINGS_HZ.to_vec(),
            noise_time_constant_s: 0.2,
            warmup_s: 0.02,
        }
    }
}

/// An invalid [`NpuschDetectorConfig`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NpuschConfigError {
    /// The sample rate is not an LTE-family rate.
    #[error("sample_rate_hz = {0} is not m x 1.92 MHz with m = 1..16")]
    SampleRate(f64),
    /// A spacing other than 3750 or 15000.
    #[error("spacing {0} Hz is not an NB-IoT uplink spacing (3750 or 15000)")]
    Spacing(u32),
    /// No spacing to search.
    #[error("spacings_hz is empty")]
    NoSpacings,
    /// A false-alarm budget that is not finite and positive.
    #[error("false_alarms_per_hour = {0} must be finite and > 0")]
    FalseAlarmRate(f64),
    /// A noise time constant out of range.
    #[error("noise_time_constant_s = {0} must be in 0.01 ..= 10")]
    NoiseTime(f64),
    /// A warm-up out of range.
    #[error("warmup_s = {0} must be in 0.005 ..= 1")]
    Warmup(f64),
    /// The STFT rejected its configuration (a bug: the detector derives it).
    #[error("STFT configuration")]
    Stft(#[source] StftError),
}

impl NpuschDetectorConfig {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), NpuschConfigError> {
        if lte_rate_multiple(self.sample_rate_hz).is_none() {
            return Err(NpuschConfigError::SampleRate(self.sample_rate_hz));
        }
        if self.spacings_hz.is_empty() {
            return Err(NpuschConfigError::NoSpacings);
        }
        if let Some(&s) = self.spacings_hz.iter().find(|s| !SPACINGS_HZ.contains(s)) {
            return Err(NpuschConfigError::Spacing(s));
        }
        let r = self.false_alarms_per_hour;
        if !(r.is_finite() && r > 0.0) {
            return Err(NpuschConfigError::FalseAlarmRate(r));
        }
        let t = self.noise_time_constant_s;
        if !(0.01..=10.0).contains(&t) {
            return Err(NpuschConfigError::NoiseTime(t));
        }
        let w = self.warmup_s;
        if !(0.005..=1.0).contains(&w) {
            return Err(NpuschConfigError::Warmup(w));
        }
        Ok(())
    }
}

/// Counters of what the detector did and why it turned candidates down.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NpuschStats {
    /// Input samples consumed.
    pub samples: u64,
    /// STFT frames processed (both branches).
    pub frames: u64,
    /// Gaps in the input stamps (state dropped).
    pub gaps: u64,
    /// Threshold crossings.
    pub crossings: u64,
    /// Crossings not examined because a frame had too many.
    pub crossings_dropped: u64,
    /// Candidates opened.
    pub candidates: u64,
    /// Candidates not opened because too many were open.
    pub candidates_dropped: u64,
    /// Single-tone candidates whose power was not concentrated in one subcarrier.
    pub rejected_not_concentrated: u64,
    /// Multi-tone candidates with power beyond the band edges or holes in the band.
    pub rejected_band_shape: u64,
    /// Candidates without the phase steps of NPUSCH (continuous tones, noise bursts).
    pub rejected_continuous: u64,
    /// 15 kHz detections dropped because the 3.75 kHz branch saw a phase-continuous tone
    /// there at the same time (NPRACH symbol groups hopping over 45 kHz, carriers).
    pub vetoed: u64,
    /// Candidates with no frame standing out of the noise, or shorter than 3/4 of the
    /// shortest transmission of their width (one resource unit).
    pub rejected_too_short: u64,
    /// Candidates whose band power is not constant over their extent, slot by slot (a
    /// duty-cycled burst train: GSM, a radar, a frequency hopper dwelling there).
    pub rejected_not_constant: u64,
    /// Candidates whose envelope in their band is that of Gaussian noise (kurtosis near 2
    /// where an NPUSCH at their SNR would be near-constant): band-limited noise bursts.
    pub rejected_noise_like: u64,
    /// Candidates whose samples had left the raw history when they closed (envelope not
    /// tested).
    pub envelope_untested: u64,
    /// Candidates overlapping an already emitted detection of the same branch.
    pub rejected_duplicate: u64,
    /// Detections emitted.
    pub detections: u64,
}

/// `ln Gamma(a)`, a > 0 (Stirling series after shifting `a` above 10).
fn ln_gamma(a: f64) -> f64 {
    let mut x = a;
    let mut shift = 0.0;
    while x < 10.0 {
        shift -= x.ln();
        x += 1.0;
    }
    let x2 = x * x;
    shift + (x - 0.5) * x.ln() - x + 0.5 * (2.0 * std::f64::consts::PI).ln() + 1.0 / (12.0 * x)
        - 1.0 / (360.0 * x * x2)
        + 1.0 / (1260.0 * x * x2 * x2)
}

/// `ln Q(a, x)`, the log of the regularised upper incomplete gamma function, for
/// `x > a + 1` (Lentz continued fraction).
fn ln_gamma_q(a: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let mut b = x + 1.0 - a;
    let mut c = 1.0 / TINY;
    let mut d = 1.0 / b;
    let mut h = d;
    for i in 1..10_000 {
        let an = -(i as f64) * (i as f64 - a);
        b += 2.0;
        d = an * d + b;
        if d.abs() < TINY {
            d = TINY;
        }
        c = b + an / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < 1e-15 {
            break;
        }
    }
    -x + a * x.ln() - ln_gamma(a) + h.ln()
}

/// Threshold `t` with `P(G > t) = p` for `G ~ Gamma(shape k, scale theta)`, `p < 0.01`.
pub fn gamma_threshold(k: f64, theta: f64, p: f64) -> f64 {
    let lp = p.clamp(1e-300, 0.01).ln();
    let (mut lo, mut hi) = (k + 1.0, k + 10.0);
    while ln_gamma_q(k, hi) > lp {
        hi = k + 2.0 * (hi - k);
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if ln_gamma_q(k, mid) > lp {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi * theta
}

/// Mean and variance, on white Gaussian noise, of the sum of `e = |X|^2 / E|X|^2` over `w`
/// adjacent bins and `frames` consecutive frames of a rectangular-window STFT of window
/// `n`, hop `n / 2`, FFT `PAD n`. Exact: `cov(e_a, e_b) = |rho_ab|^2` (Isserlis), with
/// `rho` the normalised inner product of the two frames' analysis kernels.
fn window_sum_moments(n: usize, frames: usize, w: usize) -> (f64, f64) {
    let hop = n / 2;
    let rho = |dt: usize, db: usize| -> f64 {
        let overlap = n.saturating_sub(dt * hop);
        if overlap == 0 {
            return 0.0;
        }
        let phi = 2.0 * std::f64::consts::PI * db as f64 / (PAD * n) as f64;
        let s: Complex64 = (0..overlap)
            .map(|i| Complex64::from_polar(1.0, phi * i as f64))
            .sum();
        s.norm() / n as f64
    };
    let mean = (frames * w) as f64;
    let mut var = 0.0;
    for dt in 0..frames.min(3) {
        let nt = if dt == 0 {
            frames as f64
        } else {
            2.0 * (frames - dt) as f64
        };
        for db in 0..w {
            let nb = if db == 0 {
                w as f64
            } else {
                2.0 * (w - db) as f64
            };
            let r = rho(dt, db);
            var += nt * nb * r * r;
        }
    }
    (mean, var)
}

/// The run `k0..k1` of `v` with the largest sum of `v[k] - level` (Kadane), if positive.
fn max_sum_run(v: &[f64], level: f64) -> Option<(usize, usize)> {
    let (mut cur, mut cur_start) = (0.0f64, 0usize);
    let (mut best_sum, mut run) = (0.0f64, None);
    for (k, &e) in v.iter().enumerate() {
        if cur <= 0.0 {
            cur = 0.0;
            cur_start = k;
        }
        cur += e - level;
        if cur > best_sum {
            best_sum = cur;
            run = Some((cur_start, k + 1));
        }
    }
    run
}

/// Sum of the positive values of `x` (the excess above noise of a band of bins).
fn positive_sum(x: &[f64]) -> f64 {
    x.iter().map(|v| v.max(0.0)).sum()
}

/// [`positive_sum`] over the bins within `half` of `j`, clipped to `x`.
fn excess_around(x: &[f64], j: usize, half: usize) -> f64 {
    positive_sum(&x[j.saturating_sub(half)..(j + half + 1).min(x.len())])
}

/// Normalised lag-N differential coherence of candidate `c` over region bins `lo..hi`,
/// bins weighted by their excess `x`; the noise part of the normaliser (`|X_t||X_{t-2}|` of
/// noise has mean pi/4 per frame pair) is removed. The numerator keeps its noise bias (which
/// raises the coherence of weak bursts): a bias-corrected version was tried and let 3.75 kHz
/// tones and NPRACH groups, phase continuous through the 15 kHz window, pass as 15 kHz
/// NPUSCH at -12 dB (see `docs/DETECTION.md`).
fn coherence(c: &Cand, x: &[f64; REGION], lo: usize, hi: usize, nf: f64) -> f64 {
    let mut dsum = 0.0;
    let mut msum = 0.0;
    for ((xj, d), m) in x[lo..hi].iter().zip(&c.diff[lo..hi]).zip(&c.mag[lo..hi]) {
        let wt = xj.max(0.0);
        dsum += wt * d.norm();
        msum += wt * (m - std::f64::consts::FRAC_PI_4 * nf).max(0.0);
    }
    if msum > 0.0 {
        dsum / msum
    } else {
        1.0
    }
}

/// One tested statistic: a band of `width` bins summed over window `window`.
#[derive(Debug, Clone)]
struct Family {
    tones: u32,
    width: usize,
    window: usize,
    threshold: f32,
}

/// A candidate transmission being accumulated.
#[derive(Debug, Clone)]
struct Cand {
    active: bool,
    /// First bin of the region.
    r0: usize,
    /// Band centre of the first crossing, bins.
    centre: f64,
    /// Best statistic / threshold seen, and its family.
    best: f64,
    best_family: usize,
    first_cross: u64,
    last_cross: u64,
    /// Frames accumulated and the frame index of the first.
    frames: u64,
    first_frame: u64,
    profile: Vec<f64>,
    diff: Vec<Complex64>,
    mag: Vec<f64>,
    /// Extent profile: group energies per entry, `per` frames per entry.
    ext: Vec<[f32; EXT_W]>,
    ext_acc: [f32; EXT_W],
    /// First region bin of the fine part of the extent profile.
    fine0: usize,
    ext_fill: u64,
    per: u64,
}

impl Cand {
    fn new() -> Self {
        Cand {
            active: false,
            r0: 0,
            centre: 0.0,
            best: 0.0,
            best_family: 0,
            first_cross: 0,
            last_cross: 0,
            frames: 0,
            first_frame: 0,
            profile: vec![0.0; REGION],
            diff: vec![Complex64::new(0.0, 0.0); REGION],
            mag: vec![0.0; REGION],
            ext: Vec::with_capacity(EXT_CAP),
            ext_acc: [0.0; EXT_W],
            fine0: 0,
            ext_fill: 0,
            per: 1,
        }
    }
}

/// One subcarrier-spacing branch: STFT plus everything fed by its frames.
struct Branch {
    stft: Stft,
    st: BranchState,
}

struct BranchState {
    spacing_hz: u32,
    fs: f64,
    /// Window N, hop, FFT length (= bins).
    n: usize,
    hop: usize,
    nb: usize,
    windows: [usize; 2],
    test_every: u64,
    families: Vec<Family>,
    warm_frames: u64,
    alpha: f32,
    floor: Vec<f32>,
    /// `floor` averaged over `2 FLOOR_SMOOTH + 1` bins: the normaliser.
    floor_s: Vec<f32>,
    /// Ring of normalised spectra, `depth` frames of `nb` bins.
    ring: Vec<Complex32>,
    depth: usize,
    acc: [Vec<f32>; 2],
    prefix: Vec<f32>,
    frozen: Vec<bool>,
    cands: Vec<Cand>,
    /// Frame index (since the stream origin) of the next frame, and the origin stamp.
    frame: u64,
    origin: u64,
    /// Extent of the last detection emitted (sample range) and its band, for duplicates.
    last_emit: Option<(u64, u64, f64)>,
    /// 3.75 kHz branch: recent phase-continuous tones `(start, end, freq_hz)` (bounded).
    vetoes: Vec<(u64, u64, f64)>,
    stats: NpuschStats,
}

/// Blind NPUSCH detector (see the module doc).
pub struct NpuschDetector {
    cfg: NpuschDetectorConfig,
    branches: Vec<Branch>,
    next_sample: Option<u64>,
    stats: NpuschStats,
    /// Detections held until the other branch can no longer report the same burst.
    pending: Vec<Detection>,
    /// Scratch for one branch's new detections.
    fresh: Vec<Detection>,
    hold_samples: u64,
    /// Raw-sample history and the waveform tests on it (`envelope`).
    tester: Tester,
}

impl std::fmt::Debug for NpuschDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NpuschDetector")
            .field("cfg", &self.cfg)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl NpuschDetector {
    /// Builds the detector: plans, rings, thresholds.
    pub fn new(cfg: NpuschDetectorConfig) -> Result<Self, NpuschConfigError> {
        cfg.validate()?;
        let m = lte_rate_multiple(cfg.sample_rate_hz).unwrap_or(1) as usize;
        let fs = cfg.sample_rate_hz;
        // Families per branch: 15 kHz: 4 widths x 2 windows; 3.75 kHz: 1 x 2.
        let n_fam: usize = cfg
            .spacings_hz
            .iter()
            .map(|&s| if s == 15000 { 8 } else { 2 })
            .sum();
        let mut branches = Vec::new();
        for &sp in &cfg.spacings_hz {
            let (n, windows_ms, tones, test_every): (usize, [f64; 2], &[u32], u64) = if sp == 15000
            {
                (128 * m, [2.0, 8.0], &[1, 3, 6, 12], 4)
            } else {
                (512 * m, [8.0, 32.0], &[1], 1)
            };
            let hop = n / 2;
            let nb = PAD * n;
            let windows = windows_ms.map(|ms| (ms * 1e-3 * fs / hop as f64).round() as usize);
            let frames_per_hour = 3600.0 * fs / hop as f64 / test_every as f64;
            let p = cfg.false_alarms_per_hour / n_fam as f64 / (frames_per_hour * nb as f64);
            let mut families = Vec::new();
            for (wi, &w) in windows.iter().enumerate() {
                for &t in tones {
                    let width = if t == 1 { 1 } else { PAD * t as usize };
                    let (mean, var) = window_sum_moments(n, w, width);
                    let k = mean * mean / var;
                    let theta = var / mean;
                    families.push(Family {
                        tones: t,
                        width,
                        window: wi,
                        threshold: gamma_threshold(k, theta, p) as f32,
                    });
                }
            }
            let depth = windows[1] + windows[1] / 4 + LAG + 4;
            let stft = Stft::new(StftConfig {
                window_len: n,
                fft_len: nb,
                hop,
                window: Window::Rectangular,
                phase_reference: PhaseReference::Stream,
            })
            .map_err(NpuschConfigError::Stft)?;
            let frame_s = hop as f64 / fs;
            let st = BranchState {
                spacing_hz: sp,
                fs,
                n,
                hop,
                nb,
                windows,
                test_every,
                families,
                warm_frames: (cfg.warmup_s / frame_s).ceil() as u64,
                alpha: (frame_s / cfg.noise_time_constant_s).min(1.0) as f32,
                floor: vec![0.0; nb],
                floor_s: vec![0.0; nb],
                ring: vec![Complex32::new(0.0, 0.0); depth * nb],
                depth,
                acc: [vec![0.0; nb], vec![0.0; nb]],
                prefix: vec![0.0; nb + 1],
                frozen: vec![false; nb],
                cands: (0..MAX_CANDS).map(|_| Cand::new()).collect(),
                frame: 0,
                origin: 0,
                last_emit: None,
                vetoes: Vec::with_capacity(MAX_VETOES),
                stats: NpuschStats::default(),
            };
            branches.push(Branch { stft, st });
        }
        Ok(NpuschDetector {
            hold_samples: (HOLD_S * fs) as u64,
            cfg,
            branches,
            next_sample: None,
            stats: NpuschStats::default(),
            pending: Vec::with_capacity(64),
            fresh: Vec::with_capacity(64),
            tester: Tester::new((envelope::NPUSCH_HISTORY_S * fs).ceil() as usize),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &NpuschDetectorConfig {
        &self.cfg
    }

    /// Counters, summed over the branches.
    pub fn stats(&self) -> NpuschStats {
        let mut s = self.stats.clone();
        for b in &self.branches {
            let t = &b.st.stats;
            s.frames += t.frames;
            s.crossings += t.crossings;
            s.crossings_dropped += t.crossings_dropped;
            s.candidates += t.candidates;
            s.candidates_dropped += t.candidates_dropped;
            s.rejected_not_concentrated += t.rejected_not_concentrated;
            s.rejected_band_shape += t.rejected_band_shape;
            s.rejected_continuous += t.rejected_continuous;
            s.vetoed += t.vetoed;
            s.rejected_too_short += t.rejected_too_short;
            s.rejected_not_constant += t.rejected_not_constant;
            s.rejected_noise_like += t.rejected_noise_like;
            s.envelope_untested += t.envelope_untested;
            s.rejected_duplicate += t.rejected_duplicate;
            s.detections += t.detections;
        }
        s
    }

    /// The thresholds: `(spacing_hz, tones, window frames, threshold)` per family.
    pub fn thresholds(&self) -> Vec<(u32, u32, usize, f64)> {
        self.branches
            .iter()
            .flat_map(|b| {
                b.st.families.iter().map(|f| {
                    (
                        b.st.spacing_hz,
                        f.tones,
                        b.st.windows[f.window],
                        f.threshold as f64,
                    )
                })
            })
            .collect()
    }

    /// Forgets all state (as after a retune); counters are kept.
    pub fn reset(&mut self) {
        self.next_sample = None;
        self.pending.clear();
        self.fresh.clear();
        self.tester.hist.clear();
        for b in &mut self.branches {
            b.stft.reset();
            b.st.reset();
        }
    }

    /// End of stream: closes every open candidate and emits what qualifies.
    pub fn finish(&mut self, out: &mut Vec<Detection>) {
        for i in 0..self.branches.len() {
            self.branches[i]
                .st
                .close_all(&mut self.fresh, &mut self.tester);
            self.absorb();
        }
        self.flush(u64::MAX, out);
    }

    /// Moves the fresh detections into the pending list; where a 15 kHz and a 3.75 kHz
    /// detection overlap in time and lie within 15 kHz, keeps the 15 kHz one (a 3.75 kHz
    /// tone is phase continuous over a 15 kHz symbol and is rejected by the 15 kHz branch;
    /// a 15 kHz tone can pass the 3.75 kHz tests).
    fn absorb(&mut self) {
        for d in self.fresh.drain(..) {
            let sp = |d: &Detection| d.params.get("spacing_hz").and_then(Value::as_u64);
            let same = |a: &Detection, b: &Detection| {
                a.sample_start < b.sample_end()
                    && b.sample_start < a.sample_end()
                    && (a.freq_offset_hz - b.freq_offset_hz).abs() < 15e3
                    && sp(a) != sp(b)
            };
            if let Some(i) = self.pending.iter().position(|p| same(p, &d)) {
                self.stats.rejected_duplicate += 1;
                if sp(&d) == Some(15000) {
                    self.pending[i] = d;
                }
                continue;
            }
            self.pending.push(d);
        }
        let branches = &self.branches;
        let stats = &mut self.stats;
        self.pending.retain(|d| {
            let is15 = d.params.get("spacing_hz").and_then(Value::as_u64) == Some(15000);
            let hit = is15
                && branches.iter().any(|b| {
                    b.st.vetoes.iter().any(|&(s0, s1, f)| {
                        s0 < d.sample_end()
                            && d.sample_start < s1
                            && (f - d.freq_offset_hz).abs() < 30e3 + 0.5 * d.bandwidth_hz
                    })
                });
            if hit {
                stats.vetoed += 1;
            }
            !hit
        });
    }

    /// Emits the pending detections that ended before `before`, in the order they ended.
    fn flush(&mut self, before: u64, out: &mut Vec<Detection>) {
        self.pending.sort_by_key(Detection::sample_end);
        let n = self
            .pending
            .iter()
            .take_while(|d| d.sample_end() < before)
            .count();
        out.extend(self.pending.drain(..n));
    }

    /// Processes samples `first_sample ..`. A jump in `first_sample` is a gap: open
    /// candidates are dropped and the noise floor is learnt again.
    pub fn process(&mut self, first_sample: u64, x: &[Complex32], out: &mut Vec<Detection>) {
        if let Some(s) = self.next_sample {
            if s != first_sample {
                self.stats.gaps += 1;
                // Finished detections stand; open candidates are dropped.
                self.flush(u64::MAX, out);
                self.reset();
            }
        }
        if self.next_sample.is_none() {
            for b in &mut self.branches {
                b.st.origin = first_sample;
            }
        }
        self.next_sample = Some(first_sample + x.len() as u64);
        self.stats.samples += x.len() as u64;
        self.tester.hist.push(first_sample, x);
        for i in 0..self.branches.len() {
            let b = &mut self.branches[i];
            let st = &mut b.st;
            let fresh = &mut self.fresh;
            let tester = &mut self.tester;
            b.stft
                .process(first_sample, x, |f| st.on_frame(f, fresh, tester));
            self.absorb();
        }
        let now = first_sample + x.len() as u64;
        self.flush(now.saturating_sub(self.hold_samples), out);
    }
}

impl BranchState {
    fn reset(&mut self) {
        self.frame = 0;
        self.floor.iter_mut().for_each(|v| *v = 0.0);
        for a in &mut self.acc {
            a.iter_mut().for_each(|v| *v = 0.0);
        }
        for c in &mut self.cands {
            c.active = false;
        }
        self.last_emit = None;
        self.vetoes.clear();
    }

    fn close_all(&mut self, out: &mut Vec<Detection>, tester: &mut Tester) {
        for i in 0..self.cands.len() {
            if self.cands[i].active {
                self.close(i, out, tester);
            }
        }
    }

    /// Bin (fft-shifted) to frequency, Hz.
    fn bin_hz(&self, bin: f64) -> f64 {
        (bin - (self.nb / 2) as f64) * self.fs / self.nb as f64
    }

    fn on_frame(&mut self, f: StftFrame<'_>, out: &mut Vec<Detection>, tester: &mut Tester) {
        let h = self.frame;
        self.frame += 1;
        self.stats.frames += 1;
        let nb = self.nb;
        let half = nb / 2;
        let slot = (h % self.depth as u64) as usize;
        let warm = h < self.warm_frames;
        // Frozen bins: inside open candidates' regions.
        self.frozen.iter_mut().for_each(|v| *v = false);
        for c in self.cands.iter().filter(|c| c.active) {
            self.frozen[c.r0..c.r0 + REGION]
                .iter_mut()
                .for_each(|v| *v = true);
        }
        let bias = 1.0 / (1.0 - (-FLOOR_CLIP).exp());
        for j in 0..nb {
            let p = f.spectrum[(j + half) % nb].norm_sqr();
            let fl = &mut self.floor[j];
            if warm {
                // Running mean over the warm-up.
                *fl += (p - *fl) / (h + 1) as f32;
            } else if !self.frozen[j] {
                *fl += self.alpha * ((p.min(FLOOR_CLIP * self.floor_s[j])) * bias - *fl);
            }
        }
        // Smooth across frequency (sliding mean, shrinking at the band edges).
        let mut sum: f64 = self.floor[..FLOOR_SMOOTH.min(nb)]
            .iter()
            .map(|&v| v as f64)
            .sum();
        for j in 0..nb {
            if j + FLOOR_SMOOTH < nb {
                sum += self.floor[j + FLOOR_SMOOTH] as f64;
            }
            if j > FLOOR_SMOOTH {
                sum -= self.floor[j - FLOOR_SMOOTH - 1] as f64;
            }
            let cnt = (j + FLOOR_SMOOTH).min(nb - 1) + 1 - j.saturating_sub(FLOOR_SMOOTH);
            self.floor_s[j] = (sum / cnt as f64) as f32;
        }
        let ring = &mut self.ring[slot * nb..(slot + 1) * nb];
        for (j, r) in ring.iter_mut().enumerate() {
            let fl = self.floor_s[j];
            let g = if fl > 0.0 { 1.0 / fl.sqrt() } else { 0.0 };
            *r = if warm {
                Complex32::new(0.0, 0.0)
            } else {
                f.spectrum[(j + half) % nb] * g
            };
        }
        if warm {
            return;
        }
        // Sliding window sums.
        for wi in 0..2 {
            let w = self.windows[wi];
            let old = if h >= w as u64 {
                Some(((h - w as u64) % self.depth as u64) as usize)
            } else {
                None
            };
            let acc = &mut self.acc[wi];
            let new = &self.ring[slot * nb..(slot + 1) * nb];
            match old {
                Some(o) => {
                    let old = &self.ring[o * nb..(o + 1) * nb];
                    for ((a, n), o) in acc.iter_mut().zip(new).zip(old) {
                        *a += n.norm_sqr() - o.norm_sqr();
                    }
                }
                None => {
                    for (a, n) in acc.iter_mut().zip(new) {
                        *a += n.norm_sqr();
                    }
                }
            }
            // Exact recomputation now and then (no drift of the running sums).
            if h % 65_536 == 0 && h >= w as u64 {
                acc.iter_mut().for_each(|v| *v = 0.0);
                for i in 0..w as u64 {
                    let s = ((h - i) % self.depth as u64) as usize;
                    for (a, v) in acc.iter_mut().zip(&self.ring[s * nb..(s + 1) * nb]) {
                        *a += v.norm_sqr();
                    }
                }
            }
        }
        // Candidates accumulate this frame.
        for i in 0..self.cands.len() {
            if self.cands[i].active {
                self.accumulate(i, h);
            }
        }
        if h % self.test_every == 0 {
            self.test(h);
        }
        // Close candidates whose crossings stopped.
        let close_after = 2 * self.test_every + 2;
        for i in 0..self.cands.len() {
            if self.cands[i].active && h > self.cands[i].last_cross + close_after {
                self.close(i, out, tester);
            }
        }
    }

    /// Compares every family's statistic with its threshold at frame `h`.
    fn test(&mut self, h: u64) {
        let nb = self.nb;
        let mut crossings = 0usize;
        for wi in 0..2 {
            let w = self.windows[wi] as u64;
            if h < self.warm_frames + w {
                continue;
            }
            let mut s = 0.0f32;
            self.prefix[0] = 0.0;
            for j in 0..nb {
                s += self.acc[wi][j];
                self.prefix[j + 1] = s;
            }
            for fi in 0..self.families.len() {
                let fam = &self.families[fi];
                if fam.window != wi {
                    continue;
                }
                let (width, thr) = (fam.width, fam.threshold);
                for b in 0..=nb - width {
                    let v = if width == 1 {
                        self.acc[wi][b]
                    } else {
                        self.prefix[b + width] - self.prefix[b]
                    };
                    if v > thr {
                        self.stats.crossings += 1;
                        if crossings >= MAX_CROSSINGS {
                            self.stats.crossings_dropped += 1;
                            continue;
                        }
                        crossings += 1;
                        let centre = b as f64 + (width as f64 - 1.0) / 2.0;
                        self.crossing(fi, centre, (v / thr) as f64, h);
                    }
                }
            }
        }
    }

    fn crossing(&mut self, fi: usize, centre: f64, ratio: f64, h: u64) {
        if let Some(c) = self.cands.iter_mut().find(|c| {
            c.active
                && ((c.centre - centre).abs() <= JOIN_BINS
                    || (centre >= c.r0 as f64 && centre < (c.r0 + REGION) as f64))
        }) {
            c.last_cross = h;
            if ratio > c.best {
                c.best = ratio;
                c.best_family = fi;
            }
            return;
        }
        let Some(i) = self.cands.iter().position(|c| !c.active) else {
            self.stats.candidates_dropped += 1;
            return;
        };
        self.stats.candidates += 1;
        // Back-fill over the window that crossed; for one 15 kHz tone over the longest
        // window whatever window crossed: a crossing of the short window can come from
        // anywhere inside a weak single-tone resource unit (8 ms), and the extent would lose
        // its start. Multi-tone resource units are 1 - 4 ms, and the 3.75 kHz branch's long
        // window is 32 ms: there the window that crossed keeps the candidate's noise (which
        // dilutes the shape tests) short (measured: the longest window lost 3.75 kHz tones).
        let fam = &self.families[fi];
        let long = fam.tones == 1 && self.spacing_hz == 15000;
        let w = self.windows[if long { 1 } else { fam.window }] as u64;
        let back = (w + w / 4).min(self.depth as u64 - LAG as u64 - 2);
        let first = h.saturating_sub(back).max(self.warm_frames);
        let nb = self.nb;
        let c = &mut self.cands[i];
        c.active = true;
        c.r0 = (centre.round() as isize - (REGION / 2) as isize).clamp(0, (nb - REGION) as isize)
            as usize;
        c.centre = centre;
        c.best = ratio;
        c.best_family = fi;
        c.first_cross = h;
        c.last_cross = h;
        c.frames = 0;
        c.first_frame = first;
        c.profile.iter_mut().for_each(|v| *v = 0.0);
        c.diff
            .iter_mut()
            .for_each(|v| *v = Complex64::new(0.0, 0.0));
        c.mag.iter_mut().for_each(|v| *v = 0.0);
        c.ext.clear();
        c.ext_acc = [0.0; EXT_W];
        c.fine0 = (centre.round() as usize)
            .saturating_sub(c.r0)
            .saturating_sub(FINE / 2)
            .min(REGION - FINE);
        c.ext_fill = 0;
        c.per = 1;
        // Back-fill from the ring (frames first .. h; frame h itself already stored).
        for t in first..=h {
            self.accumulate(i, t);
        }
    }

    /// Adds frame `t` (still in the ring) to candidate `i`.
    fn accumulate(&mut self, i: usize, t: u64) {
        let nb = self.nb;
        let depth = self.depth as u64;
        let s = (t % depth) as usize;
        let lagged = if t >= LAG as u64 + self.warm_frames {
            Some(((t - LAG as u64) % depth) as usize)
        } else {
            None
        };
        let c = &mut self.cands[i];
        if t < c.first_frame + c.frames {
            return;
        }
        c.frames += 1;
        let cur = &self.ring[s * nb + c.r0..s * nb + c.r0 + REGION];
        for (j, x) in cur.iter().enumerate() {
            let e = x.norm_sqr();
            c.profile[j] += e as f64;
            c.ext_acc[j / GROUP] += e;
        }
        for (k, x) in cur[c.fine0..c.fine0 + FINE].iter().enumerate() {
            c.ext_acc[GROUPS + k] += x.norm_sqr();
        }
        if let Some(l) = lagged {
            let prev = &self.ring[l * nb + c.r0..l * nb + c.r0 + REGION];
            for j in 0..REGION {
                let (a, b) = (cur[j], prev[j]);
                let d = a * b.conj();
                c.diff[j] += Complex64::new(d.re as f64, d.im as f64);
                c.mag[j] += (a.norm() * b.norm()) as f64;
            }
        }
        c.ext_fill += 1;
        if c.ext_fill == c.per {
            if c.ext.len() == EXT_CAP {
                // Decimate by 2 in time.
                for k in 0..EXT_CAP / 2 {
                    let (a, b) = (c.ext[2 * k], c.ext[2 * k + 1]);
                    let mut m = [0.0; EXT_W];
                    for g in 0..EXT_W {
                        m[g] = a[g] + b[g];
                    }
                    c.ext[k] = m;
                }
                c.ext.truncate(EXT_CAP / 2);
                c.per *= 2;
                // The partial entry now holds half of a doubled entry: keep accumulating.
                return;
            }
            c.ext.push(c.ext_acc);
            c.ext_acc = [0.0; EXT_W];
            c.ext_fill = 0;
        }
    }

    /// Ends candidate `i`: classifies it and emits a detection when it qualifies.
    fn close(&mut self, i: usize, out: &mut Vec<Detection>, tester: &mut Tester) {
        self.cands[i].active = false;
        if let Some(d) = self.classify(i, tester) {
            let dup = self.last_emit.is_some_and(|(s, e, f)| {
                d.sample_start < e
                    && d.sample_end() > s
                    && (d.freq_offset_hz - f).abs() < JOIN_BINS * self.fs / self.nb as f64 * 2.0
            });
            if dup {
                self.stats.rejected_duplicate += 1;
                return;
            }
            self.last_emit = Some((d.sample_start, d.sample_end(), d.freq_offset_hz));
            self.stats.detections += 1;
            out.push(d);
        }
    }

    fn classify(&mut self, i: usize, tester: &mut Tester) -> Option<Detection> {
        let c = &self.cands[i];
        let nf = c.frames.max(1) as f64;
        // Per-frame excess of each region bin (0 on noise).
        let mut x = [0.0f64; REGION];
        for (xj, p) in x.iter_mut().zip(&c.profile) {
            *xj = p / nf - 1.0;
        }
        // Width: the multi-tone band of best deflection (excess / sqrt(width)) if it has the
        // shape of an SC-FDMA block (flat, empty edges) and beats the single bin; otherwise
        // one tone at the peak bin.
        let peak = (0..REGION).fold(0, |a, j| if x[j] > x[a] { j } else { a });
        if self.spacing_hz == 3750 {
            let coh = coherence(c, &x, peak.saturating_sub(1), (peak + 2).min(REGION), nf);
            // Only a narrow signal vetoes (a tone, or NPRACH hopping within 45 kHz, 10.1.6):
            // a 12-tone block (180 kHz) seen through the 3.75 kHz window fills the region
            // and must not veto its own 15 kHz report.
            let local = excess_around(&x, peak, VETO_HALF_WIDTH);
            // ... and it must not reach the region's ends (a block wider than the region).
            let level = local / (2 * VETO_HALF_WIDTH + 1) as f64;
            let ends = (positive_sum(&x[..4]) + positive_sum(&x[REGION - 4..])) / 8.0;
            let inside = ends <= 0.25 * level + 3.0 * (1.5 / nf / 8.0).sqrt();
            if coh > MAX_COHERENCE && inside && local >= VETO_LOCAL_FRACTION * positive_sum(&x) {
                // A phase-continuous tone (NPRACH group, carrier): veto 15 kHz reports of it.
                if self.vetoes.len() == MAX_VETOES {
                    self.vetoes.remove(0);
                }
                let hop = self.hop as u64;
                let s0 = self.origin + c.first_frame * hop;
                let s1 = self.origin + (c.first_frame + c.frames) * hop + self.n as u64;
                self.vetoes
                    .push((s0, s1, self.bin_hz(c.r0 as f64 + peak as f64)));
                self.stats.rejected_continuous += 1;
                return None;
            }
        }
        let mut multi: Option<(f64, u32, usize, usize)> = None;
        for f in self.families.iter().filter(|f| f.tones > 1) {
            let w = f.width;
            for b in 0..=REGION - w {
                let d = x[b..b + w].iter().sum::<f64>() / (w as f64).sqrt();
                if multi.is_none_or(|m| d > m.0) {
                    multi = Some((d, f.tones, b, w));
                }
            }
        }
        // Noise standard deviation of one bin's per-frame excess (overlapping frames count
        // about 1.5 times).
        let sd = (1.5 / nf).sqrt();
        // SC-FDMA block shape (10.1.5: T adjacent 15 kHz subcarriers, 2T bins at PAD 2).
        // The subcarriers sit anywhere relative to the bins (LO error, CFO), so the block's
        // edges are soft over about one bin: the bin half a subcarrier beyond the outer
        // subcarrier holds sinc^2(1/2) ~ 0.4 of its power, more when frames straddle a
        // symbol boundary. So: the plateau level is the interior's mean (the band's two edge
        // bins excluded); the bin just beyond each edge is free but counts in the equivalent
        // width (power over the band and those two bins, over the plateau: 2T for a block);
        // from two bins beyond each edge the skirts must be near noise; the interior flat.
        let block_shape = |b: usize, w: usize| -> bool {
            // The band and its margins must lie inside the region (else the burst is wider
            // than the region: not an NB-IoT block).
            if b < 1 + EDGE_MARGIN || b + w + 1 + EDGE_MARGIN > REGION {
                return false;
            }
            let inner = &x[b + 1..b + w - 1];
            let mean = inner.iter().sum::<f64>() / inner.len() as f64;
            if mean <= 0.0 {
                return false;
            }
            let min_in = inner.iter().fold(f64::MAX, |a, &v| a.min(v));
            let eq_width = x[b - 1..b + w + 1].iter().sum::<f64>() / mean;
            let width_tol = MAX_WIDTH_ERROR + 3.0 * sd * ((w + 2) as f64).sqrt() / mean;
            let left = x[b - 1 - EDGE_MARGIN..b - 1].iter().sum::<f64>() / EDGE_MARGIN as f64;
            let right =
                x[b + w + 1..b + w + 1 + EDGE_MARGIN].iter().sum::<f64>() / EDGE_MARGIN as f64;
            let edge_tol = MAX_EDGE * mean + 3.0 * sd / (EDGE_MARGIN as f64).sqrt();
            // ... and the plateau must stand out of each margin by 3 standard deviations of
            // the difference (x 1.6 for neighbouring padded bins): at low per-bin SNR the
            // tolerances above let any flat stretch of a wide signal pass (a wideband noise
            // burst's 24 bins "had" empty edges within noise).
            let standout = 3.0 * sd * (1.6 / inner.len() as f64 + 1.6 / EDGE_MARGIN as f64).sqrt();
            mean - left >= standout
                && mean - right >= standout
                && left <= edge_tol
                && right <= edge_tol
                && x[b - 2] <= MAX_NEXT * mean + 3.0 * sd
                && x[b + w + 1] <= MAX_NEXT * mean + 3.0 * sd
                && (eq_width - w as f64).abs() <= width_tol
                && min_in >= MIN_FLAT * mean - 3.0 * sd
        };
        // A tone keeps most of its power within one bin of its peak (about 0.8 of that within
        // three bins); an SC-FDMA block of 3 or more subcarriers spreads it evenly (< 0.6).
        let around = excess_around(&x, peak, 3);
        let tone_like =
            excess_around(&x, peak, 1) >= TONE_FRACTION * around - 2.0 * sd * 7f64.sqrt();
        let (tones, b, w) = match multi {
            Some((d, t, b, w)) if !tone_like && d > x[peak] && block_shape(b, w) => (t, b, w),
            Some((d, _, _, _)) if d > 1.5 * x[peak] => {
                // Wide, but not an NB-IoT block (chirp, LTE allocation, noise burst).
                self.stats.rejected_band_shape += 1;
                return None;
            }
            _ => (1, peak, 1),
        };
        let band_excess: f64 = x[b..b + w].iter().sum();
        if band_excess <= 0.0 {
            self.stats.rejected_too_short += 1;
            return None;
        }
        let centre_bin = if tones == 1 {
            if b < 6 || b + 7 > REGION {
                self.stats.rejected_not_concentrated += 1;
                return None;
            }
            let lo = b.saturating_sub(1);
            let hi = (b + 2).min(REGION);
            // Noise allowance: the positive parts of noise-only bins bias both sums up (the
            // wider more), which at low SNR would reject a true tone.
            let allowance = if self.spacing_hz == 15000 {
                CONCENTRATION_NOISE_SD * sd * 13f64.sqrt()
            } else {
                0.0
            };
            if excess_around(&x, b, 1) < MIN_CONCENTRATION * excess_around(&x, b, 6) - allowance {
                self.stats.rejected_not_concentrated += 1;
                return None;
            }
            let wsum: f64 = (lo..hi).map(|j| x[j].max(0.0)).sum();
            (lo..hi).map(|j| j as f64 * x[j].max(0.0)).sum::<f64>() / wsum.max(1e-12)
        } else {
            b as f64 + (w as f64 - 1.0) / 2.0
        };
        // Phase steps: normalised lag-N differential coherence over the band, noise removed
        // from the normaliser (|X_t||X_{t-2}| of noise has mean pi/4 per frame pair).
        let (lo, hi) = if tones == 1 {
            (b.saturating_sub(1), (b + 2).min(REGION))
        } else {
            (b, b + w)
        };
        let coherence = coherence(c, &x, lo, hi, nf);
        if coherence > MAX_COHERENCE {
            self.stats.rejected_continuous += 1;
            return None;
        }
        // Extent: maximum-sum run of the band's energy above noise + half the signal (the
        // maximum-likelihood run of a rectangular burst of that level in noise). A single
        // tone within the fine bins is measured on the peak and its neighbours, weighted by
        // their excess (the matched weights); otherwise on the 4-bin groups of the band.
        let g0 = b / GROUP;
        let g1 = ((b + w - 1) / GROUP).min(GROUPS - 1);
        let nbins = ((g1 - g0 + 1) * GROUP) as f64;
        let per = c.per as f64;
        let mut weights = [0.0f32; EXT_W];
        let (noise_w, sig_w) = if tones == 1 && lo >= c.fine0 && hi <= c.fine0 + FINE {
            let (mut nw, mut sw) = (0.0, 0.0);
            for j in lo..hi {
                let wt = x[j].max(0.0);
                weights[GROUPS + j - c.fine0] = wt as f32;
                nw += wt;
                sw += wt * x[j];
            }
            (nw, sw)
        } else {
            weights[g0..=g1].iter_mut().for_each(|v| *v = 1.0);
            (nbins, band_excess.max(0.0))
        };
        let series: Vec<f64> = c
            .ext
            .iter()
            .map(|e| e.iter().zip(&weights).map(|(a, b)| (a * b) as f64).sum())
            .collect();
        // The candidate's mean excess is diluted by the noise frames around the burst: two
        // more passes take the burst's level as the candidate's whole excess spread over the
        // previous run (the mean inside the run itself would be biased up: the run is chosen
        // where noise adds most).
        let Some((mut k0, mut k1)) = max_sum_run(&series, (noise_w + EXTENT_LEVEL * sig_w) * per)
        else {
            self.stats.rejected_too_short += 1;
            return None;
        };
        let total_excess = sig_w * nf;
        for _ in 0..2 {
            let inside = total_excess / ((k1 - k0) as f64 * per);
            if inside <= sig_w {
                break;
            }
            match max_sum_run(&series, (noise_w + EXTENT_LEVEL * inside) * per) {
                Some(r) => (k0, k1) = r,
                None => break,
            }
        }
        // Constant envelope: an NPUSCH transmission keeps its power over every slot of its
        // resource units (10.1.3, 10.1.5: every symbol carries data or DMRS at one power, on
        // all its subcarriers at once), so inside the extent, the end slots left out, the
        // energy per slot (0.5 ms at 15 kHz, 2 ms at 3.75 kHz) of each column (one tone:
        // the weighted tone bins; a block: each 4-bin group of the band) must vary only as
        // noise does. Q = sum over cells of the squared deviation from the column's mean over
        // its variance (noise and signal x noise, x 1.5 for overlapping frames and x 1.6 for
        // neighbouring padded bins, plus a 15 % tolerance on the level); on a constant
        // envelope Q ~ chi-square(columns x (slots - 1)), rejected beyond 8 standard
        // deviations. A GSM burst train (0.58 ms in 4.6 ms) or a chirp sweeping the band
        // group by group gives Q in the hundreds. Two slots are left out at each end (one
        // below 8 slots: at low SNR the extent can reach into the noise); extents of fewer
        // than 3 slots inside are not tested.
        // The slot of this spacing (10.1.5: 0.5 ms, 2 ms), seconds.
        let slot_s =
            Spacing::from_hz(self.spacing_hz).map_or(0.5e-3, |s| s.slot_ts() as f64 / 30.72e6);
        {
            let l = ((slot_s * self.fs / self.hop as f64 / per).round() as usize).max(1);
            let n_chunks = (k1 - k0) / l;
            let skip = if n_chunks >= 8 { 2 } else { 1 };
            let fine = weights[GROUPS..].iter().any(|&w| w > 0.0);
            let frames = l as f64 * per;
            // Columns: (weights over the entry, noise mean per frame, noise var per frame).
            let columns: Vec<([f32; EXT_W], f64, f64)> = if fine {
                let w2: f64 = weights.iter().map(|&w| (w as f64).powi(2)).sum();
                vec![(weights, noise_w, w2)]
            } else {
                (g0..=g1)
                    .map(|g| {
                        let mut w = [0.0f32; EXT_W];
                        w[g] = 1.0;
                        (w, GROUP as f64, GROUP as f64)
                    })
                    .collect()
            };
            if n_chunks >= 2 * skip + 3 {
                let nc = n_chunks - 2 * skip;
                let (mut q, mut dof) = (0.0f64, 0.0f64);
                for (w, mu, w2) in &columns {
                    let cells: Vec<f64> = (0..nc)
                        .map(|i| {
                            let a = k0 + (skip + i) * l;
                            c.ext[a..a + l]
                                .iter()
                                .map(|e| e.iter().zip(w).map(|(a, b)| (a * b) as f64).sum::<f64>())
                                .sum()
                        })
                        .collect();
                    let mean = cells.iter().sum::<f64>() / nc as f64;
                    let ratio = (mean / (frames * mu) - 1.0).max(0.0);
                    let excess = (mean - frames * mu).max(0.0);
                    let var = frames * 1.5 * 1.6 * w2 * (1.0 + 2.0 * ratio)
                        + (CONSTANT_TOLERANCE * excess).powi(2);
                    q += cells.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / var;
                    dof += nc as f64 - 1.0;
                }
                if q > dof + 8.0 * (2.0 * dof).sqrt() {
                    self.stats.rejected_not_constant += 1;
                    return None;
                }
            }
        }
        // Power over the run, band bins with leakage margins.
        let mut esum = 0.0f64;
        for e in &c.ext[k0..k1] {
            esum += e[g0..=g1].iter().map(|&v| v as f64).sum::<f64>();
        }
        let run_frames = ((k1 - k0) as f64 * per).max(1.0);
        let excess_per_frame = (esum / run_frames - nbins).max(0.0);
        let r0 = c.r0;
        let floor_mean: f64 = (g0 * GROUP..(g1 + 1) * GROUP)
            .map(|j| self.floor_s[r0 + j] as f64)
            .sum::<f64>()
            / nbins;
        // Sum over padded bins of |X|^2 = PAD N^2 P for power P; the floor per bin is N s2.
        let n = self.n as f64;
        let power = excess_per_frame * floor_mean / (PAD as f64 * n * n);
        let noise_per_sample = floor_mean / n;
        let sp = self.spacing_hz as f64;
        let bw = tones as f64 * sp;
        let snr_db = 10.0
            * (power / (noise_per_sample * bw / self.fs))
                .max(1e-12)
                .log10();
        // Timing: frame k covers samples [start, start + N); frame centres mark the extent.
        let hop = self.hop as u64;
        let f0 = c.first_frame + k0 as u64 * c.per;
        let f1 = c.first_frame + k1 as u64 * c.per;
        let sample_start = self.origin + f0 * hop + hop;
        let sample_end = self.origin + f1.saturating_sub(1) * hop + hop;
        let sample_len = sample_end.saturating_sub(sample_start).max(hop);
        let duration_s = sample_len as f64 / self.fs;
        // Resource-unit lengths of Table 10.1.2.3-1 (`ru_slots`) at this spacing's slot.
        let ru = |format: u8| ru_slots(format, tones).unwrap_or(2) as f64 * slot_s;
        let ru_s = ru(1);
        // No NPUSCH is shorter than one resource unit of its width (one tone: a format-2
        // unit, 4 slots): 1 ms for 12 tones, 2 ms for 6 tones or one 15 kHz tone, 4 ms for 3
        // tones, 8 ms for one 3.75 kHz tone. A quarter is allowed for the extent's error at
        // low SNR. (A single GSM burst, 0.58 ms and 200 kHz wide, is otherwise a fair 12-tone
        // block.)
        let min_s = if tones == 1 { ru(2) } else { ru_s };
        if duration_s < MIN_DURATION_FRACTION * min_s {
            self.stats.rejected_too_short += 1;
            return None;
        }
        // Envelope: band-limited Gaussian noise (a noise burst of the width of a tone or a
        // block) has the Rayleigh envelope of kurtosis 2; NPUSCH is near-constant
        // (`envelope`). Tested inside the extent, one slot in from each end.
        let freq_offset_hz = self.bin_hz(r0 as f64 + centre_bin);
        let half_hz = if tones == 1 {
            sp
        } else {
            (tones as f64 / 2.0 + 1.0) * sp
        };
        let inset = ((slot_s * self.fs) as u64).min(sample_len / 4);
        let envelope = tester.envelope(
            sample_start + inset,
            sample_start + sample_len - inset,
            self.fs,
            freq_offset_hz,
            half_hz,
            noise_per_sample,
            envelope::CHUNK_SLOTS as f64 * slot_s,
            envelope::kappa0(tones),
        );
        match envelope {
            Some(e) if e.noise_like() => {
                self.stats.rejected_noise_like += 1;
                return None;
            }
            Some(_) => {}
            None => self.stats.envelope_untested += 1,
        }
        let rus = (duration_s / ru_s).round().max(1.0) as u64;
        let mut params = Map::new();
        params.insert("tones".into(), Value::from(tones));
        params.insert("spacing_hz".into(), Value::from(self.spacing_hz));
        if tones > 1 {
            params.insert("format".into(), Value::from(1));
        } else if duration_s < 0.75 * ru_s {
            params.insert("format".into(), Value::from(2));
        }
        params.insert("resource_units".into(), Value::from(rus));
        params.insert("repetitions".into(), Value::from(rus));
        params.insert(
            "coherence".into(),
            Value::from((coherence * 1e3).round() / 1e3),
        );
        if let Some(e) = envelope {
            params.insert(
                "kurtosis".into(),
                Value::from((e.kappa * 1e3).round() / 1e3),
            );
        }
        let metric = c.best;
        Some(Detection {
            kind: Kind::Npusch,
            tech: Tech::NbIot,
            sample_start,
            sample_len,
            freq_offset_hz,
            bandwidth_hz: bw,
            power,
            snr_db,
            score: 1.0 - 0.5 * (-(metric - 1.0).max(0.0) * 4.0).exp(),
            metric,
            params,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::impair::{add_awgn, signal_power_for_snr};
    use crate::synth::npusch::NpuschConfig;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    const NOISE: f64 = 1e-3;

    /// A fixed seed per test (derived from its tag), never used while tuning the detector:
    /// the tests are reproducible in CI.
    fn fresh_rng(tag: &str) -> ChaCha8Rng {
        let seed = tag.bytes().fold(0x6e70_7573_6368u64, |h, b| {
            h.wrapping_mul(0x100_0000_01b3) ^ b as u64
        });
        ChaCha8Rng::seed_from_u64(seed)
    }

    fn run(d: &mut NpuschDetector, x: &[Complex32], block: usize) -> Vec<Detection> {
        let mut out = Vec::new();
        for (i, c) in x.chunks(block).enumerate() {
            d.process((i * block) as u64, c, &mut out);
        }
        d.finish(&mut out);
        out
    }

    fn det(fs: f64) -> NpuschDetector {
        NpuschDetector::new(NpuschDetectorConfig {
            sample_rate_hz: fs,
            ..Default::default()
        })
        .expect("valid")
    }

    /// Renders an NPUSCH burst into noise; returns samples, start, length, centre.
    fn scene(
        fs: f64,
        cfg: &NpuschConfig,
        snr_db: f64,
        rng: &mut ChaCha8Rng,
    ) -> (Vec<Complex32>, f64, f64, f64) {
        let b = crate::synth::npusch::generate(cfg, rng).expect("valid");
        let carrier = rng.random_range(-0.4 * fs + 100e3..0.4 * fs - 100e3);
        let cfo = rng.random_range(-5e3..5e3);
        let dur = b.signal.duration_s() * fs;
        let start = 0.04 * fs + rng.random_range(0.0..0.01 * fs);
        let total = (start + dur + 0.03 * fs) as usize;
        let mut x = vec![Complex32::new(0.0, 0.0); total];
        let p = signal_power_for_snr(NOISE, fs, snr_db, 180e3);
        b.signal.render_add(
            &mut x,
            0,
            fs,
            start,
            carrier + cfo,
            Complex64::from_polar(p.sqrt(), rng.random_range(0.0..std::f64::consts::TAU)),
        );
        add_awgn(&mut x, NOISE, rng);
        (x, start, dur, carrier + cfo + b.center_hz)
    }

    #[test]
    fn finds_single_tone() {
        finds(&[(15000, 1, 1), (15000, 1, 2), (3750, 1, 1)], "finds");
    }

    #[test]
    fn finds_multi_tone() {
        finds(
            &[(15000, 3, 1), (15000, 6, 1), (15000, 12, 1)],
            "finds-multi",
        );
    }

    fn finds(cases: &[(u32, u32, u8)], tag: &str) {
        let mut rng = fresh_rng(tag);
        for &fs in &[1.92e6, 15.36e6] {
            for &(sp, tones, format) in cases {
                let nsc = if sp == 3750 { 48 } else { 12 };
                let cfg = NpuschConfig {
                    format,
                    spacing_hz: sp,
                    tones,
                    first_subcarrier: if tones == 1 {
                        rng.random_range(0..nsc)
                    } else {
                        tones * rng.random_range(0..12 / tones)
                    },
                    cell_id: rng.random_range(0..504),
                    repetitions: match (tones, format) {
                        (_, 2) => 4,
                        (1, _) => 1 << rng.random_range(0..2),
                        _ => 1 << rng.random_range(2..4),
                    },
                    ..Default::default()
                };
                let snr = rng.random_range(0.0..10.0);
                let (x, start, len, centre) = scene(fs, &cfg, snr, &mut rng);
                let mut d = det(fs);
                let out = run(&mut d, &x, 10_000);
                let what = format!("{fs} {sp} {tones} fmt {format} {snr:.1} dB: {out:?}");
                assert_eq!(out.len(), 1, "{what} {:?}", d.stats());
                let o = &out[0];
                assert_eq!(o.kind, Kind::Npusch);
                assert_eq!(o.tech, Tech::NbIot);
                assert_eq!(o.params["tones"], tones, "{what}");
                assert_eq!(o.params["spacing_hz"], sp, "{what}");
                assert!((o.sample_start as f64 - start).abs() < 1e-3 * fs, "{what}");
                assert!((o.sample_len as f64 - len).abs() < 2e-3 * fs, "{what}");
                assert!(
                    (o.freq_offset_hz - centre).abs() < 0.5 * sp as f64,
                    "{what}"
                );
                assert!(o.metric >= 1.0 && (0.0..=1.0).contains(&o.score));
            }
        }
    }

    /// Multi-tone blocks at any sub-bin position (the subcarriers fall anywhere relative to
    /// the FFT bins): the soft block edges must not fail the shape test. Fresh seeds, random
    /// carrier, CFO, timing and SNR; one miss in 12 is allowed per width.
    #[test]
    fn multi_tone_blocks_at_any_sub_bin_offset() {
        let mut rng = fresh_rng("multi-sub-bin");
        let fs = 1.92e6;
        for tones in [3u32, 6, 12] {
            let mut ok = 0;
            let mut seen = Vec::new();
            for _ in 0..12 {
                let cfg = NpuschConfig {
                    spacing_hz: 15000,
                    tones,
                    first_subcarrier: tones * rng.random_range(0..12 / tones),
                    cell_id: rng.random_range(0..504),
                    repetitions: 1 << rng.random_range(1..4),
                    ..Default::default()
                };
                let snr = rng.random_range(3.0..15.0);
                let (x, start, _, centre) = scene(fs, &cfg, snr, &mut rng);
                let out = run(&mut det(fs), &x, 10_000);
                let good = out.len() == 1
                    && out[0].params["tones"] == tones
                    && (out[0].sample_start as f64 - start).abs() < 1e-3 * fs
                    && (out[0].freq_offset_hz - centre).abs() < 7.5e3;
                ok += good as usize;
                seen.push(format!(
                    "{snr:.1} dB: {:?}",
                    out.iter().map(|o| &o.params["tones"]).collect::<Vec<_>>()
                ));
            }
            assert!(ok >= 11, "{tones} tones: {ok} of 12 found: {seen:?}");
        }
    }

    /// A default (15 kHz single-tone, format 1, one unit) NPUSCH on a random subcarrier of a
    /// random cell.
    fn random_single_tone(rng: &mut ChaCha8Rng) -> NpuschConfig {
        NpuschConfig {
            first_subcarrier: rng.random_range(0..12),
            cell_id: rng.random_range(0..504),
            ..Default::default()
        }
    }

    #[test]
    fn finds_weak_single_tone_resource_unit() {
        let mut rng = fresh_rng("weak");
        let fs = 1.92e6;
        let mut found = 0;
        for _ in 0..4 {
            let cfg = random_single_tone(&mut rng);
            let (x, start, _, centre) = scene(fs, &cfg, -8.0, &mut rng);
            let out = run(&mut det(fs), &x, 4096);
            println!("{out:?}");
            found += out
                .iter()
                .filter(|o| {
                    // Extent at -8 dB is good to a few ms (maximum-sum run in noise).
                    (o.sample_start as f64 - start).abs() < 5e-3 * fs
                        && (o.freq_offset_hz - centre).abs() < 7.5e3
                })
                .count();
        }
        assert!(found >= 4, "{found} of 4 at -8 dB");
    }

    /// One 15 kHz single-tone resource unit (8 ms) at -9 dB, 1 dB above the 99 % point of
    /// the statistic: found with its start within 1 ms (an eighth of the unit) and its
    /// centre within half a subcarrier. Before the extent was measured on the tone's own bins
    /// and the candidate back-filled over the long window, half of them started 1 - 5 ms
    /// off (the run found was a noise-cut part of the unit).
    #[test]
    fn weak_single_tone_is_placed_within_a_millisecond() {
        let mut rng = fresh_rng("weak-placed");
        let fs = 1.92e6;
        let trials = 24;
        let mut placed = 0;
        for _ in 0..trials {
            let cfg = random_single_tone(&mut rng);
            let (x, start, _, centre) = scene(fs, &cfg, -9.0, &mut rng);
            let out = run(&mut det(fs), &x, 8192);
            placed += out
                .iter()
                .filter(|o| {
                    (o.sample_start as f64 - start).abs() <= 1e-3 * fs
                        && (o.freq_offset_hz - centre).abs() < 7.5e3
                        && o.params["tones"] == 1
                        && o.params["spacing_hz"] == 15000
                })
                .count();
        }
        // Measured 0.88 - 0.9 on other seeds (0.45 - 0.5 before).
        assert!(placed >= 18, "{placed} of {trials} placed at -9 dB");
    }

    /// Renders `sig` (time 0 at 20 ms) into 60 ms of noise plus its duration, at `fs`.
    fn interferer_scene(
        fs: f64,
        sig: &dyn crate::signal::Render,
        power: f64,
        freq_hz: f64,
        rng: &mut ChaCha8Rng,
    ) -> Vec<Complex32> {
        let total = ((0.06 + sig.duration_s()) * fs) as usize;
        let mut x = vec![Complex32::new(0.0, 0.0); total];
        sig.render_add(
            &mut x,
            0,
            fs,
            0.02 * fs,
            freq_hz,
            Complex64::from_polar(power.sqrt(), 0.3),
        );
        add_awgn(&mut x, NOISE, rng);
        x
    }

    #[test]
    fn noise_cw_chirps_and_other_uplink_kinds_are_not_npusch() {
        rejects(false);
    }

    /// Noise bursts 50 kHz - 1 MHz wide (a wideband one used to pass as a 12-tone NPUSCH:
    /// a flat stretch of it "had" empty edges within the noise allowance).
    #[test]
    fn noise_bursts_are_not_npusch() {
        rejects(true);
    }

    fn rejects(noise_bursts: bool) {
        use crate::synth::interferer::{ChirpConfig, CwConfig, NoiseBurstConfig};
        use crate::synth::nprach::NprachConfig;
        use crate::synth::prach::PrachConfig;
        use crate::synth::pusch::PuschConfig;
        let mut rng = fresh_rng("reject");
        for &fs in &[1.92e6, 15.36e6] {
            let f = |rng: &mut ChaCha8Rng| rng.random_range(-0.3 * fs..0.3 * fs);
            let mut cases: Vec<(String, Box<dyn crate::signal::Render>, f64)> = Vec::new();
            for &d in &[0.01, 0.2] {
                let cw = CwConfig { duration_s: d }.generate().expect("cw");
                cases.push((format!("cw {d}"), cw.signal, 0.0));
            }
            for &(bw, sf) in &[(125e3, 7), (125e3, 9), (250e3, 8)] {
                let c = ChirpConfig {
                    bandwidth_hz: bw,
                    spreading_factor: sf,
                    n_symbols: 10,
                }
                .generate()
                .expect("chirp");
                cases.push((format!("chirp {bw} sf{sf}"), c.signal, 0.0));
            }
            let bursts: &[(f64, f64)] = if noise_bursts {
                &[(1e6, 2e-3), (50e3, 10e-3), (200e3, 5e-3)]
            } else {
                &[]
            };
            for &(bw, d) in bursts {
                let b = NoiseBurstConfig {
                    bandwidth_hz: bw.min(0.9 * fs),
                    duration_s: d,
                }
                .generate(&mut rng)
                .expect("noise burst");
                cases.push((format!("noise {bw} {d}"), b.signal, 0.0));
            }
            for &(format, reps) in &[(0, 4), (1, 8)] {
                let b = NprachConfig {
                    format,
                    repetitions: reps,
                    n_init: rng.random_range(0..12),
                    cell_id: rng.random_range(0..504),
                    ..Default::default()
                }
                .generate()
                .expect("nprach");
                cases.push((
                    format!("nprach {format} x{reps}"),
                    Box::new(b.signal),
                    b.center_hz,
                ));
            }
            for &n_prb in &[2, 3, 6] {
                let b = crate::synth::pusch::generate(
                    &PuschConfig {
                        n_prb,
                        n_subframes: 4,
                        bandwidth_mhz: 1.4,
                        first_prb: 0,
                        ..Default::default()
                    },
                    &mut rng,
                )
                .expect("pusch");
                cases.push((format!("pusch {n_prb}"), Box::new(b.signal), b.center_hz));
            }
            let b = PrachConfig {
                bandwidth_mhz: 1.4,
                prach_freq_offset: 0,
                ..Default::default()
            }
            .generate()
            .expect("prach");
            cases.push(("prach".into(), Box::new(b.signal), b.center_hz));
            // Bursty plain tone: 5 ms on, 5 ms off, 8 times.
            let pulses = crate::signal::Burst {
                segments: (0..8)
                    .map(|i| crate::signal::Segment {
                        start_s: i as f64 * 0.01,
                        len_s: 0.005,
                        t_ref_s: 0.0,
                        tones: vec![crate::signal::Tone {
                            freq_hz: 0.0,
                            coeff: Complex64::new(1.0, 0.0),
                        }],
                    })
                    .collect(),
            };
            cases.push(("pulsed tone".into(), Box::new(pulses), 0.0));
            for (name, sig, centre) in &cases {
                // SNR 0 .. 25 dB in 180 kHz (higher for wideband ones is the same per Hz).
                let snr = rng.random_range(0.0..25.0);
                let p = signal_power_for_snr(NOISE, fs, snr, 180e3);
                let fc = f(&mut rng) - centre;
                let x = interferer_scene(fs, sig.as_ref(), p, fc, &mut rng);
                let out = run(&mut det(fs), &x, 8192);
                assert!(out.is_empty(), "{fs} {name} at {snr:.1} dB: {out:?}");
            }
            // Noise alone, 1 s.
            let mut x = vec![Complex32::new(0.0, 0.0); fs as usize];
            add_awgn(&mut x, NOISE, &mut rng);
            let out = run(&mut det(fs), &x, 8192);
            assert!(out.is_empty(), "{fs} noise: {out:?}");
        }
    }

    /// Known limitation (experimental detector): GSM handset burst trains (45.002: 0.58 ms
    /// GMSK bursts, 200 kHz wide, one per 4.615 ms frame for a call, four for multislot
    /// GPRS) can still be taken for 12-tone NPUSCH. The constant-envelope and shortest-unit
    /// tests removed every report of 40-burst calls at 20 dB (`scan --detectors npusch`: 16
    /// reports in 6 recordings before, 0 after; `docs/DETECTION.md`), but a 2.3 ms multislot
    /// burst at 5 - 12 dB has the width, the flatness within noise and the constant envelope
    /// of a 2-unit 12-tone NPUSCH. Only the DMRS test (10.1.4; the experimental PUSCH
    /// detector rejects GSM that way) would tell them apart.
    #[test]
    #[ignore = "known limitation: GSM bursts can pass as 12-tone NPUSCH"]
    fn gsm_burst_trains_are_not_npusch() {
        gsm_trains(&[1, 4], &[5.0, 12.0, 20.0, 30.0], "gsm");
    }

    /// Renders `sig` at `snr` (in 180 kHz) anywhere within +-0.3 fs and asserts that the
    /// detector reports nothing.
    fn assert_not_npusch(
        fs: f64,
        sig: &dyn crate::signal::Render,
        snr: f64,
        rng: &mut ChaCha8Rng,
        what: &str,
    ) {
        let p = signal_power_for_snr(NOISE, fs, snr, 180e3);
        let fc = rng.random_range(-0.3 * fs..0.3 * fs);
        let x = interferer_scene(fs, sig, p, fc, rng);
        let out = run(&mut det(fs), &x, 8192);
        assert!(out.is_empty(), "{what}: {out:?}");
    }

    fn gsm_trains(slot_counts: &[u32], snrs: &[f64], tag: &str) {
        let mut rng = fresh_rng(tag);
        for &fs in &[1.92e6, 7.68e6] {
            for &slots in slot_counts {
                for &snr in snrs {
                    let g = crate::synth::interferer::GsmConfig {
                        n_frames: 12,
                        slots_per_frame: slots,
                        training_sequence: Some(rng.random_range(0..8)),
                        ..Default::default()
                    }
                    .generate(&mut rng)
                    .expect("gsm");
                    let what = format!("{fs} gsm x{slots} at {snr} dB");
                    assert_not_npusch(fs, g.signal.as_ref(), snr, &mut rng, &what);
                }
            }
        }
    }

    /// A LoRa-like chirp that sweeps a 6-tone band within one extent (a draw of the interferer
    /// test above that an earlier version of that test never made): its groups light up one
    /// after the other, which the constant-envelope test rejects (before it, it was reported
    /// as 6-tone NPUSCH at 20 dB).
    #[test]
    fn chirp_sweeping_a_block_is_not_npusch() {
        use crate::synth::interferer::ChirpConfig;
        let mut rng = fresh_rng("chirp-block");
        for &(sf, snr) in &[(9u32, 20.0), (9, 25.0), (8, 20.0)] {
            for _ in 0..3 {
                let fs = 1.92e6;
                let c = ChirpConfig {
                    bandwidth_hz: 125e3,
                    spreading_factor: sf,
                    n_symbols: 10,
                }
                .generate()
                .expect("chirp");
                let what = format!("chirp sf{sf} at {snr} dB");
                assert_not_npusch(fs, c.signal.as_ref(), snr, &mut rng, &what);
            }
        }
    }

    /// Band-limited Gaussian noise bursts of the widths of a tone, of 3 - 12 tones and wider,
    /// 4 - 30 ms long, at 10 - 25 dB in their own band (fresh draws of width, length, place
    /// and SNR), are never NPUSCH: the envelope test of `envelope` (kurtosis 2 against an
    /// NPUSCH's near-constant envelope) and the block's standing out of its margins.
    #[test]
    fn noise_bursts_of_tone_and_block_widths_are_not_npusch() {
        noise_bursts_of_widths(10.0, 25.0, "noise-widths");
    }

    /// Known limitation: weaker bursts (0 - 10 dB in their band) leave too little evidence
    /// in a few milliseconds for the envelope test, which then abstains (or errs: in another
    /// draw a 40 kHz burst of 8 ms at 8.7 dB measured kurtosis 1.81 against 1.68 expected
    /// of a 3-tone NPUSCH); 7 of these 32 draws were reported when this was written, all
    /// below 4 dB in their band.
    #[test]
    #[ignore = "known limitation: weak narrow noise bursts can pass as single tones"]
    fn weak_noise_bursts_are_not_npusch() {
        noise_bursts_of_widths(0.0, 10.0, "weak-noise-widths");
    }

    fn noise_bursts_of_widths(snr_min: f64, snr_max: f64, tag: &str) {
        use crate::synth::interferer::NoiseBurstConfig;
        let mut rng = fresh_rng(tag);
        let mut reported = Vec::new();
        for &fs in &[1.92e6, 7.68e6] {
            for &bw in &[12e3, 20e3, 40e3, 60e3, 100e3, 180e3, 220e3, 400e3] {
                for _ in 0..2 {
                    let d = rng.random_range(4e-3..30e-3);
                    let snr = rng.random_range(snr_min..snr_max);
                    let b = NoiseBurstConfig {
                        bandwidth_hz: bw,
                        duration_s: d,
                    }
                    .generate(&mut rng)
                    .expect("noise burst");
                    let p = NOISE * bw / fs * 10f64.powf(snr / 10.0);
                    let f = rng.random_range(-0.3 * fs..0.3 * fs);
                    let x = interferer_scene(fs, b.signal.as_ref(), p, f, &mut rng);
                    let out = run(&mut det(fs), &x, 8192);
                    if !out.is_empty() {
                        reported.push(format!("{fs} {bw} Hz {d:.4} s {snr:.1} dB: {out:?}"));
                    }
                }
            }
        }
        assert!(reported.is_empty(), "{}", reported.join("\n"));
    }

    /// A band-limited Gaussian noise burst 20 kHz wide has the width and the lag-N
    /// incoherence of a 15 kHz single-tone NPUSCH; its Rayleigh envelope (kurtosis 2) tells
    /// it apart (`envelope`; it passed before that test).
    #[test]
    fn narrow_noise_burst_is_not_npusch() {
        use crate::synth::interferer::NoiseBurstConfig;
        let mut rng = fresh_rng("narrow-noise");
        let fs = 1.92e6;
        let b = NoiseBurstConfig {
            bandwidth_hz: 20e3,
            duration_s: 20e-3,
        }
        .generate(&mut rng)
        .expect("noise burst");
        let p = signal_power_for_snr(NOISE, fs, 5.0, 180e3);
        let x = interferer_scene(fs, b.signal.as_ref(), p, 100e3, &mut rng);
        let out = run(&mut det(fs), &x, 8192);
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn same_result_for_any_block_size() {
        let mut rng = fresh_rng("blocks");
        for &fs in &[1.92e6, 15.36e6] {
            let cfg = NpuschConfig {
                first_subcarrier: rng.random_range(0..12),
                repetitions: 2,
                ..Default::default()
            };
            let (x, _, _, _) = scene(fs, &cfg, 3.0, &mut rng);
            let a = run(&mut det(fs), &x, x.len());
            assert_eq!(a.len(), 1, "{a:?}");
            for &block in &[1000, 4096, 77_777] {
                let b = run(&mut det(fs), &x, block);
                assert_eq!(a, b, "block {block}");
            }
        }
    }

    #[test]
    fn gap_drops_partial_state() {
        let mut rng = fresh_rng("gap");
        let fs = 1.92e6;
        let cfg = NpuschConfig {
            first_subcarrier: rng.random_range(0..12),
            repetitions: 4,
            ..Default::default()
        };
        let (x, start, len, _) = scene(fs, &cfg, 5.0, &mut rng);
        let cut = (start + 0.5 * len) as usize;
        let mut d = det(fs);
        let mut out = Vec::new();
        d.process(0, &x[..cut], &mut out);
        // The rest arrives 10 s later: the half-burst after the gap falls in the warm-up or
        // is reported alone; nothing spans the gap.
        let jump = (10.0 * fs) as u64;
        d.process(jump + cut as u64, &x[cut..], &mut out);
        // Then the whole scene again, after another gap.
        let again = 2 * jump;
        d.process(again, &x, &mut out);
        d.finish(&mut out);
        assert_eq!(d.stats().gaps, 2);
        for o in &out {
            assert!(
                o.sample_end() <= cut as u64 || o.sample_start >= jump + cut as u64,
                "spans the gap: {o:?}"
            );
        }
        let later: Vec<_> = out.iter().filter(|o| o.sample_start >= again).collect();
        assert_eq!(later.len(), 1, "{out:?}");
        assert!(
            (later[0].sample_start as f64 - (again as f64 + start)).abs() < 1e-3 * fs,
            "{start} {out:?}"
        );
    }

    #[test]
    fn config_validation() {
        let ok = NpuschDetectorConfig::default();
        assert!(ok.validate().is_ok());
        let bad = |f: &dyn Fn(&mut NpuschDetectorConfig)| {
            let mut c = ok.clone();
            f(&mut c);
            NpuschDetector::new(c).expect_err("must fail")
        };
        assert_eq!(
            bad(&|c| c.sample_rate_hz = 20e6),
            NpuschConfigError::SampleRate(20e6)
        );
        assert_eq!(
            bad(&|c| c.spacings_hz = vec![7500]),
            NpuschConfigError::Spacing(7500)
        );
        assert_eq!(
            bad(&|c| c.spacings_hz.clear()),
            NpuschConfigError::NoSpacings
        );
        assert!(matches!(
            bad(&|c| c.false_alarms_per_hour = f64::NAN),
            NpuschConfigError::FalseAlarmRate(_)
        ));
        assert_eq!(
            bad(&|c| c.false_alarms_per_hour = 0.0),
            NpuschConfigError::FalseAlarmRate(0.0)
        );
        assert_eq!(
            bad(&|c| c.noise_time_constant_s = 0.001),
            NpuschConfigError::NoiseTime(0.001)
        );
        assert_eq!(bad(&|c| c.warmup_s = 2.0), NpuschConfigError::Warmup(2.0));
        let msg = NpuschConfigError::Spacing(7500).to_string();
        assert!(msg.contains("7500") && !msg.contains('{'), "{msg}");
    }

    #[test]
    fn gamma_tail_matches_erlang_and_moments_match_simulation() {
        // Integer shape: the Erlang tail of the parent module.
        for &(k, p) in &[(4u32, 1e-3), (40, 1e-9), (200, 1e-12)] {
            let a = gamma_threshold(k as f64, 1.0, p);
            let b = super::super::erlang_threshold(k, 1.0, p);
            assert!((a - b).abs() < 1e-6 * b, "{k}: {a} vs {b}");
        }
        // Window-sum moments against white noise through the same STFT.
        let n = 16;
        let (frames, w) = (10, 3);
        let (mean, var) = window_sum_moments(n, frames, w);
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut stft = Stft::new(StftConfig {
            window_len: n,
            fft_len: PAD * n,
            hop: n / 2,
            window: Window::Rectangular,
            phase_reference: PhaseReference::Stream,
        })
        .expect("stft");
        let mut x = vec![Complex32::new(0.0, 0.0); 400_000];
        add_awgn(&mut x, 1.0, &mut rng);
        let mut e: Vec<f64> = Vec::new();
        stft.process(0, &x, |f| {
            e.push(
                (0..w)
                    .map(|b| f.spectrum[5 + b].norm_sqr() as f64 / n as f64)
                    .sum(),
            )
        });
        let sums: Vec<f64> = e
            .windows(frames)
            .step_by(frames)
            .map(|s| s.iter().sum())
            .collect();
        let m = sums.iter().sum::<f64>() / sums.len() as f64;
        let v = sums.iter().map(|s| (s - m).powi(2)).sum::<f64>() / sums.len() as f64;
        assert!((m - mean).abs() < 0.02 * mean, "{m} vs {mean}");
        assert!((v - var).abs() < 0.06 * var, "{v} vs {var}");
    }
}
