//! Native sample formats and the conversion kernels between their bytes and `Complex<f32>`.
//!
//! Full scale is the same for every format: a conversion maps the format's integer range
//! onto about [-1, 1), so a power in dBFS means the same thing whatever the input format.
//!
//! | format    | bytes/sample | writers                       | to `Complex<f32>`      |
//! |-----------|--------------|-------------------------------|------------------------|
//! | `ci8`     | 2            | `hackrf_transfer` (.cs8, .iq) | `x / 128`              |
//! | `cu8`     | 2            | `rtl_sdr` (.cu8)              | `(x - 127.5) / 128`    |
//! | `ci16_le` | 4            | .cs16                         | `x / 32768`            |
//! | `cf32_le` | 8            | GNU Radio (.cf32, .cfile)     | as is                  |
//!
//! Every integer conversion is exact in `f32` (the divisors are powers of two), so
//! encode(decode(bytes)) gives the bytes back. The kernels are plain loops over fixed-size
//! chunks that the compiler vectorises; they are the hot path of file input.

use num_complex::Complex;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// A native complex sample format (interleaved I/Q, little-endian where multi-byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SampleFormat {
    /// Signed 8-bit I and Q (HackRF native, SigMF `ci8`).
    #[serde(rename = "ci8", alias = "cs8")]
    Ci8,
    /// Unsigned 8-bit I and Q, offset binary (RTL-SDR native, SigMF `cu8`).
    #[serde(rename = "cu8")]
    Cu8,
    /// Signed 16-bit little-endian I and Q (SigMF `ci16_le`).
    #[serde(rename = "ci16_le", alias = "ci16", alias = "cs16")]
    Ci16Le,
    /// 32-bit little-endian IEEE float I and Q (GNU Radio `gr_complex`, SigMF `cf32_le`).
    #[serde(rename = "cf32_le", alias = "cf32", alias = "cfile")]
    Cf32Le,
}

/// The SigMF `core:datatype` values this crate reads and writes, in [`SampleFormat::ALL`] order.
pub const SUPPORTED_SIGMF_DATATYPES: &str = "ci8, cu8, ci16_le, cf32_le";

/// The short format names accepted on the command line, in [`SampleFormat::ALL`] order.
pub const SUPPORTED_FORMAT_NAMES: &str =
    "ci8 (cs8), cu8, ci16 (ci16_le, cs16), cf32 (cf32_le, cfile)";

/// The raw-file extensions that imply a format.
pub const SUPPORTED_EXTENSIONS: &str =
    ".cs8, .iq (ci8), .cu8, .cs16 (ci16_le), .cf32, .cfile (cf32_le)";

/// `ci8` scale: one LSB is 1/128 of full scale.
pub const CI8_SCALE: f32 = 1.0 / 128.0;
/// `cu8` offset: the code that sits at zero (between codes 127 and 128).
pub const CU8_OFFSET: f32 = 127.5;
/// `cu8` scale: one LSB is 1/128 of full scale.
pub const CU8_SCALE: f32 = 1.0 / 128.0;
/// `ci16_le` scale: one LSB is 1/32768 of full scale.
pub const CI16_SCALE: f32 = 1.0 / 32768.0;

/// A format name that is not one of the supported ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown sample format \"{name}\"; supported: {SUPPORTED_FORMAT_NAMES}")]
pub struct UnknownFormat {
    /// The name given.
    pub name: String,
}

/// What [`SampleFormat::decode`] found in a block: non-finite `cf32` samples it replaced by 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DecodeStats {
    /// Samples with a NaN or infinite component, replaced by 0 (always 0 for integer formats).
    pub non_finite: usize,
    /// Index in the block of the first such sample.
    pub first_non_finite: Option<usize>,
}

impl SampleFormat {
    /// Every supported format.
    pub const ALL: [SampleFormat; 4] = [
        SampleFormat::Ci8,
        SampleFormat::Cu8,
        SampleFormat::Ci16Le,
        SampleFormat::Cf32Le,
    ];

    /// Bytes per complex sample (I and Q together).
    pub const fn bytes_per_sample(self) -> usize {
        match self {
            SampleFormat::Ci8 | SampleFormat::Cu8 => 2,
            SampleFormat::Ci16Le => 4,
            SampleFormat::Cf32Le => 8,
        }
    }

