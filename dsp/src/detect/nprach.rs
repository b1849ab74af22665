//! Blind streaming detector of NB-IoT random-access preambles (NPRACH, TS 36.211 10.1.6),
//! formats 0 and 1, over the whole input band.
//!
//! # What is assumed (and what is not)
//!
//! Only what 10.1.6 fixes for every cell (frame structure type 1, Tables 10.1.6.1-1 and
//! 10.1.6.2-1): a symbol group is one pure tone of `Δf_RA = 3.75 kHz` spacing, phase
//! continuous over `T_CP + 5 x 8192 Ts` (format 0: 1.4 ms, format 1: 1.6 ms); four groups
//! make a repetition, back to back; inside a repetition the tone hops by `±1` subcarrier
//! (group 1, direction by the parity of `ñ(0)`), by `±6` (group 2, up if the index is below
//! 6) and by `∓1` (group 3), so only four sign patterns exist; repetitions follow each other
//! without gap (a 40 ms gap after every 64), the first group of every repetition anywhere in
//! the same 12-subcarrier band. Nothing else is assumed: the carrier may sit at any frequency
//! (no raster, any LO error), `nprach-SubcarrierOffset`, `n_init`, the cell identity, the
//! timing and the inter-repetition hop (either convention of `f(i/4)`) are unknown.
//!
//! # How it is detected
//!
//! ```text
//!  x --> STFT: rectangular window N = 1/Δf_RA (512 m samples), FFT 4N (937.5 Hz bins),
//!        hop N/2, phase referenced to the stream origin             (crate::stft)
//!    --> per-bin noise floor (recursive mean of the values under 4x it; a bin above it for
//!        10 ms enters clipped: robust to bursts, long strong preambles and carriers)
//!        and a frequency CFAR that rescales bins inside wideband energy
//!    --> coherent symbol group: the tone is phase continuous through the group, so J
//!        consecutive non-overlapping frames (J = 5 format 0, 6 format 1) are summed with a
//!        phase ramp for three sub-bin offsets (-312.5, 0, +312.5 Hz): 312.5 Hz grid,
//!        G = |sum|^2 / J, unit-mean exponential on noise
//!    --> one repetition: S = G0(k) + G1(k ± 4) + G2(k ± 4 ± 24) + G3(k ± 24) on the group
//!        grid (bins of 937.5 Hz; 4 bins = 1 subcarrier), 4 sign patterns; tested against a
//!        threshold from the false-alarm budget (Erlang(4) tail)            (window W = 1)
//!    --> several repetitions (W = 2, 4, 8): per band start b, R = max over the 12 possible
//!        first subcarriers (each fixes its pattern), pooled over the sub-bin offsets and
//!        hop pairs; A_W = sum of R over W consecutive repetitions; threshold from the tail
//!        of a sum of maxima of Erlang(4) (numerical, exponentially tilted convolution)
//!    --> tracks: threshold crossings on the same repetition grid and band are one track; a
//!        track reads every later repetition (and the 8 before it) until no crossing for W
//!        repetitions; the extent is the maximum-sum run of repetitions; checks reject
//!        energy off the pattern (carriers, wideband bursts), single-group energy, energy
//!        without the coherent gain of a steady tone (chirps, noise-like signals: the
//!        group energy G against the mean frame power at the tone), and the threshold is
//!        met again in units of the local band level at the same time (wideband energy
//!        that switches on before the slow floor follows)
//!    --> one repetition: its four tones timed again on the raw history under each
//!        format's whole groups (`format_fit`: 2-sample grid at 1.92 MS/s, +-150 Hz):
//!        the larger sum names the format and gives the start
//!    --> below the blind thresholds: a W = 1 crossing of a pre-threshold (1000 times the
//!        budget) opens a track of its own that is one repetition confirmed by that fine
//!        sum (in units of the local band level) against a threshold calibrated on noise
//!        (FINE_RATE_FACTOR), or nothing; a W = 8 pre-threshold track needs a cell's hop
//!        path (`hops`); a blind-accepted track of 4 - 8 repetitions still in the raw
//!        history is dropped when its best path has the energy but not a preamble's shape
//!        (`hops::NoFit::Unlike`: a steady carrier gives one group per repetition to the
//!        blind search, and no path carries it)
//!    --> a track of two or more repetitions whose energy one steady line explains (the
//!        band's strongest bin over the extent, from per-bin frame powers kept for ten
//!        repetitions: a preamble visits a subcarrier at most once per repetition) is a
//!        carrier switching on, not a preamble (`LINE_SHARE_MAX`)
//!    --> one Detection per preamble (formats resolved by the evidence ratio, see
//!        FORMAT1_EVIDENCE_RATIO; 64-repetition halves joined across the 40 ms gap)
//! ```
//!
//! The per-frame stages (normalisation, coherent groups, pattern search) run in code compiled
//! for AVX2 when the CPU has it (runtime check, same arithmetic: identical results). The
//! single-repetition test is gated exactly by the pooled statistic `R` (every pattern sum is
//! one of the values pooled into `R`), so its pattern sums are recomputed only on the frames
//! where `R` crosses the single-repetition threshold.
//!
//! # What is resolved blindly
//!
//! - `format`, `repetitions` (the number of repetitions seen; at low SNR the first or last
//!   may be lost or one added), timing to about N/8, tone frequencies to about 100 Hz.
//! - `n_init` is reported as `ñ(0) = n_init mod 12`, the first group's subcarrier in the
//!   inferred 12-subcarrier band. One repetition shows only the sign pattern, i.e. the parity
//!   of `ñ(0)` and whether `ñ(0) + s1 < 6`: three values remain (`n_init_candidates`); more
//!   repetitions narrow the band (all tones must fit in 12 subcarriers with consistent
//!   patterns) and usually make it unique. `floor(n_init / 12)`, the subcarrier offset and the
//!   carrier frequency cannot be told apart: only absolute tone frequencies are known. Tones
//!   of repetitions seen only through the pooled multi-repetition statistic are not resolved
//!   (params `reps_resolved`); when none is, the band is reported.
//! - Two UEs in the same band at the same time are reported as one preamble.
//!
//! # Thresholds
//!
//! The budget `false_alarms_per_hour` (whole input band) is split evenly among the tested
//! families (formats x windows). A family's threshold is the statistic's noise-only tail at
//! `budget / effective tests per hour`; the effective number of independent tests per cell
//! and the effective number of independent maxima in `R` are calibrated constants measured on
//! white noise (see `examples/nprach_calibrate.rs`).

mod hops;

use super::envelope::{self, Chunk, Tester};
use super::{erlang_threshold, lte_rate_multiple, Detection};
use crate::stft::{PhaseReference, Stft, StftConfig, StftError, Window};
use crate::synth::nprach::HopConvention;
use crate::synth::{Kind, Tech};
use num_complex::{Complex32, Complex64};
use rustfft::{Fft, FftPlanner};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::sync::Arc;

/// Formats the detector supports (format 2 of Rel-15 is not implemented).
pub const SUPPORTED_FORMATS: [u8; 2] = [0, 1];

/// Repetition windows that may be tested.
pub const WINDOW_REPS: [u32; 4] = [1, 2, 4, 8];

/// Calibrated fraction of the `W = 1` cells (3 sub-bin offsets x bins x 4 patterns x hops)
/// that count as independent tests (white noise, `examples/nprach_calibrate.rs`).
pub const EFFECTIVE_TESTS_W1: f64 = 0.55;

/// Calibrated fraction of the `W >= 2` cells (bins x hop pairs) that count as independent
/// tests.
pub const EFFECTIVE_TESTS_MULTI: f64 = 0.4;

/// Calibrated number of independent Erlang(4) variables whose maximum models the pooled
/// per-repetition statistic `R` on noise (12 first subcarriers x 3 offsets x 2 hops,
/// correlated).
pub const REP_STAT_MAXIMA: f64 = 48.0;

/// Subcarrier spacing `Δf_RA`, Hz (Table 10.1.6.2-1, formats 0 and 1).
const SPACING_HZ: f64 = 3750.0;
/// FFT bins per subcarrier (zero-padding factor).
const PAD: usize = 4;
/// Bins of one `±1` hop and one `±6` hop.
const HOP1: isize = PAD as isize;
const HOP6: isize = 6 * PAD as isize;
/// Sub-bin offsets (planes): q = -1, 0, +1 thirds of a bin.
const PLANES: usize = 3;
/// Band-start bins a track keeps per repetition: centre - 47 ..= centre + 3. A repetition's
/// tones centre 14 .. 30 bins above its band start and the centres of the crossings that join
/// a track spread by about ±16 bins.
const WIN: usize = 51;
const WIN_BACK: isize = 47;
/// Hops between a repetition's end and the hop at which a track reads it: late enough for
/// every crossing of that repetition (within `ASSOC_HOPS`) to have timed the grid.
const READ_DELAY: i64 = 12;
/// Live search half-width in hops around the expected repetition end.
const LIVE_SEARCH: i64 = 3;
/// Bin tile of the pattern stage (keeps the working set in cache).
const TILE: usize = 2048;
/// Halo of the pattern stage tiles: patterns reach -28 .. +28 bins, `R` another 44.
const HALO_LO: usize = 28;
const HALO_HI: usize = 72;
/// Most threshold crossings kept per hop and format (the rest are counted).
const MAX_HITS_PER_HOP: usize = 128;
/// Most tracks open at once per format.
const MAX_TRACKS: usize = 256;
/// CFAR: guard and window half-widths (bins), activation factor.
const CFAR_GUARD: usize = 8;
const CFAR_HALF: usize = 64;
const CFAR_GAMMA: f32 = 1.5;
/// Noise floor: half-width of the frequency smoothing, bins.
const FLOOR_SMOOTH: usize = 8;
/// Noise floor: samples above `CLIP x floor` are left out of the mean (robust mean)...
const FLOOR_CLIP: f32 = 4.0;
/// ...unless a bin stays above it this long (a carrier, a step of the noise level): then they
/// enter clipped, and the floor climbs to the new level. A preamble's tone stays in a bin
/// for one or two groups (1.4 - 3.2 ms), its sidelobes a few more.
const FLOOR_RUN_S: f64 = 0.010;
/// Association tolerance for the centre of a crossing against a track, bins (5 subcarriers).
const ASSOC_BINS: f64 = 20.0;
/// Where the extent's per-repetition level sits between the noise mean of R (0) and the
/// signal level of the best crossing (1).
const EXTENT_LEVEL: f64 = 0.4;
/// Association tolerance in time: a crossing within this many hops of a track's repetition
/// grid belongs to it (the pattern statistic stays above threshold over several hops).
const ASSOC_HOPS: i64 = 6;
/// Local band level of a candidate's tones: bins `LOCAL_LO ..= LOCAL_HI` to either side
/// (beyond the tone's main lobe, within about 12 subcarriers).
const LOCAL_LO: isize = 6;
const LOCAL_HI: isize = 48;
/// Least ratio of the coherent to the incoherent excess energy of the pattern (a steady
/// tone: J = 5 or 6; energy present in one frame of the group or noise-like: about 1).
const COHERENCE_MIN: f64 = 2.5;
/// Raw input kept for the envelope test, seconds: a candidate of up to 4 repetitions is
/// decided up to about 70 ms after its start (the track waits up to 8 repetitions for more),
/// and the band's noise is measured over `PRE_NOISE_S` before it; of longer candidates the
/// last repetitions are here and the others keep the moments taken when they were read.
/// 1.8 MB at 1.92 MS/s, 29.5 MB at 30.72 MS/s.
const HISTORY_S: f64 = 0.12;
/// The envelope test leaves this much out at each end of the preamble, seconds.
const ENVELOPE_INSET_S: f64 = 0.2e-3;
/// The band's noise for the envelope test is also measured over this much input before the
/// preamble, seconds (what the history still holds of it) ...
const PRE_NOISE_S: f64 = 0.02;
/// ... and used when at least this much was measured, seconds.
const PRE_NOISE_MIN_S: f64 = 4e-3;
/// Format resolution: a format-1 detection overlapping a format-0 one wins when its evidence
/// exceeds `FORMAT1_EVIDENCE_RATIO` times the format-0 evidence. Each format's statistic also
/// collects most of a preamble of the other format, because the group lengths differ only by
/// the CP (`T_CP` 2048 against 8192 Ts, group 1.4 against 1.6 ms, Table 10.1.6.1-1): 6-frame
/// windows spaced 1.6 ms on the 1.4 ms groups of format 0 keep about 0.81 of the format-0
/// evidence, 5-frame windows spaced 1.4 ms on the 1.6 ms groups of format 1 about 1 / 1.30
/// of the format-1 evidence (medians over 30 preambles of each format at +10 dB; the
/// ideal-alignment geometry gives 0.80 and 1 / 1.36). The threshold is the geometric mean of
/// the two, `sqrt(0.81 x 1.30)`: the observed ratio goes to the format whose expected ratio
/// is nearer on a log scale (an approximation of the likelihood ratio of the two formats
/// that takes the spread of the log ratio as equal under both). The plain larger-evidence
/// rule (threshold 1) favours format 1, whose longer groups collect more of a format-0
/// preamble than format 0's collect of a format-1 one.
const FORMAT1_EVIDENCE_RATIO: f64 = 1.026;
/// Symbol-group lengths of formats 0 and 1 at 1.92 MS/s, samples (`T_CP + 5 x 8192 Ts`:
/// 1.4 and 1.6 ms, Table 10.1.6.1-1).
const FMT_GROUP_192: [usize; 2] = [2688, 3072];
/// Fine format test: start times searched this far either side of the track's, seconds...
const FMT_SEARCH_S: f64 = 0.8e-3;
/// ... on this grid of 1.92 MS/s samples ...
const FMT_STEP: usize = 2;
/// ... and these common frequency offsets, Hz (a 75 Hz error costs 3 % of a 1.6 ms group).
const FMT_DF_HZ: [f64; 5] = [-150.0, -75.0, 0.0, 75.0, 150.0];
/// A single repetition below the blind `W = 1` threshold (a track opened at its
/// pre-threshold) is confirmed when the fine test's sum (`format_fit`) passes `t_fine`,
/// set for this share of the `W = 1` family's budget ...
const FINE_SHARE: f64 = 0.1;
/// ... with the rate of noise-only confirmations modelled as this many times the blind
/// test's at the same level (`EFFECTIVE_TESTS_W1` cells of an Erlang(4) tail). The fine
/// sum is not independent of the blind crossing that opened the track: on noise it lies
/// near the blind level (median +2.1, at most +5.8 over 88 noise tracks), so it is modelled
/// on the blind statistic's own tail. Calibrated on white noise (`nprach_eval fa 1.92e6
/// 1500 --rate 1000`, both formats, 2026-11-29): confirmations above `t1 + 0, +1, +2`
/// came at 0.2, 0.2 and 0.3 times the blind model's rate there; 0.5 keeps a margin.
const FINE_RATE_FACTOR: f64 = 0.5;
/// 40 ms gap after every 64 repetitions (10.1.6.1), seconds.
const GAP_S: f64 = 0.040;
/// The pre-threshold of the longest window is set for this many times its family's budget:
/// on noise its crossings open about that many more tracks, each accepted only if a cell's
/// hop path explains it (`hops::fit`, at most 1e-4 of them by its threshold).
const PRE_FACTOR: f64 = 1000.0;
/// ... but for at most this many crossings per hour (per family): at a large budget (a
/// test, a calibration) the pre-threshold adds nothing.
const PRE_MAX_PER_HOUR: f64 = 3600.0;
/// A group's median level (in floor units) above which its energies are taken against it
/// (`hop_cells`; the median of 16 cells of noise has a spread of about a quarter).
const LOCAL_RAISED: f32 = 1.5;
/// Most blind detections remembered against later sub-threshold duplicates.
const RECENT_MAX: usize = 32;
/// Most cell identities listed in `params.hop_cells`.
const HOP_CELLS_MAX: usize = 8;
/// A track of two or more repetitions one steady line explains this share of is a carrier
/// (`Core::line_share`).
const LINE_SHARE_MAX: f64 = 0.45;
/// Steady-line test: the normalised frame powers are summed over blocks of this many hops
/// (0.8 ms) per bin, kept for about ten repetitions (`Core::lring`) ...
const LINE_BLOCK: i64 = 6;
/// ... and read per repetition over the track's bins: band starts less `LINE_LO` to the last
/// band start's highest tone plus a bin (`LINE_BINS`).
const LINE_LO: isize = 2;
const LINE_BINS: usize = WIN + 49;

/// Configuration of a [`NprachDetector`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NprachDetectorConfig {
    /// Input sample rate, `m x 1.92 MS/s` with m = 1..16.
    pub sample_rate_hz: f64,
    /// False-alarm budget for the whole input band, per hour of input (noise only). The
    /// default 1.0 meets the "<= 1 per hour" target at any rate; for a budget per MHz of
    /// monitored band multiply by `sample_rate_hz / 1e6`.
    pub false_alarms_per_hour: f64,
    /// Preamble formats to search: 0 and/or 1.
    pub formats: Vec<u8>,
    /// Repetition windows to test, a subset of 1, 2, 4, 8: 1 finds strong single
    /// repetitions, 8 weak long preambles.
    pub window_reps: Vec<u32>,
    /// Time constant of the per-bin noise floor, seconds (0.005 ..= 10).
    pub noise_time_constant_s: f64,
    /// Input at the start of the stream (and after a gap) used only to learn the noise
    /// floor, seconds (0.005 ..= 1).
    pub warmup_s: f64,
}

impl Default for NprachDetectorConfig {
    fn default() -> Self {
        NprachDetectorConfig {
            sample_rate_hz: 1.92e6,
            false_alarms_per_hour: 1.0,
            formats: vec![0, 1],
            window_reps: WINDOW_REPS.to_vec(),
            noise_time_constant_s: 0.07,
            warmup_s: 0.02,
        }
    }
}

/// An invalid [`NprachDetectorConfig`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NprachConfigError {
    /// The sample rate is not an LTE-family rate.
    #[error("sample_rate_hz = {0} is not m x 1.92 MHz with m = 1..16")]
    SampleRate(f64),
    /// A format other than 0 or 1.
    #[error("NPRACH format {0} is not supported (0 and 1 are)")]
    Format(u8),
    /// No format to search.
    #[error("formats is empty")]
    NoFormats,
    /// A window other than 1, 2, 4, 8.
    #[error("window_reps contains {0}; allowed are 1, 2, 4 and 8")]
    WindowReps(u32),
    /// No window to test.
    #[error("window_reps is empty")]
    NoWindows,
    /// A false-alarm budget that is not finite and positive.
    #[error("false_alarms_per_hour = {0} must be finite and > 0")]
    FalseAlarmRate(f64),
    /// A noise time constant out of range.
    #[error("noise_time_constant_s = {0} must be in 0.005 ..= 10")]
    NoiseTime(f64),
    /// A warm-up out of range.
    #[error("warmup_s = {0} must be in 0.005 ..= 1")]
    Warmup(f64),
    /// The STFT rejected its configuration (a bug: the detector derives it).
    #[error("STFT configuration")]
    Stft(#[source] StftError),
}

impl NprachDetectorConfig {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), NprachConfigError> {
        if lte_rate_multiple(self.sample_rate_hz).is_none() {
            return Err(NprachConfigError::SampleRate(self.sample_rate_hz));
        }
        if self.formats.is_empty() {
            return Err(NprachConfigError::NoFormats);
        }
        if let Some(&f) = self.formats.iter().find(|f| !SUPPORTED_FORMATS.contains(f)) {
            return Err(NprachConfigError::Format(f));
        }
        if self.window_reps.is_empty() {
            return Err(NprachConfigError::NoWindows);
        }
        if let Some(&w) = self.window_reps.iter().find(|w| !WINDOW_REPS.contains(w)) {
            return Err(NprachConfigError::WindowReps(w));
        }
        let r = self.false_alarms_per_hour;
        if !(r.is_finite() && r > 0.0) {
            return Err(NprachConfigError::FalseAlarmRate(r));
        }
        let t = self.noise_time_constant_s;
        if !(0.005..=10.0).contains(&t) {
            return Err(NprachConfigError::NoiseTime(t));
        }
        let w = self.warmup_s;
        if !(0.005..=1.0).contains(&w) {
            return Err(NprachConfigError::Warmup(w));
        }
        Ok(())
    }
}

/// Counters of what the detector did and why it turned candidates down.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NprachStats {
    /// Input samples consumed.
    pub samples: u64,
    /// STFT frames processed.
    pub frames: u64,
    /// Gaps in the input stamps (state dropped).
    pub gaps: u64,
    /// Statistic cells compared with a threshold (all families).
    pub cells_tested: u64,
    /// Cells at or below their threshold (`cells_tested - crossings`).
    pub cells_below_threshold: u64,
    /// Threshold crossings (cells above their threshold).
    pub crossings: u64,
    /// Crossings not examined because a hop had too many.
    pub crossings_dropped: u64,
    /// Tracks (candidate preambles) opened.
    pub tracks: u64,
    /// Tracks not opened because too many were open.
    pub tracks_dropped: u64,
    /// Candidates whose best run of repetitions no longer reached the threshold.
    pub rejected_below_threshold: u64,
    /// Candidates with energy off the hopping pattern (carriers, wideband bursts).
    pub rejected_pattern_inconsistent: u64,
    /// Candidates whose energy sat in one symbol group.
    pub rejected_single_group: u64,
    /// Candidates whose energy sat in two groups only (a hypothesis shifted against a
    /// real preamble).
    pub rejected_partial_pattern: u64,
    /// Candidates whose pattern energy is not that of tones steady through their symbol
    /// groups (chirps, noise-like wideband signals: no coherent gain over the frames).
    pub rejected_incoherent: u64,
    /// Candidates of 4 to 8 repetitions (`HOP_PATH_MIN_REPS ..= hops::HISTORY_REPS`),
    /// accepted by the blind tests, whose best cell's hop path (36.211 10.1.6.1) over the
    /// repetitions read from the raw history has the energy but not a preamble's shape: a
    /// steady carrier that switched on, taken one group per repetition by the blind search.
    pub rejected_no_hop_path: u64,
    /// Candidates of two or more repetitions whose energy one steady line (a bin lit through
    /// the whole extent) explains for the most part: a carrier switching on while the floor
    /// learns it, one group per repetition in the blind search (`LINE_SHARE_MAX`).
    pub rejected_steady_line: u64,
    /// Candidates below every blind threshold whose confirming hop path (36.211 10.1.6.1)
    /// finds nearly all its energy at one subcarrier, once per repetition: a carrier at
    /// swinging levels that the floor has partly learned (`hops::TONE_SHARE_MAX`).
    pub rejected_one_tone_path: u64,
    /// Candidates with no repetition standing out of the noise.
    pub rejected_too_short: u64,
    /// Candidates with no repetition read at full resolution inside their extent, or whose
    /// extent lies apart from the repetitions of their best threshold crossing.
    pub rejected_unconfirmed: u64,
    /// Detections whose extent, band and `ñ(0)` were fixed by a cell's hop path (`hops`).
    pub hop_fits: u64,
    /// Detections below every blind threshold (tracks opened at the pre-threshold of the
    /// longest window) confirmed by a cell's hop path.
    pub hop_confirmed: u64,
    /// Single repetitions below the blind threshold (tracks opened at the `W = 1`
    /// pre-threshold) confirmed by the fine test (`format_fit`).
    pub fine_confirmed: u64,
    /// Single repetitions whose format the fine test (`format_fit`: both formats' group
    /// lengths timed on the raw history) named against the track's own.
    pub format_changed: u64,
    /// Candidates that duplicated a stronger one (other format, same preamble).
    pub rejected_duplicate: u64,
    /// Candidates whose band envelope is that of Gaussian noise (kurtosis near 2 where a
    /// preamble at their SNR would be near-constant): noise bursts over the band.
    pub rejected_noise_like: u64,
    /// Candidates whose samples had left the raw history when decided (envelope not
    /// tested).
    pub envelope_untested: u64,
    /// Candidates joined across the 40 ms gap after 64 repetitions (joins of candidates that
    /// later lose to a duplicate included).
    pub merged_across_gap: u64,
    /// Detections emitted.
    pub detections: u64,
}

