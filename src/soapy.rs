//! A SoapySDR device (HackRF or any other) as a pipeline [`Source`] (feature `soapy`).
//!
//! ```text
//!  SoapySDR device --readStream--> CS8 (native, HackRF) --Ci8 decode--> Complex<f32>
//!                              or  CF32 (when CS8 is not offered) ----> Complex<f32>
//!        status: OVERFLOW  -> a gap: the next block's first_sample jumps by the samples lost
//!                             (measured from the device's timestamps when it gives them)
//!                TIMEOUT   -> retried, then an error naming the device
//!                STREAM_ERROR (lost USB device) -> an error naming the device
//!                0 samples + sensor `stream_ended` = "true" -> the end of the stream
//! ```
//!
//! The device is opened and configured by [`SoapySource::open`] from [`DeviceSettings`]:
//! sample rate, centre frequency, analog bandwidth, antenna, gains per element (validated
//! against the device's element list and ranges, errors list the allowed values) or an
//! overall gain, always with automatic gain control off, so power readings stay comparable.
//! [`SoapySource::capture_info`] says what the device actually applied, for recordings.
//!
//! Sample indices count from the first sample read (index 0). After an overflow the device's
//! timestamp of the next read gives the exact number of lost samples, when its timestamps
//! have proved consistent with the sample count (the soapysdr crate does not expose the
//! `HAS_TIME` flag, so consistency is the test). Without usable timestamps the index does not
//! jump, and the overflow is still logged with its sample index in the [`OverflowLog`].

use crate::iq::{hw_description, IqBlock, SampleFormat};
use crate::pipeline::Source;
use num_complex::Complex;
use serde::Serialize;
use soapysdr::{Device, Direction, ErrorCode, RxStream};
use std::fmt;
use std::sync::{Arc, Mutex};

/// Samples asked of the device per read.
pub const READ_SAMPLES: usize = 1 << 16;
/// Timeout of one read, seconds.
pub const READ_TIMEOUT_S: f64 = 0.5;
/// Consecutive read timeouts tolerated before giving up on the device.
pub const MAX_CONSECUTIVE_TIMEOUTS: u32 = 5;
/// Consecutive stream errors tolerated before the device is declared lost.
pub const MAX_CONSECUTIVE_STREAM_ERRORS: u32 = 3;
/// The device sensor that says a finite stream (a test device replaying a file) has ended.
pub const STREAM_ENDED_SENSOR: &str = "stream_ended";

/// Gains applied when the user gives none, for the elements the device has (a HackRF's).
///
/// Close range inside a car: a module transmits up to 23 dBm a metre or two from the
/// antenna, so bursts arrive around -30 to -50 dBm, and the downlink of a nearby site sits
/// just below band 20's uplink. The HackRF's front-end amplifier (AMP, +14 dB) would push
/// such levels into the 8-bit ADC's clipping and into mixer compression, so it stays off.
/// LNA 16 dB and VGA 20 dB (36 dB in all) put a -40 dBm burst about 15-20 dB below full
/// scale with the noise floor still above the ADC's quantisation, which leaves headroom for
/// a module on the dashboard while weaker ones further away stay detectable. Raise LNA in
/// steps of 8 for distant sources; lower VGA if the summary reports clipping.
pub const DEFAULT_GAINS_DB: [(&str, f64); 3] = [("AMP", 0.0), ("LNA", 16.0), ("VGA", 20.0)];

/// Which sample format to stream in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum StreamFormat {
    /// CS8 when the device offers it (HackRF's native format), else CF32.
    #[default]
    Auto,
    /// Complex signed 8-bit (converted here, like a `ci8` file).
    Cs8,
    /// Complex 32-bit float (converted by the driver).
    Cf32,
}

impl std::str::FromStr for StreamFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(StreamFormat::Auto),
            "cs8" | "ci8" => Ok(StreamFormat::Cs8),
            "cf32" => Ok(StreamFormat::Cf32),
            _ => Err(format!("stream format \"{s}\": use auto, cs8 or cf32")),
        }
    }
}

