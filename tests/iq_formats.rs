//! Integration tests of the IQ input/output layer (`ciot_sweep::iq`): sample formats,
//! streaming reader, SigMF read/write (checked against the reference `sigmf` Python
//! package), raw files and rtl_433-style names, and every error case.

use ciot_sweep::iq::format::{CI16_SCALE, CI8_SCALE, CU8_OFFSET, CU8_SCALE};
use ciot_sweep::iq::sigmf::{CIOT_NAMESPACE, SIGMF_VERSION};
use ciot_sweep::iq::{
    hw_description, parse_rtl433_name, parse_si_value, IqBlock, IqError, IqInput, IqReader,
    IqWarning, RawSpec, SampleFormat, Sha512Check, SigmfAnnotation, SigmfCapture, SigmfMeta,
    SigmfRecording, SigmfWriter,
};
use num_complex::Complex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::error::Error as _;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::process::Command;

type C32 = Complex<f32>;

fn c(re: f32, im: f32) -> C32 {
    Complex::new(re, im)
}

/// Random samples uniformly in the square of half-width `amp`.
fn random_samples(n: usize, amp: f32, seed: u64) -> Vec<C32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| c(rng.random_range(-amp..amp), rng.random_range(-amp..amp)))
        .collect()
}

fn read_all(mut reader: IqReader) -> (Vec<C32>, IqReader) {
    let mut all = Vec::new();
    let mut block = IqBlock::default();
    while reader.read_block(&mut block).expect("read") {
        assert_eq!(block.first_sample, all.len() as u64);
        all.extend_from_slice(&block.samples);
    }
    (all, reader)
}

fn write_sigmf(base: &Path, format: SampleFormat, samples: &[C32]) -> SigmfRecording {
    let mut w = SigmfWriter::create(base, format, 1.92e6).expect("create");
    w.write_samples(samples).expect("write");
    let summary = w.finish().expect("finish");
    SigmfRecording::open(&summary.meta_path, None).expect("open")
}

fn err_of<T: std::fmt::Debug>(r: Result<T, IqError>) -> IqError {
    r.expect_err("expected an error")
}

/// A message must name the file and must not print a format placeholder.
fn check_message(e: &IqError, file: &Path) {
    let msg = e.to_string();
    let name = file.file_name().expect("file name").to_string_lossy();
    assert!(
        msg.contains(name.as_ref()),
        "message does not name {name}: {msg}"
    );
    for bad in ["{", "}", "TODO", "placeholder"] {
        assert!(!msg.contains(bad), "message has {bad:?}: {msg}");
    }
}

// ---------------------------------------------------------------------------------------
// Formats

#[test]
fn scaling_constants_match_the_formats() {
    assert_eq!(CI8_SCALE, 1.0 / 128.0);
    assert_eq!(CU8_SCALE, 1.0 / 128.0);
    assert_eq!(CU8_OFFSET, 127.5);
    assert_eq!(CI16_SCALE, 1.0 / 32768.0);

    let mut out = vec![C32::default(); 2];
    SampleFormat::Ci8.decode(&[127, 0x80, 0, 1], &mut out);
    assert_eq!(out, [c(127.0 / 128.0, -1.0), c(0.0, 1.0 / 128.0)]);

    SampleFormat::Cu8.decode(&[0, 255, 127, 128], &mut out);
    assert_eq!(
        out,
        [
            c(-127.5 / 128.0, 127.5 / 128.0),
            c(-0.5 / 128.0, 0.5 / 128.0)
        ]
    );

    let mut b = Vec::new();
    for v in [32767i16, -32768, 1, -1] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    SampleFormat::Ci16Le.decode(&b, &mut out);
    assert_eq!(
        out,
        [c(32767.0 / 32768.0, -1.0), c(1.0 / 32768.0, -1.0 / 32768.0)]
    );

    let mut b = Vec::new();
    for v in [0.25f32, -1.5, 3.0e-9, 7.0] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    let stats = SampleFormat::Cf32Le.decode(&b, &mut out);
    assert_eq!(out, [c(0.25, -1.5), c(3.0e-9, 7.0)]);
    assert_eq!(stats.non_finite, 0);

    assert_eq!(SampleFormat::Ci8.bytes_per_sample(), 2);
    assert_eq!(SampleFormat::Cu8.bytes_per_sample(), 2);
    assert_eq!(SampleFormat::Ci16Le.bytes_per_sample(), 4);
    assert_eq!(SampleFormat::Cf32Le.bytes_per_sample(), 8);
}

#[test]
fn every_code_round_trips_exactly() {
    // All 65536 byte pairs of the 8-bit formats.
    let bytes: Vec<u8> = (0..=u16::MAX).flat_map(|v| v.to_le_bytes()).collect();
    for f in [SampleFormat::Ci8, SampleFormat::Cu8] {
        let mut s = vec![C32::default(); bytes.len() / 2];
        f.decode(&bytes, &mut s);
        let mut back = vec![0u8; bytes.len()];
        assert_eq!(f.encode(&s, &mut back), 0, "{f}: no code clips");
        assert_eq!(back, bytes, "{f}");
    }
    // Every i16 code, as I and as Q.
    let bytes: Vec<u8> = (i16::MIN..=i16::MAX)
        .flat_map(|v| {
            let mut b = v.to_le_bytes().to_vec();
            b.extend_from_slice(&v.wrapping_mul(7).to_le_bytes());
            b
        })
        .collect();
    let f = SampleFormat::Ci16Le;
    let mut s = vec![C32::default(); bytes.len() / 4];
    f.decode(&bytes, &mut s);
    let mut back = vec![0u8; bytes.len()];
    assert_eq!(f.encode(&s, &mut back), 0);
    assert_eq!(back, bytes);
}

/// Naive f64 oracle: the code nearest to `v` (ties to even) in `[lo, hi]`, and whether it
/// clipped.
fn oracle_code(v: f64, lo: f64, hi: f64) -> (f64, bool) {
    let r = v.round_ties_even();
    (r.clamp(lo, hi), r < lo || r > hi)
}

