//! The streaming pipeline: source -> ingest thread -> lock-free ring -> DSP thread -> events.
//!
//! ```text
//!  Source (file, stdin, SDR)        ingest thread
//!     read_block() -> IqBlock {first_sample, samples}
//!        | live source or --realtime: ring full -> the block is dropped and counted (Gap)
//!        | file as fast as possible:  ring full -> wait (nothing is lost by waiting)
//!        v
//!  ringbuf SPSC of Complex<f32> + a bounded channel of Run {first_sample, len}
//!        v
//!  DSP thread: Processor::process(first_sample, &samples)  -> Vec<T>
//!        v  crossbeam-channel
//!  caller's thread: Event::{Output(T), Gap, Progress, Warning}
//! ```
//!
//! The sample index is the clock: every run popped from the ring carries the index of its
//! first sample, so a gap (a source overflow or a drop here) is visible to the processor as
//! a jump in `first_sample`, and to the caller as an [`Event::Gap`] with its index and size.
//! Memory is bounded by the ring capacity and the block length, whatever the input length.

use crate::iq::IqBlock;
use crossbeam_channel::{bounded, Receiver, Sender};
use num_complex::Complex32;
use ringbuf::traits::{Consumer, Observer, Producer, Split};
use ringbuf::HeapRb;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// A stream of sample blocks.
pub trait Source: Send {
    /// Fills `block` with the next samples (stamped with the index of the first); returns
    /// `Ok(false)` at the end of the stream.
    fn read_block(&mut self, block: &mut IqBlock) -> anyhow::Result<bool>;
    /// Sample rate, Hz.
    fn sample_rate_hz(&self) -> f64;
    /// A device (samples arrive whether or not we keep up) rather than a file.
    fn is_live(&self) -> bool {
        false
    }
    /// Warnings the source gathered while reading (trailing bytes, NaN samples...), taken
    /// once at the end of the stream.
    fn take_warnings(&mut self) -> Vec<String> {
        Vec::new()
    }
}

/// Consumes samples in order and produces outputs (detections).
pub trait Processor: Send {
    /// What it produces.
    type Output: Send;
    /// Processes the samples `first_sample ..` (a jump in `first_sample` is a gap).
    fn process(&mut self, first_sample: u64, samples: &[Complex32], out: &mut Vec<Self::Output>);
    /// End of stream: flush what is pending.
    fn finish(&mut self, out: &mut Vec<Self::Output>);
}

/// Pipeline settings.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// Ring capacity, samples (also the longest burst of lateness the DSP may have).
    pub ring_samples: usize,
    /// Samples handed to the processor at once (at most).
    pub chunk_samples: usize,
    /// Pace a file like a device (real time); the ring then drops when full.
    pub realtime: bool,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            ring_samples: 1 << 22,
            chunk_samples: 1 << 16,
            realtime: false,
        }
    }
}

/// Samples that never reached the processor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    /// Index of the first missing sample.
    pub first_sample: u64,
    /// How many are missing.
    pub count: u64,
    /// Who lost them: the source itself (device overflow) or the ring (DSP too slow).
    pub cause: GapCause,
}

/// Where samples went missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GapCause {
    /// The source skipped them (a device overflow).
    Source,
    /// The ring was full and the ingest thread dropped the block.
    RingFull,
}

/// What the pipeline tells its caller.
#[derive(Debug)]
pub enum Event<T> {
    /// A processor output.
    Output(T),
    /// Samples went missing.
    Gap(Gap),
    /// The processor has consumed samples up to (excluding) this index.
    Progress(u64),
}

/// Totals at the end of a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunSummary {
    /// Samples delivered by the source.
    pub samples_in: u64,
    /// Samples processed.
    pub samples_processed: u64,
    /// Samples missing, by the source's own stamps or dropped at the ring.
    pub samples_dropped: u64,
    /// Number of gaps.
    pub gaps: u64,
    /// Wall time, seconds.
    pub elapsed_s: f64,
    /// Source warnings.
    pub warnings: Vec<String>,
    /// The run was stopped before the end of the stream.
    pub interrupted: bool,
}

