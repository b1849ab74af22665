//! Evidence: every sample the source delivers written to a recording (SigMF, or HDF5 with
//! the `hdf5` feature) with the detections as annotations, checkpointed at least every
//! second; snippets around each detection ([`snapshot`]); a SHA-256 manifest of every file
//! written ([`manifest`]); front-end health ([`health`]).
//!
//! The recorder sits in the ingest thread, in front of the ring ([`RecordingSource`]): it
//! keeps every sample the device delivered even when the DSP falls behind and the ring
//! drops. A device overflow (a jump in the sample index) starts a new SigMF capture segment
//! whose `core:global_index` is the index of its first sample, so the recording says
//! exactly where and how many samples are missing.

#[cfg(feature = "hdf5")]
pub mod hdf5_sink;
pub mod health;
pub mod manifest;
pub mod sigmf_sink;
pub mod snapshot;

use crate::iq::{IqBlock, IqError, SampleFormat};
use crate::pipeline::{Gap, Source};
use crate::record::DetectionRecord;
use chrono::{DateTime, Utc};
use num_complex::Complex32;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How often a recording is made durable (data flushed, metadata rewritten).
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// Errors of the evidence writers. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The SigMF layer failed (create, write with byte offset, metadata).
    #[error(transparent)]
    Iq(#[from] IqError),
    /// An HDF5 operation failed.
    #[error("{}: HDF5 {what}: {message}", path.display())]
    Hdf5 {
        /// The HDF5 file.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// The library's message.
        message: String,
    },
    /// A file could not be hashed or the manifest written.
    #[error("{}: {what}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A recording kind this build cannot write.
    #[error("{}: {what}", path.display())]
    Unsupported {
        /// The path asked for.
        path: PathBuf,
        /// Why.
        what: String,
    },
}

/// What a recording says about where its samples came from.
#[derive(Debug, Clone, PartialEq)]
pub struct CaptureInfo {
    /// Sample rate, Hz.
    pub sample_rate_hz: f64,
    /// Centre frequency, Hz, when known.
    pub center_hz: Option<f64>,
    /// UTC time of sample 0 of the stream.
    pub start_time: Option<DateTime<Utc>>,
    /// The device (SoapySDR driver and serial) or the replayed file.
    pub device: String,
    /// Gains applied, by element name, dB.
    pub gains_db: Vec<(String, f64)>,
    /// The format samples are stored in (the source's native format).
    pub format: SampleFormat,
    /// The command line that made the recording.
    pub command_line: String,
}

impl CaptureInfo {
    /// `core:hw`: device and gains.
    pub fn hw(&self) -> String {
        let g: Vec<(&str, f64)> = self
            .gains_db
            .iter()
            .map(|(n, v)| (n.as_str(), *v))
            .collect();
        crate::iq::hw_description(&self.device, &g)
    }

    /// UTC time of stream sample `index`.
    pub fn time_of(&self, index: u64) -> Option<DateTime<Utc>> {
        self.start_time.map(|t0| {
            t0 + chrono::Duration::nanoseconds(
                (index as f64 / self.sample_rate_hz * 1e9).round() as i64
            )
        })
    }
}

/// A recording being written: samples in stream order, detections, gaps.
pub trait CaptureSink: Send {
    /// Appends samples whose first has stream index `first_sample`. A jump in the index
    /// (a device overflow) is recorded as a gap, never filled.
    fn write(&mut self, first_sample: u64, samples: &[Complex32]) -> Result<(), RecordError>;
    /// The tuning changed at stream sample `at_sample` (the next sample written): a new
    /// capture segment with this centre frequency. `settling_samples` after it are marked
    /// as settling (not signal).
    fn retune(&mut self, at_sample: u64, center_hz: f64, settling_samples: u64);
    /// Stores a detection (as an annotation / a table row).
    fn annotate(&mut self, record: &DetectionRecord) -> Result<(), RecordError>;
    /// Notes samples that were recorded but not analysed (the ring dropped them).
    fn note_unanalysed(&mut self, gap: &Gap);
    /// Makes what was written durable: data flushed, metadata rewritten.
    fn checkpoint(&mut self) -> Result<(), RecordError>;
    /// Closes the recording and returns the files written.
    fn finish(self: Box<Self>) -> Result<Vec<PathBuf>, RecordError>;
    /// The main file (shown to the user).
    fn path(&self) -> &Path;
}

