//! Command-line definitions (clap). The contract is INTERFACES.md section 0.

use clap::{ArgGroup, Args, Parser, Subcommand};
use std::path::PathBuf;

/// Find hidden cellular IoT modules (NB-IoT, LTE-M) by hearing their uplink.
#[derive(Debug, Parser)]
#[command(name = "ciot-sweep", version, about, long_about = None)]
pub struct Cli {
    /// Worker threads of the detectors (default: one per CPU core, or RAYON_NUM_THREADS).
    /// The detections do not depend on it.
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
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
    /// Proximity meter: one row per emitter with its power, peak and trend, to walk the
    /// antenna towards a module (a file replays in real time with `--realtime`).
    Locate(LocateArgs),
    /// Build a list of known emitters from a capture made outside the target, for
    /// `scan --baseline`.
    Baseline(BaselineArgs),
    /// Measure the detectors: Pd vs SNR, classification, false alarms (fresh-seed synthesis).
    Eval(EvalArgs),
    /// Print the LTE uplink band table, the region presets and the tunings that cover a band.
    Bands(BandsArgs),
    /// List the SDR devices SoapySDR finds (needs the `soapy` feature).
    Devices(DevicesArgs),
    /// Sweep a device over the uplink bands (`--band`, `--region`) or centre frequencies,
    /// dwelling on each tuning long enough to catch NPRACH periods.
    Sweep(SweepArgs),
    /// Write an evidence report of a recording: spectrum, spectrogram with the detections
    /// boxed, emitter timeline and power plots (PNG + SVG), report.html, report.json,
    /// SHA256SUMS.
    Report(ReportArgs),
}

/// `sweep` options.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The device and its settings (`--device` is required).
    #[command(flatten)]
    pub device: DeviceArgs,
    /// Bands to cover (B20, 20...), repeatable.
    #[arg(long, value_name = "BAND", value_parser = parse_band_arg)]
    pub band: Vec<u16>,
    /// A region preset (the bands NB-IoT and LTE-M typically use there).
    #[arg(long, value_name = "REGION", ignore_case = true,
          value_parser = clap::builder::PossibleValuesParser::new(crate::bands::REGION_NAMES))]
    pub region: Option<String>,
    /// Centre frequencies to visit instead of bands, Hz (repeatable).
    #[arg(long, value_name = "HZ", value_parser = parse_hz)]
    pub frequency: Vec<f64>,
    /// Device sample rate, Hz (tunings are planned for it).
    #[arg(long, value_name = "HZ", value_parser = parse_plan_rate, default_value = "15.36M")]
    pub sample_rate: f64,
    /// Seconds on each tuning (default 3.5: one 2.56 s NPRACH period + the longest preamble).
    #[arg(long, value_name = "S", value_parser = parse_seconds, default_value_t = crate::sweep::DEFAULT_DWELL_S)]
    pub dwell: f64,
    /// Milliseconds after each retune treated as settling (recorded, never detected).
    #[arg(long, value_name = "MS", default_value_t = crate::sweep::DEFAULT_SETTLE_S * 1e3)]
    pub settle_ms: f64,
    /// Passes over the tunings (default: until Ctrl-C).
    #[arg(long, value_name = "N")]
    pub cycles: Option<u64>,
    /// Write detection records as JSON Lines to PATH, or `-` for standard output.
    #[arg(long, value_name = "PATH|-")]
    pub json: Option<PathBuf>,
    /// Record the whole sweep (SigMF or `.h5`): a capture segment per tuning.
    #[arg(long, value_name = "PATH")]
    pub record: Option<PathBuf>,
    /// False-alarm budget per hour per monitored MHz (as `scan`).
    #[arg(long, value_name = "RATE", default_value_t = 0.5)]
    pub false_alarms_per_hour: f64,
    /// Detectors (as `scan`).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub detectors: Option<Vec<crate::detectors::Which>>,
    /// No per-tuning lines.
    #[arg(long, short)]
    pub quiet: bool,
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