/// What to open and how to set it up.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceSettings {
    /// SoapySDR device arguments, e.g. `driver=hackrf` or `driver=hackrf,serial=...`.
    pub args: String,
    /// Sample rate, Hz.
    pub sample_rate_hz: f64,
    /// Centre frequency, Hz.
    pub center_hz: f64,
    /// Analog (baseband filter) bandwidth, Hz; `None` leaves the driver's choice for the rate.
    pub bandwidth_hz: Option<f64>,
    /// Antenna name; `None` leaves the device's default.
    pub antenna: Option<String>,
    /// Gains per element (name, dB), applied in order after the overall gain.
    pub gains: Vec<(String, f64)>,
    /// Overall gain, dB, distributed over the elements by the driver.
    pub gain_db: Option<f64>,
    /// Stream format.
    pub stream_format: StreamFormat,
}

impl DeviceSettings {
    /// Settings for `args` at `sample_rate_hz` and `center_hz`, everything else default
    /// (driver bandwidth and antenna, [`DEFAULT_GAINS_DB`], CS8 when offered).
    pub fn new(args: &str, sample_rate_hz: f64, center_hz: f64) -> Self {
        DeviceSettings {
            args: args.to_string(),
            sample_rate_hz,
            center_hz,
            bandwidth_hz: None,
            antenna: None,
            gains: Vec::new(),
            gain_db: None,
            stream_format: StreamFormat::Auto,
        }
    }
}

/// What the device actually applied (read back after setting), for recordings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaptureInfo {
    /// The arguments it was opened with.
    pub args: String,
    /// Driver key (`hackrf`, `ciottest`...).
    pub driver: String,
    /// Hardware key (model).
    pub hardware: String,
    /// Serial number, when the device reports one.
    pub serial: Option<String>,
    /// Sample rate, Hz.
    pub sample_rate_hz: f64,
    /// Centre frequency, Hz (updated by [`SoapySource::retune`]).
    pub center_hz: f64,
    /// Analog bandwidth, Hz, when the device reports one.
    pub bandwidth_hz: Option<f64>,
    /// Antenna, when the device reports one.
    pub antenna: Option<String>,
    /// Gain of every element, dB.
    pub gains_db: Vec<(String, f64)>,
    /// Overall gain, dB.
    pub gain_db: f64,
    /// The stream format used (`CS8` or `CF32`).
    pub stream_format: String,
}

impl CaptureInfo {
    /// `driver serial` (or the hardware key when there is no serial), for messages.
    pub fn device_name(&self) -> String {
        match &self.serial {
            Some(s) => format!("{} {s}", self.driver),
            None => format!("{} {}", self.driver, self.hardware),
        }
    }

    /// A SigMF `core:hw` value: the device and its gains.
    pub fn hw_description(&self) -> String {
        let gains: Vec<(&str, f64)> = self
            .gains_db
            .iter()
            .map(|(n, g)| (n.as_str(), *g))
            .collect();
        hw_description(
            &format!("SoapySDR {} ({})", self.device_name(), self.hardware),
            &gains,
        )
    }
}

/// A device overflow: samples the device could not deliver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DeviceOverflow {
    /// Index of the first sample after which samples went missing.
    pub at_sample: u64,
    /// How many went missing, when the device's timestamps tell (else unknown, and the
    /// sample indices after it are short by that many).
    pub lost_samples: Option<u64>,
}

/// The overflows of a source, readable from another thread while it streams.
#[derive(Debug, Clone, Default)]
pub struct OverflowLog(Arc<Mutex<Vec<DeviceOverflow>>>);