#[test]
fn encode_matches_a_naive_rounding_oracle() {
    let samples = random_samples(50_000, 1.3, 7);
    for f in [SampleFormat::Ci8, SampleFormat::Cu8, SampleFormat::Ci16Le] {
        let mut bytes = vec![0u8; samples.len() * f.bytes_per_sample()];
        let clipped = f.encode(&samples, &mut bytes);
        let mut expected_clipped = 0;
        for (i, s) in samples.iter().enumerate() {
            let mut any_clip = false;
            for (k, x) in [s.re, s.im].into_iter().enumerate() {
                let x = f64::from(x);
                let (got, (want, clip), near_tie) = match f {
                    SampleFormat::Ci8 => (
                        f64::from(bytes[2 * i + k] as i8),
                        oracle_code(x * 128.0, -128.0, 127.0),
                        false,
                    ),
                    SampleFormat::Cu8 => {
                        let v = x * 128.0 + 127.5;
                        (
                            f64::from(bytes[2 * i + k]),
                            oracle_code(v, 0.0, 255.0),
                            ((v - v.floor()) - 0.5).abs() < 1e-4,
                        )
                    }
                    _ => (
                        f64::from(i16::from_le_bytes([
                            bytes[4 * i + 2 * k],
                            bytes[4 * i + 2 * k + 1],
                        ])),
                        oracle_code(x * 32768.0, -32768.0, 32767.0),
                        false,
                    ),
                };
                any_clip |= clip;
                // cu8 adds the offset in f32, so a value within 1e-4 LSB of a tie may go
                // either way; everything else must be exactly the nearest code.
                assert!(
                    got == want || (near_tie && (got - want).abs() == 1.0),
                    "{f}: sample {i} component {k}: {x} -> {got}, oracle {want}"
                );
            }
            expected_clipped += usize::from(any_clip);
        }
        assert_eq!(clipped, expected_clipped, "{f}: clip count");
        assert!(clipped > 1000, "{f}: the test must exercise clipping");
    }
}

#[test]
fn clipping_is_counted() {
    let s = [
        c(1.0, 0.0),           // ci8: 128 does not exist -> clipped
        c(-1.0, -1.0),         // ci8: -128 exists
        c(0.5, 0.999),         // 127.87 rounds to 128 -> clipped
        c(0.0, f32::NAN),      // NaN -> clipped, written as 0
        c(f32::INFINITY, 0.0), // clipped
        c(0.25, -0.25),
    ];
    let mut b = vec![0u8; s.len() * 2];
    assert_eq!(SampleFormat::Ci8.encode(&s, &mut b), 4);
    assert_eq!(b, [127, 0, 128, 128, 64, 127, 0, 0, 127, 0, 32, 224]);

    // cu8: +1.0 -> 255.5 -> 256 clips; -1.0 -> -0.5 -> 0 does not.
    let mut b = vec![0u8; 4];
    assert_eq!(
        SampleFormat::Cu8.encode(&[c(1.0, 0.0), c(-1.0, -1.0)], &mut b),
        1
    );
    assert_eq!(b, [255, 128, 0, 0]);

    let mut b = vec![0u8; 8];
    assert_eq!(
        SampleFormat::Ci16Le.encode(&[c(1.0, -1.0), c(-1.1, 0.0)], &mut b),
        2
    );
    assert_eq!(&b[0..4], &[0xff, 0x7f, 0x00, 0x80]);

    let mut b = vec![0u8; 16];
    assert_eq!(
        SampleFormat::Cf32Le.encode(&[c(5.0, -5.0), c(1e9, 0.0)], &mut b),
        0
    );

    // The writer adds them up.
    let dir = tempfile::tempdir().unwrap();
    let mut w = SigmfWriter::create(&dir.path().join("clip"), SampleFormat::Ci8, 1e6).unwrap();
    assert_eq!(w.write_samples(&s).unwrap(), 4);
    assert_eq!(w.write_samples(&s[..1]).unwrap(), 1);
    assert_eq!(w.clipped_samples(), 5);
    let summary = w.finish().unwrap();
    assert_eq!(summary.clipped_samples, 5);
    assert_eq!(summary.samples, 7);
}

#[test]
fn format_names_and_datatype_spellings() {
    for (name, f) in [
        ("ci8", SampleFormat::Ci8),
        ("cs8", SampleFormat::Ci8),
        ("CU8", SampleFormat::Cu8),
        ("ci16", SampleFormat::Ci16Le),
        ("ci16_le", SampleFormat::Ci16Le),
        ("cs16", SampleFormat::Ci16Le),
        ("cf32", SampleFormat::Cf32Le),
        ("cf32_le", SampleFormat::Cf32Le),
        ("cfile", SampleFormat::Cf32Le),
    ] {
        assert_eq!(name.parse::<SampleFormat>(), Ok(f), "{name}");
    }
    let e = "ci12".parse::<SampleFormat>().unwrap_err().to_string();
    assert!(
        e.contains("ci12") && e.contains("cu8") && e.contains("cf32"),
        "{e}"
    );

    for (dt, f) in [
        ("ci8", SampleFormat::Ci8),
        ("cu8", SampleFormat::Cu8),
        ("ci16_le", SampleFormat::Ci16Le),
        ("cf32_le", SampleFormat::Cf32Le),
    ] {
        assert_eq!(SampleFormat::from_sigmf_datatype(dt), Some(f));
        assert_eq!(f.sigmf_datatype(), dt);
    }
    for dt in [
        "ci16_be", "cf32_be", "cf64_le", "ri8", "ci32_le", "cu16_le", "",
    ] {
        assert_eq!(SampleFormat::from_sigmf_datatype(dt), None, "{dt}");
    }
    for (ext, f) in [
        ("cs8", SampleFormat::Ci8),
        ("iq", SampleFormat::Ci8),
        ("cu8", SampleFormat::Cu8),
        ("cs16", SampleFormat::Ci16Le),
        ("cf32", SampleFormat::Cf32Le),
        ("cfile", SampleFormat::Cf32Le),
    ] {
        assert_eq!(SampleFormat::from_extension(ext), Some(f), "{ext}");
    }
    assert_eq!(SampleFormat::from_extension("wav"), None);
}

// ---------------------------------------------------------------------------------------
// SigMF write then read

