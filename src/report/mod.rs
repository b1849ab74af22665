//! `ciot-sweep report`: the evidence an investigator hands to a client. The facts of a
//! capture and what was heard in it ([`ReportFacts`], also written as `report.json`), the
//! plots ([`plots`]) from one streaming spectral pass ([`spectrum`]), and a self-contained,
//! printable `report.html` ([`html`]).

pub mod html;
pub mod plots;
pub mod spectrum;

use crate::bands::{Band, BANDS};
use crate::record::DetectionRecord;
use crate::track::Emitter;
use serde::Serialize;

/// The recording the report is about.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaptureFacts {
    /// The sample data file, as given.
    pub data_file: String,
    /// The SigMF metadata file, when the input is SigMF.
    pub meta_file: Option<String>,
    /// Sample format (`ci8`, `cu8`, `ci16_le`, `cf32_le`).
    pub format: String,
    /// Sample rate, Hz.
    pub sample_rate_hz: f64,
    /// Centre frequency, Hz, when known.
    pub center_freq_hz: Option<f64>,
    /// Samples in the data file.
    pub samples: u64,
    /// Length, s.
    pub duration_s: f64,
    /// UTC time of the first sample (RFC 3339), when known.
    pub start_utc: Option<String>,
    /// Device and gains (SigMF `core:hw`), when recorded.
    pub hw: Option<String>,
    /// SigMF `core:description`, when present.
    pub description: Option<String>,
    /// SHA-256 of the data file, hex.
    pub data_sha256: String,
    /// SHA-256 of the metadata file, hex.
    pub meta_sha256: Option<String>,
}

/// Where the detections came from and the detector settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DetectionFacts {
    /// `scan` (the report ran the detectors) or `file` (read from `file`).
    pub source: String,
    /// The JSON Lines file read, with `source = "file"`.
    pub file: Option<String>,
    /// Its SHA-256.
    pub file_sha256: Option<String>,
    /// Detectors run (or declared on the command line for a file).
    pub detectors: Vec<String>,
    /// False-alarm budget of all detectors together, per hour per monitored MHz.
    pub false_alarms_per_hour_per_mhz: f64,
    /// The monitored band (the sample rate), MHz.
    pub monitored_mhz: f64,
    /// The budget over the whole monitored band, false alarms per hour on noise.
    pub false_alarms_per_hour: f64,
    /// Expected false alarms on noise over this capture's length.
    pub expected_false_alarms_in_capture: f64,
    /// Whether these settings produced the detections (`false`: read from a file, the
    /// settings are what the command line declared, not verified).
    pub settings_verified: bool,
    /// The baseline the emitters were marked against.
    pub baseline: Option<String>,
    /// Samples that never reached the detectors.
    pub samples_dropped: u64,
}

/// One plot written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlotFacts {
    /// Short name (`spectrum`, `spectrogram`, `timeline`, `power`).
    pub name: String,
    /// The PNG, relative to the report folder.
    pub png: String,
    /// The SVG, relative to the report folder.
    pub svg: String,
    /// PNG size, pixels.
    pub width_px: u32,
    /// PNG height, pixels.
    pub height_px: u32,
    /// What it shows.
    pub caption: String,
}

/// Settings of the spectral pass.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpectrumFacts {
    /// FFT length.
    pub fft_len: usize,
    /// Bin width, Hz.
    pub bin_hz: f64,
    /// FFT frames analysed (50 % overlap).
    pub frames: u64,
    /// Spectrogram time rows.
    pub rows: usize,
    /// Duration of one spectrogram row, s.
    pub row_s: f64,
    /// Bands whose uplink overlaps the capture.
    pub bands: Vec<String>,
    /// The band whose lower uplink edge anchors the channel grid.
    pub grid_band: Option<String>,
}

/// Everything the report states (`report.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportFacts {
    /// `ciot-sweep <version>`.
    pub software: String,
    /// Generation time (UTC, RFC 3339).
    pub generated_utc: String,
    /// The command line that produced (and reproduces) the report.
    pub command_line: String,
    /// The recording.
    pub capture: CaptureFacts,
    /// Detection source and settings.
    pub detection: DetectionFacts,
    /// The spectral pass.
    pub spectrum: SpectrumFacts,
    /// The emitters, in order of first appearance.
    pub emitters: Vec<Emitter>,
    /// Number of detections.
    pub detections_count: usize,
    /// Every detection (with emitter ids).
    pub detections: Vec<DetectionRecord>,
    /// The plots.
    pub plots: Vec<PlotFacts>,
    /// Warnings met on the way.
    pub warnings: Vec<String>,
}

/// Bands whose uplink overlaps `[low_hz, high_hz]`, in table order.
pub fn bands_overlapping(low_hz: f64, high_hz: f64) -> Vec<&'static Band> {
    BANDS
        .iter()
        .filter(|b| b.ul_low_hz < high_hz && b.ul_high_hz > low_hz)
        .collect()
}

/// The band that anchors the channel grid: among the bands whose uplink contains the
/// centre, the one that covers most of the span (then the narrowest, then the lowest id).
pub fn grid_band(center_hz: f64, span_hz: f64) -> Option<&'static Band> {
    let (lo, hi) = (center_hz - span_hz / 2.0, center_hz + span_hz / 2.0);
    let cover = |b: &Band| (b.ul_high_hz.min(hi) - b.ul_low_hz.max(lo)).max(0.0);
    BANDS
        .iter()
        .filter(|b| b.ul_contains(center_hz))
        .min_by(|a, b| {
            cover(b)
                .total_cmp(&cover(a))
                .then(a.ul_width_hz().total_cmp(&b.ul_width_hz()))
                .then(a.id.cmp(&b.id))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_band_for_the_car_sweep_is_b20() {
        // 847 MHz +- 7.68 MHz: inside B20 (832-862 MHz) entirely; B5 (824-849) and B26
        // (814-849) contain the centre but stop at 849 MHz; B19 (830-845) does not reach it.
        let b = grid_band(847e6, 15.36e6).expect("a band");
        assert_eq!(b.id, 20);
        let ids: Vec<u16> = bands_overlapping(839.32e6, 854.68e6)
            .iter()
            .map(|b| b.id)
            .collect();
        for id in [5, 19, 20, 26] {
            assert!(ids.contains(&id), "{ids:?}");
        }
        assert!(!ids.contains(&8), "B8 uplink is 880-915 MHz: {ids:?}");
        assert!(grid_band(100e6, 1e6).is_none());
    }
}
