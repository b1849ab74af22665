//! Helpers shared by the detector evaluation examples (`nprach_eval`, `npusch_eval`,
//! `prach_eval`): the command line, CPU time, scoring against the truth and the noise run of
//! the `fa` and `speed` modes. Each example includes this file with `mod common;`; Cargo
//! does not build `examples/common/mod.rs` as an example of its own.

// Each example uses a part of this module; what one does not use is not dead in another.
#![allow(dead_code)]

use ciot_dsp::detect::Detection;
use ciot_dsp::impair::add_awgn;
use num_complex::Complex32;
use rand::Rng;
use std::time::Instant;

/// Positional argument `i` parsed as `T`; on a missing or unparsable one, prints `usage`
/// (what is wrong first) and exits with status 2 instead of panicking.
pub fn positional<T: std::str::FromStr>(args: &[String], i: usize, name: &str, usage: &str) -> T {
    match args.get(i).map(|s| s.parse::<T>()) {
        Some(Ok(v)) => v,
        Some(Err(_)) => {
            eprintln!("{name}: cannot parse {:?}\n\n{usage}", args[i]);
            std::process::exit(2)
        }
        None => {
            eprintln!("missing {name}\n\n{usage}");
            std::process::exit(2)
        }
    }
}

/// The argument that follows `key` on the command line (`--seed 7` gives `"7"` for
/// `--seed`), or `None` when `key` is absent or last.
pub fn arg_after(args: &[String], key: &str) -> Option<String> {
    args.iter()
        .position(|a| a == key)
        .and_then(|i| args.get(i + 1).cloned())
}

/// CPU time of this process, all threads, seconds (Linux `/proc/self/stat`, 100 ticks per
/// second; 0 elsewhere).
pub fn cpu_s() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1.to_string();
            let f: Vec<&str> = rest.split_whitespace().collect();
            let u: f64 = f.get(11)?.parse().ok()?;
            let k: f64 = f.get(12)?.parse().ok()?;
            Some((u + k) / 100.0)
        })
        .unwrap_or(0.0)
}

/// The detections that overlap the truth, a burst of `len` samples from sample `start`
/// (fractional sample positions), in the order given.
pub fn overlapping(dets: &[Detection], start: f64, len: f64) -> Vec<&Detection> {
    dets.iter()
        .filter(|d| (d.sample_start as f64) < start + len && (d.sample_end() as f64) > start)
        .collect()
}

/// Time taken by the detector over a [`feed_noise`] run, seconds.
pub struct NoiseRun {
    /// Wall-clock time of the `process` calls.
    pub wall_s: f64,
    /// CPU time of the `process` calls ([`cpu_s`]: the whole process, all threads).
    pub cpu_s: f64,
}

/// Feeds `total` samples of complex white Gaussian noise of power `noise_power` (drawn
/// from `rng` block by block with [`add_awgn`]) to `process`, in blocks of `block` samples
/// (the last one shorter when `block` does not divide `total`), each with the index of its
/// first sample. Only the `process` calls are timed, not the making of the noise.
pub fn feed_noise<R: Rng + ?Sized>(
    total: usize,
    block: usize,
    noise_power: f64,
    rng: &mut R,
    mut process: impl FnMut(u64, &[Complex32]),
) -> NoiseRun {
    let mut x = vec![Complex32::new(0.0, 0.0); block];
    let mut run = NoiseRun {
        wall_s: 0.0,
        cpu_s: 0.0,
    };
    let mut done = 0usize;
    while done < total {
        let n = block.min(total - done);
        x[..n].fill(Complex32::new(0.0, 0.0));
        add_awgn(&mut x[..n], noise_power, rng);
        let (t0, c0) = (Instant::now(), cpu_s());
        process(done as u64, &x[..n]);
        run.wall_s += t0.elapsed().as_secs_f64();
        run.cpu_s += cpu_s() - c0;
        done += n;
    }
    run
}
