//! Blind detector of LTE / LTE-M PUSCH (SC-FDMA uplink with DMRS), TS 36.211 clauses 5.3 -
//! 5.6, over the whole input band.
//!
//! # Waveform
//! A PUSCH subframe is two 0.5 ms slots of 7 SC-FDMA symbols (normal CP: CP 160 Ts for
//! l = 0, 144 Ts otherwise, symbol 2048 Ts; Table 5.6-1) on `M = 12 n_prb` contiguous
//! subcarriers of a 15 kHz grid shifted by half a subcarrier (5.6). Symbol l = 3 of every
//! slot carries the DMRS (5.5.2.1): `r(n) = e^{j alpha n} rbar_{u,v}(n)`, `alpha = 2 pi n_cs /
//! 12`, with `rbar` from the phi tables (5.5.1.2, 1 and 2 PRB) or a cyclically extended
//! Zadoff-Chu sequence (5.5.1.1, 3 PRB and more); `u` in 0..29 (changes every slot with group
//! hopping, 5.5.1.3), `v` in 0..1 (only from 6 PRB, 5.5.1.4).
//!
//! Nothing of the cell is known: the carrier position (and so where the PRB grid and its
//! half-subcarrier shift fall: an LO error of tens of kHz), the allocation, the timing, the
//! groups, the cyclic shifts.
//!
//! # Detection
//! ```text
//!  x --> stage 1: N-point FFTs every N (N = 2048 Ts), blocks of 4 frames (4N)
//!        |   per-bin power / noise floor (lower quartile), sums over 12 and 72 bins
//!        |   gate: Erlang tail, passes a fraction `gate_pass_fraction` of noise blocks
//!        v
//!        acquisition (per gated band segment): FFT frames every N/4 over one slot before
//!        |   to one slot after the block, 2 sub-bin variants (0, 1/2 bin)
//!        |   allocation hypotheses (n_prb, first bin) from the energy profile
//!        |   per frame: S = max over (u, v, n_cs) of the DMRS correlation (FFT over the
//!        |   allocation after removing rbar_{u,v}: the cyclic shift is a tone)
//!        |   Z = S(t) + S(t + 1 slot) > threshold (false-alarm rate)   -> track
//!        v
//!        tracking: slot by slot at the found timing (backwards, then forwards),
//!        |   S > per-slot threshold; after two misses, a whole-band search for the same
//!        |   n_prb at the same timing (narrowband hopping); data identity between slot k
//!        |   and k + 2 (repetitions)
//!        v
//!        one Detection per transmission (kind pusch, tech lte-m / lte)
//! ```
//!
//! * **Statistic.** For an allocation of `M` subcarriers starting at FFT bin `b` of a frame
//!   `Y`, and a base sequence `rbar`, `g(k) = Y(b + k) conj(rbar(k))` is, on the DMRS symbol,
//!   `A e^{j 2 pi k (n_cs / 12 + d / N)}` (`d` the window's offset into the CP): its
//!   zero-padded FFT peaks at the cyclic shift. `T = max_f |G(f)|^2 / (M sigma^2)` with
//!   `sigma^2` the per-bin noise power; on noise `T` at one `f` is Exp(1); the maximum over
//!   the continuous shift is counted by Rice's formula as `M (1 + sqrt(pi t / 3))` tests
//!   (approximation, as in [`super::prach`]), over 30 or 60 sequences. The tail of the sum
//!   of two slots is integrated numerically at construction.
//! * **Threshold.** The number of acquisition tests per hour is the noise gate rate
//!   (blocks per hour x `gate_pass_fraction` x segments per block) times the hypotheses per
//!   acquisition (frames x variants x allocation hypotheses, capped): the union bound over
//!   them equals `false_alarms_per_hour`.
//! * **Half-subcarrier shift.** Blind, the 7.5 kHz shift cannot be told from an LO error: the
//!   detector estimates the whole carrier offset (sub-bin variant plus residual) and reports
//!   the occupied band. What separates an LTE downlink (no shift, DC null) is the DMRS: the
//!   downlink has none in symbol 3 of a slot.
//! * **first_prb** is reported as the index of the first allocated PRB on a PRB grid whose
//!   PRB 0 starts at the lowest FFT bin (-fs/2), i.e. `floor((first bin) / 12)`; the absolute
//!   position is `freq_offset_hz`. The exact first bin is `first_bin`.
//!
//! # Classification (`params.class_reason`)
//! * more than 6 PRB: `tech = lte` (`wide_allocation`: LTE-M is confined to 6 PRB, 5.2.4);
//! * <= 6 PRB hopping by a multiple of 6 PRB: `lte-m` (`narrowband_hopping`);
//! * <= 6 PRB whose data repeats identically in consecutive subframes: `lte-m`
//!   (`identical_repetitions`);
//! * otherwise (a single or distinct subframes of <= 6 PRB): `lte` (`narrow_not_repeated`),
//!   our best rule: a phone's small grant and an LTE-M module without coverage
//!   enhancement look the same; both are reported as PUSCH.
//!
//! NPUSCH with 12 tones at 15 kHz (36.211 10.1.4.1.2 uses the `M = 12` table of 5.5.1.2)
//! has the same physical structure as a 1-PRB PUSCH and is reported as PUSCH.

use super::{bisect_decreasing, erlang_threshold, lte_rate_multiple, Detection};
use crate::sequences::base_sequence;
use crate::synth::pusch::is_235_smooth;
use crate::synth::{Kind, Tech};
use num_complex::Complex32;
use rustfft::{Fft, FftPlanner};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::f64::consts::PI;
use std::sync::Arc;

/// Stage-1 frames per block (hop N, independent on white noise): a block is 4N (0.267 ms).
const B1: usize = 4;
/// Gate window widths, bins (1 and 6 PRB).
const GATE_WIDTHS: [usize; 2] = [12, 72];
/// Largest number of band segments acquired per block.
const MAX_SEGMENTS: usize = 4;
/// Largest number of allocation hypotheses per acquisition.
const MAX_HYP: usize = 40;
/// Hypothesis positions either side of the energy-best position.
const POS_SPREAD: i64 = 2;
/// Slot length, Ts.
const SLOT_TS: usize = 15360;
/// Start of the DMRS frame in a slot, Ts: symbol 3 starts (CP) at 160 + 2048 + 2 x 2192 =
/// 6592 Ts, its body at 6736; the frame starts in the middle of its CP.
const DMRS_FRAME_TS: usize = 6664;
/// Data symbols' frame starts in a slot (middle of each CP), Ts (l = 0, 1, 2, 4, 5, 6).
const DATA_FRAME_TS: [usize; 6] = [80, 2280, 4472, 8856, 11048, 13240];
/// Rice factor constant: derivative variance of the rectangular-window DFT, `pi^2 / 3`.
const RICE: f64 = PI / 3.0;