struct Run {
    first_sample: u64,
    len: usize,
}

/// Runs `source` through `processor`, calling `on_event` on the caller's thread for every
/// output, gap and progress step, until the stream ends or `stop` is set. Returns the totals
/// and the processor (for its counters).
pub fn run<S, P, F>(
    mut source: S,
    mut processor: P,
    cfg: &PipelineConfig,
    stop: Arc<AtomicBool>,
    mut on_event: F,
) -> anyhow::Result<(RunSummary, P)>
where
    S: Source + 'static,
    P: Processor + 'static,
    P::Output: 'static,
    F: FnMut(Event<P::Output>) -> anyhow::Result<()>,
{
    let t0 = Instant::now();
    let rb = HeapRb::<Complex32>::new(cfg.ring_samples.max(1));
    let (mut prod, mut cons) = rb.split();
    let (run_tx, run_rx): (Sender<Run>, Receiver<Run>) = bounded(1024);
    let (ev_tx, ev_rx) = bounded::<Event<P::Output>>(4096);
    let live = source.is_live() || cfg.realtime;
    let fs = source.sample_rate_hz();
    let ring_cap = cfg.ring_samples.max(1);

    let stop_in = stop.clone();
    let ev_gap = ev_tx.clone();
    let ingest = thread::Builder::new().name("ingest".into()).spawn(
        move || -> anyhow::Result<(u64, Vec<String>, bool)> {
            let mut block = IqBlock::default();
            // The stream may start at any index (a sweep dwell): no gap before the first block.
            let mut expected: Option<u64> = None;
            let mut origin: Option<u64> = None;
            let mut delivered = 0u64;
            let start = Instant::now();
            let mut interrupted = false;
            loop {
                if stop_in.load(Ordering::Relaxed) {
                    interrupted = true;
                    break;
                }
                if !source.read_block(&mut block)? {
                    break;
                }
                delivered += block.len() as u64;
                if let Some(e) = expected.filter(|&e| block.first_sample > e) {
                    let gap = Gap {
                        first_sample: e,
                        count: block.first_sample - e,
                        cause: GapCause::Source,
                    };
                    let _ = ev_gap.send(Event::Gap(gap));
                }
                expected = Some(block.end_sample());
                let origin = *origin.get_or_insert(block.first_sample);
                if cfg_realtime_pace(live, fs, &start, block.first_sample.saturating_sub(origin)) {
                    // paced: wait until the block's time has come
                }
                let mut off = 0usize;
                while off < block.len() {
                    let want = (block.len() - off).min(ring_cap);
                    if prod.vacant_len() < want {
                        if live {
                            // Never block a device: drop the rest of this block, say so.
                            let gap = Gap {
                                first_sample: block.first_sample + off as u64,
                                count: (block.len() - off) as u64,
                                cause: GapCause::RingFull,
                            };
                            let _ = ev_gap.send(Event::Gap(gap));
                            break;
                        }
                        if stop_in.load(Ordering::Relaxed) {
                            interrupted = true;
                            break;
                        }
                        thread::sleep(Duration::from_micros(200));
                        continue;
                    }
                    let pushed = prod.push_slice(&block.samples[off..off + want]);
                    debug_assert_eq!(pushed, want);
                    if run_tx
                        .send(Run {
                            first_sample: block.first_sample + off as u64,
                            len: pushed,
                        })
                        .is_err()
                    {
                        return Ok((delivered, source.take_warnings(), true));
                    }
                    off += pushed;
                }
                if interrupted {
                    break;
                }
            }
            Ok((delivered, source.take_warnings(), interrupted))
        },
    )?;

    let chunk = cfg.chunk_samples.max(1);
    let dsp = thread::Builder::new()
        .name("dsp".into())
        .spawn(move || -> (u64, P) {
            let mut buf = vec![Complex32::new(0.0, 0.0); chunk];
            let mut out = Vec::new();
            let mut processed = 0u64;
            for run in run_rx.iter() {
                let mut done = 0usize;
                while done < run.len {
                    let n = (run.len - done).min(chunk);
                    // The ingest thread pushed these samples before sending the run.
                    let got = cons.pop_slice(&mut buf[..n]);
                    debug_assert_eq!(got, n);
                    let first = run.first_sample + done as u64;
                    processor.process(first, &buf[..got], &mut out);
                    done += got;
                    processed += got as u64;
                    for o in out.drain(..) {
                        if ev_tx.send(Event::Output(o)).is_err() {
                            return (processed, processor);
                        }
                    }
                    let _ = ev_tx.send(Event::Progress(first + got as u64));
                }
            }
            processor.finish(&mut out);
            for o in out.drain(..) {
                let _ = ev_tx.send(Event::Output(o));
            }
            (processed, processor)
        })?;

    let mut summary = RunSummary::default();
    let mut sink_err = None;
    for ev in ev_rx.iter() {
        if let Event::Gap(g) = &ev {
            summary.gaps += 1;
            summary.samples_dropped += g.count;
        }
        if sink_err.is_none() {
            if let Err(e) = on_event(ev) {
                // Stop reading; keep draining so the threads can end.
                stop.store(true, Ordering::Relaxed);
                sink_err = Some(e);
            }
        }
    }
    let (processed, processor) = dsp
        .join()
        .map_err(|_| anyhow::anyhow!("the DSP thread panicked"))?;
    let (delivered, warnings, interrupted) = ingest
        .join()
        .map_err(|_| anyhow::anyhow!("the ingest thread panicked"))??;
    if let Some(e) = sink_err {
        return Err(e);
    }
    summary.samples_in = delivered;
    summary.samples_processed = processed;
    summary.warnings = warnings;
    summary.interrupted = interrupted;
    summary.elapsed_s = t0.elapsed().as_secs_f64();
    Ok((summary, processor))
}

