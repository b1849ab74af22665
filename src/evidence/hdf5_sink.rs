//! The HDF5 recording sink (feature `hdf5`): one `.h5` file holding the samples in the
//! source's native integer (or float) type and the evidence tables, flushed at every
//! checkpoint so a crash or a kill loses at most the last second and the file still opens.
//!
//! Layout (the "ciot-sweep IQ" layout, attribute `layout` = [`LAYOUT`]):
//!
//! | object         | type                               | content                                       |
//! |----------------|------------------------------------|-----------------------------------------------|
//! | `/iq`          | (N, 2) i8 / u8 / i16 / f32, chunked | I and Q native codes, in file order           |
//! | `/captures`    | 1-D compound                       | one row per segment: `file_index`, `global_index` (stream index of its first sample), `frequency_hz` (NaN when unknown), `gap_samples` (lost before it) |
//! | `/gaps`        | 1-D compound                       | source overflows: `first_sample` (stream), `count`, `file_index` |
//! | `/detections`  | 1-D compound                       | the detection records (see [`DetectionRow`])  |
//! | `/annotations` | 1-D compound                       | `file_index`, `count`, `label`: `settling`, `not analysed` |
//!
//! Root attributes: `layout`, `sample_rate_hz`, `center_frequency_hz` (the centre at the
//! start; **NaN when unknown**; retunes are in `/captures`), `datatype` (the SigMF
//! spelling: `ci8`, `cu8`, `ci16_le`, `cf32_le`), `scale` (full scale 1.0 per code: 1/128,
//! 1/32768, 1), `offset` (the code at zero: 127.5 for `cu8`, else 0; value =
//! (code - offset) * scale), `gains_db` (`"LNA=16,VGA=20"`) and one `gain_NAME_db` per gain,
//! `device`, `utc_start` (RFC 3339 time of stream sample 0; absent when unknown),
//! `software` (`ciot-sweep VERSION`), `command_line`, and, rewritten at every checkpoint,
//! `samples`, `lost_samples`, `clipped_samples`, `complete` (1 once closed cleanly).
//!
//! Every dataset is chunked and resizable (unlimited first dimension); rows are appended
//! as they come. The file uses the oldest HDF5 format that holds it (no superblock status
//! flags), so a file cut by a kill opens without `h5clear`.

use super::{CaptureInfo, CaptureSink, RecordError, StreamLayout};
use crate::iq::SampleFormat;
use crate::pipeline::Gap;
use crate::record::DetectionRecord;
use hdf5::types::VarLenUnicode;
use hdf5::{Dataset, File, H5Type, Location};
use num_complex::Complex32;
use std::path::{Path, PathBuf};

/// The value of the root attribute `layout`.
pub const LAYOUT: &str = "ciot-sweep-iq/1";
/// Rows of `/iq` per chunk.
pub const IQ_CHUNK_ROWS: usize = 65_536;
/// Rows per chunk of the tables.
const TABLE_CHUNK_ROWS: usize = 256;

/// A row of `/captures`: a segment of the file.
#[derive(H5Type, Debug, Clone, Copy, PartialEq)]
#[repr(C)]
pub struct CaptureRow {
    /// Row of `/iq` of the segment's first sample.
    pub file_index: u64,
    /// Stream index of that sample.
    pub global_index: u64,
    /// Centre frequency of the segment, Hz (NaN when unknown).
    pub frequency_hz: f64,
    /// Samples lost just before the segment (a source overflow), else 0.
    pub gap_samples: u64,
}

/// A row of `/gaps`: samples the source lost (never in the file).
#[derive(H5Type, Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct GapRow {
    /// Stream index of the first lost sample.
    pub first_sample: u64,
    /// Samples lost.
    pub count: u64,
    /// Row of `/iq` of the first sample after the gap.
    pub file_index: u64,
}

/// A row of `/detections`: a [`DetectionRecord`] with its place in the file.
#[derive(H5Type, Debug, Clone, PartialEq)]
#[repr(C)]
pub struct DetectionRow {
    /// `kind` of the record (`nprach`, `prach`...).
    pub kind: VarLenUnicode,
    /// `tech` of the record (`nb-iot`, `lte-m`...).
    pub tech: VarLenUnicode,
    /// Stream index of the burst's first sample.
    pub sample_start: u64,
    /// Row of `/iq` of the burst's first recorded sample.
    pub file_sample_start: u64,
    /// Burst length, samples.
    pub sample_len: u64,
    /// Start, seconds.
    pub t_start_s: f64,
    /// Duration, seconds.
    pub duration_s: f64,
    /// Offset from the capture centre, Hz.
    pub freq_offset_hz: f64,
    /// Absolute centre frequency, Hz (NaN when unknown).
    pub freq_hz: f64,
    /// Occupied bandwidth, Hz.
    pub bandwidth_hz: f64,
    /// Mean power, dBFS.
    pub power_dbfs: f64,
    /// SNR, dB.
    pub snr_db: f64,
    /// Detector confidence 0..1.
    pub score: f64,
    /// RFC 3339 time of the burst start ("" when unknown).
    pub time_utc: VarLenUnicode,
    /// Emitter id (-1 when none).
    pub emitter: i64,
    /// The record's `params` as a JSON object ("{}" when empty).
    pub params_json: VarLenUnicode,
}