/// `report` options.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The recording (a file: the report reads it more than once).
    #[command(flatten)]
    pub input: InputArgs,
    /// Output folder (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Detections to report (JSON Lines, e.g. from `scan --json`) instead of scanning.
    #[arg(long, value_name = "FILE.jsonl")]
    pub detections: Option<PathBuf>,
    /// Known emitters (from `ciot-sweep baseline`): each emitter is marked known or NEW.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Detectors to run when scanning, comma-separated (as `scan`).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub detectors: Option<Vec<crate::detectors::Which>>,
    /// Allowed false alarms per hour of noise per monitored MHz (as `scan`).
    #[arg(long, value_name = "RATE", default_value_t = 0.5)]
    pub false_alarms_per_hour: f64,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
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
    /// Only redraw `pd_vs_snr.png` from the `eval.json` already in `--out` (no trials).
    #[arg(long)]
    pub replot: bool,
    /// Captures (0.6 s each) per interferer for the "no cellular report" measurement (default:
    /// `--trials`; 0 skips the interferers).
    #[arg(long, value_name = "N")]
    pub interferer_trials: Option<usize>,
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
        if let Some(n) = self.interferer_trials {
            s.push_str(&format!(" --interferer-trials {n}"));
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
    /// With `--device`: tune to cover this uplink band (B20, 20...). A band wider than one
    /// tuning at the sample rate is swept (as `ciot-sweep sweep --band`).
    #[arg(long, value_name = "BAND", value_parser = parse_band_arg, conflicts_with = "frequency")]
    pub band: Option<u16>,
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
    /// Record every sample delivered to PATH: SigMF (`BASE`, `BASE.sigmf-meta`) in the
    /// source's native format, or HDF5 (`.h5`, feature `hdf5`), with the detections
    /// stored in it; flushed every second; SHA-256 in `SHA256SUMS` beside it.
    #[arg(long, value_name = "PATH")]
    pub record: Option<PathBuf>,
    /// Write a SigMF snippet around each detection into DIR (from the pre-trigger history).
    #[arg(long, value_name = "DIR")]
    pub snapshots: Option<PathBuf>,
    /// Snapshot length before each burst, ms.
    #[arg(long, value_name = "MS", default_value_t = 50.0)]
    pub snapshot_pre_ms: f64,
    /// Snapshot length after each burst, ms.
    #[arg(long, value_name = "MS", default_value_t = 50.0)]
    pub snapshot_post_ms: f64,
    /// Known emitters (from `ciot-sweep baseline`): each emitter is marked known or NEW.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Set by `baseline`: write the emitters heard to this file.
    #[arg(skip)]
    pub baseline_out: Option<PathBuf>,
    /// Set by `locate`: show the proximity meter instead of the progress bar.
    #[arg(skip)]
    pub locate: Option<LocateOptions>,
}

/// `locate` options: a scan shown as the proximity meter.
#[derive(Debug, Args)]
pub struct LocateArgs {
    /// The scan to show (the same inputs and options as `scan`).
    #[command(flatten)]
    pub scan: ScanArgs,
    /// Play a click per burst of the pinned emitter, its pitch rising with the burst's SNR:
    /// 300 Hz at the noise floor to 2.5 kHz at 40 dB above it (log scale, about a semitone
    /// per dB). Needs a build with `--features audio`; without a usable sound card, one
    /// warning and locate goes on silently.
    #[arg(long)]
    pub audio: bool,
    /// Pin this emitter (the `#` column, numbered in order of first appearance) instead of
    /// the first one heard (or, with `--baseline`, the first NEW one). On a terminal up/down
    /// still move the pin.
    #[arg(long, value_name = "EMITTER_ID")]
    pub pin: Option<u64>,
}

/// What `locate` adds to a scan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocateOptions {
    /// Click per burst of the pinned emitter (`--audio`).
    pub audio: bool,
    /// The emitter pinned from the start (`--pin`).
    pub pin: Option<u64>,
}

/// `baseline` options: a scan whose emitters are written as the known ones.
#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// The scan of the reference capture (made outside the target, e.g. the street).
    #[command(flatten)]
    pub scan: ScanArgs,
    /// The baseline file to write (JSON).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
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

/// `bands` options.
#[derive(Debug, Args)]
pub struct BandsArgs {
    /// Only the bands of a region preset, and the sweep plan over them.
    #[arg(long, value_name = "REGION", ignore_case = true,
          value_parser = clap::builder::PossibleValuesParser::new(crate::bands::REGION_NAMES),
          conflicts_with = "band")]
    pub region: Option<String>,
    /// One band (B20, b20 or 20) and the tunings that cover its uplink.
    #[arg(long, value_name = "BAND", value_parser = parse_band_arg)]
    pub band: Option<u16>,
    /// Highest sample rate to plan with, Hz (1.92M to 20M, the HackRF's maximum).
    #[arg(long, value_name = "HZ", default_value = "15.36M", value_parser = parse_plan_rate)]
    pub sample_rate: f64,
    /// Machine-readable JSON on standard output instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// Parses `--band` (`B20`, `b20`, `20`) into a band number of the table.
pub fn parse_band_arg(s: &str) -> Result<u16, String> {
    crate::bands::parse_band(s)
        .map(|b| b.id)
        .map_err(|e| e.to_string())
}

/// Parses the planning rate of `bands`: a frequency (as [`parse_hz`]) from 1.92 MS/s (the
/// lowest LTE-family rate) to 20 MS/s (the HackRF's highest).
pub fn parse_plan_rate(s: &str) -> Result<f64, String> {
    let hz = parse_hz(s)?;
    let (lo, hi) = (
        crate::bands::LTE_RATE_STEP_HZ,
        crate::bands::HACKRF_MAX_RATE_HZ,
    );
    if !(lo..=hi).contains(&hz) {
        return Err(format!(
            "'{s}' is outside {:.2}-{:.0} MS/s (the lowest LTE rate to the HackRF's highest)",
            lo / 1e6,
            hi / 1e6
        ));
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
    fn band_and_plan_rate_parsing() {
        assert_eq!(parse_band_arg("B20"), Ok(20));
        assert_eq!(parse_band_arg("71"), Ok(71));
        let e = parse_band_arg("B99").expect_err("not in the table");
        assert!(e.contains("'B99'"), "{e}");
        assert_eq!(parse_plan_rate("15.36M"), Ok(15.36e6));
        assert_eq!(parse_plan_rate("20M"), Ok(20e6));
        assert!(parse_plan_rate("21M").is_err());
        assert!(parse_plan_rate("1M").is_err());
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
