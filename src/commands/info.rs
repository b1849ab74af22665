//! `ciot-sweep info INPUT`: what a recording is, and whether it is intact.

use crate::cli::InfoArgs;
use crate::commands::scan::open_input;
use crate::iq::{IqBlock, Sha512Check};
use anyhow::{bail, Result};
use ciot_dsp::impair::lin_to_db;

/// Runs the command.
pub fn run(args: &InfoArgs) -> Result<()> {
    let input = open_input(&args.input)?;
    for w in &input.warnings {
        eprintln!("warning: {w}");
    }
    println!("data:        {}", input.data_path.display());
    println!("format:      {}", input.format.sigmf_datatype());
    println!("sample rate: {:.6} MS/s", input.sample_rate_hz / 1e6);
    match input.frequency_hz {
        Some(f) => println!("frequency:   {:.6} MHz", f / 1e6),
        None => println!("frequency:   unknown"),
    }
    if let Some(t) = input.start_time {
        println!("start (UTC): {}", t.to_rfc3339());
    }
    if let Some(rec) = &input.sigmf {
        if let Some(hw) = &rec.meta.global.hw {
            println!("hardware:    {hw}");
        }
        if let Some(d) = &rec.meta.global.description {
            println!("description: {d}");
        }
        println!(
            "annotations: {} (shown for review, never used for detection)",
            rec.meta.annotations_not_for_detection().len()
        );
    }
    #[cfg(feature = "hdf5")]
    if let Some(h) = &input.hdf5 {
        print_hdf5(h);
    }
    // One streaming pass: duration, mean power, peak, full-scale hits.
    let mut reader = input.reader(1 << 16)?;
    let mut block = IqBlock::default();
    let (mut n, mut energy, mut peak, mut full_scale) = (0u64, 0f64, 0f32, 0u64);
    let fs_level = match input.format {
        crate::iq::SampleFormat::Cf32Le => f32::INFINITY,
        f => 1.0 - f.lsb(),
    };
    while reader.read_block(&mut block)? {
        for v in &block.samples {
            let p = v.norm_sqr();
            energy += p as f64;
            peak = peak.max(p);
            if v.re.abs() >= fs_level || v.im.abs() >= fs_level {
                full_scale += 1;
            }
        }
        n += block.len() as u64;
    }
    for w in reader.warnings() {
        eprintln!("warning: {w}");
    }
    println!(
        "samples:     {n} ({:.6} s)",
        n as f64 / input.sample_rate_hz
    );
    if n > 0 {
        println!("mean power:  {:.2} dBFS", lin_to_db(energy / n as f64));
        println!("peak power:  {:.2} dBFS", lin_to_db(peak as f64));
        println!(
            "full scale:  {full_scale} samples ({:.4} %)",
            100.0 * full_scale as f64 / n as f64
        );
    }
    if args.verify {
        match input
            .sigmf
            .as_ref()
            .map(|r| r.verify_sha512())
            .transpose()?
        {
            Some(Sha512Check::Match) => println!("sha512:      matches core:sha512"),
            Some(Sha512Check::Absent) => println!("sha512:      no core:sha512 in the metadata"),
            Some(Sha512Check::Mismatch { expected, actual }) => bail!(
                "{}: data does not match core:sha512 (expected {}..., got {}...)",
                input.data_path.display(),
                &expected[..expected.len().min(16)],
                &actual[..actual.len().min(16)]
            ),
            None => println!("sha512:      not a SigMF recording"),
        }
    }
    Ok(())
}

#[cfg(feature = "hdf5")]
fn print_hdf5(h: &crate::iq::hdf5_input::Hdf5Recording) {
    let show = |label: &str, v: &Option<String>| {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            println!("{label:<13}{v}");
        }
    };
    show("device:", &h.device);
    show("gains (dB):", &h.gains_db);
    show("software:", &h.software);
    show("command:", &h.command_line);
    println!(
        "segments:    {} ({} samples lost in gaps)",
        h.segments.len(),
        h.lost_samples.unwrap_or(0)
    );
    if let Some(n) = h.detections {
        println!("detections:  {n} (stored in /detections, never used for detection)");
    }
    match h.complete {
        Some(true) => println!("complete:    yes (closed cleanly)"),
        Some(false) => println!("complete:    no (cut short: kept up to the last flush)"),
        None => {}
    }
}
