//! The scanner: runs the table of detectors over the stream, resolves overlaps (a structured
//! detection claims the energy burst under it) and turns detections into records.

use crate::detectors::Stage;
use crate::pipeline::Processor;
use crate::record::DetectionRecord;
use chrono::{DateTime, Utc};
use ciot_dsp::detect::Detection;
use ciot_dsp::impair::lin_to_db;
use ciot_dsp::synth::Kind;
use num_complex::Complex32;
use rayon::prelude::*;

/// What the scanner knows of the capture.
#[derive(Debug, Clone, Copy)]
pub struct CaptureContext {
    /// Sample rate, Hz.
    pub sample_rate_hz: f64,
    /// Centre frequency, Hz, when known.
    pub center_freq_hz: Option<f64>,
    /// UTC time of sample 0, when known.
    pub start_time: Option<DateTime<Utc>>,
}

/// Runs detectors and resolves their outputs into records, in the order the bursts end.
pub struct Scanner {
    stages: Vec<Stage>,
    ctx: CaptureContext,
    pending: Vec<Detection>,
    scratch: Vec<Detection>,
    /// One output buffer per stage, for the parallel run.
    stage_outs: Vec<Vec<Detection>>,
    pos: u64,
    hold_samples: u64,
}

impl Scanner {
    /// A scanner over the detector `stages` ([`crate::detectors::build`]). Detections are
    /// held `hold_s` seconds after they end so a later, structured detection of the same
    /// burst can claim an energy detection.
    pub fn new(stages: Vec<Stage>, ctx: CaptureContext, hold_s: f64) -> Self {
        Scanner {
            stages,
            hold_samples: (hold_s * ctx.sample_rate_hz).ceil() as u64,
            ctx,
            pending: Vec::new(),
            scratch: Vec::new(),
            stage_outs: Vec::new(),
            pos: 0,
        }
    }

    /// Per-detector reject counters.
    pub fn stats(&self) -> Vec<(&'static str, Vec<(String, u64)>)> {
        self.stages.iter().flat_map(|s| s.stats()).collect()
    }

    fn release(&mut self, all: bool, out: &mut Vec<DetectionRecord>) {
        resolve_claims(&mut self.pending);
        self.pending
            .sort_by_key(|d| (d.sample_end(), d.sample_start));
        let limit = self.pos.saturating_sub(self.hold_samples);
        let n = if all {
            self.pending.len()
        } else {
            self.pending
                .iter()
                .take_while(|d| d.sample_end() <= limit)
                .count()
        };
        for d in self.pending.drain(..n) {
            out.push(to_record(&d, &self.ctx));
        }
    }
}

/// Drops every `unknown` detection that a structured detection overlaps in time and frequency.
pub fn resolve_claims(dets: &mut Vec<Detection>) {
    let structured: Vec<(u64, u64, f64, f64)> = dets
        .iter()
        .filter(|d| d.kind != Kind::Unknown)
        .map(|d| {
            (
                d.sample_start,
                d.sample_end(),
                d.freq_offset_hz - d.bandwidth_hz / 2.0,
                d.freq_offset_hz + d.bandwidth_hz / 2.0,
            )
        })
        .collect();
    dets.retain(|d| {
        if d.kind != Kind::Unknown {
            return true;
        }
        let (lo, hi) = (
            d.freq_offset_hz - d.bandwidth_hz / 2.0,
            d.freq_offset_hz + d.bandwidth_hz / 2.0,
        );
        !structured.iter().any(|&(s, e, flo, fhi)| {
            s < d.sample_end() && d.sample_start < e && flo < hi && lo < fhi
        })
    });
}

/// Converts a detection to the record of INTERFACES.md.
pub fn to_record(d: &Detection, ctx: &CaptureContext) -> DetectionRecord {
    let fs = ctx.sample_rate_hz;
    let t_start_s = d.sample_start as f64 / fs;
    let freq_hz = ctx.center_freq_hz.map(|f| f + d.freq_offset_hz);
    DetectionRecord {
        kind: d.kind,
        tech: d.tech,
        sample_start: d.sample_start,
        sample_len: d.sample_len,
        t_start_s,
        duration_s: d.sample_len as f64 / fs,
        freq_offset_hz: d.freq_offset_hz,
        freq_hz,
        bandwidth_hz: d.bandwidth_hz,
        power_dbfs: if d.power > 0.0 {
            lin_to_db(d.power)
        } else {
            -200.0
        },
        snr_db: d.snr_db,
        score: d.score.clamp(0.0, 1.0),
        time_utc: ctx.start_time.map(|t0| {
            (t0 + chrono::Duration::nanoseconds((t_start_s * 1e9).round() as i64))
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
        }),
        emitter: None,
        emitter_known: None,
        earfcn: freq_hz
            .map(crate::bands::earfcn_for_ul)
            .unwrap_or_default()
            .into_iter()
            .map(|(band, n_ul)| crate::record::UlEarfcn { band, n_ul })
            .collect(),
        params: d.params.clone(),
    }
}