    /// The SigMF `core:datatype` spelling.
    pub const fn sigmf_datatype(self) -> &'static str {
        match self {
            SampleFormat::Ci8 => "ci8",
            SampleFormat::Cu8 => "cu8",
            SampleFormat::Ci16Le => "ci16_le",
            SampleFormat::Cf32Le => "cf32_le",
        }
    }

    /// The short command-line name (`ci8`, `cu8`, `ci16`, `cf32`).
    pub const fn cli_name(self) -> &'static str {
        match self {
            SampleFormat::Ci8 => "ci8",
            SampleFormat::Cu8 => "cu8",
            SampleFormat::Ci16Le => "ci16",
            SampleFormat::Cf32Le => "cf32",
        }
    }

    /// One least significant bit in full-scale units (0 for `cf32_le`, which is not quantised
    /// here).
    pub const fn lsb(self) -> f32 {
        match self {
            SampleFormat::Ci8 => CI8_SCALE,
            SampleFormat::Cu8 => CU8_SCALE,
            SampleFormat::Ci16Le => CI16_SCALE,
            SampleFormat::Cf32Le => 0.0,
        }
    }

    /// Parses a SigMF `core:datatype`: `ci8`, `cu8`, `ci16_le`, `cf32_le`. Also accepted:
    /// the 8-bit types with an (irrelevant) endianness suffix (`ci8_le`, `cu8_be`...) and
    /// `ci16`/`cf32` without one (read as little-endian). Case-insensitive.
    pub fn from_sigmf_datatype(datatype: &str) -> Option<Self> {
        match datatype.trim().to_ascii_lowercase().as_str() {
            "ci8" | "ci8_le" | "ci8_be" => Some(SampleFormat::Ci8),
            "cu8" | "cu8_le" | "cu8_be" => Some(SampleFormat::Cu8),
            "ci16_le" | "ci16" => Some(SampleFormat::Ci16Le),
            "cf32_le" | "cf32" => Some(SampleFormat::Cf32Le),
            _ => None,
        }
    }

    /// The format a raw file extension implies (without the dot, case-insensitive): `cs8`
    /// and `iq` (hackrf_transfer) are `ci8`, `cu8` is `cu8`, `cs16` is `ci16_le`, `cf32` and
    /// `cfile` are `cf32_le`.
    pub fn from_extension(ext: &str) -> Option<Self> {
        match ext.to_ascii_lowercase().as_str() {
            "cs8" | "ci8" | "iq" => Some(SampleFormat::Ci8),
            "cu8" => Some(SampleFormat::Cu8),
            "cs16" | "ci16" => Some(SampleFormat::Ci16Le),
            "cf32" | "cfile" => Some(SampleFormat::Cf32Le),
            _ => None,
        }
    }

    /// The format implied by a path's extension, see [`SampleFormat::from_extension`].
    pub fn from_path_extension(path: &Path) -> Option<Self> {
        path.extension()
            .and_then(|e| e.to_str())
            .and_then(Self::from_extension)
    }

    /// Converts native bytes to complex samples at full scale 1.0 (see the module table).
    /// A `cf32_le` sample with a NaN or infinite component becomes 0 and is counted.
    ///
    /// # Panics
    /// If `bytes.len() != out.len() * self.bytes_per_sample()`.
    pub fn decode(self, bytes: &[u8], out: &mut [Complex<f32>]) -> DecodeStats {
        assert_eq!(
            bytes.len(),
            out.len() * self.bytes_per_sample(),
            "decode: byte count does not match the sample count"
        );
        match self {
            SampleFormat::Ci8 => {
                decode_chunks::<2>(bytes, out, |b| {
                    Complex::new(
                        f32::from(b[0] as i8) * CI8_SCALE,
                        f32::from(b[1] as i8) * CI8_SCALE,
                    )
                });
                DecodeStats::default()
            }
            SampleFormat::Cu8 => {
                decode_chunks::<2>(bytes, out, |b| {
                    Complex::new(
                        (f32::from(b[0]) - CU8_OFFSET) * CU8_SCALE,
                        (f32::from(b[1]) - CU8_OFFSET) * CU8_SCALE,
                    )
                });
                DecodeStats::default()
            }
            SampleFormat::Ci16Le => {
                decode_chunks::<4>(bytes, out, |b| {
                    Complex::new(
                        f32::from(i16::from_le_bytes([b[0], b[1]])) * CI16_SCALE,
                        f32::from(i16::from_le_bytes([b[2], b[3]])) * CI16_SCALE,
                    )
                });
                DecodeStats::default()
            }
            SampleFormat::Cf32Le => {
                decode_chunks::<8>(bytes, out, |b| {
                    let re = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                    let im = f32::from_le_bytes([b[4], b[5], b[6], b[7]]);
                    if re.is_finite() & im.is_finite() {
                        Complex::new(re, im)
                    } else {
                        Complex::new(f32::NAN, 0.0)
                    }
                });
                // Second, cheap pass: count the marked samples and zero them.
                let mut stats = DecodeStats::default();
                for (i, o) in out.iter_mut().enumerate() {
                    if o.re.is_nan() {
                        *o = Complex::new(0.0, 0.0);
                        stats.non_finite += 1;
                        stats.first_non_finite.get_or_insert(i);
                    }
                }
                stats
            }
        }
    }

    /// Converts complex samples (full scale 1.0) to native bytes, rounding to the nearest
    /// code (ties to even) and clipping to the format's range. Returns how many
    /// samples were clipped (a component outside the range after rounding, or NaN, which is
    /// written as the code nearest 0: 0 for the signed formats, 128 for `cu8`). `cf32_le` is
    /// written as is (NaN included) and never clips.
    ///
    /// # Panics
    /// If `out.len() != samples.len() * self.bytes_per_sample()`.
    pub fn encode(self, samples: &[Complex<f32>], out: &mut [u8]) -> usize {
        assert_eq!(
            out.len(),
            samples.len() * self.bytes_per_sample(),
            "encode: byte count does not match the sample count"
        );
        match self {
            SampleFormat::Ci8 => {
                let mut clipped = 0usize;
                for (s, o) in samples.iter().zip(out.chunks_exact_mut(2)) {
                    let (re, cr) = quantise(s.re * 128.0, -128, 127);
                    let (im, ci) = quantise(s.im * 128.0, -128, 127);
                    o[0] = re as i8 as u8;
                    o[1] = im as i8 as u8;
                    clipped += usize::from(cr | ci);
                }
                clipped
            }
            SampleFormat::Cu8 => {
                let mut clipped = 0usize;
                for (s, o) in samples.iter().zip(out.chunks_exact_mut(2)) {
                    let (re, cr) = quantise(s.re * 128.0 + CU8_OFFSET, 0, 255);
                    let (im, ci) = quantise(s.im * 128.0 + CU8_OFFSET, 0, 255);
                    // NaN quantises to 0, which for cu8 must be the mid code, not code 0.
                    o[0] = if s.re.is_nan() { 128 } else { re as u8 };
                    o[1] = if s.im.is_nan() { 128 } else { im as u8 };
                    clipped += usize::from(cr | ci);
                }
                clipped
            }
            SampleFormat::Ci16Le => {
                let mut clipped = 0usize;
                for (s, o) in samples.iter().zip(out.chunks_exact_mut(4)) {
                    let (re, cr) = quantise(s.re * 32768.0, -32768, 32767);
                    let (im, ci) = quantise(s.im * 32768.0, -32768, 32767);
                    o[0..2].copy_from_slice(&(re as i16).to_le_bytes());
                    o[2..4].copy_from_slice(&(im as i16).to_le_bytes());
                    clipped += usize::from(cr | ci);
                }
                clipped
            }
            SampleFormat::Cf32Le => {
                for (s, o) in samples.iter().zip(out.chunks_exact_mut(8)) {
                    o[0..4].copy_from_slice(&s.re.to_le_bytes());
                    o[4..8].copy_from_slice(&s.im.to_le_bytes());
                }
                0
            }
        }
    }
}

