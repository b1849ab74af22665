//! The table of detectors the scanner runs (rtl_433's decoder registry): adding a detector is
//! one file in `dsp/src/detect/` and one entry here.

use anyhow::Result;
use ciot_dsp::detect::Detector;

/// Builds every detector that can run at `fs_hz`, with thresholds for
/// `false_alarms_per_hour` per monitored MHz.
pub fn build(fs_hz: f64, false_alarms_per_hour: f64) -> Result<Vec<Box<dyn Detector>>> {
    let _ = (fs_hz, false_alarms_per_hour);
    Ok(Vec::new())
}