/// Configuration of the PUSCH detector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PuschDetectorConfig {
    /// Input sample rate, `m x 1.92 MS/s` with m in 1..=16.
    pub sample_rate_hz: f64,
    /// Requested false-alarm rate on white noise, detections per hour of input.
    pub false_alarms_per_hour: f64,
    /// Largest allocation searched, PRB (1..=110; also limited by the band).
    pub max_prb: u32,
    /// Fraction of noise-only stage-1 blocks the energy gate lets through (0 < f < 1): a cost
    /// trade-off; the false-alarm rate is set by the DMRS test.
    pub gate_pass_fraction: f64,
    /// Probability that a noise-only slot continues a track (per slot), 0 < p < 0.1.
    pub track_false_slot: f64,
    /// Sub-bin frequency variants of every acquisition frame: 2 (0, 1/2 bin) or 4 (quarter
    /// bins; worst offset 1/8 bin, inter-carrier interference about -13 dB).
    pub sub_bin_variants: u32,
}

impl Default for PuschDetectorConfig {
    /// 1.92 MS/s, one false alarm per hour, up to 100 PRB, gate 1e-4, track 1e-3.
    fn default() -> Self {
        PuschDetectorConfig {
            sample_rate_hz: 1.92e6,
            false_alarms_per_hour: 1.0,
            max_prb: 100,
            gate_pass_fraction: 1e-4,
            track_false_slot: 1e-3,
            sub_bin_variants: 4,
        }
    }
}

/// A configuration value the PUSCH detector does not accept.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PuschDetectorError {
    /// The sample rate is not an LTE rate.
    #[error("pusch detector: sample_rate_hz = {0} is not m x 1.92 MS/s with m in 1..=16")]
    SampleRate(f64),
    /// Another parameter outside its range.
    #[error("pusch detector: {param} = {value} is not allowed ({allowed})")]
    Param {
        /// Parameter name.
        param: &'static str,
        /// The value given.
        value: String,
        /// What is allowed.
        allowed: &'static str,
    },
}

fn perr(param: &'static str, value: impl ToString, allowed: &'static str) -> PuschDetectorError {
    PuschDetectorError::Param {
        param,
        value: value.to_string(),
        allowed,
    }
}

impl PuschDetectorConfig {
    /// Checks every parameter.
    pub fn validate(&self) -> Result<(), PuschDetectorError> {
        if lte_rate_multiple(self.sample_rate_hz).is_none() {
            return Err(PuschDetectorError::SampleRate(self.sample_rate_hz));
        }
        if !(self.false_alarms_per_hour.is_finite() && self.false_alarms_per_hour > 0.0) {
            return Err(perr(
                "false_alarms_per_hour",
                self.false_alarms_per_hour,
                "finite, > 0",
            ));
        }
        if !(1..=110).contains(&self.max_prb) {
            return Err(perr("max_prb", self.max_prb, "1..=110"));
        }
        if !(self.gate_pass_fraction > 0.0 && self.gate_pass_fraction < 1.0) {
            return Err(perr(
                "gate_pass_fraction",
                self.gate_pass_fraction,
                "0 < f < 1",
            ));
        }
        if !(self.track_false_slot > 0.0 && self.track_false_slot < 0.1) {
            return Err(perr(
                "track_false_slot",
                self.track_false_slot,
                "0 < p < 0.1",
            ));
        }
        if ![2, 4].contains(&self.sub_bin_variants) {
            return Err(perr("sub_bin_variants", self.sub_bin_variants, "2 or 4"));
        }
        Ok(())
    }
}

/// Work done and why candidates were turned down.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PuschStats {
    /// Input samples consumed.
    pub samples: u64,
    /// Stage-1 blocks processed.
    pub blocks: u64,
    /// Band segments that passed the energy gate.
    pub gated_segments: u64,
    /// Gated segments skipped because a track already covers them.
    pub covered_segments: u64,
    /// Acquisitions run (DMRS searches).
    pub acquisitions: u64,
    /// Acquisitions whose best two-slot statistic stayed below the threshold.
    pub rejected_threshold: u64,
    /// Acquisitions that could not run (history too short after a gap or at the start).
    pub rejected_history: u64,
    /// Tracks started.
    pub tracks: u64,
    /// Narrowband hops followed.
    pub hops: u64,
    /// Detections reported.
    pub detections: u64,
    /// Discontinuities of the input stamps.
    pub gaps: u64,
}

/// Base sequences of one allocation size.
struct SizeTab {
    n_prb: usize,
    m: usize,
    /// FFT length of the cyclic-shift search (power of two, >= 2M).
    f: usize,
    /// Number of sequences (30 or 60).
    ns: usize,
    /// `conj(rbar_{u,v}(k))`, sequence `s = u + 30 v`, rows of `m`.
    conj_seq: Vec<Complex32>,
    fft: Arc<dyn Fft<f32>>,
    /// Thresholds: acquisition (two slots), per slot (tracking), hop search (two slots).
    thr_acq: f64,
    thr_slot: f64,
    thr_hop: f64,
}

/// One allocation hypothesis.
#[derive(Debug, Clone, Copy)]
struct Hyp {
    size: usize,
    bin: usize,
}

/// Result of a DMRS test on one frame.
#[derive(Debug, Clone, Copy, Default)]
struct SlotHit {
    t: f64,
    /// T against the floor alone (what the power is estimated from: `t` may be normalised
    /// by, or mapped for, a residual that a strong burst's own leakage lifts).
    t_floor: f64,
    seq: usize,
    shift: f64,
}

/// An open transmission.
#[derive(Debug, Clone)]
struct Track {
    size: usize,
    var: usize,
    floor: f64,
    /// DMRS frame start of slot index 0 (absolute sample).
    t0: i64,
    first_slot: i64,
    last_slot: i64,
    next_slot: i64,
    misses: u32,
    /// (slot index, first bin) per position change.
    positions: Vec<(i64, usize)>,
    first_hit: SlotHit,
    best_z: f64,
    /// Sum of `SlotHit::t_floor` over the slots found.
    sum_tf: f64,
    n_hit: u32,
    /// Identity tests between slot k and k + 2: (tested, identical).
    ident: (u32, u32),
    /// Last slots' bins for identity (slot index, bin).
    rho_sum: f64,
}

/// Streaming blind PUSCH detector (see the module documentation).
pub struct PuschDetector {
    cfg: PuschDetectorConfig,
    m: usize,
    n: usize,
    slot: usize,
    dmrs_off: usize,
    fft_n: Arc<dyn Fft<f32>>,
    scratch: Vec<Complex32>,
    ramps: Vec<Complex32>,
    sizes: Vec<SizeTab>,
    gate_thr: [f64; 2],
    q25: f64,
    /// Acquisition frame hop and count.
    acq_hop: usize,
    acq_frames: usize,