/// Samples per unrolled step of the decode loops: a fixed-length inner loop is what lets
/// the compiler vectorise the byte-to-float conversion of interleaved pairs.
const LANES: usize = 8;

/// Applies `f` to each `B`-byte sample of `bytes`, writing `out`, in unrolled steps of
/// [`LANES`] samples. The lengths are checked by the caller.
#[inline(always)]
fn decode_chunks<const B: usize>(
    bytes: &[u8],
    out: &mut [Complex<f32>],
    f: impl Fn(&[u8]) -> Complex<f32>,
) {
    let mut oc = out.chunks_exact_mut(LANES);
    let mut bc = bytes.chunks_exact(LANES * B);
    for (o, b) in (&mut oc).zip(&mut bc) {
        for (k, ok) in o.iter_mut().enumerate() {
            *ok = f(&b[k * B..k * B + B]);
        }
    }
    for (o, b) in oc
        .into_remainder()
        .iter_mut()
        .zip(bc.remainder().chunks_exact(B))
    {
        *o = f(b);
    }
}

/// 1.5 * 2^23: for |c| < 2^22, `c + ROUND_MAGIC` is rounded to an integer (ties to even)
/// in one IEEE rounding, and that integer sits in the low mantissa bits. This vectorises
/// with plain SSE2 (no `round` instruction, no saturating float-to-int conversion).
const ROUND_MAGIC: f32 = 12_582_912.0;

