//! Emitter tracking: detections grouped into the emitters (modules, phones, unknown
//! transmitters) that sent them, so an investigator can tell several modules apart and
//! follow each one's power while walking the antenna.
//!
//! A detection joins the emitter it is closest to among those of the same family
//! (NB-IoT: NPRACH + NPUSCH; LTE uplink: PRACH + PUSCH; unknown energy bursts), with a
//! compatible technology (PRACH cannot tell LTE-M from a phone, so it matches either), a
//! frequency within the family's tolerance (half an NB-IoT carrier, 90 kHz; an LTE-M
//! narrowband, 1.08 MHz; the burst's own bandwidth for unknown bursts), a power within
//! `power_tol_db` of the emitter's recent median, and equal cell-level parameters when both
//! sides have them (PRACH `root`, PUSCH `dmrs_group`). Otherwise it starts a new emitter.
//!
//! What cannot be resolved passively: NB-IoT preambles choose their start subcarrier
//! (`n_init`) at random per attempt (TS 36.321 5.1.2), and all modules of one cell share its
//! NPRACH resource, root and DMRS group, so two modules of the same cell at the same power
//! look like one emitter. Power is then the discriminator a sweep team has: a module in the
//! car is far stronger than any outside.

use crate::record::DetectionRecord;
use ciot_dsp::synth::{Kind, Tech};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// How detections are grouped.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackConfig {
    /// A detection joins an emitter only within this many dB of its recent median power.
    pub power_tol_db: f64,
    /// Bursts kept per emitter for the period and trend estimates.
    pub history: usize,
}

impl Default for TrackConfig {
    fn default() -> Self {
        TrackConfig {
            power_tol_db: 8.0,
            history: 64,
        }
    }
}

/// Channel family: the kinds one transmitter of a technology produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// NB-IoT uplink: NPRACH and NPUSCH.
    NbIot,
    /// LTE / LTE-M uplink: PRACH, PUSCH, PUCCH, SC-FDMA.
    LteUplink,
    /// Unclassified energy bursts.
    Unknown,
}

impl Family {
    /// The family of a kind.
    pub fn of(kind: Kind) -> Family {
        match kind {
            Kind::Nprach | Kind::Npusch => Family::NbIot,
            Kind::Prach | Kind::Pusch | Kind::Pucch | Kind::Scfdma => Family::LteUplink,
            Kind::Unknown => Family::Unknown,
        }
    }

    /// How far apart the burst centres of one emitter may lie, Hz: an NB-IoT carrier (180
    /// kHz: NPRACH and NPUSCH may sit at its two edges); half a 10 MHz LTE carrier (LTE-M
    /// PUSCH hops between narrowbands, PRACH sits elsewhere in the carrier); for unknown
    /// bursts, their own bandwidth.
    fn span_limit_hz(self, bandwidth_hz: f64) -> f64 {
        match self {
            Family::NbIot => 180e3,
            Family::LteUplink => 5e6,
            Family::Unknown => (bandwidth_hz / 2.0).max(15e3),
        }
    }
}

/// Behaviour read off an emitter's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "label", rename_all = "kebab-case")]
pub enum Behaviour {
    /// Bursts at a regular interval (a meter or tracker reporting).
    PeriodicReporter {
        /// The interval, seconds.
        period_s: f64,
    },
    /// Only random-access preambles so far (attaching, or failing to).
    RandomAccessOnly,
    /// Repetitions used for coverage enhancement (deep indoor, a shielded spot).
    CoverageEnhancement {
        /// The most repetitions seen.
        repetitions: u64,
    },
    /// Wide allocations or LTE-class traffic: a phone, not an IoT module.
    PhoneLike,
}

impl Behaviour {
    /// A short text for tables.
    pub fn text(&self) -> String {
        match self {
            Behaviour::PeriodicReporter { period_s } => format!("periodic every {period_s:.2} s"),
            Behaviour::RandomAccessOnly => "random access only".into(),
            Behaviour::CoverageEnhancement { repetitions } => {
                format!("coverage enhancement ({repetitions} repetitions)")
            }
            Behaviour::PhoneLike => "phone-like".into(),
        }
    }
}

/// Power trend over the recent bursts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trend {
    /// Stronger by more than 2 dB over the recent bursts.
    Rising,
    /// Within 2 dB.
    Steady,
    /// Weaker by more than 2 dB.
    Falling,
}