    hist: Vec<Complex32>,
    hist_start: u64,
    hist_cap: usize,
    started: bool,
    next_in: u64,
    next_block: u64,
    floor: f64,
    floor_init: bool,

    // Buffers.
    frame: Vec<Complex32>,
    pow: Vec<f64>,
    cum: Vec<f64>,
    acq: Vec<Complex32>,
    prof: Vec<f64>,
    gbuf: Vec<Complex32>,
    sbuf: Vec<f64>,
    hyps: Vec<Hyp>,
    segs: Vec<(usize, usize)>,
    tracks: Vec<Track>,
    closed: Vec<(i64, i64, usize, usize)>,
    yb: Vec<Complex32>,
    stats: PuschStats,
}

impl std::fmt::Debug for PuschDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PuschDetector")
            .field("cfg", &self.cfg)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// Tail of one slot's statistic on noise: `min(1, ns M (1 + sqrt(pi t / 3)) e^{-t})`.
fn slot_tail(t: f64, m: usize, ns: usize) -> f64 {
    if t <= 0.0 {
        return 1.0;
    }
    ((ns * m) as f64 * (1.0 + (RICE * t).sqrt()) * (-t).exp()).min(1.0)
}

/// Tail of the sum of two independent slot statistics, `P(S0 + S1 > z)`, by numerical
/// integration of the slot tail (grid 0.02).
fn pair_tail(z: f64, m: usize, ns: usize) -> f64 {
    let ds = 0.02;
    let steps = (z / ds).ceil() as usize;
    // P(S0 + S1 > z) = P(S1 > z) + int_0^z f0(s) P(S1 > z - s) ds.
    let mut p = slot_tail(z, m, ns);
    let mut prev = 1.0;
    for i in 1..=steps {
        let s = (i as f64 * ds).min(z);
        let cur = slot_tail(s, m, ns);
        let mass = prev - cur;
        if mass > 0.0 {
            p += mass * slot_tail(z - (s - 0.5 * ds), m, ns);
        }
        prev = cur;
    }
    p.min(1.0)
}

