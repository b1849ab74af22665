//! Detection records: the JSON Lines contract of INTERFACES.md section 1, used for detections
//! and for the ground truth that `synth` writes.

use ciot_dsp::synth::{Kind, Tech};
use serde::{Deserialize, Serialize};

/// One detected (or, for truth files, synthesised) burst.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectionRecord {
    /// Channel kind (`nprach`, `npusch`, `prach`, `pusch`, `pucch`, `scfdma`, `unknown`).
    pub kind: Kind,
    /// Technology (`nb-iot`, `lte-m`, `lte`, `unknown`).
    pub tech: Tech,
    /// Index of the first sample of the burst in the input, at the input's sample rate.
    pub sample_start: u64,
    /// Burst length, samples.
    pub sample_len: u64,
    /// `sample_start / sample_rate`, seconds.
    pub t_start_s: f64,
    /// `sample_len / sample_rate`, seconds.
    pub duration_s: f64,
    /// Centre of the occupied band minus the capture centre frequency, Hz.
    pub freq_offset_hz: f64,
    /// Absolute centre frequency when the capture frequency is known, Hz.
    pub freq_hz: Option<f64>,
    /// Occupied bandwidth, Hz.
    pub bandwidth_hz: f64,
    /// Mean burst power, dB relative to the input format's full scale.
    pub power_dbfs: f64,
    /// Burst power over the noise floor in the burst's own bandwidth, dB.
    pub snr_db: f64,
    /// Detector confidence 0..1.
    pub score: f64,
    /// Capture time of the burst start (RFC 3339), when the capture start time is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_utc: Option<String>,
    /// Emitter id from tracking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emitter: Option<u64>,
    /// With an absolute frequency: the uplink EARFCN in every band of TS 36.101 Table 5.7.3-1
    /// that contains it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub earfcn: Vec<UlEarfcn>,
    /// With `--baseline`: whether the emitter was heard in the baseline capture (`false`:
    /// a new emitter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emitter_known: Option<bool>,
    /// What the detector resolved (or, in truth files, every generator parameter).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub params: serde_json::Map<String, serde_json::Value>,
}

/// An uplink channel number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UlEarfcn {
    /// E-UTRA operating band.
    pub band: u16,
    /// Uplink EARFCN (N_UL) nearest to the burst centre.
    pub n_ul: u32,
}

impl DetectionRecord {
    /// Index one past the last sample of the burst.
    pub fn sample_end(&self) -> u64 {
        self.sample_start + self.sample_len
    }
}

/// Sorts records in the order the contract requires: by the sample where each burst ends
/// (then by start, for a stable order).
pub fn sort_by_end(records: &mut [DetectionRecord]) {
    records.sort_by_key(|r| (r.sample_end(), r.sample_start));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_required_fields_with_contract_names() {
        let r = DetectionRecord {
            kind: Kind::Nprach,
            tech: Tech::NbIot,
            sample_start: 10,
            sample_len: 20,
            t_start_s: 1e-5,
            duration_s: 2e-5,
            freq_offset_hz: -1.0,
            freq_hz: None,
            bandwidth_hz: 45e3,
            power_dbfs: -30.0,
            snr_db: 3.0,
            score: 1.0,
            time_utc: None,
            emitter: None,
            emitter_known: None,
            earfcn: Vec::new(),
            params: Default::default(),
        };
        let v: serde_json::Value = serde_json::to_value(&r).expect("serialises");
        for k in [
            "kind",
            "tech",
            "sample_start",
            "sample_len",
            "t_start_s",
            "duration_s",
            "freq_offset_hz",
            "freq_hz",
            "bandwidth_hz",
            "power_dbfs",
            "snr_db",
            "score",
        ] {
            assert!(v.get(k).is_some(), "missing {k}");
        }
        assert_eq!(v["kind"], "nprach");
        assert_eq!(v["tech"], "nb-iot");
        assert!(v["freq_hz"].is_null());
        assert!(v.get("params").is_none());
        let back: DetectionRecord = serde_json::from_value(v).expect("round trip");
        assert_eq!(back, r);
    }
}
