//! Throughput benchmarks, reported as samples/s (criterion `Throughput::Elements`), to read
//! next to a HackRF's 20 MS/s.
//!
//! Run: `cargo bench --bench pipeline` (add `-- --quick` for a short run).

use ciot_dsp::impair;
use ciot_dsp::signal::Burst;
use ciot_dsp::synth::{nprach::NprachConfig, prach::PrachConfig};
use ciot_sweep::iq::SampleFormat;
use ciot_sweep::pipeline::{self, PipelineConfig, Processor, Source};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use num_complex::{Complex32, Complex64};
use rand::SeedableRng;
use rustfft::FftPlanner;
use std::hint::black_box;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

const N: usize = 1 << 20;

fn ci8_bytes(n: usize) -> Vec<u8> {
    (0..2 * n)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect()
}

fn conversion(c: &mut Criterion) {
    let mut g = c.benchmark_group("convert");
    g.throughput(Throughput::Elements(N as u64));
    for f in [SampleFormat::Ci8, SampleFormat::Cu8, SampleFormat::Ci16Le] {
        let bytes: Vec<u8> = ci8_bytes(N * f.bytes_per_sample() / 2);
        let mut out = vec![Complex32::new(0.0, 0.0); N];
        g.bench_function(BenchmarkId::new("decode", f.sigmf_datatype()), |b| {
            b.iter(|| f.decode(black_box(&bytes), &mut out))
        });
    }
    g.finish();
}

fn fft(c: &mut Criterion) {
    let mut g = c.benchmark_group("fft");
    for n in [128usize, 512, 1024, 2048, 4096] {
        let mut planner = FftPlanner::<f32>::new();
        let plan = planner.plan_fft_forward(n);
        let mut buf = vec![Complex32::new(0.5, -0.25); N];
        let mut scratch = vec![Complex32::new(0.0, 0.0); plan.get_inplace_scratch_len()];
        g.throughput(Throughput::Elements(N as u64));
        g.bench_function(BenchmarkId::new("forward", n), |b| {
            b.iter(|| plan.process_with_scratch(black_box(&mut buf), &mut scratch))
        });
    }
    g.finish();
}

fn synth(c: &mut Criterion) {
    let mut g = c.benchmark_group("synth_render");
    let fs = 15.36e6;
    let bursts: Vec<(&str, Burst)> = vec![
        (
            "nprach_4rep",
            NprachConfig::default().generate().expect("valid").signal,
        ),
        (
            "prach_f0",
            PrachConfig::default().generate().expect("valid").signal,
        ),
    ];
    for (name, b) in &bursts {
        let n = (b.duration_s() * fs).ceil() as usize;
        let mut out = vec![Complex32::new(0.0, 0.0); n];
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::new(*name, "15.36MSps"), |bch| {
            bch.iter(|| b.render_add(&mut out, 0, fs, 0.0, 0.0, Complex64::new(1.0, 0.0)))
        });
    }
    let mut x = vec![Complex32::new(0.0, 0.0); N];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("awgn", |b| {
        b.iter(|| impair::add_awgn(&mut x, 1e-3, &mut rng))
    });
    g.finish();
}

/// A source of ci8 bytes decoded block by block (the file path without the disk).
struct MemSource {
    bytes: Vec<u8>,
    pos: usize,
    first: u64,
}

impl Source for MemSource {
    fn read_block(&mut self, block: &mut ciot_sweep::iq::IqBlock) -> anyhow::Result<bool> {
        const B: usize = 1 << 16;
        if self.pos >= self.bytes.len() {
            return Ok(false);
        }
        let n = ((self.bytes.len() - self.pos) / 2).min(B);
        block.samples.resize(n, Complex32::new(0.0, 0.0));
        SampleFormat::Ci8.decode(&self.bytes[self.pos..self.pos + 2 * n], &mut block.samples);
        block.first_sample = self.first;
        self.first += n as u64;
        self.pos += 2 * n;
        Ok(true)
    }
    fn sample_rate_hz(&self) -> f64 {
        15.36e6
    }
}

struct Sum(f32);
impl Processor for Sum {
    type Output = ();
    fn process(&mut self, _f: u64, x: &[Complex32], _o: &mut Vec<()>) {
        self.0 += x.iter().map(|v| v.re).sum::<f32>();
    }
    fn finish(&mut self, _o: &mut Vec<()>) {}
}

fn pipeline_bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("pipeline");
    let n = 8 * N;
    let bytes = ci8_bytes(n);
    g.throughput(Throughput::Elements(n as u64));
    g.sample_size(10);
    g.bench_function("ci8_ring_passthrough", |b| {
        b.iter(|| {
            let src = MemSource {
                bytes: bytes.clone(),
                pos: 0,
                first: 0,
            };
            pipeline::run(
                src,
                Sum(0.0),
                &PipelineConfig::default(),
                Arc::new(AtomicBool::new(false)),
                |_| Ok(()),
            )
            .expect("runs")
        })
    });
    g.finish();
}

