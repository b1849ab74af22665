//! Synthesis scenarios: a TOML description of a capture (rate, centre, duration, format,
//! noise) and of the emitters in it (kind, generator parameters, timing, offsets, SNR),
//! rendered into a sample stream with its ground truth.
//!
//! ```toml
//! [capture]
//! sample_rate = 1.92e6          # Hz
//! center_freq = 847.0e6         # Hz (optional)
//! duration_s = 0.2
//! format = "ci8"                # ci8 | cu8 | ci16_le | cf32_le
//! noise_dbfs = -40.0            # total noise power over the capture bandwidth (optional)
//! seed = 7
//!
//! [[emitter]]
//! name = "nb-iot module"
//! kind = "nprach"               # nprach | npusch | prach | pusch | cw | chirp | noise
//!                               # | gsm | lte_downlink | sigfox
//! start_s = 0.01
//! period_s = 0.08               # with count > 1
//! count = 2
//! carrier_offset_hz = 300e3     # generator's carrier centre relative to the capture centre
//! cfo_hz = 1200.0               # extra carrier frequency offset of this emitter
//! snr_db = 0.0                  # in the kind's standard bandwidth (or power_dbfs = ...)
//! [emitter.config]              # the generator's own parameters, see each generator
//! format = 0
//! repetitions = 4
//! ```
//!
//! Rendering is streaming: the capture is produced chunk by chunk, so memory is bounded by
//! the chunk and the emitters' burst descriptions, whatever the duration.

use crate::record::{sort_by_end, DetectionRecord};
use anyhow::{anyhow, bail, Context, Result};
use ciot_dsp::impair::{self, FrontEnd, MultipathModel, Path};
use ciot_dsp::signal::Render;
use ciot_dsp::synth::{self, interferer, Kind, Tech};
use num_complex::{Complex32, Complex64};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;

/// The whole scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The capture.
    pub capture: CaptureSpec,
    /// The emitters (`[[emitter]]` tables).
    #[serde(default, rename = "emitter")]
    pub emitters: Vec<EmitterSpec>,
}

/// `[capture]`: what the recording is.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureSpec {
    /// Sample rate, Hz.
    pub sample_rate: f64,
    /// Centre frequency, Hz.
    #[serde(default)]
    pub center_freq: Option<f64>,
    /// Duration, seconds.
    pub duration_s: f64,
    /// Sample format of the data file (`ci8`, `cu8`, `ci16_le`, `cf32_le`).
    #[serde(default = "default_format")]
    pub format: String,
    /// Total white-noise power over the capture bandwidth, dBFS (no noise when absent).
    #[serde(default)]
    pub noise_dbfs: Option<f64>,
    /// Seed of every random choice (noise, data, fading).
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Capture start time written to the metadata (RFC 3339).
    #[serde(default)]
    pub datetime: Option<String>,
    /// Free text for the metadata.
    #[serde(default)]
    pub description: Option<String>,
    /// Receiver front-end errors (DC spike, IQ imbalance).
    #[serde(default)]
    pub frontend: FrontEnd,
}

fn default_format() -> String {
    "cf32_le".into()
}
fn default_seed() -> u64 {
    1
}
fn default_count() -> u32 {
    1
}

/// `[[emitter]]`: one transmitter and its bursts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmitterSpec {
    /// Name, carried into the truth (`params.emitter_name`).
    #[serde(default)]
    pub name: Option<String>,
    /// Generator: `nprach`, `npusch`, `prach`, `pusch`, `cw`, `chirp`, `noise`, `gsm`,
    /// `lte_downlink`, `sigfox`.
    pub kind: String,
    /// Start of the first burst, seconds from the capture start.
    #[serde(default)]
    pub start_s: f64,
    /// Burst period, seconds (required when `count > 1`).
    #[serde(default)]
    pub period_s: Option<f64>,
    /// Number of bursts.
    #[serde(default = "default_count")]
    pub count: u32,
    /// Uniform random jitter added to each burst start, 0..jitter_s seconds.
    #[serde(default)]
    pub jitter_s: f64,
    /// The generator's carrier centre relative to the capture centre, Hz.
    #[serde(default)]
    pub carrier_offset_hz: f64,
    /// Carrier frequency offset of this emitter (oscillator error), Hz.
    #[serde(default)]
    pub cfo_hz: f64,
    /// Fractional timing offset added to every burst start, samples.
    #[serde(default)]
    pub timing_offset_samples: f64,
    /// SNR in the kind's standard bandwidth, dB (needs `capture.noise_dbfs`).
    #[serde(default)]
    pub snr_db: Option<f64>,
    /// Mean burst power, dBFS (instead of `snr_db`).
    #[serde(default)]
    pub power_dbfs: Option<f64>,
    /// Static multipath realisation per burst (`none`, `epa`, `etu`).
    #[serde(default = "default_multipath")]
    pub multipath: MultipathModel,
    /// The generator's parameters.
    #[serde(default)]
    pub config: toml::Table,
}