impl Trend {
    /// An arrow for terminals.
    pub fn arrow(self) -> &'static str {
        match self {
            Trend::Rising => "↑",
            Trend::Steady => "→",
            Trend::Falling => "↓",
        }
    }
}

/// One emitter as tracked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Emitter {
    /// Id, from 1, in order of first appearance (the `emitter` field of records).
    pub id: u64,
    /// Technology (the most specific seen).
    pub tech: Tech,
    /// Channel family.
    pub family: Family,
    /// Kinds seen.
    pub kinds: Vec<Kind>,
    /// Centre frequency (absolute when known, else offset from the capture centre), Hz:
    /// the mean over its bursts.
    pub freq_hz: f64,
    /// Whether `freq_hz` is absolute.
    pub freq_is_absolute: bool,
    /// Lowest burst centre seen, Hz.
    #[serde(default)]
    pub freq_min_hz: f64,
    /// Highest burst centre seen, Hz.
    #[serde(default)]
    pub freq_max_hz: f64,
    /// Widest bandwidth seen, Hz.
    pub bandwidth_hz: f64,
    /// Stream time of the first burst's start, s.
    pub first_seen_s: f64,
    /// Stream time of the last burst's start, s.
    pub last_seen_s: f64,
    /// Bursts.
    pub bursts: u64,
    /// Power of the last burst, dBFS.
    pub power_dbfs: f64,
    /// SNR of the last burst, dB.
    pub snr_db: f64,
    /// Strongest burst, dBFS.
    pub peak_dbfs: f64,
    /// Power trend.
    pub trend: Trend,
    /// Estimated reporting period, s (regular bursts only).
    pub period_s: Option<f64>,
    /// Behaviour labels.
    pub behaviour: Vec<Behaviour>,
    /// Cell-level parameters seen (`root`, `dmrs_group`).
    pub cell_params: serde_json::Map<String, serde_json::Value>,
    /// Most repetitions seen in one burst.
    pub max_repetitions: u64,
    /// Widest PUSCH allocation seen, PRB.
    pub max_n_prb: u64,
    /// Known from a baseline (`None` without a baseline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known: Option<bool>,
    #[serde(skip)]
    recent: VecDeque<(f64, f64)>,
    #[serde(skip)]
    freq_sum: f64,
}

/// Cell-level parameters that identify a transmitter's cell: equal on both sides or absent.
const CELL_PARAMS: [&str; 2] = ["root", "dmrs_group"];

fn tech_compatible(a: Tech, b: Tech, kind: Kind) -> bool {
    a == b || a == Tech::Unknown || b == Tech::Unknown || kind == Kind::Prach
}

impl Emitter {
    fn new(id: u64, r: &DetectionRecord) -> Self {
        let (f, abs) = freq_of(r);
        let mut e = Emitter {
            id,
            tech: r.tech,
            family: Family::of(r.kind),
            kinds: Vec::new(),
            freq_hz: f,
            freq_is_absolute: abs,
            freq_min_hz: f,
            freq_max_hz: f,
            bandwidth_hz: r.bandwidth_hz,
            first_seen_s: r.t_start_s,
            last_seen_s: r.t_start_s,
            bursts: 0,
            power_dbfs: r.power_dbfs,
            snr_db: r.snr_db,
            peak_dbfs: r.power_dbfs,
            trend: Trend::Steady,
            period_s: None,
            behaviour: Vec::new(),
            cell_params: Default::default(),
            max_repetitions: 0,
            max_n_prb: 0,
            known: None,
            recent: VecDeque::new(),
            freq_sum: 0.0,
        };
        e.freq_sum = 0.0;
        e
    }

    /// Median power of the recent bursts, dBFS.
    pub fn median_power_dbfs(&self) -> f64 {
        let mut p: Vec<f64> = self.recent.iter().map(|x| x.1).collect();
        if p.is_empty() {
            return self.power_dbfs;
        }
        p.sort_by(f64::total_cmp);
        p[p.len() / 2]
    }

