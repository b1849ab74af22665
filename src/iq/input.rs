//! One entry point for an input path: a SigMF recording (meta, data or base path), a raw
//! file, `-` for standard input (raw), or an HDF5 recording (`.h5`/`.hdf5`, feature
//! `hdf5`).

use super::sigmf::is_sigmf_path;
use super::{
    is_stdin_path, validate_frequency, IqError, IqReader, IqWarning, RawSpec, SampleFormat,
    SigmfRecording,
};
use chrono::{DateTime, Utc};
use std::path::{Path, PathBuf};

/// An input opened far enough to know how to read it.
#[derive(Debug, Clone, PartialEq)]
pub struct IqInput {
    /// The sample data file, or `-` for standard input.
    pub data_path: PathBuf,
    /// The sample format.
    pub format: SampleFormat,
    /// Sample rate, Hz.
    pub sample_rate_hz: f64,
    /// Centre frequency, Hz, when known.
    pub frequency_hz: Option<f64>,
    /// UTC time of sample 0, when known.
    pub start_time: Option<DateTime<Utc>>,
    /// The SigMF recording, when the input is one.
    pub sigmf: Option<SigmfRecording>,
    /// The HDF5 recording, when the input is one.
    #[cfg(feature = "hdf5")]
    pub hdf5: Option<super::hdf5_input::Hdf5Recording>,
    /// Things to tell the user that did not stop opening (e.g. an unparsable
    /// `core:datetime`). The reader has its own ([`IqReader::warnings`]).
    pub warnings: Vec<IqWarning>,
}

impl IqInput {
    /// Opens `path`. A `.sigmf-meta`/`.sigmf-data` path (or a base path whose
    /// `.sigmf-meta` exists) is SigMF: the metadata gives the format (a `format` argument
    /// must agree with it) and the arguments `sample_rate_hz`/`frequency_hz`, when given,
    /// replace the metadata's values. Anything else is raw: see
    /// [`RawSpec::from_path_and_args`].
    pub fn open(
        path: &Path,
        format: Option<SampleFormat>,
        sample_rate_hz: Option<f64>,
        frequency_hz: Option<f64>,
    ) -> Result<Self, IqError> {
        if !is_stdin_path(path) && is_hdf5_path(path) {
            return Self::open_hdf5(path, format, sample_rate_hz, frequency_hz);
        }
        let sigmf_base_exists =
            !is_stdin_path(path) && !path.is_file() && super::sigmf::sigmf_paths(path).0.is_file();
        if !is_stdin_path(path) && (is_sigmf_path(path) || sigmf_base_exists) {
            let rec = SigmfRecording::open(path, sample_rate_hz)?;
            if let Some(given) = format.filter(|&f| f != rec.format) {
                return Err(IqError::FormatConflict {
                    path: rec.meta_path.clone(),
                    given,
                    datatype: rec.format,
                });
            }
            let frequency_hz = match frequency_hz {
                Some(f) => Some(validate_frequency(&rec.meta_path, f)?),
                None => rec.frequency_hz(),
            };
            return Ok(IqInput {
                data_path: rec.data_path.clone(),
                format: rec.format,
                sample_rate_hz: rec.sample_rate_hz,
                frequency_hz,
                start_time: rec.start_time(),
                warnings: rec.open_warnings(),
                sigmf: Some(rec),
                #[cfg(feature = "hdf5")]
                hdf5: None,
            });
        }
        let raw = RawSpec::from_path_and_args(path, format, sample_rate_hz, frequency_hz)?;
        Ok(IqInput {
            data_path: raw.path,
            format: raw.format,
            sample_rate_hz: raw.sample_rate_hz,
            frequency_hz: raw.frequency_hz,
            start_time: None,
            sigmf: None,
            #[cfg(feature = "hdf5")]
            hdf5: None,
            warnings: Vec::new(),
        })
    }

    #[cfg(feature = "hdf5")]
    fn open_hdf5(
        path: &Path,
        format: Option<SampleFormat>,
        sample_rate_hz: Option<f64>,
        frequency_hz: Option<f64>,
    ) -> Result<Self, IqError> {
        let rec = super::hdf5_input::Hdf5Recording::open(path, sample_rate_hz)?;
        if let Some(given) = format.filter(|&f| f != rec.format) {
            return Err(IqError::Hdf5 {
                path: path.to_path_buf(),
                what: format!(
                    "format {given} was given but /iq holds {}",
                    rec.format.sigmf_datatype()
                ),
            });
        }
        let frequency_hz = match frequency_hz {
            Some(f) => Some(validate_frequency(path, f)?),
            None => rec.center_hz,
        };
        Ok(IqInput {
            data_path: rec.path.clone(),
            format: rec.format,
            sample_rate_hz: rec.sample_rate_hz,
            frequency_hz,
            start_time: rec.start_time,
            sigmf: None,
            hdf5: Some(rec),
            warnings: Vec::new(),
        })
    }

    #[cfg(not(feature = "hdf5"))]
    fn open_hdf5(
        path: &Path,
        _format: Option<SampleFormat>,
        _sample_rate_hz: Option<f64>,
        _frequency_hz: Option<f64>,
    ) -> Result<Self, IqError> {
        Err(IqError::Hdf5 {
            path: path.to_path_buf(),
            what: "reading HDF5 recordings needs a build with `--features hdf5`".into(),
        })
    }

    /// A reader of the samples. A regular file with no whole sample is
    /// [`IqError::EmptyData`].
    ///
    /// # Panics
    /// If `block_len` is 0.
    pub fn reader(&self, block_len: usize) -> Result<IqReader, IqError> {
        #[cfg(feature = "hdf5")]
        if let Some(rec) = &self.hdf5 {
            return rec.reader(block_len);
        }
        match &self.sigmf {
            Some(rec) => rec.reader(block_len),
            None => RawSpec {
                path: self.data_path.clone(),
                format: self.format,
                sample_rate_hz: self.sample_rate_hz,
                frequency_hz: self.frequency_hz,
            }
            .reader(block_len),
        }
    }
}

/// True for a path named `.h5` or `.hdf5` (any case): an HDF5 recording.
pub fn is_hdf5_path(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("h5") || e.eq_ignore_ascii_case("hdf5"))
}