/// Numerical tail of a sum of `w` iid maxima of `k` iid Erlang(4) variables.
///
/// The density of one maximum, `k F^{k-1} F'` with `F` the Erlang(4) CDF, is tabulated on a
/// grid of `DX`, exponentially tilted by `e^{θx}` (so that the far tail becomes the bulk and
/// keeps its precision), convolved `w` times by FFT and untilted.
#[derive(Debug, Clone)]
struct MaxErlangSum {
    /// `(x, P(sum > x))`, x increasing.
    tail: Vec<(f64, f64)>,
    /// Mean and standard deviation of one maximum.
    mean_one: f64,
    std_one: f64,
}

impl MaxErlangSum {
    const DX: f64 = 0.02;
    const X_MAX: f64 = 120.0;
    const THETA: f64 = 0.7;

    fn erlang4_cdf(x: f64) -> f64 {
        if x <= 0.0 {
            return 0.0;
        }
        if x < 5.0 {
            // sum_{j >= 4} e^{-x} x^j / j!, no cancellation.
            let mut term = (-x).exp() * x.powi(4) / 24.0;
            let mut s = 0.0;
            let mut j = 4.0;
            while term > 1e-300 && term > s * 1e-17 {
                s += term;
                j += 1.0;
                term *= x / j;
            }
            s
        } else {
            1.0 - (-x).exp() * (1.0 + x + x * x / 2.0 + x * x * x / 6.0)
        }
    }

    fn new(k: f64, w: u32) -> Self {
        let n = (Self::X_MAX / Self::DX) as usize;
        let xs: Vec<f64> = (0..n).map(|i| (i as f64 + 0.5) * Self::DX).collect();
        let mut p: Vec<f64> = xs
            .iter()
            .map(|&x| {
                let f = Self::erlang4_cdf(x);
                if f <= 0.0 {
                    return 0.0;
                }
                let ln = k.ln() + (k - 1.0) * f.ln() + 3.0 * x.ln() - x - 6f64.ln();
                ln.exp() * Self::DX
            })
            .collect();
        let tot: f64 = p.iter().sum();
        p.iter_mut().for_each(|v| *v /= tot);
        let mean_one: f64 = xs.iter().zip(&p).map(|(x, p)| x * p).sum();
        let var_one: f64 = xs
            .iter()
            .zip(&p)
            .map(|(x, p)| (x - mean_one).powi(2) * p)
            .sum();
        let mut q: Vec<f64> = xs
            .iter()
            .zip(&p)
            .map(|(&x, &p)| p * (Self::THETA * x).exp())
            .collect();
        let m: f64 = q.iter().sum();
        q.iter_mut().for_each(|v| *v /= m);
        let w = w.max(1) as usize;
        let len = (w * n).next_power_of_two();
        let mut planner = FftPlanner::<f64>::new();
        let fwd = planner.plan_fft_forward(len);
        let inv = planner.plan_fft_inverse(len);
        let mut buf: Vec<Complex64> = (0..len)
            .map(|i| Complex64::new(if i < n { q[i] } else { 0.0 }, 0.0))
            .collect();
        fwd.process(&mut buf);
        for v in buf.iter_mut() {
            *v = v.powu(w as u32);
        }
        inv.process(&mut buf);
        let cnt = w * (n - 1) + 1;
        // Masses of the sum at x = (j + w/2) DX, untilted.
        let ln_mw = w as f64 * m.ln();
        let mass: Vec<(f64, f64)> = (0..cnt)
            .map(|j| {
                let x = (j as f64 + 0.5 * w as f64) * Self::DX;
                let g = (buf[j].re / len as f64).max(0.0);
                (x, g * (ln_mw - Self::THETA * x).exp())
            })
            .collect();
        let mut tail = vec![(0.0, 0.0); cnt];
        let mut acc = 0.0;
        for j in (0..cnt).rev() {
            // P(sum > x_j - DX/2): the mass at x_j and above.
            acc += mass[j].1;
            tail[j] = (mass[j].0 - 0.5 * Self::DX, acc);
        }
        MaxErlangSum {
            tail,
            mean_one,
            std_one: var_one.sqrt(),
        }
    }

    /// `P(sum > t)`, log-linear interpolation.
    fn p_exceed(&self, t: f64) -> f64 {
        let i = self.tail.partition_point(|&(x, _)| x <= t);
        if i == 0 {
            return 1.0;
        }
        if i >= self.tail.len() {
            return 0.0;
        }
        let (x0, p0) = self.tail[i - 1];
        let (x1, p1) = self.tail[i];
        if p0 <= 0.0 || p1 <= 0.0 {
            return p1;
        }
        (p0.ln() + (p1.ln() - p0.ln()) * (t - x0) / (x1 - x0)).exp()
    }

