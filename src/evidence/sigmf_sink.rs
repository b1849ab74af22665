//! The SigMF recording sink: `BASE.sigmf-data` in the source's native format, and
//! `BASE.sigmf-meta` rewritten atomically at every checkpoint, with `core:sha512` once
//! complete. Each gap in the stream starts a new capture segment whose `core:global_index`
//! is its first sample's index in the stream (`ciot:gap_samples` says how many were lost
//! before it); each retune starts one with the new `core:frequency`. Detections are
//! annotations with the detection record's fields under the `ciot` namespace.

use super::{CaptureInfo, CaptureSink, RecordError, StreamLayout};
use crate::iq::{SigmfAnnotation, SigmfCapture, SigmfWriter};
use crate::pipeline::Gap;
use crate::record::DetectionRecord;
use num_complex::Complex32;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// Writes a SigMF recording from a stream.
pub struct SigmfSink {
    w: SigmfWriter,
    info: CaptureInfo,
    layout: StreamLayout,
    lost_samples: u64,
}

impl SigmfSink {
    /// Creates the recording at `path` (a base path or either SigMF file name).
    pub fn create(path: &Path, info: &CaptureInfo) -> Result<Self, RecordError> {
        let mut w = SigmfWriter::create(path, info.format, info.sample_rate_hz)?;
        let g = w.global_mut();
        g.hw = Some(info.hw());
        g.description = Some(format!("ciot-sweep capture: {}", info.command_line));
        g.extra.insert(
            "ciot:gains_db".into(),
            Value::Object(
                info.gains_db
                    .iter()
                    .map(|(n, v)| (n.clone(), json!(v)))
                    .collect(),
            ),
        );
        g.extra.insert("ciot:device".into(), json!(info.device));
        g.extra
            .insert("ciot:command_line".into(), json!(info.command_line));
        let mut s = SigmfSink {
            w,
            info: info.clone(),
            layout: StreamLayout::new(info.center_hz),
            lost_samples: 0,
        };
        // A metadata file exists from the start, so even an empty recording opens.
        s.checkpoint()?;
        Ok(s)
    }

    fn capture_at(&self, file_index: u64, stream_index: u64) -> SigmfCapture {
        let mut c = SigmfCapture::new(file_index);
        c.global_index = Some(stream_index);
        if let Some(f) = self.layout.center_hz {
            c = c.with_frequency(f);
        }
        if let Some(t) = self.info.time_of(stream_index) {
            c = c.with_datetime(t);
        }
        c
    }
}

impl CaptureSink for SigmfSink {
    fn write(&mut self, first_sample: u64, samples: &[Complex32]) -> Result<(), RecordError> {
        if samples.is_empty() {
            return Ok(());
        }
        let (file_index, gap, new_capture) = self.layout.push(first_sample, samples.len() as u64);
        if new_capture {
            let mut c = self.capture_at(file_index, first_sample);
            if gap > 0 {
                c.extra.insert("ciot:gap_samples".into(), json!(gap));
                self.lost_samples += gap;
                self.w
                    .global_mut()
                    .extra
                    .insert("ciot:lost_samples".into(), json!(self.lost_samples));
            }
            self.w.add_capture(c);
        }
        if let Some((at, n)) = self.layout.take_settling(file_index, first_sample) {
            let mut a = SigmfAnnotation::new(at, n);
            a.label = Some("settling".into());
            a.comment = Some("samples after a retune: the tuner settles; not signal".into());
            self.w.add_annotation(a);
        }
        self.w.write_samples(samples)?;
        Ok(())
    }

    fn retune(&mut self, at_sample: u64, center_hz: f64, settling_samples: u64) {
        // The next write starts a capture segment with the new frequency.
        self.layout.retune(at_sample, center_hz, settling_samples);
    }

    fn annotate(&mut self, r: &DetectionRecord) -> Result<(), RecordError> {
        let Some((start, count)) = self.layout.detection_span(r) else {
            return Ok(());
        };
        let mut a = SigmfAnnotation::new(start, count);
        if let Some(f) = r.freq_hz {
            a.freq_lower_edge = Some(f - r.bandwidth_hz / 2.0);
            a.freq_upper_edge = Some(f + r.bandwidth_hz / 2.0);
        }
        let kind = serde_json::to_value(r.kind).unwrap_or(Value::Null);
        let tech = serde_json::to_value(r.tech).unwrap_or(Value::Null);
        a.label = kind.as_str().map(str::to_string);
        a.comment = Some(format!(
            "{} {} SNR {:.1} dB, {:.1} dBFS, score {:.2}",
            kind.as_str().unwrap_or("?"),
            tech.as_str().unwrap_or("?"),
            r.snr_db,
            r.power_dbfs,
            r.score
        ));
        a.kind = kind.as_str().map(str::to_string);
        a.tech = tech.as_str().map(str::to_string);
        if !r.params.is_empty() {
            a.params = Some(Value::Object(r.params.clone()));
        }
        // The whole record, so the recording alone holds the evidence.
        a.extra.insert(
            "ciot:detection".into(),
            serde_json::to_value(r).unwrap_or(Value::Null),
        );
        self.w.add_annotation(a);
        Ok(())
    }

    fn note_unanalysed(&mut self, gap: &Gap) {
        if let Some((start, count)) = self
            .layout
            .map
            .to_file(gap.first_sample, gap.first_sample + gap.count)
        {
            let mut a = SigmfAnnotation::new(start, count);
            a.label = Some("not analysed".into());
            a.comment =
                Some("recorded, but the detectors fell behind and skipped these samples".into());
            self.w.add_annotation(a);
        }
    }

    fn checkpoint(&mut self) -> Result<(), RecordError> {
        Ok(self.w.checkpoint_meta()?)
    }

    fn finish(self: Box<Self>) -> Result<Vec<PathBuf>, RecordError> {
        let s = self.w.finish()?;
        Ok(vec![s.meta_path, s.data_path])
    }

    fn path(&self) -> &Path {
        self.w.meta_path()
    }
}