/// The `q`-quantile of the sum of `dof` unit-mean exponential variables (Erlang), by
/// bisection on its tail `e^{-t} sum_{k<dof} t^k / k!`.
fn erlang_quantile(dof: u32, q: f64) -> f64 {
    let tail = |t: f64| {
        let (mut term, mut sum) = (1.0f64, 1.0f64);
        for k in 1..dof {
            term *= t / k as f64;
            sum += term;
        }
        (-t).exp() * sum
    };
    let (mut lo, mut hi) = (0.0f64, 10.0 * dof as f64 + 10.0);
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if tail(mid) > 1.0 - q {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Solves `tests x tail(t) = p` by bisection (tail decreasing).
fn solve(tests: f64, p: f64, tail: impl Fn(f64) -> f64) -> f64 {
    bisect_decreasing(0.0, 400.0, 60, |t| tests * tail(t) > p)
}

impl PuschDetector {
    /// Builds the detector: plans, sequence tables, thresholds, buffers.
    pub fn new(cfg: PuschDetectorConfig) -> Result<Self, PuschDetectorError> {
        cfg.validate()?;
        let m = lte_rate_multiple(cfg.sample_rate_hz)
            .ok_or(PuschDetectorError::SampleRate(cfg.sample_rate_hz))? as usize;
        let n = 128 * m;
        let slot = SLOT_TS * m / 16;
        let dmrs_off = DMRS_FRAME_TS * m / 16;
        let mut planner = FftPlanner::<f32>::new();
        let fft_n = planner.plan_fft_forward(n);
        let acq_hop = n / 4;
        // Frames from one slot + N before the block to one slot after its end.
        let acq_frames = (2 * slot + 4 * n + n) / acq_hop + 1;

        // Rates for the thresholds.
        let blocks_per_hour = 3600.0 * cfg.sample_rate_hz / (B1 * n) as f64;
        let acq_per_hour = blocks_per_hour * cfg.gate_pass_fraction * MAX_SEGMENTS as f64;
        let acq_tests =
            acq_per_hour * (acq_frames * cfg.sub_bin_variants as usize * MAX_HYP) as f64;
        let max_prb = (cfg.max_prb as usize).min(n / 12);
        let mut sizes = Vec::new();
        let mut scratch_len = fft_n.get_inplace_scratch_len();
        for n_prb in 1..=max_prb {
            if !is_235_smooth(n_prb as u32) {
                continue;
            }
            let msc = 12 * n_prb;
            let ns = if n_prb >= 6 { 60 } else { 30 };
            let mut conj_seq = Vec::with_capacity(ns * msc);
            for s in 0..ns {
                let r = base_sequence((s % 30) as u32, (s / 30) as u32, msc);
                conj_seq.extend(r.iter().map(|c| Complex32::new(c.re as f32, -c.im as f32)));
            }
            let f = (2 * msc).next_power_of_two();
            let fft = planner.plan_fft_forward(f);
            scratch_len = scratch_len.max(fft.get_inplace_scratch_len());
            let thr_acq = solve(acq_tests, cfg.false_alarms_per_hour, |z| {
                pair_tail(z, msc, ns)
            });
            let thr_slot = solve(1.0, cfg.track_false_slot, |t| slot_tail(t, msc, ns));
            let thr_hop = solve(n as f64, cfg.track_false_slot, |z| pair_tail(z, msc, ns));
            sizes.push(SizeTab {
                n_prb,
                m: msc,
                f,
                ns,
                conj_seq,
                fft,
                thr_acq,
                thr_slot,
                thr_hop,
            });
        }
        let nv = cfg.sub_bin_variants as usize;
        let mut ramps = Vec::with_capacity(nv * n);
        for var in 0..nv {
            for i in 0..n {
                let ph = -2.0 * PI * (var as f64 / nv as f64) * i as f64 / n as f64;
                ramps.push(Complex32::new(ph.cos() as f32, ph.sin() as f32));
            }
        }
        let mut gate_thr = [0.0; 2];
        for (g, &w) in gate_thr.iter_mut().zip(&GATE_WIDTHS) {
            *g = erlang_threshold((B1 * w) as u32, (2 * n) as f64, cfg.gate_pass_fraction);
        }
        let q25 = erlang_quantile(B1 as u32, 0.25);
        // History: back 6 slots (backward tracking), ahead one slot + 2N (acquisition).
        let hist_cap = 10 * slot + 16 * n;
        let f_max = sizes.iter().map(|s| s.f).max().unwrap_or(32);
        Ok(PuschDetector {
            m,
            n,
            slot,
            dmrs_off,
            fft_n,
            scratch: vec![Complex32::new(0.0, 0.0); scratch_len],
            ramps,
            sizes,
            gate_thr,
            q25,
            acq_hop,
            acq_frames,
            hist: Vec::with_capacity(hist_cap),
            hist_start: 0,
            hist_cap,
            started: false,
            next_in: 0,
            next_block: 0,
            floor: 0.0,
            floor_init: false,
            frame: vec![Complex32::new(0.0, 0.0); n],
            pow: vec![0.0; n],
            cum: vec![0.0; n + 1],
            acq: vec![Complex32::new(0.0, 0.0); nv * acq_frames * n],
            prof: vec![0.0; n + 1],
            gbuf: vec![Complex32::new(0.0, 0.0); f_max],
            sbuf: vec![0.0; nv * acq_frames],
            hyps: Vec::with_capacity(MAX_HYP),
            segs: Vec::with_capacity(64),
            tracks: Vec::with_capacity(8),
            closed: Vec::with_capacity(16),
            yb: vec![Complex32::new(0.0, 0.0); 2 * n],
            stats: PuschStats::default(),
            cfg,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &PuschDetectorConfig {
        &self.cfg
    }

    /// Counters since construction or the last [`reset`](Self::reset).
    pub fn stats(&self) -> &PuschStats {
        &self.stats
    }

    /// Acquisition threshold on the two-slot statistic `Z` for an allocation of `n_prb` PRB
    /// (`None` if that size is not searched).
    pub fn threshold(&self, n_prb: u32) -> Option<f64> {
        self.sizes
            .iter()
            .find(|s| s.n_prb == n_prb as usize)
            .map(|s| s.thr_acq)
    }

    /// Drops all stream state and counters (nothing is reported).
    pub fn reset(&mut self) {
        self.hist.clear();
        self.tracks.clear();
        self.closed.clear();
        self.started = false;
        self.floor_init = false;
        self.stats = PuschStats::default();
    }

    /// Reports the transmissions still open and returns to the initial stream state
    /// (counters are kept).
    pub fn finish(&mut self, out: &mut Vec<Detection>) {
        self.flush(out);
        self.hist.clear();
        self.closed.clear();
        self.started = false;
        self.floor_init = false;
    }

    /// Feeds a block whose first sample has absolute index `first_sample`; detections of
    /// transmissions that have ended are appended to `out`. A stamp that does not continue
    /// the previous block is a gap: open transmissions are reported and the stream restarts.
    pub fn process(&mut self, first_sample: u64, x: &[Complex32], out: &mut Vec<Detection>) {
        if !self.started || first_sample != self.next_in {
            if self.started {
                self.stats.gaps += 1;
                self.flush(out);
            }
            self.hist.clear();
            self.closed.clear();
            self.floor_init = false;
            self.hist_start = first_sample;
            self.next_in = first_sample;
            self.next_block = first_sample;
            self.started = true;
        }
        let mut x = x;
        while !x.is_empty() {
            self.compact();
            let room = self.hist_cap - self.hist.len();
            let take = room.min(x.len());
            self.hist.extend_from_slice(&x[..take]);
            x = &x[take..];
            self.next_in += take as u64;
            self.stats.samples += take as u64;
            self.run(out);
        }
    }

    fn hist_end(&self) -> u64 {
        self.hist_start + self.hist.len() as u64
    }

    /// Drops history no longer needed (keeps 6 slots + 4N before the next block).
    fn compact(&mut self) {
        if self.hist.len() < self.hist_cap {
            return;
        }
        let keep_from = self
            .next_block
            .saturating_sub((6 * self.slot + 4 * self.n) as u64);
        let mut keep_from = keep_from.max(self.hist_start);
        for t in &self.tracks {
            let need = t.t0 + (t.next_slot - 2) * self.slot as i64 - self.n as i64;
            keep_from = keep_from.min(need.max(self.hist_start as i64) as u64);
        }
        let drop = (keep_from - self.hist_start) as usize;
        if drop == 0 {
            // Cannot happen with the capacity chosen; keep the stream going anyway.
            let d = self.hist.len() / 2;
            self.hist.drain(..d);
            self.hist_start += d as u64;
            return;
        }
        self.hist.drain(..drop);
        self.hist_start += drop as u64;
    }

    fn run(&mut self, out: &mut Vec<Detection>) {
        loop {
            self.advance_tracks(out);
            let blk = B1 * self.n;
            let need = self.next_block + (blk + self.slot + 2 * self.n) as u64;
            if need > self.hist_end() {
                break;
            }
            let t = self.next_block;
            self.next_block += blk as u64;
            self.stage1(t);
        }
    }

    fn flush(&mut self, out: &mut Vec<Detection>) {
        let tracks = std::mem::take(&mut self.tracks);
        for tr in &tracks {
            self.emit(tr, out);
        }
        self.tracks = tracks;
        self.tracks.clear();
    }

    /// FFT of N samples from absolute `t` with sub-bin variant `var` into `out`, ordered by
    /// frequency (index 0 = -fs/2). Returns false if `t` is outside the history.
    fn frame_at(&mut self, t: i64, var: usize, out_sel: FrameOut) -> bool {
        if t < self.hist_start as i64 || t as u64 + self.n as u64 > self.hist_end() {
            return false;
        }
        let i0 = (t as u64 - self.hist_start) as usize;
        let n = self.n;
        let buf = match out_sel {
            FrameOut::Frame => &mut self.frame,
            FrameOut::Acq(j) => &mut self.acq[j * n..(j + 1) * n],
            FrameOut::Yb(j) => &mut self.yb[j * n..(j + 1) * n],
        };
        let ramp = &self.ramps[var * n..(var + 1) * n];
        // FFT-shift by writing x(i) (-1)^i: bin k then holds frequency (k - N/2).
        for (i, (b, (x, r))) in buf
            .iter_mut()
            .zip(self.hist[i0..i0 + n].iter().zip(ramp))
            .enumerate()
        {
            let v = x * r;
            *b = if i % 2 == 0 { v } else { -v };
        }
        self.fft_n.process_with_scratch(buf, &mut self.scratch);
        true
    }

    fn stage1(&mut self, tb: u64) {
        self.stats.blocks += 1;
        let n = self.n;
        self.pow.iter_mut().for_each(|p| *p = 0.0);
        for j in 0..B1 {
            let t = tb as i64 + (j * n) as i64;
            if !self.frame_at(t, 0, FrameOut::Frame) {
                return;
            }
            for (p, y) in self.pow.iter_mut().zip(&self.frame) {
                *p += y.norm_sqr() as f64;
            }
        }
        // Noise floor per bin and frame: lower quartile / Gamma(B1) quartile.
        self.prof[..n].copy_from_slice(&self.pow);
        let q = n / 4;
        self.prof[..n].select_nth_unstable_by(q, |a, b| a.total_cmp(b));
        let est = self.prof[q] / self.q25;
        if !(est.is_finite() && est > 0.0) {
            return;
        }
        if !self.floor_init {
            self.floor = est;
            self.floor_init = true;
        } else {
            self.floor += (est - self.floor) / 8.0;
        }
        let fl = self.floor;
        self.cum[0] = 0.0;
        for k in 0..n {
            self.cum[k + 1] = self.cum[k] + self.pow[k] / fl;
        }
        // Gate: windows above the Erlang threshold, merged into segments.
        self.segs.clear();
        for (gi, &w) in GATE_WIDTHS.iter().enumerate() {
            if w > n {
                continue;
            }
            let thr = self.gate_thr[gi];
            let mut run: Option<(usize, usize)> = None;
            for p in 0..=(n - w) {
                let s = self.cum[p + w] - self.cum[p];
                if s > thr {
                    run = Some(match run {
                        Some((a, _)) => (a, p + w),
                        None => (p, p + w),
                    });
                } else if let Some(r) = run.take() {
                    Self::push_seg(&mut self.segs, r, gi);
                }
            }
            if let Some(r) = run {
                Self::push_seg(&mut self.segs, r, gi);
            }
        }
        if self.segs.is_empty() {
            return;
        }
        // Merge overlapping segments.
        self.segs.sort_unstable();
        let mut merged = 0usize;
        for i in 0..self.segs.len() {
            let s = self.segs[i];
            if merged > 0 && s.0 <= self.segs[merged - 1].1 {
                let last = &mut self.segs[merged - 1];
                last.1 = last.1.max(s.1);
            } else {
                self.segs[merged] = s;
                merged += 1;
            }
        }
        self.segs.truncate(merged);
        // Strongest first (mean power), at most MAX_SEGMENTS.
        let cum = &self.cum;
        self.segs.sort_by(|a, b| {
            let ea = (cum[a.1] - cum[a.0]) / (a.1 - a.0) as f64;
            let eb = (cum[b.1] - cum[b.0]) / (b.1 - b.0) as f64;
            eb.total_cmp(&ea)
        });
        self.segs.truncate(MAX_SEGMENTS);
        for i in 0..self.segs.len() {
            let seg = self.segs[i];
            self.stats.gated_segments += 1;
            if self.covered(tb, seg) {
                self.stats.covered_segments += 1;
                continue;
            }
            self.acquire(tb, seg);
        }
    }

    /// Adds a gate run; a wide-window run (`gi > 0`) that overlaps a narrow-window segment is
    /// dropped (a strong narrow signal makes every wide window around it pass).
    fn push_seg(segs: &mut Vec<(usize, usize)>, r: (usize, usize), gi: usize) {
        if gi > 0 && segs.iter().any(|s| s.0 < r.1 && r.0 < s.1) {
            return;
        }
        if segs.len() < segs.capacity() {
            segs.push(r);
        }
    }

    /// True when an open or recent track covers the block's time and the segment's band.
    fn covered(&self, tb: u64, seg: (usize, usize)) -> bool {
        let blk = (B1 * self.n) as i64;
        let (a, b) = (tb as i64, tb as i64 + blk);
        let margin = 2 * self.slot as i64;
        let band_hit = |lo: usize, hi: usize| seg.0 < hi + 12 && lo < seg.1 + 12;
        for tr in &self.tracks {
            let s = tr.t0 + tr.first_slot * self.slot as i64 - margin;
            let e = tr.t0 + tr.next_slot * self.slot as i64 + margin;
            let m = self.sizes[tr.size].m;
            if a < e && s < b && tr.positions.iter().any(|&(_, p)| band_hit(p, p + m)) {
                return true;
            }
        }
        for &(s, e, lo, hi) in &self.closed {
            if a < e + margin && s - margin < b && band_hit(lo, hi) {
                return true;
            }
        }
        false
    }

    /// DMRS statistic of allocation `hyp` in the frame `y` (frequency-ordered bins).
    fn dmrs_test(
        sizes: &[SizeTab],
        gbuf: &mut [Complex32],
        scratch: &mut [Complex32],
        y: &[Complex32],
        hyp: Hyp,
        floor: f64,
    ) -> SlotHit {
        let st = &sizes[hyp.size];
        let yy = &y[hyp.bin..hyp.bin + st.m];
        let mut best = SlotHit::default();
        let mut best_v = -1.0f32;
        let g = &mut gbuf[..st.f];
        for s in 0..st.ns {
            let cs = &st.conj_seq[s * st.m..(s + 1) * st.m];
            for ((gk, a), b) in g.iter_mut().zip(yy).zip(cs) {
                *gk = a * b;
            }
            g[st.m..]
                .iter_mut()
                .for_each(|v| *v = Complex32::new(0.0, 0.0));
            st.fft.process_with_scratch(g, scratch);
            for (i, v) in g.iter().enumerate() {
                let p = v.norm_sqr();
                if p > best_v {
                    best_v = p;
                    best.seq = s;
                    best.shift = i as f64;
                }
            }
        }
        // Noise per bin: the floor, or the hypothesis' own residual after the fitted tone if
        // larger (robust against other signals inside a wrong allocation).
        let e: f64 = yy.iter().map(|v| v.norm_sqr() as f64).sum();
        let mf = st.m as f64;
        let resid_fit = (e - best_v as f64 / mf) / (mf - 1.0);
        let resid = resid_fit.max(floor);
        let t = best_v as f64 / (mf * resid);
        best.t_floor = best_v as f64 / (mf * floor);
        // With another strong signal in the allocation (a GSM burst, a downlink) the
        // normaliser is that signal's residual, and T is then an F(2, 2(M - 1)) ratio, whose
        // tail `(1 + t / (M - 1))^-(M - 1)` is far heavier than the Exp(1) tail the
        // thresholds assume (for M = 12, P(T > 20) is 1e-3, not 2e-9). So when the residual
        // clearly exceeds the floor (by 3 of its standard deviations, 1 / sqrt(M - 1) each),
        // T is mapped to the Exp(1) value with the same tail, `(M - 1) ln(1 + T / (M - 1))`.
        best.t = if resid_fit > floor * (1.0 + 3.0 / (mf - 1.0).sqrt()) {
            (mf - 1.0) * (t / (mf - 1.0)).ln_1p()
        } else {
            t
        };
        // G(f) = sum g(k) e^{-j 2 pi k f / F} peaks at f = -F (n_cs / 12 + d / N): shift.
        best.shift = ((st.f as f64 - best.shift) / st.f as f64 * 12.0).rem_euclid(12.0);
        best
    }

    /// Cumulative energy profile of the acquisition frames of sub-bin variant `var`, each
    /// bin as its mean excess over the floor (`prof[k + 1] - prof[k]`, 0 on noise).
    fn build_profile(&mut self, var: usize) {
        let n = self.n;
        let af = self.acq_frames;
        let norm = af as f64 * self.floor;
        self.prof[0] = 0.0;
        for k in 0..n {
            let mut e = 0.0f64;
            for j in 0..af {
                e += self.acq[(var * af + j) * n + k].norm_sqr() as f64;
            }
            self.prof[k + 1] = self.prof[k] + e / norm - 1.0;
        }
    }

    fn acquire(&mut self, tb: u64, seg: (usize, usize)) {
        self.stats.acquisitions += 1;
        let n = self.n;
        let t_first = tb as i64 - (self.slot + n) as i64;
        let fl = self.floor;
        // Frames: variant-major.
        let nv = self.cfg.sub_bin_variants as usize;
        for var in 0..nv {
            for j in 0..self.acq_frames {
                let t = t_first + (j * self.acq_hop) as i64;
                if !self.frame_at(t, var, FrameOut::Acq(var * self.acq_frames + j)) {
                    // Outside the history (start of stream): zero frame.
                    let k = var * self.acq_frames + j;
                    self.acq[k * n..(k + 1) * n]
                        .iter_mut()
                        .for_each(|v| *v = Complex32::new(0.0, 0.0));
                }
            }
        }
        // Energy profile (variant 0, all frames) normalised: excess over the floor.
        self.build_profile(0);
        // The gate may have fired on part of the band (the first block of a burst): extend
        // the segment while the 12-bin mean excess stays above half the segment's.
        let mut seg = seg;
        let ex = (self.prof[seg.1] - self.prof[seg.0]) / (seg.1 - seg.0) as f64;
        while seg.0 >= 12 && (self.prof[seg.0] - self.prof[seg.0 - 12]) / 12.0 > 0.5 * ex {
            seg.0 -= 1;
        }
        while seg.1 + 12 <= n && (self.prof[seg.1 + 12] - self.prof[seg.1]) / 12.0 > 0.5 * ex {
            seg.1 += 1;
        }
        // A strong burst's spectral leakage (frames straddle its symbols) lifts bins far
        // beside it above the floor: at 30 dB a 6 PRB allocation grew into a segment > 8 PRB
        // wide and only wide hypotheses were tried. Trim edge bins below a tenth of the
        // segment's peak 12-bin level (SC-FDMA fills its allocation nearly flat).
        let peak = (seg.0..seg.1.saturating_sub(12))
            .map(|p| (self.prof[p + 12] - self.prof[p]) / 12.0)
            .fold(0.0f64, f64::max);
        let bin = |prof: &[f64], k: usize| prof[k + 1] - prof[k];
        while seg.1 - seg.0 > 12 && bin(&self.prof, seg.0) < 0.1 * peak {
            seg.0 += 1;
        }
        while seg.1 - seg.0 > 12 && bin(&self.prof, seg.1 - 1) < 0.1 * peak {
            seg.1 -= 1;
        }
        // The extension may have reached a burst a track already holds (a strong burst's
        // leakage segment beside it, extended into it): reported once.
        if self.covered(tb, seg) {
            self.stats.covered_segments += 1;
            return;
        }
        // Hypotheses.
        self.hyps.clear();
        let w = seg.1 - seg.0;
        let lo = seg.0.saturating_sub(24);
        let hi = (seg.1 + 24).min(n);
        let wide = w > 96;
        for (si, st) in self.sizes.iter().enumerate() {
            let m = st.m;
            let ok = if wide {
                (m as f64) >= 0.7 * w as f64 && m <= w + 24
            } else {
                m <= w + 24 && m + 24 >= w / 2
            };
            if !ok || m > hi - lo {
                continue;
            }
            let mut best = (lo, f64::NEG_INFINITY);
            for p in lo..=(hi - m) {
                let e = self.prof[p + m] - self.prof[p];
                if e > best.1 {
                    best = (p, e);
                }
            }
            let spread = if wide { 1 } else { POS_SPREAD };
            for d in -spread..=spread {
                let p = best.0 as i64 + d;
                if p < 0 || p as usize + m > n {
                    continue;
                }
                if self.hyps.len() < MAX_HYP {
                    self.hyps.push(Hyp {
                        size: si,
                        bin: p as usize,
                    });
                }
            }
        }
        let span = self.slot / self.acq_hop;
        let mut best: Option<(f64, Hyp, usize, usize, SlotHit)> = None;
        for hi_ in 0..self.hyps.len() {
            let hyp = self.hyps[hi_];
            for var in 0..nv {
                for j in 0..self.acq_frames {
                    let k = var * self.acq_frames + j;
                    let y = &self.acq[k * n..(k + 1) * n];
                    let h =
                        Self::dmrs_test(&self.sizes, &mut self.gbuf, &mut self.scratch, y, hyp, fl);
                    self.sbuf[k] = h.t;
                }
                for j in 0..self.acq_frames.saturating_sub(span) {
                    let k = var * self.acq_frames + j;
                    let z = self.sbuf[k] + self.sbuf[k + span];
                    let thr = self.sizes[hyp.size].thr_acq;
                    let metric = z / thr;
                    if best.as_ref().is_none_or(|b| metric > b.0) {
                        let y = &self.acq[k * n..(k + 1) * n];
                        let h = Self::dmrs_test(
                            &self.sizes,
                            &mut self.gbuf,
                            &mut self.scratch,
                            y,
                            hyp,
                            fl,
                        );
                        best = Some((metric, hyp, var, j, h));
                    }
                }
            }
        }
        let Some((metric, hyp, var, j, h)) = best else {
            self.stats.rejected_threshold += 1;
            return;
        };
        if metric < 1.0 {
            self.stats.rejected_threshold += 1;
            return;
        }
        // For a Zadoff-Chu DMRS a one-bin shift is nearly a cyclic shift (ambiguity ridge):
        // the band edges come from the energy profile, within 3 bins of the DMRS position,
        // the profile of the winning sub-bin variant: in the other one the allocation's
        // edge bins hold half its level each and the best window is off by a bin about half
        // the time (measured: 6 PRB reported 1 - 2 subcarriers off in 8 of 20 trials at any
        // SNR from 0 to 20 dB).
        if var != 0 {
            self.build_profile(var);
        }
        let mut hyp = hyp;
        let m_sc = self.sizes[hyp.size].m;
        let mut eb = (hyp.bin, f64::NEG_INFINITY);
        //
        // One PRB (the 12-value phi table, 5.5.1.2): the DMRS position was 1 - 2 subcarriers
        // off in 15 of 100 trials at +3 dB (two seed sets), and the energy profile within 2
        // bins of it is right more often (15 -> 8 and 15 -> 2). Two PRB: the DMRS position
        // is the better (at 0 dB a reach of 3 put 9 of 60 off, none without).
        let reach = match self.sizes[hyp.size].n_prb {
            1 => 2,
            2 => 0,
            _ => 3i64,
        };
        for d in -reach..=reach {
            let p = hyp.bin as i64 + d;
            if p < 0 || p as usize + m_sc > n {
                continue;
            }
            let p = p as usize;
            let e = self.prof[p + m_sc] - self.prof[p];
            if e > eb.1 {
                eb = (p, e);
            }
        }
        hyp.bin = eb.0;
        // Refine the timing: finer steps around the best frame (both slots).
        let t_best = t_first + (j * self.acq_hop) as i64;
        let step = (self.acq_hop / 4).max(1) as i64;
        let mut tb_ref = (t_best, f64::NEG_INFINITY);
        let mut s01 = [0.0f64; 2];
        let mut tf01 = 0.0f64;
        for d in -3..=3 {
            let t = t_best + d * step;
            let mut z = 0.0;
            let mut ss = [0.0f64; 2];
            let mut tf = 0.0;
            for s in 0..2 {
                if !self.frame_at(t + s * self.slot as i64, var, FrameOut::Frame) {
                    z = f64::NEG_INFINITY;
                    break;
                }
                let hit = Self::dmrs_test(
                    &self.sizes,
                    &mut self.gbuf,
                    &mut self.scratch,
                    &self.frame,
                    hyp,
                    fl,
                );
                ss[s as usize] = hit.t;
                tf += hit.t_floor;
                z += ss[s as usize];
            }
            if z > tb_ref.1 {
                tb_ref = (t, z);
                s01 = ss;
                tf01 = tf;
            }
        }
        // A pair can be carried by one strong slot: keep only the slots that pass alone,
        // unless neither does (low SNR: both kept).
        let thr_slot = self.sizes[hyp.size].thr_slot;
        let (first, last) = match (s01[0] >= thr_slot, s01[1] >= thr_slot) {
            (false, true) => (1, 1),
            (true, false) => (0, 0),
            _ => (0, 1),
        };
        self.stats.tracks += 1;
        let mut tr = Track {
            size: hyp.size,
            var,
            floor: fl,
            t0: tb_ref.0,
            first_slot: first,
            last_slot: last,
            next_slot: last + 1,
            misses: 0,
            positions: vec![(0, hyp.bin)],
            first_hit: h,
            best_z: metric * self.sizes[hyp.size].thr_acq,
            sum_tf: tf01,
            n_hit: 2,
            ident: (0, 0),
            rho_sum: 0.0,
        };
        // Backwards.
        let mut k = first - 1;
        while first == 0 || k == 0 {
            let t = tr.t0 + k * self.slot as i64;
            if !self.frame_at(t, var, FrameOut::Frame) {
                break;
            }
            let h = Self::dmrs_test(
                &self.sizes,
                &mut self.gbuf,
                &mut self.scratch,
                &self.frame,
                hyp,
                fl,
            );
            if h.t < self.sizes[hyp.size].thr_slot {
                break;
            }
            tr.first_slot = k;
            tr.sum_tf += h.t_floor;
            tr.n_hit += 1;
            k -= 1;
        }
        tr.positions[0].0 = tr.first_slot;
        self.tracks.push(tr);
    }

    /// Bin of the allocation at slot `k`.
    fn bin_at(tr: &Track, k: i64) -> usize {
        let mut b = tr.positions[0].1;
        for &(s, p) in &tr.positions {
            if s <= k {
                b = p;
            }
        }
        b
    }

    fn advance_tracks(&mut self, out: &mut Vec<Detection>) {
        let mut i = 0;
        while i < self.tracks.len() {
            let mut tr = self.tracks[i].clone();
            let mut done = false;
            loop {
                let t = tr.t0 + tr.next_slot * self.slot as i64;
                // Need this slot and the next (hop search) in the history.
                if (t + (self.slot + self.n) as i64) as u64 > self.hist_end() {
                    break;
                }
                let bin = Self::bin_at(&tr, tr.last_slot);
                let hyp = Hyp { size: tr.size, bin };
                let ok = self.frame_at(t, tr.var, FrameOut::Frame);
                let h = if ok {
                    Self::dmrs_test(
                        &self.sizes,
                        &mut self.gbuf,
                        &mut self.scratch,
                        &self.frame,
                        hyp,
                        tr.floor,
                    )
                } else {
                    SlotHit::default()
                };
                if h.t >= self.sizes[tr.size].thr_slot {
                    tr.sum_tf += h.t_floor;
                    tr.n_hit += 1;
                    tr.last_slot = tr.next_slot;
                    tr.misses = 0;
                    tr.next_slot += 1;
                    continue;
                }
                tr.misses += 1;
                if tr.misses < 2 {
                    tr.next_slot += 1;
                    continue;
                }
                // Two misses: a narrowband hop? Search the band at slots last+1, last+2.
                if self.sizes[tr.size].n_prb <= 6 {
                    if let Some(nb) = self.hop_search(&tr, tr.last_slot + 1) {
                        self.stats.hops += 1;
                        tr.positions.push((tr.last_slot + 1, nb));
                        tr.last_slot += 2;
                        tr.next_slot = tr.last_slot + 1;
                        tr.misses = 0;
                        continue;
                    }
                }
                done = true;
                break;
            }
            if done {
                self.identity(&mut tr);
                self.emit(&tr, out);
                let m = self.sizes[tr.size].m;
                let lo = tr.positions.iter().map(|p| p.1).min().unwrap_or(0);
                let hi = tr.positions.iter().map(|p| p.1).max().unwrap_or(0) + m;
                if self.closed.len() >= 16 {
                    self.closed.remove(0);
                }
                self.closed.push((
                    tr.t0 + tr.first_slot * self.slot as i64,
                    tr.t0 + (tr.last_slot + 1) * self.slot as i64,
                    lo,
                    hi,
                ));
                self.tracks.swap_remove(i);
            } else {
                self.tracks[i] = tr;
                i += 1;
            }
        }
    }

    /// Whole-band search for the track's allocation size at slots `k` and `k + 1`.
    fn hop_search(&mut self, tr: &Track, k: i64) -> Option<usize> {
        let n = self.n;
        let st_m = self.sizes[tr.size].m;
        let old = Self::bin_at(tr, k - 1);
        for s in 0..2 {
            let t = tr.t0 + (k + s) * self.slot as i64;
            if !self.frame_at(t, tr.var, FrameOut::Yb(s as usize)) {
                return None;
            }
        }
        let mut best = (0usize, f64::NEG_INFINITY);
        for p in 0..=(n - st_m) {
            if p + st_m > old && old + st_m > p {
                continue;
            }
            let hyp = Hyp {
                size: tr.size,
                bin: p,
            };
            let mut z = 0.0;
            for s in 0..2 {
                z += Self::dmrs_test(
                    &self.sizes,
                    &mut self.gbuf,
                    &mut self.scratch,
                    &self.yb[s * n..(s + 1) * n],
                    hyp,
                    tr.floor,
                )
                .t;
            }
            if z > best.1 {
                best = (p, z);
            }
        }
        (best.1 > self.sizes[tr.size].thr_hop).then_some(best.0)
    }

    /// Identity of the data between slots k and k + 2 (repetitions).
    fn identity(&mut self, tr: &mut Track) {
        let n = self.n;
        let m = self.sizes[tr.size].m;
        let mm = self.m as i64;
        let off = |ts: usize| (ts as i64 - DMRS_FRAME_TS as i64) * mm / 16;
        let mut k = tr.first_slot;
        while k + 2 <= tr.last_slot {
            let (b0, b1) = (Self::bin_at(tr, k), Self::bin_at(tr, k + 2));
            let (mut c, mut e0, mut e1) = (Complex32::new(0.0, 0.0), 0.0f64, 0.0f64);
            let mut ok = true;
            for &ts in &DATA_FRAME_TS {
                for s in 0..2 {
                    let t = tr.t0 + (k + 2 * s) * self.slot as i64 + off(ts);
                    if !self.frame_at(t, tr.var, FrameOut::Yb(s as usize)) {
                        ok = false;
                    }
                }
                if !ok {
                    break;
                }
                let (ya, yb) = self.yb.split_at(n);
                for i in 0..m {
                    let a = ya[b0 + i];
                    let b = yb[b1 + i];
                    c += a * b.conj();
                    e0 += a.norm_sqr() as f64;
                    e1 += b.norm_sqr() as f64;
                }
            }
            if ok && e0 > 0.0 && e1 > 0.0 {
                let rho = c.norm() as f64 / (e0 * e1).sqrt();
                tr.ident.0 += 1;
                tr.rho_sum += rho;
                // Noise: |rho| ~ Rayleigh with E|rho|^2 = 1 / (6 M); 5 sigma.
                if rho > 5.0 / (6.0 * m as f64).sqrt() {
                    tr.ident.1 += 1;
                }
            }
            k += 1;
        }
    }

    fn emit(&mut self, tr: &Track, out: &mut Vec<Detection>) {
        let st = &self.sizes[tr.size];
        let fs = self.cfg.sample_rate_hz;
        let df = fs / self.n as f64;
        let frac = tr.var as f64 / self.cfg.sub_bin_variants as f64;
        let n_slots = (tr.last_slot - tr.first_slot + 1).max(1);
        let start = tr.t0 + tr.first_slot * self.slot as i64 - self.dmrs_off as i64;
        let start = start.max(0) as u64;
        let centre = |bin: usize| {
            ((bin as f64 + 0.5 * (st.m as f64 - 1.0)) - (self.n / 2) as f64 + frac) * df
        };
        let bin0 = tr.positions[0].1;
        let subframes = (n_slots as u64).div_ceil(2);
        let hopping = tr.positions.len() > 1;
        let mut hop_freqs: Vec<f64> = Vec::new();
        for &(_, p) in &tr.positions {
            let f = centre(p);
            if !hop_freqs.iter().any(|&g| (g - f).abs() < 1.0) {
                hop_freqs.push(f);
            }
        }
        let nb_hop = hopping
            && tr.positions.windows(2).all(|w| {
                let d = (w[1].1 as i64 - w[0].1 as i64).abs();
                let r = d % 72;
                r <= 1 || r >= 71
            });
        let repeated = tr.ident.0 > 0 && 5 * tr.ident.1 >= 2 * tr.ident.0;
        let (tech, reason) = if st.n_prb > 6 {
            (Tech::Lte, "wide_allocation")
        } else if nb_hop {
            (Tech::LteM, "narrowband_hopping")
        } else if repeated {
            (Tech::LteM, "identical_repetitions")
        } else {
            (Tech::Lte, "narrow_not_repeated")
        };
        let repetitions = if repeated { subframes } else { 1 };
        let mean_t = tr.sum_tf / tr.n_hit.max(1) as f64;
        // Per-slot T (against the floor) ~ M SNR + 1 on the DMRS.
        let snr_lin = ((mean_t - 1.0) / st.m as f64).max(1e-3);
        // Per-bin noise floor = N sigma^2; signal power = snr sigma^2 M / N.
        let nn = self.n as f64;
        let power = snr_lin * tr.floor * st.m as f64 / (nn * nn);
        let metric = tr.best_z / st.thr_acq;
        let mut params = serde_json::Map::new();
        let mut put = |k: &str, v: serde_json::Value| {
            params.insert(k.to_string(), v);
        };
        put("n_prb", json!(st.n_prb));
        put("first_prb", json!(bin0 / 12));
        put("first_bin", json!(bin0));
        put("dmrs_group", json!(tr.first_hit.seq % 30));
        put("dmrs_base_seq", json!(tr.first_hit.seq / 30));
        put(
            "cyclic_shift",
            json!((tr.first_hit.shift.round() as u32) % 12),
        );
        put("repetitions", json!(repetitions));
        put("subframes", json!(subframes));
        put("slots", json!(n_slots));
        put("hopping", json!(hopping));
        if hopping {
            put("hop_freqs_hz", json!(hop_freqs));
        }
        put("identity_tests", json!(tr.ident.0));
        put("identical", json!(tr.ident.1));
        put("class_reason", json!(reason));
        out.push(Detection {
            kind: Kind::Pusch,
            tech,
            sample_start: start,
            sample_len: n_slots as u64 * self.slot as u64,
            freq_offset_hz: centre(bin0),
            bandwidth_hz: st.m as f64 * 15e3,
            power,
            snr_db: 10.0 * snr_lin.log10(),
            score: 1.0 - 0.5f64.powf(metric),
            metric,
            params,
        });
        self.stats.detections += 1;
    }
}

/// Where [`PuschDetector::frame_at`] writes.
#[derive(Debug, Clone, Copy)]
enum FrameOut {
    Frame,
    Acq(usize),
    Yb(usize),
}

#[cfg(test)]
mod tests;
