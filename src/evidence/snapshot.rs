//! Snapshots: a short SigMF recording around each detection, cut from a pre-trigger
//! history of the stream (default 50 ms before the burst to 50 ms after it), with the
//! detection as an annotation and `core:global_index` giving the snippet's place in the
//! stream. The history is a ring of native-format samples (2 bytes per sample for ci8), so
//! memory is bounded by `history_s` whatever the input length.
//!
//! [`Snapshotter`] wraps the scanner in the DSP thread: it sees every sample the detectors
//! see, in order, and each record as soon as it is released.

use super::{manifest, CaptureInfo};
use crate::iq::{SampleFormat, SigmfAnnotation, SigmfCapture, SigmfWriter};
use crate::pipeline::Processor;
use crate::record::DetectionRecord;
use num_complex::Complex32;
use serde_json::Value;
use std::path::PathBuf;

/// Snapshot settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotConfig {
    /// Folder the snippets go to (created if missing).
    pub dir: PathBuf,
    /// Seconds kept before each burst.
    pub pre_s: f64,
    /// Seconds kept after each burst.
    pub post_s: f64,
    /// Seconds of stream history kept (must cover pre + burst + detection latency).
    pub history_s: f64,
}

impl SnapshotConfig {
    /// The defaults: 50 ms before, 50 ms after, 2 s of history.
    pub fn new(dir: PathBuf) -> Self {
        SnapshotConfig {
            dir,
            pre_s: 0.05,
            post_s: 0.05,
            history_s: 2.0,
        }
    }
}

/// What the snapshotter did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SnapshotReport {
    /// Files written (meta and data of every snippet, and the manifest).
    pub files: Vec<PathBuf>,
    /// Snippets written.
    pub written: usize,
    /// Snippets cut short because the history no longer held their start (or a gap).
    pub truncated: usize,
    /// Snippets that could not be written, with the reason.
    pub failures: Vec<String>,
}

struct Pending {
    record: DetectionRecord,
    start: u64,
    end: u64,
}

/// Wraps a processor of detection records and writes a snapshot for each record.
pub struct Snapshotter<P> {
    inner: P,
    cfg: SnapshotConfig,
    info: CaptureInfo,
    format: SampleFormat,
    bps: usize,
    ring: Vec<u8>,
    cap: u64,
    hist_end: u64,
    valid_from: u64,
    started: bool,
    pending: Vec<Pending>,
    seq: usize,
    report: SnapshotReport,
    scratch: Vec<u8>,
    enabled: bool,
}

impl<P> Snapshotter<P> {
    /// Wraps `inner` without taking snapshots (records pass through).
    pub fn disabled(inner: P, info: CaptureInfo) -> Self {
        Snapshotter {
            inner,
            bps: info.format.bytes_per_sample(),
            ring: Vec::new(),
            cap: 1,
            format: info.format,
            cfg: SnapshotConfig::new(PathBuf::new()),
            info,
            hist_end: 0,
            valid_from: 0,
            started: false,
            pending: Vec::new(),
            seq: 0,
            report: SnapshotReport::default(),
            scratch: Vec::new(),
            enabled: false,
        }
    }

    /// Wraps `inner`; snippets are stored in `info.format`.
    ///
    /// # Errors
    /// The folder cannot be created.
    pub fn new(inner: P, cfg: SnapshotConfig, info: CaptureInfo) -> std::io::Result<Self> {
        std::fs::create_dir_all(&cfg.dir)?;
        let format = info.format;
        let bps = format.bytes_per_sample();
        let cap = ((cfg.history_s.max(cfg.pre_s + cfg.post_s) * info.sample_rate_hz).ceil() as u64)
            .max(1);
        Ok(Snapshotter {
            inner,
            bps,
            ring: vec![0u8; cap as usize * bps],
            cap,
            format,
            cfg,
            info,
            hist_end: 0,
            valid_from: 0,
            started: false,
            pending: Vec::new(),
            seq: 0,
            report: SnapshotReport::default(),
            scratch: Vec::new(),
            enabled: true,
        })
    }

    /// The wrapped processor.
    pub fn inner(&self) -> &P {
        &self.inner
    }

    /// What was written so far.
    pub fn report(&self) -> &SnapshotReport {
        &self.report
    }