/// A row of `/annotations`: samples that are in the file but are not signal or were not
/// analysed.
#[derive(H5Type, Debug, Clone, PartialEq)]
#[repr(C)]
pub struct AnnotationRow {
    /// Row of `/iq` of the first sample.
    pub file_index: u64,
    /// Samples.
    pub count: u64,
    /// `settling` (after a retune) or `not analysed` (the detectors skipped them).
    pub label: VarLenUnicode,
}

/// A UTF-8 HDF5 string (an interior NUL, impossible in our strings, is dropped).
pub fn h5_string(s: &str) -> VarLenUnicode {
    s.replace('\0', "")
        .parse()
        .unwrap_or_else(|_| VarLenUnicode::new())
}

/// `code * scale` is the sample at full scale 1.0 (after subtracting [`offset_of`]).
pub fn scale_of(format: SampleFormat) -> f64 {
    match format {
        SampleFormat::Cf32Le => 1.0,
        f => f64::from(f.lsb()),
    }
}

/// The code that sits at zero (127.5 for `cu8`, else 0).
pub fn offset_of(format: SampleFormat) -> f64 {
    match format {
        SampleFormat::Cu8 => f64::from(crate::iq::format::CU8_OFFSET),
        _ => 0.0,
    }
}

/// Writes an HDF5 recording from a stream (see the module documentation for the layout).
pub struct Hdf5Sink {
    file: Option<File>,
    path: PathBuf,
    info: CaptureInfo,
    iq: Dataset,
    captures: Dataset,
    gaps: Dataset,
    detections: Dataset,
    annotations: Dataset,
    layout: StreamLayout,
    lost_samples: u64,
    clipped_samples: u64,
    bytes: Vec<u8>,
}

impl std::fmt::Debug for Hdf5Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hdf5Sink")
            .field("path", &self.path)
            .field("written", &self.layout.map.written())
            .finish_non_exhaustive()
    }
}

fn scalar_attr<T: H5Type>(loc: &Location, name: &str, v: &T) -> hdf5::Result<()> {
    let a = match loc.attr(name) {
        Ok(a) => a,
        Err(_) => loc.new_attr::<T>().shape(()).create(name)?,
    };
    a.as_writer().write_scalar(v)
}

fn str_attr(loc: &Location, name: &str, v: &str) -> hdf5::Result<()> {
    scalar_attr(loc, name, &h5_string(v))
}

fn table<T: H5Type>(file: &File, name: &str) -> hdf5::Result<Dataset> {
    file.new_dataset::<T>()
        .chunk(TABLE_CHUNK_ROWS)
        .shape(0..)
        .create(name)
}

fn append_row<T: H5Type>(ds: &Dataset, row: &T) -> hdf5::Result<()> {
    let n = ds.shape().first().copied().unwrap_or(0);
    ds.resize(n + 1)?;
    ds.write_slice(std::slice::from_ref(row), n..n + 1)
}

fn write_rows<T: H5Type>(ds: &Dataset, n0: usize, codes: &[T]) -> hdf5::Result<()> {
    let rows = codes.len() / 2;
    ds.resize((n0 + rows, 2))?;
    let view = ndarray::ArrayView2::from_shape((rows, 2), codes)
        .map_err(|e| hdf5::Error::from(e.to_string().as_str()))?;
    ds.write_slice(view, (n0..n0 + rows, ..))
}

