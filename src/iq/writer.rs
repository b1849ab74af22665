//! A streaming SigMF writer: samples go to `BASE.sigmf-data` in chunks while SHA-512 is
//! computed on the fly; [`SigmfWriter::finish`] writes `BASE.sigmf-meta` atomically (a
//! temporary file renamed over the final name), with `core:sha512`, the captures and the
//! annotations sorted by `core:sample_start`.
//!
//! Files written pass the reference validator of the `sigmf` Python package (tested in
//! `tests/iq_formats.rs`).

use super::sigmf::{append_ext, sigmf_base, DATA_EXT, META_EXT};
use super::{
    validate_frequency, validate_sample_rate, IqError, SampleFormat, SigmfAnnotation, SigmfCapture,
    SigmfGlobal, SigmfMeta,
};
use num_complex::Complex;
use sha2::{Digest, Sha512};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Samples converted per chunk (bounds the scratch buffer).
const CHUNK_SAMPLES: usize = 16384;
/// Write buffer size.
const WRITE_BUFFER_BYTES: usize = 1 << 20;

/// A `core:hw` value naming the device and its gains, e.g.
/// `hw_description("HackRF One", &[("LNA", 32.0), ("VGA", 20.0)])` is
/// `"HackRF One; gains: LNA=32 dB, VGA=20 dB"`.
pub fn hw_description(device: &str, gains_db: &[(&str, f64)]) -> String {
    if gains_db.is_empty() {
        return device.to_string();
    }
    let gains: Vec<String> = gains_db
        .iter()
        .map(|(name, db)| format!("{name}={db} dB"))
        .collect();
    format!("{device}; gains: {}", gains.join(", "))
}

/// What [`SigmfWriter::finish`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteSummary {
    /// The metadata file.
    pub meta_path: PathBuf,
    /// The dataset file.
    pub data_path: PathBuf,
    /// Samples written.
    pub samples: u64,
    /// Samples clipped on conversion to the native format.
    pub clipped_samples: u64,
    /// SHA-512 of the dataset file, hex (as in `core:sha512`).
    pub sha512: String,
}

/// Writes a SigMF recording sample by sample, in bounded memory.
///
/// Dropping the writer without [`SigmfWriter::finish`] leaves the dataset file and no
/// metadata (or the last [`SigmfWriter::checkpoint_meta`]).
#[derive(Debug)]
pub struct SigmfWriter {
    meta_path: PathBuf,
    data_path: PathBuf,
    format: SampleFormat,
    out: BufWriter<File>,
    hasher: Sha512,
    meta: SigmfMeta,
    scratch: Vec<u8>,
    bytes_written: u64,
    clipped: u64,
}

impl SigmfWriter {
    /// Creates `BASE.sigmf-data` (truncating it) for samples in `format` at
    /// `sample_rate_hz`. `base` may also be given with a `.sigmf-meta` or `.sigmf-data`
    /// extension. The metadata gets `core:recorder` "ciot-sweep VERSION" and the `ciot`
    /// extension declared; set the rest through [`SigmfWriter::global_mut`].
    pub fn create(base: &Path, format: SampleFormat, sample_rate_hz: f64) -> Result<Self, IqError> {
        let base = sigmf_base(base);
        let meta_path = append_ext(&base, META_EXT);
        let data_path = append_ext(&base, DATA_EXT);
        validate_sample_rate(&meta_path, sample_rate_hz)?;
        let file = File::create(&data_path).map_err(|source| IqError::Create {
            path: data_path.clone(),
            source,
        })?;
        let mut meta = SigmfMeta::new(format, sample_rate_hz);
        meta.global.recorder = Some(format!("ciot-sweep {}", env!("CARGO_PKG_VERSION")));
        Ok(SigmfWriter {
            meta_path,
            data_path,
            format,
            out: BufWriter::with_capacity(WRITE_BUFFER_BYTES, file),
            hasher: Sha512::new(),
            meta,
            scratch: Vec::new(),
            bytes_written: 0,
            clipped: 0,
        })
    }

    /// The global object, to set `core:hw` (see [`hw_description`]), `core:description`,
    /// `core:author` or extension keys. `core:datatype`, `core:sample_rate`,
    /// `core:version` and `core:sha512` are set by the writer on finish.
    pub fn global_mut(&mut self) -> &mut SigmfGlobal {
        &mut self.meta.global
    }

    /// Adds a capture segment. Without any, finish writes one at sample 0.
    pub fn add_capture(&mut self, capture: SigmfCapture) {
        self.meta.captures.push(capture);
    }

    /// Adds an annotation (written sorted by `core:sample_start`).
    pub fn add_annotation(&mut self, annotation: SigmfAnnotation) {
        self.meta.push_annotation(annotation);
    }

    /// The sample format.
    pub fn format(&self) -> SampleFormat {
        self.format
    }

    /// The metadata file that finish writes.
    pub fn meta_path(&self) -> &Path {
        &self.meta_path
    }

    /// The dataset file being written.
    pub fn data_path(&self) -> &Path {
        &self.data_path
    }