    /// Smallest `t` with `P(sum > t) <= p`.
    fn threshold(&self, p: f64) -> f64 {
        let (mut lo, mut hi) = (0.0, self.tail.last().map_or(1.0, |t| t.0));
        for _ in 0..80 {
            let mid = 0.5 * (lo + hi);
            if self.p_exceed(mid) > p {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        hi
    }
}

/// Per-format geometry and state.
#[derive(Debug)]
struct Fmt {
    format: u8,
    /// Frames summed coherently per group.
    j: usize,
    /// Hops from each group's window end back from group 3's window end.
    d: [usize; 4],
    /// Repetition period, hops.
    p: i64,
    /// Repetition length, samples.
    rep_len: f64,
    /// Group-3 end minus the end of its coherent window at the best hop, samples.
    end_adjust: f64,
    /// G rows: `depth_g` rows of `PLANES x nb`.
    gring: Vec<f32>,
    depth_g: usize,
    /// Pooled per-repetition statistic R, one row (nb) per hop pair.
    rring: Vec<f32>,
    depth_r: usize,
    /// R of the hop pair so far (max over planes and hops).
    rpair: Vec<f32>,
    /// Threshold of W = 1 and of each tested W >= 2.
    t1: Option<f32>,
    tw: Vec<(u32, f32)>,
    /// Lower threshold of the longest window (`PRE_FACTOR` times its budget): a crossing of
    /// it alone opens a track that only a cell's hop path can confirm (`hops`).
    t_pre: Option<f32>,
    /// Lower threshold of `W = 1` (`PRE_FACTOR` times its budget): a track opened by a
    /// crossing of it alone is confirmed as a single repetition by the fine test
    /// (`format_fit`, against `Core::t_fine`) or, over several, by a cell's hop path.
    t1_pre: Option<f32>,
    tracks: Vec<Track>,
}

/// The fine test's best hypothesis for one format (`Core::format_fit`).
#[derive(Debug, Clone, Copy)]
struct FineFit {
    /// Sum of the four group energies (floor-noise units: Erlang(4) on noise).
    sum: f64,
    /// Start, samples from the origin.
    start: f64,
    /// Each group's energy.
    groups: [f64; 4],
}

impl FineFit {
    /// The energy is spread over the four groups as a preamble's is: not in one group (a
    /// carrier or a strong tone burst on one of the tones: `max <= 3/4` of the sum), and
    /// the two weakest groups carry some of it (a hypothesis shifted by two groups against
    /// a real preamble matches two: `>= 0.12` of the sum); the blind tests' rules.
    /// Measured on the excess over the noise mean (1 per group).
    fn balanced(&self) -> bool {
        let mut g = self.groups.map(|v| v - 1.0);
        g.sort_by(f64::total_cmp);
        let total: f64 = g.iter().sum();
        total > 0.0 && g[3] <= 0.75 * total && g[0] + g[1] >= 0.12 * total
    }
}

/// One threshold crossing.
#[derive(Debug, Clone, Copy)]
struct Hit {
    /// Repetition end (hop of group 3's last frame).
    end: i64,
    /// Centre of the band (W >= 2) or of the pattern's tones (W = 1), bins.
    centre: f64,
    w: u32,
    metric: f64,
    /// Statistic per repetition (value / W).
    level: f64,
}

impl Hit {
    /// A single-repetition crossing of the pre-threshold only.
    fn sub1(&self) -> bool {
        self.w == 1 && self.metric <= 1.0
    }
}

/// The best repetition hypothesis for one band start, read at full resolution.
#[derive(Debug, Clone, Copy, Default)]
struct Cand {
    /// Pattern statistic S.
    s: f32,
    /// First subcarrier in the band, `ñ(0)`.
    n0: u8,
    /// Sub-bin plane (0, 1, 2 for -1/3, 0, +1/3 bin).
    plane: u8,
    /// Repetition end relative to the expected one, hops.
    dh: i8,
    /// Group energies G along the pattern.
    groups: [f32; 4],
    /// Mean excess energy (G - 1) of the 12 off-pattern cells (each group's time at the
    /// other groups' tones).
    off_excess: f32,
    /// Incoherent group energies: the normalised frame powers at the group tones averaged
    /// over the group's frames (unit mean on noise, like G; a steady tone gives `G - 1`
    /// about J times `I - 1`, energy that moves or is noise-like about as much).
    incoh: [f32; 4],
    /// Local band level at the same time: the normalised frame power around the group
    /// tones (`LOCAL_LO ..= LOCAL_HI` bins to either side) over the group frames, mean of
    /// the four groups, at least 1.
    local: f32,
    /// Estimated tone power (linear, full scale) and noise power per sample.
    power: f64,
    noise: f64,
}

/// What a track read of one repetition at full resolution: the best hypothesis for every
/// band start of its window, and the interpolated offsets of the overall best.
#[derive(Debug, Clone)]
struct LiveRep {
    cands: [Cand; WIN],
    best_j: usize,
    /// Parabolic refinement of the overall best: hops, bins.
    dt: f64,
    df: f64,
    /// Energy gain of the refined peak over the sampled one (time x frequency), for the
    /// power estimate.
    gain: f64,
    /// Envelope moments of the repetition in the best hypothesis' band (raw samples, read
    /// while they are in the history) and the floor's noise per input sample there at the
    /// time.
    env: Option<(Chunk, f64)>,
}

#[derive(Debug, Clone)]
struct RepObs {
    end: i64,
    ring: [f32; WIN],
    live: Option<Box<LiveRep>>,
    /// Excess frame power per bin over the repetition (`Core::line_row`), when its frames
    /// were still in the line ring.
    line: Option<Box<LineRow>>,
}

/// Excess normalised frame power (`p - 1`) summed over the frames of one repetition, per bin
/// of a track's window (`win_lo - LINE_LO ..`), and the number of frames summed.
#[derive(Debug, Clone)]
struct LineRow {
    v: [f32; LINE_BINS],
    frames: f32,
}

#[derive(Debug, Clone)]
struct Track {
    centre: f64,
    grid: i64,
    next_read: i64,
    last_hit_end: i64,
    first_end: i64,
    win_lo: isize,
    obs: Vec<RepObs>,
    best_metric: f64,
    best_w: u32,
    best_level: f64,
    /// Repetition end of the best crossing (its window covers `best_w` repetitions up to it).
    best_end: i64,
    /// Level of the single-repetition crossing that timed the grid (0: none).
    anchor_level: f64,
    /// The grid moved: the repetitions read are read again.
    reanchored: bool,
    /// Opened by a single-repetition crossing of the pre-threshold only (`Fmt::t1_pre`):
    /// such tracks take only such crossings, and no other crossing joins them, so the
    /// tracks of the blind tests are exactly what they would be without them.
    sub1: bool,
}

#[derive(Debug, Clone)]
struct Pending {
    det: Detection,
    fmt: usize,
    start: f64,
    end: f64,
    reps: u32,
    /// Release not before this hop.
    hold: i64,
    /// Excess of the pooled repetition statistic over its noise mean, summed over the extent.
    evidence: f64,
    /// Share of the pattern energy in the two weakest groups of each repetition read at full
    /// resolution (about 0.3 .. 0.5 for a real preamble, near 0 for a hypothesis shifted
    /// by two groups).
    balance: f64,
    /// Repetitions read at full resolution.
    resolved: usize,
    /// The format was named by the fine test (`format_fit`).
    fine_format: bool,
    /// From a track of the single-repetition pre-threshold (`Track::sub1`): it gives way to
    /// any other candidate or recent detection it overlaps.
    sub1: bool,
}

/// The blind NPRACH detector (see the module doc).
pub struct NprachDetector {
    cfg: NprachDetectorConfig,
    stft: Stft,
    core: Core,
}

impl std::fmt::Debug for NprachDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NprachDetector")
            .field("cfg", &self.cfg)
            .field("stats", &self.core.stats)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct Core {
    fs: f64,
    /// Symbol length N = 512 m, hop N/2, bins 4N.
    n: usize,
    hop: usize,
    nb: usize,
    alpha: f32,
    warm: i64,
    wmax: u32,
    mu0: f64,
    /// Price of one repetition in the evidence of a hypothesis: the noise mean of R plus
    /// two standard deviations.
    rep_penalty: f64,
    /// Threshold of the fine test's sum that confirms a single repetition below the blind
    /// threshold (`FINE_SHARE`, `FINE_RATE_FACTOR`).
    t_fine: f64,
    /// The last detections emitted from blind tracks: (start, end) in samples from the
    /// origin and (low, high) edges in Hz; a later `Pending::sub1` that overlaps one is a
    /// duplicate (at most `RECENT_MAX`).
    recent: Vec<(f64, f64, f64, f64)>,
    /// Forward FFT over the fine test's span (`side_level`), planned once.
    side_fft: SideFft,
    /// `(cos, sin)(2 pi j / 12)`, j = 0..5: the phase ramp of the sub-bin offsets.
    phase_ramp: [(f32, f32); 6],
    floor: Vec<f32>,
    /// Frames in a row each bin has been above the floor's clip level (f32: the update
    /// vectorises with the floor's lanes).
    over: Vec<f32>,
    /// `FLOOR_RUN_S` in frames.
    floor_run: f32,
    gain: Vec<f32>,
    /// Normalised spectra (re, im), `depth_x` rows, and the gains applied, `depth_a` rows.
    xr: Vec<f32>,
    xi: Vec<f32>,
    depth_x: usize,
    aring: Vec<f32>,
    depth_a: usize,
    /// Normalised frame powers `|x|^2 a^2`, `depth_a` rows (for the incoherent energies).
    pring: Vec<f32>,
    /// The same summed over blocks of `LINE_BLOCK` hops, `depth_l` rows (the steady-line
    /// test).
    lring: Vec<f32>,
    depth_l: usize,
    /// Scratch.
    pw: Vec<f32>,
    qext: Vec<f32>,
    prefix: Vec<f32>,
    rcur: Vec<f32>,
    st: Vec<f32>,
    acc: Vec<f32>,
    hits: Vec<Hit>,
    /// Crossings of the single-repetition pre-threshold only (`Hit::sub1`), kept apart so
    /// that they never take the place of a blind crossing under `MAX_HITS_PER_HOP`.
    hits_sub1: Vec<Hit>,
    fmts: Vec<Fmt>,
    pending: Vec<Pending>,
    /// Frames since the stream origin; the next frame's index.
    h: i64,
    origin: u64,
    next_sample: Option<u64>,
    stats: NprachStats,
    /// The CPU has AVX2: the per-frame stages run in code compiled for it.
    avx2: bool,
    /// Raw-sample history and the envelope test on it.
    tester: Tester,
}

/// Which blind test a track failed (it may still be confirmed by a hop path).
#[derive(Debug, Clone, Copy)]
enum BlindFail {
    Threshold,
    SingleGroup,
    PartialPattern,
}

/// What the hop-path search made of a track (`refine_by_hops`).
enum HopSearch {
    /// A cell's path explains the repetitions: the fit, the refined extent and band start.
    Fit(hops::HopFit, usize, usize, usize),
    /// No path's energy reaches the threshold, or the path's extent holds no repetition
    /// read at full resolution: the blind result stands.
    Weak,
    /// The best path has the energy but not a preamble's shape (`hops::NoFit::Unlike`).
    NoPath,
    /// The best path confirming a track below the blind thresholds finds nearly all its
    /// energy at one subcarrier (`hops::NoFit::OneTone`).
    OneTone,
    /// Not searched (too few repetitions, a gap, or repetitions no longer in the history).
    NotSearched,
}

/// Fewest repetitions in a blind extent whose best hop path must not be `Unlike` (with at
/// most `hops::HISTORY_REPS`, all in the raw history): from 4 repetitions on, the
/// preambles of the evaluations near the sensitivity limit had a path or a `Weak` one
/// (`nprach_eval pd`, see docs/DETECTION.md); 2 repetitions near the limit rarely have one.
const HOP_PATH_MIN_REPS: usize = 4;

/// The four sign patterns (s1, s2): tones of groups 0..3 relative to group 0 are
/// `0, 4 s1, 4 s1 + 24 s2, 24 s2` bins.
const PATTERNS: [(isize, isize); 4] = [(1, 1), (1, -1), (-1, 1), (-1, -1)];

fn pattern_offsets(p: usize) -> [isize; 4] {
    let (s1, s2) = PATTERNS[p];
    [0, HOP1 * s1, HOP1 * s1 + HOP6 * s2, HOP6 * s2]
}

/// The sign pattern of a repetition whose first group is at `ñ(0) = n0` (10.1.6.1).
fn pattern_of(n0: usize) -> usize {
    let s1 = if n0 % 2 == 0 { 1 } else { -1 };
    let n1 = n0 as isize + s1;
    let s2 = if n1 < 6 { 1 } else { -1 };
    PATTERNS.iter().position(|&p| p == (s1, s2)).unwrap_or(0)
}

/// Tones of pattern `p` relative to group 0, in subcarriers.
fn pattern_subcarriers(p: usize) -> [isize; 4] {
    let o = pattern_offsets(p);
    [o[0] / HOP1, o[1] / HOP1, o[2] / HOP1, o[3] / HOP1]
}

impl NprachDetector {
    /// Builds the detector: plans the STFT, sizes every buffer, computes the thresholds.
    pub fn new(cfg: NprachDetectorConfig) -> Result<Self, NprachConfigError> {
        cfg.validate()?;
        let m = lte_rate_multiple(cfg.sample_rate_hz).unwrap_or(1) as usize;
        let n = 512 * m;
        let hop = n / 2;
        let nb = PAD * n;
        let stft = Stft::new(StftConfig {
            window_len: n,
            fft_len: nb,
            hop,
            window: Window::Rectangular,
            phase_reference: PhaseReference::Stream,
        })
        .map_err(NprachConfigError::Stft)?;
        let fs = cfg.sample_rate_hz;
        let hops_per_hour = fs / hop as f64 * 3600.0;
        let mut formats = cfg.formats.clone();
        formats.sort_unstable();
        formats.dedup();
        let mut windows = cfg.window_reps.clone();
        windows.sort_unstable();
        windows.dedup();
        let wmax = windows.iter().copied().max().unwrap_or(1);
        let families = (formats.len() * windows.len()) as f64;
        let p_family = cfg.false_alarms_per_hour / families;
        let tests_w1 = EFFECTIVE_TESTS_W1 * (PLANES * nb * 4) as f64 * hops_per_hour;
        let t1 = windows
            .contains(&1)
            .then(|| erlang_threshold(4, tests_w1, p_family) as f32);
        let tests_multi = EFFECTIVE_TESTS_MULTI * nb as f64 * hops_per_hour / 2.0;
        let tw: Vec<(u32, f32)> = windows
            .iter()
            .filter(|&&w| w >= 2)
            .map(|&w| {
                let d = MaxErlangSum::new(REP_STAT_MAXIMA, w);
                (w, d.threshold(p_family / tests_multi) as f32)
            })
            .collect();
        let pre_rate = (PRE_FACTOR * p_family).min(PRE_MAX_PER_HOUR);
        let t1_pre = (windows.contains(&1) && pre_rate > p_family)
            .then(|| erlang_threshold(4, tests_w1, pre_rate) as f32);
        let t_fine = erlang_threshold(4, FINE_RATE_FACTOR * tests_w1, FINE_SHARE * p_family);
        let t_pre = (wmax >= 2 && pre_rate > p_family).then(|| {
            let d = MaxErlangSum::new(REP_STAT_MAXIMA, wmax);
            d.threshold(pre_rate / tests_multi) as f32
        });
        let one = MaxErlangSum::new(REP_STAT_MAXIMA, 1);
        let mu0 = one.mean_one;
        let rep_penalty = one.mean_one + 2.0 * one.std_one;
        let jmax = formats
            .iter()
            .map(|&f| if f == 0 { 5 } else { 6 })
            .max()
            .unwrap_or(6);
        let mut fmts = Vec::new();
        let mut dmax = 0;
        for &f in &formats {
            let (j, d, p) = if f == 0 {
                (5, [31, 21, 10, 0], 42)
            } else {
                (6, [36, 24, 12, 0], 48)
            };
            dmax = dmax.max(d[0]);
            let depth_g = d[0] + 2 * READ_DELAY as usize + 2;
            let p_dec = p / 2;
            let depth_r = 8 * p_dec + 6;
            let rep_len = 4.0 * FMT_GROUP_192[f as usize] as f64 * m as f64;
            fmts.push(Fmt {
                format: f,
                j,
                d,
                p: p as i64,
                rep_len,
                end_adjust: if f == 0 { n as f64 / 8.0 } else { 0.0 },
                gring: vec![0.0; depth_g * PLANES * (nb + HALO_LO + HALO_HI)],
                depth_g,
                rring: vec![0.0; depth_r * nb],
                depth_r,
                rpair: vec![0.0; nb],
                t1,
                tw: tw.clone(),
                t_pre,
                t1_pre,
                tracks: Vec::new(),
            });
        }
        let depth_x = 2 * (jmax - 1) + 1;
        let depth_a = dmax + 2 * READ_DELAY as usize + 2 * (jmax - 1) + 3;
        // Ten repetitions of the longer format and the read delay: the eight a track
        // back-fills before its first crossing are still there.
        let pmax = if formats.contains(&1) { 48 } else { 42 };
        let depth_l = (10 * pmax + 2 * READ_DELAY as usize) / LINE_BLOCK as usize + 2;
        let frames_per_s = fs / hop as f64;
        let alpha = (1.0 / (cfg.noise_time_constant_s * frames_per_s)).min(0.5) as f32;
        let warm = ((cfg.warmup_s * frames_per_s).ceil() as i64).max(2 * jmax as i64);
        let tl = TILE.min(nb);
        let core = Core {
            fs,
            n,
            hop,
            nb,
            alpha,
            warm,
            wmax,
            mu0,
            rep_penalty,
            t_fine,
            recent: Vec::new(),
            side_fft: SideFft(FftPlanner::<f64>::new().plan_fft_forward(fmt_span_192())),
            phase_ramp: std::array::from_fn(|j| {
                let a = 2.0 * std::f64::consts::PI * j as f64 / 12.0;
                (a.cos() as f32, a.sin() as f32)
            }),
            floor: vec![0.0; nb],
            over: vec![0.0; nb],
            floor_run: (FLOOR_RUN_S * frames_per_s).ceil() as f32,
            gain: vec![0.0; nb],
            xr: vec![0.0; depth_x * nb],
            xi: vec![0.0; depth_x * nb],
            depth_x,
            aring: vec![0.0; depth_a * nb],
            depth_a,
            pring: vec![0.0; depth_a * nb],
            lring: vec![0.0; depth_l * nb],
            depth_l,
            pw: vec![0.0; nb],
            qext: vec![0.0; nb + 2 * (CFAR_GUARD + CFAR_HALF)],
            prefix: vec![0.0; nb + 2 * (CFAR_GUARD + CFAR_HALF) + 1],
            rcur: vec![0.0; nb],
            st: vec![0.0; 4 * (tl + 44)],
            acc: vec![0.0; nb],
            hits: Vec::with_capacity(MAX_HITS_PER_HOP),
            hits_sub1: Vec::with_capacity(MAX_HITS_PER_HOP),
            fmts,
            pending: Vec::new(),
            h: 0,
            origin: 0,
            next_sample: None,
            stats: NprachStats::default(),
            avx2: false,
            tester: Tester::new((HISTORY_S * cfg.sample_rate_hz).ceil() as usize),
        };
        let mut core = core;
        #[cfg(target_arch = "x86_64")]
        {
            core.avx2 = std::arch::is_x86_feature_detected!("avx2");
        }
        Ok(NprachDetector { cfg, stft, core })
    }

    /// The configuration.
    pub fn config(&self) -> &NprachDetectorConfig {
        &self.cfg
    }

    /// Counters since construction or [`NprachDetector::reset`].
    pub fn stats(&self) -> &NprachStats {
        &self.core.stats
    }

    /// Threshold of each tested family as `(format, window, threshold)`; the statistic is
    /// in units of the per-bin noise energy (see the module doc).
    pub fn thresholds(&self) -> Vec<(u8, u32, f64)> {
        let mut v = Vec::new();
        for f in &self.core.fmts {
            if let Some(t) = f.t1 {
                v.push((f.format, 1, t as f64));
            }
            for &(w, t) in &f.tw {
                v.push((f.format, w, t as f64));
            }
        }
        v
    }

    /// Consumes a block whose first sample has stamp `first_sample`; detections whose
    /// preamble is complete are appended to `out`. A stamp that does not follow the previous
    /// block is a gap: what is pending is emitted and all state is dropped.
    pub fn process(&mut self, first_sample: u64, x: &[Complex32], out: &mut Vec<Detection>) {
        if let Some(s) = self.core.next_sample {
            if s != first_sample {
                self.core.stats.gaps += 1;
                self.core.flush(out);
                self.core.clear();
                self.stft.reset();
            }
        }
        if self.core.next_sample.is_none() {
            self.core.origin = first_sample;
        }
        self.core.next_sample = Some(first_sample + x.len() as u64);
        self.core.stats.samples += x.len() as u64;
        self.core.tester.hist.push(first_sample, x);
        let core = &mut self.core;
        self.stft
            .process(first_sample, x, |f| core.frame(f.spectrum, out));
    }

    /// Ends the stream: every open candidate is decided and emitted; the next block starts a
    /// new stream.
    pub fn finish(&mut self, out: &mut Vec<Detection>) {
        self.core.flush(out);
        self.core.clear();
        self.stft.reset();
    }

    /// Drops all state and counters.
    pub fn reset(&mut self) {
        self.core.clear();
        self.core.stats = NprachStats::default();
        self.stft.reset();
    }
}

fn wrap(i: isize, n: usize) -> usize {
    i.rem_euclid(n as isize) as usize
}

/// Circular difference `a - b` in `(-n/2, n/2]`.
fn cdiff(a: f64, b: f64, n: usize) -> f64 {
    let n = n as f64;
    let d = (a - b).rem_euclid(n);
    if d > n / 2.0 {
        d - n
    } else {
        d
    }
}

/// Offset of the vertex of the parabola through (-1, a), (0, b), (1, c), clamped to ±0.5.
fn parabolic(a: f64, b: f64, c: f64) -> f64 {
    let den = a - 2.0 * b + c;
    if den >= 0.0 {
        return 0.0;
    }
    (0.5 * (a - c) / den).clamp(-0.5, 0.5)
}

/// Ratio of the parabola's vertex value to the middle sample `b` (>= 1, capped at 2).
fn vertex_gain(a: f64, b: f64, c: f64) -> f64 {
    let d = parabolic(a, b, c);
    if b <= 0.0 {
        return 1.0;
    }
    let v = b - 0.25 * (a - c) * d;
    (v / b).clamp(1.0, 2.0)
}

impl Core {
    /// Forgets the stream (keeps the counters).
    fn clear(&mut self) {
        self.floor.iter_mut().for_each(|v| *v = 0.0);
        self.over.iter_mut().for_each(|v| *v = 0.0);
        self.xr.iter_mut().for_each(|v| *v = 0.0);
        self.xi.iter_mut().for_each(|v| *v = 0.0);
        self.aring.iter_mut().for_each(|v| *v = 0.0);
        self.pring.iter_mut().for_each(|v| *v = 0.0);
        self.lring.iter_mut().for_each(|v| *v = 0.0);
        for f in &mut self.fmts {
            f.gring.iter_mut().for_each(|v| *v = 0.0);
            f.rring.iter_mut().for_each(|v| *v = 0.0);
            f.tracks.clear();
        }
        self.pending.clear();
        self.recent.clear();
        self.h = 0;
        self.next_sample = None;
    }

    /// Decides every open track and releases every pending detection.
    fn flush(&mut self, out: &mut Vec<Detection>) {
        for fi in 0..self.fmts.len() {
            let tracks = std::mem::take(&mut self.fmts[fi].tracks);
            for t in tracks {
                self.finalize(fi, t);
            }
        }
        self.release(i64::MAX, out);
    }

    fn bins_hz(&self) -> f64 {
        self.fs / self.nb as f64
    }

    /// One STFT frame: in code compiled for AVX2 when the CPU has it (same arithmetic, wider
    /// vectors: the results are identical).
    fn frame(&mut self, spec: &[Complex32], out: &mut Vec<Detection>) {
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            // SAFETY: `avx2` is set only when the CPU reports AVX2 (`new`).
            unsafe { self.frame_avx2(spec, out) };
            return;
        }
        self.frame_body(spec, out);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn frame_avx2(&mut self, spec: &[Complex32], out: &mut Vec<Detection>) {
        self.frame_body(spec, out);
    }

    #[inline(always)]
    fn frame_body(&mut self, spec: &[Complex32], out: &mut Vec<Detection>) {
        let h = self.h;
        self.stats.frames += 1;
        self.normalise(spec, h);
        if h >= 2 * 5 {
            self.coherent(h);
        }
        for fi in 0..self.fmts.len() {
            self.patterns(fi, h);
            self.tracks_step(fi, h);
        }
        self.release(h, out);
        self.stats.cells_below_threshold =
            self.stats.cells_tested.saturating_sub(self.stats.crossings);
        self.h += 1;
    }

    /// Noise floor, CFAR and normalisation of frame `h` into the rings.
    #[inline(always)]
    fn normalise(&mut self, spec: &[Complex32], h: i64) {
        let nb = self.nb;
        let spec = &spec[..nb];
        // Gains from the floor before this frame (causal): the larger of the bin's own floor
        // and its mean over +-FLOOR_SMOOTH bins. The noise spectrum is smooth, so the mean is
        // the better estimate; the max keeps a carrier's own bins at the carrier's level and
        // removes the harmful (low) side of the estimation noise.
        {
            const S: usize = FLOOR_SMOOTH;
            self.qext[S..S + nb].copy_from_slice(&self.floor);
            self.qext.copy_within(nb..nb + S, 0);
            self.qext.copy_within(S..2 * S, S + nb);
            self.prefix[0] = 0.0;
            let mut acc = 0.0f32;
            for (pre, &q) in self.prefix[1..nb + 2 * S + 1].iter_mut().zip(&self.qext) {
                acc += q;
                *pre = acc;
            }
            let inv = 1.0 / (2 * S + 1) as f32;
            let hi = &self.prefix[2 * S + 1..2 * S + 1 + nb];
            let lo = &self.prefix[..nb];
            for (((g, &f), &a), &b) in self.gain.iter_mut().zip(&self.floor).zip(hi).zip(lo) {
                let m = (a - b) * inv;
                let f = if m > f { m } else { f };
                *g = if f > 0.0 { 1.0 / f.sqrt() } else { 0.0 };
            }
        }
        for (p, s) in self.pw.iter_mut().zip(spec) {
            *p = s.re * s.re + s.im * s.im;
        }
        // Floor update: plain mean for the first frames, then a recursive mean of the values
        // under `FLOOR_CLIP x floor`, whose fixed point is the mean of an exponential variable
        // (E[p | p < c m] = m (1 - (1 + c) e^-c) / (1 - e^-c)). Values above are left out:
        // clipped, they lifted the floor under a long strong preamble, whose tone and
        // sidelobes keep every bin of its band above the clip level more than a quarter of
        // the time (the clipped mean diverges then). A bin above for `FLOOR_RUN_S` in a row
        // enters clipped (E[min(p, c m)] = m (1 - e^-c)) and climbs to its new level.
        let a = self.alpha.max(1.0 / (h as f32 + 1.0));
        if h < 16 {
            for (f, &p) in self.floor.iter_mut().zip(&self.pw) {
                *f += a * (p - *f);
            }
        } else {
            let c = FLOOR_CLIP;
            let corr_in = (1.0 - (-c).exp()) / (1.0 - (1.0 + c) * (-c).exp());
            let corr_clip = 1.0 / (1.0 - (-c).exp());
            let run = self.floor_run;
            // Branch-free (selects), so that it vectorises.
            for ((f, &p), r) in self.floor.iter_mut().zip(&self.pw).zip(&mut self.over) {
                let lim = c * *f;
                let inside = p < lim;
                *r = if inside { 0.0 } else { *r + 1.0 };
                let target = if inside {
                    p * corr_in
                } else if *r > run {
                    lim * corr_clip
                } else {
                    *f
                };
                *f += a * (target - *f);
            }
        }
        // CFAR on the normalised powers: circular extension, prefix sums, window sums.
        const W: usize = CFAR_GUARD + CFAR_HALF;
        {
            let q = &mut self.qext[W..W + nb];
            for ((q, &p), &g) in q.iter_mut().zip(&self.pw).zip(&self.gain) {
                *q = p * g * g;
            }
        }
        self.qext.copy_within(nb..nb + W, 0);
        self.qext.copy_within(W..2 * W, W + nb);
        self.prefix[0] = 0.0;
        let mut acc = 0.0f32;
        for (pre, &q) in self.prefix[1..].iter_mut().zip(&self.qext) {
            acc += q;
            *pre = acc;
        }
        let inv_cells = 1.0 / (2 * CFAR_HALF) as f32;
        let pre = &self.prefix;
        let arow = (h as usize) % self.depth_a;
        let arow = &mut self.aring[arow * nb..(arow + 1) * nb];
        // L_k = sum over bins k-W..k-G-1 and k+G+1..k+W (prefix index = W + bin).
        let l_lo_hi = &pre[W - CFAR_GUARD..W - CFAR_GUARD + nb];
        let l_lo_lo = &pre[0..nb];
        let r_hi = &pre[2 * W + 1..2 * W + 1 + nb];
        let r_lo = &pre[W + CFAR_GUARD + 1..W + CFAR_GUARD + 1 + nb];
        for (((((o, &a), &b), &c), &d), &g) in arow
            .iter_mut()
            .zip(l_lo_hi)
            .zip(l_lo_lo)
            .zip(r_hi)
            .zip(r_lo)
            .zip(&self.gain)
        {
            let l = ((a - b) + (c - d)) * inv_cells;
            let s = if l > CFAR_GAMMA {
                (CFAR_GAMMA / l).sqrt()
            } else {
                1.0
            };
            *o = g * s;
        }
        let prow = &mut self.pring[(h as usize % self.depth_a) * nb..][..nb];
        for ((q, &p), &g) in prow.iter_mut().zip(&self.pw).zip(&*arow) {
            *q = p * g * g;
        }
        let lrow = &mut self.lring[((h / LINE_BLOCK) as usize % self.depth_l) * nb..][..nb];
        if h % LINE_BLOCK == 0 {
            lrow.copy_from_slice(prow);
        } else {
            add_into(lrow, prow);
        }
        let row = (h as usize) % self.depth_x;
        let xr = &mut self.xr[row * nb..(row + 1) * nb];
        let xi = &mut self.xi[row * nb..(row + 1) * nb];
        for (((r, i), s), &g) in xr.iter_mut().zip(xi.iter_mut()).zip(spec).zip(&*arow) {
            *r = s.re * g;
            *i = s.im * g;
        }
    }

    /// Coherent group energies of the groups whose window ends at frame `h`.
    #[inline(always)]
    fn coherent(&mut self, h: i64) {
        let nb = self.nb;
        let dx = self.depth_x as i64;
        let rows: [usize; 6] =
            std::array::from_fn(|j| ((h - 10 + 2 * j as i64).rem_euclid(dx)) as usize);
        let warm = h >= self.warm;
        let ps = nb + HALO_LO + HALO_HI;
        if warm && self.fmts.len() == 2 && self.fmts[0].j == 5 && self.fmts[1].j == 6 {
            // Both formats in one pass over the frames (same arithmetic per format).
            let (fa, fb) = self.fmts.split_at_mut(1);
            let (f5, f6) = (&mut fa[0], &mut fb[0]);
            let r5 = (h as usize) % f5.depth_g;
            let r6 = (h as usize) % f6.depth_g;
            let g5 = &mut f5.gring[r5 * PLANES * ps..(r5 + 1) * PLANES * ps];
            let g6 = &mut f6.gring[r6 * PLANES * ps..(r6 + 1) * PLANES * ps];
            let (m5, rest) = g5.split_at_mut(ps);
            let (z5, p5) = rest.split_at_mut(ps);
            let (m6, rest) = g6.split_at_mut(ps);
            let (z6, p6) = rest.split_at_mut(ps);
            let d = HALO_LO..HALO_LO + nb;
            let r: [&[f32]; 6] = std::array::from_fn(|i| &self.xr[rows[i] * nb..][..nb]);
            let im: [&[f32]; 6] = std::array::from_fn(|i| &self.xi[rows[i] * nb..][..nb]);
            coherent_rows_56(
                r,
                im,
                &self.phase_ramp,
                [&mut m5[d.clone()], &mut z5[d.clone()], &mut p5[d.clone()]],
                [&mut m6[d.clone()], &mut z6[d.clone()], &mut p6[d.clone()]],
            );
            for plane in [m5, z5, p5, m6, z6, p6] {
                plane.copy_within(nb..nb + HALO_LO, 0);
                plane.copy_within(HALO_LO..HALO_LO + HALO_HI, HALO_LO + nb);
            }
            return;
        }
        for fi in 0..self.fmts.len() {
            let f = &mut self.fmts[fi];
            let grow = (h as usize) % f.depth_g;
            let g = &mut f.gring[grow * PLANES * ps..(grow + 1) * PLANES * ps];
            if !warm {
                g.iter_mut().for_each(|v| *v = 0.0);
                continue;
            }
            let (gm, rest) = g.split_at_mut(ps);
            let (g0, gp) = rest.split_at_mut(ps);
            let d = HALO_LO..HALO_LO + nb;
            let xr = &self.xr;
            let xi = &self.xi;
            if f.j == 5 {
                let r: [&[f32]; 5] = std::array::from_fn(|i| &xr[rows[i + 1] * nb..][..nb]);
                let im: [&[f32]; 5] = std::array::from_fn(|i| &xi[rows[i + 1] * nb..][..nb]);
                coherent_rows::<5>(
                    r,
                    im,
                    &self.phase_ramp,
                    &mut gm[d.clone()],
                    &mut g0[d.clone()],
                    &mut gp[d.clone()],
                );
            } else {
                let r: [&[f32]; 6] = std::array::from_fn(|i| &xr[rows[i] * nb..][..nb]);
                let im: [&[f32]; 6] = std::array::from_fn(|i| &xi[rows[i] * nb..][..nb]);
                coherent_rows::<6>(
                    r,
                    im,
                    &self.phase_ramp,
                    &mut gm[d.clone()],
                    &mut g0[d.clone()],
                    &mut gp[d.clone()],
                );
            }
            for plane in [gm, g0, gp] {
                plane.copy_within(nb..nb + HALO_LO, 0);
                plane.copy_within(HALO_LO..HALO_LO + HALO_HI, HALO_LO + nb);
            }
        }
    }

    /// Plane `plane` of the G row of hop `h`, with its circular halo: bin k is at
    /// `HALO_LO + k`, bins -HALO_LO .. nb + HALO_HI are valid.
    fn grow_ext(f: &Fmt, nb: usize, h: i64, plane: usize) -> &[f32] {
        let ps = nb + HALO_LO + HALO_HI;
        let r = (h.rem_euclid(f.depth_g as i64)) as usize;
        let base = r * PLANES * ps + plane * ps;
        &f.gring[base..base + ps]
    }

    /// The `nb` bins of plane `plane` of the G row of hop `h`.
    fn grow(f: &Fmt, nb: usize, h: i64, plane: usize) -> &[f32] {
        &Self::grow_ext(f, nb, h, plane)[HALO_LO..HALO_LO + nb]
    }

    /// Pattern statistics of the repetition ending at hop `h`: W = 1 test, pooled R, and the
    /// W >= 2 tests on hop pairs.
    #[inline(always)]
    fn patterns(&mut self, fi: usize, h: i64) {
        let nb = self.nb;
        let f = &self.fmts[fi];
        let ready = h >= self.warm + f.d[0] as i64 + 2 * f.j as i64;
        if ready {
            self.rcur_compute(fi, h);
        } else {
            self.rcur.iter_mut().for_each(|v| *v = 0.0);
        }
        // Pair pooling and the multi-repetition tests.
        let f = &mut self.fmts[fi];
        if h % 2 == 0 {
            f.rpair.copy_from_slice(&self.rcur);
            return;
        }
        max_into(&mut f.rpair, &self.rcur);
        let hp = h / 2;
        let row = (hp as usize) % f.depth_r;
        f.rring[row * nb..(row + 1) * nb].copy_from_slice(&f.rpair);
        if !ready || f.tw.is_empty() {
            return;
        }
        let p_dec = (f.p / 2) as usize;
        let mut wi = 0;
        for r in 1..self.wmax as usize {
            let rr = ((hp as usize + f.depth_r * 8) - r * p_dec) % f.depth_r;
            let older = &f.rring[rr * nb..(rr + 1) * nb];
            if r == 1 {
                add2(&mut self.acc, &f.rpair, older);
            } else {
                add_into(&mut self.acc, older);
            }
            let w = (r + 1) as u32;
            while wi < f.tw.len() && f.tw[wi].0 < w {
                wi += 1;
            }
            if wi >= f.tw.len() || f.tw[wi].0 != w {
                continue;
            }
            let t = f.tw[wi].1;
            // The longest window is tested at its pre-threshold (crossings below `t` carry a
            // metric below 1).
            let t_test = match f.t_pre {
                Some(tp) if w == self.wmax => tp.min(t),
                _ => t,
            };
            self.stats.cells_tested += nb as u64;
            let cnt = count_above(&self.acc, t_test);
            if cnt == 0 {
                continue;
            }
            self.stats.crossings += cnt as u64;
            for (k, &v) in self.acc.iter().enumerate() {
                if v > t_test {
                    if self.hits.len() >= MAX_HITS_PER_HOP {
                        self.stats.crossings_dropped += 1;
                        continue;
                    }
                    self.hits.push(Hit {
                        end: 2 * hp,
                        centre: (k as f64 + 22.0).rem_euclid(nb as f64),
                        w,
                        metric: (v / t) as f64,
                        level: v as f64 / w as f64,
                    });
                }
            }
        }
    }

    /// Per tile and plane: S for the four patterns, the W = 1 test, and R pooled into rcur.
    #[inline(always)]
    fn rcur_compute(&mut self, fi: usize, h: i64) {
        let nb = self.nb;
        let tl = TILE.min(nb);
        let slen = tl + 44;
        let f = &self.fmts[fi];
        for plane in 0..PLANES {
            let g: [&[f32]; 4] =
                std::array::from_fn(|gi| Self::grow_ext(f, nb, h - f.d[gi] as i64, plane));
            for k0 in (0..nb).step_by(tl) {
                Self::pattern_tile(&mut self.st, g, k0, slen);
                let st: [&[f32]; 4] = std::array::from_fn(|p| &self.st[p * slen..(p + 1) * slen]);
                pooled_max(&mut self.rcur[k0..k0 + tl], st, plane == 0);
            }
        }
        let Some(t1) = f.t1 else { return };
        // Tested at the pre-threshold (crossings below `t1` carry a metric below 1).
        let t = f.t1_pre.map_or(t1, |tp| tp.min(t1));
        self.stats.cells_tested += (4 * PLANES * nb) as u64;
        // Exact gate: every S_p at bin i is one of the values pooled into R at band start
        // i - (offset of p), so S crosses nowhere unless R crosses somewhere.
        if count_above(&self.rcur, t) == 0 {
            return;
        }
        for plane in 0..PLANES {
            let g: [&[f32]; 4] =
                std::array::from_fn(|gi| Self::grow_ext(f, nb, h - f.d[gi] as i64, plane));
            for k0 in (0..nb).step_by(tl) {
                Self::pattern_tile(&mut self.st, g, k0, slen);
                let st: [&[f32]; 4] = std::array::from_fn(|p| &self.st[p * slen..p * slen + tl]);
                for i in 0..tl {
                    if fmax(fmax(st[0][i], st[1][i]), fmax(st[2][i], st[3][i])) <= t {
                        continue;
                    }
                    for (p, s) in st.iter().enumerate() {
                        let v = s[i];
                        if v <= t {
                            continue;
                        }
                        self.stats.crossings += 1;
                        let buf = if v > t1 {
                            &mut self.hits
                        } else {
                            &mut self.hits_sub1
                        };
                        if buf.len() >= MAX_HITS_PER_HOP {
                            self.stats.crossings_dropped += 1;
                            continue;
                        }
                        let (ps1, ps2) = PATTERNS[p];
                        let tone0 = (k0 + i) as f64 + (plane as f64 - 1.0) / 3.0;
                        let centre = tone0 + (2 * ps1 + 12 * ps2) as f64;
                        buf.push(Hit {
                            end: h,
                            centre: centre.rem_euclid(nb as f64),
                            w: 1,
                            metric: (v / t1) as f64,
                            level: v as f64,
                        });
                    }
                }
            }
        }
    }

    /// The four pattern sums of the tile starting at bin `k0` into `st` (rows of `slen`).
    #[inline(always)]
    fn pattern_tile(st: &mut [f32], g: [&[f32]; 4], k0: usize, slen: usize) {
        let (s_pp, rest) = st.split_at_mut(slen);
        let (s_pm, rest) = rest.split_at_mut(slen);
        let (s_mp, s_mm) = rest.split_at_mut(slen);
        pattern_sums(
            [s_pp, s_pm, s_mp, &mut s_mm[..slen]],
            [g[0], g[1], g[2], g[3]],
            HALO_LO + k0,
        );
    }

    /// S of pattern `p` with group 0 at (`k`, `plane`), repetition ending at hop `end`.
    fn s_at(&self, fi: usize, end: i64, k: isize, plane: usize, p: usize) -> f32 {
        let f = &self.fmts[fi];
        let o = pattern_offsets(p);
        (0..4)
            .map(|g| Self::grow(f, self.nb, end - f.d[g] as i64, plane)[wrap(k + o[g], self.nb)])
            .sum()
    }

    /// Value at a fine position u = 3 k + plane - 1 (312.5 Hz grid).
    fn s_fine(&self, fi: usize, end: i64, u: isize, p: usize) -> f32 {
        let v = u + 1;
        let k = v.div_euclid(3);
        let plane = v.rem_euclid(3) as usize;
        self.s_at(fi, end, k, plane, p)
    }

    /// Associates this hop's crossings, reads due repetitions, decides expired tracks.
    fn tracks_step(&mut self, fi: usize, h: i64) {
        let hits = std::mem::take(&mut self.hits);
        let hits_sub1 = std::mem::take(&mut self.hits_sub1);
        let nb = self.nb;
        for hit in hits.iter().chain(&hits_sub1) {
            let p = self.fmts[fi].p;
            let found = self.fmts[fi].tracks.iter().position(|t| {
                if t.sub1 != hit.sub1() {
                    return false;
                }
                let dt = (hit.end - t.grid).rem_euclid(p);
                let dt = dt.min(p - dt);
                // A crossing implies band starts (centre - 14, - 22, - 30 bins for one
                // repetition, centre - 22 for several); one must lie in the track's window.
                let band_ok = |off: f64| {
                    let d = cdiff(hit.centre - off, t.win_lo as f64, nb);
                    (-4.0..=(WIN as f64 + 3.0)).contains(&d)
                };
                let band = if hit.w == 1 {
                    band_ok(14.0) || band_ok(22.0) || band_ok(30.0)
                } else {
                    band_ok(22.0)
                };
                // After a silence the continuation must sit on the grid itself (the second
                // half of a preamble after the 40 ms gap is 6 or 12 hops off it).
                let tol = if hit.end > t.last_hit_end + 2 * p {
                    3
                } else {
                    ASSOC_HOPS
                };
                band && dt <= tol
                    && hit.end >= t.first_end - p
                    && hit.end <= t.last_hit_end + (self.wmax as i64 + 2) * p
            });
            match found {
                Some(i) => {
                    let t = &mut self.fmts[fi].tracks[i];
                    let rep_end =
                        t.grid + ((hit.end - t.grid) as f64 / p as f64).round() as i64 * p;
                    t.last_hit_end = t.last_hit_end.max(rep_end);
                    if hit.metric > t.best_metric {
                        t.best_metric = hit.metric;
                        t.best_w = hit.w;
                        t.best_level = hit.level;
                        t.best_end = rep_end;
                    }
                    // Single-repetition crossings time the grid best; re-anchor on the
                    // strongest (repetitions already read keep their ends).
                    if hit.w == 1 && hit.level > t.anchor_level {
                        t.anchor_level = hit.level;
                        let shift = hit.end - rep_end;
                        if shift != 0 {
                            t.grid += shift;
                            t.next_read += shift;
                            t.reanchored = true;
                        }
                        // Before anything is read at full resolution, the strongest single
                        // repetition also centres the band window (the first crossing may
                        // be a partial match with another band).
                        let win_lo = hit.centre.round() as isize - WIN_BACK;
                        if win_lo != t.win_lo && t.obs.iter().all(|o| o.live.is_none()) {
                            t.centre = hit.centre;
                            t.win_lo = win_lo;
                            t.reanchored = true;
                        }
                    }
                }
                None => {
                    if self.fmts[fi].tracks.len() >= MAX_TRACKS {
                        self.stats.tracks_dropped += 1;
                        continue;
                    }
                    self.stats.tracks += 1;
                    let t = self.open_track(fi, hit, h);
                    self.fmts[fi].tracks.push(t);
                }
            }
        }
        let (mut hits, mut hits_sub1) = (hits, hits_sub1);
        hits.clear();
        hits_sub1.clear();
        self.hits = hits;
        self.hits_sub1 = hits_sub1;
        // Reads.
        let mut tracks = std::mem::take(&mut self.fmts[fi].tracks);
        for t in tracks.iter_mut() {
            if t.reanchored {
                t.reanchored = false;
                let p = self.fmts[fi].p;
                let grid = t.grid;
                let win_lo = t.win_lo;
                let mut reread: Option<i64> = None;
                t.obs.retain_mut(|o| {
                    let r = ((o.end - grid) as f64 / p as f64).round() as i64;
                    let end = grid + r * p;
                    if (end - o.end).abs() > 2 && o.live.is_some() {
                        // Read around a different time: read it again while the group
                        // energies are still in the ring, else keep only the ring.
                        if h - end <= 2 * READ_DELAY - 4 {
                            reread = Some(reread.map_or(end, |x: i64| x.min(end)));
                            return false;
                        }
                        o.live = None;
                    }
                    o.end = end;
                    o.ring = self.ring_values(fi, o.end, win_lo);
                    o.line = self.line_row(o.end, p, win_lo, h);
                    true
                });
                if let Some(e) = reread {
                    t.next_read = t.next_read.min(e + READ_DELAY);
                }
            }
            while t.next_read <= h {
                let end = t.next_read - READ_DELAY;
                let mut ob = self.read_rep(fi, t, end, h);
                if let Some(l) = ob.live.as_deref_mut() {
                    // The band's noise just before the repetition only for the first one
                    // read: before the later ones that span holds the earlier repetitions.
                    let first = t.obs.iter().all(|o| o.live.is_none());
                    l.env = self.rep_envelope(fi, t.win_lo, end, l, first);
                }
                t.obs.push(ob);
                t.next_read += self.fmts[fi].p;
            }
        }
        // Expired tracks.
        let p = self.fmts[fi].p;
        let limit = (self.wmax as i64 + 1) * p;
        let mut i = 0;
        while i < tracks.len() {
            let last_read = tracks[i].next_read - READ_DELAY - p;
            if last_read - tracks[i].last_hit_end >= limit {
                let t = tracks.remove(i);
                self.finalize(fi, t);
            } else {
                i += 1;
            }
        }
        self.fmts[fi].tracks = tracks;
    }

    fn open_track(&self, fi: usize, hit: &Hit, h: i64) -> Track {
        let f = &self.fmts[fi];
        let p = f.p;
        let centre = hit.centre;
        let win_lo = centre.round() as isize - WIN_BACK;
        let mut t = Track {
            centre,
            grid: hit.end,
            next_read: hit.end + READ_DELAY,
            last_hit_end: hit.end,
            first_end: hit.end,
            win_lo,
            obs: Vec::with_capacity(32),
            best_metric: hit.metric,
            best_w: hit.w,
            best_level: hit.level,
            best_end: hit.end,
            anchor_level: if hit.w == 1 { hit.level } else { 0.0 },
            reanchored: false,
            sub1: hit.sub1(),
        };
        // Back-fill the repetitions before, from the pooled ring.
        let newest = if h % 2 == 1 { h / 2 } else { h / 2 - 1 };
        for r in (1..=8i64).rev() {
            let end = hit.end - r * p;
            let e2 = end.div_euclid(2);
            if e2 - 1 < 0 || newest - (e2 - 1) >= f.depth_r as i64 - 1 || e2 + 1 > newest {
                continue;
            }
            if 2 * (e2 - 1) < self.warm {
                continue;
            }
            t.obs.push(RepObs {
                end,
                ring: self.ring_values(fi, end, win_lo),
                live: None,
                line: self.line_row(end, p, win_lo, h),
            });
            t.first_end = t.first_end.min(end);
        }
        t
    }

    /// Pooled R at the band starts of a track's window, max over the hop pairs around `end`.
    fn ring_values(&self, fi: usize, end: i64, win_lo: isize) -> [f32; WIN] {
        let f = &self.fmts[fi];
        let nb = self.nb;
        let e2 = end.div_euclid(2);
        let mut v = [0.0f32; WIN];
        for row in (e2 - 1)..=(e2 + 1) {
            if row < 0 {
                continue;
            }
            let r = (row as usize) % f.depth_r;
            let src = &f.rring[r * nb..(r + 1) * nb];
            for (i, x) in v.iter_mut().enumerate() {
                let val = src[wrap(win_lo + i as isize, nb)];
                if val > *x {
                    *x = val;
                }
            }
        }
        v
    }

    /// Envelope moments of the repetition ending near hop `end` in the band of its best
    /// hypothesis (one chunk: the repetition less `ENVELOPE_INSET_S` at each end), and the
    /// noise: the floor's, or with `pre` the band's power before the repetition when lower.
    fn rep_envelope(
        &mut self,
        fi: usize,
        win_lo: isize,
        end: i64,
        l: &LiveRep,
        pre: bool,
    ) -> Option<(Chunk, f64)> {
        let c = l.cands[l.best_j];
        let (a, b) = self.rep_range(fi, end, c.dh);
        let (chunk, floor) = self.band_envelope(a, b, win_lo, l.best_j, c.plane)?;
        let pre = pre
            .then(|| self.noise_before(a, win_lo, l.best_j, c.plane))
            .flatten();
        Some((chunk, pre.map_or(floor, |p| p.min(floor))))
    }

    /// The band's power per input sample over `PRE_NOISE_S` before input sample `a` (at least
    /// `PRE_NOISE_MIN_S` of it in the history), in the band of `band_envelope`: the noise
    /// when nothing else is there. The floor learns bursts that recur at one place; before
    /// a preamble (or one of its repetitions) the band holds noise or other energy, which
    /// only raises this estimate, so the smaller of the two is the better noise estimate.
    fn noise_before(&mut self, a: u64, win_lo: isize, j: usize, plane: u8) -> Option<f64> {
        let inset = (ENVELOPE_INSET_S * self.fs) as u64;
        let a0 = a.saturating_sub((PRE_NOISE_S * self.fs) as u64);
        self.band_envelope(a0, a.saturating_sub(inset), win_lo, j, plane)
            .filter(|(c, _)| c.n_eff >= PRE_NOISE_MIN_S * 2.0 * (6.5 * SPACING_HZ))
            .map(|(c, _)| c.m2 / c.noise_gain)
    }

    /// Group energies of the repetitions ending at hops `ends`, for every timing offset in
    /// `offs` (whole hops), at the subcarriers of the band whose first tone is at bin `band`
    /// (fractional), `SHIFTS` subcarriers either side (`hops::RepCells`), from the raw
    /// history: each group coherent over its J symbol lengths in the middle of the group,
    /// against the floor's noise or the group's own median level when that is
    /// `LOCAL_RAISED` times higher. Returned per offset, in order. The span of all offsets is
    /// correlated once, hop by hop, and each offset's window sums its hops (one phase
    /// reference: the sums are coherent). `None` when a span is not in the history.
    fn hop_cells(
        &mut self,
        fi: usize,
        ends: &[i64],
        offs: std::ops::RangeInclusive<i64>,
        band: f64,
    ) -> Option<Vec<Vec<hops::RepCells>>> {
        let f = &self.fmts[fi];
        let (rep_len, end_adjust, j) = (f.rep_len, f.end_adjust, f.j);
        let (n, hop, fs, nb) = (self.n, self.hop, self.fs, self.nb);
        let m = n / 512;
        let k_len = j * n;
        let group_len = rep_len / 4.0;
        let inset = 0.5 * (group_len - k_len as f64);
        let (o_lo, o_hi) = (*offs.start(), *offs.end());
        if o_hi < o_lo {
            return None;
        }
        let n_off = (o_hi - o_lo) as usize + 1;
        let span = k_len + (n_off - 1) * hop;
        let (hc, chunks, per_win) = (hop / m, span / hop, k_len / hop);
        // The floor's noise per input sample over the positions (|X|^2 = N s2).
        let k0 = (band - (hops::SHIFTS * PAD) as f64).round() as isize;
        let kb = (hops::NPOS * PAD) as isize;
        let s2 = (0..kb)
            .map(|d| self.floor[wrap(k0 + d, nb)] as f64)
            .sum::<f64>()
            / (kb as f64 * n as f64);
        if s2 <= 0.0 {
            return None;
        }
        let to_hz = |b: f64| {
            let x = b.rem_euclid(nb as f64);
            if x >= nb as f64 / 2.0 {
                x - nb as f64
            } else {
                x
            }
        } * fs
            / nb as f64;
        let fc = to_hz(band + 5.5 * PAD as f64);
        let fk: Vec<f64> = (0..hops::NPOS)
            .map(|k| to_hz(band + (k as f64 - hops::SHIFTS as f64) * PAD as f64) - fc)
            .map(|d| {
                if d > fs / 2.0 {
                    d - fs
                } else if d < -fs / 2.0 {
                    d + fs
                } else {
                    d
                }
            })
            .collect();
        let mut raw = Vec::with_capacity(span);
        let mut z = vec![Complex64::new(0.0, 0.0); span / m];
        let mut part = vec![Complex64::new(0.0, 0.0); chunks];
        let mut out = vec![Vec::with_capacity(ends.len()); n_off];
        // The phasors of every group window (each starts at 1): tabled once for all groups
        // and repetitions.
        let mix = phasors(fc, 1.0, fs, span);
        let tabs: Vec<Vec<Complex64>> = fk
            .iter()
            .map(|&f| phasors(f, m as f64, fs, span / m))
            .collect();
        for &e in ends {
            let start = self.origin as f64 + (e + o_lo) as f64 * hop as f64 + n as f64 + end_adjust
                - rep_len;
            let mut cells: Vec<hops::RepCells> = vec![[[0.0; hops::NPOS]; 4]; n_off];
            for g in 0..4 {
                let a = (start + g as f64 * group_len + inset).round();
                if a < 0.0 {
                    return None;
                }
                let a = a as u64;
                let b = a + span as u64;
                if self.tester.hist.copy(a, b, &mut raw) != Some(a) || raw.len() != span {
                    return None;
                }
                // To the band centre, then sums of m samples (1.92 MS/s; the boxcar's loss
                // within 30 kHz of the centre is below 0.01 dB).
                mix_decimate(&raw, &mix, m, &mut z);
                for (k, tab) in tabs.iter().enumerate() {
                    for (c, p) in part.iter_mut().enumerate() {
                        let mut acc = Complex64::new(0.0, 0.0);
                        let (zs, ps) = (&z[c * hc..(c + 1) * hc], &tab[c * hc..(c + 1) * hc]);
                        for (zi, ph) in zs.iter().zip(ps) {
                            acc += zi * ph;
                        }
                        *p = acc;
                    }
                    for (oi, cell) in cells.iter_mut().enumerate() {
                        let acc: Complex64 = part[oi..oi + per_win].iter().sum();
                        cell[g][k] = (acc.norm_sqr() / (k_len as f64 * s2)) as f32;
                    }
                }
            }
            for (oi, mut c) in cells.into_iter().enumerate() {
                // Each group in units of the band's own level at its time when that is
                // clearly above the floor (a wideband burst raises every cell of the groups
                // it covers; a preamble fills one of the 16): the median cell, ln 2 on noise.
                for row in c.iter_mut() {
                    let mut v = *row;
                    let (_, med, _) = v.select_nth_unstable_by(hops::NPOS / 2, f32::total_cmp);
                    let level = *med / std::f32::consts::LN_2;
                    if level > LOCAL_RAISED {
                        row.iter_mut().for_each(|x| *x /= level);
                    }
                }
                out[oi].push(c);
            }
        }
        Some(out)
    }

    /// Fine format test of one repetition whose four tones are `tones_hz` (baseband) and
    /// whose start is near `start` (samples from the origin): for each of formats 0 and 1,
    /// the largest sum over the four groups of the coherent group energy of the tone over
    /// the whole group (`T_CP + 5 x 8192 Ts`, Table 10.1.6.1-1: the group is one
    /// phase-continuous tone, 10.1.6.2), in floor-noise units (unit-mean exponential per
    /// group on noise), over start times `FMT_SEARCH_S` either side on a 1.92 MS/s grid of
    /// `FMT_STEP` and a common frequency offset of `FMT_DF_HZ`. Returned per format: the
    /// best sum, its start in samples from the origin and its four group energies; and the
    /// band level beside the tones over the span (`side_level`) when `want_side`. `None`
    /// when the span left the history.
    fn format_fit(
        &mut self,
        start: f64,
        tones_hz: &[f64; 4],
        want_side: bool,
    ) -> Option<([FineFit; 2], Option<f64>)> {
        let (n, fs, nb) = (self.n, self.fs, self.nb);
        let m = n / 512;
        let search = fmt_search_192();
        let len_d = fmt_span_192();
        let a = (self.origin as f64 + start).round() - (search * m) as f64;
        if a < 0.0 {
            return None;
        }
        let a = a as u64;
        let mut raw = Vec::with_capacity(len_d * m);
        if self.tester.hist.copy(a, a + (len_d * m) as u64, &mut raw) != Some(a)
            || raw.len() != len_d * m
        {
            return None;
        }
        let lo = tones_hz.iter().copied().fold(f64::MAX, f64::min);
        let hi = tones_hz.iter().copied().fold(f64::MIN, f64::max);
        let fc = 0.5 * (lo + hi);
        // The floor's noise per input sample over the tones' bins (|X|^2 = N s2).
        let bhz = self.bins_hz();
        let (k0, k1) = (
            (lo / bhz).floor() as isize - PAD as isize,
            (hi / bhz).ceil() as isize + PAD as isize,
        );
        let s2 = (k0..=k1)
            .map(|k| self.floor[wrap(k, nb)] as f64)
            .sum::<f64>()
            / ((k1 - k0 + 1) as f64 * n as f64);
        if s2.is_nan() || s2 <= 0.0 {
            return None;
        }
        // To the tones' centre, then sums of m samples (1.92 MS/s).
        let mut z = vec![Complex64::new(0.0, 0.0); len_d];
        mix_decimate(&raw, &phasors(fc, 1.0, fs, len_d * m), m, &mut z);
        let fd = fs / m as f64;
        let side = want_side
            .then(|| side_level(&*self.side_fft.0, &z, fd, lo - fc, hi - fc, m as f64 * s2));
        let mut best = [FineFit {
            sum: 0.0,
            start,
            groups: [0.0; 4],
        }; 2];
        let mut prefix = vec![vec![Complex64::new(0.0, 0.0); len_d + 1]; 4];
        for &df in &FMT_DF_HZ {
            for (g, pg) in prefix.iter_mut().enumerate() {
                let w = Complex64::from_polar(
                    1.0,
                    -std::f64::consts::TAU * (tones_hz[g] - fc + df) / fd,
                );
                let mut ph = Complex64::new(1.0, 0.0);
                for (i, zi) in z.iter().enumerate() {
                    pg[i + 1] = pg[i] + zi * ph;
                    ph *= w;
                }
            }
            for (fi, &gl) in FMT_GROUP_192.iter().enumerate() {
                let norm = (gl * m) as f64 * s2;
                for t in (0..=len_d - 4 * gl).step_by(FMT_STEP) {
                    let groups: [f64; 4] = std::array::from_fn(|g| {
                        (prefix[g][t + (g + 1) * gl] - prefix[g][t + g * gl]).norm_sqr() / norm
                    });
                    let sum = groups.iter().sum::<f64>();
                    if sum > best[fi].sum {
                        best[fi] = FineFit {
                            sum,
                            start: start + (t as f64 - search as f64) * m as f64,
                            groups,
                        };
                    }
                }
            }
        }
        Some((best, side))
    }

    /// Input samples of the repetition ending near hop `end` (timing offset `dh` hops), less
    /// `ENVELOPE_INSET_S` at each end.
    fn rep_range(&self, fi: usize, end: i64, dh: i8) -> (u64, u64) {
        let f = &self.fmts[fi];
        let g3_end = (end + dh as i64) as f64 * self.hop as f64 + self.n as f64 + f.end_adjust;
        let inset = ENVELOPE_INSET_S * self.fs;
        let a = self.origin as f64 + (g3_end - f.rep_len + inset).max(0.0);
        let b = self.origin as f64 + g3_end - inset;
        (a.max(0.0) as u64, b.max(0.0) as u64)
    }

    /// Envelope moments of input samples `a .. b` (one chunk) in the 12-subcarrier band
    /// starting at window bin `j` (sub-bin plane `plane`), while they are in the history,
    /// with the per-bin floor's noise per input sample over the band (`|X|^2 = N s2` for a
    /// rectangular window of N): the floor, not the CFAR-rescaled level, which inside a
    /// wideband burst is the burst itself. The chunk's `noise_gain` is the kept share.
    fn band_envelope(
        &mut self,
        a: u64,
        b: u64,
        win_lo: isize,
        j: usize,
        plane: u8,
    ) -> Option<(Chunk, f64)> {
        // Centre of the 12-subcarrier band (tones at band start + n PAD bins, n = 0..11).
        let nb = self.nb as f64;
        let centre = (win_lo + j as isize) as f64 + 5.5 * PAD as f64 + (plane as f64 - 1.0) / 3.0;
        let x = centre.rem_euclid(nb);
        let centre_hz = if x >= nb / 2.0 { x - nb } else { x } * self.bins_hz();
        let mut v = Vec::with_capacity(1);
        let half = 6.0 * SPACING_HZ + 0.5 * SPACING_HZ;
        if !self
            .tester
            .chunks(a, b, self.fs, centre_hz, half, 1.0, &mut v)
        {
            return None;
        }
        let k0 = (centre - 6.0 * PAD as f64).round() as isize;
        let bins = 12 * PAD as isize;
        let floor = (0..bins)
            .map(|d| self.floor[wrap(k0 + d, self.nb)] as f64)
            .sum::<f64>()
            / bins as f64;
        v.first().map(|c| (*c, floor / self.n as f64))
    }

    fn read_rep(&self, fi: usize, t: &Track, end: i64, h: i64) -> RepObs {
        let ring = self.ring_values(fi, end, t.win_lo);
        let f = &self.fmts[fi];
        let ready = end - LIVE_SEARCH > self.warm + f.d[0] as i64 + 2 * f.j as i64
            && h - (end - LIVE_SEARCH - 1 - f.d[0] as i64) < f.depth_g as i64;
        let live = if ready { self.live(fi, t, end) } else { None };
        let line = self.line_row(end, f.p, t.win_lo, h);
        RepObs {
            end,
            ring,
            live,
            line,
        }
    }

    /// Share of a track's blind energy over the extent `ext` (band start `jstar`) that one
    /// steady line explains: the strongest bin's excess frame power over the repetitions
    /// read from the line ring, per frame, times `J` (its coherent group energy) and the
    /// number of repetitions, against the sum of the pooled statistic's excess `R - mu0`.
    /// `None` when fewer than half the repetitions were read or the track has no excess.
    fn line_share(&self, ext: &[RepObs], jstar: usize, j: usize) -> Option<f64> {
        let e: f64 = ext.iter().map(|o| o.ring[jstar] as f64 - self.mu0).sum();
        let mut lsum = [0.0f64; 48];
        let mut frames = 0.0f64;
        let mut read = 0;
        for l in ext.iter().filter_map(|o| o.line.as_deref()) {
            read += 1;
            frames += l.frames as f64;
            // The band's tones lie 0 ..= 44 bins above its start, +-1 bin for the sub-bin
            // offsets.
            let base = jstar + LINE_LO as usize - 1;
            for (s, &v) in lsum.iter_mut().zip(&l.v[base..base + 48]) {
                *s += v as f64;
            }
        }
        if 2 * read < ext.len() || frames <= 0.0 || e <= 0.0 {
            return None;
        }
        let lmax = lsum.iter().copied().fold(f64::MIN, f64::max);
        Some(ext.len() as f64 * j as f64 * lmax / frames / e)
    }

    /// Excess frame power per bin of a track's window over the repetition ending at hop
    /// `end` (period `p`): the line-ring blocks whose centre lies in it, when they are
    /// complete at hop `h` and still in the ring, after the warm-up.
    fn line_row(&self, end: i64, p: i64, win_lo: isize, h: i64) -> Option<Box<LineRow>> {
        let b = LINE_BLOCK;
        // Block `k` covers hops `b k .. b k + b - 1`; its centre `b k + (b - 1) / 2` must lie
        // in `end - p + 1 ..= end`.
        let first = (2 * (end - p + 1) - (b - 1)).div_euclid(2 * b)
            + i64::from((2 * (end - p + 1) - (b - 1)).rem_euclid(2 * b) != 0);
        let last = (2 * end - (b - 1)).div_euclid(2 * b);
        let newest_complete = (h + 1).div_euclid(b) - 1;
        if first * b < self.warm
            || last > newest_complete
            || h.div_euclid(b) - first >= self.depth_l as i64
            || last < first
        {
            return None;
        }
        let nb = self.nb;
        let mut row = Box::new(LineRow {
            v: [0.0; LINE_BINS],
            frames: 0.0,
        });
        for k in first..=last {
            let src = &self.lring[(k as usize % self.depth_l) * nb..][..nb];
            for (i, v) in row.v.iter_mut().enumerate() {
                *v += src[wrap(win_lo - LINE_LO + i as isize, nb)];
            }
            row.frames += b as f32;
        }
        let frames = row.frames;
        row.v.iter_mut().for_each(|v| *v -= frames);
        Some(row)
    }

    /// The repetition ending near `end`, at full resolution: for every band start of the
    /// track's window the best first subcarrier (which fixes the pattern), sub-bin plane and
    /// hop, with its group energies, off-pattern energy and power.
    fn live(&self, fi: usize, t: &Track, end: i64) -> Option<Box<LiveRep>> {
        let mut rep = Box::new(LiveRep {
            cands: [Cand::default(); WIN],
            best_j: 0,
            dt: 0.0,
            df: 0.0,
            gain: 1.0,
            env: None,
        });
        let mut best_s = f32::MIN;
        for j in 0..WIN {
            let b = t.win_lo + j as isize;
            let mut best = (f32::MIN, 0usize, 0usize, 0i64);
            for n0 in 0..12 {
                let p = pattern_of(n0);
                let k = b + (n0 * PAD) as isize;
                for e in (end - LIVE_SEARCH)..=(end + LIVE_SEARCH) {
                    for plane in 0..PLANES {
                        let s = self.s_at(fi, e, k, plane, p);
                        if s > best.0 {
                            best = (s, n0, plane, e);
                        }
                    }
                }
            }
            let (s, n0, plane, e) = best;
            let k = b + (n0 * PAD) as isize;
            let (groups, incoh, local, off_excess, power, noise) =
                self.details(fi, e, k, plane, pattern_of(n0));
            rep.cands[j] = Cand {
                s,
                n0: n0 as u8,
                plane: plane as u8,
                dh: (e - end) as i8,
                groups,
                incoh,
                local,
                off_excess,
                power,
                noise,
            };
            if s > best_s {
                best_s = s;
                rep.best_j = j;
            }
        }
        if best_s <= 0.0 {
            return None;
        }
        let c = rep.cands[rep.best_j];
        let p = pattern_of(c.n0 as usize);
        let k = t.win_lo + rep.best_j as isize + (c.n0 as usize * PAD) as isize;
        let e = end + c.dh as i64;
        let plane = c.plane as usize;
        let u = 3 * k + plane as isize - 1;
        let s = c.s as f64;
        let (fa, fc) = (
            self.s_fine(fi, e, u - 1, p) as f64,
            self.s_fine(fi, e, u + 1, p) as f64,
        );
        let (ta, tc) = (
            self.s_at(fi, e - 1, k, plane, p) as f64,
            self.s_at(fi, e + 1, k, plane, p) as f64,
        );
        rep.df = parabolic(fa, s, fc) / 3.0;
        rep.dt = parabolic(ta, s, tc);
        // The noise part of S (4) does not grow with the alignment.
        let sig = |x: f64| (x - 4.0).max(1e-9);
        rep.gain = vertex_gain(sig(fa), sig(s), sig(fc)) * vertex_gain(sig(ta), sig(s), sig(tc));
        Some(rep)
    }

    /// Group energies, off-pattern excess and power of the pattern `p` with group 0 at
    /// (`k`, `plane`), repetition ending at hop `e`.
    fn details(
        &self,
        fi: usize,
        e: i64,
        k: isize,
        plane: usize,
        p: usize,
    ) -> ([f32; 4], [f32; 4], f32, f32, f64, f64) {
        let nb = self.nb;
        let f = &self.fmts[fi];
        let o = pattern_offsets(p);
        let mut groups = [0.0f32; 4];
        let mut off = 0.0f32;
        for (g, gv) in groups.iter_mut().enumerate() {
            let row = Self::grow(f, nb, e - f.d[g] as i64, plane);
            for (g2, &og) in o.iter().enumerate() {
                let v = row[wrap(k + og, nb)];
                if g2 == g {
                    *gv = v;
                } else {
                    off += v - 1.0;
                }
            }
        }
        // Power: G = J N^2 |a|^2 g^2 D^2 with g the gain applied to the frames and D the
        // amplitude loss of the tone's offset from the bin (frame) and of the misalignment
        // in time and frequency; noise per sample = 1 / (g^2 N). Here D^2 = 1: the caller
        // corrects with the refined peak of S where it has it.
        let j = f.j as f64;
        let n = self.n as f64;
        let mut pw = 0.0;
        let mut noise = 0.0;
        let mut incoh = [0.0f32; 4];
        let mut local = 0.0f32;
        for (g, &gv) in groups.iter().enumerate() {
            let kk = wrap(k + o[g], nb);
            let mut gsum = 0.0;
            let mut isum = 0.0;
            for jj in 0..f.j {
                let fr = e - f.d[g] as i64 - 2 * jj as i64;
                let r = (fr.rem_euclid(self.depth_a as i64)) as usize;
                gsum += self.aring[r * nb + kk] as f64;
                isum += self.pring[r * nb + kk];
                let row = &self.pring[r * nb..(r + 1) * nb];
                for d in LOCAL_LO..=LOCAL_HI {
                    local += row[wrap(kk as isize - d, nb)] + row[wrap(kk as isize + d, nb)];
                }
            }
            incoh[g] = isum / f.j as f32;
            let ga = gsum / j;
            if ga > 0.0 {
                pw += (gv as f64 - 1.0).max(0.0) / (j * n * n * ga * ga);
                noise += 1.0 / (ga * ga * n);
            }
        }
        let cells = (4 * f.j * 2 * (LOCAL_HI - LOCAL_LO + 1) as usize) as f32;
        let local = (local / cells).max(1.0);
        (groups, incoh, local, off / 12.0, pw / 4.0, noise / 4.0)
    }

    /// Decides a track: band, extent, checks; a detection goes to `pending`.
    /// Tries the hop paths of every cell on a track's repetitions around its blind extent
    /// `ra .. rb` in band `jstar` (`hops::fit`); returns the fit and the refined extent and
    /// band when one explains them and the refined extent keeps a repetition read at full
    /// resolution.
    #[allow(clippy::too_many_arguments)]
    fn refine_by_hops(
        &mut self,
        fi: usize,
        win_lo: isize,
        obs: &[RepObs],
        (ra, rb): (usize, usize),
        jstar: usize,
        lives: &[(&RepObs, &LiveRep, Cand)],
        confirm: bool,
    ) -> HopSearch {
        use HopSearch::{Fit, NoPath, NotSearched, Weak};
        if rb - ra < 2 || lives.is_empty() {
            return NotSearched;
        }
        let p = self.fmts[fi].p;
        // The window: `hops::reach` repetitions either side of the blind extent (a weak
        // preamble's blind extent may hold only part of it), from the oldest repetition
        // still in the raw history.
        let (rep_len, end_adjust) = (self.fmts[fi].rep_len, self.fmts[fi].end_adjust);
        let kept = self.tester.hist.kept_from() as f64;
        let in_history = |o: &RepObs| {
            let start = self.origin as f64
                + (o.end - LIVE_SEARCH) as f64 * self.hop as f64
                + self.n as f64
                + end_adjust
                - rep_len;
            start >= kept
        };
        let reach = hops::reach(rb - ra);
        let mut w0 = ra.saturating_sub(reach);
        while w0 < ra && !in_history(&obs[w0]) {
            w0 += 1;
        }
        let w1 = (rb + reach).min(obs.len()).min(w0 + hops::MAX_REPS);
        if rb > w1 || obs[w0..w1].windows(2).any(|w| w[1].end - w[0].end != p) {
            return NotSearched;
        }
        // The sub-bin offset as the report takes it (the strongest repetition's frequency).
        let same = |l: &LiveRep| l.best_j == jstar;
        let frac = lives
            .iter()
            .max_by(|a, b| a.2.s.total_cmp(&b.2.s))
            .map(|(_, l, c)| (c.plane as f64 - 1.0) / 3.0 + if same(l) { l.df } else { 0.0 })
            .unwrap_or(0.0);
        let band = (win_lo + jstar as isize) as f64 + frac;
        let ends: Vec<i64> = obs[w0..w1].iter().map(|o| o.end).collect();
        // The blind timing and frequency are coarse near the limit (a repetition's own best
        // hop and plane): the group energies are taken at every hop within LIVE_SEARCH of
        // the grid and at a sixth of a bin either side of the frequency, and the alignment
        // with the most pattern energy is kept (it does not depend on the cell).
        // Timing first (at the blind frequency), then the frequency at that timing.
        let Some(all) = self.hop_cells(fi, &ends, -LIVE_SEARCH..=LIVE_SEARCH, band) else {
            return NotSearched;
        };
        let (mut score, mut dt, mut cells) = (f32::MIN, 0i64, Vec::new());
        for (i, c) in all.into_iter().enumerate() {
            let s = hops::alignment(&c);
            if s > score {
                (score, dt, cells) = (s, i as i64 - LIVE_SEARCH, c);
            }
        }
        for df in [-1.0 / 6.0, 1.0 / 6.0] {
            if let Some(mut c) = self.hop_cells(fi, &ends, dt..=dt, band + df) {
                let c = c.swap_remove(0);
                let s = hops::alignment(&c);
                if s > score {
                    (score, cells) = (s, c);
                }
            }
        }
        let j = jstar as isize;
        let pad = PAD as isize;
        let lo = -(j / pad);
        let hi = (WIN as isize - 1 - j).div_euclid(pad);
        let (p_accept, tone_share_max) = if confirm {
            (hops::P_CONFIRM, hops::TONE_SHARE_MAX)
        } else {
            (hops::P_REFINE, f64::INFINITY)
        };
        let fit = match hops::fit(
            &cells,
            (ra - w0, rb - w0),
            lo..=hi,
            hops::EXTENT_LEVEL,
            p_accept,
            tone_share_max,
        ) {
            Ok(fit) => fit,
            Err(hops::NoFit::Weak) => return Weak,
            Err(hops::NoFit::Unlike) => return NoPath,
            Err(hops::NoFit::OneTone) => return HopSearch::OneTone,
        };
        let a = w0 + fit.first;
        let b = a + fit.reps;
        // The band moves only when the tones fit one band position, inside the window.
        let j2 = if fit.band_known && (lo..=hi).contains(&fit.shift) {
            (j + fit.shift * pad) as usize
        } else {
            jstar
        };
        if !obs[a..b].iter().any(|o| o.live.is_some()) {
            return Weak;
        }
        Fit(fit, a, b, j2)
    }

    fn finalize(&mut self, fi: usize, t: Track) {
        let nb = self.nb;
        let (p, rep_len, end_adjust, format, fj) = {
            let f = &self.fmts[fi];
            (f.p, f.rep_len, f.end_adjust, f.format, f.j)
        };
        let mut obs = t.obs;
        obs.sort_by_key(|o| o.end);
        obs.dedup_by_key(|o| o.end);
        if obs.is_empty() {
            self.stats.rejected_too_short += 1;
            return;
        }
        // Band: the band start with the largest R summed over the repetitions; extent: the
        // run of an allowed length (numRepetitionsPerPreambleAttempt, 1 .. 64 before a gap)
        // with the largest sum of (v - c), c at EXTENT_LEVEL of the way from the noise mean of
        // R to the signal level of the best crossing. The band is chosen again over the extent alone.
        // The signal level: that of the best crossing, or half the strongest repetition when
        // that is higher (a window crossing averages in partial or empty repetitions).
        let vmax = obs
            .iter()
            .map(|o| o.ring.iter().copied().fold(0.0f32, f32::max) as f64)
            .fold(0.0, f64::max);
        let signal = t.best_level.max(0.5 * vmax);
        let level = self.mu0 + EXTENT_LEVEL * (signal - self.mu0).max(0.0);
        let choose_band = |range: std::ops::Range<usize>| -> usize {
            (0..WIN)
                .max_by(|&a, &b| {
                    let sa: f32 = obs[range.clone()].iter().map(|o| o.ring[a]).sum();
                    let sb: f32 = obs[range.clone()].iter().map(|o| o.ring[b]).sum();
                    sa.total_cmp(&sb)
                })
                .unwrap_or(0)
        };
        let extent = |j: usize| -> Option<(f64, usize, usize)> {
            let v: Vec<f64> = obs.iter().map(|o| o.ring[j] as f64 - level).collect();
            let mut best: Option<(f64, usize, usize)> = None;
            for &len in &[1usize, 2, 4, 8, 16, 32, 64] {
                if len > v.len() {
                    break;
                }
                let mut sum: f64 = v[..len].iter().sum();
                for a in 0..=v.len() - len {
                    if a > 0 {
                        sum += v[a + len - 1] - v[a - 1];
                    }
                    if sum > 0.0 && best.is_none_or(|b| sum > b.0) {
                        best = Some((sum, a, a + len));
                    }
                }
            }
            best
        };
        let mut jstar = choose_band(0..obs.len());
        let mut best = extent(jstar);
        if let Some((_, a, b)) = best {
            let j2 = choose_band(a..b);
            if j2 != jstar {
                jstar = j2;
                best = extent(jstar).or(best);
            }
        }
        let v: Vec<f64> = obs.iter().map(|o| o.ring[jstar] as f64).collect();
        let Some((_, ra, rb)) = best else {
            self.stats.rejected_too_short += 1;
            return;
        };
        let ext = &obs[ra..rb];
        let nrep = ext.len();
        // The extent must hold some of the repetitions whose window made the track's best
        // crossing (the metric reported is that crossing's): a track opened by a noise
        // burst's crossings once chose a run of noise beside the burst, 8 ms before it.
        {
            let (c0, c1) = (t.best_end - (t.best_w as i64 - 1) * p, t.best_end);
            let (e0, e1) = (ext[0].end, ext[nrep - 1].end);
            if e1 < c0 - p / 2 || e0 > c1 + p / 2 {
                self.stats.rejected_unconfirmed += 1;
                return;
            }
        }
        // The best window inside the extent must still reach a tested threshold, in units
        // of the local band level at the time of the repetitions read at full resolution
        // (wideband energy that switches on raises every bin before the slow floor follows:
        // the statistic must stand out from the band around it too).
        let local = {
            let ls: Vec<f64> = ext
                .iter()
                .filter_map(|o| o.live.as_deref().map(|l| l.cands[jstar].local as f64))
                .collect();
            if ls.is_empty() {
                1.0
            } else {
                ls.iter().sum::<f64>() / ls.len() as f64
            }
        };
        let f = &self.fmts[fi];
        let mut ok = false;
        if let Some(t1) = f.t1 {
            ok |= ext.iter().any(|o| {
                o.live.as_ref().is_some_and(|l| {
                    let c = &l.cands[l.best_j];
                    c.s as f64 / (c.local as f64) > t1 as f64
                })
            });
        }
        for &(w, tw) in &f.tw {
            let w = w as usize;
            if w <= nrep {
                ok |= (0..=nrep - w)
                    .any(|i| v[ra + i..ra + i + w].iter().sum::<f64>() / local > tw as f64);
            }
        }
        // Below every blind threshold (a track opened at the pre-threshold): only a cell's
        // hop path can confirm it, below.
        // Why the blind tests would turn the track down (then only a hop path can confirm it).
        // A track that never crossed a blind threshold (only the pre-threshold) counts as
        // below it whatever its extent's windows read now.
        let ok = ok && t.best_metric >= 1.0;
        let mut blind_fail: Option<BlindFail> = (!ok).then_some(BlindFail::Threshold);
        // A track of the single-repetition pre-threshold is one repetition confirmed by the
        // fine test (below), or nothing.
        let needs_fine = t.sub1 && blind_fail.is_some();
        if t.sub1 && nrep != 1 {
            self.stats.rejected_below_threshold += 1;
            return;
        }
        if blind_fail.is_some() && nrep < 2 && !needs_fine {
            self.stats.rejected_below_threshold += 1;
            return;
        }
        // The repetitions read at full resolution, in the chosen band: at least one (the
        // one that opened the track is normally inside the extent).
        let lives: Vec<(&RepObs, &LiveRep, Cand)> = ext
            .iter()
            .filter_map(|o| o.live.as_deref().map(|l| (o, l, l.cands[jstar])))
            .collect();
        if lives.is_empty() {
            self.stats.rejected_unconfirmed += 1;
            return;
        }
        let balance = {
            let on_ex: f64 = lives
                .iter()
                .map(|(_, _, c)| c.groups.iter().map(|&g| g as f64 - 1.0).sum::<f64>())
                .sum();
            if on_ex <= 0.0 {
                self.stats.rejected_below_threshold += 1;
                return;
            }
            let off_ex: f64 = lives
                .iter()
                .map(|(_, _, c)| c.off_excess as f64 * 4.0)
                .sum();
            let n_off = 12.0 * lives.len() as f64;
            if off_ex > 0.25 * on_ex + 4.0 * n_off.sqrt() / 3.0 {
                self.stats.rejected_pattern_inconsistent += 1;
                return;
            }
            // Steady tones: the coherent excess is about J times the incoherent one (a chirp
            // sweeping through, a noise-like wideband signal: about once).
            let inc_ex: f64 = lives
                .iter()
                .map(|(_, _, c)| c.incoh.iter().map(|&g| g as f64 - 1.0).sum::<f64>())
                .sum();
            // The incoherent excess is a mean of J unit exponentials per cell on noise: it is
            // taken two standard deviations low so that weak preambles keep their margin.
            let inc_sd = (4.0 * lives.len() as f64 / fj as f64).sqrt();
            if on_ex < COHERENCE_MIN * (inc_ex - 2.0 * inc_sd) {
                self.stats.rejected_incoherent += 1;
                return;
            }
            let max_ex: f64 = lives
                .iter()
                .map(|(_, _, c)| c.groups.iter().map(|&g| g as f64 - 1.0).fold(0.0, f64::max))
                .sum();
            // These two tests (and the thresholds above) are blind; a track that fails them
            // is judged by its hop path instead, which must carry every group of every
            // repetition (near the limit the few repetitions read at full resolution are
            // too weak for them).
            if on_ex > 0.0 && max_ex > 0.75 * on_ex {
                blind_fail = blind_fail.or(Some(BlindFail::SingleGroup));
            }
            // A hypothesis shifted by two groups matches two groups of a real preamble: its
            // two weakest groups then carry (almost) nothing.
            let weak_ex: f64 = lives
                .iter()
                .map(|(_, _, c)| {
                    let mut g = c.groups.map(|g| g as f64 - 1.0);
                    g.sort_by(f64::total_cmp);
                    g[0] + g[1]
                })
                .sum();
            if weak_ex < 0.12 * on_ex {
                blind_fail = blind_fail.or(Some(BlindFail::PartialPattern));
            }
            weak_ex / on_ex
        };
        // Hop-aided refinement (`hops`): a cell's hop path that explains the repetitions
        // fixes the extent, the band and ñ(0); otherwise the blind result stands.
        let mut hop_fit = None;
        let blind_band = (t.win_lo + jstar as isize) as f64;
        let blind_reps = rb - ra;
        let (ra, rb, jstar) = match self.refine_by_hops(
            fi,
            t.win_lo,
            &obs,
            (ra, rb),
            jstar,
            &lives,
            blind_fail.is_some(),
        ) {
            HopSearch::Fit(fit, a, b, j) => {
                hop_fit = Some(fit);
                (a, b, j)
            }
            // A preamble of 4 to 8 repetitions follows its cell's hop path (10.1.6.1); one
            // the blind tests accepted whose best path has the energy but not a preamble's
            // shape is a steady carrier's groups, one per repetition.
            HopSearch::NoPath
                if blind_fail.is_none()
                    && (HOP_PATH_MIN_REPS..=hops::HISTORY_REPS).contains(&blind_reps) =>
            {
                self.stats.rejected_no_hop_path += 1;
                return;
            }
            // Only a confirmation is limited so: the track is below every blind threshold
            // and no other path can confirm it.
            HopSearch::OneTone => {
                self.stats.rejected_one_tone_path += 1;
                return;
            }
            HopSearch::NoPath | HopSearch::Weak | HopSearch::NotSearched => (ra, rb, jstar),
        };
        let ext = &obs[ra..rb];
        let nrep = ext.len();
        let lives: Vec<(&RepObs, &LiveRep, Cand)> = ext
            .iter()
            .filter_map(|o| o.live.as_deref().map(|l| (o, l, l.cands[jstar])))
            .collect();
        let needs_hops = blind_fail.is_some();
        // A steady line (a carrier switching on, while the floor learns it) gives one group
        // per repetition to the blind search, whichever pattern it takes: the line's energy
        // over the extent, at its strongest bin of the band, accounts for a large share of
        // the track's. A preamble visits a subcarrier at most once per repetition, so its
        // strongest line holds at most a sixteenth of its energy (measured: at most 0.34,
        // every track of the `nprach_eval` runs, noise included; carriers 0.13 - 0.90).
        if nrep >= 2 {
            if let Some(share) = self.line_share(ext, jstar, fj) {
                if share >= LINE_SHARE_MAX {
                    self.stats.rejected_steady_line += 1;
                    return;
                }
            }
        }
        match (&hop_fit, blind_fail) {
            (Some(_), Some(_)) => self.stats.hop_confirmed += 1,
            (Some(_), None) => self.stats.hop_fits += 1,
            (None, Some(_)) if needs_fine => {}
            (None, Some(why)) => {
                match why {
                    BlindFail::Threshold => self.stats.rejected_below_threshold += 1,
                    BlindFail::SingleGroup => self.stats.rejected_single_group += 1,
                    BlindFail::PartialPattern => self.stats.rejected_partial_pattern += 1,
                }
                return;
            }
            (None, None) => {}
        }
        let band_start = (t.win_lo + jstar as isize) as f64;
        // Tones and timing of each live repetition in the chosen band; the overall best
        // hypothesis of a repetition brings its interpolated offsets when it is this one.
        let tone_of = |l: &LiveRep, c: &Cand| -> (f64, f64) {
            let same = l.best_j == jstar;
            let f = band_start
                + (c.n0 as usize * PAD) as f64
                + (c.plane as f64 - 1.0) / 3.0
                + if same { l.df } else { 0.0 };
            let dt = c.dh as f64 + if same { l.dt } else { 0.0 };
            (f, dt)
        };
        // Timing: the median over the live repetitions of their refined end relative to
        // the grid (robust to a repetition whose best hypothesis is a partial match).
        let hop = self.hop as f64;
        let n = self.n as f64;
        let first_end = ext[0].end;
        let mut offs: Vec<f64> = lives
            .iter()
            .map(|(o, l, c)| {
                (o.end - first_end) as f64 + tone_of(l, c).1
                    - ((o.end - first_end) as f64 / p as f64).round() * p as f64
            })
            .collect();
        offs.sort_by(f64::total_cmp);
        let off = if offs.is_empty() {
            0.0
        } else if offs.len() % 2 == 1 {
            offs[offs.len() / 2]
        } else {
            0.5 * (offs[offs.len() / 2 - 1] + offs[offs.len() / 2])
        };
        let group3_end = (first_end as f64 + off) * hop + n + end_adjust;
        let start = (group3_end - rep_len).max(0.0);
        let len = nrep as f64 * rep_len;
        // Frequencies: the tones hopped over (unwrapped about the track centre).
        let bhz = self.bins_hz();
        let ref_c = t.centre;
        // A common sub-bin offset for all tones: that of the strongest repetition.
        let frac = lives
            .iter()
            .max_by(|a, b| a.2.s.total_cmp(&b.2.s))
            .map(|(_, l, c)| tone_of(l, c).0 - band_start - (c.n0 as usize * PAD) as f64)
            .unwrap_or(0.0);
        let mut tones: Vec<f64> = Vec::new();
        if let Some(fit) = &hop_fit {
            // Every group's tone is known from the path.
            for &sc in &fit.tones {
                let tb = blind_band + (sc * PAD as isize) as f64 + frac;
                tones.push(ref_c + cdiff(tb, ref_c, nb));
            }
        } else {
            for (_, _, c) in &lives {
                let t0 = band_start + (c.n0 as usize * PAD) as f64 + frac;
                for &sc in &pattern_subcarriers(pattern_of(c.n0 as usize)) {
                    let tb = t0 + (sc * HOP1) as f64;
                    tones.push(ref_c + cdiff(tb, ref_c, nb));
                }
            }
        }
        let (lo, hi) = if tones.is_empty() {
            let b = ref_c + cdiff(band_start, ref_c, nb);
            (b, b + 11.0 * PAD as f64)
        } else {
            (
                tones.iter().copied().fold(f64::MAX, f64::min),
                tones.iter().copied().fold(f64::MIN, f64::max),
            )
        };
        let to_hz = |b: f64| -> f64 {
            let x = b.rem_euclid(nb as f64);
            let x = if x >= nb as f64 / 2.0 {
                x - nb as f64
            } else {
                x
            };
            x * bhz
        };
        let centre_hz = to_hz(0.5 * (lo + hi));
        // Format of a single repetition: its four tones timed finely under both formats'
        // group lengths from the raw history (`format_fit`). Each format's whole-group
        // windows keep 0.76 of a preamble of the other (either way: the geometry is
        // symmetric), so the larger sum names the format; the blind grid's statistics
        // (`FORMAT1_EVIDENCE_RATIO`) confuse the two near the limit.
        //
        // A single repetition below the blind threshold must be confirmed by the same fine
        // test: its best sum over the formats searched, in units of the local band level,
        // against `t_fine`, with the energy spread over the four groups
        // (`FineFit::balanced`).
        let (mut start, mut len, mut fi_out, mut format, mut fj) = (start, len, fi, format, fj);
        let mut fine_format = false;
        let mut fine_metric = None;
        let fit = if nrep == 1 && tones.len() == 4 && (self.fmts.len() == 2 || needs_fine) {
            let th = [
                to_hz(tones[0]),
                to_hz(tones[1]),
                to_hz(tones[2]),
                to_hz(tones[3]),
            ];
            self.format_fit(start, &th, needs_fine)
        } else {
            None
        };
        if needs_fine {
            // The formats searched: the best sum among them; none where wideband energy
            // surrounds the tones (the band level beside them above the CFAR's activation
            // level: there the blind tests alone decide).
            let best = fit
                .filter(|&(_, side)| side.is_some_and(|s| s <= CFAR_GAMMA as f64))
                .and_then(|(ff, _)| {
                    self.fmts
                        .iter()
                        .map(|f| ff[f.format as usize])
                        .max_by(|a, b| a.sum.total_cmp(&b.sum))
                });
            match best {
                // In units of the local band level, as the blind test (wideband energy that
                // switches on raises every group before the slow floor follows).
                Some(b) if b.sum / local.max(1.0) > self.t_fine && b.balanced() => {
                    self.stats.fine_confirmed += 1;
                    fine_metric = Some(b.sum / local.max(1.0) / self.t_fine);
                    if self.fmts.len() == 1 {
                        start = b.start.max(0.0);
                    }
                }
                _ => {
                    self.stats.rejected_below_threshold += 1;
                    return;
                }
            }
        }
        if let (Some((ff, _)), true) = (fit, self.fmts.len() == 2) {
            let won = usize::from(ff[1].sum > ff[0].sum) as u8;
            if let Some(k) = self.fmts.iter().position(|f| f.format == won) {
                fine_format = true;
                // The fine start is the one that collects the groups best (a 2-sample
                // grid at 1.92 MS/s), the blind grid's is within about N/8.
                start = ff[won as usize].start.max(0.0);
                if k != fi {
                    self.stats.format_changed += 1;
                    fi_out = k;
                    format = won;
                    fj = self.fmts[k].j;
                    len = self.fmts[k].rep_len;
                }
            }
        }
        let bw_hz = (hi - lo) * bhz + SPACING_HZ;
        let mut params = Map::new();
        params.insert("format".into(), Value::from(format));
        params.insert("repetitions".into(), Value::from(nrep as u32));
        let first_live = ext[0].live.as_deref().map(|l| (l, l.cands[jstar]));
        // The band reported (and the first tone in it).
        let band_start = match &hop_fit {
            Some(fit) => blind_band + (fit.shift * PAD as isize) as f64,
            None => band_start,
        };
        if let Some(fit) = &hop_fit {
            params.insert("n_init".into(), Value::from(fit.n0 as u64));
            params.insert(
                "n_init_candidates".into(),
                Value::from(
                    fit.n0_candidates
                        .iter()
                        .map(|&c| c as u64)
                        .collect::<Vec<_>>(),
                ),
            );
            params.insert(
                "first_tone_hz".into(),
                Value::from(to_hz(band_start + (fit.n0 * PAD) as f64 + frac)),
            );
        } else if let Some((_, c0)) = first_live {
            let all: Vec<(f64, usize)> = lives
                .iter()
                .map(|(_, _, c)| {
                    (
                        band_start + (c.n0 as usize * PAD) as f64,
                        pattern_of(c.n0 as usize),
                    )
                })
                .collect();
            let cands = n_init_candidates(&all, nb);
            params.insert("n_init".into(), Value::from(c0.n0 as u64));
            params.insert(
                "n_init_candidates".into(),
                Value::from(cands.iter().map(|&c| c as u64).collect::<Vec<_>>()),
            );
            params.insert(
                "first_tone_hz".into(),
                Value::from(to_hz(band_start + (c0.n0 as usize * PAD) as f64 + frac)),
            );
        } else {
            params.insert("n_init".into(), Value::Null);
            params.insert("n_init_candidates".into(), Value::Array(Vec::new()));
            params.insert("first_tone_hz".into(), Value::Null);
        }
        params.insert(
            "band_first_tone_hz".into(),
            Value::from(to_hz(band_start + frac)),
        );
        params.insert("reps_resolved".into(), Value::from(lives.len() as u64));
        // The cells whose hop sequence the preamble follows (at most HOP_CELLS_MAX listed;
        // empty when the hops were not resolved or too many cells fit).
        let (cells, conv) = match &hop_fit {
            Some(fit) if fit.cells.len() <= HOP_CELLS_MAX => {
                let mut ids: Vec<u64> = fit.cells.iter().map(|&(c, _)| c as u64).collect();
                ids.dedup();
                let clause = fit.cells.iter().any(|&(_, v)| v == HopConvention::Clause);
                let alt = fit.cells.iter().any(|&(_, v)| v == HopConvention::Alt);
                let conv = match (clause, alt) {
                    (true, false) => Value::from("clause"),
                    (false, true) => Value::from("alt"),
                    _ => Value::from("either"),
                };
                (ids, conv)
            }
            _ => (Vec::new(), Value::Null),
        };
        params.insert("hop_cells".into(), Value::from(cells));
        params.insert("hop_convention".into(), conv);
        params.insert("window_reps".into(), Value::from(t.best_w));
        params.insert("coherent_symbols".into(), Value::from(fj as u64));
        let nl = lives.len().max(1) as f64;
        // Power: each repetition's estimate, corrected by the refined-peak gain when its
        // overall best hypothesis is the one in the chosen band.
        let power = lives
            .iter()
            .map(|(_, l, c)| c.power * if l.best_j == jstar { l.gain } else { 1.0 })
            .sum::<f64>()
            / nl;
        let noise = lives.iter().map(|x| x.2.noise).sum::<f64>() / nl;
        let snr_db = if noise > 0.0 && power > 0.0 {
            10.0 * (power / (noise * bw_hz / self.fs)).log10()
        } else {
            f64::NAN
        };
        // Evidence for duplicate resolution: the energy explained, each repetition paying the
        // noise mean of R plus two standard deviations (a penalised likelihood). A wrong
        // format or a hypothesis shifted against the real preamble explains less with more
        // repetitions.
        let evidence = v[ra..rb].iter().map(|x| x - self.rep_penalty).sum::<f64>();
        // Confirmed by the hop path alone: its sum against its threshold.
        let metric = match (&hop_fit, fine_metric) {
            (Some(fit), _) if needs_hops => fit.sum / fit.threshold,
            (_, Some(m)) => m,
            _ => t.best_metric,
        };
        let mut det = Detection {
            kind: Kind::Nprach,
            tech: Tech::NbIot,
            sample_start: self.origin + start.round() as u64,
            sample_len: len.round() as u64,
            freq_offset_hz: centre_hz,
            bandwidth_hz: bw_hz,
            power,
            snr_db,
            score: 1.0 - 0.5f64.powf(metric),
            metric,
            params,
        };
        // Envelope: a preamble is one tone at a time (10.1.6.1), so its band has a
        // near-constant envelope; band-limited Gaussian noise (a noise burst over the band)
        // has kurtosis 2 (`envelope`). The selection of the best pattern among many makes a
        // strong noise burst pass the coherence check above; this test does not select.
        // Every repetition of the extent is tested in the chosen band (a repetition without
        // a resolved hypothesis too: a noise burst can lend a window its energy while the
        // repetitions it resolves lie beside it): with the moments taken when it was read
        // at full resolution in this band, else from the history, else (its samples gone)
        // with those taken in its own best band.
        let mut raw: Vec<(Chunk, f64)> = Vec::with_capacity(ext.len());
        for o in ext {
            let live = o.live.as_deref();
            if let Some(c) = live.filter(|l| l.best_j == jstar).and_then(|l| l.env) {
                raw.push(c);
                continue;
            }
            let (dh, plane) = live.map_or((0, 1), |l| (l.cands[jstar].dh, l.cands[jstar].plane));
            let (a, b) = self.rep_range(fi, o.end, dh);
            match self.band_envelope(a, b, t.win_lo, jstar, plane) {
                Some(c) => raw.push(c),
                None => raw.extend(live.and_then(|l| l.env)),
            }
        }
        // The noise: the floor's, or the band's own power just before the preamble when
        // that is lower (`noise_before`; also taken before the first repetition a track read).
        let pre = {
            let plane = lives.first().map_or(1, |(_, _, c)| c.plane);
            let s0 = (self.origin as f64 + start).max(0.0) as u64;
            self.noise_before(s0, t.win_lo, jstar, plane)
        };
        let chunks: Vec<Chunk> = raw
            .iter()
            .map(|&(c, floor)| Chunk {
                noise_gain: c.noise_gain * pre.map_or(floor, |p| p.min(floor)),
                ..c
            })
            .collect();
        // SNR against the same noise (the smallest of the estimates: the floor learns a long
        // strong preamble's tones after a few repetitions), not against the CFAR-rescaled
        // level of `details`: a strong tone's own sidelobes lift that level (rectangular
        // window), which capped the reported SNR near 20 dB.
        let quiet = raw
            .iter()
            .map(|&(_, floor)| floor)
            .chain(pre)
            .filter(|&v| v > 0.0)
            .fold(f64::INFINITY, f64::min);
        if quiet.is_finite() && power > 0.0 {
            det.snr_db = 10.0 * (power / (quiet * bw_hz / self.fs)).log10();
        }
        if chunks.is_empty() {
            self.stats.envelope_untested += 1;
        } else if envelope::decide(&chunks, 1.0, envelope::NPRACH_KAPPA0).noise_like() {
            self.stats.rejected_noise_like += 1;
            return;
        } else {
            // The measured envelope kurtosis (mean over the repetitions read): near 1.15 for
            // a strong preamble, 2 for noise (evidence for the report).
            let ks: Vec<f64> = chunks
                .iter()
                .filter(|c| c.m2 > 0.0)
                .map(|c| c.m4 / (c.m2 * c.m2))
                .collect();
            let k = ks.iter().sum::<f64>() / ks.len().max(1) as f64;
            det.params
                .insert("kurtosis".into(), Value::from((k * 1e3).round() / 1e3));
        }
        let end_hop = ((start + len) / hop).ceil() as i64;
        let pmax = self.fmts.iter().map(|f| f.p).max().unwrap_or(p);
        let mut hold = end_hop + (self.wmax as i64 + 3) * pmax;
        if nrep % 64 == 0 {
            hold += (GAP_S * self.fs / hop).ceil() as i64 + (self.wmax as i64 + 3) * pmax;
        }
        let new = Pending {
            det,
            fmt: fi_out,
            start,
            end: start + len,
            reps: nrep as u32,
            hold,
            evidence,
            balance,
            resolved: lives.len(),
            fine_format,
            sub1: t.sub1,
        };
        // Continuation across the 40 ms gap after 64 repetitions, whichever half is decided
        // first.
        let gap = GAP_S * self.fs;
        let joins = |first: &Pending, second: &Pending| -> bool {
            first.fmt == second.fmt
                && first.reps % 64 == 0
                && (second.start - (first.end + gap)).abs() < 0.5 * rep_len
                && (first.det.freq_offset_hz - second.det.freq_offset_hz).abs() < ASSOC_BINS * bhz
        };
        if let Some(q) = self
            .pending
            .iter_mut()
            .find(|q| joins(q, &new) || joins(&new, q))
        {
            let (first, second) = if q.start < new.start {
                (q.clone(), new.clone())
            } else {
                (new.clone(), q.clone())
            };
            let mut merged = first.clone();
            let total = first.reps + second.reps;
            let lo = (first.det.freq_offset_hz - first.det.bandwidth_hz / 2.0)
                .min(second.det.freq_offset_hz - second.det.bandwidth_hz / 2.0);
            let hi = (first.det.freq_offset_hz + first.det.bandwidth_hz / 2.0)
                .max(second.det.freq_offset_hz + second.det.bandwidth_hz / 2.0);
            merged.det.freq_offset_hz = 0.5 * (lo + hi);
            merged.det.bandwidth_hz = hi - lo;
            merged.det.sample_len = (second.end - first.start).round() as u64;
            merged.det.metric = first.det.metric.max(second.det.metric);
            merged.det.score = first.det.score.max(second.det.score);
            merged
                .det
                .params
                .insert("repetitions".into(), Value::from(total));
            merged.reps = total;
            merged.end = second.end;
            merged.hold = first.hold.max(second.hold);
            merged.evidence = first.evidence + second.evidence;
            merged.resolved = first.resolved + second.resolved;
            *q = merged;
            self.stats.merged_across_gap += 1;
            return;
        }
        self.pending.push(new);
    }

    /// Emits pending detections whose hold has passed, resolving duplicates.
    fn release(&mut self, h: i64, out: &mut Vec<Detection>) {
        if !self.pending.iter().any(|p| p.hold <= h) {
            return;
        }
        // Ready: hold passed and no open track (of either format) overlaps it in time and
        // band, since that track may become a better explanation of the same preamble.
        let hop = self.hop as f64;
        let nb = self.nb;
        let bhz = self.bins_hz();
        let open_overlap = |pd: &Pending| -> bool {
            let c = pd.det.freq_offset_hz / bhz;
            let half = pd.det.bandwidth_hz / bhz / 2.0 + (WIN as f64 + 44.0) / 2.0;
            self.fmts.iter().any(|f| {
                f.tracks.iter().any(|t| {
                    let t0 = (t.first_end - f.p) as f64 * hop;
                    let t1 = (t.next_read + f.p) as f64 * hop;
                    let tc = t.win_lo as f64 + (WIN as f64 + 44.0) / 2.0;
                    t0 < pd.end && t1 > pd.start && cdiff(tc, c, nb).abs() < half
                })
            })
        };
        let ready: Vec<usize> = (0..self.pending.len())
            .filter(|&i| {
                h == i64::MAX || (self.pending[i].hold <= h && !open_overlap(&self.pending[i]))
            })
            .collect();
        if ready.is_empty() {
            return;
        }
        let overlaps = |(s0, e0, lo0, hi0): (f64, f64, f64, f64),
                        (s1, e1, lo1, hi1): (f64, f64, f64, f64)|
         -> bool {
            let ov = (e0.min(e1) - s0.max(s1)).max(0.0);
            ov > 0.2 * (e0 - s0).min(e1 - s1) && hi0.min(hi1) - lo0.max(lo1) > SPACING_HZ
        };
        let span = |q: &Pending| {
            (
                q.start,
                q.end,
                q.det.freq_offset_hz - q.det.bandwidth_hz / 2.0,
                q.det.freq_offset_hz + q.det.bandwidth_hz / 2.0,
            )
        };
        let mut drop = vec![false; self.pending.len()];
        for &i in &ready {
            let q = &self.pending[i];
            if q.sub1 && self.recent.iter().any(|&r| overlaps(r, span(q))) {
                drop[i] = true;
            }
        }
        for &i in &ready {
            if drop[i] {
                continue;
            }
            for j in 0..self.pending.len() {
                if i == j || drop[j] {
                    continue;
                }
                let (a, b) = (&self.pending[i], &self.pending[j]);
                let ov = (a.end.min(b.end) - a.start.max(b.start)).max(0.0);
                let short = (a.end - a.start).min(b.end - b.start);
                let (alo, ahi) = (
                    a.det.freq_offset_hz - a.det.bandwidth_hz / 2.0,
                    a.det.freq_offset_hz + a.det.bandwidth_hz / 2.0,
                );
                let (blo, bhi) = (
                    b.det.freq_offset_hz - b.det.bandwidth_hz / 2.0,
                    b.det.freq_offset_hz + b.det.bandwidth_hz / 2.0,
                );
                let fov = ahi.min(bhi) - alo.max(blo);
                if ov > 0.2 * short && fov > SPACING_HZ {
                    // A hypothesis shifted against the real preamble collects the same groups
                    // with unbalanced energy; otherwise the larger evidence wins.
                    let cross = self.fmts[a.fmt].format != self.fmts[b.fmt].format;
                    let b_wins = if a.sub1 != b.sub1 {
                        a.sub1
                    } else if cross && a.fine_format != b.fine_format {
                        // Only one was named by the fine test: its format stands.
                        b.fine_format
                    } else if a.balance.is_finite()
                        && b.balance.is_finite()
                        && (a.balance < 0.5 * b.balance || b.balance < 0.5 * a.balance)
                    {
                        b.balance > a.balance
                    } else if b.evidence != a.evidence {
                        // Across formats a positive format-0 evidence is weighed by
                        // FORMAT1_EVIDENCE_RATIO.
                        let weigh = |q: &Pending| {
                            if self.fmts[q.fmt].format == 0 && q.evidence > 0.0 {
                                q.evidence * FORMAT1_EVIDENCE_RATIO
                            } else {
                                q.evidence
                            }
                        };
                        if self.fmts[a.fmt].format != self.fmts[b.fmt].format {
                            weigh(b) > weigh(a)
                        } else {
                            b.evidence > a.evidence
                        }
                    } else {
                        b.resolved > a.resolved
                    };
                    if b_wins {
                        drop[i] = true;
                        break;
                    } else {
                        drop[j] = true;
                    }
                }
            }
        }
        let mut keep = Vec::new();
        let mut emitted: Vec<Detection> = Vec::new();
        for (i, pd) in std::mem::take(&mut self.pending).into_iter().enumerate() {
            if drop[i] {
                self.stats.rejected_duplicate += 1;
            } else if ready.contains(&i) {
                if !pd.sub1 {
                    if self.recent.len() == RECENT_MAX {
                        self.recent.remove(0);
                    }
                    self.recent.push(span(&pd));
                }
                emitted.push(pd.det);
            } else {
                keep.push(pd);
            }
        }
        self.pending = keep;
        emitted.sort_by_key(|d| d.sample_end());
        self.stats.detections += emitted.len() as u64;
        out.extend(emitted);
    }
}

/// Band level beside a single repetition's tones, in units of the noise floor: the mean
/// power of `z` (baseband at `fd`, noise `var` per sample on the floor) in the bins from
/// `CFAR_GUARD + 1` to `CFAR_GUARD + CFAR_HALF` detector bins (937.5 Hz) below the lowest
/// tone `lo` and above the highest `hi` (Hz): the windows of the blind statistic's CFAR.
/// About 1 on noise (over the 8 ms span and 2 x 60 kHz, a standard deviation of about
/// 4 %); well above where wideband energy surrounds the tones.
/// `fft` is a forward transform of `z.len()` points.
fn side_level(fft: &dyn Fft<f64>, z: &[Complex64], fd: f64, lo: f64, hi: f64, var: f64) -> f64 {
    let n = z.len();
    let mut spec = z.to_vec();
    fft.process(&mut spec);
    let df = fd / n as f64;
    let bin = SPACING_HZ / PAD as f64;
    let (g0, g1) = (
        (CFAR_GUARD + 1) as f64 * bin,
        (CFAR_GUARD + CFAR_HALF) as f64 * bin,
    );
    let (mut sum, mut cells) = (0.0, 0usize);
    for (a, b) in [(lo - g1, lo - g0), (hi + g0, hi + g1)] {
        let (ka, kb) = ((a / df).ceil() as i64, (b / df).floor() as i64);
        for k in ka..=kb {
            sum += spec[k.rem_euclid(n as i64) as usize].norm_sqr();
            cells += 1;
        }
    }
    sum / (cells.max(1) as f64 * n as f64 * var)
}

/// Start times searched by the fine test either side of the blind start, in 1.92 MS/s
/// samples (`FMT_SEARCH_S`).
fn fmt_search_192() -> usize {
    (FMT_SEARCH_S * 1.92e6).round() as usize
}

/// Length of the fine test's span at 1.92 MS/s: the search either side and four format-1
/// groups.
fn fmt_span_192() -> usize {
    2 * fmt_search_192() + 4 * FMT_GROUP_192[1]
}

/// A planned forward FFT (`side_level`), debug-printed by its length.
#[derive(Clone)]
struct SideFft(Arc<dyn Fft<f64>>);

impl std::fmt::Debug for SideFft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SideFft({})", self.0.len())
    }
}

