//! Emitter tracking on synthesised scenarios: modules at different periods and a phone are
//! told apart, with their periods and behaviour.

use ciot_sweep::record::DetectionRecord;
use ciot_sweep::track::{Behaviour, TrackConfig, Tracker};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ciot-sweep"))
}

/// The bundled car sweep's ground truth (what ideal detectors report), fed to the tracker:
/// the NB-IoT module (NPRACH + NPUSCH entries), the LTE-M module (PRACH + hopping PUSCH),
/// the phone, the chirp and the CW are five emitters, grouped as the scenario made them.
#[test]
fn car_sweep_truth_groups_into_its_transmitters() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("recordings/car-sweep/car-sweep.truth.jsonl"),
    )
    .expect("truth");
    let mut t = Tracker::new(TrackConfig::default());
    // Scenario entries of one physical transmitter (see recordings/scenarios/car-sweep.toml).
    let physical = |entry: u64| match entry {
        0 | 1 => "nb-iot module",
        2 | 3 => "lte-m module",
        4 => "phone",
        5 => "chirp",
        _ => "cw",
    };
    let mut id_of: BTreeMap<&str, u64> = BTreeMap::new();
    for line in text.lines() {
        let mut r: DetectionRecord = serde_json::from_str(line).expect("record");
        let who = physical(r.emitter.take().expect("truth names its emitter"));
        let id = t.add(&mut r).id;
        assert_eq!(*id_of.entry(who).or_insert(id), id, "{who} split: {r:?}");
    }
    assert_eq!(t.emitters().len(), 5, "{:#?}", t.emitters());
    let e = |who: &str| &t.emitters()[(id_of[who] - 1) as usize];
    assert!(e("phone").behaviour.contains(&Behaviour::PhoneLike));
    assert!(!e("lte-m module").behaviour.contains(&Behaviour::PhoneLike));
    assert_eq!(e("lte-m module").kinds.len(), 2, "PRACH and PUSCH");
    assert_eq!(e("nb-iot module").kinds.len(), 2, "NPRACH and NPUSCH");
}

const TWO_MODULES: &str = r#"
[capture]
sample_rate = 1.92e6
center_freq = 851.5e6
duration_s = 3.3
format = "ci8"
noise_dbfs = -36.0
seed = 4242

[[emitter]]
name = "meter"
kind = "nprach"
start_s = 0.05
period_s = 0.8
count = 4
carrier_offset_hz = 300e3
cfo_hz = 900.0
snr_db = 8.0
[emitter.config]
format = 0
repetitions = 2
n_init = 3

[[emitter]]
name = "tracker"
kind = "nprach"
start_s = 0.3
period_s = 1.3
count = 3
carrier_offset_hz = -400e3
cfo_hz = -1500.0
snr_db = 14.0
[emitter.config]
format = 1
repetitions = 1
n_init = 7
"#;

/// Two modules on different carriers reporting every 0.8 s and 1.3 s, through the whole
/// scan: two emitters, each with its own period.
#[test]
fn scan_tells_two_modules_apart_with_their_periods() {
    let d = tempfile::tempdir().expect("tempdir");
    let sc = d.path().join("two.toml");
    std::fs::write(&sc, TWO_MODULES).expect("scenario");
    let o = bin()
        .arg("synth")
        .arg(&sc)
        .arg("--output")
        .arg(d.path().join("two"))
        .output()
        .expect("synth");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = bin()
        .arg("scan")
        .arg(d.path().join("two.sigmf-meta"))
        .args(["--detectors", "energy,nprach", "--quiet", "--json"])
        .arg(d.path().join("two.jsonl"))
        .output()
        .expect("scan");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let recs: Vec<DetectionRecord> = std::fs::read_to_string(d.path().join("two.jsonl"))
        .expect("json")
        .lines()
        .map(|l| serde_json::from_str(l).expect("record"))
        .collect();
    let ids = |sign: f64| -> Vec<u64> {
        let mut v: Vec<u64> = recs
            .iter()
            .filter(|r| r.kind == ciot_dsp::synth::Kind::Nprach && r.freq_offset_hz * sign > 0.0)
            .map(|r| r.emitter.expect("emitter id"))
            .collect();
        v.dedup();
        v
    };
    let (meter, tracker) = (ids(1.0), ids(-1.0));
    assert_eq!(meter.len(), 1, "the meter is one emitter: {recs:?}");
    assert_eq!(tracker.len(), 1, "the tracker is one emitter: {recs:?}");
    assert_ne!(meter, tracker);
    assert!(stderr.contains("periodic every 0.80 s"), "{stderr}");
    assert!(stderr.contains("periodic every 1.30 s"), "{stderr}");
}