    /// Start times of the recent bursts, s.
    pub fn recent_starts(&self) -> impl Iterator<Item = f64> + '_ {
        self.recent.iter().map(|x| x.0)
    }

    /// How far `r` is from this emitter (lower is closer); `None` if it cannot be this one.
    fn distance(&self, r: &DetectionRecord, cfg: &TrackConfig) -> Option<f64> {
        if Family::of(r.kind) != self.family || !tech_compatible(self.tech, r.tech, r.kind) {
            return None;
        }
        let (f, abs) = freq_of(r);
        if abs != self.freq_is_absolute {
            return None;
        }
        let limit = self
            .family
            .span_limit_hz(r.bandwidth_hz.max(self.bandwidth_hz));
        let span = self.freq_max_hz.max(f) - self.freq_min_hz.min(f);
        let df = span / limit;
        let dp = (r.power_dbfs - self.median_power_dbfs()).abs() / cfg.power_tol_db;
        if df > 1.0 || dp > 1.0 {
            return None;
        }
        for k in CELL_PARAMS {
            if let (Some(a), Some(b)) = (self.cell_params.get(k), r.params.get(k)) {
                if a != b {
                    return None;
                }
            }
        }
        Some(df + dp)
    }

    fn add(&mut self, r: &DetectionRecord, cfg: &TrackConfig) {
        let (f, _) = freq_of(r);
        self.bursts += 1;
        self.freq_sum += f;
        self.freq_hz = self.freq_sum / self.bursts as f64;
        self.freq_min_hz = self.freq_min_hz.min(f);
        self.freq_max_hz = self.freq_max_hz.max(f);
        self.bandwidth_hz = self.bandwidth_hz.max(r.bandwidth_hz);
        if !self.kinds.contains(&r.kind) {
            self.kinds.push(r.kind);
            self.kinds.sort_by_key(|k| *k as u8);
        }
        // The most specific technology wins (LTE-M or LTE over unknown; PUSCH's LTE-M/LTE
        // over PRACH's guess).
        if self.tech == Tech::Unknown || (r.kind != Kind::Prach && r.tech != Tech::Unknown) {
            self.tech = r.tech;
        }
        self.first_seen_s = self.first_seen_s.min(r.t_start_s);
        self.last_seen_s = self.last_seen_s.max(r.t_start_s);
        self.power_dbfs = r.power_dbfs;
        self.snr_db = r.snr_db;
        self.peak_dbfs = self.peak_dbfs.max(r.power_dbfs);
        for k in CELL_PARAMS {
            if let Some(v) = r.params.get(k).filter(|v| !v.is_null()) {
                self.cell_params.insert(k.to_string(), v.clone());
            }
        }
        if let Some(n) = r.params.get("repetitions").and_then(|v| v.as_u64()) {
            self.max_repetitions = self.max_repetitions.max(n);
        }
        if let Some(n) = r.params.get("n_prb").and_then(|v| v.as_u64()) {
            self.max_n_prb = self.max_n_prb.max(n);
        }
        self.recent.push_back((r.t_start_s, r.power_dbfs));
        while self.recent.len() > cfg.history {
            self.recent.pop_front();
        }
        self.trend = trend(&self.recent);
        let starts: Vec<f64> = self.recent.iter().map(|x| x.0).collect();
        self.period_s = estimate_period(&starts);
        self.behaviour = self.labels();
    }

    fn labels(&self) -> Vec<Behaviour> {
        let mut v = Vec::new();
        if let Some(p) = self.period_s {
            v.push(Behaviour::PeriodicReporter { period_s: p });
        }
        if !self.kinds.is_empty()
            && self
                .kinds
                .iter()
                .all(|k| matches!(k, Kind::Nprach | Kind::Prach))
        {
            v.push(Behaviour::RandomAccessOnly);
        }
        let ce = match self.family {
            Family::NbIot => self.max_repetitions >= 8,
            Family::LteUplink => self.tech == Tech::LteM && self.max_repetitions >= 4,
            Family::Unknown => false,
        };
        if ce {
            v.push(Behaviour::CoverageEnhancement {
                repetitions: self.max_repetitions,
            });
        }
        if self.tech == Tech::Lte && (self.max_n_prb > 6 || self.kinds.contains(&Kind::Pusch)) {
            v.push(Behaviour::PhoneLike);
        }
        v
    }
}

fn freq_of(r: &DetectionRecord) -> (f64, bool) {
    match r.freq_hz {
        Some(f) => (f, true),
        None => (r.freq_offset_hz, false),
    }
}

/// Power trend: the least-squares slope of power over the last 8 bursts, times their span.
fn trend(recent: &VecDeque<(f64, f64)>) -> Trend {
    let pts: Vec<(f64, f64)> = recent.iter().rev().take(8).copied().collect();
    if pts.len() < 3 {
        return Trend::Steady;
    }
    let n = pts.len() as f64;
    let mt = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let mp = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = pts.iter().map(|p| (p.0 - mt).powi(2)).sum();
    if sxx <= 0.0 {
        return Trend::Steady;
    }
    let slope = pts.iter().map(|p| (p.0 - mt) * (p.1 - mp)).sum::<f64>() / sxx;
    let span = pts.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max)
        - pts.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
    let change = slope * span;
    if change > 2.0 {
        Trend::Rising
    } else if change < -2.0 {
        Trend::Falling
    } else {
        Trend::Steady
    }
}

