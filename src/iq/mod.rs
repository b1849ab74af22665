//! IQ recordings in and out: native sample formats, a streaming block reader, SigMF
//! metadata, a streaming SigMF writer and raw files named rtl_433-style.
//!
//! ```text
//!  .sigmf-meta/.sigmf-data ─ SigmfRecording ─┐
//!  raw file / stdin ──────── RawSpec ────────┼─ IqInput ─ IqReader ─> IqBlock { first_sample, samples }
//!  any `Read` ─────────────────────────────────────────── IqReader::from_read
//!
//!  &[Complex<f32>] ─> SigmfWriter ─> BASE.sigmf-data (streamed, SHA-512 on the fly)
//!                                    BASE.sigmf-meta (on finish, atomically)
//! ```
//!
//! Samples are `Complex<f32>` at full scale 1.0 for every format (see [`mod@format`]), so a
//! power in dBFS is relative to the full scale of the input format. Memory is bounded by the
//! block length whatever the file length. Problems that do not stop reading (a trailing
//! partial sample, non-finite `cf32` samples, an unparsable capture time) are
//! [`IqWarning`] values for the caller to print, never silently dropped. Errors are
//! [`IqError`], whose messages name the file (and the byte offset where there is one).
//!
//! SigMF annotations are read and kept, but never used for detection (INTERFACES.md 2).

pub mod format;
#[cfg(feature = "hdf5")]
pub mod hdf5_input;
pub mod input;
pub mod raw;
pub mod reader;
pub mod sigmf;
pub mod writer;

pub use format::{DecodeStats, SampleFormat, UnknownFormat};
pub use input::{is_hdf5_path, IqInput};
pub use raw::{parse_rtl433_name, parse_si_value, RawSpec, Rtl433Name};
pub use reader::IqReader;
pub use sigmf::{
    Sha512Check, SigmfAnnotation, SigmfCapture, SigmfExtension, SigmfGlobal, SigmfMeta,
    SigmfRecording,
};
pub use writer::{hw_description, SigmfWriter, WriteSummary};

use num_complex::Complex;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Highest sample rate accepted anywhere, Hz (anything above is taken as a typo).
pub const MAX_SAMPLE_RATE_HZ: f64 = 1e9;
/// Largest centre frequency magnitude accepted, Hz (the SigMF schema's limit).
pub const MAX_FREQUENCY_HZ: f64 = 1e12;
/// The name used in messages for standard input.
pub const STDIN_NAME: &str = "<stdin>";

/// A block of samples, stamped with the index of its first sample in the stream
/// (0 = first sample of the file or stream).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IqBlock {
    /// Index of `samples[0]` in the stream, at the stream's own sample rate.
    pub first_sample: u64,
    /// The samples, full scale 1.0.
    pub samples: Vec<Complex<f32>>,
}

impl IqBlock {
    /// An empty block that can hold `capacity` samples without reallocating.
    pub fn with_capacity(capacity: usize) -> Self {
        IqBlock {
            first_sample: 0,
            samples: Vec::with_capacity(capacity),
        }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// True when the block holds no sample.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Index one past the last sample (`first_sample + len`).
    pub fn end_sample(&self) -> u64 {
        self.first_sample + self.samples.len() as u64
    }
}

/// The end of a stream held part of a sample: those bytes were not processed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailingBytes {
    /// The file (or [`STDIN_NAME`]).
    pub path: PathBuf,
    /// Byte offset of the partial sample in the data.
    pub offset: u64,
    /// How many bytes it has (fewer than one sample).
    pub count: usize,
    /// The format, for its sample size.
    pub format: SampleFormat,
}

/// `cf32` samples with a NaN or infinite component, replaced by 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonFiniteSamples {
    /// The file (or [`STDIN_NAME`]).
    pub path: PathBuf,
    /// How many samples were replaced.
    pub count: u64,
    /// Stream index of the first one.
    pub first_sample: u64,
}

/// Something the caller should tell the user about, though reading went on.
#[derive(Debug, Clone, PartialEq)]
pub enum IqWarning {
    /// A trailing partial sample was ignored.
    TrailingBytes(TrailingBytes),
    /// Non-finite `cf32` samples were replaced by 0.
    NonFinite(NonFiniteSamples),
    /// A SigMF capture's `core:datetime` is not RFC 3339; the start time is unknown.
    UnparsedDatetime {
        /// The metadata file.
        path: PathBuf,
        /// The value found.
        value: String,
    },
}

