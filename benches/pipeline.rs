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

fn energy(c: &mut Criterion) {
    use ciot_dsp::detect::energy::{EnergyDetector, EnergyDetectorConfig};
    let mut g = c.benchmark_group("detector");
    g.sample_size(10);
    for fs in [1.92e6, 15.36e6] {
        let n = (0.25 * fs) as usize;
        let mut x = vec![Complex32::new(0.0, 0.0); n];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        impair::add_awgn(&mut x, 1e-3, &mut rng);
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(
            BenchmarkId::new("energy", format!("{:.2}MSps", fs / 1e6)),
            |b| {
                b.iter(|| {
                    let mut d = EnergyDetector::new(EnergyDetectorConfig {
                        sample_rate_hz: fs,
                        ..Default::default()
                    })
                    .expect("valid");
                    let mut out = Vec::new();
                    for (i, chunk) in x.chunks(1 << 16).enumerate() {
                        d.process((i << 16) as u64, chunk, &mut out);
                    }
                    d.finish(&mut out);
                    out.len()
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, conversion, fft, synth, pipeline_bench, energy);
criterion_main!(benches);
