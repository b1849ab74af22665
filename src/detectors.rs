//! The table of detectors the scanner runs (rtl_433's decoder registry): adding a detector is
//! one file in `dsp/src/detect/` and one entry here.
//!
//! The structured detectors need an LTE-family rate (`m x 1.92 MS/s`, where every TS 36.211
//! length is a whole number of samples). A capture at another rate (a HackRF at 20, 10, 8 or
//! 2 MS/s) is resampled once, for all of them, to the nearest such rate below it; their
//! detections are mapped back to the input's sample indices exactly
//! ([`ciot_dsp::resample`]). The energy detector runs at the input rate.

use anyhow::{bail, Context, Result};
use ciot_dsp::detect::energy::{EnergyDetector, EnergyDetectorConfig};
use ciot_dsp::detect::nprach::{NprachDetector, NprachDetectorConfig};
use ciot_dsp::detect::npusch::{NpuschDetector, NpuschDetectorConfig};
use ciot_dsp::detect::prach::{PrachDetector, PrachDetectorConfig};
use ciot_dsp::detect::pusch::{PuschDetector, PuschDetectorConfig};
use ciot_dsp::detect::{lte_rate_multiple, Detection, Detector};
use ciot_dsp::resample::Resampler;
use num_complex::Complex32;
use rayon::prelude::*;
use std::str::FromStr;

/// A detector that can be switched on or off with `--detectors`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// Wideband energy bursts (`unknown` unless a structured detector claims them).
    Energy,
    /// NB-IoT random access (TS 36.211 10.1.6).
    Nprach,
    /// LTE / LTE-M random access (5.7).
    Prach,
    /// LTE / LTE-M uplink data (SC-FDMA with DMRS, 5.3-5.6). Experimental: not run by
    /// default (sensitivity below target, slow on wide allocations).
    Pusch,
    /// NB-IoT uplink data (10.1.3-10.1.5). Experimental: not run by default (energy and
    /// tone-shape statistic; multi-tone bursts often missed).
    Npusch,
}

impl Which {
    /// Every detector, in the order they run.
    pub const ALL: [Which; 5] = [
        Which::Energy,
        Which::Nprach,
        Which::Prach,
        Which::Pusch,
        Which::Npusch,
    ];

    /// The detectors `scan` runs unless `--detectors` says otherwise: those that meet the
    /// project's false-alarm and interferer tests.
    pub const DEFAULT: [Which; 3] = [Which::Energy, Which::Nprach, Which::Prach];

    /// The name used on the command line and in `--stats`.
    pub fn name(self) -> &'static str {
        match self {
            Which::Energy => "energy",
            Which::Nprach => "nprach",
            Which::Prach => "prach",
            Which::Pusch => "pusch",
            Which::Npusch => "npusch",
        }
    }
}

impl FromStr for Which {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Which::ALL
            .iter()
            .copied()
            .find(|w| w.name() == s.trim())
            .ok_or_else(|| {
                let names: Vec<&str> = Which::ALL.iter().map(|w| w.name()).collect();
                format!("unknown detector '{s}' (known: {})", names.join(", "))
            })
    }
}

/// Detectors that share one input: the capture itself, or the capture resampled to an
/// LTE-family rate.
pub struct Stage {
    resampler: Option<Resampler>,
    detectors: Vec<Box<dyn Detector>>,
    scratch: Vec<Detection>,
    /// One output buffer per detector, for the parallel run.
    outs: Vec<Vec<Detection>>,
    /// Sample rate the detectors of this stage see, Hz.
    pub rate_hz: f64,
}

impl Stage {
    /// Feeds input samples `first_sample ..`; detections come out in input sample indices.
    pub fn process(&mut self, first_sample: u64, x: &[Complex32], out: &mut Vec<Detection>) {
        match &mut self.resampler {
            None => run_detectors(&mut self.detectors, &mut self.outs, first_sample, x, out),
            Some(rs) => {
                let (j0, y) = rs.process(first_sample, x);
                if !y.is_empty() {
                    run_detectors(
                        &mut self.detectors,
                        &mut self.outs,
                        j0,
                        y,
                        &mut self.scratch,
                    );
                }
                map_back(rs, &mut self.scratch, out);
            }
        }
    }

    /// End of stream.
    pub fn finish(&mut self, out: &mut Vec<Detection>) {
        match &self.resampler {
            None => {
                for d in &mut self.detectors {
                    d.finish(out);
                }
            }
            Some(rs) => {
                for d in &mut self.detectors {
                    d.finish(&mut self.scratch);
                }
                map_back(rs, &mut self.scratch, out);
            }
        }
    }

    /// Per-detector counters.
    pub fn stats(&self) -> Vec<(&'static str, Vec<(String, u64)>)> {
        self.detectors
            .iter()
            .map(|d| (d.name(), d.stats()))
            .collect()
    }

    /// Names of the detectors of this stage.
    pub fn names(&self) -> Vec<&'static str> {
        self.detectors.iter().map(|d| d.name()).collect()
    }
}

/// Runs every detector over `x`: in parallel on the current rayon pool when it has more than
/// one thread. The outputs are appended in the detectors' order either way, so the result
/// does not depend on the number of threads.
fn run_detectors(
    dets: &mut [Box<dyn Detector>],
    outs: &mut Vec<Vec<Detection>>,
    first_sample: u64,
    x: &[Complex32],
    out: &mut Vec<Detection>,
) {
    if dets.len() > 1 && rayon::current_num_threads() > 1 {
        outs.resize_with(dets.len(), Vec::new);
        dets.par_iter_mut()
            .zip(outs.par_iter_mut())
            .for_each(|(d, o)| d.process(first_sample, x, o));
        for o in outs.iter_mut() {
            out.append(o);
        }
    } else {
        for d in dets {
            d.process(first_sample, x, out);
        }
    }
}

