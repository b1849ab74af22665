//! SigMF metadata (`.sigmf-meta`), with our own serde structs, and opening a SigMF
//! recording for reading.
//!
//! Known keys get typed fields; every other key (another namespace's, or a core key we do
//! not model) is kept in the `extra` map of its object, so reading then writing metadata
//! loses nothing. The project's own keys live under the `ciot:` namespace, declared in
//! `core:extensions` as SigMF requires.
//!
//! Annotations are parsed and kept, and reachable only through
//! [`SigmfMeta::annotations_not_for_detection`]: detection never reads them
//! (INTERFACES.md 2), so a labelled recording cannot help a detector find what it labels.

use super::{validate_frequency, validate_sample_rate, IqError, IqReader, IqWarning, SampleFormat};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha512};
use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// The SigMF specification version written in `core:version`.
pub const SIGMF_VERSION: &str = "1.2.0";
/// The project's SigMF extension namespace (keys `ciot:...`).
pub const CIOT_NAMESPACE: &str = "ciot";
/// The version of the `ciot` extension written in `core:extensions`.
pub const CIOT_EXTENSION_VERSION: &str = "0.1.0";
/// Metadata file extension, without the dot.
pub const META_EXT: &str = "sigmf-meta";
/// Dataset file extension, without the dot.
pub const DATA_EXT: &str = "sigmf-data";

/// A whole SigMF metadata file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SigmfMeta {
    /// The global object.
    pub global: SigmfGlobal,
    /// Capture segments, in file order.
    #[serde(default)]
    pub captures: Vec<SigmfCapture>,
    /// Annotations: never used for detection, see
    /// [`SigmfMeta::annotations_not_for_detection`].
    #[serde(default)]
    annotations: Vec<SigmfAnnotation>,
    /// Top-level keys other than `global`, `captures` and `annotations`.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The SigMF global object.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SigmfGlobal {
    /// `core:datatype`, as found (see [`SigmfMeta::format`] for the parsed value).
    #[serde(rename = "core:datatype")]
    pub datatype: String,
    /// `core:sample_rate`, Hz.
    #[serde(
        rename = "core:sample_rate",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub sample_rate: Option<f64>,
    /// `core:version`, the SigMF specification version.
    #[serde(
        rename = "core:version",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub version: Option<String>,
    /// `core:sha512` of the whole dataset file, hex.
    #[serde(
        rename = "core:sha512",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub sha512: Option<String>,
    /// `core:hw`: the device and its gains.
    #[serde(rename = "core:hw", default, skip_serializing_if = "Option::is_none")]
    pub hw: Option<String>,
    /// `core:description`.
    #[serde(
        rename = "core:description",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub description: Option<String>,
    /// `core:recorder`: the software that wrote the recording.
    #[serde(
        rename = "core:recorder",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub recorder: Option<String>,
    /// `core:author`.
    #[serde(
        rename = "core:author",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub author: Option<String>,
    /// `core:extensions`: the namespaces used besides `core`.
    #[serde(
        rename = "core:extensions",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub extensions: Vec<SigmfExtension>,
    /// `core:num_channels` (only 1 is read).
    #[serde(
        rename = "core:num_channels",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub num_channels: Option<u64>,
    /// `core:offset`: the index of the first sample in the original stream.
    #[serde(
        rename = "core:offset",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub offset: Option<u64>,
    /// `core:trailing_bytes`: bytes at the end of the dataset that are not samples.
    #[serde(
        rename = "core:trailing_bytes",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub trailing_bytes: Option<u64>,
    /// `core:dataset`: the dataset's file name when it is not `BASE.sigmf-data`.
    #[serde(
        rename = "core:dataset",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub dataset: Option<String>,
    /// `core:metadata_only`: no dataset exists.
    #[serde(
        rename = "core:metadata_only",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub metadata_only: Option<bool>,
    /// Every other key of the global object.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An entry of `core:extensions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigmfExtension {
    /// The namespace.
    pub name: String,
    /// The extension's version.
    pub version: String,
    /// Whether a reader may ignore it.
    pub optional: bool,
}