/// Bursts closer than this to the previous one belong to the same report (random access,
/// then data, then its repetitions), seconds.
pub const SESSION_GAP_S: f64 = 0.5;

/// The reporting period from burst start times, when the reports are regular. Bursts are
/// first grouped into reports (a burst within [`SESSION_GAP_S`] of the previous one belongs
/// to the same report); then the period `p` is the mean of the smallest intervals between
/// reports (within 5% of the smallest), provided at least 80% of all intervals are whole
/// multiples of `p` within 5% (a missed report is a multiple). Needs at least 3 reports.
pub fn estimate_period(starts: &[f64]) -> Option<f64> {
    let mut all = starts.to_vec();
    all.sort_by(f64::total_cmp);
    let mut s: Vec<f64> = Vec::new();
    let mut last = f64::NEG_INFINITY;
    for t in all {
        if t - last > SESSION_GAP_S {
            s.push(t);
        }
        last = t;
    }
    if s.len() < 3 {
        return None;
    }
    let iv: Vec<f64> = s
        .windows(2)
        .map(|w| w[1] - w[0])
        .filter(|d| *d > 1e-3)
        .collect();
    if iv.len() < 2 {
        return None;
    }
    let min = iv.iter().copied().fold(f64::INFINITY, f64::min);
    let base: Vec<f64> = iv.iter().copied().filter(|d| *d <= min * 1.05).collect();
    let p = base.iter().sum::<f64>() / base.len() as f64;
    let fits = iv
        .iter()
        .filter(|d| {
            let k = (*d / p).round();
            k >= 1.0 && ((*d - k * p) / p).abs() <= 0.05
        })
        .count();
    (fits * 5 >= iv.len() * 4).then_some(p)
}

/// Groups detections into emitters as they come.
#[derive(Debug, Clone, Default)]
pub struct Tracker {
    cfg: TrackConfig,
    emitters: Vec<Emitter>,
}

impl Tracker {
    /// A tracker with `cfg`.
    pub fn new(cfg: TrackConfig) -> Self {
        Tracker {
            cfg,
            emitters: Vec::new(),
        }
    }

    /// Assigns `r` to an emitter (setting `r.emitter`) and returns the emitter.
    pub fn add(&mut self, r: &mut DetectionRecord) -> &Emitter {
        let best = self
            .emitters
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.distance(r, &self.cfg).map(|d| (i, d)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(i, _)| i);
        let i = match best {
            Some(i) => i,
            None => {
                let id = self.emitters.len() as u64 + 1;
                self.emitters.push(Emitter::new(id, r));
                self.emitters.len() - 1
            }
        };
        self.emitters[i].add(r, &self.cfg);
        r.emitter = Some(self.emitters[i].id);
        &self.emitters[i]
    }

    /// The emitters, in order of first appearance.
    pub fn emitters(&self) -> &[Emitter] {
        &self.emitters
    }

