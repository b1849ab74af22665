//! E-UTRA operating bands, channel numbers (EARFCN), region presets and tuning plans.
//!
//! Where the uplink is, and how a capture device with a limited sample rate covers it.
//!
//! - **Bands**: TS 36.101 Table 5.5-1 (E-UTRA operating bands: uplink and downlink ranges,
//!   duplex mode) and Table 5.7.3-1 (E-UTRA channel numbers: `F_UL_low`, `N_Offs-UL`, the
//!   range of `N_UL`, and the downlink equivalents). Only FDD bands are in the table: every
//!   band that NB-IoT or LTE-M commonly uses is FDD.
//! - **EARFCN** (TS 36.101 clause 5.7.3): `F_UL = F_UL_low + 0.1 (N_UL - N_Offs-UL)` and
//!   `F_DL = F_DL_low + 0.1 (N_DL - N_Offs-DL)`, in MHz: a 100 kHz channel raster.
//! - **NB-IoT raster** (TS 36.101 clause 5.7.3F, "Carrier frequency and EARFCN for category
//!   NB1 and NB2"; the conformance text TS 36.521-1 clause 5.4.4F repeats it): the NB-IoT
//!   uplink carrier is `F_UL = F_UL_low + 0.1 (N_UL - N_Offs-UL) + 0.0025 (2 M_UL)` MHz with
//!   the offset `M_UL` in `-10..=9`, i.e. 5 kHz steps from -50 to +45 kHz about the 100 kHz
//!   raster. (The `+1` inside the bracket, `0.0025 (2 M_DL + 1)`, belongs to the downlink
//!   formula only.)
//! - **Region presets** ([`region`]): the bands where NB-IoT and LTE-M typically run in the
//!   UK, the EU and the US (see [`REGIONS`] for the choice and its sources).
//! - **Tuning plans** ([`plan_tunings`]): centre frequencies and LTE-family sample rates
//!   (`m x 1.92 MS/s`, no resampling needed) that cover a whole uplink band with overlap.
//!
//! All frequencies are in Hz (`f64`). The table's values are whole Hz, well inside the range
//! where `f64` is exact, so the channel arithmetic here is exact.

use serde::Serialize;
use thiserror::Error;

/// Duplex mode of a band (TS 36.101 Table 5.5-1, last column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Duplex {
    /// Frequency-division duplex: separate uplink and downlink ranges.
    Fdd,
    /// Time-division duplex: one range for both directions.
    Tdd,
}

impl Duplex {
    /// "FDD" or "TDD".
    pub fn name(self) -> &'static str {
        match self {
            Duplex::Fdd => "FDD",
            Duplex::Tdd => "TDD",
        }
    }
}

/// One E-UTRA operating band: TS 36.101 Table 5.5-1 (ranges, duplex) joined with Table
/// 5.7.3-1 (channel numbers).
///
/// The uplink range is `[ul_low_hz, ul_high_hz]`; channel centres on the 100 kHz raster run
/// from `ul_low_hz` (at `n_offs_ul`) to `ul_high_hz - 100 kHz` (at `n_ul_max`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Band {
    /// Band number (the "B20" of the tables).
    pub id: u16,
    /// Common name of the band, for people (e.g. "800 DD").
    pub name: &'static str,
    /// Duplex mode.
    pub duplex: Duplex,
    /// `F_UL_low`: the lowest uplink frequency, Hz.
    pub ul_low_hz: f64,
    /// `F_UL_high`: the highest uplink frequency, Hz.
    pub ul_high_hz: f64,
    /// `F_DL_low`: the lowest downlink frequency, Hz.
    pub dl_low_hz: f64,
    /// `F_DL_high`: the highest downlink frequency, Hz.
    pub dl_high_hz: f64,
    /// `N_Offs-UL`, which is also the lowest uplink EARFCN of the band.
    pub n_offs_ul: u32,
    /// The highest uplink EARFCN of the band.
    pub n_ul_max: u32,
    /// `N_Offs-DL`, which is also the lowest downlink EARFCN of the band.
    pub n_offs_dl: u32,
    /// The highest downlink EARFCN of the band.
    pub n_dl_max: u32,
}

/// The channel raster of TS 36.101 clause 5.7.3: 100 kHz.
pub const RASTER_HZ: f64 = 100e3;

/// The step of the NB-IoT uplink offset `M_UL` (TS 36.101 clause 5.7.3F): `0.0025 x 2` MHz.
pub const NBIOT_UL_OFFSET_STEP_HZ: f64 = 5e3;

/// The allowed NB-IoT uplink offsets `M_UL` (TS 36.101 clause 5.7.3F).
pub const NBIOT_M_UL: std::ops::RangeInclusive<i8> = -10..=9;

/// Errors of band look-ups and channel-number conversions.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum BandError {
    /// The text does not name a band of the table.
    #[error("'{input}' is not a band in the table (known: {})", known_band_list())]
    UnknownBand {
        /// What was given.
        input: String,
    },
    /// The region name is not one of the presets.
    #[error("'{input}' is not a region preset (known: {})", REGION_NAMES.join(", "))]
    UnknownRegion {
        /// What was given.
        input: String,
    },
    /// An uplink EARFCN outside the band's range.
    #[error("uplink EARFCN {earfcn} is not in band B{band} (N_UL {min}..={max})")]
    UlEarfcnOutOfRange {
        /// Band number.
        band: u16,
        /// The EARFCN given.
        earfcn: u32,
        /// Lowest uplink EARFCN of the band.
        min: u32,
        /// Highest uplink EARFCN of the band.
        max: u32,
    },
    /// A downlink EARFCN outside the band's range.
    #[error("downlink EARFCN {earfcn} is not in band B{band} (N_DL {min}..={max})")]
    DlEarfcnOutOfRange {
        /// Band number.
        band: u16,
        /// The EARFCN given.
        earfcn: u32,
        /// Lowest downlink EARFCN of the band.
        min: u32,
        /// Highest downlink EARFCN of the band.
        max: u32,
    },
    /// A frequency outside the band's uplink range.
    #[error(
        "{:.4} MHz is not in the uplink of band B{band} ({:.1}-{:.1} MHz)",
        .freq_hz / 1e6, .low_hz / 1e6, .high_hz / 1e6
    )]
    UlFrequencyOutOfBand {
        /// Band number.
        band: u16,
        /// The frequency given, Hz.
        freq_hz: f64,
        /// `F_UL_low`, Hz.
        low_hz: f64,
        /// `F_UL_high`, Hz.
        high_hz: f64,
    },
    /// A frequency outside the band's downlink range.
    #[error(
        "{:.4} MHz is not in the downlink of band B{band} ({:.1}-{:.1} MHz)",
        .freq_hz / 1e6, .low_hz / 1e6, .high_hz / 1e6
    )]
    DlFrequencyOutOfBand {
        /// Band number.
        band: u16,
        /// The frequency given, Hz.
        freq_hz: f64,
        /// `F_DL_low`, Hz.
        low_hz: f64,
        /// `F_DL_high`, Hz.
        high_hz: f64,
    },
    /// An NB-IoT uplink offset `M_UL` outside `-10..=9`.
    #[error("NB-IoT uplink offset M_UL = {m_ul} is not in -10..=9 (TS 36.101 clause 5.7.3F)")]
    NbIotOffsetOutOfRange {
        /// The offset given.
        m_ul: i32,
    },
}