impl OverflowLog {
    /// The overflows so far, in order.
    pub fn snapshot(&self) -> Vec<DeviceOverflow> {
        match self.0.lock() {
            Ok(v) => v.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn push(&self, o: DeviceOverflow) {
        match self.0.lock() {
            Ok(mut v) => v.push(o),
            Err(p) => p.into_inner().push(o),
        }
    }
}

/// Errors of the SoapySDR source. Every message names the device.
#[derive(Debug, thiserror::Error)]
pub enum SoapyError {
    /// No device matched, or it would not open.
    #[error("cannot open SoapySDR device \"{args}\" (is it plugged in, and its SoapySDR module installed? `ciot-sweep devices` lists what SoapySDR finds)")]
    Open {
        /// The arguments.
        args: String,
        /// The driver's error.
        #[source]
        source: soapysdr::Error,
    },
    /// The device rejected a setting.
    #[error("{device}: cannot set {what}")]
    Setting {
        /// The device.
        device: String,
        /// What (with the value).
        what: String,
        /// The driver's error.
        #[source]
        source: soapysdr::Error,
    },
    /// A setting is outside what the device allows.
    #[error("{device}: {what}; allowed: {allowed}")]
    NotAllowed {
        /// The device.
        device: String,
        /// What is wrong.
        what: String,
        /// The allowed values.
        allowed: String,
    },
    /// The stream could not be set up or started.
    #[error("{device}: cannot start the receive stream ({format})")]
    Stream {
        /// The device.
        device: String,
        /// The stream format.
        format: &'static str,
        /// The driver's error.
        #[source]
        source: soapysdr::Error,
    },
    /// The device stopped delivering samples.
    #[error("{device}: no samples for {count} consecutive reads of {timeout_s} s each (timeout) after sample {at_sample}; is the device still connected?")]
    Timeout {
        /// The device.
        device: String,
        /// Timeouts in a row.
        count: u32,
        /// Timeout of one read, seconds.
        timeout_s: f64,
        /// Samples received before.
        at_sample: u64,
    },
    /// The device is gone (stream errors in a row, e.g. unplugged).
    #[error("{device}: device lost after sample {at_sample} (stream error)")]
    Lost {
        /// The device.
        device: String,
        /// Samples received before.
        at_sample: u64,
        /// The driver's error.
        #[source]
        source: soapysdr::Error,
    },
}

enum Rx {
    Cs8(RxStream<Complex<i8>>, Vec<Complex<i8>>),
    Cf32(RxStream<Complex<f32>>),
}

/// A SoapySDR receive channel (channel 0) as a pipeline source.
pub struct SoapySource {
    device: Device,
    name: String,
    rx: Rx,
    active: bool,
    info: CaptureInfo,
    has_end_sensor: bool,
    next_index: u64,
    t0_ns: Option<i64>,
    times_consistent: bool,
    pending_overflow: bool,
    overflows: OverflowLog,
    report_overflows: bool,
    retunes: Vec<(u64, f64)>,
}

fn fmt_range(r: &soapysdr::Range) -> String {
    if r.step > 0.0 {
        format!("{} to {} dB in steps of {}", r.minimum, r.maximum, r.step)
    } else {
        format!("{} to {} dB", r.minimum, r.maximum)
    }
}

fn on_grid(v: f64, r: &soapysdr::Range) -> bool {
    const EPS: f64 = 1e-6;
    if !v.is_finite() {
        return false;
    }
    if v < r.minimum - EPS || v > r.maximum + EPS {
        return false;
    }
    if r.step > 0.0 {
        let k = (v - r.minimum) / r.step;
        return (k - k.round()).abs() < EPS;
    }
    true
}

impl SoapySource {
    /// Opens the device `settings.args` names, applies the settings (gain control off) and
    /// sets up the receive stream (started at the first read).
    pub fn open(settings: &DeviceSettings) -> Result<Self, SoapyError> {
        let device = Device::new(settings.args.as_str()).map_err(|source| SoapyError::Open {
            args: settings.args.clone(),
            source,
        })?;
        let driver = device.driver_key().unwrap_or_else(|_| "unknown".into());
        let hardware = device.hardware_key().unwrap_or_else(|_| "unknown".into());
        let serial = device
            .hardware_info()
            .ok()
            .and_then(|i| i.get("serial").map(str::to_string))
            .filter(|s| !s.is_empty());
        let name = match &serial {
            Some(s) => format!("SoapySDR device {driver} {s}"),
            None => format!("SoapySDR device \"{}\"", settings.args),
        };
        let dir = Direction::Rx;
        let setting_err = |what: String| {
            let name = name.clone();
            move |source| SoapyError::Setting {
                device: name,
                what,
                source,
            }
        };
        let not_allowed = |what: String, allowed: String| SoapyError::NotAllowed {
            device: name.clone(),
            what,
            allowed,
        };

        // Sample rate and frequency, checked against the advertised ranges first so the
        // message lists them.
        if let Ok(ranges) = device.get_sample_rate_range(dir, 0) {
            let ok = ranges.is_empty()
                || ranges.iter().any(|r| {
                    settings.sample_rate_hz >= r.minimum - 1.0
                        && settings.sample_rate_hz <= r.maximum + 1.0
                });
            if !ok {
                return Err(not_allowed(
                    format!(
                        "sample rate {} Hz is not supported",
                        settings.sample_rate_hz
                    ),
                    list_ranges_hz(&ranges),
                ));
            }
        }
        device
            .set_sample_rate(dir, 0, settings.sample_rate_hz)
            .map_err(setting_err(format!(
                "sample rate {} Hz",
                settings.sample_rate_hz
            )))?;
        if let Ok(ranges) = device.frequency_range(dir, 0) {
            let ok = ranges.is_empty()
                || ranges.iter().any(|r| {
                    settings.center_hz >= r.minimum - 1.0 && settings.center_hz <= r.maximum + 1.0
                });
            if !ok {
                return Err(not_allowed(
                    format!("frequency {} Hz is out of range", settings.center_hz),
                    list_ranges_hz(&ranges),
                ));
            }
        }
        device
            .set_frequency(dir, 0, settings.center_hz, ())
            .map_err(setting_err(format!("frequency {} Hz", settings.center_hz)))?;
        if let Some(bw) = settings.bandwidth_hz {
            device
                .set_bandwidth(dir, 0, bw)
                .map_err(setting_err(format!("bandwidth {bw} Hz")))?;
        }
        if let Some(ant) = &settings.antenna {
            let list = device.antennas(dir, 0).unwrap_or_default();
            let found = list.iter().find(|a| a.eq_ignore_ascii_case(ant)).cloned();
            let Some(ant_name) = found else {
                return Err(not_allowed(
                    format!("no antenna \"{ant}\""),
                    if list.is_empty() {
                        "none listed".into()
                    } else {
                        list.join(", ")
                    },
                ));
            };
            device
                .set_antenna(dir, 0, ant_name.as_str())
                .map_err(setting_err(format!("antenna {ant_name}")))?;
        }

        // Gains: fixed (AGC off), overall first, then per element.
        if device.has_gain_mode(dir, 0).unwrap_or(false) {
            device
                .set_gain_mode(dir, 0, false)
                .map_err(setting_err("gain mode manual (AGC off)".into()))?;
        }
        let elements = device.list_gains(dir, 0).unwrap_or_default();
        let mut wanted: Vec<(String, f64)> = settings.gains.clone();
        if wanted.is_empty() && settings.gain_db.is_none() {
            wanted = DEFAULT_GAINS_DB
                .iter()
                .filter(|(n, _)| elements.iter().any(|e| e == n))
                .map(|(n, g)| (n.to_string(), *g))
                .collect();
        }
        if let Some(g) = settings.gain_db {
            let r = device
                .gain_range(dir, 0)
                .map_err(setting_err("overall gain range".into()))?;
            if !on_grid(g, &soapysdr::Range { step: 0.0, ..r }) {
                return Err(not_allowed(
                    format!("overall gain {g} dB is out of range"),
                    fmt_range(&soapysdr::Range { step: 0.0, ..r }),
                ));
            }
            device
                .set_gain(dir, 0, g)
                .map_err(setting_err(format!("overall gain {g} dB")))?;
        }
        for (gname, g) in &wanted {
            let Some(el) = elements.iter().find(|e| e.eq_ignore_ascii_case(gname)) else {
                return Err(not_allowed(
                    format!("no gain element \"{gname}\""),
                    if elements.is_empty() {
                        "none (use --gain-db)".into()
                    } else {
                        elements.join(", ")
                    },
                ));
            };
            let r = device
                .gain_element_range(dir, 0, el.as_str())
                .map_err(setting_err(format!("{el} gain range")))?;
            if !on_grid(*g, &r) {
                return Err(not_allowed(
                    format!("gain {el}={g} dB is not possible"),
                    format!("{el} {}", fmt_range(&r)),
                ));
            }
            device
                .set_gain_element(dir, 0, el.as_str(), *g)
                .map_err(setting_err(format!("gain {el}={g} dB")))?;
        }

        // Stream format: CS8 when offered (and asked for or automatic), else CF32.
        let formats = device.stream_formats(dir, 0).unwrap_or_default();
        let has_cs8 = formats.contains(&soapysdr::Format::CS8);
        let use_cs8 = match settings.stream_format {
            StreamFormat::Auto => has_cs8,
            StreamFormat::Cs8 => {
                if !has_cs8 {
                    return Err(not_allowed(
                        "stream format CS8 is not offered".into(),
                        formats
                            .iter()
                            .map(|f| f.to_string())
                            .collect::<Vec<_>>()
                            .join(", "),
                    ));
                }
                true
            }
            StreamFormat::Cf32 => false,
        };
        let rx = if use_cs8 {
            let s = device
                .rx_stream::<Complex<i8>>(&[0])
                .map_err(|source| SoapyError::Stream {
                    device: name.clone(),
                    format: "CS8",
                    source,
                })?;
            Rx::Cs8(s, vec![Complex::new(0, 0); READ_SAMPLES])
        } else {
            let s =
                device
                    .rx_stream::<Complex<f32>>(&[0])
                    .map_err(|source| SoapyError::Stream {
                        device: name.clone(),
                        format: "CF32",
                        source,
                    })?;
            Rx::Cf32(s)
        };

        let gains_db = elements
            .iter()
            .filter_map(|e| {
                device
                    .gain_element(dir, 0, e.as_str())
                    .ok()
                    .map(|g| (e.clone(), g))
            })
            .collect();
        let info = CaptureInfo {
            args: settings.args.clone(),
            driver,
            hardware,
            serial,
            sample_rate_hz: device
                .sample_rate(dir, 0)
                .ok()
                .filter(|r| *r > 0.0)
                .unwrap_or(settings.sample_rate_hz),
            center_hz: device
                .frequency(dir, 0)
                .ok()
                .filter(|f| *f > 0.0)
                .unwrap_or(settings.center_hz),
            bandwidth_hz: device.bandwidth(dir, 0).ok().filter(|b| *b > 0.0),
            antenna: device.antenna(dir, 0).ok().filter(|a| !a.is_empty()),
            gains_db,
            gain_db: device.gain(dir, 0).unwrap_or(f64::NAN),
            stream_format: if use_cs8 { "CS8" } else { "CF32" }.into(),
        };
        let has_end_sensor = device
            .list_sensors()
            .map(|l| l.iter().any(|s| s == STREAM_ENDED_SENSOR))
            .unwrap_or(false);
        Ok(SoapySource {
            device,
            name,
            rx,
            active: false,
            info,
            has_end_sensor,
            next_index: 0,
            t0_ns: None,
            times_consistent: false,
            pending_overflow: false,
            overflows: OverflowLog::default(),
            report_overflows: false,
            retunes: Vec::new(),
        })
    }

    /// What the device actually applied.
    pub fn capture_info(&self) -> &CaptureInfo {
        &self.info
    }

    /// The device, as named in messages.
    pub fn device_name(&self) -> &str {
        &self.name
    }

    /// A handle on the overflow log, readable while the source streams in another thread.
    pub fn overflow_log(&self) -> OverflowLog {
        self.overflows.clone()
    }

    /// Print a line on stderr at every overflow (as it happens).
    pub fn set_report_overflows(&mut self, on: bool) {
        self.report_overflows = on;
    }

    /// Retunes to `center_hz` while streaming; returns the index of the first sample read
    /// after the retune (the caller marks the samples after it as settling).
    pub fn retune(&mut self, center_hz: f64) -> Result<u64, SoapyError> {
        self.device
            .set_frequency(Direction::Rx, 0, center_hz, ())
            .map_err(|source| SoapyError::Setting {
                device: self.name.clone(),
                what: format!("frequency {center_hz} Hz (retune)"),
                source,
            })?;
        self.info.center_hz = self
            .device
            .frequency(Direction::Rx, 0)
            .ok()
            .filter(|f| *f > 0.0)
            .unwrap_or(center_hz);
        self.retunes.push((self.next_index, self.info.center_hz));
        Ok(self.next_index)
    }

    /// Stream index of the next sample `read_block` returns.
    pub fn next_sample(&self) -> u64 {
        self.next_index
    }

    /// The retunes so far: (index of the first sample at the new frequency, frequency Hz).
    pub fn retunes(&self) -> &[(u64, f64)] {
        &self.retunes
    }

    /// The device's own stream time converted to a sample index since the first read.
    fn index_of_time(&self, t_ns: i64) -> Option<u64> {
        let t0 = self.t0_ns?;
        let dt = t_ns.checked_sub(t0)?;
        if dt < 0 {
            return None;
        }
        let idx = (dt as f64 * self.info.sample_rate_hz / 1e9).round();
        (idx.is_finite() && idx >= 0.0).then_some(idx as u64)
    }

    fn read_once(&mut self, block: &mut IqBlock) -> Result<usize, soapysdr::Error> {
        let timeout_us = (READ_TIMEOUT_S * 1e6) as i64;
        match &mut self.rx {
            Rx::Cs8(s, buf) => {
                let n = s.read(&mut [&mut buf[..]], timeout_us)?;
                block.samples.clear();
                block.samples.resize(n, Complex::new(0.0, 0.0));
                // SAFETY: `Complex<i8>` is `repr(C)` {re: i8, im: i8}: 2 bytes, alignment 1,
                // so `n` of them are `2 n` initialised bytes in I, Q order.
                let bytes = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), n * 2) };
                SampleFormat::Ci8.decode(bytes, &mut block.samples);
                Ok(n)
            }
            Rx::Cf32(s) => {
                block.samples.clear();
                block.samples.resize(READ_SAMPLES, Complex::new(0.0, 0.0));
                let n = s.read(&mut [&mut block.samples[..]], timeout_us)?;
                block.samples.truncate(n);
                Ok(n)
            }
        }
    }

    fn stream_time_ns(&self) -> i64 {
        match &self.rx {
            Rx::Cs8(s, _) => s.time_ns(),
            Rx::Cf32(s) => s.time_ns(),
        }
    }

    fn activate(&mut self) -> Result<(), SoapyError> {
        let (r, format) = match &mut self.rx {
            Rx::Cs8(s, _) => (s.activate(None), "CS8"),
            Rx::Cf32(s) => (s.activate(None), "CF32"),
        };
        r.map_err(|source| SoapyError::Stream {
            device: self.name.clone(),
            format,
            source,
        })?;
        self.active = true;
        Ok(())
    }

    fn stream_ended(&self) -> bool {
        self.has_end_sensor
            && self
                .device
                .read_sensor(STREAM_ENDED_SENSOR)
                .map(|v| v.trim().eq_ignore_ascii_case("true"))
                .unwrap_or(false)
    }
}

