//! Scoring detections against ground truth (golden recordings, `eval`): which truth bursts
//! were found, in the right place, with the right kind; which detections match nothing.

use crate::record::DetectionRecord;
use ciot_dsp::synth::Kind;
use std::collections::BTreeMap;

/// How close a detection must be to a truth burst to count as finding it.
#[derive(Debug, Clone, Copy)]
pub struct MatchRule {
    /// Minimum fraction of the truth burst's duration that the detection must overlap.
    pub min_time_overlap: f64,
    /// Frequency tolerance beyond the truth's occupied band edges, Hz.
    pub freq_tolerance_hz: f64,
}

impl Default for MatchRule {
    fn default() -> Self {
        MatchRule {
            min_time_overlap: 0.3,
            freq_tolerance_hz: 20e3,
        }
    }
}

/// Counts for one truth kind (or, for false alarms, one detected kind).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KindScore {
    /// Truth bursts of this kind.
    pub truth: usize,
    /// Found by a detection of the same kind.
    pub found_right_kind: usize,
    /// Of those, found with the right technology too (`nb-iot`, `lte-m`, `lte`).
    pub found_right_tech: usize,
    /// Found only by a detection of another kind (`unknown` included).
    pub found_other_kind: usize,
    /// Not found at all.
    pub missed: usize,
    /// Detections of this kind that match no truth burst.
    pub false_alarms: usize,
}

/// The score of one recording or one evaluation run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Score {
    /// By kind name (`nprach`, ..., `interferer` for truth bursts of kind unknown).
    pub by_kind: BTreeMap<String, KindScore>,
    /// Cellular reports (any kind but `unknown`) that fall on an interferer.
    pub cellular_on_interferer: usize,
}

fn kind_key(r: &DetectionRecord) -> String {
    if r.kind == Kind::Unknown {
        if r.params.contains_key("interferer") {
            return "interferer".into();
        }
        return "unknown".into();
    }
    serde_json::to_value(r.kind)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_else(|| "unknown".into())
}

/// Does `d` find truth burst `t` under `rule`?
pub fn matches(t: &DetectionRecord, d: &DetectionRecord, rule: &MatchRule) -> bool {
    let (ts, te) = (t.sample_start, t.sample_end());
    let (ds, de) = (d.sample_start, d.sample_end());
    let overlap = te.min(de).saturating_sub(ts.max(ds)) as f64;
    if overlap < rule.min_time_overlap * (te - ts).max(1) as f64 {
        return false;
    }
    let t_lo = t.freq_offset_hz - t.bandwidth_hz / 2.0 - rule.freq_tolerance_hz;
    let t_hi = t.freq_offset_hz + t.bandwidth_hz / 2.0 + rule.freq_tolerance_hz;
    d.freq_offset_hz >= t_lo && d.freq_offset_hz <= t_hi
}

/// Scores `detections` against `truth`.
pub fn score(truth: &[DetectionRecord], detections: &[DetectionRecord], rule: &MatchRule) -> Score {
    let mut s = Score::default();
    let mut used = vec![false; detections.len()];
    for t in truth {
        let key = kind_key(t);
        let e = s.by_kind.entry(key.clone()).or_default();
        e.truth += 1;
        let mut right = false;
        let mut right_tech = false;
        let mut other = false;
        for (i, d) in detections.iter().enumerate() {
            if matches(t, d, rule) {
                used[i] = true;
                if d.kind == t.kind && t.kind != Kind::Unknown {
                    right = true;
                    right_tech |= d.tech == t.tech;
                } else if key == "interferer" {
                    if d.kind != Kind::Unknown {
                        s.cellular_on_interferer += 1;
                    } else {
                        right = true;
                    }
                } else {
                    other = true;
                }
            }
        }
        let e = s.by_kind.entry(key).or_default();
        if right {
            e.found_right_kind += 1;
            if right_tech {
                e.found_right_tech += 1;
            }
        } else if other {
            e.found_other_kind += 1;
        } else {
            e.missed += 1;
        }
    }
    for (i, d) in detections.iter().enumerate() {
        if !used[i] {
            s.by_kind.entry(kind_key(d)).or_default().false_alarms += 1;
        }
    }
    s
}

impl std::fmt::Display for Score {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{:<11} {:>6} {:>8} {:>8} {:>7} {:>7}",
            "kind", "truth", "right", "other", "missed", "false"
        )?;
        for (k, v) in &self.by_kind {
            writeln!(
                f,
                "{:<11} {:>6} {:>8} {:>8} {:>7} {:>7}",
                k, v.truth, v.found_right_kind, v.found_other_kind, v.missed, v.false_alarms
            )?;
        }
        write!(
            f,
            "cellular reports on interferers: {}",
            self.cellular_on_interferer
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ciot_dsp::synth::Tech;

    fn rec(kind: Kind, s: u64, l: u64, f: f64, bw: f64) -> DetectionRecord {
        DetectionRecord {
            kind,
            tech: Tech::Unknown,
            sample_start: s,
            sample_len: l,
            t_start_s: 0.0,
            duration_s: 0.0,
            freq_offset_hz: f,
            freq_hz: None,
            bandwidth_hz: bw,
            power_dbfs: -30.0,
            snr_db: 0.0,
            score: 1.0,
            time_utc: None,
            emitter: None,
            emitter_known: None,
            earfcn: Vec::new(),
            params: Default::default(),
        }
    }

    #[test]
    fn scoring_counts_hits_kinds_misses_and_false_alarms() {
        let mut interferer = rec(Kind::Unknown, 5000, 100, 0.0, 1e5);
        interferer.params.insert("interferer".into(), "cw".into());
        let truth = vec![
            rec(Kind::Nprach, 0, 1000, 0.0, 45e3),
            rec(Kind::Prach, 2000, 1000, 1e6, 1.05e6),
            rec(Kind::Pusch, 4000, 100, -2e6, 180e3),
            interferer,
        ];
        let dets = vec![
            rec(Kind::Nprach, 100, 800, 10e3, 40e3),   // right
            rec(Kind::Unknown, 2100, 900, 1.1e6, 1e6), // other kind
            rec(Kind::Npusch, 5000, 100, 0.0, 15e3),   // cellular on the interferer
            rec(Kind::Prach, 90_000, 1000, 0.0, 1e6),  // false alarm
        ];
        let s = score(&truth, &dets, &MatchRule::default());
        assert_eq!(s.by_kind["nprach"].found_right_kind, 1);
        assert_eq!(s.by_kind["prach"].found_other_kind, 1);
        assert_eq!(s.by_kind["pusch"].missed, 1);
        assert_eq!(s.by_kind["prach"].false_alarms, 1);
        assert_eq!(s.cellular_on_interferer, 1);
        assert!(s.to_string().contains("nprach"));
    }

    #[test]
    fn time_overlap_and_frequency_rules() {
        let t = rec(Kind::Nprach, 1000, 1000, 0.0, 40e3);
        let r = MatchRule::default();
        assert!(matches(&t, &rec(Kind::Nprach, 1500, 1000, 30e3, 1.0), &r));
        assert!(!matches(&t, &rec(Kind::Nprach, 1800, 1000, 0.0, 1.0), &r)); // 20 % overlap
        assert!(!matches(&t, &rec(Kind::Nprach, 1000, 1000, 50e3, 1.0), &r)); // too far
    }
}
