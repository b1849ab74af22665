//! `locate --audio`: the click generator never allocates in the audio callback's path, and
//! the command fails softly without a sound card (feature `audio`) or says how to build it
//! (without the feature). Runs in both builds (CI's `--features full` run lists it).

use ciot_sweep::locate::tone::{click_channel, ToneConfig};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Counts the allocations of the current thread.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: forwarded as is to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: forwarded as is to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(|c| c.get())
}

#[test]
fn counting_allocator_sees_an_allocation() {
    // The oracle of the next test: a Vec that grows is counted.
    let before = allocations();
    let v: Vec<u64> = std::hint::black_box((0..100).collect());
    assert!(allocations() > before, "{}", v.len());
}

#[test]
fn filling_the_output_never_allocates() {
    let (tx, mut g) = click_channel(ToneConfig::new(48_000.0)).expect("valid");
    let mut out = vec![0.0f32; 2 * 512];
    // Clicks queued and started, voices full and dropping, clicks ending: all without
    // allocating, over many callbacks.
    let before = allocations();
    for i in 0..400u32 {
        if i % 3 == 0 {
            for _ in 0..(i % 20) {
                tx.send(f64::from(i % 45));
            }
        }
        g.fill_from_queue(&mut out, 2);
    }
    let during = allocations() - before;
    assert_eq!(during, 0, "{during} allocations in the generator's path");
    let s = g.stats();
    assert!(s.played > 0 && s.dropped() > 0, "{s:?}");
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ciot-sweep"))
}

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// `locate --audio` on a bundled recording with no sound card: one warning that names the
/// reason, the plain lines and the summary as without `--audio`, exit status 0. ALSA is
/// pointed at an empty configuration so that the test does not depend on the machine's
/// sound card (there is none on CI's machine either way).
#[cfg(feature = "audio")]
#[test]
fn locate_audio_fails_softly_without_a_sound_card() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = dir.path().join("asound.conf");
    std::fs::write(&conf, "# no devices\n").expect("write");
    let o = bin()
        .args(["locate", "--audio"])
        .arg(repo("recordings/nbiot-1.92msps/nbiot-nprach.sigmf-meta"))
        .env("ALSA_CONFIG_PATH", &conf)
        .stdin(Stdio::null())
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&o.stderr);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("warning: no sound (--audio): "))
        .collect();
    assert_eq!(warnings.len(), 1, "one warning line: {stderr}");
    let w = warnings[0];
    assert!(
        w.contains("audio") && w.contains("device") && w.ends_with("locate goes on without it"),
        "the warning names the reason: {w}"
    );
    assert!(!w.contains('{'), "no placeholder: {w}");
    // Locate went on: the plain lines of the bursts and the summary.
    assert!(stdout.contains("dBFS"), "plain lines: {stdout}");
    assert!(stderr.contains("detections"), "{stderr}");
    assert!(
        !stderr.contains("clicks played"),
        "no sound, no click count: {stderr}"
    );
}

/// Without the feature, `--audio` is an error that says how to build it, as `--device`
/// without `soapy`: exit status 1, before any input is read.
#[cfg(not(feature = "audio"))]
#[test]
fn locate_audio_needs_the_feature() {
    let o = bin()
        .args(["locate", "--audio"])
        .arg(repo("recordings/nbiot-1.92msps/nbiot-nprach.sigmf-meta"))
        .stdin(Stdio::null())
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("lacks the `audio` feature")
            && stderr.contains("--features audio")
            && stderr.contains("libasound2-dev"),
        "{stderr}"
    );
    assert!(!String::from_utf8_lossy(&o.stdout).contains("dBFS"));
}

/// `locate --help` documents `--audio` (the pitch mapping) and `--pin`.
#[test]
fn locate_help_documents_audio_and_pin() {
    let o = bin().args(["locate", "--help"]).output().expect("runs");
    let help = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success());
    assert!(
        help.contains("--audio") && help.contains("300 Hz") && help.contains("--features audio"),
        "{help}"
    );
    assert!(help.contains("--pin <EMITTER_ID>"), "{help}");
}