/// `e^(-j 2 pi f_hz step i / fs)` for `i` in `0..len` (every `step`-th sample at `fs`), by
/// the recurrence of one rotation per value (starting at 1).
fn phasors(f_hz: f64, step: f64, fs: f64, len: usize) -> Vec<Complex64> {
    let w = Complex64::from_polar(1.0, -std::f64::consts::TAU * f_hz * step / fs);
    let mut ph = Complex64::new(1.0, 0.0);
    (0..len)
        .map(|_| {
            let v = ph;
            ph *= w;
            v
        })
        .collect()
}

/// `z[i]` = the sum of `raw[i m + k] mix[i m + k]` over `k < m`: mixed by the phasors `mix`,
/// then boxcar-decimated by `m` (for every `i < z.len()`).
fn mix_decimate(raw: &[Complex32], mix: &[Complex64], m: usize, z: &mut [Complex64]) {
    for (i, zi) in z.iter_mut().enumerate() {
        let (xs, ps) = (&raw[i * m..(i + 1) * m], &mix[i * m..(i + 1) * m]);
        *zi = xs
            .iter()
            .zip(ps)
            .fold(Complex64::new(0.0, 0.0), |acc, (x, ph)| {
                acc + Complex64::new(x.re as f64, x.im as f64) * ph
            });
    }
}