fn list_ranges_hz(ranges: &[soapysdr::Range]) -> String {
    let v: Vec<String> = ranges
        .iter()
        .map(|r| {
            if r.minimum == r.maximum {
                format!("{} Hz", r.minimum)
            } else {
                format!("{} to {} Hz", r.minimum, r.maximum)
            }
        })
        .collect();
    v.join(", ")
}

impl fmt::Debug for SoapySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SoapySource")
            .field("device", &self.name)
            .field("info", &self.info)
            .field("next_index", &self.next_index)
            .finish()
    }
}

impl Source for SoapySource {
    fn read_block(&mut self, block: &mut IqBlock) -> anyhow::Result<bool> {
        if !self.active {
            self.activate()?;
        }
        let mut timeouts = 0u32;
        let mut stream_errors = 0u32;
        let mut empty_reads = 0u32;
        loop {
            match self.read_once(block) {
                Ok(0) => {
                    if self.stream_ended() {
                        return Ok(false);
                    }
                    empty_reads += 1;
                    if empty_reads > MAX_CONSECUTIVE_TIMEOUTS {
                        return Err(SoapyError::Timeout {
                            device: self.name.clone(),
                            count: empty_reads,
                            timeout_s: READ_TIMEOUT_S,
                            at_sample: self.next_index,
                        }
                        .into());
                    }
                }
                Ok(n) => {
                    let t = self.stream_time_ns();
                    let mut first = self.next_index;
                    match self.t0_ns {
                        None => self.t0_ns = Some(t),
                        Some(_) if !self.pending_overflow => {
                            // Timestamps are trusted once they agree with the sample count.
                            let agrees = self.index_of_time(t) == Some(self.next_index);
                            self.times_consistent = agrees;
                        }
                        Some(_) => {}
                    }
                    if self.pending_overflow {
                        self.pending_overflow = false;
                        let lost = if self.times_consistent {
                            self.index_of_time(t)
                                .and_then(|i| i.checked_sub(self.next_index))
                        } else {
                            None
                        };
                        if let Some(l) = lost {
                            first = self.next_index + l;
                        }
                        let o = DeviceOverflow {
                            at_sample: self.next_index,
                            lost_samples: lost,
                        };
                        if self.report_overflows {
                            match lost {
                                Some(l) => eprintln!(
                                    "{}: overflow at sample {}: {l} samples lost",
                                    self.name, o.at_sample
                                ),
                                None => eprintln!(
                                    "{}: overflow at sample {}: samples lost (count unknown: no device timestamps)",
                                    self.name, o.at_sample
                                ),
                            }
                        }
                        self.overflows.push(o);
                    }
                    block.first_sample = first;
                    self.next_index = first + n as u64;
                    return Ok(true);
                }
                Err(e) => match e.code {
                    ErrorCode::Overflow => {
                        // Counted once per run of overflow reports, resolved at the next read.
                        self.pending_overflow = true;
                        timeouts = 0;
                    }
                    ErrorCode::Timeout => {
                        timeouts += 1;
                        if timeouts > MAX_CONSECUTIVE_TIMEOUTS {
                            return Err(SoapyError::Timeout {
                                device: self.name.clone(),
                                count: timeouts,
                                timeout_s: READ_TIMEOUT_S,
                                at_sample: self.next_index,
                            }
                            .into());
                        }
                    }
                    ErrorCode::StreamError | ErrorCode::Corruption => {
                        stream_errors += 1;
                        if stream_errors >= MAX_CONSECUTIVE_STREAM_ERRORS {
                            return Err(SoapyError::Lost {
                                device: self.name.clone(),
                                at_sample: self.next_index,
                                source: e,
                            }
                            .into());
                        }
                    }
                    _ => {
                        return Err(SoapyError::Lost {
                            device: self.name.clone(),
                            at_sample: self.next_index,
                            source: e,
                        }
                        .into())
                    }
                },
            }
        }
    }

