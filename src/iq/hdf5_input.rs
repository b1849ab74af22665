//! Reading HDF5 recordings of the ciot-sweep layout (feature `hdf5`; the layout is
//! described in `evidence::hdf5_sink`): `/iq` (N, 2) in i8 / u8 / i16 / f32 read in slabs
//! of [`SLAB_ROWS`] rows (memory is bounded whatever the file length), the sample rate,
//! centre frequency and start time from the root attributes, the sample format from the
//! element type of `/iq`, and the stream index of each segment from `/captures`, so a
//! recording with gaps replays with its true sample indices.

use super::{validate_frequency, validate_sample_rate, IqError, IqReader, SampleFormat};
use chrono::{DateTime, Utc};
use hdf5::types::{FloatSize, IntSize, TypeDescriptor, VarLenUnicode};
use hdf5::{Dataset, File, H5Type, Location};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Rows of `/iq` read at a time.
pub const SLAB_ROWS: usize = 1 << 16;

/// An HDF5 recording, opened and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Hdf5Recording {
    /// The file.
    pub path: PathBuf,
    /// The sample format (from the element type of `/iq`).
    pub format: SampleFormat,
    /// Sample rate, Hz (attribute `sample_rate_hz`).
    pub sample_rate_hz: f64,
    /// Centre frequency at the start, Hz (attribute `center_frequency_hz`; NaN or absent is
    /// unknown).
    pub center_hz: Option<f64>,
    /// UTC time of stream sample 0 (attribute `utc_start`).
    pub start_time: Option<DateTime<Utc>>,
    /// Rows of `/iq`.
    pub num_samples: u64,
    /// (row of `/iq`, stream index) of the first sample of each segment, ascending.
    pub segments: Vec<(u64, u64)>,
    /// Attribute `device`.
    pub device: Option<String>,
    /// Attribute `gains_db`.
    pub gains_db: Option<String>,
    /// Attribute `software`.
    pub software: Option<String>,
    /// Attribute `command_line`.
    pub command_line: Option<String>,
    /// Attribute `complete`: `Some(false)` for a recording that was never closed.
    pub complete: Option<bool>,
    /// Attribute `lost_samples`.
    pub lost_samples: Option<u64>,
    /// Rows of `/detections`, if present.
    pub detections: Option<u64>,
}

/// The columns of `/captures` the reader needs (HDF5 converts compounds by member name).
#[derive(H5Type, Debug, Clone, Copy)]
#[repr(C)]
struct SegmentRow {
    file_index: u64,
    global_index: u64,
}

fn bad(path: &Path, what: impl Into<String>) -> IqError {
    IqError::Hdf5 {
        path: path.to_path_buf(),
        what: what.into(),
    }
}

fn attr_f64(loc: &Location, name: &str) -> Option<f64> {
    loc.attr(name).ok()?.as_reader().read_scalar::<f64>().ok()
}

fn attr_u64(loc: &Location, name: &str) -> Option<u64> {
    loc.attr(name).ok()?.as_reader().read_scalar::<u64>().ok()
}

fn attr_string(loc: &Location, name: &str) -> Option<String> {
    let a = loc.attr(name).ok()?;
    a.as_reader()
        .read_scalar::<VarLenUnicode>()
        .ok()
        .map(|s| s.as_str().to_string())
}

/// The sample format stored in a dataset of this element type.
fn format_of(d: &TypeDescriptor) -> Option<SampleFormat> {
    match d {
        TypeDescriptor::Integer(IntSize::U1) => Some(SampleFormat::Ci8),
        TypeDescriptor::Unsigned(IntSize::U1) => Some(SampleFormat::Cu8),
        TypeDescriptor::Integer(IntSize::U2) => Some(SampleFormat::Ci16Le),
        TypeDescriptor::Float(FloatSize::U4) => Some(SampleFormat::Cf32Le),
        _ => None,
    }
}