#[test]
fn write_then_read_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let samples = random_samples(20_011, 0.99, 3);
    let t0 = chrono::DateTime::parse_from_rfc3339("2025-03-04T05:06:07.123456Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    for f in SampleFormat::ALL {
        let base = dir.path().join(format!("rt_{}_1.92M", f.cli_name()));
        let mut w = SigmfWriter::create(&base, f, 1.92e6).unwrap();
        w.global_mut().hw = Some(hw_description(
            "HackRF One",
            &[("LNA", 32.0), ("VGA", 20.0)],
        ));
        w.global_mut().description = Some("round trip".into());
        w.add_capture(
            SigmfCapture::new(0)
                .with_frequency(832.5e6)
                .with_datetime(t0),
        );
        let mut a = SigmfAnnotation::new(500, 100);
        a.kind = Some("nprach".into());
        a.tech = Some("nb-iot".into());
        a.params = Some(serde_json::json!({"format": 0, "n_init": 7}));
        w.add_annotation(a);
        w.add_annotation(SigmfAnnotation::new(20, 10));
        // Written in uneven chunks.
        for chunk in samples.chunks(3001) {
            assert_eq!(w.write_samples(chunk).unwrap(), 0);
        }
        let summary = w.finish().unwrap();
        assert_eq!(summary.samples, samples.len() as u64);
        assert!(!dir.path().read_dir().unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains(".tmp")));

        for open_path in [&summary.meta_path, &summary.data_path, &base] {
            let rec = SigmfRecording::open(open_path, None).unwrap();
            assert_eq!(rec.format, f);
            assert_eq!(rec.sample_rate_hz, 1.92e6);
            assert_eq!(rec.num_samples(), samples.len() as u64);
            assert_eq!(rec.frequency_hz(), Some(832.5e6));
            assert_eq!(rec.start_time(), Some(t0));
        }
        let rec = SigmfRecording::open(&summary.meta_path, None).unwrap();
        assert_eq!(rec.verify_sha512().unwrap(), Sha512Check::Match);
        assert_eq!(
            rec.meta.global.sha512.as_deref(),
            Some(summary.sha512.as_str())
        );
        assert_eq!(rec.meta.global.version.as_deref(), Some(SIGMF_VERSION));
        assert_eq!(
            rec.meta.global.hw.as_deref(),
            Some("HackRF One; gains: LNA=32 dB, VGA=20 dB")
        );
        assert!(rec
            .meta
            .global
            .extensions
            .iter()
            .any(|e| e.name == CIOT_NAMESPACE));
        let ann = rec.meta.annotations_not_for_detection();
        assert_eq!(ann.len(), 2);
        assert_eq!((ann[0].sample_start, ann[1].sample_start), (20, 500));
        assert_eq!(ann[1].kind.as_deref(), Some("nprach"));
        assert_eq!(ann[1].params.as_ref().unwrap()["n_init"], 7);

        let (read, reader) = read_all(rec.reader(1000).unwrap());
        assert!(reader.warnings().is_empty());
        assert_eq!(read.len(), samples.len());
        let half_lsb = f.lsb() / 2.0;
        for (i, (a, b)) in samples.iter().zip(&read).enumerate() {
            if f == SampleFormat::Cf32Le {
                assert_eq!(a, b, "cf32 sample {i}");
            } else {
                let err = (a.re - b.re).abs().max((a.im - b.im).abs());
                assert!(
                    err <= half_lsb * (1.0 + 1e-4),
                    "{f} sample {i}: error {err}"
                );
            }
        }
    }
}

#[test]
fn blocks_are_stamped_contiguously_whatever_the_block_size() {
    let dir = tempfile::tempdir().unwrap();
    let samples = random_samples(10_007, 0.9, 11);
    let rec = write_sigmf(&dir.path().join("blocks"), SampleFormat::Ci16Le, &samples);
    let (reference, _) = read_all(rec.reader(10_007).unwrap());
    for block_len in [1usize, 7, 1000, 4096, 10_006, 10_007, 10_008, 100_000] {
        let mut next = 0u64;
        let mut all = Vec::new();
        let blocks: Vec<IqBlock> = rec
            .reader(block_len)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for (k, b) in blocks.iter().enumerate() {
            assert_eq!(b.first_sample, next, "block_len {block_len}, block {k}");
            if k + 1 < blocks.len() {
                assert_eq!(b.len(), block_len);
            } else {
                assert!(b.len() <= block_len && !b.is_empty());
            }
            next = b.end_sample();
            all.extend_from_slice(&b.samples);
        }
        assert_eq!(next, samples.len() as u64);
        assert_eq!(all, reference, "block_len {block_len}");
    }
}

/// A `Read` that hands out at most `step` bytes per call, like a slow pipe.
struct Trickle<R> {
    inner: R,
    step: usize,
}

impl<R: Read> Read for Trickle<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.step);
        self.inner.read(&mut buf[..n])
    }
}

#[test]
fn reads_from_a_generic_read_as_from_stdin() {
    let samples = random_samples(5000, 0.9, 5);
    let mut bytes = vec![0u8; samples.len() * 2];
    SampleFormat::Ci8.encode(&samples, &mut bytes);
    let whole = IqReader::from_read(
        Cursor::new(bytes.clone()),
        "<stdin>",
        SampleFormat::Ci8,
        512,
    );
    let (a, _) = read_all(whole);
    for step in [1usize, 3, 1000] {
        let slow = IqReader::from_read(
            Trickle {
                inner: Cursor::new(bytes.clone()),
                step,
            },
            "<stdin>",
            SampleFormat::Ci8,
            512,
        );
        let blocks: Vec<IqBlock> = slow.collect::<Result<_, _>>().unwrap();
        assert!(blocks[..blocks.len() - 1].iter().all(|b| b.len() == 512));
        let b: Vec<C32> = blocks.into_iter().flat_map(|b| b.samples).collect();
        assert_eq!(a, b, "step {step}");
    }
    assert_eq!(a.len(), 5000);

    // `-` is standard input: raw, so format and sample rate must be given.
    let e = err_of(RawSpec::from_path_and_args(
        Path::new("-"),
        None,
        None,
        None,
    ));
    assert!(e.to_string().contains("<stdin>"), "{e}");
    let spec =
        RawSpec::from_path_and_args(Path::new("-"), Some(SampleFormat::Ci8), Some(15.36e6), None)
            .unwrap();
    assert_eq!(spec.path, PathBuf::from("-"));
    let input =
        IqInput::open(Path::new("-"), Some(SampleFormat::Ci8), Some(15.36e6), None).unwrap();
    assert!(input.sigmf.is_none());
    assert_eq!(input.sample_rate_hz, 15.36e6);
}

