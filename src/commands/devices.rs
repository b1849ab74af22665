//! `ciot-sweep devices [ARGS] [--probe]`: what SoapySDR finds (needs the `soapy` feature).

use crate::cli::DevicesArgs;
use anyhow::Result;

/// Runs the command.
#[cfg(not(feature = "soapy"))]
pub fn run(_args: &DevicesArgs) -> Result<()> {
    anyhow::bail!(
        "this build of ciot-sweep lacks the `soapy` feature, so it cannot use SDR devices; \
         rebuild with `cargo build --release --features soapy` (needs libsoapysdr-dev)"
    )
}

/// Runs the command.
#[cfg(feature = "soapy")]
pub fn run(args: &DevicesArgs) -> Result<()> {
    use crate::soapy;
    use anyhow::Context;
    use std::io::Write;

    let list = soapy::enumerate(&args.filter)
        .with_context(|| format!("asking SoapySDR for devices matching \"{}\"", args.filter))?;
    let mut out = std::io::stdout().lock();
    if list.is_empty() {
        writeln!(
            out,
            "no SoapySDR device found{} (is it plugged in, and its SoapySDR module installed, \
             e.g. soapysdr-module-hackrf?)",
            if args.filter.is_empty() {
                String::new()
            } else {
                format!(" matching \"{}\"", args.filter)
            }
        )?;
        return Ok(());
    }
    for (i, d) in list.iter().enumerate() {
        writeln!(out, "[{i}] {}", d.args)?;
        writeln!(
            out,
            "    label: {}  driver: {}  serial: {}",
            d.label.as_deref().unwrap_or("-"),
            d.driver.as_deref().unwrap_or("-"),
            d.serial.as_deref().unwrap_or("-")
        )?;
        if !args.probe {
            continue;
        }
        match soapy::probe(&d.args) {
            Ok(p) => {
                writeln!(out, "    hardware: {} (driver {})", p.hardware, p.driver)?;
                if let Some((f, fs)) = &p.native_format {
                    writeln!(out, "    native format: {f} (full scale {fs})")?;
                }
                writeln!(out, "    stream formats: {}", p.stream_formats.join(", "))?;
                let rates: Vec<String> = p
                    .sample_rates_hz
                    .iter()
                    .map(|(a, b)| {
                        if a == b {
                            format!("{:.6} MS/s", a / 1e6)
                        } else {
                            format!("{:.6}-{:.6} MS/s", a / 1e6, b / 1e6)
                        }
                    })
                    .collect();
                writeln!(out, "    sample rates: {}", rates.join(", "))?;
                let freqs: Vec<String> = p
                    .frequency_ranges_hz
                    .iter()
                    .map(|(a, b)| format!("{:.3}-{:.3} MHz", a / 1e6, b / 1e6))
                    .collect();
                writeln!(out, "    frequencies: {}", freqs.join(", "))?;
                for (name, lo, hi, step) in &p.gains {
                    writeln!(
                        out,
                        "    gain {name}: {lo} to {hi} dB{}",
                        if *step > 0.0 {
                            format!(" in steps of {step}")
                        } else {
                            String::new()
                        }
                    )?;
                }
                writeln!(out, "    antennas: {}", p.antennas.join(", "))?;
            }
            Err(e) => writeln!(
                out,
                "    cannot probe: {}",
                anyhow::Error::from(e)
                    .chain()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(": ")
            )?,
        }
    }
    Ok(())
}