fn default_multipath() -> MultipathModel {
    MultipathModel::None
}

/// A generated burst in the form the mixer needs.
struct Generated {
    signal: Box<dyn Render + Send + Sync>,
    kind: Kind,
    tech: Tech,
    center_hz: f64,
    bandwidth_hz: f64,
    snr_bandwidth_hz: f64,
    params: serde_json::Map<String, serde_json::Value>,
}

impl From<synth::SynthBurst> for Generated {
    fn from(b: synth::SynthBurst) -> Self {
        Generated {
            signal: Box::new(b.signal),
            kind: b.kind,
            tech: b.tech,
            center_hz: b.center_hz,
            bandwidth_hz: b.bandwidth_hz,
            snr_bandwidth_hz: b.snr_bandwidth_hz,
            params: b.params,
        }
    }
}

impl From<interferer::InterfererBurst> for Generated {
    fn from(b: interferer::InterfererBurst) -> Self {
        let mut params = b.params;
        params.insert("interferer".into(), b.label.into());
        Generated {
            signal: b.signal,
            kind: Kind::Unknown,
            tech: b.tech,
            center_hz: b.center_hz,
            bandwidth_hz: b.bandwidth_hz,
            snr_bandwidth_hz: b.snr_bandwidth_hz,
            params,
        }
    }
}

fn config<T: serde::de::DeserializeOwned>(t: &toml::Table) -> Result<T> {
    T::deserialize(toml::Value::Table(t.clone())).map_err(|e| anyhow!("in [emitter.config]: {e}"))
}

/// The kinds of emitter a scenario can hold.
pub const EMITTER_KINDS: &[&str] = &[
    "nprach",
    "npusch",
    "prach",
    "pusch",
    "cw",
    "chirp",
    "noise",
    "gsm",
    "lte_downlink",
    "sigfox",
];

fn generate(kind: &str, cfg: &toml::Table, rng: &mut ChaCha8Rng) -> Result<Generated> {
    Ok(match kind {
        "nprach" => config::<synth::nprach::NprachConfig>(cfg)?
            .generate()?
            .into(),
        "npusch" => {
            synth::npusch::generate(&config::<synth::npusch::NpuschConfig>(cfg)?, rng)?.into()
        }
        "prach" => config::<synth::prach::PrachConfig>(cfg)?.generate()?.into(),
        "pusch" => synth::pusch::generate(&config::<synth::pusch::PuschConfig>(cfg)?, rng)?.into(),
        "cw" => config::<interferer::CwConfig>(cfg)?.generate()?.into(),
        "chirp" => config::<interferer::ChirpConfig>(cfg)?.generate()?.into(),
        "noise" => config::<interferer::NoiseBurstConfig>(cfg)?
            .generate(rng)?
            .into(),
        "gsm" => config::<interferer::GsmConfig>(cfg)?.generate(rng)?.into(),
        "lte_downlink" => config::<interferer::LteDownlinkConfig>(cfg)?
            .generate(rng)?
            .into(),
        "sigfox" => config::<interferer::SigfoxConfig>(cfg)?
            .generate(rng)?
            .into(),
        other => bail!(
            "unknown emitter kind '{other}' (known: {})",
            EMITTER_KINDS.join(", ")
        ),
    })
}

/// One burst placed in the capture.
struct Event {
    signal: Box<dyn Render + Send + Sync>,
    /// Absolute (fractional) sample index of the burst's time 0.
    start_sample: f64,
    /// Frequency shift applied when rendering: carrier offset + CFO, Hz.
    shift_hz: f64,
    amplitude: f64,
    paths: Vec<Path>,
    first: i64,
    /// One past the last sample the burst (with its longest multipath delay) touches.
    render_end: i64,
}

