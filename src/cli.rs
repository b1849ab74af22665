//! Command-line definitions (clap). The contract is INTERFACES.md section 0.

use clap::{ArgGroup, Args, Parser, Subcommand};
use std::path::PathBuf;

/// Find hidden cellular IoT modules (NB-IoT, LTE-M) by hearing their uplink.
#[derive(Debug, Parser)]
#[command(name = "ciot-sweep", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Detect NB-IoT / LTE-M uplink bursts in a recording (SigMF, raw, or `-` for stdin) or
    /// live from an SDR (`--device driver=hackrf`).
    Scan(ScanArgs),
    /// Make a standard-exact test recording (SigMF + truth JSONL) from a TOML scenario.
    Synth(SynthArgs),
    /// Print what a recording is: format, rate, frequency, duration, level, integrity.
    Info(InfoArgs),
    /// Measure the detectors: Pd vs SNR, classification, false alarms (fresh-seed synthesis).
    Eval(EvalArgs),
    /// List the SDR devices SoapySDR finds (needs the `soapy` feature).
    Devices(DevicesArgs),
}

/// A usage error found after parsing (exit status 2, like clap's own).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// `devices` options.
#[derive(Debug, Args)]
pub struct DevicesArgs {
    /// Only devices matching these SoapySDR arguments (e.g. `driver=hackrf`).
    #[arg(value_name = "ARGS", default_value = "")]
    pub filter: String,
    /// Open each device and list its native format, sample rates, gain elements, antennas.
    #[arg(long)]
    pub probe: bool,
}

/// Live device options of `scan` (INTERFACES.md section 0).
#[derive(Debug, Args, Clone, Default)]
pub struct DeviceArgs {
    /// Scan live from the SoapySDR device these arguments name (`driver=hackrf`,
    /// `driver=hackrf,serial=...`), instead of a recording.
    #[arg(long, value_name = "ARGS")]
    pub device: Option<String>,
    /// Analog (baseband filter) bandwidth of the device, Hz (default: the driver's choice).
    #[arg(long, value_name = "HZ", value_parser = parse_hz)]
    pub bandwidth: Option<f64>,
    /// Antenna of the device (default: the device's).
    #[arg(long, value_name = "NAME")]
    pub antenna: Option<String>,
    /// Gain of one element, dB, e.g. `--gain LNA=24 --gain VGA=20` (default for a HackRF:
    /// AMP=0, LNA=16, VGA=20).
    #[arg(long, value_name = "NAME=DB", value_parser = parse_gain)]
    pub gain: Vec<(String, f64)>,
    /// Overall gain, dB, distributed over the elements by the driver.
    #[arg(long, value_name = "DB", allow_hyphen_values = true)]
    pub gain_db: Option<f64>,
    /// Device stream format: auto (CS8 when offered, else CF32), cs8, cf32.
    #[arg(long, value_name = "FORMAT", default_value = "auto",
          value_parser = ["auto", "cs8", "cf32"])]
    pub stream_format: String,
}

/// `eval` options.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Output folder for eval.md, eval.json and pd_vs_snr.png.
    #[arg(long, default_value = "eval-out")]
    pub out: PathBuf,
    /// Trials per SNR point.
    #[arg(long, default_value_t = 20)]
    pub trials: usize,
    /// Lowest SNR, dB.
    #[arg(long, default_value_t = -20.0, allow_hyphen_values = true)]
    pub snr_min: f64,
    /// Highest SNR, dB.
    #[arg(long, default_value_t = 6.0, allow_hyphen_values = true)]
    pub snr_max: f64,
    /// SNR step, dB.
    #[arg(long, default_value_t = 2.0)]
    pub snr_step: f64,
    /// Only cases whose name contains this.
    #[arg(long)]
    pub case: Option<String>,
    /// Seconds of noise-only input for the false-alarm measurement.
    #[arg(long, default_value_t = 60.0)]
    pub noise_seconds: f64,
    /// Allowed false alarms per hour per monitored MHz, all detectors together (as `scan`).
    #[arg(long, default_value_t = 0.5)]
    pub false_alarms_per_hour: f64,
    /// Base seed (every trial derives its own).
    #[arg(long, default_value_t = 0x5eed)]
    pub seed: u64,
    /// Detectors to run, comma-separated (default: all, the experimental ones included).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub detectors: Option<Vec<crate::detectors::Which>>,
}

impl EvalArgs {
    /// The options as a command line, to print with the results.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "--trials {} --snr-min {} --snr-max {} --snr-step {} --noise-seconds {} --seed {}",
            self.trials, self.snr_min, self.snr_max, self.snr_step, self.noise_seconds, self.seed
        );
        if let Some(c) = &self.case {
            s.push_str(&format!(" --case {c}"));
        }
        if let Some(d) = &self.detectors {
            let names: Vec<&str> = d.iter().map(|w| w.name()).collect();
            s.push_str(&format!(" --detectors {}", names.join(",")));
        }
        s
    }
}

/// Input options shared by the commands that read a recording.
#[derive(Debug, Args, Clone)]
pub struct InputArgs {
    /// A `.sigmf-meta` or `.sigmf-data` path, a raw IQ file, or `-` for standard input.
    pub input: Option<PathBuf>,
    /// Sample format of a raw input: ci8 (cs8, HackRF), cu8 (RTL-SDR), ci16, cf32.
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Sample rate of a raw input, or to set on a `--device` (default 15.36 MS/s), Hz
    /// (e.g. 15.36e6 or 15.36M).
    #[arg(long, value_name = "HZ", value_parser = parse_hz)]
    pub sample_rate: Option<f64>,
    /// Centre frequency of the capture, or to tune a `--device` to, Hz (e.g. 847e6 or 847M).
    #[arg(long, value_name = "HZ", value_parser = parse_hz)]
    pub frequency: Option<f64>,
}