/// Maps detections from resampled indices to input indices (the burst keeps covering the
/// same instants: start rounded down, end rounded up).
fn map_back(rs: &Resampler, from: &mut Vec<Detection>, out: &mut Vec<Detection>) {
    for mut d in from.drain(..) {
        let s = rs.input_index_floor(d.sample_start);
        let e = rs.input_index_ceil(d.sample_end());
        d.sample_start = s;
        d.sample_len = e.saturating_sub(s).max(1);
        out.push(d);
    }
}

/// The LTE-family rate the structured detectors run at for an input at `fs_hz`: the rate
/// itself if it is one, else the largest `m x 1.92 MS/s` (m <= 16) below it; None under
/// 1.92 MS/s.
pub fn lte_rate_for(fs_hz: f64) -> Option<f64> {
    if lte_rate_multiple(fs_hz).is_some() {
        return Some(fs_hz);
    }
    let m = (fs_hz / 1.92e6).floor().min(16.0);
    (m >= 1.0).then_some(m * 1.92e6)
}

/// Builds the stages for an input at `fs_hz`. `false_alarms_per_hour_per_mhz` is the budget
/// for the whole set per monitored MHz (the monitored band is the input rate); it is split
/// evenly among the detectors. Returns the stages and warnings for the user.
pub fn build(
    fs_hz: f64,
    false_alarms_per_hour_per_mhz: f64,
    which: &[Which],
) -> Result<(Vec<Stage>, Vec<String>)> {
    if which.is_empty() {
        bail!("no detector selected");
    }
    let mut warnings = Vec::new();
    let n = which.len() as f64;
    let per_mhz = false_alarms_per_hour_per_mhz / n;
    let whole_band = per_mhz * fs_hz / 1e6;
    let mut native: Vec<Box<dyn Detector>> = Vec::new();
    let mut lte: Vec<Box<dyn Detector>> = Vec::new();
    let lte_fs = lte_rate_for(fs_hz);
    for &w in which {
        match w {
            Which::Energy => native.push(Box::new(
                EnergyDetector::new(EnergyDetectorConfig {
                    sample_rate_hz: fs_hz,
                    false_alarms_per_hour: per_mhz,
                    ..Default::default()
                })
                .context("energy detector")?,
            )),
            _ => {
                let Some(rate) = lte_fs else {
                    warnings.push(format!(
                        "{} detector needs at least 1.92 MS/s (input is {:.3} MS/s): off",
                        w.name(),
                        fs_hz / 1e6
                    ));
                    continue;
                };
                lte.push(structured(w, rate, whole_band)?);
            }
        }
    }
    let mut stages = Vec::new();
    if !native.is_empty() {
        stages.push(Stage {
            resampler: None,
            detectors: native,
            scratch: Vec::new(),
            outs: Vec::new(),
            rate_hz: fs_hz,
        });
    }
    if let (Some(rate), false) = (lte_fs, lte.is_empty()) {
        let resampler = if rate == fs_hz {
            None
        } else {
            warnings.push(format!(
                "{:.3} MS/s is not m x 1.92 MS/s: the structured detectors run on the input \
                 resampled to {:.3} MS/s (band edges beyond +-{:.2} MHz are attenuated)",
                fs_hz / 1e6,
                rate / 1e6,
                0.92 * rate / 2e6
            ));
            Some(Resampler::between(fs_hz, rate).with_context(|| {
                format!("resampler {:.3} -> {:.3} MS/s", fs_hz / 1e6, rate / 1e6)
            })?)
        };
        stages.push(Stage {
            resampler,
            detectors: lte,
            scratch: Vec::new(),
            outs: Vec::new(),
            rate_hz: rate,
        });
    }
    Ok((stages, warnings))
}

fn structured(w: Which, rate: f64, whole_band_per_hour: f64) -> Result<Box<dyn Detector>> {
    Ok(match w {
        Which::Nprach => Box::new(
            NprachDetector::new(NprachDetectorConfig {
                sample_rate_hz: rate,
                false_alarms_per_hour: whole_band_per_hour,
                ..Default::default()
            })
            .context("NPRACH detector")?,
        ),
        Which::Prach => Box::new(
            PrachDetector::new(PrachDetectorConfig {
                sample_rate_hz: rate,
                false_alarms_per_hour: whole_band_per_hour,
                ..Default::default()
            })
            .context("PRACH detector")?,
        ),
        Which::Pusch => Box::new(
            PuschDetector::new(PuschDetectorConfig {
                sample_rate_hz: rate,
                false_alarms_per_hour: whole_band_per_hour,
                ..Default::default()
            })
            .context("PUSCH detector")?,
        ),
        Which::Npusch => Box::new(
            NpuschDetector::new(NpuschDetectorConfig {
                sample_rate_hz: rate,
                false_alarms_per_hour: whole_band_per_hour,
                ..Default::default()
            })
            .context("NPUSCH detector")?,
        ),
        Which::Energy => bail!("the energy detector is not a structured detector"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lte_rates_for_hackrf_rates() {
        assert_eq!(lte_rate_for(15.36e6), Some(15.36e6));
        assert_eq!(lte_rate_for(20e6), Some(19.2e6));
        assert_eq!(lte_rate_for(10e6), Some(9.6e6));
        assert_eq!(lte_rate_for(2e6), Some(1.92e6));
        assert_eq!(lte_rate_for(40e6), Some(30.72e6));
        assert_eq!(lte_rate_for(1e6), None);
    }

    #[test]
    fn detector_names_parse() {
        assert_eq!("nprach".parse::<Which>(), Ok(Which::Nprach));
        assert!("nope"
            .parse::<Which>()
            .unwrap_err()
            .contains("known: energy"));
    }
}