/// A scenario made ready to render: every burst generated and placed, with its truth.
pub struct Plan {
    /// The scenario it came from.
    pub scenario: Scenario,
    /// Ground truth, one record per burst, in the order the bursts end.
    pub truth: Vec<DetectionRecord>,
    events: Vec<Event>,
    noise_power: f64,
    total_samples: u64,
}

impl Scenario {
    /// Parses a scenario from TOML text (`origin` names it in errors).
    pub fn from_toml(text: &str, origin: &str) -> Result<Self> {
        toml::from_str(text).with_context(|| format!("reading scenario {origin}"))
    }

    /// Checks the capture section.
    pub fn validate(&self) -> Result<()> {
        let c = &self.capture;
        if !(c.sample_rate.is_finite() && (1e5..=61.44e6).contains(&c.sample_rate)) {
            bail!(
                "capture.sample_rate = {} Hz is outside 100 kHz ..= 61.44 MHz",
                c.sample_rate
            );
        }
        if !(c.duration_s > 0.0 && c.duration_s <= 3600.0) {
            bail!(
                "capture.duration_s = {} is outside (0, 3600] s",
                c.duration_s
            );
        }
        if let Some(n) = c.noise_dbfs {
            if !(-200.0..=0.0).contains(&n) {
                bail!("capture.noise_dbfs = {n} is outside -200 ..= 0 dBFS");
            }
        }
        Ok(())
    }

    /// Generates and places every burst.
    pub fn plan(self) -> Result<Plan> {
        self.validate()?;
        let fs = self.capture.sample_rate;
        let total_samples = (self.capture.duration_s * fs).round() as u64;
        let noise_power = self
            .capture
            .noise_dbfs
            .map(impair::db_to_lin)
            .unwrap_or(0.0);
        let mut events = Vec::new();
        let mut truth = Vec::new();
        for (ei, e) in self.emitters.iter().enumerate() {
            let name = e.name.clone().unwrap_or_else(|| format!("{}-{ei}", e.kind));
            let ctx = || format!("emitter {ei} ('{name}', kind {})", e.kind);
            if e.count == 0 {
                bail!("{}: count must be at least 1", ctx());
            }
            let period = match (e.count, e.period_s) {
                (1, p) => p.unwrap_or(0.0),
                (_, Some(p)) if p > 0.0 => p,
                _ => bail!("{}: count > 1 needs a positive period_s", ctx()),
            };
            let level = match (e.snr_db, e.power_dbfs) {
                (Some(s), None) if noise_power > 0.0 => Level::Snr(s),
                (Some(_), None) => bail!("{}: snr_db needs capture.noise_dbfs", ctx()),
                (None, Some(p)) => Level::Dbfs(p),
                (None, None) => bail!("{}: give snr_db or power_dbfs", ctx()),
                (Some(_), Some(_)) => bail!("{}: give snr_db or power_dbfs, not both", ctx()),
            };
            for occ in 0..e.count {
                let mut rng = ChaCha8Rng::seed_from_u64(
                    self.capture.seed ^ ((ei as u64 + 1) << 40) ^ ((occ as u64 + 1) << 8),
                );
                let g = generate(&e.kind, &e.config, &mut rng).with_context(ctx)?;
                let jitter = if e.jitter_s > 0.0 {
                    rng.random_range(0.0..e.jitter_s)
                } else {
                    0.0
                };
                let t0 = e.start_s + occ as f64 * period + jitter;
                let start_sample = t0 * fs + e.timing_offset_samples;
                let dur = g.signal.duration_s();
                let first = start_sample.ceil() as i64;
                let end = (start_sample + dur * fs).ceil() as i64;
                if first < 0 || end as u64 > total_samples {
                    bail!(
                        "{}: burst {occ} spans {:.6}..{:.6} s, outside the capture (0..{} s)",
                        ctx(),
                        t0,
                        t0 + dur,
                        self.capture.duration_s
                    );
                }
                let shift_hz = e.carrier_offset_hz + e.cfo_hz;
                let centre = shift_hz + g.center_hz;
                if centre.abs() + g.bandwidth_hz / 2.0 > fs / 2.0 {
                    bail!(
                        "{}: the burst occupies {:.0} Hz +- {:.0} Hz, outside the capture's +-{:.0} Hz",
                        ctx(),
                        centre,
                        g.bandwidth_hz / 2.0,
                        fs / 2.0
                    );
                }
                let power = match level {
                    Level::Snr(s) => {
                        impair::signal_power_for_snr(noise_power, fs, s, g.snr_bandwidth_hz)
                    }
                    Level::Dbfs(p) => impair::db_to_lin(p),
                };
                let snr_own = if noise_power > 0.0 {
                    impair::snr_db_in_bandwidth(power, noise_power, fs, g.bandwidth_hz)
                } else {
                    f64::INFINITY
                };
                let paths = e.multipath.realise(&mut rng);
                let mut params = g.params.clone();
                params.insert("emitter_name".into(), name.clone().into());
                params.insert("burst_index".into(), occ.into());
                if let Level::Snr(s) = level {
                    params.insert("snr_db_ref".into(), s.into());
                    params.insert("snr_ref_bandwidth_hz".into(), g.snr_bandwidth_hz.into());
                }
                params.insert("cfo_hz".into(), e.cfo_hz.into());
                if e.multipath != MultipathModel::None {
                    params.insert("multipath".into(), serde_json::to_value(e.multipath)?);
                }
                let sample_len = (end - first) as u64;
                truth.push(DetectionRecord {
                    kind: g.kind,
                    tech: g.tech,
                    sample_start: first as u64,
                    sample_len,
                    t_start_s: first as f64 / fs,
                    duration_s: sample_len as f64 / fs,
                    freq_offset_hz: centre,
                    freq_hz: self.capture.center_freq.map(|f| f + centre),
                    bandwidth_hz: g.bandwidth_hz,
                    power_dbfs: impair::lin_to_db(power),
                    // JSON has no infinity: a noiseless capture reports a large finite SNR.
                    snr_db: if snr_own.is_finite() { snr_own } else { 999.0 },
                    score: 1.0,
                    time_utc: None,
                    emitter: Some(ei as u64),
                    emitter_known: None,
                    earfcn: Vec::new(),
                    params,
                });
                events.push(Event {
                    signal: g.signal,
                    start_sample,
                    shift_hz,
                    amplitude: power.sqrt(),
                    render_end: end
                        + (paths.iter().map(|p| p.delay_s).fold(0.0, f64::max) * fs).ceil() as i64
                        + 1,
                    paths,
                    first,
                });
            }
        }
        events.sort_by_key(|e| e.first);
        sort_by_end(&mut truth);
        Ok(Plan {
            scenario: self,
            truth,
            events,
            noise_power,
            total_samples,
        })
    }
}