    fn sample_rate_hz(&self) -> f64 {
        self.info.sample_rate_hz
    }

    fn is_live(&self) -> bool {
        true
    }

    fn take_warnings(&mut self) -> Vec<String> {
        let unknown = self
            .overflows
            .snapshot()
            .iter()
            .filter(|o| o.lost_samples.is_none())
            .count();
        if unknown > 0 {
            vec![format!(
                "{}: {unknown} overflow(s) of unknown size (the device gives no usable timestamps): sample indices after them are short by what was lost",
                self.name
            )]
        } else {
            Vec::new()
        }
    }
}

/// One device as SoapySDR enumerates it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceEntry {
    /// The arguments that open it (`key=value,...`).
    pub args: String,
    /// `label`, when given.
    pub label: Option<String>,
    /// `driver`.
    pub driver: Option<String>,
    /// `serial`, when given.
    pub serial: Option<String>,
}

/// Lists the devices SoapySDR finds for `filter` (e.g. `""` for all, `driver=hackrf`).
pub fn enumerate(filter: &str) -> Result<Vec<DeviceEntry>, soapysdr::Error> {
    let list = soapysdr::enumerate(filter)?;
    Ok(list
        .iter()
        .map(|a| DeviceEntry {
            args: a.to_string(),
            label: a.get("label").map(str::to_string),
            driver: a.get("driver").map(str::to_string),
            serial: a.get("serial").map(str::to_string),
        })
        .collect())
}