impl Processor for Scanner {
    type Output = DetectionRecord;

    /// The stages (input rate, LTE rate) run in parallel on the current rayon pool when it has
    /// more than one thread, and so do the detectors of each stage; the outputs are gathered
    /// in a fixed order, so the records do not depend on the number of threads.
    fn process(&mut self, first_sample: u64, x: &[Complex32], out: &mut Vec<DetectionRecord>) {
        if self.stages.len() > 1 && rayon::current_num_threads() > 1 {
            self.stage_outs.resize_with(self.stages.len(), Vec::new);
            self.stages
                .par_iter_mut()
                .zip(self.stage_outs.par_iter_mut())
                .for_each(|(stage, o)| stage.process(first_sample, x, o));
            for o in &mut self.stage_outs {
                self.scratch.append(o);
            }
        } else {
            for stage in &mut self.stages {
                stage.process(first_sample, x, &mut self.scratch);
            }
        }
        self.pending.append(&mut self.scratch);
        self.pos = first_sample + x.len() as u64;
        self.release(false, out);
    }

    fn finish(&mut self, out: &mut Vec<DetectionRecord>) {
        for stage in &mut self.stages {
            stage.finish(&mut self.scratch);
        }
        self.pending.append(&mut self.scratch);
        self.release(true, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ciot_dsp::synth::Tech;

    fn det(kind: Kind, s: u64, l: u64, f: f64, bw: f64) -> Detection {
        Detection {
            kind,
            tech: Tech::Unknown,
            sample_start: s,
            sample_len: l,
            freq_offset_hz: f,
            bandwidth_hz: bw,
            power: 1e-3,
            snr_db: 10.0,
            score: 1.0,
            metric: 2.0,
            params: Default::default(),
        }
    }

    #[test]
    fn structured_detection_claims_overlapping_energy_burst_only() {
        let mut v = vec![
            det(Kind::Unknown, 100, 50, 0.0, 50e3),
            det(Kind::Nprach, 90, 80, 10e3, 45e3),
            det(Kind::Unknown, 100, 50, 1e6, 50e3),
            det(Kind::Unknown, 1000, 50, 0.0, 50e3),
        ];
        resolve_claims(&mut v);
        assert_eq!(v.len(), 3);
        assert!(v.iter().any(|d| d.kind == Kind::Nprach));
        assert!(v.iter().any(|d| d.freq_offset_hz == 1e6));
        assert!(v.iter().any(|d| d.sample_start == 1000));
    }

    #[test]
    fn record_fields_follow_the_contract() {
        let ctx = CaptureContext {
            sample_rate_hz: 1e6,
            center_freq_hz: Some(847e6),
            start_time: DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
                .ok()
                .map(|t| t.with_timezone(&Utc)),
        };
        let r = to_record(&det(Kind::Prach, 500_000, 1000, -2e5, 1.05e6), &ctx);
        assert_eq!(r.t_start_s, 0.5);
        assert_eq!(r.duration_s, 1e-3);
        assert_eq!(r.freq_hz, Some(847e6 - 2e5));
        // 846.8 MHz is in the uplinks of B5 (824-849 MHz, N_Offs 20400), B20 (832-862,
        // 24150) and B26 (814-849, 26690): N_UL = N_Offs + (F - F_low) / 0.1 MHz.
        let n = |band, n_ul| crate::record::UlEarfcn { band, n_ul };
        assert_eq!(r.earfcn, vec![n(5, 20628), n(20, 24298), n(26, 27018)]);
        assert_eq!(r.power_dbfs, -30.0);
        assert_eq!(r.time_utc.as_deref(), Some("2026-01-01T00:00:00.500000Z"));
    }
}