impl Hdf5Sink {
    /// Creates (or truncates) the recording at `path` and writes its attributes.
    pub fn create(path: &Path, info: &CaptureInfo) -> Result<Self, RecordError> {
        let err = |what: &'static str| {
            let path = path.to_path_buf();
            move |e: hdf5::Error| RecordError::Hdf5 {
                path: path.clone(),
                what,
                message: e.to_string(),
            }
        };
        let file = File::create(path).map_err(err("creating the file"))?;
        let iq = {
            let b = file.new_dataset_builder();
            let b = match info.format {
                SampleFormat::Ci8 => b.empty::<i8>(),
                SampleFormat::Cu8 => b.empty::<u8>(),
                SampleFormat::Ci16Le => b.empty::<i16>(),
                SampleFormat::Cf32Le => b.empty::<f32>(),
            };
            b.chunk((IQ_CHUNK_ROWS, 2))
                .shape((0.., 2))
                .create("iq")
                .map_err(err("creating /iq"))?
        };
        let captures = table::<CaptureRow>(&file, "captures").map_err(err("creating /captures"))?;
        let gaps = table::<GapRow>(&file, "gaps").map_err(err("creating /gaps"))?;
        let detections =
            table::<DetectionRow>(&file, "detections").map_err(err("creating /detections"))?;
        let annotations =
            table::<AnnotationRow>(&file, "annotations").map_err(err("creating /annotations"))?;
        {
            let root: &Location = &file;
            let gains: Vec<String> = info
                .gains_db
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect();
            let r = (|| -> hdf5::Result<()> {
                str_attr(root, "layout", LAYOUT)?;
                scalar_attr(root, "sample_rate_hz", &info.sample_rate_hz)?;
                scalar_attr(
                    root,
                    "center_frequency_hz",
                    &info.center_hz.unwrap_or(f64::NAN),
                )?;
                str_attr(root, "datatype", info.format.sigmf_datatype())?;
                scalar_attr(root, "scale", &scale_of(info.format))?;
                scalar_attr(root, "offset", &offset_of(info.format))?;
                str_attr(root, "gains_db", &gains.join(","))?;
                for (n, v) in &info.gains_db {
                    scalar_attr(root, &format!("gain_{n}_db"), v)?;
                }
                str_attr(root, "device", &info.device)?;
                if let Some(t) = info.start_time {
                    str_attr(
                        root,
                        "utc_start",
                        &t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                    )?;
                }
                str_attr(
                    root,
                    "software",
                    &format!("ciot-sweep {}", env!("CARGO_PKG_VERSION")),
                )?;
                str_attr(root, "command_line", &info.command_line)?;
                scalar_attr(root, "complete", &0u8)?;
                Ok(())
            })();
            r.map_err(err("writing the attributes"))?;
        }
        let mut s = Hdf5Sink {
            file: Some(file),
            path: path.to_path_buf(),
            info: info.clone(),
            iq,
            captures,
            gaps,
            detections,
            annotations,
            layout: StreamLayout::new(info.center_hz),
            lost_samples: 0,
            clipped_samples: 0,
            bytes: Vec::new(),
        };
        // The file opens from the start, even if nothing is ever written.
        s.checkpoint()?;
        Ok(s)
    }

    fn err(&self, what: &'static str) -> impl Fn(hdf5::Error) -> RecordError + '_ {
        move |e| RecordError::Hdf5 {
            path: self.path.clone(),
            what,
            message: e.to_string(),
        }
    }

    fn write_codes(&mut self, n0: usize, samples: &[Complex32]) -> hdf5::Result<()> {
        let fmt = self.info.format;
        self.bytes.resize(samples.len() * fmt.bytes_per_sample(), 0);
        self.clipped_samples += fmt.encode(samples, &mut self.bytes) as u64;
        let b = &self.bytes;
        match fmt {
            SampleFormat::Ci8 => {
                let codes: Vec<i8> = b.iter().map(|&x| x as i8).collect();
                write_rows(&self.iq, n0, &codes)
            }
            SampleFormat::Cu8 => write_rows(&self.iq, n0, b),
            SampleFormat::Ci16Le => {
                let codes: Vec<i16> = b
                    .chunks_exact(2)
                    .map(|c| i16::from_le_bytes([c[0], c[1]]))
                    .collect();
                write_rows(&self.iq, n0, &codes)
            }
            SampleFormat::Cf32Le => {
                let codes: Vec<f32> = b
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect();
                write_rows(&self.iq, n0, &codes)
            }
        }
    }

    fn file_write_error(&self, what: &'static str, file_index: u64, e: hdf5::Error) -> RecordError {
        RecordError::Hdf5 {
            path: self.path.clone(),
            what,
            message: format!("at sample {file_index} of /iq: {e}"),
        }
    }
}