/// Sleeps until the wall clock reaches the time of the sample `since_origin` samples after
/// the stream's first (real-time pacing); returns whether it paced.
fn cfg_realtime_pace(live: bool, fs: f64, start: &Instant, since_origin: u64) -> bool {
    if !live || fs <= 0.0 {
        return false;
    }
    let due = Duration::from_secs_f64(since_origin as f64 / fs);
    let now = start.elapsed();
    if due > now {
        thread::sleep(due - now);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Counting {
        n: u64,
        block: usize,
        pos: u64,
        skip_at: Option<(u64, u64)>,
        live: bool,
    }

    impl Source for Counting {
        fn read_block(&mut self, b: &mut IqBlock) -> anyhow::Result<bool> {
            if self.pos >= self.n {
                return Ok(false);
            }
            if let Some((at, k)) = self.skip_at {
                if self.pos == at {
                    self.pos += k;
                }
            }
            let len = (self.n - self.pos).min(self.block as u64) as usize;
            b.first_sample = self.pos;
            b.samples.clear();
            b.samples
                .extend((0..len).map(|i| Complex32::new((self.pos + i as u64) as f32, 0.0)));
            self.pos += len as u64;
            Ok(true)
        }
        fn sample_rate_hz(&self) -> f64 {
            1e6
        }
        fn is_live(&self) -> bool {
            self.live
        }
    }

    /// Checks that every sample's value equals its index; outputs (first, len) of runs.
    struct Check {
        bad: u64,
        slow: bool,
    }
    impl Processor for Check {
        type Output = (u64, usize);
        fn process(&mut self, first: u64, s: &[Complex32], out: &mut Vec<(u64, usize)>) {
            for (i, v) in s.iter().enumerate() {
                if v.re != (first + i as u64) as f32 {
                    self.bad += 1;
                }
            }
            if self.slow {
                thread::sleep(Duration::from_millis(2));
            }
            out.push((first, s.len()));
        }
        fn finish(&mut self, out: &mut Vec<(u64, usize)>) {
            out.push((u64::MAX, self.bad as usize));
        }
    }

    fn collect(
        src: Counting,
        cfg: PipelineConfig,
        slow: bool,
    ) -> (Vec<(u64, usize)>, Vec<Gap>, RunSummary) {
        let mut outs = Vec::new();
        let mut gaps = Vec::new();
        let s = run(
            src,
            Check { bad: 0, slow },
            &cfg,
            Arc::new(AtomicBool::new(false)),
            |e| {
                match e {
                    Event::Output(o) => outs.push(o),
                    Event::Gap(g) => gaps.push(g),
                    Event::Progress(_) => {}
                }
                Ok(())
            },
        )
        .expect("runs")
        .0;
        (outs, gaps, s)
    }

    #[test]
    fn file_mode_loses_nothing_and_keeps_indices_whatever_the_block_sizes() {
        for (block, ring, chunk) in [
            (1000usize, 4096usize, 333usize),
            (7, 10, 3),
            (65536, 1 << 16, 1 << 16),
        ] {
            let src = Counting {
                n: 100_000,
                block,
                pos: 0,
                skip_at: None,
                live: false,
            };
            let cfg = PipelineConfig {
                ring_samples: ring,
                chunk_samples: chunk,
                realtime: false,
            };
            let (outs, gaps, s) = collect(src, cfg, false);
            assert!(gaps.is_empty());
            let (last, bad) = *outs.last().expect("finish output");
            assert_eq!((last, bad), (u64::MAX, 0));
            let total: usize = outs[..outs.len() - 1].iter().map(|o| o.1).sum();
            assert_eq!(total, 100_000);
            assert_eq!(s.samples_processed, 100_000);
            assert_eq!(s.samples_dropped, 0);
            // Runs are contiguous.
            let mut next = 0;
            for &(f, l) in &outs[..outs.len() - 1] {
                assert_eq!(f, next);
                next = f + l as u64;
            }
        }
    }

    #[test]
    fn source_gaps_are_reported_with_index_and_size() {
        let src = Counting {
            n: 50_000,
            block: 1000,
            pos: 0,
            skip_at: Some((20_000, 1234)),
            live: false,
        };
        let (outs, gaps, s) = collect(src, PipelineConfig::default(), false);
        assert_eq!(
            gaps,
            vec![Gap {
                first_sample: 20_000,
                count: 1234,
                cause: GapCause::Source
            }]
        );
        assert_eq!(s.samples_dropped, 1234);
        assert_eq!(
            outs.last().map(|o| o.1),
            Some(0),
            "samples keep their true indices"
        );
    }

    #[test]
    fn live_source_drops_when_the_dsp_is_slow_and_counts_exactly() {
        let src = Counting {
            n: 200_000,
            block: 1000,
            pos: 0,
            skip_at: None,
            live: true,
        };
        let cfg = PipelineConfig {
            ring_samples: 2000,
            chunk_samples: 1000,
            realtime: false,
        };
        let (outs, gaps, s) = collect(src, cfg, true);
        assert!(!gaps.is_empty(), "a slow DSP behind a small ring must drop");
        let processed: u64 = outs[..outs.len() - 1].iter().map(|o| o.1 as u64).sum();
        let dropped: u64 = gaps.iter().map(|g| g.count).sum();
        assert_eq!(
            processed + dropped,
            200_000,
            "every sample is processed or counted"
        );
        assert_eq!(s.samples_dropped, dropped);
        assert!(gaps.iter().all(|g| g.cause == GapCause::RingFull));
        assert_eq!(outs.last().map(|o| o.1), Some(0));
    }
}