impl fmt::Display for IqWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IqWarning::TrailingBytes(t) => write!(
                f,
                "{}: {} trailing byte(s) at byte offset {} do not make a whole {} sample \
                 ({} bytes) and were ignored",
                t.path.display(),
                t.count,
                t.offset,
                t.format,
                t.format.bytes_per_sample()
            ),
            IqWarning::NonFinite(n) => write!(
                f,
                "{}: {} sample(s) with a NaN or infinite component were replaced by 0 \
                 (first at sample {})",
                n.path.display(),
                n.count,
                n.first_sample
            ),
            IqWarning::UnparsedDatetime { path, value } => write!(
                f,
                "{}: core:datetime \"{}\" is not an RFC 3339 time; the capture start time \
                 is unknown",
                path.display(),
                value
            ),
        }
    }
}

/// Errors of the IQ input/output layer. Every message names the file concerned.
#[derive(Debug, thiserror::Error)]
pub enum IqError {
    /// A file could not be opened.
    #[error("cannot open {}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Reading sample data failed.
    #[error("{}: read error at byte offset {offset}", path.display())]
    Read {
        /// The file (or [`STDIN_NAME`]).
        path: PathBuf,
        /// Bytes successfully read before the error.
        offset: u64,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A file could not be created.
    #[error("cannot create {}", path.display())]
    Create {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Writing sample data failed.
    #[error("{}: write error at byte offset {offset}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Bytes successfully written before the error.
        offset: u64,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A SigMF metadata file could not be read.
    #[error("cannot read SigMF metadata {}", path.display())]
    MetaRead {
        /// The metadata file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A SigMF metadata file is not valid JSON or does not have the SigMF shape.
    #[error("{}: invalid SigMF metadata at line {line}, column {column}", path.display())]
    MetaJson {
        /// The metadata file.
        path: PathBuf,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// The parser's description.
        #[source]
        source: serde_json::Error,
    },
    /// A SigMF metadata file could not be written.
    #[error("cannot write SigMF metadata {}", path.display())]
    MetaWrite {
        /// The metadata file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// SigMF metadata could not be serialised (a non-finite number in an extension value).
    #[error("{}: cannot serialise the SigMF metadata", path.display())]
    MetaSerialize {
        /// The metadata file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// The data file a SigMF metadata file refers to does not exist.
    #[error("SigMF data file {} not found (metadata {})", data_path.display(), meta_path.display())]
    MissingData {
        /// The data file looked for.
        data_path: PathBuf,
        /// The metadata file.
        meta_path: PathBuf,
    },
    /// The metadata file of a SigMF data file does not exist.
    #[error("SigMF metadata file {} not found (for data file {})", meta_path.display(), data_path.display())]
    MissingMeta {
        /// The metadata file looked for.
        meta_path: PathBuf,
        /// The data file given.
        data_path: PathBuf,
    },
    /// `core:datatype` names a format this crate does not read.
    #[error(
        "{}: core:datatype \"{datatype}\" is not supported; supported: {}",
        path.display(),
        format::SUPPORTED_SIGMF_DATATYPES
    )]
    UnsupportedDatatype {
        /// The metadata file.
        path: PathBuf,
        /// The value found.
        datatype: String,
    },
    /// A SigMF feature this crate does not read (multiple channels, header bytes...).
    #[error("{}: {what} is not supported", path.display())]
    UnsupportedMeta {
        /// The metadata file.
        path: PathBuf,
        /// What it is.
        what: String,
    },
    /// No sample rate in the SigMF metadata and none given.
    #[error("{}: core:sample_rate is missing from the SigMF global object and no sample rate was given", path.display())]
    MissingSampleRate {
        /// The metadata file.
        path: PathBuf,
    },
    /// A sample rate that is zero, negative, not finite or above [`MAX_SAMPLE_RATE_HZ`].
    #[error("{}: sample rate {value} Hz is not usable: {reason}", path.display())]
    BadSampleRate {
        /// The file it came from or applies to.
        path: PathBuf,
        /// The value.
        value: f64,
        /// Why.
        reason: &'static str,
    },
    /// A centre frequency that is not finite or above [`MAX_FREQUENCY_HZ`] in magnitude.
    #[error("{}: centre frequency {value} Hz is not usable: it must be finite and within ±1e12 Hz", path.display())]
    BadFrequency {
        /// The file it came from or applies to.
        path: PathBuf,
        /// The value.
        value: f64,
    },
    /// A data file with no whole sample.
    #[error("{}: {}", path.display(), empty_message(*bytes, *format))]
    EmptyData {
        /// The data file.
        path: PathBuf,
        /// Its size.
        bytes: u64,
        /// Its sample format.
        format: SampleFormat,
    },
    /// A raw file whose format or sample rate is neither given nor in its name.
    #[error("{}: cannot read as raw IQ: {what}", path.display())]
    RawSpecIncomplete {
        /// The raw file (or [`STDIN_NAME`]).
        path: PathBuf,
        /// What is missing and how to give it.
        what: String,
    },
    /// A format was given for a SigMF recording whose `core:datatype` says another.
    #[error("{}: format {given} was given but the SigMF metadata says core:datatype {datatype}", path.display())]
    FormatConflict {
        /// The metadata file.
        path: PathBuf,
        /// The format given.
        given: SampleFormat,
        /// The format in the metadata.
        datatype: SampleFormat,
    },
    /// An HDF5 recording that cannot be read (not our layout, a missing attribute, a
    /// truncated file), or HDF5 input in a build without the `hdf5` feature.
    #[error("{}: {what}", path.display())]
    Hdf5 {
        /// The HDF5 file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
}

fn empty_message(bytes: u64, format: SampleFormat) -> String {
    if bytes == 0 {
        "data file is empty".to_string()
    } else {
        format!(
            "data file holds no whole {format} sample ({bytes} byte(s); a sample is {} bytes)",
            format.bytes_per_sample()
        )
    }
}

impl IqError {
    /// The file the error is about (the data file for [`IqError::MissingData`]).
    pub fn path(&self) -> &Path {
        match self {
            IqError::Open { path, .. }
            | IqError::Read { path, .. }
            | IqError::Create { path, .. }
            | IqError::Write { path, .. }
            | IqError::MetaRead { path, .. }
            | IqError::MetaJson { path, .. }
            | IqError::MetaWrite { path, .. }
            | IqError::MetaSerialize { path, .. }
            | IqError::UnsupportedDatatype { path, .. }
            | IqError::UnsupportedMeta { path, .. }
            | IqError::MissingSampleRate { path }
            | IqError::BadSampleRate { path, .. }
            | IqError::BadFrequency { path, .. }
            | IqError::EmptyData { path, .. }
            | IqError::RawSpecIncomplete { path, .. }
            | IqError::FormatConflict { path, .. }
            | IqError::Hdf5 { path, .. } => path,
            IqError::MissingData { data_path, .. } => data_path,
            IqError::MissingMeta { meta_path, .. } => meta_path,
        }
    }
}

/// Checks a sample rate: finite, > 0 and at most [`MAX_SAMPLE_RATE_HZ`]. `path` is the file
/// named in the error.
pub fn validate_sample_rate(path: &Path, sample_rate_hz: f64) -> Result<f64, IqError> {
    let reason = if sample_rate_hz.is_nan() {
        "it is not a number"
    } else if sample_rate_hz.is_infinite() {
        "it is infinite"
    } else if sample_rate_hz <= 0.0 {
        "it must be greater than zero"
    } else if sample_rate_hz > MAX_SAMPLE_RATE_HZ {
        "it is above 1 GS/s (is the unit right?)"
    } else {
        return Ok(sample_rate_hz);
    };
    Err(IqError::BadSampleRate {
        path: path.to_path_buf(),
        value: sample_rate_hz,
        reason,
    })
}

/// Checks a centre frequency: finite and at most [`MAX_FREQUENCY_HZ`] in magnitude.
pub fn validate_frequency(path: &Path, frequency_hz: f64) -> Result<f64, IqError> {
    if frequency_hz.is_finite() && frequency_hz.abs() <= MAX_FREQUENCY_HZ {
        Ok(frequency_hz)
    } else {
        Err(IqError::BadFrequency {
            path: path.to_path_buf(),
            value: frequency_hz,
        })
    }
}

/// True for the path `-`, which means standard input.
pub fn is_stdin_path(path: &Path) -> bool {
    path.as_os_str() == "-"
}
