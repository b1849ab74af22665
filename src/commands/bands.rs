//! `ciot-sweep bands`: the uplink band table, the region presets, and the tunings that cover
//! a band or a region with a device's sample rate. Prints to standard output (a table, or
//! JSON with `--json`).

use crate::bands::{self, Band, Tuning};
use crate::cli::BandsArgs;
use anyhow::{Context, Result};
use serde_json::{json, Value};
use std::io::Write;

/// Runs the command.
pub fn run(args: &BandsArgs) -> Result<()> {
    // clap has checked the band and the region against the table; a miss here is a usage
    // error all the same, so the message names what was given.
    let selected: Vec<&'static Band> = match (&args.region, args.band) {
        (Some(r), _) => bands::region(r)?,
        (None, Some(id)) => vec![bands::band(id).with_context(|| format!("band B{id}"))?],
        (None, None) => bands::BANDS.iter().collect(),
    };
    let tunings: Option<Vec<Tuning>> = match (&args.region, args.band) {
        (Some(_), _) => Some(bands::plan_region(&selected, args.sample_rate)),
        (None, Some(_)) => Some(
            selected
                .iter()
                .flat_map(|b| bands::plan_tunings(b, args.sample_rate))
                .collect(),
        ),
        (None, None) => None,
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.json {
        let v = to_json(args, &selected, tunings.as_deref())?;
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)
            .context("writing to standard output")?;
    } else {
        print_table(&mut out, &selected).context("writing to standard output")?;
        if let Some(t) = &tunings {
            print_plan(&mut out, args, &selected, t).context("writing to standard output")?;
        }
    }
    out.flush().context("writing to standard output")?;
    Ok(())
}

fn mhz(hz: f64) -> String {
    format!("{:.1}", hz / 1e6)
}

fn regions_label(id: u16) -> String {
    let r = bands::regions_of(id);
    if r.is_empty() {
        "-".to_string()
    } else {
        r.join(",")
    }
}

/// The band table: one row per band.
fn print_table(out: &mut impl Write, selected: &[&Band]) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<5} {:<13} {:<6} {:<15} {:<15} {:<15} {:<13} regions",
        "band", "name", "duplex", "uplink MHz", "downlink MHz", "N_UL", "N_DL"
    )?;
    for b in selected {
        writeln!(
            out,
            "{:<5} {:<13} {:<6} {:<15} {:<15} {:<15} {:<13} {}",
            b.label(),
            b.name,
            b.duplex.name(),
            format!("{}-{}", mhz(b.ul_low_hz), mhz(b.ul_high_hz)),
            format!("{}-{}", mhz(b.dl_low_hz), mhz(b.dl_high_hz)),
            format!("{}-{}", b.n_offs_ul, b.n_ul_max),
            format!("{}-{}", b.n_offs_dl, b.n_dl_max),
            regions_label(b.id),
        )?;
    }
    Ok(())
}

/// The tuning plan under the table.
fn print_plan(
    out: &mut impl Write,
    args: &BandsArgs,
    selected: &[&Band],
    tunings: &[Tuning],
) -> std::io::Result<()> {
    writeln!(out)?;
    let what = match &args.region {
        Some(r) => format!("region {}", r.to_ascii_lowercase()),
        None => selected
            .iter()
            .map(|b| {
                format!(
                    "{} uplink {}-{} MHz ({} MHz)",
                    b.label(),
                    mhz(b.ul_low_hz),
                    mhz(b.ul_high_hz),
                    mhz(b.ul_width_hz())
                )
            })
            .collect::<Vec<_>>()
            .join(", "),
    };
    writeln!(
        out,
        "{what} at up to {:.2} MS/s: {} tuning{} (usable {:.0}% of the rate about each centre, \
         neighbours overlap >= {:.2} MHz)",
        args.sample_rate / 1e6,
        tunings.len(),
        if tunings.len() == 1 { "" } else { "s" },
        bands::USABLE_FRACTION * 100.0,
        bands::MIN_OVERLAP_HZ / 1e6
    )?;
    if args.region.is_some() {
        for b in selected {
            if !tunings.iter().any(|t| t.band == b.id) {
                let outer: Vec<String> = selected
                    .iter()
                    .filter(|o| {
                        o.id != b.id && o.ul_low_hz <= b.ul_low_hz && o.ul_high_hz >= b.ul_high_hz
                    })
                    .map(|o| o.label())
                    .collect();
                writeln!(
                    out,
                    "{} lies inside {}: covered by its tunings",
                    b.label(),
                    outer.join(", ")
                )?;
            }
        }
    }
    writeln!(
        out,
        "{:>3}  {:<5} {:>12} {:>10}  {:<19} {:>14}",
        "#", "band", "centre MHz", "rate MS/s", "usable MHz", "HackRF filter"
    )?;
    for (i, t) in tunings.iter().enumerate() {
        writeln!(
            out,
            "{:>3}  {:<5} {:>12.3} {:>10.2}  {:<19} {:>10.2} MHz",
            i + 1,
            format!("B{}", t.band),
            t.center_hz / 1e6,
            t.sample_rate_hz / 1e6,
            format!("{:.3}-{:.3}", t.usable_low_hz / 1e6, t.usable_high_hz / 1e6),
            bands::hackrf_baseband_filter_hz(t) / 1e6
        )?;
    }
    Ok(())
}

/// The JSON document of `--json`.
fn to_json(args: &BandsArgs, selected: &[&Band], tunings: Option<&[Tuning]>) -> Result<Value> {
    let mut rows = Vec::with_capacity(selected.len());
    for b in selected {
        let mut v = serde_json::to_value(b).context("band as JSON")?;
        if let Value::Object(m) = &mut v {
            m.insert("label".into(), json!(b.label()));
            m.insert("regions".into(), json!(bands::regions_of(b.id)));
        }
        rows.push(v);
    }
    let mut doc = json!({
        "source": "3GPP TS 36.101 Table 5.5-1 and Table 5.7.3-1 (FDD bands)",
        "region": args.region.as_ref().map(|r| r.to_ascii_lowercase()),
        "band": args.band,
        "bands": rows,
    });
    if let (Some(t), Value::Object(m)) = (tunings, &mut doc) {
        let mut plan = Vec::with_capacity(t.len());
        for x in t {
            let mut v = serde_json::to_value(x).context("tuning as JSON")?;
            if let Value::Object(o) = &mut v {
                o.insert(
                    "hackrf_filter_hz".into(),
                    json!(bands::hackrf_baseband_filter_hz(x)),
                );
            }
            plan.push(v);
        }
        m.insert("max_sample_rate_hz".into(), json!(args.sample_rate));
        m.insert("usable_fraction".into(), json!(bands::USABLE_FRACTION));
        m.insert("min_overlap_hz".into(), json!(bands::MIN_OVERLAP_HZ));
        m.insert("tunings".into(), Value::Array(plan));
    }
    Ok(doc)
}
