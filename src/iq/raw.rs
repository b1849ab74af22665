//! Raw IQ files (no metadata): the format and sample rate come from arguments, or from an
//! rtl_433-style file name such as `g001_433.92M_250k.cu8` or `x_832.5M_1.92M.cf32`.
//!
//! Name convention (the file stem is split at `_`; a token is a number with a unit):
//! - `Hz`, `kHz`, `MHz`, `GHz` mark a centre frequency; `sps`, `ksps`, `Msps`, `Gsps` a
//!   sample rate (case-insensitive units).
//! - A bare `k`, `M` or `G` suffix is positional: of the bare tokens, the last two are the
//!   centre frequency then the sample rate. A single bare token fills whichever of the two
//!   is not given explicitly; with neither given, it is a sample rate with `k` and a
//!   frequency with `M`/`G` (rtl_433's own reading of a lone token).
//! - The extension gives the format: `.cs8`/`.iq` ci8 (hackrf_transfer), `.cu8` (rtl_sdr),
//!   `.cs16` ci16_le, `.cf32`/`.cfile` cf32_le (GNU Radio).

use super::format::SUPPORTED_EXTENSIONS;
use super::{
    is_stdin_path, validate_frequency, validate_sample_rate, IqError, IqReader, SampleFormat,
    STDIN_NAME,
};
use std::path::{Path, PathBuf};

/// What an rtl_433-style file name says.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Rtl433Name {
    /// Format from the extension.
    pub format: Option<SampleFormat>,
    /// Centre frequency, Hz.
    pub frequency_hz: Option<f64>,
    /// Sample rate, Hz.
    pub sample_rate_hz: Option<f64>,
}

/// Parses a non-negative number with an optional SI suffix `k`, `M` or `G` (either case; `m`
/// means mega, as in rtl_433): `"1.92M"` is 1.92e6, `"250k"` is 250e3, `"2.4G"` is 2.4e9,
/// `"15360000"` and `"15.36e6"` are 15.36e6. Returns `None` for anything else.
pub fn parse_si_value(token: &str) -> Option<f64> {
    let t = token.trim();
    let (num, mult) = match t.char_indices().last()? {
        (i, 'k' | 'K') => (&t[..i], 1e3),
        (i, 'M' | 'm') => (&t[..i], 1e6),
        (i, 'G' | 'g') => (&t[..i], 1e9),
        _ => (t, 1.0),
    };
    if num.is_empty() || !num.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return None;
    }
    let v: f64 = num.parse().ok()?;
    v.is_finite().then_some(v * mult)
}

/// A token of the name: number and unit (letters after the number).
fn split_number_unit(token: &str) -> Option<(f64, &str)> {
    let end = token
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(token.len());
    let (num, unit) = token.split_at(end);
    if num.is_empty() || num.starts_with('.') || num.ends_with('.') {
        return None;
    }
    if !unit.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    num.parse::<f64>().ok().map(|v| (v, unit))
}

fn si_multiplier(prefix: &str) -> Option<f64> {
    match prefix {
        "" => Some(1.0),
        "k" | "K" => Some(1e3),
        "M" | "m" => Some(1e6),
        "G" | "g" => Some(1e9),
        _ => None,
    }
}