    fn push_history(&mut self, first: u64, x: &[Complex32]) {
        if !self.started || first != self.hist_end {
            self.valid_from = first;
            self.started = true;
        }
        let n = x.len() * self.bps;
        self.scratch.resize(n, 0);
        self.format.encode(x, &mut self.scratch[..n]);
        // Only the last `cap` samples matter.
        let skip = x.len().saturating_sub(self.cap as usize);
        let mut idx = first + skip as u64;
        let mut off = skip * self.bps;
        while off < n {
            let pos = (idx % self.cap) as usize;
            let room = (self.cap as usize - pos) * self.bps;
            let take = room.min(n - off);
            self.ring[pos * self.bps..pos * self.bps + take]
                .copy_from_slice(&self.scratch[off..off + take]);
            off += take;
            idx += (take / self.bps) as u64;
        }
        self.hist_end = first + x.len() as u64;
    }

    fn queue(&mut self, r: &DetectionRecord) {
        let fs = self.info.sample_rate_hz;
        let pre = (self.cfg.pre_s * fs).round() as u64;
        let post = (self.cfg.post_s * fs).round() as u64;
        self.pending.push(Pending {
            start: r.sample_start.saturating_sub(pre),
            end: r.sample_end() + post,
            record: r.clone(),
        });
    }

    fn flush(&mut self, all: bool) {
        let mut i = 0;
        while i < self.pending.len() {
            if all || self.pending[i].end <= self.hist_end {
                let p = self.pending.remove(i);
                self.write(&p);
            } else {
                i += 1;
            }
        }
    }

    fn write(&mut self, p: &Pending) {
        let oldest = self.valid_from.max(self.hist_end.saturating_sub(self.cap));
        let a = p.start.max(oldest);
        let b = p.end.min(self.hist_end);
        if a >= b {
            self.report.failures.push(format!(
                "{} at sample {}: no longer in the {:.1} s history",
                kind(&p.record),
                p.record.sample_start,
                self.cfg.history_s
            ));
            return;
        }
        let truncated = a > p.start || b < p.end;
        self.seq += 1;
        let base = self.cfg.dir.join(format!(
            "snap-{:05}-{}-t{:.4}s",
            self.seq,
            kind(&p.record),
            p.record.t_start_s
        ));
        match self.write_snippet(&base, &p.record, a, b, truncated) {
            Ok(files) => {
                self.report.written += 1;
                self.report.truncated += usize::from(truncated);
                match manifest::add_to_manifests(&files) {
                    Ok(m) => {
                        for f in m {
                            if !self.report.files.contains(&f) {
                                self.report.files.push(f);
                            }
                        }
                    }
                    Err(e) => self.report.failures.push(e.to_string()),
                }
                self.report.files.extend(files);
            }
            Err(e) => self.report.failures.push(format!("{e:#}")),
        }
    }

    fn write_snippet(
        &mut self,
        base: &std::path::Path,
        r: &DetectionRecord,
        a: u64,
        b: u64,
        truncated: bool,
    ) -> Result<Vec<PathBuf>, super::RecordError> {
        let mut w = SigmfWriter::create(base, self.format, self.info.sample_rate_hz)?;
        let g = w.global_mut();
        g.hw = Some(self.info.hw());
        g.description = Some(format!(
            "ciot-sweep snapshot of a {} detection; stream samples {a}..{b}{}",
            kind(r),
            if truncated {
                " (cut short: the history did not hold the whole window)"
            } else {
                ""
            }
        ));
        g.extra.insert(
            "ciot:command_line".into(),
            Value::from(self.info.command_line.clone()),
        );
        let mut c = SigmfCapture::new(0);
        c.global_index = Some(a);
        if let Some(f) = self.info.center_hz {
            c = c.with_frequency(f);
        }
        if let Some(t) = self.info.time_of(a) {
            c = c.with_datetime(t);
        }
        w.add_capture(c);
        let s = r.sample_start.clamp(a, b);
        let e = r.sample_end().clamp(a, b);
        let mut ann = SigmfAnnotation::new(s - a, (e - s).max(1));
        if let Some(f) = r.freq_hz {
            ann.freq_lower_edge = Some(f - r.bandwidth_hz / 2.0);
            ann.freq_upper_edge = Some(f + r.bandwidth_hz / 2.0);
        }
        ann.label = Some(kind(r).to_string());
        ann.kind = Some(kind(r).to_string());
        ann.tech = serde_json::to_value(r.tech)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string));
        if !r.params.is_empty() {
            ann.params = Some(Value::Object(r.params.clone()));
        }
        ann.extra.insert(
            "ciot:detection".into(),
            serde_json::to_value(r).unwrap_or(Value::Null),
        );
        w.add_annotation(ann);
        // Copy out of the ring (it may wrap).
        let mut idx = a;
        while idx < b {
            let pos = idx % self.cap;
            let n = (b - idx).min(self.cap - pos) as usize;
            let p = pos as usize * self.bps;
            w.write_native(&self.ring[p..p + n * self.bps])?;
            idx += n as u64;
        }
        let s = w.finish()?;
        Ok(vec![s.meta_path, s.data_path])
    }
}

