//! A streaming reader of native IQ bytes: fixed-length blocks of `Complex<f32>`, each
//! stamped with the index of its first sample, from a file, standard input or any `Read`.
//!
//! Memory is one byte buffer of `block_len` samples, whatever the stream length. Every block
//! but the last holds exactly `block_len` samples (the reader waits for a slow pipe to fill
//! it), so block boundaries depend only on `block_len`, never on how the bytes arrived.

use super::{
    is_stdin_path, IqBlock, IqError, IqWarning, NonFiniteSamples, SampleFormat, TrailingBytes,
    STDIN_NAME,
};
use num_complex::Complex;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Reads blocks of samples from a byte stream in a native format.
///
/// Use [`IqReader::read_block`] to refill a block you own (no allocation once it has
/// grown), or iterate to get new blocks. After the end of the stream (or an error), reading
/// gives nothing more. [`IqReader::warnings`] lists what the caller should report: a
/// trailing partial sample (known once the end is reached) and non-finite `cf32` samples.
pub struct IqReader {
    inner: Box<dyn Read + Send>,
    path: PathBuf,
    format: SampleFormat,
    block_len: usize,
    bytes: Vec<u8>,
    /// Bytes still to read when the data ends before the end of the stream (SigMF
    /// `core:trailing_bytes`), else `None`.
    remaining: Option<u64>,
    bytes_read: u64,
    samples_read: u64,
    done: bool,
    trailing: Option<TrailingBytes>,
    non_finite_count: u64,
    first_non_finite: Option<u64>,
    /// (sample index in the data, stream index) of each segment's first sample, ascending;
    /// empty when the data is one gap-free segment from 0 (see [`IqReader::with_segments`]).
    segments: Vec<(u64, u64)>,
}