#[test]
fn read_errors_name_the_file_and_offset() {
    struct FailAfter(usize);
    impl Read for FailAfter {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::Error::other("device unplugged"));
            }
            let n = buf.len().min(self.0);
            buf[..n].fill(0);
            self.0 -= n;
            Ok(n)
        }
    }
    let mut r = IqReader::from_read(FailAfter(1000), "capture.cs8", SampleFormat::Ci8, 256);
    let mut block = IqBlock::default();
    assert!(r.read_block(&mut block).unwrap()); // bytes 0..512
    let e = r.read_block(&mut block).unwrap_err(); // 488 more, then the error
    match &e {
        IqError::Read { offset, .. } => assert_eq!(*offset, 1000),
        other => panic!("{other:?}"),
    }
    check_message(&e, Path::new("capture.cs8"));
    assert!(e.to_string().contains("1000"), "{e}");
    assert!(e.source().unwrap().to_string().contains("unplugged"));
    assert!(r.next().is_none(), "the reader stops after an error");
}

// ---------------------------------------------------------------------------------------
// Warnings: trailing bytes, non-finite samples

#[test]
fn trailing_partial_sample_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cap_100M_1M.cs16");
    let samples = random_samples(10, 0.5, 1);
    let mut bytes = vec![0u8; 40];
    SampleFormat::Ci16Le.encode(&samples, &mut bytes);
    bytes.extend_from_slice(&[1, 2, 3]);
    std::fs::write(&path, &bytes).unwrap();
    let spec = RawSpec::from_path_and_args(&path, None, None, None).unwrap();
    for block_len in [4usize, 10, 64] {
        let (read, reader) = read_all(spec.reader(block_len).unwrap());
        assert_eq!(read.len(), 10);
        let t = reader.trailing_bytes().expect("trailing bytes reported");
        assert_eq!((t.offset, t.count), (40, 3));
        assert_eq!(t.path, path);
        let w = reader.warnings();
        assert_eq!(w.len(), 1);
        let msg = w[0].to_string();
        assert!(
            msg.contains("cap_100M_1M.cs16") && msg.contains("40") && msg.contains('3'),
            "{msg}"
        );
    }

    // The same in a SigMF dataset.
    let rec = write_sigmf(&dir.path().join("trail"), SampleFormat::Cf32Le, &samples);
    let mut data = std::fs::read(&rec.data_path).unwrap();
    data.extend_from_slice(&[9; 5]);
    std::fs::write(&rec.data_path, &data).unwrap();
    let rec = SigmfRecording::open(&rec.meta_path, None).unwrap();
    assert_eq!(rec.num_samples(), 10);
    assert_eq!(rec.partial_sample_bytes(), 5);
    let (read, reader) = read_all(rec.reader(3).unwrap());
    assert_eq!(read, samples);
    let t = reader.trailing_bytes().unwrap();
    assert_eq!((t.offset, t.count), (80, 5));
    assert!(matches!(reader.warnings()[0], IqWarning::TrailingBytes(_)));
}

#[test]
fn declared_trailing_bytes_are_skipped_silently() {
    let dir = tempfile::tempdir().unwrap();
    let samples = random_samples(100, 0.5, 2);
    let rec = write_sigmf(&dir.path().join("ncd"), SampleFormat::Cu8, &samples);
    let mut data = std::fs::read(&rec.data_path).unwrap();
    data.extend_from_slice(&[0xAA; 6]);
    std::fs::write(&rec.data_path, &data).unwrap();
    let mut meta = rec.meta.clone();
    meta.global.trailing_bytes = Some(6);
    meta.global.sha512 = None;
    std::fs::write(&rec.meta_path, meta.to_json_pretty(&rec.meta_path).unwrap()).unwrap();
    let rec = SigmfRecording::open(&rec.meta_path, None).unwrap();
    let (read, reader) = read_all(rec.reader(7).unwrap());
    assert_eq!(read.len(), 100);
    assert!(reader.warnings().is_empty());
}

#[test]
fn non_finite_cf32_samples_are_zeroed_and_counted() {
    let mut samples = random_samples(300, 0.5, 4);
    samples[5].re = f32::NAN;
    samples[9].im = f32::INFINITY;
    samples[250] = c(f32::NEG_INFINITY, f32::NAN);
    let mut bytes = vec![0u8; samples.len() * 8];
    SampleFormat::Cf32Le.encode(&samples, &mut bytes);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nan.cf32");
    std::fs::write(&path, &bytes).unwrap();
    let spec = RawSpec::from_path_and_args(&path, None, Some(1e6), None).unwrap();
    let (read, reader) = read_all(spec.reader(100).unwrap());
    for (i, (a, b)) in samples.iter().zip(&read).enumerate() {
        if [5, 9, 250].contains(&i) {
            assert_eq!(*b, c(0.0, 0.0));
        } else {
            assert_eq!(a, b);
        }
    }
    let n = reader.non_finite().unwrap();
    assert_eq!((n.count, n.first_sample), (3, 5));
    let msg = reader.warnings()[0].to_string();
    assert!(
        msg.contains("nan.cf32") && msg.contains('3') && msg.contains('5'),
        "{msg}"
    );

    // First offending sample in a later block.
    let mut r = IqReader::from_read(
        Cursor::new(bytes[8 * 100..].to_vec()),
        "x",
        SampleFormat::Cf32Le,
        64,
    );
    while r.next().is_some() {}
    assert_eq!(r.non_finite().unwrap().first_sample, 150);
}

// ---------------------------------------------------------------------------------------
// Raw files and rtl_433 names