/// Opens a recording at `path`: `.h5`/`.hdf5` is HDF5 (feature `hdf5`), anything else SigMF
/// (`BASE`, `BASE.sigmf-meta` or `BASE.sigmf-data`).
pub fn open_sink(path: &Path, info: &CaptureInfo) -> Result<Box<dyn CaptureSink>, RecordError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase());
    if matches!(ext.as_deref(), Some("h5" | "hdf5")) {
        #[cfg(feature = "hdf5")]
        return Ok(Box::new(hdf5_sink::Hdf5Sink::create(path, info)?));
        #[cfg(not(feature = "hdf5"))]
        return Err(RecordError::Unsupported {
            path: path.to_path_buf(),
            what: "HDF5 recording needs a build with `--features hdf5` (or record to a \
                   .sigmf-meta path)"
                .into(),
        });
    }
    Ok(Box::new(sigmf_sink::SigmfSink::create(path, info)?))
}

struct RecorderState {
    sink: Option<Box<dyn CaptureSink>>,
    last_checkpoint: Instant,
}

/// A recording shared by the ingest thread (samples) and the caller (detections, gaps).
#[derive(Clone)]
pub struct Recorder {
    state: Arc<Mutex<RecorderState>>,
    path: PathBuf,
}

impl Recorder {
    /// Wraps an open sink.
    pub fn new(sink: Box<dyn CaptureSink>) -> Self {
        let path = sink.path().to_path_buf();
        Recorder {
            state: Arc::new(Mutex::new(RecorderState {
                sink: Some(sink),
                last_checkpoint: Instant::now(),
            })),
            path,
        }
    }

    /// The main file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> MutexGuard<'_, RecorderState> {
        // A panic while holding the lock leaves the sink usable: recover the guard.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wraps `source` so every block it delivers is recorded before it enters the ring.
    pub fn tap<S: Source>(&self, source: S) -> RecordingSource<S> {
        RecordingSource::new(source, Some(self.clone()))
    }

    /// Records a block (what [`RecordingSource`] does), checkpointing once a second.
    pub fn write_block(&self, block: &IqBlock) -> Result<(), RecordError> {
        let mut st = self.lock();
        let due = st.last_checkpoint.elapsed() >= CHECKPOINT_EVERY;
        if let Some(sink) = st.sink.as_mut() {
            sink.write(block.first_sample, &block.samples)?;
            if due {
                sink.checkpoint()?;
            }
        }
        if due {
            st.last_checkpoint = Instant::now();
        }
        Ok(())
    }

    /// A retune at stream sample `at_sample` (see [`CaptureSink::retune`]).
    pub fn retune(&self, at_sample: u64, center_hz: f64, settling_samples: u64) {
        if let Some(s) = self.lock().sink.as_mut() {
            s.retune(at_sample, center_hz, settling_samples);
        }
    }

    /// Stores a detection.
    pub fn annotate(&self, record: &DetectionRecord) -> Result<(), RecordError> {
        match self.lock().sink.as_mut() {
            Some(s) => s.annotate(record),
            None => Ok(()),
        }
    }

    /// Notes a gap of the pipeline: ring drops are recorded samples that were not analysed.
    pub fn note_gap(&self, gap: &Gap) {
        if gap.cause == crate::pipeline::GapCause::RingFull {
            if let Some(s) = self.lock().sink.as_mut() {
                s.note_unanalysed(gap);
            }
        }
    }