/// Each detector alone, as the scanner runs it (built by `detectors::build`, so at 20 MS/s
/// the resampler is included), on white noise: the cost of watching an empty band.
fn detectors_bench(c: &mut Criterion) {
    use ciot_sweep::detectors::{self, Which};
    let mut g = c.benchmark_group("detector");
    g.sample_size(10);
    for fs in [1.92e6, 15.36e6, 20e6] {
        let n = (0.1 * fs) as usize;
        let mut x = vec![Complex32::new(0.0, 0.0); n];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        impair::add_awgn(&mut x, 1e-3, &mut rng);
        g.throughput(Throughput::Elements(n as u64));
        for w in Which::ALL {
            g.bench_function(
                BenchmarkId::new(w.name(), format!("{:.2}MSps", fs / 1e6)),
                |b| {
                    b.iter(|| {
                        let (mut stages, _) = detectors::build(fs, 0.5, &[w]).expect("valid");
                        let mut out = Vec::new();
                        for (i, chunk) in x.chunks(1 << 16).enumerate() {
                            for s in &mut stages {
                                s.process((i << 16) as u64, chunk, &mut out);
                            }
                        }
                        for s in &mut stages {
                            s.finish(&mut out);
                        }
                        out.len()
                    })
                },
            );
        }
    }
    g.finish();
}

/// The STFT every structured detector builds on, and the 20 -> 19.2 MS/s resampler.
fn front_end(c: &mut Criterion) {
    use ciot_dsp::resample::Resampler;
    use ciot_dsp::stft::{Stft, StftConfig};
    let mut g = c.benchmark_group("front_end");
    let n = N;
    let mut x = vec![Complex32::new(0.0, 0.0); n];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    impair::add_awgn(&mut x, 1e-3, &mut rng);
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("resample_20_to_19.2", |b| {
        b.iter(|| {
            let mut r = Resampler::between(20e6, 19.2e6).expect("valid");
            let mut m = 0usize;
            for (i, chunk) in x.chunks(1 << 16).enumerate() {
                m += r.process((i << 16) as u64, chunk).1.len();
            }
            m
        })
    });
    for (win, fft) in [(4096usize, 4096usize), (8192, 32768)] {
        g.bench_function(BenchmarkId::new("stft", format!("{win}x{fft}")), |b| {
            b.iter(|| {
                let mut s = Stft::new(StftConfig {
                    window_len: win,
                    fft_len: fft,
                    hop: win / 2,
                    ..Default::default()
                })
                .expect("valid");
                let mut frames = 0usize;
                for (i, chunk) in x.chunks(1 << 16).enumerate() {
                    s.process((i << 16) as u64, chunk, |_f| frames += 1);
                }
                frames
            })
        });
    }
    g.finish();
}

/// The whole `scan` path on the bundled 15.36 MS/s ci8 recording: file reader, ingest
/// thread, ring, every detector, claim resolution.
fn scan_recording(c: &mut Criterion) {
    use ciot_sweep::commands::scan::{FileSource, BLOCK};
    use ciot_sweep::detectors::{self, Which};
    use ciot_sweep::iq::IqInput;
    use ciot_sweep::scan::{CaptureContext, Scanner};
    let meta = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("recordings/car-sweep/car-sweep.sigmf-meta");
    let input = IqInput::open(&meta, None, None, None).expect("bundled recording");
    let fs = input.sample_rate_hz;
    let n = input.sigmf.as_ref().map(|r| r.num_samples()).unwrap_or(0);
    let mut g = c.benchmark_group("scan");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n));
    g.bench_function("car_sweep_15.36MSps_ci8_all_detectors", |b| {
        b.iter(|| {
            let input = IqInput::open(&meta, None, None, None).expect("opens");
            let (stages, _) = detectors::build(fs, 0.5, &Which::DEFAULT).expect("valid");
            let ctx = CaptureContext {
                sample_rate_hz: fs,
                center_freq_hz: input.frequency_hz,
                start_time: None,
            };
            let src = FileSource::new(input.reader(BLOCK).expect("reader"), fs);
            let mut k = 0usize;
            pipeline::run(
                src,
                Scanner::new(stages, ctx, 0.25),
                &PipelineConfig::default(),
                Arc::new(AtomicBool::new(false)),
                |_| {
                    k += 1;
                    Ok(())
                },
            )
            .expect("runs");
            k
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    conversion,
    fft,
    front_end,
    synth,
    pipeline_bench,
    detectors_bench,
    scan_recording
);
criterion_main!(benches);