/// The values of `ñ(0)` for the first repetition that are consistent with every repetition
/// read at full resolution, given as (first tone in bins, pattern), first repetition first:
/// the first repetition's pattern admits three; each fixes a 12-subcarrier band that must
/// hold every repetition's first tone with the pattern that tone implies (10.1.6.1).
fn n_init_candidates(reps: &[(f64, usize)], nb: usize) -> Vec<usize> {
    let Some(&(tone0, p0)) = reps.first() else {
        return Vec::new();
    };
    (0..12)
        .filter(|&n0| pattern_of(n0) == p0)
        .filter(|&n0| {
            let band = tone0 - (n0 * PAD) as f64;
            reps.iter().all(|&(t, p)| {
                let rel = cdiff(t, band, nb) / PAD as f64;
                let r0 = rel.round();
                (rel - r0).abs() < 0.4 && (0.0..=11.0).contains(&r0) && pattern_of(r0 as usize) == p
            })
        })
        .collect()
}

/// `G_q = |sum_j X_j e^{-j 2 pi q j / 12}|^2 / J` for q = -1 (`gm`), 0 (`g0`), +1 (`gp`),
/// frames `X_j` as split real / imaginary rows, earliest first.
#[inline(always)]
fn coherent_rows<const J: usize>(
    xr: [&[f32]; J],
    xi: [&[f32]; J],
    ramp: &[(f32, f32); 6],
    gm: &mut [f32],
    g0: &mut [f32],
    gp: &mut [f32],
) {
    let n = g0.len();
    let xr: [&[f32]; J] = xr.map(|s| &s[..n]);
    let xi: [&[f32]; J] = xi.map(|s| &s[..n]);
    let gm = &mut gm[..n];
    let gp = &mut gp[..n];
    let inv_j = 1.0 / J as f32;
    for k in 0..n {
        let (mut s0r, mut s0i, mut ar, mut ai, mut br, mut bi) =
            (0.0f32, 0.0f32, 0.0f32, 0.0f32, 0.0f32, 0.0f32);
        for j in 0..J {
            let (vr, vi) = (xr[j][k], xi[j][k]);
            let (c, s) = ramp[j];
            s0r += vr;
            s0i += vi;
            ar += vr * c;
            ai += vi * c;
            br += vr * s;
            bi += vi * s;
        }
        // w^j = c_j - i q s_j: q = +1 gives A - iB, q = -1 gives A + iB.
        let (pr, pi) = (ar + bi, ai - br);
        let (mr, mi) = (ar - bi, ai + br);
        gm[k] = (mr * mr + mi * mi) * inv_j;
        g0[k] = (s0r * s0r + s0i * s0i) * inv_j;
        gp[k] = (pr * pr + pi * pi) * inv_j;
    }
}