/// Reads the format, centre frequency and sample rate from an rtl_433-style file name (see
/// the module documentation). Whatever the name does not say is `None`.
pub fn parse_rtl433_name(path: &Path) -> Rtl433Name {
    let format = SampleFormat::from_path_extension(path);
    // The name without its extension; a numeric "extension" (`x_832.5M_1.92M` has none)
    // is part of the name.
    let numeric_ext = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.starts_with(|c: char| c.is_ascii_digit()));
    let stem = if numeric_ext {
        path.file_name()
    } else {
        path.file_stem()
    };
    let stem = stem.and_then(|s| s.to_str()).unwrap_or("");
    let mut explicit_freq = None;
    let mut explicit_rate = None;
    // Bare tokens: (value, suffix letter).
    let mut bare: Vec<(f64, char)> = Vec::new();
    for token in stem.split('_') {
        let Some((v, unit)) = split_number_unit(token) else {
            continue;
        };
        let lower = unit.to_ascii_lowercase();
        if let Some(prefix) = lower.strip_suffix("hz") {
            if let Some(m) = si_multiplier(&unit[..prefix.len()]) {
                explicit_freq = Some(v * m);
            }
        } else if let Some(prefix) = lower.strip_suffix("sps") {
            if let Some(m) = si_multiplier(&unit[..prefix.len()]) {
                explicit_rate = Some(v * m);
            }
        } else if unit.len() == 1 {
            let c = unit.chars().next().unwrap_or(' ');
            if let Some(m) = si_multiplier(unit) {
                bare.push((v * m, c.to_ascii_lowercase()));
            }
        }
    }
    let (mut frequency_hz, mut sample_rate_hz) = (explicit_freq, explicit_rate);
    match bare.as_slice() {
        [] => {}
        [(v, c)] => match (frequency_hz.is_some(), sample_rate_hz.is_some()) {
            (true, false) => sample_rate_hz = Some(*v),
            (false, true) => frequency_hz = Some(*v),
            (false, false) if *c == 'k' => sample_rate_hz = Some(*v),
            (false, false) => frequency_hz = Some(*v),
            (true, true) => {}
        },
        [.., (f, _), (r, _)] => {
            frequency_hz = frequency_hz.or(Some(*f));
            sample_rate_hz = sample_rate_hz.or(Some(*r));
        }
    }
    Rtl433Name {
        format,
        frequency_hz,
        sample_rate_hz,
    }
}

/// A raw IQ file (or standard input, path `-`) with everything needed to read it.
#[derive(Debug, Clone, PartialEq)]
pub struct RawSpec {
    /// The file, or `-` for standard input.
    pub path: PathBuf,
    /// Its sample format.
    pub format: SampleFormat,
    /// Its sample rate, Hz.
    pub sample_rate_hz: f64,
    /// Its centre frequency, Hz, when known.
    pub frequency_hz: Option<f64>,
}

impl RawSpec {
    /// Combines arguments with what the file name says (arguments win). Errors say what is
    /// missing and how to give it, or which value is unusable. Does not open the file.
    pub fn from_path_and_args(
        path: &Path,
        format: Option<SampleFormat>,
        sample_rate_hz: Option<f64>,
        frequency_hz: Option<f64>,
    ) -> Result<Self, IqError> {
        let name = if is_stdin_path(path) {
            Rtl433Name::default()
        } else {
            parse_rtl433_name(path)
        };
        let shown = if is_stdin_path(path) {
            PathBuf::from(STDIN_NAME)
        } else {
            path.to_path_buf()
        };
        let format = format.or(name.format);
        let sample_rate_hz = sample_rate_hz.or(name.sample_rate_hz);
        let mut missing = Vec::new();
        if format.is_none() {
            missing.push(format!(
                "the sample format is unknown (give it, or use an extension: {SUPPORTED_EXTENSIONS})"
            ));
        }
        if sample_rate_hz.is_none() {
            missing.push(
                "the sample rate is unknown (give it, or put it in the name rtl_433-style, \
                 e.g. capture_832.5M_1.92M.cf32 for 832.5 MHz at 1.92 MS/s)"
                    .to_string(),
            );
        }
        let (Some(format), Some(sample_rate_hz)) = (format, sample_rate_hz) else {
            return Err(IqError::RawSpecIncomplete {
                path: shown,
                what: missing.join("; "),
            });
        };
        let sample_rate_hz = validate_sample_rate(&shown, sample_rate_hz)?;
        let frequency_hz = match frequency_hz.or(name.frequency_hz) {
            Some(f) => Some(validate_frequency(&shown, f)?),
            None => None,
        };
        Ok(RawSpec {
            path: path.to_path_buf(),
            format,
            sample_rate_hz,
            frequency_hz,
        })
    }

    /// Opens the file (or standard input). A regular file with no whole sample is
    /// [`IqError::EmptyData`].
    ///
    /// # Panics
    /// If `block_len` is 0.
    pub fn reader(&self, block_len: usize) -> Result<IqReader, IqError> {
        if !is_stdin_path(&self.path) {
            let meta = std::fs::metadata(&self.path).map_err(|source| IqError::Open {
                path: self.path.clone(),
                source,
            })?;
            if meta.is_file() && meta.len() < self.format.bytes_per_sample() as u64 {
                return Err(IqError::EmptyData {
                    path: self.path.clone(),
                    bytes: meta.len(),
                    format: self.format,
                });
            }
        }
        IqReader::open(&self.path, self.format, block_len)
    }
}