/// File name, then the format, centre frequency and sample rate it says.
type NameCase = (&'static str, Option<SampleFormat>, Option<f64>, Option<f64>);

#[test]
fn rtl433_names_are_parsed() {
    let cases: &[NameCase] = &[
        (
            "anything_832.5M_1.92M.cf32",
            Some(SampleFormat::Cf32Le),
            Some(832.5e6),
            Some(1.92e6),
        ),
        (
            "g001_433.92M_250k.cu8",
            Some(SampleFormat::Cu8),
            Some(433.92e6),
            Some(250e3),
        ),
        (
            "dir/x_2.4G_20M.cfile",
            Some(SampleFormat::Cf32Le),
            Some(2.4e9),
            Some(20e6),
        ),
        (
            "cap_868MHz_2Msps.cs8",
            Some(SampleFormat::Ci8),
            Some(868e6),
            Some(2e6),
        ),
        (
            "cap_2Msps_868MHz.cs8",
            Some(SampleFormat::Ci8),
            Some(868e6),
            Some(2e6),
        ),
        (
            "cap_1.92M_868000000Hz.cs16",
            Some(SampleFormat::Ci16Le),
            Some(868e6),
            Some(1.92e6),
        ),
        (
            "cap_1.92Msps_868M.cs16",
            Some(SampleFormat::Ci16Le),
            Some(868e6),
            Some(1.92e6),
        ),
        (
            "20250101_120000_806M_15.36M.iq",
            Some(SampleFormat::Ci8),
            Some(806e6),
            Some(15.36e6),
        ),
        (
            "rec_1920k.cs16",
            Some(SampleFormat::Ci16Le),
            None,
            Some(1.92e6),
        ),
        (
            "rec_868M.cs16",
            Some(SampleFormat::Ci16Le),
            Some(868e6),
            None,
        ),
        ("hackrf.iq", Some(SampleFormat::Ci8), None, None),
        ("notes_v2_final.bin", None, None, None),
        ("x_832.5M_1.92M", None, Some(832.5e6), Some(1.92e6)),
        ("capture_1M_2M.bin", None, Some(1e6), Some(2e6)),
        ("a_1.2.3M_4M.cu8", Some(SampleFormat::Cu8), Some(4e6), None),
    ];
    for (name, fmt, freq, rate) in cases {
        let n = parse_rtl433_name(Path::new(name));
        assert_eq!(n.format, *fmt, "{name}: format");
        assert_eq!(n.frequency_hz, *freq, "{name}: frequency");
        assert_eq!(n.sample_rate_hz, *rate, "{name}: rate");
    }
    assert_eq!(parse_si_value("1.92M"), Some(1.92e6));
    assert_eq!(parse_si_value("250k"), Some(250e3));
    assert_eq!(parse_si_value("2.4G"), Some(2.4e9));
    assert_eq!(parse_si_value("15.36e6"), Some(15.36e6));
    assert_eq!(parse_si_value("15360000"), Some(15.36e6));
    for bad in ["", "M", "-5M", "1.9X", "abc", "inf"] {
        assert_eq!(parse_si_value(bad), None, "{bad}");
    }
}

#[test]
fn raw_spec_says_what_is_missing() {
    let p = Path::new("/data/capture.bin");
    let e = err_of(RawSpec::from_path_and_args(p, None, None, None));
    check_message(&e, p);
    let msg = e.to_string();
    assert!(
        msg.contains("sample format") && msg.contains("sample rate"),
        "{msg}"
    );

    let e = err_of(RawSpec::from_path_and_args(
        p,
        Some(SampleFormat::Cu8),
        None,
        None,
    ));
    let msg = e.to_string();
    assert!(
        msg.contains("sample rate") && !msg.contains("sample format"),
        "{msg}"
    );

    let e = err_of(RawSpec::from_path_and_args(p, None, Some(2e6), None));
    let msg = e.to_string();
    assert!(
        msg.contains("sample format") && !msg.contains("sample rate"),
        "{msg}"
    );
    assert!(msg.contains(".cs8") && msg.contains(".cfile"), "{msg}");

    // Arguments override the name.
    let p = Path::new("x_832.5M_1.92M.cf32");
    let s = RawSpec::from_path_and_args(p, Some(SampleFormat::Ci8), Some(15.36e6), Some(806e6))
        .unwrap();
    assert_eq!(
        (s.format, s.sample_rate_hz, s.frequency_hz),
        (SampleFormat::Ci8, 15.36e6, Some(806e6))
    );
    let s = RawSpec::from_path_and_args(p, None, None, None).unwrap();
    assert_eq!(
        (s.format, s.sample_rate_hz, s.frequency_hz),
        (SampleFormat::Cf32Le, 1.92e6, Some(832.5e6))
    );

    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 2e9] {
        let e = err_of(RawSpec::from_path_and_args(p, None, Some(bad), None));
        assert!(matches!(e, IqError::BadSampleRate { .. }), "{bad}: {e:?}");
        check_message(&e, p);
    }
    let e = err_of(RawSpec::from_path_and_args(p, None, None, Some(f64::NAN)));
    assert!(matches!(e, IqError::BadFrequency { .. }));
    check_message(&e, p);
}

#[test]
fn empty_raw_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty_1M_1M.cu8");
    std::fs::write(&path, b"").unwrap();
    let spec = RawSpec::from_path_and_args(&path, None, None, None).unwrap();
    let e = err_of(spec.reader(10));
    assert!(matches!(e, IqError::EmptyData { bytes: 0, .. }));
    check_message(&e, &path);
    let missing = dir.path().join("missing.cu8");
    let spec = RawSpec::from_path_and_args(&missing, None, Some(1e6), None).unwrap();
    let e = err_of(spec.reader(10));
    assert!(matches!(e, IqError::Open { .. }));
    check_message(&e, &missing);
    assert!(e.source().is_some());
}

// ---------------------------------------------------------------------------------------
// SigMF metadata errors

/// Writes `BASE.sigmf-meta` with `meta` and `BASE.sigmf-data` with `data` (if any).
fn sigmf_fixture(dir: &Path, base: &str, meta: &str, data: Option<&[u8]>) -> (PathBuf, PathBuf) {
    let m = dir.join(format!("{base}.sigmf-meta"));
    let d = dir.join(format!("{base}.sigmf-data"));
    std::fs::write(&m, meta).unwrap();
    if let Some(data) = data {
        std::fs::write(&d, data).unwrap();
    }
    (m, d)
}

fn meta_text(global: &str) -> String {
    format!("{{\n  \"global\": {{ {global} }},\n  \"captures\": [],\n  \"annotations\": []\n}}\n")
}