/// A SigMF capture segment.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SigmfCapture {
    /// `core:sample_start`: the first sample of the segment.
    #[serde(rename = "core:sample_start", default)]
    pub sample_start: u64,
    /// `core:frequency`: centre frequency, Hz.
    #[serde(
        rename = "core:frequency",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub frequency: Option<f64>,
    /// `core:datetime`: UTC time of the first sample, RFC 3339 (ISO 8601), as found.
    #[serde(
        rename = "core:datetime",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub datetime: Option<String>,
    /// `core:global_index`.
    #[serde(
        rename = "core:global_index",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub global_index: Option<u64>,
    /// `core:header_bytes` (non-conforming datasets; only 0 is read).
    #[serde(
        rename = "core:header_bytes",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub header_bytes: Option<u64>,
    /// Every other key.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A SigMF annotation, with the project's `ciot:` keys. Never used for detection.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SigmfAnnotation {
    /// `core:sample_start`.
    #[serde(rename = "core:sample_start", default)]
    pub sample_start: u64,
    /// `core:sample_count`.
    #[serde(
        rename = "core:sample_count",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub sample_count: Option<u64>,
    /// `core:freq_lower_edge`, Hz (absolute).
    #[serde(
        rename = "core:freq_lower_edge",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub freq_lower_edge: Option<f64>,
    /// `core:freq_upper_edge`, Hz (absolute).
    #[serde(
        rename = "core:freq_upper_edge",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub freq_upper_edge: Option<f64>,
    /// `core:label`.
    #[serde(
        rename = "core:label",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub label: Option<String>,
    /// `core:comment`.
    #[serde(
        rename = "core:comment",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub comment: Option<String>,
    /// `ciot:kind`: the detection-record `kind` (`nprach`, `prach`...).
    #[serde(rename = "ciot:kind", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// `ciot:tech`: the detection-record `tech` (`nb-iot`, `lte-m`...).
    #[serde(rename = "ciot:tech", default, skip_serializing_if = "Option::is_none")]
    pub tech: Option<String>,
    /// `ciot:params`: generator or detector parameters (an object).
    #[serde(
        rename = "ciot:params",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub params: Option<Value>,
    /// Every other key.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl SigmfCapture {
    /// A capture segment starting at `sample_start`, nothing else set.
    pub fn new(sample_start: u64) -> Self {
        SigmfCapture {
            sample_start,
            ..Default::default()
        }
    }

    /// Sets `core:frequency`.
    pub fn with_frequency(mut self, frequency_hz: f64) -> Self {
        self.frequency = Some(frequency_hz);
        self
    }

    /// Sets `core:datetime` (RFC 3339, UTC, microseconds, `Z`).
    pub fn with_datetime(mut self, time: DateTime<Utc>) -> Self {
        self.datetime = Some(time.to_rfc3339_opts(SecondsFormat::Micros, true));
        self
    }

    /// `core:datetime` as a UTC time; `None` when absent or not RFC 3339.
    pub fn datetime_utc(&self) -> Option<DateTime<Utc>> {
        self.datetime
            .as_deref()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc))
    }
}

impl SigmfAnnotation {
    /// An annotation of `sample_count` samples from `sample_start`, nothing else set.
    pub fn new(sample_start: u64, sample_count: u64) -> Self {
        SigmfAnnotation {
            sample_start,
            sample_count: Some(sample_count),
            ..Default::default()
        }
    }
}