/// Builds one FDD table row from MHz values as printed in TS 36.101 (so each row can be read
/// against the tables), converting to Hz.
const fn fdd(
    id: u16,
    name: &'static str,
    ul_mhz: (f64, f64),
    dl_mhz: (f64, f64),
    n_ul: (u32, u32),
    n_dl: (u32, u32),
) -> Band {
    Band {
        id,
        name,
        duplex: Duplex::Fdd,
        ul_low_hz: ul_mhz.0 * 1e6,
        ul_high_hz: ul_mhz.1 * 1e6,
        dl_low_hz: dl_mhz.0 * 1e6,
        dl_high_hz: dl_mhz.1 * 1e6,
        n_offs_ul: n_ul.0,
        n_ul_max: n_ul.1,
        n_offs_dl: n_dl.0,
        n_dl_max: n_dl.1,
    }
}

/// The band table: TS 36.101 Table 5.5-1 (uplink and downlink ranges, duplex) and Table
/// 5.7.3-1 (`N_Offs` and the EARFCN ranges), FDD bands, ascending band number.
///
/// Each row is `(UL low, UL high) MHz, (DL low, DL high) MHz, (N_Offs-UL, max N_UL),
/// (N_Offs-DL, max N_DL)`. Every row was read against the 36.101 / 36.521-1 tables (the
/// conformance spec repeats them as its Tables 5.2-1 and 5.4.4-1) and cross-checked with the
/// 36.521-1 test-frequency tables (Table 4.3.1.1.x-1: an `N_UL` and its frequency per band)
/// and srsRAN's band table. Notes: B13, B14, B20 and B71 have the downlink below the uplink;
/// the B66 downlink is 90 MHz against a 70 MHz uplink (its top 20 MHz are downlink-only in
/// carrier aggregation).
#[rustfmt::skip]
pub static BANDS: [Band; 25] = [
    fdd(1, "2100", (1920.0, 1980.0), (2110.0, 2170.0), (18000, 18599), (0, 599)),
    fdd(2, "1900 PCS", (1850.0, 1910.0), (1930.0, 1990.0), (18600, 19199), (600, 1199)),
    fdd(3, "1800+", (1710.0, 1785.0), (1805.0, 1880.0), (19200, 19949), (1200, 1949)),
    fdd(4, "AWS-1", (1710.0, 1755.0), (2110.0, 2155.0), (19950, 20399), (1950, 2399)),
    fdd(5, "850", (824.0, 849.0), (869.0, 894.0), (20400, 20649), (2400, 2649)),
    fdd(7, "2600", (2500.0, 2570.0), (2620.0, 2690.0), (20750, 21449), (2750, 3449)),
    fdd(8, "900", (880.0, 915.0), (925.0, 960.0), (21450, 21799), (3450, 3799)),
    fdd(12, "700 a", (699.0, 716.0), (729.0, 746.0), (23010, 23179), (5010, 5179)),
    fdd(13, "700 c", (777.0, 787.0), (746.0, 756.0), (23180, 23279), (5180, 5279)),
    fdd(14, "700 PS", (788.0, 798.0), (758.0, 768.0), (23280, 23379), (5280, 5379)),
    fdd(17, "700 b", (704.0, 716.0), (734.0, 746.0), (23730, 23849), (5730, 5849)),
    fdd(18, "800 Lower", (815.0, 830.0), (860.0, 875.0), (23850, 23999), (5850, 5999)),
    fdd(19, "800 Upper", (830.0, 845.0), (875.0, 890.0), (24000, 24149), (6000, 6149)),
    fdd(20, "800 DD", (832.0, 862.0), (791.0, 821.0), (24150, 24449), (6150, 6449)),
    fdd(25, "1900+", (1850.0, 1915.0), (1930.0, 1995.0), (26040, 26689), (8040, 8689)),
    fdd(26, "850+", (814.0, 849.0), (859.0, 894.0), (26690, 27039), (8690, 9039)),
    fdd(28, "700 APT", (703.0, 748.0), (758.0, 803.0), (27210, 27659), (9210, 9659)),
    fdd(31, "450", (452.5, 457.5), (462.5, 467.5), (27760, 27809), (9870, 9919)),
    fdd(66, "AWS-3", (1710.0, 1780.0), (2110.0, 2200.0), (131972, 132671), (66436, 67335)),
    fdd(71, "600", (663.0, 698.0), (617.0, 652.0), (133122, 133471), (68586, 68935)),
    fdd(72, "450 PMR/PAMR", (451.0, 456.0), (461.0, 466.0), (133472, 133521), (68936, 68985)),
    fdd(73, "450 APAC", (450.0, 455.0), (460.0, 465.0), (133522, 133571), (68986, 69035)),
    fdd(85, "700 a+", (698.0, 716.0), (728.0, 746.0), (134002, 134181), (70366, 70545)),
    fdd(87, "410", (410.0, 415.0), (420.0, 425.0), (134182, 134231), (70546, 70595)),
    fdd(88, "410+", (412.0, 417.0), (422.0, 427.0), (134232, 134281), (70596, 70645)),
];

/// Names of the region presets, in the order [`REGIONS`] lists them.
pub const REGION_NAMES: [&str; 3] = ["uk", "eu", "us"];