#[test]
fn sigmf_meta_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ok = r#""core:datatype": "ci8", "core:version": "1.2.0", "core:sample_rate": 1e6"#;

    // Invalid JSON: line and column.
    let (m, _) = sigmf_fixture(
        d,
        "badjson",
        "{\n  \"global\": {\n    \"core:datatype\": \"ci8\",,\n  }\n}\n",
        Some(&[0; 8]),
    );
    let e = err_of(SigmfRecording::open(&m, None));
    match &e {
        IqError::MetaJson { line, column, .. } => assert_eq!((*line, *column), (3, 28)),
        other => panic!("{other:?}"),
    }
    check_message(&e, &m);
    assert!(e.to_string().contains("line 3, column 28"), "{e}");
    assert!(e.source().is_some());

    // Valid JSON but no datatype.
    let (m, _) = sigmf_fixture(
        d,
        "nodt",
        &meta_text(r#""core:version": "1.2.0""#),
        Some(&[0; 8]),
    );
    let e = err_of(SigmfRecording::open(&m, None));
    assert!(matches!(e, IqError::MetaJson { .. }));
    assert!(e.source().unwrap().to_string().contains("core:datatype"));

    // Missing data file, opened from the meta path.
    let (m, dpath) = sigmf_fixture(d, "nodata", &meta_text(ok), None);
    let e = err_of(SigmfRecording::open(&m, None));
    assert!(matches!(e, IqError::MissingData { .. }));
    check_message(&e, &dpath);

    // Missing meta file, opened from the data path.
    let dpath = d.join("nometa.sigmf-data");
    std::fs::write(&dpath, [0u8; 8]).unwrap();
    let e = err_of(SigmfRecording::open(&dpath, None));
    assert!(matches!(e, IqError::MissingMeta { .. }));
    check_message(&e, &d.join("nometa.sigmf-meta"));
    assert!(e.to_string().contains("nometa.sigmf-data"));

    // Unsupported datatype: the supported ones are listed.
    for dt in ["ci16_be", "cf64_le", "ri8", "ci32_le"] {
        let (m, _) = sigmf_fixture(
            d,
            "dt",
            &meta_text(&format!(
                r#""core:datatype": "{dt}", "core:version": "1.2.0", "core:sample_rate": 1e6"#
            )),
            Some(&[0; 16]),
        );
        let e = err_of(SigmfRecording::open(&m, None));
        assert!(matches!(e, IqError::UnsupportedDatatype { .. }));
        check_message(&e, &m);
        let msg = e.to_string();
        assert!(msg.contains(dt), "{msg}");
        for s in ["ci8", "cu8", "ci16_le", "cf32_le"] {
            assert!(msg.contains(s), "{msg}");
        }
    }

    // Bad sample rates.
    for rate in ["0", "-1920000", "2e9", "1e300"] {
        let (m, _) = sigmf_fixture(
            d,
            "rate",
            &meta_text(&format!(
                r#""core:datatype": "ci8", "core:version": "1.2.0", "core:sample_rate": {rate}"#
            )),
            Some(&[0; 16]),
        );
        let e = err_of(SigmfRecording::open(&m, None));
        assert!(matches!(e, IqError::BadSampleRate { .. }), "{rate}: {e:?}");
        check_message(&e, &m);
    }
    // A sample rate that is not a number at all is a JSON shape error.
    let (m, _) = sigmf_fixture(
        d,
        "ratestr",
        &meta_text(
            r#""core:datatype": "ci8", "core:version": "1.2.0", "core:sample_rate": "fast""#,
        ),
        Some(&[0; 16]),
    );
    assert!(matches!(
        err_of(SigmfRecording::open(&m, None)),
        IqError::MetaJson { .. }
    ));
    // NaN given as the replacement sample rate.
    let (m, _) = sigmf_fixture(d, "ratenan", &meta_text(ok), Some(&[0; 16]));
    let e = err_of(SigmfRecording::open(&m, Some(f64::NAN)));
    assert!(e.to_string().contains("not a number"), "{e}");

    // Missing sample rate; a given one fills the gap.
    let (m, _) = sigmf_fixture(
        d,
        "norate",
        &meta_text(r#""core:datatype": "cu8", "core:version": "1.2.0""#),
        Some(&[0; 16]),
    );
    let e = err_of(SigmfRecording::open(&m, None));
    assert!(matches!(e, IqError::MissingSampleRate { .. }));
    check_message(&e, &m);
    assert_eq!(
        SigmfRecording::open(&m, Some(2.4e6))
            .unwrap()
            .sample_rate_hz,
        2.4e6
    );

    // Empty data file, and one without a whole sample.
    let (m, dpath) = sigmf_fixture(d, "empty", &meta_text(ok), Some(&[]));
    let e = err_of(SigmfRecording::open(&m, None));
    assert!(matches!(e, IqError::EmptyData { bytes: 0, .. }));
    check_message(&e, &dpath);
    assert!(e.to_string().contains("empty"));
    let (m, dpath) = sigmf_fixture(d, "onebyte", &meta_text(ok), Some(&[7]));
    let e = err_of(SigmfRecording::open(&m, None));
    assert!(matches!(e, IqError::EmptyData { bytes: 1, .. }));
    check_message(&e, &dpath);

    // Unsupported features.
    let (m, _) = sigmf_fixture(
        d,
        "twoch",
        &meta_text(&format!(r#"{ok}, "core:num_channels": 2"#)),
        Some(&[0; 16]),
    );
    let e = err_of(SigmfRecording::open(&m, None));
    assert!(matches!(e, IqError::UnsupportedMeta { .. }));
    check_message(&e, &m);

    // A format given that contradicts the datatype.
    let (m, _) = sigmf_fixture(d, "conflict", &meta_text(ok), Some(&[0; 16]));
    let e = err_of(IqInput::open(&m, Some(SampleFormat::Cu8), None, None));
    assert!(matches!(e, IqError::FormatConflict { .. }));
    check_message(&e, &m);
    let input = IqInput::open(&m, Some(SampleFormat::Ci8), None, Some(806e6)).unwrap();
    assert_eq!(input.frequency_hz, Some(806e6));
    assert_eq!(input.sample_rate_hz, 1e6);
}

#[test]
fn unknown_keys_survive_a_round_trip() {
    let text = r#"{
  "global": {
    "core:datatype": "cf32_le",
    "core:version": "1.2.0",
    "core:sample_rate": 1920000.0,
    "core:license": "CC0",
    "other:antenna": {"gain_dbi": 3},
    "core:extensions": [{"name": "other", "version": "1.0.0", "optional": true}]
  },
  "captures": [{"core:sample_start": 0, "other:tuner": "R820T", "core:datetime": "not a time"}],
  "annotations": [{"core:sample_start": 5, "core:sample_count": 2, "other:note": [1, 2]}],
  "x:top": true
}"#;
    let p = Path::new("keys.sigmf-meta");
    let meta = SigmfMeta::from_json_str(text, p).unwrap();
    assert_eq!(meta.global.sample_rate, Some(1.92e6));
    assert_eq!(meta.global.extra["core:license"], "CC0");
    assert_eq!(meta.captures[0].extra["other:tuner"], "R820T");
    assert_eq!(meta.captures[0].datetime_utc(), None);
    assert_eq!(
        meta.annotations_not_for_detection()[0].extra["other:note"][1],
        2
    );
    assert_eq!(meta.extra["x:top"], true);
    let again = SigmfMeta::from_json_str(&meta.to_json_pretty(p).unwrap(), p).unwrap();
    assert_eq!(again, meta);
    let original: serde_json::Value = serde_json::from_str(text).unwrap();
    let written: serde_json::Value =
        serde_json::from_str(&meta.to_json_pretty(p).unwrap()).unwrap();
    assert_eq!(original, written, "nothing lost or added");
}

#[test]
fn unparsable_capture_time_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let text = r#"{"global": {"core:datatype": "ci8", "core:version": "1.2.0", "core:sample_rate": 1e6},
 "captures": [{"core:sample_start": 0, "core:datetime": "yesterday"}], "annotations": []}"#;
    let (m, _) = sigmf_fixture(dir.path(), "when", text, Some(&[0; 4]));
    let input = IqInput::open(&m, None, None, None).unwrap();
    assert_eq!(input.start_time, None);
    assert_eq!(input.warnings.len(), 1);
    let msg = input.warnings[0].to_string();
    assert!(
        msg.contains("when.sigmf-meta") && msg.contains("yesterday"),
        "{msg}"
    );
}