impl CaptureSink for Hdf5Sink {
    fn write(&mut self, first_sample: u64, samples: &[Complex32]) -> Result<(), RecordError> {
        if samples.is_empty() {
            return Ok(());
        }
        let (file_index, gap, new_capture) = self.layout.push(first_sample, samples.len() as u64);
        if new_capture {
            let row = CaptureRow {
                file_index,
                global_index: first_sample,
                frequency_hz: self.layout.center_hz.unwrap_or(f64::NAN),
                gap_samples: gap,
            };
            append_row(&self.captures, &row).map_err(self.err("appending to /captures"))?;
            if gap > 0 {
                self.lost_samples += gap;
                let g = GapRow {
                    first_sample: first_sample - gap,
                    count: gap,
                    file_index,
                };
                append_row(&self.gaps, &g).map_err(self.err("appending to /gaps"))?;
            }
        }
        if let Some((at, n)) = self.layout.take_settling(file_index, first_sample) {
            let a = AnnotationRow {
                file_index: at,
                count: n,
                label: h5_string("settling"),
            };
            append_row(&self.annotations, &a).map_err(self.err("appending to /annotations"))?;
        }
        let n0 = usize::try_from(file_index).unwrap_or(usize::MAX);
        self.write_codes(n0, samples)
            .map_err(|e| self.file_write_error("writing samples", file_index, e))
    }

    fn retune(&mut self, at_sample: u64, center_hz: f64, settling_samples: u64) {
        // The next write starts a /captures row with the new frequency.
        self.layout.retune(at_sample, center_hz, settling_samples);
    }

    fn annotate(&mut self, r: &DetectionRecord) -> Result<(), RecordError> {
        // As in the SigMF sink: a detection with no sample in the file is not stored.
        let Some((start, _count)) = self.layout.detection_span(r) else {
            return Ok(());
        };
        let name = |v: serde_json::Result<serde_json::Value>| {
            v.ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_else(|| "unknown".into())
        };
        let row = DetectionRow {
            kind: h5_string(&name(serde_json::to_value(r.kind))),
            tech: h5_string(&name(serde_json::to_value(r.tech))),
            sample_start: r.sample_start,
            file_sample_start: start,
            sample_len: r.sample_len,
            t_start_s: r.t_start_s,
            duration_s: r.duration_s,
            freq_offset_hz: r.freq_offset_hz,
            freq_hz: r.freq_hz.unwrap_or(f64::NAN),
            bandwidth_hz: r.bandwidth_hz,
            power_dbfs: r.power_dbfs,
            snr_db: r.snr_db,
            score: r.score,
            time_utc: h5_string(r.time_utc.as_deref().unwrap_or("")),
            emitter: r.emitter.and_then(|e| i64::try_from(e).ok()).unwrap_or(-1),
            params_json: h5_string(
                &serde_json::to_string(&r.params).unwrap_or_else(|_| "{}".into()),
            ),
        };
        append_row(&self.detections, &row).map_err(self.err("appending to /detections"))
    }

    fn note_unanalysed(&mut self, gap: &Gap) {
        if let Some((start, count)) = self
            .layout
            .map
            .to_file(gap.first_sample, gap.first_sample + gap.count)
        {
            let a = AnnotationRow {
                file_index: start,
                count,
                label: h5_string("not analysed"),
            };
            // The trait gives no way to report this; the samples themselves are recorded,
            // and the next checkpoint reports a broken file.
            let _ = append_row(&self.annotations, &a);
        }
    }

    fn checkpoint(&mut self) -> Result<(), RecordError> {
        let Some(file) = self.file.as_ref() else {
            return Ok(());
        };
        let root: &Location = file;
        let r = (|| -> hdf5::Result<()> {
            scalar_attr(root, "samples", &self.layout.map.written())?;
            scalar_attr(root, "lost_samples", &self.lost_samples)?;
            scalar_attr(root, "clipped_samples", &self.clipped_samples)?;
            file.flush()
        })();
        r.map_err(self.err("flushing the file"))
    }

    fn finish(mut self: Box<Self>) -> Result<Vec<PathBuf>, RecordError> {
        if let Some(file) = self.file.as_ref() {
            let root: &Location = file;
            scalar_attr(root, "complete", &1u8).map_err(self.err("closing the file"))?;
        }
        self.checkpoint()?;
        let path = self.path.clone();
        let Hdf5Sink {
            file,
            iq,
            captures,
            gaps,
            detections,
            annotations,
            ..
        } = *self;
        // Every object handle first, then the file: closing it writes the last metadata.
        drop((iq, captures, gaps, detections, annotations));
        if let Some(f) = file {
            f.close().map_err(|e| RecordError::Hdf5 {
                path: path.clone(),
                what: "closing the file",
                message: e.to_string(),
            })?;
        }
        Ok(vec![path])
    }

    fn path(&self) -> &Path {
        &self.path
    }
}
