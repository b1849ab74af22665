//! The table of detectors the scanner runs (rtl_433's decoder registry): adding a detector is
//! one file in `dsp/src/detect/` and one entry here.

use anyhow::{Context, Result};
use ciot_dsp::detect::energy::{EnergyDetector, EnergyDetectorConfig};
use ciot_dsp::detect::Detector;

/// Builds every detector that can run at `fs_hz`, with thresholds for
/// `false_alarms_per_hour` per monitored MHz.
pub fn build(fs_hz: f64, false_alarms_per_hour: f64) -> Result<Vec<Box<dyn Detector>>> {
    let mut v: Vec<Box<dyn Detector>> = Vec::new();
    let energy = EnergyDetector::new(EnergyDetectorConfig {
        sample_rate_hz: fs_hz,
        false_alarms_per_hour,
        ..Default::default()
    })
    .context("energy detector")?;
    v.push(Box::new(energy));
    Ok(v)
}