impl Hdf5Recording {
    /// Opens `path` and checks the layout: `/iq` of shape (N, 2) in a supported type, a
    /// usable `sample_rate_hz` (or `sample_rate_hz` given, which replaces it), `/captures`
    /// (when present) ascending. Every error names the file and what is wrong.
    pub fn open(path: &Path, sample_rate_hz: Option<f64>) -> Result<Self, IqError> {
        if !path.is_file() {
            return Err(IqError::Open {
                path: path.to_path_buf(),
                source: io::Error::new(io::ErrorKind::NotFound, "no such file"),
            });
        }
        let file = File::open(path).map_err(|e| bad(path, format!("cannot open as HDF5: {e}")))?;
        let iq = file.dataset("iq").map_err(|_| {
            bad(
                path,
                "not a ciot-sweep HDF5 recording: no /iq dataset (expected /iq of shape (N, 2))",
            )
        })?;
        let shape = iq.shape();
        if shape.len() != 2 || shape[1] != 2 {
            return Err(bad(
                path,
                format!("/iq has shape {shape:?}; expected (N, 2): one row of I and Q per sample"),
            ));
        }
        let desc = iq
            .dtype()
            .and_then(|t| t.to_descriptor())
            .map_err(|e| bad(path, format!("/iq: cannot read its element type: {e}")))?;
        let format = format_of(&desc).ok_or_else(|| {
            bad(
                path,
                format!("/iq holds {desc}; supported: int8 (ci8), uint8 (cu8), int16 (ci16), float32 (cf32)"),
            )
        })?;
        if let Some(dt) = attr_string(&file, "datatype") {
            if SampleFormat::from_sigmf_datatype(&dt) != Some(format) {
                return Err(bad(
                    path,
                    format!(
                        "attribute datatype \"{dt}\" disagrees with the element type of /iq ({})",
                        format.sigmf_datatype()
                    ),
                ));
            }
        }
        let sample_rate_hz = match sample_rate_hz.or_else(|| attr_f64(&file, "sample_rate_hz")) {
            Some(fs) => validate_sample_rate(path, fs)?,
            None => return Err(bad(
                path,
                "attribute sample_rate_hz (a float, Hz) is missing and no sample rate was given",
            )),
        };
        let center_hz = match attr_f64(&file, "center_frequency_hz").filter(|f| !f.is_nan()) {
            Some(f) => Some(validate_frequency(path, f)?),
            None => None,
        };
        let start_time = match attr_string(&file, "utc_start") {
            Some(s) => Some(
                DateTime::parse_from_rfc3339(&s)
                    .map_err(|e| {
                        bad(
                            path,
                            format!("attribute utc_start \"{s}\" is not RFC 3339: {e}"),
                        )
                    })?
                    .with_timezone(&Utc),
            ),
            None => None,
        };
        let num_samples = shape[0] as u64;
        let segments = match file.dataset("captures") {
            Ok(c) => read_segments(path, &c, num_samples)?,
            Err(_) => vec![(0, 0)],
        };
        Ok(Hdf5Recording {
            path: path.to_path_buf(),
            format,
            sample_rate_hz,
            center_hz,
            start_time,
            num_samples,
            segments,
            device: attr_string(&file, "device"),
            gains_db: attr_string(&file, "gains_db"),
            software: attr_string(&file, "software"),
            command_line: attr_string(&file, "command_line"),
            complete: attr_u64(&file, "complete").map(|c| c != 0),
            lost_samples: attr_u64(&file, "lost_samples"),
            detections: file
                .dataset("detections")
                .ok()
                .and_then(|d| d.shape().first().map(|&n| n as u64)),
        })
    }

    /// A reader of the samples, in blocks of at most `block_len`, each stamped with its
    /// stream index (a block never spans a gap, so `first_sample` jumps at one).
    ///
    /// # Panics
    /// If `block_len` is 0.
    pub fn reader(&self, block_len: usize) -> Result<IqReader, IqError> {
        let file = File::open(&self.path)
            .map_err(|e| bad(&self.path, format!("cannot open as HDF5: {e}")))?;
        let iq = file
            .dataset("iq")
            .map_err(|e| bad(&self.path, format!("cannot open /iq: {e}")))?;
        let bytes = SlabBytes {
            _file: file,
            iq,
            format: self.format,
            rows: self.num_samples as usize,
            next_row: 0,
            buf: Vec::new(),
            pos: 0,
        };
        Ok(
            IqReader::from_read(bytes, &self.path, self.format, block_len)
                .with_segments(self.segments.clone()),
        )
    }
}

fn read_segments(path: &Path, c: &Dataset, rows: u64) -> Result<Vec<(u64, u64)>, IqError> {
    let seg: Vec<SegmentRow> = c.read_raw().map_err(|e| {
        bad(
            path,
            format!("/captures: cannot read file_index and global_index (u64 columns): {e}"),
        )
    })?;
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(seg.len() + 1);
    for (i, s) in seg.iter().enumerate() {
        if let Some(&(f0, g0)) = out.last() {
            if s.file_index < f0 || s.global_index < g0 + (s.file_index - f0) {
                return Err(bad(
                    path,
                    format!(
                        "/captures row {i} (file_index {}, global_index {}) goes backwards",
                        s.file_index, s.global_index
                    ),
                ));
            }
        }
        if s.file_index > rows {
            return Err(bad(
                path,
                format!(
                    "/captures row {i}: file_index {} is past the end of /iq ({rows} rows)",
                    s.file_index
                ),
            ));
        }
        out.push((s.file_index, s.global_index));
    }
    if out.first().is_none_or(|&(f, _)| f > 0) {
        out.insert(0, (0, 0));
    }
    Ok(out)
}

/// `/iq` as the little-endian native bytes of its format, read slab by slab.
struct SlabBytes {
    _file: File,
    iq: Dataset,
    format: SampleFormat,
    rows: usize,
    next_row: usize,
    buf: Vec<u8>,
    pos: usize,
}

impl SlabBytes {
    fn load(&mut self) -> hdf5::Result<()> {
        let r0 = self.next_row;
        let r1 = (r0 + SLAB_ROWS).min(self.rows);
        self.buf.clear();
        self.pos = 0;
        match self.format {
            SampleFormat::Ci8 => {
                let a = self.iq.read_slice_2d::<i8, _>((r0..r1, ..))?;
                self.buf.extend(a.iter().map(|&v| v as u8));
            }
            SampleFormat::Cu8 => {
                let a = self.iq.read_slice_2d::<u8, _>((r0..r1, ..))?;
                self.buf.extend(a.iter().copied());
            }
            SampleFormat::Ci16Le => {
                let a = self.iq.read_slice_2d::<i16, _>((r0..r1, ..))?;
                self.buf.extend(a.iter().flat_map(|v| v.to_le_bytes()));
            }
            SampleFormat::Cf32Le => {
                let a = self.iq.read_slice_2d::<f32, _>((r0..r1, ..))?;
                self.buf.extend(a.iter().flat_map(|v| v.to_le_bytes()));
            }
        }
        self.next_row = r1;
        Ok(())
    }
}

impl Read for SlabBytes {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.buf.len() {
            if self.next_row >= self.rows {
                return Ok(0);
            }
            let r0 = self.next_row;
            self.load().map_err(|e| {
                io::Error::other(format!("HDF5 read of /iq rows {r0}.. failed: {e}"))
            })?;
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