    /// Mutable access (for baseline marks).
    pub fn emitters_mut(&mut self) -> &mut [Emitter] {
        &mut self.emitters
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(kind: Kind, tech: Tech, t: f64, f: f64, p: f64) -> DetectionRecord {
        DetectionRecord {
            kind,
            tech,
            sample_start: (t * 1e6) as u64,
            sample_len: 1000,
            t_start_s: t,
            duration_s: 1e-3,
            freq_offset_hz: f - 847e6,
            freq_hz: Some(f),
            bandwidth_hz: 45e3,
            power_dbfs: p,
            snr_db: 10.0,
            score: 1.0,
            time_utc: None,
            emitter: None,
            emitter_known: None,
            earfcn: Vec::new(),
            params: Default::default(),
        }
    }

    #[test]
    fn period_estimate_survives_missed_bursts_and_rejects_random_times() {
        let starts: Vec<f64> = [0.0, 10.0, 20.0, 40.0, 50.0, 80.0]
            .iter()
            .map(|t| t + 0.003 * (t / 10.0f64).sin())
            .collect();
        let p = estimate_period(&starts).expect("periodic");
        assert!((p - 10.0).abs() < 0.05, "{p}");
        assert_eq!(estimate_period(&[0.0, 3.1, 4.0, 9.7, 17.2]), None);
        assert_eq!(estimate_period(&[0.0, 10.0]), None);
    }

    #[test]
    fn two_modules_and_a_phone_are_three_emitters_with_their_labels() {
        let mut t = Tracker::new(TrackConfig::default());
        let mut out = Vec::new();
        // Module A: NB-IoT at 851.5 MHz, -30 dBFS, every 2 s (NPRACH then NPUSCH).
        // Module B: NB-IoT at 851.6 MHz (another carrier 100 kHz up? no: same carrier,
        //   but 20 dB weaker), every 3 s.
        // Phone: LTE PUSCH 20 PRB at 845 MHz, irregular.
        for k in 0..6 {
            let ta = 2.0 * k as f64;
            let mut r = rec(
                Kind::Nprach,
                Tech::NbIot,
                ta,
                851.5e6 + 10e3 * (k % 3) as f64,
                -30.0,
            );
            r.params.insert("repetitions".into(), 8.into());
            out.push(t.add(&mut r).id);
            let mut r = rec(Kind::Npusch, Tech::NbIot, ta + 0.1, 851.52e6, -31.0);
            out.push(t.add(&mut r).id);
        }
        for k in 0..4 {
            let mut r = rec(
                Kind::Nprach,
                Tech::NbIot,
                0.5 + 3.0 * k as f64,
                851.5e6,
                -52.0,
            );
            out.push(t.add(&mut r).id);
        }
        for tp in [1.3, 1.9, 4.4, 7.0] {
            let mut r = rec(Kind::Pusch, Tech::Lte, tp, 845e6, -40.0);
            r.bandwidth_hz = 3.6e6;
            r.params.insert("n_prb".into(), 20.into());
            out.push(t.add(&mut r).id);
        }
        let e = t.emitters();
        assert_eq!(e.len(), 3, "{e:#?}");
        assert!(out[..12].iter().all(|&i| i == 1));
        assert!(out[12..16].iter().all(|&i| i == 2));
        assert!(out[16..].iter().all(|&i| i == 3));
        // A: both NB-IoT kinds, period 2 s (NPRACH and NPUSCH alternate 0.1 s apart: the
        // period is that of the reports).
        assert_eq!(e[0].bursts, 12);
        assert!(e[0]
            .behaviour
            .iter()
            .any(|b| matches!(b, Behaviour::CoverageEnhancement { repetitions: 8 })));
        assert!(!e[0].behaviour.contains(&Behaviour::RandomAccessOnly));
        assert!(
            (e[0].period_s.expect("periodic") - 2.0).abs() < 1e-6,
            "{:?}",
            e[0].period_s
        );
        // B: random access only, every 3 s.
        assert!(e[1].behaviour.contains(&Behaviour::RandomAccessOnly));
        assert!((e[1].period_s.expect("periodic") - 3.0).abs() < 1e-6);
        // Phone.
        assert!(e[2].behaviour.contains(&Behaviour::PhoneLike));
        assert_eq!(e[2].period_s, None);
        assert_eq!(e[2].peak_dbfs, -40.0);
    }

    #[test]
    fn trend_follows_power_while_walking_in() {
        let mut t = Tracker::new(TrackConfig::default());
        for k in 0..8 {
            let mut r = rec(
                Kind::Nprach,
                Tech::NbIot,
                k as f64,
                851.5e6,
                -50.0 + 1.5 * k as f64,
            );
            t.add(&mut r);
        }
        let e = &t.emitters()[0];
        assert_eq!(
            t.emitters().len(),
            1,
            "a slow 1.5 dB/burst rise stays one emitter"
        );
        assert_eq!(e.trend, Trend::Rising);
        assert_eq!(e.peak_dbfs, -39.5);
    }

    #[test]
    fn cell_parameters_separate_prach_of_two_cells() {
        let mut t = Tracker::new(TrackConfig::default());
        let mut a = rec(Kind::Prach, Tech::LteM, 0.0, 842e6, -40.0);
        a.params.insert("root".into(), 22.into());
        let mut b = rec(Kind::Prach, Tech::LteM, 0.5, 842.2e6, -41.0);
        b.params.insert("root".into(), 129.into());
        let ia = t.add(&mut a).id;
        let ib = t.add(&mut b).id;
        assert_ne!(ia, ib);
    }
}

/// Known emitters, from a capture made outside the target (`ciot-sweep baseline`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// Format version of this file.
    pub ciot_sweep_baseline: u32,
    /// When it was made (UTC, RFC 3339).
    pub created_utc: String,
    /// The capture it was made from.
    pub source: String,
    /// The command that made it.
    pub command_line: String,
    /// The emitters heard there.
    pub emitters: Vec<Emitter>,
}