#[derive(Clone, Copy)]
enum Level {
    Snr(f64),
    Dbfs(f64),
}

impl Plan {
    /// Number of samples in the capture.
    pub fn total_samples(&self) -> u64 {
        self.total_samples
    }

    /// Renders the capture in chunks of `chunk` samples, handing each to `sink` in order.
    /// Memory: one chunk plus the burst descriptions.
    pub fn render<F>(&self, chunk: usize, mut sink: F) -> Result<()>
    where
        F: FnMut(&[Complex32]) -> Result<()>,
    {
        let fs = self.scenario.capture.sample_rate;
        let mut noise_rng = ChaCha8Rng::seed_from_u64(self.scenario.capture.seed);
        let mut buf = vec![Complex32::new(0.0, 0.0); chunk.max(1)];
        let mut next_event = 0usize;
        let mut active: Vec<usize> = Vec::new();
        let mut pos = 0u64;
        while pos < self.total_samples {
            let n = (self.total_samples - pos).min(buf.len() as u64) as usize;
            let out = &mut buf[..n];
            out.fill(Complex32::new(0.0, 0.0));
            let (c0, c1) = (pos as i64, (pos + n as u64) as i64);
            while next_event < self.events.len() && self.events[next_event].first < c1 {
                active.push(next_event);
                next_event += 1;
            }
            active.retain(|&i| self.events[i].render_end > c0);
            for &i in &active {
                let ev = &self.events[i];
                for p in &ev.paths {
                    ev.signal.render_add(
                        out,
                        c0,
                        fs,
                        ev.start_sample + p.delay_s * fs,
                        ev.shift_hz,
                        p.gain * Complex64::new(ev.amplitude, 0.0),
                    );
                }
            }
            if self.noise_power > 0.0 {
                impair::add_awgn(out, self.noise_power, &mut noise_rng);
            }
            self.scenario.capture.frontend.apply(out);
            sink(out)?;
            pos += n as u64;
        }
        Ok(())
    }
}