fn kind(r: &DetectionRecord) -> String {
    serde_json::to_value(r.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "unknown".into())
}

impl<P: Processor<Output = DetectionRecord>> Processor for Snapshotter<P> {
    type Output = DetectionRecord;

    fn process(&mut self, first_sample: u64, x: &[Complex32], out: &mut Vec<DetectionRecord>) {
        if !self.enabled {
            return self.inner.process(first_sample, x, out);
        }
        self.push_history(first_sample, x);
        let before = out.len();
        self.inner.process(first_sample, x, out);
        let new: Vec<DetectionRecord> = out[before..].to_vec();
        for r in &new {
            self.queue(r);
        }
        self.flush(false);
    }

    fn finish(&mut self, out: &mut Vec<DetectionRecord>) {
        if !self.enabled {
            return self.inner.finish(out);
        }
        let before = out.len();
        self.inner.finish(out);
        let new: Vec<DetectionRecord> = out[before..].to_vec();
        for r in &new {
            self.queue(r);
        }
        self.flush(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ciot_dsp::synth::{Kind, Tech};

    /// Emits one record per call covering samples [first+10, first+20) of each chunk at
    /// chunk index 3 (so the record comes out while history holds it).
    struct OneShot {
        calls: usize,
    }
    impl Processor for OneShot {
        type Output = DetectionRecord;
        fn process(&mut self, first: u64, _x: &[Complex32], out: &mut Vec<DetectionRecord>) {
            self.calls += 1;
            if self.calls == 3 {
                out.push(rec(first - 150, 20));
            }
        }
        fn finish(&mut self, _out: &mut Vec<DetectionRecord>) {}
    }

    fn rec(start: u64, len: u64) -> DetectionRecord {
        DetectionRecord {
            kind: Kind::Nprach,
            tech: Tech::NbIot,
            sample_start: start,
            sample_len: len,
            t_start_s: start as f64 / 1000.0,
            duration_s: len as f64 / 1000.0,
            freq_offset_hz: 0.0,
            freq_hz: Some(800e6),
            bandwidth_hz: 45e3,
            power_dbfs: -20.0,
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
    fn snippet_holds_exactly_the_window_around_the_burst() {
        let d = tempfile::tempdir().expect("tempdir");
        let info = CaptureInfo {
            sample_rate_hz: 1000.0,
            center_hz: Some(800e6),
            start_time: None,
            device: "test".into(),
            gains_db: vec![],
            format: SampleFormat::Ci8,
            command_line: "test".into(),
        };
        let cfg = SnapshotConfig {
            dir: d.path().join("snaps"),
            pre_s: 0.05,
            post_s: 0.03,
            history_s: 0.5,
        };
        let mut s = Snapshotter::new(OneShot { calls: 0 }, cfg, info).expect("new");
        let mut out = Vec::new();
        // Sample value = index mod 100 (as ci8 code / 128).
        for k in 0..6u64 {
            let x: Vec<Complex32> = (0..100u64)
                .map(|i| Complex32::new(((k * 100 + i) % 100) as f32 / 128.0, 0.0))
                .collect();
            s.process(k * 100, &x, &mut out);
        }
        s.finish(&mut out);
        assert_eq!(out.len(), 1, "records pass through");
        let rep = s.report().clone();
        assert_eq!((rep.written, rep.truncated), (1, 0), "{rep:?}");
        // Record at 50..70: window 0..100 (50 before, 30 after).
        let data = rep
            .files
            .iter()
            .find(|p| p.extension().is_some_and(|e| e == "sigmf-data"))
            .expect("data file");
        let bytes = std::fs::read(data).expect("read");
        assert_eq!(bytes.len(), 100 * 2);
        for (i, c) in bytes.chunks(2).enumerate() {
            assert_eq!(c[0] as i8 as u64, i as u64 % 100);
        }
        let meta: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(data.with_extension("sigmf-meta")).expect("meta"),
        )
        .expect("json");
        assert_eq!(meta["captures"][0]["core:global_index"], 0);
        assert_eq!(meta["annotations"][0]["core:sample_start"], 50);
        assert_eq!(meta["annotations"][0]["core:sample_count"], 20);
        assert!(rep.files.iter().any(|p| p.ends_with("SHA256SUMS")));
    }
}