/// Errors reading a baseline file.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// The file could not be read.
    #[error("cannot read the baseline {}", path.display())]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a baseline.
    #[error("{}: not a ciot-sweep baseline (line {line}, column {column})", path.display())]
    Parse {
        /// The file.
        path: std::path::PathBuf,
        /// Line of the error.
        line: usize,
        /// Column of the error.
        column: usize,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
}

impl Baseline {
    /// The current format version.
    pub const VERSION: u32 = 1;

    /// Reads a baseline file.
    pub fn read(path: &std::path::Path) -> Result<Self, BaselineError> {
        let text = std::fs::read_to_string(path).map_err(|source| BaselineError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| BaselineError::Parse {
            path: path.to_path_buf(),
            line: source.line(),
            column: source.column(),
            source,
        })
    }

    /// Whether `e` is one of the known emitters: same family, compatible technology,
    /// frequency within the family's tolerance, equal cell parameters where both have them.
    /// Power is not compared: the baseline was heard from elsewhere.
    pub fn knows(&self, e: &Emitter) -> bool {
        self.emitters.iter().any(|b| {
            b.family == e.family
                && (b.tech == e.tech || b.tech == Tech::Unknown || e.tech == Tech::Unknown)
                && b.freq_is_absolute == e.freq_is_absolute
                && b.freq_max_hz.max(e.freq_max_hz) - b.freq_min_hz.min(e.freq_min_hz)
                    <= b.family.span_limit_hz(b.bandwidth_hz.max(e.bandwidth_hz))
                && CELL_PARAMS.iter().all(|k| {
                    match (b.cell_params.get(*k), e.cell_params.get(*k)) {
                        (Some(x), Some(y)) => x == y,
                        _ => true,
                    }
                })
        })
    }
}

impl Tracker {
    /// Marks every emitter known or new against `baseline`.
    pub fn mark(&mut self, baseline: &Baseline) {
        for e in &mut self.emitters {
            e.known = Some(baseline.knows(e));
        }
    }
}

#[cfg(test)]
mod baseline_tests {
    use super::*;

    #[test]
    fn baseline_marks_known_and_new_and_round_trips() {
        let mut street = Tracker::new(TrackConfig::default());
        let mut r = DetectionRecord {
            kind: Kind::Nprach,
            tech: Tech::NbIot,
            sample_start: 0,
            sample_len: 10,
            t_start_s: 0.0,
            duration_s: 1e-5,
            freq_offset_hz: 0.0,
            freq_hz: Some(851.5e6),
            bandwidth_hz: 45e3,
            power_dbfs: -60.0,
            snr_db: 3.0,
            score: 0.5,
            time_utc: None,
            emitter: None,
            emitter_known: None,
            earfcn: Vec::new(),
            params: Default::default(),
        };
        street.add(&mut r.clone());
        let b = Baseline {
            ciot_sweep_baseline: Baseline::VERSION,
            created_utc: "2026-11-27T10:00:00Z".into(),
            source: "street.sigmf-meta".into(),
            command_line: "ciot-sweep baseline street.sigmf-meta".into(),
            emitters: street.emitters().to_vec(),
        };
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join("b.json");
        std::fs::write(&p, serde_json::to_string(&b).expect("json")).expect("write");
        let b = Baseline::read(&p).expect("read");
        // In the car: the same cell's module heard 30 dB stronger is known (power is not
        // compared); a module on another carrier is new.
        let mut car = Tracker::new(TrackConfig::default());
        r.power_dbfs = -30.0;
        r.freq_hz = Some(851.52e6);
        car.add(&mut r);
        r.freq_hz = Some(852.5e6);
        car.add(&mut r);
        car.mark(&b);
        let k: Vec<Option<bool>> = car.emitters().iter().map(|e| e.known).collect();
        assert_eq!(k, vec![Some(true), Some(false)]);
        std::fs::write(&p, "{\"emitters\": 3}").expect("write");
        let e = Baseline::read(&p).expect_err("not a baseline");
        assert!(e.to_string().contains("b.json"), "{e}");
    }
}
