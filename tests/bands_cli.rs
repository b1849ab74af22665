//! `ciot-sweep bands` as a user meets it: the table, region filtering, a band's tunings as
//! JSON, and usage errors that name what was wrong.

use std::process::{Command, Output};

fn bands(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ciot-sweep"))
        .arg("bands")
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).expect("utf-8")
}

/// The first word of each table row after the header.
fn band_column(table: &str) -> Vec<String> {
    table
        .lines()
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

#[test]
fn the_table_lists_the_bands_with_their_uplinks() {
    let out = stdout(&bands(&[]));
    let col = band_column(&out);
    for b in [
        "B1", "B2", "B3", "B4", "B5", "B8", "B12", "B13", "B20", "B25", "B26", "B28", "B66", "B71",
    ] {
        assert!(col.iter().any(|c| c == b), "{b} missing from\n{out}");
    }
    let b20 = out
        .lines()
        .find(|l| l.starts_with("B20 "))
        .expect("a B20 row");
    // TS 36.101: B20 UL 832-862 MHz, DL 791-821 MHz, N_UL 24150-24449, N_DL 6150-6449.
    for field in [
        "832.0-862.0",
        "791.0-821.0",
        "24150-24449",
        "6150-6449",
        "FDD",
        "uk,eu",
    ] {
        assert!(b20.contains(field), "{field} not in {b20}");
    }
    let b71 = out
        .lines()
        .find(|l| l.starts_with("B71 "))
        .expect("B71 row");
    assert!(
        b71.contains("663.0-698.0") && b71.contains("133122-133471"),
        "{b71}"
    );
}

#[test]
fn a_region_filters_the_table_and_plans_a_sweep() {
    let out = stdout(&bands(&["--region", "eu"]));
    assert_eq!(band_column(&out), vec!["B20", "B8", "B3", "B28"], "{out}");
    assert!(out.contains("region eu at up to 15.36 MS/s"), "{out}");
    // Upper case works too, and the US preset says which nested bands it skips.
    let out = stdout(&bands(&["--region", "US"]));
    assert!(out.contains("B4 lies inside B66"), "{out}");
}

#[test]
fn a_band_as_json_carries_its_tunings() {
    let o = bands(&["--band", "B20", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("stdout is JSON");
    let rows = v["bands"].as_array().expect("bands array");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["id"], 20);
    assert_eq!(rows[0]["ul_low_hz"], 832e6);
    assert_eq!(rows[0]["ul_high_hz"], 862e6);
    assert_eq!(rows[0]["n_offs_ul"], 24150);
    assert_eq!(rows[0]["duplex"], "FDD");
    let t = v["tunings"].as_array().expect("tunings array");
    // 30 MHz with 12.288 MHz usable per 15.36 MS/s capture and >= 1.2 MHz overlaps: 3.
    assert_eq!(t.len(), 3, "{v}");
    let mut windows = Vec::new();
    for x in t {
        assert_eq!(x["sample_rate_hz"], 15.36e6);
        assert_eq!(x["band"], 20);
        let lo = x["usable_low_hz"].as_f64().expect("number");
        let hi = x["usable_high_hz"].as_f64().expect("number");
        assert!(
            (hi - lo - 0.8 * 15.36e6).abs() < 1.0,
            "80 % of the rate is usable"
        );
        windows.push((lo, hi));
    }
    assert!(
        windows[0].0 <= 832e6 && windows[2].1 >= 862e6,
        "{windows:?}"
    );
    for w in windows.windows(2) {
        assert!(w[1].0 <= w[0].1 - 1.2e6 + 1.0, "overlap >= 1.2 MHz: {w:?}");
    }
    // The rate option changes the plan: at 20 MS/s the tie goes to 15.36 MS/s all the same,
    // and at 7.68 MS/s (6.144 MHz usable) it takes six.
    let o = bands(&["--band", "20", "--json", "--sample-rate", "7.68M"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    assert_eq!(v["tunings"].as_array().map(Vec::len), Some(6), "{v}");
}

#[test]
fn a_bad_band_is_a_usage_error_naming_it() {
    let o = bands(&["--band", "B99"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("B99"), "{err}");
    assert!(o.stdout.is_empty());
    let o = bands(&["--region", "mars"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("mars"));
    let o = bands(&["--band", "B20", "--sample-rate", "40M"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("40M"));
}