/// Region presets: the uplink bands where NB-IoT and LTE-M modules typically transmit, most
/// likely first (a sweep visits them in this order). "Typical", not a regulator's list:
/// operators refarm spectrum, so check local deployments before relying on a preset.
///
/// - `uk`: B20 (800 MHz: all four networks hold it; Vodafone's NB-IoT and the LTE-M
///   networks use it), B8 (900 MHz: Vodafone and O2), B3 (1800 MHz: EE's main LTE band).
///   Sources: UK spectrum holdings per operator (Ofcom awards, as summarised on public UK
///   spectrum pages) and the project's docs/SIGNALS.md. B1 and B28 carry LTE in the UK but
///   rarely IoT; add them with `--band` when needed.
/// - `eu`: B20, B8, B3 as in the UK (the sub-GHz bands carry most European NB-IoT, e.g. the
///   Deutsche Telekom and Vodafone networks), plus B28 (700 MHz, auctioned across the EU
///   since 2018 and used for LTE-M by some operators).
/// - `us`: B12 and B13 (700 MHz: AT&T and Verizon LTE-M), B71 (600 MHz: T-Mobile NB-IoT and
///   LTE-M), B5/B26 (850 MHz), B2/B25 (1900 MHz PCS), B4/B66 (AWS 1700 MHz), the bands US
///   LTE-M/NB-IoT modules are certified for. B2, B4 and B5 lie inside B25, B66 and B26;
///   [`plan_region`] plans each piece of spectrum once.
pub const REGIONS: [(&str, &[u16]); 3] = [
    ("uk", &[20, 8, 3]),
    ("eu", &[20, 8, 3, 28]),
    ("us", &[12, 13, 71, 5, 26, 2, 25, 4, 66]),
];

/// The band with this number, if it is in the table.
pub fn band(id: u16) -> Option<&'static Band> {
    BANDS.iter().find(|b| b.id == id)
}

/// Parses a band name: `B20`, `b20`, `20`, or `band 20` (surrounding spaces ignored).
pub fn parse_band(s: &str) -> Result<&'static Band, BandError> {
    let unknown = || BandError::UnknownBand {
        input: s.to_string(),
    };
    let t = s.trim().to_ascii_lowercase();
    let digits = t
        .strip_prefix("band")
        .or_else(|| t.strip_prefix('b'))
        .unwrap_or(&t)
        .trim();
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return Err(unknown());
    }
    let id: u16 = digits.parse().map_err(|_| unknown())?;
    band(id).ok_or_else(unknown)
}

/// The bands of a region preset (`uk`, `eu`, `us`, any case), in sweep order.
pub fn region(name: &str) -> Result<Vec<&'static Band>, BandError> {
    let key = name.trim().to_ascii_lowercase();
    let (_, ids) =
        REGIONS
            .iter()
            .find(|(n, _)| *n == key)
            .ok_or_else(|| BandError::UnknownRegion {
                input: name.to_string(),
            })?;
    // Every preset id is in the table (a unit test checks it), so nothing is dropped here.
    Ok(ids.iter().filter_map(|&id| band(id)).collect())
}

/// The names of the region presets that include band `id`.
pub fn regions_of(id: u16) -> Vec<&'static str> {
    REGIONS
        .iter()
        .filter(|(_, ids)| ids.contains(&id))
        .map(|(n, _)| *n)
        .collect()
}

fn known_band_list() -> String {
    let ids: Vec<String> = BANDS.iter().map(|b| format!("B{}", b.id)).collect();
    ids.join(", ")
}

impl Band {
    /// The band's name as the tables write it: `B20`.
    pub fn label(&self) -> String {
        format!("B{}", self.id)
    }

    /// Uplink width, Hz.
    pub fn ul_width_hz(&self) -> f64 {
        self.ul_high_hz - self.ul_low_hz
    }

    /// Whether `freq_hz` lies in the uplink range `[F_UL_low, F_UL_high]`.
    pub fn ul_contains(&self, freq_hz: f64) -> bool {
        freq_hz >= self.ul_low_hz && freq_hz <= self.ul_high_hz
    }

    /// Uplink carrier frequency of EARFCN `n_ul`, Hz (TS 36.101 clause 5.7.3:
    /// `F_UL = F_UL_low + 0.1 (N_UL - N_Offs-UL)` MHz).
    pub fn ul_freq_hz(&self, n_ul: u32) -> Result<f64, BandError> {
        if !(self.n_offs_ul..=self.n_ul_max).contains(&n_ul) {
            return Err(BandError::UlEarfcnOutOfRange {
                band: self.id,
                earfcn: n_ul,
                min: self.n_offs_ul,
                max: self.n_ul_max,
            });
        }
        Ok(self.ul_low_hz + RASTER_HZ * f64::from(n_ul - self.n_offs_ul))
    }

    /// Downlink carrier frequency of EARFCN `n_dl`, Hz (TS 36.101 clause 5.7.3:
    /// `F_DL = F_DL_low + 0.1 (N_DL - N_Offs-DL)` MHz).
    pub fn dl_freq_hz(&self, n_dl: u32) -> Result<f64, BandError> {
        if !(self.n_offs_dl..=self.n_dl_max).contains(&n_dl) {
            return Err(BandError::DlEarfcnOutOfRange {
                band: self.id,
                earfcn: n_dl,
                min: self.n_offs_dl,
                max: self.n_dl_max,
            });
        }
        Ok(self.dl_low_hz + RASTER_HZ * f64::from(n_dl - self.n_offs_dl))
    }

    /// The uplink EARFCN whose raster point is nearest to `freq_hz` (a measured frequency
    /// need not sit on the raster). Frequencies in the top 100 kHz of the band map to the
    /// highest EARFCN. Errors if `freq_hz` is outside `[F_UL_low, F_UL_high]`.
    pub fn ul_earfcn(&self, freq_hz: f64) -> Result<u32, BandError> {
        if !self.ul_contains(freq_hz) {
            return Err(BandError::UlFrequencyOutOfBand {
                band: self.id,
                freq_hz,
                low_hz: self.ul_low_hz,
                high_hz: self.ul_high_hz,
            });
        }
        Ok(nearest_channel(
            freq_hz - self.ul_low_hz,
            self.n_offs_ul,
            self.n_ul_max,
        ))
    }

