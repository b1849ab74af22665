//! `ciot-sweep`: find hidden NB-IoT and LTE-M modules by their uplink bursts.
//!
//! Exit status: 0 on success (with or without detections), 1 on a runtime error (the message
//! names the file or device and what is wrong), 2 on a usage error.

use ciot_sweep::cli::{Cli, Command};
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(n) = cli.threads {
        if let Err(e) = rayon::ThreadPoolBuilder::new()
            .num_threads(n as usize)
            .build_global()
        {
            eprintln!("error: cannot start {n} worker threads: {e}");
            return ExitCode::FAILURE;
        }
    }
    let result = match cli.command {
        Command::Synth(a) => ciot_sweep::commands::synth::run(&a),
        Command::Scan(a) => ciot_sweep::commands::scan::run(&a),
        Command::Info(a) => ciot_sweep::commands::info::run(&a),
        Command::Eval(a) => ciot_sweep::commands::eval::run(&a),
        Command::Locate(a) => {
            let mut s = a.scan;
            s.locate = Some(ciot_sweep::cli::LocateOptions {
                audio: a.audio,
                pin: a.pin,
            });
            ciot_sweep::commands::scan::run(&s)
        }
        Command::Baseline(a) => {
            let mut s = a.scan;
            s.baseline_out = Some(a.out);
            ciot_sweep::commands::scan::run(&s)
        }
        Command::Bands(a) => ciot_sweep::commands::bands::run(&a),
        Command::Devices(a) => ciot_sweep::commands::devices::run(&a),
        Command::Sweep(a) => ciot_sweep::commands::sweep::run(&a),
        Command::Report(a) => ciot_sweep::commands::report::run(&a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // A closed pipe (`| head`) is not an error.
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {e:#}");
            if e.downcast_ref::<ciot_sweep::cli::UsageError>().is_some() {
                return ExitCode::from(2);
            }
            ExitCode::from(1)
        }
    }
}