impl SigmfMeta {
    /// Metadata for a new recording: datatype, sample rate, `core:version`
    /// [`SIGMF_VERSION`], the `ciot` extension declared, no capture, no annotation.
    pub fn new(format: SampleFormat, sample_rate_hz: f64) -> Self {
        let mut meta = SigmfMeta {
            global: SigmfGlobal {
                datatype: format.sigmf_datatype().to_string(),
                sample_rate: Some(sample_rate_hz),
                version: Some(SIGMF_VERSION.to_string()),
                ..Default::default()
            },
            captures: Vec::new(),
            annotations: Vec::new(),
            extra: Map::new(),
        };
        meta.declare_ciot_extension();
        meta
    }

    /// Parses metadata text; `path` is the file named in errors. Invalid JSON, or JSON
    /// without the SigMF shape (e.g. no `core:datatype`), is [`IqError::MetaJson`] with the
    /// line and column.
    pub fn from_json_str(text: &str, path: &Path) -> Result<Self, IqError> {
        serde_json::from_str(text).map_err(|source| IqError::MetaJson {
            path: path.to_path_buf(),
            line: source.line(),
            column: source.column(),
            source,
        })
    }

    /// Reads and parses a `.sigmf-meta` file.
    pub fn read(path: &Path) -> Result<Self, IqError> {
        let text = std::fs::read_to_string(path).map_err(|source| IqError::MetaRead {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json_str(&text, path)
    }

    /// Pretty JSON text (`path` is named if serialisation fails, which only a non-finite
    /// number can cause).
    pub fn to_json_pretty(&self, path: &Path) -> Result<String, IqError> {
        let mut s =
            serde_json::to_string_pretty(self).map_err(|source| IqError::MetaSerialize {
                path: path.to_path_buf(),
                source,
            })?;
        s.push('\n');
        Ok(s)
    }

    /// The sample format of `core:datatype`, or [`IqError::UnsupportedDatatype`] listing
    /// the supported ones (`path` is the metadata file named in the error).
    pub fn format(&self, path: &Path) -> Result<SampleFormat, IqError> {
        SampleFormat::from_sigmf_datatype(&self.global.datatype).ok_or_else(|| {
            IqError::UnsupportedDatatype {
                path: path.to_path_buf(),
                datatype: self.global.datatype.clone(),
            }
        })
    }

    /// The annotations, for display, comparison with detections in tests, or copying to
    /// another file. Detection never reads them (INTERFACES.md 2): do not feed them to a
    /// detector.
    pub fn annotations_not_for_detection(&self) -> &[SigmfAnnotation] {
        &self.annotations
    }

    /// Adds an annotation (kept sorted by `core:sample_start` when written).
    pub fn push_annotation(&mut self, annotation: SigmfAnnotation) {
        self.annotations.push(annotation);
    }

    /// Sorts captures and annotations by `core:sample_start` (stable), as SigMF requires.
    pub fn sort_segments(&mut self) {
        self.captures.sort_by_key(|c| c.sample_start);
        self.annotations.sort_by_key(|a| a.sample_start);
    }

    /// The capture segment with the lowest `core:sample_start`.
    pub fn first_capture(&self) -> Option<&SigmfCapture> {
        self.captures.iter().min_by_key(|c| c.sample_start)
    }

    /// Declares the `ciot` namespace in `core:extensions` (once).
    pub fn declare_ciot_extension(&mut self) {
        if !self
            .global
            .extensions
            .iter()
            .any(|e| e.name == CIOT_NAMESPACE)
        {
            self.global.extensions.push(SigmfExtension {
                name: CIOT_NAMESPACE.to_string(),
                version: CIOT_EXTENSION_VERSION.to_string(),
                optional: true,
            });
        }
    }
}

/// `path` with `.ext` appended to its file name (`a/x_1.92M` -> `a/x_1.92M.sigmf-meta`).
pub(crate) fn append_ext(path: &Path, ext: &str) -> PathBuf {
    let mut s = OsString::from(path.as_os_str());
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

/// The extension of `path`, lower-cased, if it is a SigMF one.
fn sigmf_ext(path: &Path) -> Option<&'static str> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        META_EXT => Some(META_EXT),
        DATA_EXT => Some(DATA_EXT),
        _ => None,
    }
}

/// True when `path` ends in `.sigmf-meta` or `.sigmf-data`.
pub fn is_sigmf_path(path: &Path) -> bool {
    sigmf_ext(path).is_some()
}

/// The recording's base path: `path` without a `.sigmf-meta`/`.sigmf-data` extension
/// (unchanged if it has neither).
pub fn sigmf_base(path: &Path) -> PathBuf {
    if is_sigmf_path(path) {
        path.with_extension("")
    } else {
        path.to_path_buf()
    }
}

/// `(BASE.sigmf-meta, BASE.sigmf-data)` for a meta, data or base path.
pub fn sigmf_paths(path: &Path) -> (PathBuf, PathBuf) {
    let base = sigmf_base(path);
    (append_ext(&base, META_EXT), append_ext(&base, DATA_EXT))
}

/// The outcome of [`SigmfRecording::verify_sha512`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sha512Check {
    /// The metadata has no `core:sha512`.
    Absent,
    /// The data file matches.
    Match,
    /// The data file does not match.
    Mismatch {
        /// `core:sha512` from the metadata.
        expected: String,
        /// The hash of the data file.
        actual: String,
    },
}