/// What a device offers, for `devices --probe`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceProbe {
    /// Driver key.
    pub driver: String,
    /// Hardware key.
    pub hardware: String,
    /// Native stream format and its full scale.
    pub native_format: Option<(String, f64)>,
    /// Stream formats offered.
    pub stream_formats: Vec<String>,
    /// Listed sample rates, Hz (may be empty).
    pub sample_rates_hz: Vec<(f64, f64)>,
    /// Gain elements with their ranges: (name, min dB, max dB, step dB).
    pub gains: Vec<(String, f64, f64, f64)>,
    /// Antennas.
    pub antennas: Vec<String>,
    /// Frequency ranges, Hz.
    pub frequency_ranges_hz: Vec<(f64, f64)>,
}

/// Opens the device `args` and says what it offers on receive channel 0.
pub fn probe(args: &str) -> Result<DeviceProbe, SoapyError> {
    let d = Device::new(args).map_err(|source| SoapyError::Open {
        args: args.to_string(),
        source,
    })?;
    let dir = Direction::Rx;
    let gains = d
        .list_gains(dir, 0)
        .unwrap_or_default()
        .into_iter()
        .map(|g| {
            let r = d
                .gain_element_range(dir, 0, g.as_str())
                .unwrap_or(soapysdr::Range {
                    minimum: f64::NAN,
                    maximum: f64::NAN,
                    step: 0.0,
                });
            (g, r.minimum, r.maximum, r.step)
        })
        .collect();
    Ok(DeviceProbe {
        driver: d.driver_key().unwrap_or_default(),
        hardware: d.hardware_key().unwrap_or_default(),
        native_format: d
            .native_stream_format(dir, 0)
            .ok()
            .map(|(f, fs)| (f.to_string(), fs)),
        stream_formats: d
            .stream_formats(dir, 0)
            .unwrap_or_default()
            .iter()
            .map(|f| f.to_string())
            .collect(),
        sample_rates_hz: d
            .get_sample_rate_range(dir, 0)
            .unwrap_or_default()
            .iter()
            .map(|r| (r.minimum, r.maximum))
            .collect(),
        gains,
        antennas: d.antennas(dir, 0).unwrap_or_default(),
        frequency_ranges_hz: d
            .frequency_range(dir, 0)
            .unwrap_or_default()
            .iter()
            .map(|r| (r.minimum, r.maximum))
            .collect(),
    })
}

impl crate::sweep::Tunable for SoapySource {
    fn retune(&mut self, center_hz: f64) -> anyhow::Result<()> {
        SoapySource::retune(self, center_hz)?;
        Ok(())
    }
    fn next_sample(&self) -> u64 {
        self.next_index
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gain_grid_checks() {
        let lna = soapysdr::Range {
            minimum: 0.0,
            maximum: 40.0,
            step: 8.0,
        };
        assert!(on_grid(0.0, &lna));
        assert!(on_grid(16.0, &lna));
        assert!(on_grid(40.0, &lna));
        assert!(!on_grid(20.0, &lna));
        assert!(!on_grid(48.0, &lna));
        assert!(!on_grid(-8.0, &lna));
        assert!(!on_grid(f64::NAN, &lna));
        assert_eq!(fmt_range(&lna), "0 to 40 dB in steps of 8");
    }

    #[test]
    fn stream_format_names() {
        assert_eq!("cs8".parse(), Ok(StreamFormat::Cs8));
        assert_eq!("CF32".parse(), Ok(StreamFormat::Cf32));
        assert_eq!("auto".parse(), Ok(StreamFormat::Auto));
        assert!("cu8".parse::<StreamFormat>().is_err());
    }
}