/// [`coherent_rows`] for J = 5 (frames 1..5, `o5`) and J = 6 (frames 0..5, `o6`) in one pass,
/// each with exactly the arithmetic of its own call; outputs in the order q = -1, 0, +1.
#[inline(always)]
fn coherent_rows_56(
    xr: [&[f32]; 6],
    xi: [&[f32]; 6],
    ramp: &[(f32, f32); 6],
    o5: [&mut [f32]; 3],
    o6: [&mut [f32]; 3],
) {
    let [m5, z5, p5] = o5;
    let [m6, z6, p6] = o6;
    let n = z5.len();
    let xr: [&[f32]; 6] = xr.map(|s| &s[..n]);
    let xi: [&[f32]; 6] = xi.map(|s| &s[..n]);
    let (m5, z5, p5, m6, z6, p6) = (
        &mut m5[..n],
        &mut z5[..n],
        &mut p5[..n],
        &mut m6[..n],
        &mut z6[..n],
        &mut p6[..n],
    );
    for k in 0..n {
        let mut a5 = [0.0f32; 6];
        let mut a6 = [0.0f32; 6];
        for j in 0..6 {
            let (vr, vi) = (xr[j][k], xi[j][k]);
            let (c, s) = ramp[j];
            a6[0] += vr;
            a6[1] += vi;
            a6[2] += vr * c;
            a6[3] += vi * c;
            a6[4] += vr * s;
            a6[5] += vi * s;
            if j > 0 {
                let (c, s) = ramp[j - 1];
                a5[0] += vr;
                a5[1] += vi;
                a5[2] += vr * c;
                a5[3] += vi * c;
                a5[4] += vr * s;
                a5[5] += vi * s;
            }
        }
        let mag = |a: [f32; 6], inv_j: f32| -> (f32, f32, f32) {
            let [s0r, s0i, ar, ai, br, bi] = a;
            let (pr, pi) = (ar + bi, ai - br);
            let (mr, mi) = (ar - bi, ai + br);
            (
                (mr * mr + mi * mi) * inv_j,
                (s0r * s0r + s0i * s0i) * inv_j,
                (pr * pr + pi * pi) * inv_j,
            )
        };
        (m5[k], z5[k], p5[k]) = mag(a5, 1.0 / 5.0);
        (m6[k], z6[k], p6[k]) = mag(a6, 1.0 / 6.0);
    }
}