/// A SigMF recording opened for reading: metadata checked, data file found and sized.
#[derive(Debug, Clone, PartialEq)]
pub struct SigmfRecording {
    /// The metadata file.
    pub meta_path: PathBuf,
    /// The dataset file.
    pub data_path: PathBuf,
    /// The metadata.
    pub meta: SigmfMeta,
    /// The sample format.
    pub format: SampleFormat,
    /// The sample rate, Hz (from the metadata, or the one given when opening).
    pub sample_rate_hz: f64,
    /// Size of the dataset file, bytes.
    pub file_len_bytes: u64,
    /// Bytes of sample data: the file size less `core:trailing_bytes`. May end with a
    /// partial sample, which the reader reports.
    pub data_len_bytes: u64,
}

impl SigmfRecording {
    /// Opens a recording from its `.sigmf-meta` path, its `.sigmf-data` path or its base
    /// path. `sample_rate_hz`, when given, replaces `core:sample_rate` (needed when the
    /// metadata has none).
    ///
    /// Errors: missing metadata or data file (named), invalid JSON (line and column),
    /// unsupported `core:datatype` (the supported ones listed), missing or unusable sample
    /// rate, unusable capture frequency, more than one channel, capture header bytes,
    /// metadata-only recordings, a dataset with no whole sample.
    pub fn open(path: &Path, sample_rate_hz: Option<f64>) -> Result<Self, IqError> {
        let (meta_path, default_data) = sigmf_paths(path);
        if sigmf_ext(path) == Some(DATA_EXT) && !meta_path.exists() {
            return Err(IqError::MissingMeta {
                meta_path,
                data_path: path.to_path_buf(),
            });
        }
        let meta = SigmfMeta::read(&meta_path)?;
        let format = meta.format(&meta_path)?;
        let g = &meta.global;
        if let Some(n) = g.num_channels.filter(|&n| n != 1) {
            return Err(IqError::UnsupportedMeta {
                path: meta_path,
                what: format!("core:num_channels = {n} (only single-channel recordings are read)"),
            });
        }
        if g.metadata_only == Some(true) {
            return Err(IqError::UnsupportedMeta {
                path: meta_path,
                what: "core:metadata_only = true (a recording without samples)".to_string(),
            });
        }
        for c in &meta.captures {
            if let Some(h) = c.header_bytes.filter(|&h| h != 0) {
                return Err(IqError::UnsupportedMeta {
                    path: meta_path,
                    what: format!(
                        "core:header_bytes = {h} in the capture at sample {} \
                         (non-conforming dataset)",
                        c.sample_start
                    ),
                });
            }
            if let Some(f) = c.frequency {
                validate_frequency(&meta_path, f)?;
            }
        }
        let sample_rate_hz = match sample_rate_hz.or(g.sample_rate) {
            Some(r) => validate_sample_rate(&meta_path, r)?,
            None => return Err(IqError::MissingSampleRate { path: meta_path }),
        };
        let data_path = match &g.dataset {
            Some(name) => meta_path
                .parent()
                .map(|d| d.join(name))
                .unwrap_or_else(|| PathBuf::from(name)),
            None => default_data,
        };
        let file_len_bytes = match std::fs::metadata(&data_path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(IqError::MissingData {
                    data_path,
                    meta_path,
                })
            }
            Err(source) => {
                return Err(IqError::Open {
                    path: data_path,
                    source,
                })
            }
        };
        let data_len_bytes = file_len_bytes.saturating_sub(g.trailing_bytes.unwrap_or(0));
        if data_len_bytes < format.bytes_per_sample() as u64 {
            return Err(IqError::EmptyData {
                path: data_path,
                bytes: file_len_bytes,
                format,
            });
        }
        Ok(SigmfRecording {
            meta_path,
            data_path,
            meta,
            format,
            sample_rate_hz,
            file_len_bytes,
            data_len_bytes,
        })
    }

    /// Whole samples in the dataset.
    pub fn num_samples(&self) -> u64 {
        self.data_len_bytes / self.format.bytes_per_sample() as u64
    }

    /// Bytes of a trailing partial sample (0 when the data is whole samples).
    pub fn partial_sample_bytes(&self) -> u64 {
        self.data_len_bytes % self.format.bytes_per_sample() as u64
    }

    /// Centre frequency of the first capture segment, Hz.
    pub fn frequency_hz(&self) -> Option<f64> {
        self.meta.first_capture().and_then(|c| c.frequency)
    }

    /// UTC time of the first sample, from the first capture's `core:datetime`.
    pub fn start_time(&self) -> Option<DateTime<Utc>> {
        self.meta.first_capture().and_then(|c| c.datetime_utc())
    }

    /// Warnings known from the metadata alone: an unparsable `core:datetime`.
    pub fn open_warnings(&self) -> Vec<IqWarning> {
        self.meta
            .captures
            .iter()
            .filter_map(|c| {
                let s = c.datetime.as_ref()?;
                c.datetime_utc()
                    .is_none()
                    .then(|| IqWarning::UnparsedDatetime {
                        path: self.meta_path.clone(),
                        value: s.clone(),
                    })
            })
            .collect()
    }

    /// A reader of the sample data (stops before declared `core:trailing_bytes`; a partial
    /// last sample is reported by the reader).
    ///
    /// # Panics
    /// If `block_len` is 0.
    pub fn reader(&self, block_len: usize) -> Result<IqReader, IqError> {
        Ok(IqReader::open(&self.data_path, self.format, block_len)?
            .with_data_len(self.data_len_bytes))
    }

    /// Hashes the whole dataset file and compares it with `core:sha512`.
    pub fn verify_sha512(&self) -> Result<Sha512Check, IqError> {
        let Some(expected) = self.meta.global.sha512.clone() else {
            return Ok(Sha512Check::Absent);
        };
        let mut file = File::open(&self.data_path).map_err(|source| IqError::Open {
            path: self.data_path.clone(),
            source,
        })?;
        let mut hasher = Sha512::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut offset = 0u64;
        loop {
            let n = match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(IqError::Read {
                        path: self.data_path.clone(),
                        offset,
                        source,
                    })
                }
            };
            hasher.update(&buf[..n]);
            offset += n as u64;
        }
        let actual = hex::encode(hasher.finalize());
        Ok(if actual.eq_ignore_ascii_case(&expected) {
            Sha512Check::Match
        } else {
            Sha512Check::Mismatch { expected, actual }
        })
    }
}