    /// The downlink EARFCN whose raster point is nearest to `freq_hz` (as [`Band::ul_earfcn`]).
    pub fn dl_earfcn(&self, freq_hz: f64) -> Result<u32, BandError> {
        if !(freq_hz >= self.dl_low_hz && freq_hz <= self.dl_high_hz) {
            return Err(BandError::DlFrequencyOutOfBand {
                band: self.id,
                freq_hz,
                low_hz: self.dl_low_hz,
                high_hz: self.dl_high_hz,
            });
        }
        Ok(nearest_channel(
            freq_hz - self.dl_low_hz,
            self.n_offs_dl,
            self.n_dl_max,
        ))
    }

    /// NB-IoT uplink carrier frequency, Hz, for EARFCN `n_ul` and offset `m_ul` (TS 36.101
    /// clause 5.7.3F): `F_UL = F_UL_low + 0.1 (N_UL - N_Offs-UL) + 0.0025 (2 M_UL)` MHz,
    /// `M_UL` in `-10..=9`. `n_ul` must be in the band's E-UTRA range; with `M_UL < 0` at
    /// the lowest EARFCN the result lies up to 50 kHz below `F_UL_low`, as the formula says.
    pub fn nbiot_ul_freq_hz(&self, n_ul: u32, m_ul: i8) -> Result<f64, BandError> {
        if !NBIOT_M_UL.contains(&m_ul) {
            return Err(BandError::NbIotOffsetOutOfRange {
                m_ul: i32::from(m_ul),
            });
        }
        Ok(self.ul_freq_hz(n_ul)? + NBIOT_UL_OFFSET_STEP_HZ * f64::from(m_ul))
    }

    /// The NB-IoT uplink channel `(N_UL, M_UL)` nearest to `freq_hz` (inverse of
    /// [`Band::nbiot_ul_freq_hz`]): the 5 kHz grid point nearest to the frequency, written
    /// as a 100 kHz raster point plus `M_UL x 5 kHz`. Each grid point has exactly one such
    /// pair because `M_UL` takes 20 values, 20 x 5 kHz = 100 kHz. Errors if the pair falls
    /// outside the band's EARFCN range.
    pub fn nbiot_ul_channel(&self, freq_hz: f64) -> Result<(u32, i8), BandError> {
        let out = || BandError::UlFrequencyOutOfBand {
            band: self.id,
            freq_hz,
            low_hz: self.ul_low_hz,
            high_hz: self.ul_high_hz,
        };
        if !freq_hz.is_finite() {
            return Err(out());
        }
        // g: 5 kHz steps above F_UL_low; g = 20 k + M with M in -10..=9.
        let g = ((freq_hz - self.ul_low_hz) / NBIOT_UL_OFFSET_STEP_HZ).round();
        let k = ((g + 10.0) / 20.0).floor();
        let m = g - 20.0 * k;
        let n = f64::from(self.n_offs_ul) + k;
        if n < f64::from(self.n_offs_ul) || n > f64::from(self.n_ul_max) {
            return Err(out());
        }
        // In range: n fits u32 and m is in -10..=9 by construction.
        Ok((n as u32, m as i8))
    }
}

/// The channel number nearest to `offset_hz` above the band's low edge, clamped to the band.
fn nearest_channel(offset_hz: f64, n_min: u32, n_max: u32) -> u32 {
    let steps = (offset_hz / RASTER_HZ).round().max(0.0);
    let span = f64::from(n_max - n_min);
    n_min + steps.min(span) as u32
}

/// Every band whose uplink contains `freq_hz`, with the nearest uplink EARFCN in that band
/// (bands overlap, e.g. B3, B4 and B66 around 1730 MHz, so a detection can carry several).
/// Table order (ascending band number); empty if no band of the table contains it.
pub fn earfcn_for_ul(freq_hz: f64) -> Vec<(u16, u32)> {
    BANDS
        .iter()
        .filter_map(|b| b.ul_earfcn(freq_hz).ok().map(|n| (b.id, n)))
        .collect()
}

/// The part of a capture's bandwidth the planner counts as usable: 80 % of the sample rate,
/// about what an anti-alias filter and its roll-off leave flat. The device's filter must be
/// opened that wide: `hackrf_transfer`'s default HackRF baseband filter is at most 0.75 x
/// the rate (10 MHz at 15.36 MS/s), so a live capture sets it from
/// [`hackrf_baseband_filter_hz`].
pub const USABLE_FRACTION: f64 = 0.8;

/// LTE-family sample rates are multiples of this, Hz (1.92 MS/s = 128 x 15 kHz): the rates
/// at which the detectors run without resampling (see `detectors::lte_rate_for`).
pub const LTE_RATE_STEP_HZ: f64 = 1.92e6;

/// The largest multiple `m` of [`LTE_RATE_STEP_HZ`] the planner considers (30.72 MS/s).
pub const MAX_RATE_MULTIPLE: u32 = 16;

/// The least overlap between the usable parts of neighbouring tunings, Hz. The widest burst
/// hunted is 1.08 MHz (6 PRB: an LTE-M narrowband; the PRACH occupies 1.05 MHz of it), so
/// with this overlap every burst lies whole inside at least one capture. The 120 kHz beyond
/// 1.08 MHz absorb the LO error of a free-running HackRF (+-20 ppm: +-44 kHz at 2.2 GHz).
pub const MIN_OVERLAP_HZ: f64 = 1.2e6;

/// The HackRF One's highest sample rate, Hz.
pub const HACKRF_MAX_RATE_HZ: f64 = 20e6;

/// The HackRF One's baseband (anti-alias) filter settings, Hz (the MAX2837's, as
/// `hackrf_transfer -b` lists them).
pub const HACKRF_BASEBAND_FILTERS_HZ: [f64; 16] = [
    1.75e6, 2.5e6, 3.5e6, 5e6, 5.5e6, 6e6, 7e6, 8e6, 9e6, 10e6, 12e6, 14e6, 15e6, 20e6, 24e6, 28e6,
];

/// The narrowest HackRF baseband filter that passes a tuning's whole usable band (the widest,
/// 28 MHz, if none does): 14 MHz for 15.36 MS/s (12.288 MHz usable).
pub fn hackrf_baseband_filter_hz(tuning: &Tuning) -> f64 {
    let usable_hz = tuning.usable_high_hz - tuning.usable_low_hz;
    HACKRF_BASEBAND_FILTERS_HZ
        .iter()
        .copied()
        .find(|&f| f >= usable_hz)
        .unwrap_or(28e6)
}