/// Rounds `v` (in LSB units) to the nearest integer code (ties to even) and clips it to
/// `[lo, hi]`; returns the code and whether the rounded value was outside the range (NaN
/// counts as clipped and gives 0).
#[inline(always)]
fn quantise(v: f32, lo: i32, hi: i32) -> (i32, bool) {
    let nan = v.is_nan();
    let c = if nan { 0.0 } else { v };
    // Clamp to one code beyond the range (keeps |c| far below 2^22). Plain comparisons
    // rather than f32::max/min, whose NaN rules cost extra instructions.
    let (l, h) = (lo as f32 - 1.0, hi as f32 + 1.0);
    let c = if c < l { l } else { c };
    let c = if c > h { h } else { c };
    let q = (c + ROUND_MAGIC).to_bits() as i32 - ROUND_MAGIC.to_bits() as i32;
    (q.clamp(lo, hi), nan | (q < lo) | (q > hi))
}

impl fmt::Display for SampleFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.sigmf_datatype())
    }
}

impl FromStr for SampleFormat {
    type Err = UnknownFormat;

    /// Accepts the command-line names and the SigMF datatypes: `ci8`/`cs8`, `cu8`,
    /// `ci16`/`ci16_le`/`cs16`, `cf32`/`cf32_le`/`cfile` (case-insensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        match lower.as_str() {
            "ci8" | "cs8" => Ok(SampleFormat::Ci8),
            "cu8" => Ok(SampleFormat::Cu8),
            "ci16" | "ci16_le" | "cs16" => Ok(SampleFormat::Ci16Le),
            "cf32" | "cf32_le" | "cfile" => Ok(SampleFormat::Cf32Le),
            _ => Err(UnknownFormat {
                name: s.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantise_rounds_ties_to_even_and_flags_clipping() {
        assert_eq!(quantise(0.49, -128, 127), (0, false));
        assert_eq!(quantise(0.5, -128, 127), (0, false));
        assert_eq!(quantise(1.5, -128, 127), (2, false));
        assert_eq!(quantise(-0.5, -128, 127), (0, false));
        assert_eq!(quantise(-2.5, -128, 127), (-2, false));
        assert_eq!(quantise(0.499_999_97, -128, 127), (0, false));
        assert_eq!(quantise(-1e30, -128, 127), (-128, true));
        assert_eq!(quantise(127.49, -128, 127), (127, false));
        assert_eq!(quantise(127.5, -128, 127), (127, true));
        assert_eq!(quantise(-128.5, -128, 127), (-128, false));
        assert_eq!(quantise(-128.51, -128, 127), (-128, true));
        assert_eq!(quantise(255.5, 0, 255), (255, true));
        assert_eq!(quantise(-0.5, 0, 255), (0, false));
        assert_eq!(quantise(-0.51, 0, 255), (0, true));
        assert_eq!(quantise(f32::NAN, -128, 127), (0, true));
        assert_eq!(quantise(f32::INFINITY, -128, 127), (127, true));
    }
}