    /// Samples written so far (= the index of the next sample).
    pub fn samples_written(&self) -> u64 {
        self.bytes_written / self.format.bytes_per_sample() as u64
    }

    /// Samples clipped so far on conversion to the native format.
    pub fn clipped_samples(&self) -> u64 {
        self.clipped
    }

    fn write_bytes(&mut self, bytes_from_scratch: usize) -> Result<(), IqError> {
        let bytes = &self.scratch[..bytes_from_scratch];
        self.out.write_all(bytes).map_err(|source| IqError::Write {
            path: self.data_path.clone(),
            offset: self.bytes_written,
            source,
        })?;
        self.hasher.update(bytes);
        self.bytes_written += bytes.len() as u64;
        Ok(())
    }

    /// Converts samples (full scale 1.0) to the native format and appends them. Returns
    /// how many of them were clipped (also added to [`SigmfWriter::clipped_samples`]).
    pub fn write_samples(&mut self, samples: &[Complex<f32>]) -> Result<u64, IqError> {
        let bps = self.format.bytes_per_sample();
        let mut clipped = 0u64;
        for chunk in samples.chunks(CHUNK_SAMPLES) {
            let n = chunk.len() * bps;
            self.scratch.resize(n, 0);
            clipped += self.format.encode(chunk, &mut self.scratch[..n]) as u64;
            self.write_bytes(n)?;
        }
        self.clipped += clipped;
        Ok(clipped)
    }

    /// Appends bytes already in the native format (e.g. straight from the device).
    ///
    /// # Panics
    /// If `bytes` is not a whole number of samples.
    pub fn write_native(&mut self, bytes: &[u8]) -> Result<(), IqError> {
        assert_eq!(
            bytes.len() % self.format.bytes_per_sample(),
            0,
            "write_native: not a whole number of {} samples",
            self.format
        );
        self.out.write_all(bytes).map_err(|source| IqError::Write {
            path: self.data_path.clone(),
            offset: self.bytes_written,
            source,
        })?;
        self.hasher.update(bytes);
        self.bytes_written += bytes.len() as u64;
        Ok(())
    }

    /// The metadata to write, checked: frequencies must be finite (serde_json would write a
    /// non-finite number as `null`, which the schema rejects).
    fn prepared_meta(&self) -> Result<SigmfMeta, IqError> {
        for c in &self.meta.captures {
            if let Some(f) = c.frequency {
                validate_frequency(&self.meta_path, f)?;
            }
        }
        for a in self.meta.annotations_not_for_detection() {
            for f in [a.freq_lower_edge, a.freq_upper_edge].into_iter().flatten() {
                validate_frequency(&self.meta_path, f)?;
            }
        }
        let mut meta = self.meta.clone();
        meta.global.datatype = self.format.sigmf_datatype().to_string();
        meta.global.version = Some(super::sigmf::SIGMF_VERSION.to_string());
        meta.global.sha512 = None;
        meta.declare_ciot_extension();
        if meta.captures.is_empty() {
            meta.captures.push(SigmfCapture::new(0));
        }
        meta.sort_segments();
        Ok(meta)
    }

    fn flush_data(&mut self) -> Result<(), IqError> {
        self.out.flush().map_err(|source| IqError::Write {
            path: self.data_path.clone(),
            offset: self.bytes_written,
            source,
        })
    }

    /// Flushes the data and writes the metadata as it stands, without `core:sha512`, so a
    /// recording cut short (power loss, crash) stays readable. [`SigmfWriter::finish`]
    /// replaces it.
    pub fn checkpoint_meta(&mut self) -> Result<(), IqError> {
        self.flush_data()?;
        let meta = self.prepared_meta()?;
        write_meta_atomically(&self.meta_path, &meta)
    }

    /// Flushes and syncs the dataset, then writes the metadata with `core:sha512`
    /// atomically.
    pub fn finish(mut self) -> Result<WriteSummary, IqError> {
        self.flush_data()?;
        self.out
            .get_ref()
            .sync_all()
            .map_err(|source| IqError::Write {
                path: self.data_path.clone(),
                offset: self.bytes_written,
                source,
            })?;
        let sha512 = hex::encode(self.hasher.clone().finalize());
        let mut meta = self.prepared_meta()?;
        meta.global.sha512 = Some(sha512.clone());
        write_meta_atomically(&self.meta_path, &meta)?;
        Ok(WriteSummary {
            meta_path: self.meta_path.clone(),
            data_path: self.data_path.clone(),
            samples: self.samples_written(),
            clipped_samples: self.clipped,
            sha512,
        })
    }
}

/// Writes `meta` as pretty JSON to a temporary file next to `path`, syncs it and renames
/// it to `path`, so readers see the old file or the new one, never a partial one.
pub fn write_meta_atomically(path: &Path, meta: &SigmfMeta) -> Result<(), IqError> {
    let text = meta.to_json_pretty(path)?;
    let tmp = append_ext(path, &format!("tmp{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|source| {
        let _ = std::fs::remove_file(&tmp);
        IqError::MetaWrite {
            path: path.to_path_buf(),
            source,
        }
    })
}