/// One capture setting of a sweep: where to tune, at which rate, and the part of the
/// capture that counts (the usable bandwidth about the centre).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tuning {
    /// The band this tuning belongs to.
    pub band: u16,
    /// Centre (LO) frequency, Hz.
    pub center_hz: f64,
    /// Sample rate, Hz (a multiple of 1.92 MS/s).
    pub sample_rate_hz: f64,
    /// Lowest usable frequency, Hz (`center_hz - USABLE_FRACTION x rate / 2`).
    pub usable_low_hz: f64,
    /// Highest usable frequency, Hz (`center_hz + USABLE_FRACTION x rate / 2`).
    pub usable_high_hz: f64,
}

/// Plans the tunings that cover a band's whole uplink with a device whose highest sample
/// rate is `max_rate_hz` (e.g. [`HACKRF_MAX_RATE_HZ`]). See [`plan_span`] for the rules.
/// Empty if `max_rate_hz` is below 1.92 MS/s (no LTE-family rate fits) or not finite.
pub fn plan_tunings(band: &Band, max_rate_hz: f64) -> Vec<Tuning> {
    plan_span(band.id, band.ul_low_hz, band.ul_high_hz, max_rate_hz)
}

/// Plans the tunings that cover `[low_hz, high_hz]`, tagged with `band`.
///
/// - Rates are LTE-family, `m x 1.92 MS/s` (m = 1..=16, at most `max_rate_hz`), so the
///   detectors need no resampling; the usable part of each capture is [`USABLE_FRACTION`] of
///   its rate.
/// - Neighbouring usable parts overlap by at least [`MIN_OVERLAP_HZ`]; the first starts at
///   `low_hz`, the last ends at `high_hz`, and the overlaps are equal.
/// - The rate chosen needs the fewest tunings (the longest dwell per frequency in a sweep);
///   among those, a power-of-two multiple (1.92, 3.84, 7.68, 15.36 MS/s: the standard LTE
///   rates) is preferred, then the lowest rate (the least DSP load).
///
/// Empty if no rate fits (`max_rate_hz` below 1.92 MS/s or not finite) or the span is empty.
pub fn plan_span(band: u16, low_hz: f64, high_hz: f64, max_rate_hz: f64) -> Vec<Tuning> {
    let width_hz = high_hz - low_hz;
    if !(width_hz > 0.0 && max_rate_hz.is_finite() && low_hz.is_finite()) {
        return Vec::new();
    }
    // (tunings, not a power of two, m): the smallest wins.
    let mut best: Option<(u32, bool, u32)> = None;
    for m in 1..=MAX_RATE_MULTIPLE {
        let rate_hz = f64::from(m) * LTE_RATE_STEP_HZ;
        if rate_hz > max_rate_hz {
            break;
        }
        let Some(n) = tunings_needed(width_hz, usable_width_hz(rate_hz)) else {
            continue;
        };
        let key = (n, !m.is_power_of_two(), m);
        if best.is_none_or(|b| key < b) {
            best = Some(key);
        }
    }
    let Some((n, _, m)) = best else {
        return Vec::new();
    };
    let rate_hz = f64::from(m) * LTE_RATE_STEP_HZ;
    let half_hz = usable_width_hz(rate_hz) / 2.0;
    let tuning = |center_hz: f64| Tuning {
        band,
        center_hz,
        sample_rate_hz: rate_hz,
        usable_low_hz: center_hz - half_hz,
        usable_high_hz: center_hz + half_hz,
    };
    if n == 1 {
        return vec![tuning((low_hz + high_hz) / 2.0)];
    }
    let first_hz = low_hz + half_hz;
    let last_hz = high_hz - half_hz;
    let step_hz = (last_hz - first_hz) / f64::from(n - 1);
    (0..n)
        .map(|k| match k {
            0 => tuning(first_hz),
            k if k == n - 1 => tuning(last_hz),
            // Whole Hz for tidy centres; the overlap dwarfs the half hertz this moves them.
            k => tuning((first_hz + step_hz * f64::from(k)).round()),
        })
        .collect()
}

/// Usable bandwidth of a capture at `rate_hz`, whole Hz.
fn usable_width_hz(rate_hz: f64) -> f64 {
    (rate_hz * USABLE_FRACTION).round()
}

/// How many windows of `usable_hz` cover `width_hz` with [`MIN_OVERLAP_HZ`] between
/// neighbours; None if a window is not wider than the overlap.
fn tunings_needed(width_hz: f64, usable_hz: f64) -> Option<u32> {
    if usable_hz >= width_hz {
        return Some(1);
    }
    if usable_hz <= MIN_OVERLAP_HZ {
        return None;
    }
    // n windows reach n U - (n - 1) O >= W  <=>  n >= (W - O) / (U - O).
    let n = ((width_hz - MIN_OVERLAP_HZ) / (usable_hz - MIN_OVERLAP_HZ)).ceil();
    (n <= f64::from(u32::MAX)).then_some(n as u32)
}