/// `scan` options.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("source").required(true).args(["input", "device"])))]
pub struct ScanArgs {
    /// The recording.
    #[command(flatten)]
    pub input: InputArgs,
    /// A live device instead.
    #[command(flatten)]
    pub device: DeviceArgs,
    /// Stop after this many seconds of samples.
    #[arg(long, value_name = "S", value_parser = parse_seconds)]
    pub duration: Option<f64>,
    /// Write detection records as JSON Lines to PATH, or to standard output with `-`.
    #[arg(long, value_name = "PATH|-")]
    pub json: Option<PathBuf>,
    /// Print per-detector counters of why candidates were rejected.
    #[arg(long)]
    pub stats: bool,
    /// Pace a file like a live device (the ring then drops, and counts, what the DSP misses).
    #[arg(long)]
    pub realtime: bool,
    /// Allowed false alarms per hour of noise per monitored MHz, all detectors together
    /// (sets every threshold; 0.5 keeps a 1.92 MS/s input under one per hour).
    #[arg(long, value_name = "RATE", default_value_t = 0.5)]
    pub false_alarms_per_hour: f64,
    /// Detectors to run, comma-separated: energy, nprach, prach (the default), and the
    /// experimental pusch, npusch.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub detectors: Option<Vec<crate::detectors::Which>>,
    /// No progress bar (and, live, no device line or per-overflow lines).
    #[arg(long, short)]
    pub quiet: bool,
}

/// `synth` options.
#[derive(Debug, Args)]
pub struct SynthArgs {
    /// The scenario (TOML), e.g. recordings/scenarios/car-sweep.toml.
    pub scenario: PathBuf,
    /// Output base: writes BASE.sigmf-meta, BASE.sigmf-data and BASE.truth.jsonl.
    #[arg(long, short, value_name = "BASE")]
    pub output: PathBuf,
    /// Override the scenario's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Override the scenario's sample format (ci8, cu8, ci16_le, cf32_le).
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Override the scenario's duration, seconds.
    #[arg(long, value_name = "S")]
    pub duration: Option<f64>,
}

/// `info` options.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("recording").required(true).args(["input"])))]
pub struct InfoArgs {
    /// The recording.
    #[command(flatten)]
    pub input: InputArgs,
    /// Check `core:sha512` against the data file.
    #[arg(long)]
    pub verify: bool,
}

/// Parses a frequency or rate: a plain number (`15360000`, `15.36e6`) or with a k/M/G suffix
/// (`15.36M`).
pub fn parse_hz(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let (num, mul) = match t.chars().last() {
        Some('k' | 'K') => (&t[..t.len() - 1], 1e3),
        Some('M') => (&t[..t.len() - 1], 1e6),
        Some('G' | 'g') => (&t[..t.len() - 1], 1e9),
        _ => (t, 1.0),
    };
    let v: f64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a frequency (e.g. 15.36e6 or 15.36M)"))?;
    let hz = v * mul;
    if !hz.is_finite() || hz <= 0.0 {
        return Err(format!("'{s}' must be a positive number of Hz"));
    }
    Ok(hz)
}

/// Parses `NAME=DB` (a gain element and its gain).
pub fn parse_gain(s: &str) -> Result<(String, f64), String> {
    let (name, db) = s
        .split_once('=')
        .ok_or_else(|| format!("'{s}' is not NAME=DB (e.g. LNA=24)"))?;
    let name = name.trim();
    let db: f64 = db
        .trim()
        .parse()
        .map_err(|_| format!("'{s}': the gain must be a number of dB (e.g. LNA=24)"))?;
    if name.is_empty() || !db.is_finite() {
        return Err(format!("'{s}' is not NAME=DB (e.g. LNA=24)"));
    }
    Ok((name.to_string(), db))
}

/// Parses a positive number of seconds.
pub fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("'{s}' must be a positive number of seconds")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hz_parsing() {
        assert_eq!(parse_hz("15.36M"), Ok(15.36e6));
        assert_eq!(parse_hz("1920000"), Ok(1.92e6));
        assert_eq!(parse_hz("847.5e6"), Ok(847.5e6));
        assert_eq!(parse_hz("2k"), Ok(2000.0));
        assert!(parse_hz("abc").is_err());
        assert!(parse_hz("-5").is_err());
        assert!(parse_hz("0").is_err());
    }

    #[test]
    fn gain_parsing() {
        assert_eq!(parse_gain("LNA=24"), Ok(("LNA".to_string(), 24.0)));
        assert_eq!(parse_gain(" VGA = 2.5"), Ok(("VGA".to_string(), 2.5)));
        assert!(parse_gain("LNA").is_err());
        assert!(parse_gain("=3").is_err());
        assert!(parse_gain("LNA=x").is_err());
        assert!(parse_seconds("0").is_err());
        assert_eq!(parse_seconds("1.5"), Ok(1.5));
    }

    #[test]
    fn scan_wants_exactly_one_of_input_or_device() {
        assert!(Cli::try_parse_from(["ciot-sweep", "scan"]).is_err());
        assert!(
            Cli::try_parse_from(["ciot-sweep", "scan", "x.cs8", "--device", "driver=a"]).is_err()
        );
        assert!(Cli::try_parse_from(["ciot-sweep", "scan", "x.cs8"]).is_ok());
        assert!(Cli::try_parse_from(["ciot-sweep", "scan", "--device", "driver=a"]).is_ok());
        assert!(Cli::try_parse_from(["ciot-sweep", "info"]).is_err());
    }

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