#[test]
fn checkpoint_meta_then_finish() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("live");
    let mut w = SigmfWriter::create(&base, SampleFormat::Ci8, 15.36e6).unwrap();
    w.write_native(&[1, 2, 3, 4]).unwrap();
    w.checkpoint_meta().unwrap();
    let rec = SigmfRecording::open(&base, None).unwrap();
    assert_eq!(rec.num_samples(), 2);
    assert_eq!(rec.verify_sha512().unwrap(), Sha512Check::Absent);
    w.write_samples(&[c(0.5, -0.5)]).unwrap();
    let s = w.finish().unwrap();
    let rec = SigmfRecording::open(&s.data_path, None).unwrap();
    assert_eq!(rec.num_samples(), 3);
    assert_eq!(rec.verify_sha512().unwrap(), Sha512Check::Match);
    assert_eq!(rec.meta.captures.len(), 1);
    // A changed byte is caught.
    let mut data = std::fs::read(&s.data_path).unwrap();
    data[0] ^= 1;
    std::fs::write(&s.data_path, &data).unwrap();
    assert!(matches!(
        rec.verify_sha512().unwrap(),
        Sha512Check::Mismatch { .. }
    ));
}

#[test]
fn writer_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("no_such_dir").join("rec");
    let e = err_of(SigmfWriter::create(&base, SampleFormat::Cu8, 1e6));
    assert!(matches!(e, IqError::Create { .. }));
    check_message(&e, &dir.path().join("rec.sigmf-data"));
    let e = err_of(SigmfWriter::create(
        &dir.path().join("r"),
        SampleFormat::Cu8,
        0.0,
    ));
    check_message(&e, &dir.path().join("r.sigmf-meta"));
}

#[test]
fn writer_refuses_non_finite_frequencies() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("nanfreq");
    let mut w = SigmfWriter::create(&base, SampleFormat::Ci8, 1e6).unwrap();
    w.add_capture(SigmfCapture::new(0).with_frequency(f64::NAN));
    let e = err_of(w.finish());
    assert!(matches!(e, IqError::BadFrequency { .. }));
    check_message(&e, &dir.path().join("nanfreq.sigmf-meta"));
}

#[test]
fn every_error_variant_names_its_file() {
    use std::io::{Error, ErrorKind};
    let p = PathBuf::from("/rec/cap_806M_15.36M.sigmf-meta");
    let d = PathBuf::from("/rec/cap_806M_15.36M.sigmf-data");
    let io = || Error::new(ErrorKind::PermissionDenied, "denied");
    let json = || serde_json::from_str::<serde_json::Value>("{").unwrap_err();
    let all = vec![
        (
            IqError::Open {
                path: d.clone(),
                source: io(),
            },
            &d,
        ),
        (
            IqError::Read {
                path: d.clone(),
                offset: 4096,
                source: io(),
            },
            &d,
        ),
        (
            IqError::Create {
                path: d.clone(),
                source: io(),
            },
            &d,
        ),
        (
            IqError::Write {
                path: d.clone(),
                offset: 8192,
                source: io(),
            },
            &d,
        ),
        (
            IqError::MetaRead {
                path: p.clone(),
                source: io(),
            },
            &p,
        ),
        (
            IqError::MetaJson {
                path: p.clone(),
                line: 1,
                column: 2,
                source: json(),
            },
            &p,
        ),
        (
            IqError::MetaWrite {
                path: p.clone(),
                source: io(),
            },
            &p,
        ),
        (
            IqError::MetaSerialize {
                path: p.clone(),
                source: json(),
            },
            &p,
        ),
        (
            IqError::MissingData {
                data_path: d.clone(),
                meta_path: p.clone(),
            },
            &d,
        ),
        (
            IqError::MissingMeta {
                meta_path: p.clone(),
                data_path: d.clone(),
            },
            &p,
        ),
        (
            IqError::UnsupportedDatatype {
                path: p.clone(),
                datatype: "ri8".into(),
            },
            &p,
        ),
        (
            IqError::UnsupportedMeta {
                path: p.clone(),
                what: "core:num_channels = 2".into(),
            },
            &p,
        ),
        (IqError::MissingSampleRate { path: p.clone() }, &p),
        (
            IqError::BadSampleRate {
                path: p.clone(),
                value: -1.0,
                reason: "negative",
            },
            &p,
        ),
        (
            IqError::BadFrequency {
                path: p.clone(),
                value: f64::NAN,
            },
            &p,
        ),
        (
            IqError::EmptyData {
                path: d.clone(),
                bytes: 1,
                format: SampleFormat::Ci16Le,
            },
            &d,
        ),
        (
            IqError::RawSpecIncomplete {
                path: d.clone(),
                what: "no rate".into(),
            },
            &d,
        ),
        (
            IqError::FormatConflict {
                path: p.clone(),
                given: SampleFormat::Cu8,
                datatype: SampleFormat::Ci8,
            },
            &p,
        ),
    ];
    for (e, file) in &all {
        check_message(e, file);
        assert_eq!(e.path(), file.as_path());
        let has_source = matches!(
            e,
            IqError::Open { .. }
                | IqError::Read { .. }
                | IqError::Create { .. }
                | IqError::Write { .. }
                | IqError::MetaRead { .. }
                | IqError::MetaJson { .. }
                | IqError::MetaWrite { .. }
                | IqError::MetaSerialize { .. }
        );
        assert_eq!(e.source().is_some(), has_source, "{e}");
    }
    assert!(all[1].0.to_string().contains("4096"));
    assert!(all[3].0.to_string().contains("8192"));

    // Reading a directory as metadata is a MetaRead error naming it.
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("dir.sigmf-meta");
    std::fs::create_dir(&m).unwrap();
    let e = err_of(SigmfMeta::read(&m));
    assert!(matches!(e, IqError::MetaRead { .. }));
    check_message(&e, &m);
}