    /// Closes the recording (idempotent) and returns the files written.
    pub fn finish(&self) -> Result<Vec<PathBuf>, RecordError> {
        let sink = self.lock().sink.take();
        match sink {
            Some(s) => s.finish(),
            None => Ok(Vec::new()),
        }
    }
}

/// A source whose blocks are recorded as they are read (see [`Recorder::tap`]); with no
/// recorder it passes blocks through.
pub struct RecordingSource<S> {
    inner: S,
    rec: Option<Recorder>,
}

impl<S> RecordingSource<S> {
    /// Wraps `inner`, recording to `rec` when given.
    pub fn new(inner: S, rec: Option<Recorder>) -> Self {
        RecordingSource { inner, rec }
    }
}

impl<S: Source> Source for RecordingSource<S> {
    fn read_block(&mut self, block: &mut IqBlock) -> anyhow::Result<bool> {
        if !self.inner.read_block(block)? {
            return Ok(false);
        }
        if let Some(rec) = &self.rec {
            rec.write_block(block).map_err(|e| {
                anyhow::Error::new(e).context(format!(
                    "recording to {} stopped; what was written before is kept",
                    rec.path().display()
                ))
            })?;
        }
        Ok(true)
    }
    fn sample_rate_hz(&self) -> f64 {
        self.inner.sample_rate_hz()
    }
    fn is_live(&self) -> bool {
        self.inner.is_live()
    }
    fn take_warnings(&mut self) -> Vec<String> {
        self.inner.take_warnings()
    }
}

/// Maps stream sample indices to file sample indices across the gaps of a recording.
#[derive(Debug, Clone, Default)]
pub struct IndexMap {
    /// (stream index of the segment's first sample, file index of it), ascending.
    segments: Vec<(u64, u64)>,
    /// Stream index one past the last sample written.
    next_stream: Option<u64>,
    /// Samples written.
    written: u64,
}

impl IndexMap {
    /// Accounts for `len` samples starting at stream index `first`; returns the gap before
    /// them (samples missing), if any, and whether a new segment starts.
    pub fn push(&mut self, first: u64, len: u64) -> (u64, bool) {
        let (gap, new_seg) = match self.next_stream {
            None => (0, true),
            Some(n) if first > n => (first - n, true),
            Some(_) => (0, false),
        };
        if new_seg {
            self.segments.push((first, self.written));
        }
        self.next_stream = Some(first + len);
        self.written += len;
        (gap, new_seg)
    }

    /// Starts a new segment at the next sample even without a gap (a retune).
    pub fn split(&mut self) {
        if let Some(n) = self.next_stream {
            if self.segments.last().map(|s| s.0) != Some(n) {
                self.segments.push((n, self.written));
            }
        }
    }

    /// Samples written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Stream index of the next sample to be written.
    pub fn next_stream(&self) -> Option<u64> {
        self.next_stream
    }

    /// The file index of stream sample `s`, and the stream range `[s, e)` clipped to what
    /// the file holds, as a file range `(start, count)`; `None` when nothing of it is in
    /// the file.
    pub fn to_file(&self, s: u64, e: u64) -> Option<(u64, u64)> {
        let end_stream = self.next_stream?;
        let mut best: Option<(u64, u64)> = None;
        for (i, &(g0, f0)) in self.segments.iter().enumerate() {
            let seg_end_file = self.segments.get(i + 1).map_or(self.written, |n| n.1);
            let g1 = g0 + (seg_end_file - f0);
            let (a, b) = (s.max(g0), e.min(g1).min(end_stream));
            if a < b {
                let fa = f0 + (a - g0);
                best = Some(match best {
                    None => (fa, b - a),
                    Some((bf, _)) => (bf, f0 + (b - g0) - bf),
                });
            }
        }
        best
    }
}