/// The four pattern sums `S_p[v] = G0[v] + G1[v + 4 s1] + G2[v + 4 s1 + 24 s2] + G3[v + 24 s2]`
/// for `v = base .. base + out.len()` (indices into the haloed rows `g`), in the order of
/// [`PATTERNS`].
#[inline(always)]
fn pattern_sums(out: [&mut [f32]; 4], g: [&[f32]; 4], base: usize) {
    let n = out[0].len();
    let h1 = HOP1 as usize;
    let h6 = HOP6 as usize;
    let g0 = &g[0][base..base + n];
    let g1p = &g[1][base + h1..base + h1 + n];
    let g1m = &g[1][base - h1..base - h1 + n];
    let g2pp = &g[2][base + h1 + h6..base + h1 + h6 + n];
    let g2pm = &g[2][base + h1 - h6..base + h1 - h6 + n];
    let g2mp = &g[2][base + h6 - h1..base + h6 - h1 + n];
    let g2mm = &g[2][base - h6 - h1..base - h6 - h1 + n];
    let g3p = &g[3][base + h6..base + h6 + n];
    let g3m = &g[3][base - h6..base - h6 + n];
    let [o_pp, o_pm, o_mp, o_mm] = out;
    let (o_pp, o_pm, o_mp, o_mm) = (
        &mut o_pp[..n],
        &mut o_pm[..n],
        &mut o_mp[..n],
        &mut o_mm[..n],
    );
    for i in 0..n {
        let up = g0[i] + g1p[i];
        let um = g0[i] + g1m[i];
        o_pp[i] = up + (g2pp[i] + g3p[i]);
        o_pm[i] = up + (g2pm[i] + g3m[i]);
        o_mp[i] = um + (g2mp[i] + g3p[i]);
        o_mm[i] = um + (g2mm[i] + g3m[i]);
    }
}

#[inline(always)]
fn fmax(a: f32, b: f32) -> f32 {
    if a > b {
        a
    } else {
        b
    }
}

/// `acc = a + b` elementwise.
#[inline(always)]
fn add2(acc: &mut [f32], a: &[f32], b: &[f32]) {
    let n = acc.len();
    let (a, b) = (&a[..n], &b[..n]);
    for i in 0..n {
        acc[i] = a[i] + b[i];
    }
}

/// `R` of a tile: `acc[b] = max over the patterns p and the three first subcarriers n of p
/// of S_p[b + off_p + 8 n]`, off_p = 0, 24, 4, 28 in the order of [`PATTERNS`] (the band
/// start b holds group 0 at b + 4 ñ(0)); `first` overwrites `acc`, else it is max-ed into.
#[inline(always)]
fn pooled_max(acc: &mut [f32], st: [&[f32]; 4], first: bool) {
    let n = acc.len();
    let (p0, p1, p2, p3) = (st[0], st[1], st[2], st[3]);
    let (a0, a1, a2) = (&p0[0..n], &p0[8..8 + n], &p0[16..16 + n]);
    let (b0, b1, b2) = (&p1[24..24 + n], &p1[32..32 + n], &p1[40..40 + n]);
    let (c0, c1, c2) = (&p2[4..4 + n], &p2[12..12 + n], &p2[20..20 + n]);
    let (d0, d1, d2) = (&p3[28..28 + n], &p3[36..36 + n], &p3[44..44 + n]);
    for b in 0..n {
        let a = fmax(fmax(a0[b], a1[b]), a2[b]);
        let c = fmax(fmax(b0[b], b1[b]), b2[b]);
        let d = fmax(fmax(c0[b], c1[b]), c2[b]);
        let e = fmax(fmax(d0[b], d1[b]), d2[b]);
        let v = fmax(fmax(a, c), fmax(d, e));
        acc[b] = if first { v } else { fmax(acc[b], v) };
    }
}

#[inline(always)]
fn max_into(acc: &mut [f32], x: &[f32]) {
    let n = acc.len();
    let x = &x[..n];
    for i in 0..n {
        acc[i] = fmax(acc[i], x[i]);
    }
}

#[inline(always)]
fn add_into(acc: &mut [f32], x: &[f32]) {
    let n = acc.len();
    let x = &x[..n];
    for i in 0..n {
        acc[i] += x[i];
    }
}