#[test]
fn reader_is_send() {
    fn assert_send<T: Send>() {}
    assert_send::<IqReader>();
    assert_send::<SigmfWriter>();
    assert_send::<IqError>();
}

// ---------------------------------------------------------------------------------------
// Reference validator (Python `sigmf`)

const VALIDATOR: &str = r#"
import json, sys, warnings
warnings.simplefilter("error")
from sigmf import sigmffile, validate
out = {}
for base in sys.argv[1:]:
    with open(base + ".sigmf-meta") as f:
        meta = json.load(f)
    validate.validate(meta)  # schema, version pattern, declared extensions, ordering
    rec = sigmffile.fromfile(base + ".sigmf-meta")  # checks core:sha512 against the data
    rec.validate()
    raw = sigmffile.fromfile(base + ".sigmf-meta", autoscale=False).read_samples()
    out[base] = [[float(z.real), float(z.imag)] for z in raw[:64]]
print(json.dumps(out))
"#;

fn python_sigmf_available() -> bool {
    Command::new("python3")
        .args(["-c", "import sigmf"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

#[test]
fn reference_validator_accepts_written_files() {
    if !python_sigmf_available() {
        if std::env::var_os("CI").is_some() {
            panic!(
                "python3 with the `sigmf` package is required when CI is set (pip install sigmf)"
            );
        }
        eprintln!(
            "NOTICE: python3 or its `sigmf` package is missing; reference validator test skipped"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let t0 = chrono::DateTime::parse_from_rfc3339("2025-01-02T03:04:05Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let mut bases = Vec::new();
    let mut expected_codes = Vec::new();
    for f in SampleFormat::ALL {
        let base = dir.path().join(format!("val_{}_806M_1.92M", f.cli_name()));
        // Exact codes chosen here, so the raw values Python reads are an independent check of
        // byte order, offsets and scaling.
        let codes: Vec<(f64, f64)> = (0..64)
            .map(|i| match f {
                SampleFormat::Ci8 => (f64::from(i * 4 - 128), f64::from(127 - i * 3)),
                SampleFormat::Cu8 => (f64::from(i * 4), f64::from(255 - i * 3)),
                SampleFormat::Ci16Le => (f64::from(i * 1000 - 32768), f64::from(32767 - i * 999)),
                SampleFormat::Cf32Le => (f64::from(i) * 0.015625 - 0.5, f64::from(i) * -0.03125),
            })
            .collect();
        let samples: Vec<C32> = codes
            .iter()
            .map(|&(a, b)| match f {
                SampleFormat::Ci8 => c(a as f32 / 128.0, b as f32 / 128.0),
                SampleFormat::Cu8 => c((a as f32 - 127.5) / 128.0, (b as f32 - 127.5) / 128.0),
                SampleFormat::Ci16Le => c(a as f32 / 32768.0, b as f32 / 32768.0),
                SampleFormat::Cf32Le => c(a as f32, b as f32),
            })
            .collect();
        let mut w = SigmfWriter::create(&base, f, 1.92e6).unwrap();
        w.global_mut().hw = Some(hw_description("HackRF One", &[("LNA", 24.0)]));
        w.global_mut().author = Some("test".into());
        w.add_capture(SigmfCapture::new(32).with_frequency(806e6));
        w.add_capture(SigmfCapture::new(0).with_frequency(806e6).with_datetime(t0));
        let mut a = SigmfAnnotation::new(40, 8);
        a.kind = Some("prach".into());
        a.tech = Some("lte-m".into());
        a.params = Some(serde_json::json!({"root": 129}));
        a.freq_lower_edge = Some(805.5e6);
        a.freq_upper_edge = Some(806.5e6);
        a.label = Some("PRACH".into());
        w.add_annotation(a);
        w.add_annotation(SigmfAnnotation::new(3, 4));
        assert_eq!(w.write_samples(&samples).unwrap(), 0);
        w.finish().unwrap();
        bases.push(base.to_string_lossy().into_owned());
        expected_codes.push(codes);
    }
    let out = Command::new("python3")
        .arg("-c")
        .arg(VALIDATOR)
        .args(&bases)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "the sigmf validator rejected our files:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).expect("validator JSON");
    for (base, codes) in bases.iter().zip(&expected_codes) {
        let vals = got[base].as_array().expect("values");
        assert_eq!(vals.len(), codes.len());
        for (v, &(a, b)) in vals.iter().zip(codes) {
            assert_eq!(
                (v[0].as_f64().unwrap(), v[1].as_f64().unwrap()),
                (a, b),
                "{base}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Throughput (run with `cargo test --release --test iq_formats -- --ignored --nocapture`)