/// How a recording sink lays the stream out in its file, shared by the sinks: the
/// stream-to-file [`IndexMap`], the centre frequency, and what a retune leaves to the next
/// write (a new capture segment, a settling annotation).
#[derive(Debug, Clone, Default)]
pub struct StreamLayout {
    /// Stream sample indices to file sample indices.
    pub map: IndexMap,
    /// Centre frequency of the samples written next, Hz, when known.
    pub center_hz: Option<f64>,
    /// Settling interval of a retune not annotated yet: (stream index, samples).
    pending_settling: Option<(u64, u64)>,
    /// A retune since the last write: the next write starts a capture segment.
    retuned: bool,
}

impl StreamLayout {
    /// A layout for a stream tuned to `center_hz` (when known), nothing written yet.
    pub fn new(center_hz: Option<f64>) -> Self {
        StreamLayout {
            center_hz,
            ..Default::default()
        }
    }

    /// Accounts for a block of `len` samples from stream index `first_sample` (see
    /// [`IndexMap::push`]); returns the file index of its first sample, the gap before it
    /// (samples missing) and whether it starts a capture segment (after a gap, or the first
    /// block after a retune).
    pub fn push(&mut self, first_sample: u64, len: u64) -> (u64, u64, bool) {
        let file_index = self.map.written();
        let (gap, new_segment) = self.map.push(first_sample, len);
        (
            file_index,
            gap,
            new_segment || std::mem::take(&mut self.retuned),
        )
    }

    /// The settling interval of the last retune, to annotate in the block at file index
    /// `file_index` that starts at stream index `first_sample`: (file index, samples).
    /// Given once; `None` when there is none.
    pub fn take_settling(&mut self, file_index: u64, first_sample: u64) -> Option<(u64, u64)> {
        self.pending_settling
            .take()
            .map(|(at, n)| (file_index + at.saturating_sub(first_sample), n))
    }

    /// A retune to `center_hz` at stream sample `at_sample` ([`CaptureSink::retune`]): the
    /// next write starts a capture segment with the new frequency and, when
    /// `settling_samples` is not 0, annotates those samples as settling.
    pub fn retune(&mut self, at_sample: u64, center_hz: f64, settling_samples: u64) {
        self.center_hz = Some(center_hz);
        self.map.split();
        self.retuned = true;
        if settling_samples > 0 {
            self.pending_settling = Some((at_sample, settling_samples));
        }
    }

    /// Where a detection's samples are in the file, `(start, count)` clipped to what the
    /// file holds (see [`IndexMap::to_file`]); `None` when none of them is in it: such a
    /// detection is not stored.
    pub fn detection_span(&self, r: &DetectionRecord) -> Option<(u64, u64)> {
        self.map.to_file(r.sample_start, r.sample_end())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_map_follows_gaps() {
        let mut m = IndexMap::default();
        assert_eq!(m.push(0, 100), (0, true));
        assert_eq!(m.push(100, 50), (0, false));
        assert_eq!(m.push(200, 100), (50, true)); // 50 lost
        assert_eq!(m.written(), 250);
        assert_eq!(m.to_file(10, 20), Some((10, 10)));
        assert_eq!(m.to_file(210, 220), Some((160, 10)));
        // Spanning the gap: from the first part through the second.
        assert_eq!(m.to_file(140, 210), Some((140, 20)));
        // Inside the gap only.
        assert_eq!(m.to_file(160, 190), None);
        // Past the end is clipped.
        assert_eq!(m.to_file(290, 400), Some((240, 10)));
    }

    #[test]
    fn index_map_first_block_may_start_late() {
        let mut m = IndexMap::default();
        m.push(1000, 10);
        assert_eq!(m.to_file(1005, 1008), Some((5, 3)));
        assert_eq!(m.to_file(0, 1002), Some((0, 2)));
        m.split();
        m.push(1010, 10);
        assert_eq!(m.segments.len(), 2);
        assert_eq!(m.to_file(1012, 1014), Some((12, 2)));
    }
}