#[inline(always)]
fn count_above(x: &[f32], t: f32) -> usize {
    x.iter().map(|&v| (v > t) as u32).sum::<u32>() as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::impair::{add_awgn, signal_power_for_snr};
    use crate::synth::interferer::{CwConfig, NoiseBurstConfig};
    use crate::synth::nprach::{
        hop_offsets, FormatParams, HopConvention, NprachConfig, SUBCARRIER_OFFSETS_FMT01,
    };
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Noise power of every scenario (total over the sample rate).
    const NOISE: f64 = 1e-3;

    #[derive(Debug)]
    struct Truth {
        start: f64,
        len: f64,
        centre_hz: f64,
        bandwidth_hz: f64,
        power: f64,
        format: u8,
        reps: u32,
        n_init: u32,
    }

    /// One preamble with random parameters (subcarrier offset, n_init, cell, hop convention),
    /// at a random carrier anywhere in the band (not on a grid), a random CFO of ±3 kHz and a
    /// random start after `lead_s`, in white noise, `snr_db` in 180 kHz (36.211 10.1.6 via
    /// `synth::nprach`, rendered with `Burst::render_add`).
    fn scenario(
        fs: f64,
        format: u8,
        reps: u32,
        snr_db: f64,
        seed: u64,
        lead_s: f64,
    ) -> (Vec<Complex32>, Truth) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let off = SUBCARRIER_OFFSETS_FMT01[rng.random_range(0..SUBCARRIER_OFFSETS_FMT01.len())];
        let cfg = NprachConfig {
            format,
            repetitions: reps,
            subcarrier_offset: off,
            n_subcarriers: 12,
            n_init: rng.random_range(0..12),
            cell_id: rng.random_range(0..504),
            hop_convention: if rng.random::<bool>() {
                HopConvention::Clause
            } else {
                HopConvention::Alt
            },
        };
        let b = cfg.generate().unwrap();
        let carrier = rng.random_range(-0.45 * fs + 100e3..0.45 * fs - 100e3);
        let cfo = rng.random_range(-3e3..3e3);
        let dur = b.signal.duration_s() * fs;
        let start = lead_s * fs + rng.random_range(0.0..0.005 * fs);
        let total = (start + dur + 0.01 * fs) as usize;
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
        add_awgn(&mut x, NOISE, &mut rng);
        let truth = Truth {
            start,
            len: dur,
            centre_hz: carrier + cfo + b.center_hz,
            bandwidth_hz: b.bandwidth_hz,
            power: p,
            format,
            reps,
            n_init: cfg.n_init,
        };
        (x, truth)
    }

    fn config(fs: f64) -> NprachDetectorConfig {
        NprachDetectorConfig {
            sample_rate_hz: fs,
            ..Default::default()
        }
    }

    fn run(
        cfg: &NprachDetectorConfig,
        x: &[Complex32],
        block: usize,
    ) -> (Vec<Detection>, NprachStats) {
        let mut d = NprachDetector::new(cfg.clone()).unwrap();
        let mut out = Vec::new();
        for (i, c) in x.chunks(block).enumerate() {
            d.process(1_000_000 + (i * block) as u64, c, &mut out);
        }
        d.finish(&mut out);
        (out, d.stats().clone())
    }

    /// Every property of the one record expected for `t`.
    fn check(dets: &[Detection], t: &Truth, fs: f64) -> Result<(), String> {
        if dets.len() != 1 {
            return Err(format!("{} detections: {dets:?}", dets.len()));
        }
        let d = &dets[0];
        let fmt = d.params["format"].as_u64();
        let reps = d.params["repetitions"].as_u64();
        let dt = (d.sample_start as f64 - 1e6 - t.start) / fs;
        let df = d.freq_offset_hz - t.centre_hz;
        let snr_true = 10.0 * (t.power / (NOISE * d.bandwidth_hz / fs)).log10();
        let bad = d.kind != Kind::Nprach
            || d.tech != Tech::NbIot
            || fmt != Some(t.format as u64)
            || reps != Some(t.reps as u64)
            || dt.abs() > 0.3e-3
            || df.abs() > 2e3
            || (d.sample_len as f64 - t.len).abs() > 2.0
            || (d.bandwidth_hz - t.bandwidth_hz).abs() > SPACING_HZ + 1.0
            || (10.0 * (d.power / t.power).log10()).abs() > 2.0
            || (d.snr_db - snr_true).abs() > 2.0
            || !(d.metric > 1.0 && d.score > 0.5 && d.score <= 1.0);
        // n_init: the truth is among the candidates; when they are unique it is reported.
        let cands: Vec<u64> = d.params["n_init_candidates"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_u64()).collect())
            .unwrap_or_default();
        let n0 = (t.n_init % 12) as u64;
        let n_init_bad =
            !cands.contains(&n0) || (cands.len() == 1 && d.params["n_init"].as_u64() != Some(n0));
        if bad || n_init_bad {
            return Err(format!(
                "dt {:.3} ms df {df:.0} Hz fmt {fmt:?} reps {reps:?} n_init {n0} in {cands:?}: \
                 {d:?} vs {t:?}",
                dt * 1e3
            ));
        }
        Ok(())
    }

    fn detects(fs: f64, format: u8, reps: u32, trials: u64, seed: u64) {
        let cfg = config(fs);
        for i in 0..trials {
            let (x, t) = scenario(fs, format, reps, -6.0, seed + i, 0.025);
            let (dets, _) = run(&cfg, &x, 65536);
            if let Err(e) = check(&dets, &t, fs) {
                panic!("fs {fs} format {format} reps {reps} trial {i}: {e}");
            }
        }
    }

    #[test]
    fn detects_format_0_at_1_92_msps() {
        detects(1.92e6, 0, 1, 20, 0x5eed_0100);
        detects(1.92e6, 0, 4, 20, 0x5eed_0200);
    }

    #[test]
    fn detects_format_1_at_1_92_msps() {
        detects(1.92e6, 1, 1, 20, 0x5eed_0300);
        detects(1.92e6, 1, 4, 20, 0x5eed_0400);
    }

    /// Strong preambles: every property of the record holds, the SNR included (it was
    /// measured against the CFAR level, which a strong tone's own sidelobes lift: +20 dB in
    /// 180 kHz was reported as about 20 dB in the preamble's 30 kHz instead of 27.8 dB), and
    /// long ones too (the clipped floor learned their tones: 32 repetitions at +10 dB were
    /// placed a band 2 subcarriers off in 10 of 12 trials).
    #[test]
    fn strong_preambles_are_reported_exactly() {
        let fs = 1.92e6;
        let cfg = config(fs);
        for (format, reps, snr, seed, trials) in [
            (0u8, 1u32, 10.0, 0x5eed_5100u64, 6),
            (0, 2, 25.0, 0x5eed_5200, 6),
            (1, 4, 15.0, 0x5eed_5300, 6),
            (1, 1, 30.0, 0x5eed_5400, 6),
            (0, 32, 20.0, 0x5eed_5500, 3),
            (1, 16, 12.0, 0x5eed_5600, 3),
        ] {
            for i in 0..trials {
                let (x, t) = scenario(fs, format, reps, snr, seed + i, 0.025);
                let (dets, _) = run(&cfg, &x, 65536);
                if let Err(e) = check(&dets, &t, fs) {
                    panic!("format {format} reps {reps} at {snr} dB, trial {i}: {e}");
                }
            }
        }
    }

    /// Format of single repetitions at -12 dB, named by the fine test (`format_fit`). A
    /// preamble reported with the other format counts; at most 1 of 100 per format may be.
    /// `nprach_eval pd 1.92e6 F 1 -11 -12 --trials 400 --seed 123000` measured 16 (format 0)
    /// and 17 (format 1) of 800 reported as the other format with the blind evidence ratio
    /// alone (`FORMAT1_EVIDENCE_RATIO`), 7 and 0 with the fine test.
    #[test]
    fn formats_are_told_apart_near_the_sensitivity_limit() {
        let fs = 1.92e6;
        let cfg = config(fs);
        for (format, seed) in [(0u8, 0x5eed_0f00u64), (1, 0x5eed_1f00)] {
            let other = u64::from(1 - format);
            let wrong: Vec<u64> = (0..100)
                .filter(|&i| {
                    let (x, _) = scenario(fs, format, 1, -12.0, seed + i, 0.025);
                    let (dets, _) = run(&cfg, &x, 65536);
                    dets.iter()
                        .any(|d| d.params["format"].as_u64() == Some(other))
                })
                .collect();
            assert!(
                wrong.len() <= 1,
                "format {format} reported as format {other} in trials {wrong:?} of 100"
            );
        }
    }

    /// A single repetition's start comes from the fine test (`format_fit`, a 2-sample grid
    /// at 1.92 MS/s; fractional start, CFO up to 3 kHz): within 16 samples (8.3 us) at 0 dB
    /// (measured up to 12) and 3 samples at +20 dB (measured up to 1.6); the blind grid
    /// alone placed it within about N/8 (64 samples).
    #[test]
    fn a_single_repetition_is_timed_to_microseconds() {
        let fs = 1.92e6;
        let cfg = config(fs);
        for (format, snr, seed) in [
            (0u8, 0.0, 0x5eed_7100u64),
            (1, 0.0, 0x5eed_7200),
            (0, 20.0, 0x5eed_7300),
            (1, 20.0, 0x5eed_7400),
        ] {
            for i in 0..5 {
                let (x, t) = scenario(fs, format, 1, snr, seed + i, 0.025);
                let (dets, _) = run(&cfg, &x, 65536);
                assert_eq!(
                    dets.len(),
                    1,
                    "format {format} {snr} dB trial {i}: {dets:?}"
                );
                let d = &dets[0];
                assert_eq!(d.params["format"].as_u64(), Some(u64::from(format)));
                let err = d.sample_start as f64 - 1e6 - t.start;
                let tol = if snr < 10.0 { 16.0 } else { 3.0 };
                assert!(
                    err.abs() <= tol,
                    "format {format} {snr} dB trial {i}: start {} against {:.1}",
                    d.sample_start - 1_000_000,
                    t.start
                );
            }
        }
    }

    /// Single repetitions 1 dB under the target SNR (-13 dB), many of them below the blind
    /// `W = 1` threshold: the pre-threshold track and the fine test (`format_fit` against
    /// `t_fine`) find them. The code before that path found 0.84 - 0.87 of them
    /// (`nprach_eval`); this asks 180 of 200 fresh-seed preambles found with the right
    /// format and repetitions, the start within 0.3 ms and the centre within 2 kHz, and no
    /// second record.
    #[test]
    fn single_repetitions_below_the_blind_threshold_are_confirmed_finely() {
        let fs = 1.92e6;
        let cfg = config(fs);
        let (mut right, mut confirmed) = (0, 0);
        for i in 0..200 {
            let (x, t) = scenario(fs, 0, 1, -13.0, 0x5eed_2a00 + i, 0.025);
            let (dets, st) = run(&cfg, &x, 65536);
            assert!(dets.len() <= 1, "trial {i}: {dets:?}");
            confirmed += st.fine_confirmed;
            right += usize::from(dets.iter().any(|d| {
                let dt = (d.sample_start as f64 - 1e6 - t.start) / fs;
                d.kind == Kind::Nprach
                    && d.params["format"].as_u64() == Some(0)
                    && d.params["repetitions"].as_u64() == Some(1)
                    && dt.abs() <= 0.3e-3
                    && (d.freq_offset_hz - t.centre_hz).abs() <= 2e3
            }));
        }
        assert!(right >= 180, "{right} of 200 right at -13 dB");
        assert!(confirmed >= 10, "{confirmed}");
    }

    #[test]
    fn detects_at_7_68_msps() {
        for (format, reps, seed) in [
            (0, 1, 0x5eed_0500),
            (0, 4, 0x5eed_0600),
            (1, 1, 0x5eed_0700),
        ] {
            detects(7.68e6, format, reps, 2, seed);
        }
        detects(7.68e6, 1, 4, 2, 0x5eed_0800);
    }

    #[test]
    fn merges_128_repetitions_across_the_40_ms_gap() {
        let fs = 1.92e6;
        let (x, t) = scenario(fs, 1, 128, -6.0, 0x5eed_0900, 0.025);
        // Format 1 only, to keep the test fast (format decisions are tested elsewhere).
        let cfg = NprachDetectorConfig {
            formats: vec![1],
            ..config(fs)
        };
        let (dets, st) = run(&cfg, &x, 65536);
        assert_eq!(dets.len(), 1, "{dets:?}");
        assert!(st.merged_across_gap >= 1, "{st:?}");
        let d = &dets[0];
        assert_eq!(d.params["format"].as_u64(), Some(1));
        assert_eq!(d.params["repetitions"].as_u64(), Some(128));
        assert!(
            (d.sample_start as f64 - 1e6 - t.start).abs() / fs < 0.3e-3,
            "{d:?}"
        );
        assert!((d.sample_len as f64 - t.len).abs() < 0.3e-3 * fs, "{d:?}");
        // Each half chooses its band on its own; one may be 2 subcarriers off.
        assert!(
            (d.freq_offset_hz - t.centre_hz).abs() < 2.0 * SPACING_HZ + 2e3,
            "{d:?}"
        );
    }

    #[test]
    fn block_size_does_not_change_the_result() {
        let fs = 1.92e6;
        let (x, t) = scenario(fs, 0, 4, -3.0, 0x5eed_0a00, 0.025);
        let cfg = config(fs);
        let (a, sa) = run(&cfg, &x, 65536);
        check(&a, &t, fs).unwrap();
        for block in [1000, 4096] {
            let (b, sb) = run(&cfg, &x, block);
            assert_eq!(a, b, "block {block}");
            assert_eq!(sa, sb, "block {block}");
        }
    }

    #[test]
    fn a_gap_drops_the_state_and_the_stream_restarts() {
        let fs = 1.92e6;
        let (x, t) = scenario(fs, 0, 1, -3.0, 0x5eed_0b00, 0.025);
        let mut d = NprachDetector::new(config(fs)).unwrap();
        let mut out = Vec::new();
        // Noise, then the scenario stamped 10 s later.
        let mut rng = ChaCha8Rng::seed_from_u64(0x5eed_0b01);
        let mut pre = vec![Complex32::new(0.0, 0.0); 50_000];
        add_awgn(&mut pre, NOISE, &mut rng);
        d.process(0, &pre, &mut out);
        let base = 19_200_000u64;
        d.process(base, &x, &mut out);
        d.finish(&mut out);
        assert_eq!(d.stats().gaps, 1);
        assert_eq!(out.len(), 1, "{out:?}");
        let dt = (out[0].sample_start as f64 - base as f64 - t.start) / fs;
        assert!(dt.abs() < 0.3e-3, "{dt}");
    }

    /// `side_level` reads about 1 on white noise at the floor's level and the wideband
    /// level where a wider signal surrounds the tones; a tone on the tones themselves
    /// does not raise it.
    #[test]
    fn side_level_is_the_band_level_beside_the_tones() {
        let mut rng = ChaCha8Rng::seed_from_u64(0x51de);
        let n = 15360;
        let fd = 1.92e6;
        let mut noise = |var: f64| -> Vec<Complex64> {
            let mut x = vec![Complex32::new(0.0, 0.0); n];
            add_awgn(&mut x, var, &mut rng);
            x.iter()
                .map(|c| Complex64::new(c.re as f64, c.im as f64))
                .collect()
        };
        let fft = FftPlanner::<f64>::new().plan_fft_forward(n);
        let mut z = noise(2.0);
        let quiet = side_level(&*fft, &z, fd, -20e3, 20e3, 2.0);
        assert!((0.9..1.1).contains(&quiet), "{quiet}");
        // A strong tone between the tones changes nothing; wideband noise 4 times the floor
        // over +-200 kHz reads about 5.
        for (i, v) in z.iter_mut().enumerate() {
            *v += Complex64::from_polar(30.0, std::f64::consts::TAU * 5e3 * i as f64 / fd);
        }
        let tone = side_level(&*fft, &z, fd, -20e3, 20e3, 2.0);
        assert!((0.9..1.1).contains(&tone), "{tone}");
        let mut spec = noise(8.0);
        FftPlanner::<f64>::new()
            .plan_fft_forward(n)
            .process(&mut spec);
        let keep = (200e3 / (fd / n as f64)) as usize;
        for (k, v) in spec.iter_mut().enumerate() {
            if k > keep && k < n - keep {
                *v = Complex64::new(0.0, 0.0);
            }
        }
        FftPlanner::<f64>::new()
            .plan_fft_inverse(n)
            .process(&mut spec);
        for (a, b) in z.iter_mut().zip(&spec) {
            *a += b / n as f64;
        }
        let wide = side_level(&*fft, &z, fd, -20e3, 20e3, 2.0);
        assert!((4.0..6.0).contains(&wide), "{wide}");
    }

    #[test]
    fn noise_alone_gives_no_detection() {
        let fs = 1.92e6;
        let cfg = config(fs);
        let mut tested = 0;
        for seed in 0..5u64 {
            let mut rng = ChaCha8Rng::seed_from_u64(0x5eed_0c00 + seed);
            let mut x = vec![Complex32::new(0.0, 0.0); (0.3 * fs) as usize];
            add_awgn(&mut x, NOISE, &mut rng);
            let (dets, st) = run(&cfg, &x, 65536);
            assert!(dets.is_empty(), "seed {seed}: {dets:?}");
            assert_eq!(st.detections, 0);
            tested += st.cells_tested;
        }
        assert!(tested > 400_000_000, "{tested}");
    }

    #[test]
    fn false_alarms_follow_the_budget() {
        // At a budget of 100 per second the rate seen on 1 s of noise is within a few times
        // the budget (the calibration behind the thresholds), for W = 1 and for W = 8.
        let fs = 1.92e6;
        let mut rng = ChaCha8Rng::seed_from_u64(0x5eed_0d00);
        let mut x = vec![Complex32::new(0.0, 0.0); fs as usize];
        add_awgn(&mut x, NOISE, &mut rng);
        for w in [1u32, 8] {
            let cfg = NprachDetectorConfig {
                sample_rate_hz: fs,
                false_alarms_per_hour: 360_000.0,
                formats: vec![0],
                window_reps: vec![w],
                ..Default::default()
            };
            let (dets, st) = run(&cfg, &x, 65536);
            // The candidates opened (before the checks) are close to the budget; the checks
            // keep fewer.
            assert!((30..=300).contains(&st.tracks), "W {w}: {st:?}");
            let n = dets.len();
            assert!((3..=150).contains(&n), "W {w}: {n} detections, {st:?}");
        }
    }

    #[test]
    fn carriers_and_wideband_bursts_are_not_nprach() {
        let fs = 1.92e6;
        let mut rng = ChaCha8Rng::seed_from_u64(0x5eed_0e00);
        let mut x = vec![Complex32::new(0.0, 0.0); (0.4 * fs) as usize];
        // A strong carrier switched on after the warm-up, at an arbitrary frequency, 250 ms.
        let cw = CwConfig { duration_s: 0.25 }.generate().unwrap();
        let f_cw = rng.random_range(-600e3..600e3);
        cw.signal.render_add(
            &mut x,
            0,
            fs,
            0.05 * fs,
            f_cw,
            Complex64::new((100.0 * NOISE).sqrt(), 0.0),
        );
        // A weaker one, 25 dB above the noise in a 3.75 kHz bin.
        let weak = (NOISE * 3750.0 / fs * 10f64.powf(2.5)).sqrt();
        cw.signal.render_add(
            &mut x,
            0,
            fs,
            0.08 * fs,
            f_cw + 300e3,
            Complex64::new(weak, 0.0),
        );
        // Wideband noise bursts, 1 MHz and 200 kHz wide, 2 ms, 10 dB above the noise in their
        // band.
        for (k, (bw, t0)) in [(1e6, 0.1), (200e3, 0.2), (1e6, 0.33)].iter().enumerate() {
            let nb = NoiseBurstConfig {
                bandwidth_hz: *bw,
                duration_s: 2e-3,
            }
            .generate(&mut rng)
            .unwrap();
            let p = signal_power_for_snr(NOISE, fs, 10.0, *bw);
            nb.signal.render_add(
                &mut x,
                0,
                fs,
                t0 * fs,
                (k as f64 - 1.0) * 300e3,
                Complex64::new(p.sqrt(), 0.0),
            );
        }
        add_awgn(&mut x, NOISE, &mut rng);
        let (dets, st) = run(&config(fs), &x, 65536);
        assert!(dets.is_empty(), "{dets:?} {st:?}");
    }

    /// A Sigfox-like ultra-narrowband burst (20 dB in its 100 Hz) switching on, at onsets
    /// before, inside and after the warm-up, anywhere in the band: while the floor learns
    /// it, the blind search takes its line as one group per repetition; the steady-line test
    /// (`Core::line_share`) turns such tracks down, and none is reported. Of captures 0 .. 60
    /// of this scene, 33 and 57 were reported as a preamble before that test (0 with it);
    /// the test runs 30 .. 36 and 54 .. 58 (about 1.4 s each).
    #[test]
    fn a_carrier_switching_on_is_not_a_long_preamble() {
        use crate::synth::interferer::SigfoxConfig;
        let fs = 1.92e6;
        let mut reported = Vec::new();
        let mut steady = 0;
        for t in (30..36u64).chain(54..58) {
            let mut rng = ChaCha8Rng::seed_from_u64(0x5eed_5f00 + t);
            let mut x = vec![Complex32::new(0.0, 0.0); (0.6 * fs) as usize];
            let onset = [0.0, 0.005, 0.01, 0.015, 0.1][t as usize % 5];
            let burst = SigfoxConfig {
                frame_bits: 12,
                gap_s: 0.01,
                ..SigfoxConfig::default()
            }
            .generate(&mut rng)
            .unwrap();
            let p = signal_power_for_snr(NOISE, fs, 20.0, 100.0);
            let f0 = rng.random_range(-500e3..500e3);
            burst
                .signal
                .render_add(&mut x, 0, fs, onset * fs, f0, Complex64::new(p.sqrt(), 0.0));
            add_awgn(&mut x, NOISE, &mut rng);
            let (dets, st) = run(&config(fs), &x, 65536);
            steady += st.rejected_steady_line;
            if !dets.is_empty() {
                reported.push((t, dets.len()));
            }
        }
        assert!(
            reported.is_empty(),
            "reported (capture, detections): {reported:?}"
        );
        assert!(steady > 0, "the steady-line test never applied");
    }

    /// The envelope is measured where the preamble is: a strong preamble (fresh seeds, both
    /// formats, 1 - 4 repetitions, any hop convention, +-3 kHz CFO) reports a kurtosis near
    /// its own 1.15 (a band or a time off the preamble would measure noise: 2).
    #[test]
    fn strong_preambles_have_a_near_constant_envelope() {
        let mut n = 0;
        for (i, &(fs, format, reps)) in [
            (1.92e6, 0u8, 1u32),
            (1.92e6, 1, 2),
            (1.92e6, 0, 4),
            (7.68e6, 1, 1),
            (7.68e6, 0, 2),
        ]
        .iter()
        .enumerate()
        {
            for k in 0..4u64 {
                let seed = 0x5eed_1600 + 16 * i as u64 + k;
                let snr = 10.0 + 3.0 * k as f64;
                let (x, t) = scenario(fs, format, reps, snr, seed, 0.025);
                let (dets, _) = run(&config(fs), &x, 65536);
                assert!(
                    dets.len() == 1
                        && dets[0].params["format"].as_u64() == Some(format as u64)
                        && (dets[0].freq_offset_hz - t.centre_hz).abs() < 2e3,
                    "seed {seed}: {dets:?} vs {t:?}"
                );
                let kappa = dets[0].params["kurtosis"].as_f64();
                assert!(
                    kappa.is_some_and(|k| (1.0..1.4).contains(&k)),
                    "seed {seed} {snr} dB: kurtosis {kappa:?}"
                );
                n += 1;
            }
        }
        assert_eq!(n, 20);
    }

    /// Band-limited Gaussian noise bursts from a tone group's width to 1 MHz, 6 - 20 dB in
    /// their own band, at fresh seeds: none is reported. Before the envelope test about a
    /// quarter of such bursts were (the best of the many hopping patterns passes the
    /// coherence check, and inside a wide burst the CFAR level is the burst itself).
    #[test]
    fn noise_bursts_are_not_nprach() {
        let mut cases = Vec::new();
        for &fs in &[1.92e6, 7.68e6] {
            for &bw in &[45e3, 100e3, 180e3, 400e3, 1e6] {
                cases.push((fs, bw));
            }
        }
        let (reported, tested) = noise_bursts(&cases, 3, 0x5eed_1400);
        assert!(reported.is_empty(), "{}", reported.join("\n"));
        // The envelope test did the work (not a lucky miss of the other checks).
        assert!(tested > 0, "no candidate reached the envelope test");
    }

    /// The hardest case, more draws: a 1 MHz burst over half of a 1.92 MS/s capture left
    /// marginal NPRACH candidates beside it (metric about 1.0, reported SNR about -10 dB)
    /// whose resolved repetitions lay off the burst, so the envelope of those alone could
    /// not judge them; every repetition of the extent is tested now.
    #[test]
    fn wide_noise_bursts_at_1_92_msps_are_not_nprach() {
        let (reported, _) = noise_bursts(&[(1.92e6, 1e6)], 12, 0x5eed_1500);
        assert!(reported.is_empty(), "{}", reported.join("\n"));
    }

    /// `draws` noise bursts per (rate, width): 4 - 20 ms, 6 - 20 dB in their band, anywhere
    /// in the middle 60 % of the band, one per recording after the floor's warm-up. Returns
    /// the reports and the number of candidates the envelope test rejected.
    fn noise_bursts(cases: &[(f64, f64)], draws: usize, seed: u64) -> (Vec<String>, u64) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut reported = Vec::new();
        let mut rejected = 0;
        for &(fs, bw) in cases {
            for _ in 0..draws {
                let d = rng.random_range(4e-3..20e-3);
                let snr = rng.random_range(6.0..20.0);
                let f = rng.random_range(-0.3 * fs..0.3 * fs);
                let nb = NoiseBurstConfig {
                    bandwidth_hz: bw,
                    duration_s: d,
                }
                .generate(&mut rng)
                .expect("noise burst");
                let mut x = vec![Complex32::new(0.0, 0.0); ((0.08 + d) * fs) as usize];
                let p = signal_power_for_snr(NOISE, fs, snr, bw);
                nb.signal
                    .render_add(&mut x, 0, fs, 0.05 * fs, f, Complex64::new(p.sqrt(), 0.0));
                add_awgn(&mut x, NOISE, &mut rng);
                let (dets, st) = run(&config(fs), &x, 65536);
                rejected += st.rejected_noise_like;
                if !dets.is_empty() {
                    reported.push(format!(
                        "{fs} {bw} Hz {:.1} ms {snr:.1} dB at {f:.0} Hz: {dets:?}",
                        d * 1e3
                    ));
                }
            }
        }
        (reported, rejected)
    }

    #[test]
    fn config_errors_are_typed_and_say_what_is_wrong() {
        let ok = NprachDetectorConfig::default();
        assert_eq!(ok.validate(), Ok(()));
        let cases = [
            (
                NprachDetectorConfig {
                    sample_rate_hz: 2e6,
                    ..ok.clone()
                },
                "2000000",
            ),
            (
                NprachDetectorConfig {
                    formats: vec![0, 2],
                    ..ok.clone()
                },
                "format 2",
            ),
            (
                NprachDetectorConfig {
                    formats: vec![],
                    ..ok.clone()
                },
                "formats is empty",
            ),
            (
                NprachDetectorConfig {
                    window_reps: vec![3],
                    ..ok.clone()
                },
                "contains 3",
            ),
            (
                NprachDetectorConfig {
                    false_alarms_per_hour: 0.0,
                    ..ok.clone()
                },
                "false_alarms_per_hour = 0",
            ),
            (
                NprachDetectorConfig {
                    noise_time_constant_s: 100.0,
                    ..ok.clone()
                },
                "100",
            ),
            (
                NprachDetectorConfig {
                    warmup_s: 0.0,
                    ..ok.clone()
                },
                "warmup_s = 0",
            ),
        ];
        for (cfg, text) in cases {
            let e = NprachDetector::new(cfg).unwrap_err();
            let msg = e.to_string();
            assert!(msg.contains(text) && !msg.contains('{'), "{msg}");
        }
        // The configuration round-trips through serde with defaults filled in.
        let c: NprachDetectorConfig = serde_json::from_str(r#"{"formats":[1]}"#).unwrap();
        assert_eq!(c.formats, vec![1]);
        assert_eq!(c.sample_rate_hz, 1.92e6);
        assert!(serde_json::from_str::<NprachDetectorConfig>(r#"{"bogus":1}"#).is_err());
    }

    #[test]
    fn thresholds_follow_the_model_and_the_budget() {
        let fs = 1.92e6;
        let d = NprachDetector::new(config(fs)).unwrap();
        let th = d.thresholds();
        assert_eq!(th.len(), 8);
        // W = 1: the Erlang(4) tail at the family's share of the budget (oracle: the
        // closed-form tail in `erlang_threshold`).
        let hops_per_hour = fs / 256.0 * 3600.0;
        let tests = EFFECTIVE_TESTS_W1 * (3 * 2048 * 4) as f64 * hops_per_hour;
        let want = erlang_threshold(4, tests, 1.0 / 8.0);
        let got = th.iter().find(|t| t.0 == 0 && t.1 == 1).unwrap().2;
        assert!((got - want).abs() < 1e-3 * want, "{got} {want}");
        // Longer windows need larger sums; a smaller budget raises every threshold.
        for f in [0u8, 1] {
            let v: Vec<f64> = th.iter().filter(|t| t.0 == f).map(|t| t.2).collect();
            assert!(v.windows(2).all(|w| w[1] > w[0]), "{v:?}");
        }
        let strict = NprachDetector::new(NprachDetectorConfig {
            false_alarms_per_hour: 0.01,
            ..config(fs)
        })
        .unwrap();
        for (a, b) in th.iter().zip(strict.thresholds()) {
            assert!(b.2 > a.2);
        }
    }

    #[test]
    fn max_erlang_sum_matches_closed_forms() {
        // K = 1: a sum of w Erlang(4) is Erlang(4 w): P(X > t) = e^-t sum_{k < 4w} t^k / k!.
        let erlang_tail = |dof: u32, t: f64| -> f64 {
            let mut term = 1.0f64;
            let mut sum = 1.0f64;
            for k in 1..dof {
                term *= t / k as f64;
                sum += term;
            }
            (-t + sum.ln()).exp()
        };
        for (w, t) in [(1u32, 20.0), (2, 30.0), (8, 80.0), (8, 110.0)] {
            let d = MaxErlangSum::new(1.0, w);
            let (got, want) = (d.p_exceed(t), erlang_tail(4 * w, t));
            assert!(
                (got / want - 1.0).abs() < 0.02,
                "w {w} t {t}: {got:e} {want:e}"
            );
        }
        // One maximum of K: 1 - F^K; its mean by numerical integration of the tail.
        let k = 48.0;
        let d = MaxErlangSum::new(k, 1);
        for t in [12.0, 20.0, 28.0] {
            let want = 1.0 - MaxErlangSum::erlang4_cdf(t).powf(k);
            let got = d.p_exceed(t);
            assert!((got / want - 1.0).abs() < 0.02, "t {t}: {got:e} {want:e}");
        }
        let mean: f64 = (0..40_000)
            .map(|i| 1.0 - MaxErlangSum::erlang4_cdf((i as f64 + 0.5) * 0.002).powf(k))
            .sum::<f64>()
            * 0.002;
        assert!((d.mean_one - mean).abs() < 0.01, "{} {mean}", d.mean_one);
        // Threshold inverts the tail.
        let t = d.threshold(1e-9);
        assert!((d.p_exceed(t) / 1e-9 - 1.0).abs() < 0.02);
    }

    #[test]
    fn patterns_are_the_hops_of_10_1_6_1() {
        // Oracle: the generator's transcription of the hopping rule (synth::nprach).
        let p0 = FormatParams::of(0).unwrap();
        for n0 in 0..12u32 {
            let hops = hop_offsets(&p0, 7, n0, 4, HopConvention::Clause);
            let want: Vec<isize> = hops.iter().map(|&h| h as isize - n0 as isize).collect();
            let got = pattern_subcarriers(pattern_of(n0 as usize));
            assert_eq!(got.to_vec(), want, "n0 {n0}");
        }
        // Each sign pattern is shared by exactly three first subcarriers.
        for p in 0..4 {
            assert_eq!((0..12).filter(|&n| pattern_of(n) == p).count(), 3);
        }
    }

    #[test]
    fn n_init_candidates_narrow_with_repetitions() {
        let nb = 8192;
        // One repetition: the three values that share its pattern.
        let one = [(100.0 + 4.0 * 5.0, pattern_of(5))];
        assert_eq!(n_init_candidates(&one, nb), vec![1, 3, 5]);
        // A second repetition at n0 = 0 of the same band (band start 100): only 5 keeps
        // both in one band with consistent patterns.
        let two = [one[0], (100.0, pattern_of(0))];
        assert_eq!(n_init_candidates(&two, nb), vec![5]);
    }

    /// Twelve LoRa-like chirps (`interferer::ChirpConfig`, 125 kHz, spreading factor `sf`),
    /// 15 dB in their 125 kHz, centred at `centre`, starting after `lead_s` of noise (plus a
    /// random fraction of a millisecond), followed by 30 ms of noise.
    fn chirp_stream(fs: f64, sf: u32, centre: f64, lead_s: f64, seed: u64) -> Vec<Complex32> {
        use crate::synth::interferer::ChirpConfig;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let c = ChirpConfig {
            bandwidth_hz: 125e3,
            spreading_factor: sf,
            n_symbols: 12,
        }
        .generate()
        .unwrap();
        let dur = c.signal.duration_s();
        let mut x = vec![Complex32::new(0.0, 0.0); ((lead_s + dur + 0.03) * fs) as usize];
        let p = signal_power_for_snr(NOISE, fs, 15.0, 125e3);
        c.signal.render_add(
            &mut x,
            0,
            fs,
            lead_s * fs + rng.random_range(0.0..1000.0),
            centre,
            Complex64::from_polar(p.sqrt(), rng.random_range(0.0..std::f64::consts::TAU)),
        );
        add_awgn(&mut x, NOISE, &mut rng);
        x
    }

    #[test]
    fn lora_chirps_are_not_nprach() {
        // The case found on recordings: SF 8 at 15.36 MS/s, 6.8 MHz off DC, 45 ms in.
        let fs = 15.36e6;
        let x = chirp_stream(fs, 8, 6.8e6, 0.045, 0x5eed_1000);
        let (dets, st) = run(&config(fs), &x, 65536);
        assert!(dets.is_empty(), "15.36 MS/s: {dets:?} {st:?}");
        let fs = 1.92e6;
        let mut rng = ChaCha8Rng::seed_from_u64(0x5eed_1100);
        for sf in [7u32, 8, 9] {
            for i in 0..2u64 {
                let centre = rng.random_range(-0.4 * fs..0.4 * fs);
                let x = chirp_stream(fs, sf, centre, 0.03, 0x5eed_1200 + 16 * sf as u64 + i);
                let (dets, st) = run(&config(fs), &x, 65536);
                assert!(
                    dets.is_empty(),
                    "SF {sf} at {centre:.0} Hz: {dets:?} {st:?}"
                );
            }
        }
    }

    #[test]
    fn lte_downlink_onset_is_not_nprach() {
        use crate::synth::interferer::LteDownlinkConfig;
        let fs = 1.92e6;
        for seed in 0..3u64 {
            let mut rng = ChaCha8Rng::seed_from_u64(0x5eed_1300 + seed);
            let dl = LteDownlinkConfig {
                duration_s: 0.02,
                ..Default::default()
            }
            .generate(&mut rng)
            .unwrap();
            let mut x = vec![Complex32::new(0.0, 0.0); (0.12 * fs) as usize];
            let p = signal_power_for_snr(NOISE, fs, 6.0, dl.snr_bandwidth_hz);
            let centre = rng.random_range(-50e3..50e3);
            dl.signal.render_add(
                &mut x,
                0,
                fs,
                rng.random_range(0.04..0.06) * fs,
                centre,
                Complex64::new(p.sqrt(), 0.0),
            );
            add_awgn(&mut x, NOISE, &mut rng);
            let (dets, st) = run(&config(fs), &x, 65536);
            assert!(dets.is_empty(), "seed {seed}: {dets:?} {st:?}");
        }
    }
}