/// Plans a sweep over several bands (e.g. a [`region`] preset), in their order, planning each
/// piece of spectrum once: a band whose uplink lies inside another listed band's uplink is
/// skipped (B4 inside B66, B2 inside B25, B5 inside B26); of two equal ranges the first is
/// kept.
pub fn plan_region(bands: &[&Band], max_rate_hz: f64) -> Vec<Tuning> {
    bands
        .iter()
        .enumerate()
        .filter(|&(i, b)| {
            !bands.iter().enumerate().any(|(j, o)| {
                j != i
                    && o.ul_low_hz <= b.ul_low_hz
                    && o.ul_high_hz >= b.ul_high_hz
                    && (o.ul_width_hz() > b.ul_width_hz() || j < i)
            })
        })
        .flat_map(|(_, b)| plan_tunings(b, max_rate_hz))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MHZ: f64 = 1e6;

    fn b(id: u16) -> &'static Band {
        band(id).expect("band in the table")
    }

    /// Hand-worked uplink frequencies from Table 5.7.3-1: F_UL_low + 0.1 (N_UL - N_Offs-UL).
    #[test]
    fn uplink_earfcn_worked_by_hand() {
        let cases: [(u16, u32, f64); 16] = [
            (20, 24150, 832.0),   // B20 lowest: F_UL_low itself
            (20, 24300, 847.0),   // 832 + 0.1 x 150
            (20, 24449, 861.9),   // B20 highest: 832 + 29.9
            (8, 21450, 880.0),    // B8 lowest
            (8, 21625, 897.5),    // 880 + 17.5 (36.521-1 B8 mid test frequency)
            (3, 19200, 1710.0),   // B3 lowest
            (3, 19575, 1747.5),   // 1710 + 37.5 (36.521-1 B3 mid test frequency)
            (28, 27210, 703.0),   // B28 lowest
            (28, 27659, 747.9),   // B28 highest: 703 + 44.9
            (71, 133122, 663.0),  // B71 lowest
            (71, 133471, 697.9),  // B71 highest: 663 + 34.9
            (66, 131972, 1710.0), // B66 lowest
            (66, 132671, 1779.9), // B66 highest: 1710 + 69.9
            (13, 23230, 782.0),   // B13: 777 + 5.0 (uplink above downlink)
            (1, 18300, 1950.0),   // B1: 1920 + 30 (36.521-1 B1 mid test frequency)
            (85, 134027, 700.5),  // B85: 698 + 2.5 (36.521-1 B85 low test frequency)
        ];
        for (id, n, mhz) in cases {
            let f = b(id).ul_freq_hz(n).expect("in range");
            assert!(
                (f - mhz * MHZ).abs() < 1e-3,
                "B{id} N_UL {n}: {f} Hz, want {mhz} MHz"
            );
        }
    }

    /// Hand-worked downlink frequencies: F_DL_low + 0.1 (N_DL - N_Offs-DL).
    #[test]
    fn downlink_earfcn_worked_by_hand() {
        let cases: [(u16, u32, f64); 6] = [
            (20, 6300, 806.0),   // 791 + 15 (the UK Vodafone B20 carrier)
            (3, 1575, 1842.5),   // 1805 + 37.5
            (8, 3625, 942.5),    // 925 + 17.5
            (66, 67335, 2199.9), // B66 top of the 90 MHz downlink
            (71, 68586, 617.0),  // B71 lowest
            (13, 5230, 751.0),   // 746 + 5
        ];
        for (id, n, mhz) in cases {
            let f = b(id).dl_freq_hz(n).expect("in range");
            assert!(
                (f - mhz * MHZ).abs() < 1e-3,
                "B{id} N_DL {n}: {f} Hz, want {mhz} MHz"
            );
        }
    }

    /// Every row agrees with itself: each EARFCN range spans its frequency range at 100 kHz
    /// (B66 included: 900 downlink and 700 uplink channels), and no two bands share an EARFCN.
    #[test]
    fn table_rows_are_consistent() {
        for band in &BANDS {
            let ul_channels = f64::from(band.n_ul_max - band.n_offs_ul + 1);
            let dl_channels = f64::from(band.n_dl_max - band.n_offs_dl + 1);
            assert_eq!(
                ul_channels * RASTER_HZ,
                band.ul_width_hz(),
                "B{} UL",
                band.id
            );
            assert_eq!(
                dl_channels * RASTER_HZ,
                band.dl_high_hz - band.dl_low_hz,
                "B{} DL",
                band.id
            );
            assert_eq!(band.duplex, Duplex::Fdd);
        }
        assert!(BANDS.windows(2).all(|w| w[0].id < w[1].id), "ascending ids");
        // EARFCN ranges do not overlap between bands (each N names one frequency).
        for (i, a) in BANDS.iter().enumerate() {
            for o in &BANDS[i + 1..] {
                assert!(a.n_ul_max < o.n_offs_ul || o.n_ul_max < a.n_offs_ul);
                assert!(a.n_dl_max < o.n_offs_dl || o.n_dl_max < a.n_offs_dl);
            }
        }
    }

    /// The bands the task names are all present with the uplink ranges of Table 5.5-1.
    #[test]
    fn required_bands_have_table_5_5_1_uplinks() {
        let want: [(u16, f64, f64); 14] = [
            (1, 1920.0, 1980.0),
            (2, 1850.0, 1910.0),
            (3, 1710.0, 1785.0),
            (4, 1710.0, 1755.0),
            (5, 824.0, 849.0),
            (8, 880.0, 915.0),
            (12, 699.0, 716.0),
            (13, 777.0, 787.0),
            (20, 832.0, 862.0),
            (25, 1850.0, 1915.0),
            (26, 814.0, 849.0),
            (28, 703.0, 748.0),
            (66, 1710.0, 1780.0),
            (71, 663.0, 698.0),
        ];
        for (id, lo, hi) in want {
            let band = b(id);
            assert_eq!(
                (band.ul_low_hz, band.ul_high_hz),
                (lo * MHZ, hi * MHZ),
                "B{id}"
            );
        }
    }

    #[test]
    fn earfcn_round_trips_in_every_band() {
        for band in &BANDS {
            for n in band.n_offs_ul..=band.n_ul_max {
                let f = band.ul_freq_hz(n).expect("in range");
                assert_eq!(band.ul_earfcn(f), Ok(n), "B{} N_UL {n}", band.id);
            }
            for n in band.n_offs_dl..=band.n_dl_max {
                let f = band.dl_freq_hz(n).expect("in range");
                assert_eq!(band.dl_earfcn(f), Ok(n), "B{} N_DL {n}", band.id);
            }
        }
    }

    #[test]
    fn nearest_earfcn_off_the_raster() {
        let b20 = b(20);
        assert_eq!(b20.ul_earfcn(847.04 * MHZ), Ok(24300));
        assert_eq!(b20.ul_earfcn(847.06 * MHZ), Ok(24301));
        // The top 100 kHz of the band belong to the highest EARFCN.
        assert_eq!(b20.ul_earfcn(861.97 * MHZ), Ok(24449));
        assert_eq!(b20.ul_earfcn(862.0 * MHZ), Ok(24449));
    }

    #[test]
    fn out_of_range_is_an_error_naming_the_band() {
        let b20 = b(20);
        let e = b20.ul_freq_hz(24450).expect_err("one past the top");
        assert_eq!(
            e,
            BandError::UlEarfcnOutOfRange {
                band: 20,
                earfcn: 24450,
                min: 24150,
                max: 24449
            }
        );
        assert!(e.to_string().contains("B20") && e.to_string().contains("24450"));
        assert!(b20.ul_freq_hz(24149).is_err());
        assert!(b20.dl_freq_hz(6449).is_ok() && b20.dl_freq_hz(6450).is_err());
        let e = b20.ul_earfcn(870.0 * MHZ).expect_err("above B20");
        let msg = e.to_string();
        assert!(
            msg.contains("870.0000 MHz") && msg.contains("832.0-862.0"),
            "{msg}"
        );
        assert!(b20.ul_earfcn(831.99 * MHZ).is_err());
        assert!(b20.ul_earfcn(f64::NAN).is_err());
        assert!(b20.dl_earfcn(830.0 * MHZ).is_err());
    }

    #[test]
    fn a_frequency_can_be_in_several_bands() {
        // 1730 MHz: B3 (1710-1785), B4 (1710-1755), B66 (1710-1780), all at +20 MHz.
        assert_eq!(
            earfcn_for_ul(1730.0 * MHZ),
            vec![(3, 19400), (4, 20150), (66, 132172)]
        );
        // 847 MHz: B20 (832-862) and also B5 (824-849) and B26 (814-849).
        assert_eq!(
            earfcn_for_ul(847.0 * MHZ),
            vec![(5, 20630), (20, 24300), (26, 27020)]
        );
        assert_eq!(earfcn_for_ul(897.5 * MHZ), vec![(8, 21625)]);
        assert!(earfcn_for_ul(1000.0 * MHZ).is_empty());
    }

    /// TS 36.101 5.7.3F: F_UL = F_UL_low + 0.1 (N_UL - N_Offs-UL) + 0.0025 (2 M_UL), by hand.
    #[test]
    fn nbiot_uplink_raster_worked_by_hand() {
        let b20 = b(20);
        // N_UL 24300 is 847.0 MHz; M_UL = -10 -> -50 kHz, 9 -> +45 kHz, 0 -> on the raster.
        let cases: [(u32, i8, f64); 5] = [
            (24300, 0, 847.0),
            (24300, -10, 846.95),
            (24300, 9, 847.045),
            (24300, 1, 847.005),
            (24150, -1, 831.995),
        ];
        for (n, m, mhz) in cases {
            let f = b20.nbiot_ul_freq_hz(n, m).expect("valid");
            assert!((f - mhz * MHZ).abs() < 1e-3, "N {n} M {m}: {f}");
            assert_eq!(
                b20.nbiot_ul_channel(f),
                Ok((n, m)),
                "inverse of N {n} M {m}"
            );
        }
        assert_eq!(
            b20.nbiot_ul_freq_hz(24300, 10),
            Err(BandError::NbIotOffsetOutOfRange { m_ul: 10 })
        );
        assert!(b20.nbiot_ul_freq_hz(24300, -11).is_err());
        assert!(b20.nbiot_ul_freq_hz(24450, 0).is_err());
        // 847.048 MHz -> nearest 5 kHz point 847.05 = N 24301 (847.1) with M = -10.
        assert_eq!(b20.nbiot_ul_channel(847.048 * MHZ), Ok((24301, -10)));
    }

    #[test]
    fn nbiot_channel_round_trips_over_a_band() {
        let b8 = b(8);
        for n in b8.n_offs_ul..=b8.n_ul_max {
            for m in NBIOT_M_UL {
                let f = b8.nbiot_ul_freq_hz(n, m).expect("valid");
                assert_eq!(b8.nbiot_ul_channel(f), Ok((n, m)));
            }
        }
    }

    #[test]
    fn band_names_parse() {
        for s in ["B20", "b20", "20", " B20 ", "band20", "Band 20"] {
            assert_eq!(parse_band(s).map(|b| b.id), Ok(20), "{s}");
        }
        for s in ["B99", "B", "", "20a", "x20", "B-20", "B70000000"] {
            let e = parse_band(s).expect_err(s);
            assert!(e.to_string().contains(&format!("'{s}'")), "{e}");
        }
        assert!(band(99).is_none());
        assert_eq!(band(66).map(|b| b.n_offs_ul), Some(131972));
    }

    #[test]
    fn region_presets_are_known_bands() {
        for name in REGION_NAMES {
            let bands = region(name).expect("preset");
            let (_, ids) = REGIONS.iter().find(|(n, _)| *n == name).expect("listed");
            assert_eq!(bands.len(), ids.len(), "{name}: every id is in the table");
            assert!(!bands.is_empty());
        }
        let ids = |r| -> Vec<u16> { region(r).expect("preset").iter().map(|b| b.id).collect() };
        assert_eq!(ids("UK"), vec![20, 8, 3]);
        assert!(ids("eu").starts_with(&[20, 8, 3]));
        for id in [2, 4, 12, 13, 66, 71] {
            assert!(ids("us").contains(&id), "us has B{id}");
        }
        let e = region("mars").expect_err("unknown");
        assert!(e.to_string().contains("'mars'") && e.to_string().contains("uk, eu, us"));
        assert_eq!(regions_of(20), vec!["uk", "eu"]);
        assert!(regions_of(7).is_empty());
    }

    /// Checks that the union of the usable windows covers [lo, hi] with at least the minimum
    /// overlap between neighbours (by walking the windows, not by the planner's formula).
    fn assert_covers(t: &[Tuning], lo: f64, hi: f64, what: &str) {
        assert!(!t.is_empty(), "{what}: no tunings");
        assert!(
            t[0].usable_low_hz <= lo,
            "{what}: low edge {}",
            t[0].usable_low_hz
        );
        assert!(t[t.len() - 1].usable_high_hz >= hi, "{what}: high edge");
        for w in t.windows(2) {
            let overlap = w[0].usable_high_hz - w[1].usable_low_hz;
            assert!(
                overlap >= MIN_OVERLAP_HZ - 1.0,
                "{what}: overlap {overlap} Hz between {} and {}",
                w[0].center_hz,
                w[1].center_hz
            );
        }
        for x in t {
            let m = x.sample_rate_hz / LTE_RATE_STEP_HZ;
            assert_eq!(
                m,
                m.round(),
                "{what}: {} is m x 1.92 MS/s",
                x.sample_rate_hz
            );
            let usable = x.usable_high_hz - x.usable_low_hz;
            assert!(
                (usable - 0.8 * x.sample_rate_hz).abs() < 1.0,
                "{what}: 80 % usable"
            );
            assert!(((x.usable_high_hz + x.usable_low_hz) / 2.0 - x.center_hz).abs() < 1e-6);
        }
        // Every 1 kHz step of the band (both edges included) is inside some usable window.
        let steps = ((hi - lo) / 1e3).round() as u64;
        for k in 0..=steps {
            let f = (lo + 1e3 * k as f64).min(hi);
            assert!(
                t.iter()
                    .any(|x| x.usable_low_hz <= f && f <= x.usable_high_hz),
                "{what}: {f} Hz not covered"
            );
        }
    }

    #[test]
    fn tunings_cover_every_band_at_hackrf_rates() {
        for max in [HACKRF_MAX_RATE_HZ, 15.36e6, 10e6, 8e6, 4e6] {
            for band in &BANDS {
                let t = plan_tunings(band, max);
                let what = format!("B{} at {max}", band.id);
                assert_covers(&t, band.ul_low_hz, band.ul_high_hz, &what);
                assert!(t
                    .iter()
                    .all(|x| x.sample_rate_hz <= max && x.band == band.id));
            }
        }
    }

    #[test]
    fn tuning_plans_worked_by_hand() {
        // B20, 30 MHz at up to 15.36 MS/s: usable 12.288 MHz; two windows reach only
        // 24.576 MHz, three reach 36.864 with (36.864 - 30) / 2 = 3.432 MHz overlaps.
        let t = plan_tunings(b(20), 15.36e6);
        assert_eq!(t.len(), 3);
        assert!(t.iter().all(|x| x.sample_rate_hz == 15.36e6));
        assert_eq!(t[0].center_hz, 832e6 + 6.144e6);
        assert_eq!(t[1].center_hz, 847e6);
        assert_eq!(t[2].center_hz, 862e6 - 6.144e6);
        // At 20 MS/s, 2 x 19.2 MS/s would leave only 0.72 MHz of overlap (< 1.2 MHz): still
        // three, and 15.36 MS/s (a power of two times 1.92) wins the tie with 17.28 and 19.2.
        assert_eq!(plan_tunings(b(20), 20e6), t);
        // B13, 10 MHz: one tuning; 13.44 and 15.36 MS/s both fit, 15.36 is the LTE rate.
        let t = plan_tunings(b(13), 20e6);
        assert_eq!(t.len(), 1);
        assert_eq!((t[0].center_hz, t[0].sample_rate_hz), (782e6, 15.36e6));
        // B72, 5 MHz: 7.68 MS/s gives 6.144 MHz usable, one tuning.
        let t = plan_tunings(b(72), 20e6);
        assert_eq!((t.len(), t[0].sample_rate_hz), (1, 7.68e6));
        // B5, 25 MHz at 20 MS/s: two windows need U >= (25 + 1.2) / 2 = 13.1 MHz, i.e.
        // rate >= 16.375 MS/s: 17.28 MS/s (9 x 1.92), no power of two qualifies.
        let t = plan_tunings(b(5), 20e6);
        assert_eq!(t.len(), 2);
        assert!(t.iter().all(|x| x.sample_rate_hz == 17.28e6));
        // B1, 60 MHz at 20 MS/s: n >= (60 - 1.2) / (U - 1.2): 15.36 MS/s -> 5.3 -> 6;
        // 17.28 MS/s (U 13.824) -> 4.66 -> 5; 19.2 MS/s (U 15.36) -> 4.15 -> 5. Five at the
        // lower of the two, 17.28 MS/s.
        let t = plan_tunings(b(1), 20e6);
        assert_eq!(t.len(), 5);
        assert!(t.iter().all(|x| x.sample_rate_hz == 17.28e6));
    }

    #[test]
    fn hackrf_filter_opens_to_the_usable_band() {
        let t = plan_tunings(b(20), 15.36e6);
        assert_eq!(hackrf_baseband_filter_hz(&t[0]), 14e6);
        let t = plan_tunings(b(72), 20e6); // 7.68 MS/s, 6.144 MHz usable
        assert_eq!(hackrf_baseband_filter_hz(&t[0]), 7e6);
        let t = plan_tunings(b(1), 20e6); // 17.28 MS/s, 13.824 MHz usable
        assert_eq!(hackrf_baseband_filter_hz(&t[0]), 14e6);
    }

    #[test]
    fn no_plan_without_a_usable_rate() {
        assert!(plan_tunings(b(20), 1.9e6).is_empty());
        assert!(plan_tunings(b(20), f64::NAN).is_empty());
        assert!(plan_span(0, 850e6, 850e6, 20e6).is_empty());
        // 1.92 MS/s still works: 1.536 MHz windows, 0.336 MHz net step.
        let t = plan_tunings(b(13), 1.92e6);
        assert_covers(&t, 777e6, 787e6, "B13 at 1.92 MS/s");
    }

    #[test]
    fn region_plans_skip_nested_bands() {
        let us = region("us").expect("preset");
        let t = plan_region(&us, 20e6);
        let planned: Vec<u16> = t.iter().map(|x| x.band).collect();
        for inner in [2, 4, 5] {
            assert!(
                !planned.contains(&inner),
                "B{inner} lies inside another US band"
            );
        }
        for outer in [12, 13, 71, 25, 26, 66] {
            assert!(planned.contains(&outer), "B{outer} is planned");
        }
        // And the spectrum of the skipped bands is still covered.
        for inner in [2, 4, 5] {
            let band = b(inner);
            let mut c: Vec<Tuning> = t
                .iter()
                .filter(|x| x.usable_high_hz > band.ul_low_hz && x.usable_low_hz < band.ul_high_hz)
                .cloned()
                .collect();
            c.sort_by(|a, b| a.center_hz.total_cmp(&b.center_hz));
            assert_covers(
                &c,
                band.ul_low_hz,
                band.ul_high_hz,
                &format!("B{inner} via outer"),
            );
        }
        // Two copies of the same band are planned once.
        let twice = plan_region(&[b(20), b(20)], 20e6);
        assert_eq!(twice, plan_tunings(b(20), 20e6));
        let uk = region("uk").expect("preset");
        assert_eq!(plan_region(&uk, 20e6).len(), 3 + 3 + 6);
    }
}