impl std::fmt::Debug for IqReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IqReader")
            .field("path", &self.path)
            .field("format", &self.format)
            .field("block_len", &self.block_len)
            .field("bytes_read", &self.bytes_read)
            .field("samples_read", &self.samples_read)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl IqReader {
    /// Reads from any byte source; `name` is the file named in errors and warnings.
    ///
    /// # Panics
    /// If `block_len` is 0.
    pub fn from_read<R: Read + Send + 'static>(
        reader: R,
        name: impl Into<PathBuf>,
        format: SampleFormat,
        block_len: usize,
    ) -> Self {
        assert!(block_len > 0, "IqReader: block_len must be at least 1");
        IqReader {
            inner: Box::new(reader),
            path: name.into(),
            format,
            block_len,
            bytes: vec![0u8; block_len * format.bytes_per_sample()],
            remaining: None,
            bytes_read: 0,
            samples_read: 0,
            done: false,
            trailing: None,
            non_finite_count: 0,
            first_non_finite: None,
            segments: Vec::new(),
        }
    }

    /// Opens a file, or standard input for the path `-`. No check of the content: an empty
    /// regular file simply gives no block (see [`crate::iq::RawSpec`] and
    /// [`crate::iq::SigmfRecording`], which refuse one).
    ///
    /// # Panics
    /// If `block_len` is 0.
    pub fn open(path: &Path, format: SampleFormat, block_len: usize) -> Result<Self, IqError> {
        if is_stdin_path(path) {
            return Ok(Self::from_read(io::stdin(), STDIN_NAME, format, block_len));
        }
        let file = File::open(path).map_err(|source| IqError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Self::from_read(file, path, format, block_len))
    }

    /// Stops after `data_bytes` bytes (the sample data of a SigMF dataset followed by
    /// declared `core:trailing_bytes`); declared trailing bytes are not reported.
    pub fn with_data_len(mut self, data_bytes: u64) -> Self {
        self.remaining = Some(data_bytes);
        self
    }

    /// Declares where the stream had gaps: `segments` lists (sample index in the data,
    /// stream index) of the first sample of each gap-free segment, ascending (an HDF5
    /// recording's `/captures`). Blocks then never span two segments (a block may be
    /// shorter than `block_len` at a segment end) and are stamped with stream indices.
    pub fn with_segments(mut self, segments: Vec<(u64, u64)>) -> Self {
        self.segments = segments;
        self
    }

    /// The stream index of data sample `i`.
    fn stream_index(&self, i: u64) -> u64 {
        match self.segments.iter().rev().find(|s| s.0 <= i) {
            Some(&(f, g)) => g + (i - f),
            None => i,
        }
    }

    /// The sample format.
    pub fn format(&self) -> SampleFormat {
        self.format
    }

    /// The file name used in messages ([`STDIN_NAME`] for standard input).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Samples per block (the last block may hold fewer).
    pub fn block_len(&self) -> usize {
        self.block_len
    }

    /// Samples delivered so far (= the `first_sample` of the next block when there are no
    /// [segments](IqReader::with_segments)).
    pub fn samples_read(&self) -> u64 {
        self.samples_read
    }

    /// Bytes consumed so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// True once the end of the stream (or an error) was reached.
    pub fn is_finished(&self) -> bool {
        self.done
    }

    /// The trailing partial sample, once the end of the stream was reached.
    pub fn trailing_bytes(&self) -> Option<&TrailingBytes> {
        self.trailing.as_ref()
    }

    /// Non-finite `cf32` samples replaced by 0 so far.
    pub fn non_finite(&self) -> Option<NonFiniteSamples> {
        self.first_non_finite.map(|first| NonFiniteSamples {
            path: self.path.clone(),
            count: self.non_finite_count,
            first_sample: first,
        })
    }

    /// Everything to report so far (call after the last block for the full list).
    pub fn warnings(&self) -> Vec<IqWarning> {
        let mut w = Vec::new();
        if let Some(t) = &self.trailing {
            w.push(IqWarning::TrailingBytes(t.clone()));
        }
        if let Some(n) = self.non_finite() {
            w.push(IqWarning::NonFinite(n));
        }
        w
    }

    /// Refills `block` with the next samples (up to `block_len`) and stamps it. Returns
    /// `Ok(false)`, with `block` emptied, at the end of the stream. The block's allocation is
    /// reused.
    pub fn read_block(&mut self, block: &mut IqBlock) -> Result<bool, IqError> {
        block.samples.clear();
        block.first_sample = self.stream_index(self.samples_read);
        if self.done {
            return Ok(false);
        }
        let bps = self.format.bytes_per_sample();
        let mut want = self.bytes.len();
        // A block ends where the next segment starts.
        if let Some(&(next, _)) = self.segments.iter().find(|s| s.0 > self.samples_read) {
            let left = usize::try_from(next - self.samples_read).unwrap_or(usize::MAX);
            want = want.min(left.saturating_mul(bps));
        }
        if let Some(rem) = self.remaining {
            want = want.min(usize::try_from(rem).unwrap_or(usize::MAX));
        }
        let mut filled = 0usize;
        let mut eof = false;
        while filled < want {
            match self.inner.read(&mut self.bytes[filled..want]) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    self.done = true;
                    return Err(IqError::Read {
                        path: self.path.clone(),
                        offset: self.bytes_read + filled as u64,
                        source,
                    });
                }
            }
        }
        if let Some(rem) = self.remaining.as_mut() {
            *rem -= filled as u64;
            if *rem == 0 {
                eof = true;
            }
        }
        let whole = filled / bps;
        let partial = filled % bps;
        if whole > 0 {
            block.samples.resize(whole, Complex::new(0.0, 0.0));
            let stats = self
                .format
                .decode(&self.bytes[..whole * bps], &mut block.samples);
            if let Some(i) = stats.first_non_finite {
                self.non_finite_count += stats.non_finite as u64;
                if self.first_non_finite.is_none() {
                    self.first_non_finite = Some(self.stream_index(self.samples_read + i as u64));
                }
            }
        }
        if partial > 0 {
            // Only possible at the end: a full buffer is a whole number of samples, and a
            // SigMF data length is cut to whole samples by the caller.
            self.trailing = Some(TrailingBytes {
                path: self.path.clone(),
                offset: self.bytes_read + (whole * bps) as u64,
                count: partial,
                format: self.format,
            });
        }
        self.bytes_read += filled as u64;
        self.samples_read += whole as u64;
        if eof {
            self.done = true;
        }
        Ok(whole > 0)
    }
}

impl Iterator for IqReader {
    type Item = Result<IqBlock, IqError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut block = IqBlock::with_capacity(self.block_len);
        match self.read_block(&mut block) {
            Ok(true) => Some(Ok(block)),
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

impl std::iter::FusedIterator for IqReader {}
