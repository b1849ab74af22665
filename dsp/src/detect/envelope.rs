//! Envelope test on the raw samples of a candidate: an uplink waveform of TS 36.211 against
//! band-limited Gaussian noise (used by the NPUSCH and NPRACH detectors).
//!
//! The band-energy statistics and the shape tests of those detectors see only power per
//! bin and frame. Band-limited Gaussian noise bursts of the right width pass them: they are
//! as wide as a tone or a block, have no lag-N phase continuity and can keep a constant
//! mean power. What separates them is the envelope: an SC-FDMA signal of 10.1.5 (one tone
//! with its phase rotation, or a block of QPSK subcarriers) has a nearly constant or gently
//! varying envelope, while Gaussian noise has a Rayleigh envelope. The test here:
//!
//! ```text
//!  history ring of raw input (bounded: NPUSCH 80 ms, NPRACH 120 ms)
//!    --> the candidate's extent (its end slots left out), FFT, the band around its centre
//!        kept (one tone: +- Df; T tones: the block and one subcarrier each side),
//!        inverse FFT at a lower rate (frequency-domain decimation, exact in the band)
//!    --> per chunk (8 slots), the envelope kurtosis k = mean|y|^4 / (mean|y|^2)^2
//!        Gaussian noise (any spectrum): 2
//!        signal of own kurtosis k0 in Gaussian noise (S, s2 the powers in the band):
//!            k_T = (k0 S^2 + 4 S s2 + 2 s2^2) / (S + s2)^2
//!    --> weighted over chunks (weights of the matched test between k_T and 2); the
//!        candidate is rejected as noise-like when k lies nearer 2 than k_T and at least
//!        `REJECT_SD` standard deviations above k_T (so at low SNR, where k_T nears 2,
//!        the test abstains)
//! ```
//!
//! `k0` of the NPUSCH waveform (10.1.5 exactly, see `crate::synth::npusch`), per width, and
//! of the NPRACH preamble (10.1.6, `crate::synth::nprach`) is measured on the synthesiser's
//! signal through the same band extraction; the constants below are those measurements
//! rounded up (a larger `k0` rejects less). The noise `s2` is the caller's estimate: an
//! overestimate only makes the test abstain, an underestimate could reject a true burst. Approximation
//! (named): the standard deviation of `k` is that of independent Gaussian samples,
//! `2 / sqrt(n_eff)` with `n_eff` the chunk's duration times the kept bandwidth.

use num_complex::Complex32;
use rustfft::FftPlanner;

/// Seconds of raw input the NPUSCH detector keeps for the test: a 15 kHz candidate closes at most about 9 ms
/// after its burst ends, a 3.75 kHz one about 36 ms (its long window is 32 ms).
pub(crate) const NPUSCH_HISTORY_S: f64 = 0.08;
/// Longest stretch of a candidate's extent that is tested, seconds.
const MAX_TEST_S: f64 = 0.032;
/// Shortest stretch tested, seconds.
const MIN_TEST_S: f64 = 0.4e-3;
/// Slots per chunk of the kurtosis estimate.
pub(crate) const CHUNK_SLOTS: usize = 8;
/// A candidate is rejected when its kurtosis lies this many standard deviations above the
/// value of an NPUSCH at its SNR (and nearer the Gaussian 2).
const REJECT_SD: f64 = 3.0;

/// Envelope kurtosis `k0` of the noiseless NPUSCH waveform through the band extraction, by
/// width (measured on the synthesiser's waveform, `kappa0_of_the_synthesised_waveform`).
pub(crate) fn kappa0(tones: u32) -> f64 {
    match tones {
        1 => 1.25,
        3 | 6 => 1.5,
        _ => 1.45,
    }
}

/// Envelope kurtosis `k0` of a noiseless NPRACH preamble (10.1.6: one tone at a time,
/// hopping inside 45 kHz) through the band extraction (measured,
/// `kappa0_of_the_synthesised_waveform`).
pub(crate) const NPRACH_KAPPA0: f64 = 1.15;

/// Raw input samples of the last seconds (a bounded ring).
#[derive(Clone)]
pub(crate) struct History {
    buf: Vec<Complex32>,
    /// Stamp of the first sample kept since the last clear, and of the next sample.
    start: u64,
    end: u64,
    /// Counts the restarts (a clear, or a push after a gap): stamps of different
    /// generations may name different samples.
    generation: u64,
}

impl std::fmt::Debug for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("History")
            .field("capacity", &self.buf.len())
            .field("start", &self.start)
            .field("end", &self.end)
            .field("generation", &self.generation)
            .finish()
    }
}

impl History {
    /// A ring of `capacity` samples.
    pub(crate) fn new(capacity: usize) -> Self {
        History {
            buf: vec![Complex32::new(0.0, 0.0); capacity.max(1)],
            start: 0,
            end: 0,
            generation: 0,
        }
    }

    /// Forgets everything; the next push starts at its own stamp.
    pub(crate) fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
        self.generation += 1;
    }

    /// Appends `x` stamped `first` (after a gap the history restarts there).
    pub(crate) fn push(&mut self, first: u64, x: &[Complex32]) {
        if first != self.end || self.start == self.end {
            self.start = first;
            self.end = first;
            self.generation += 1;
        }
        let cap = self.buf.len();
        let x = if x.len() > cap {
            self.end += (x.len() - cap) as u64;
            self.start = self.end;
            &x[x.len() - cap..]
        } else {
            x
        };
        let mut pos = (self.end % cap as u64) as usize;
        let mut rest = x;
        while !rest.is_empty() {
            let n = rest.len().min(cap - pos);
            self.buf[pos..pos + n].copy_from_slice(&rest[..n]);
            rest = &rest[n..];
            pos = (pos + n) % cap;
        }
        self.end += x.len() as u64;
        self.start = self.start.max(self.end.saturating_sub(cap as u64));
    }

    /// Stamp of the oldest sample kept.
    pub(crate) fn kept_from(&self) -> u64 {
        self.start
    }

    /// The range `a .. b` clipped to what is kept, or `None` when nothing of it is.
    fn clip(&self, a: u64, b: u64) -> Option<(u64, u64)> {
        let a = a.max(self.start);
        let b = b.min(self.end);
        (a < b).then_some((a, b))
    }

    /// Copies samples `a .. b`, clipped to what is kept, into `out`; returns the stamp of
    /// the first copied sample, or `None` when nothing of the range is kept.
    pub(crate) fn copy(&self, a: u64, b: u64, out: &mut Vec<Complex32>) -> Option<u64> {
        out.clear();
        let (a, b) = self.clip(a, b)?;
        // At most two contiguous runs of the ring (b - a <= capacity: both are kept).
        let cap = self.buf.len();
        let mut pos = (a % cap as u64) as usize;
        let mut left = (b - a) as usize;
        out.reserve(left);
        while left > 0 {
            let n = left.min(cap - pos);
            out.extend_from_slice(&self.buf[pos..pos + n]);
            left -= n;
            pos = 0;
        }
        Some(a)
    }
}

/// Outcome of the envelope test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Envelope {
    /// Measured kurtosis, weighted over chunks.
    pub kappa: f64,
    /// Kurtosis expected of an NPUSCH at the measured SNR, same weights.
    pub expected: f64,
    /// Separation of the two hypotheses (NPUSCH, Gaussian), standard deviations.
    pub separation: f64,
    /// Position between them: 0 at the NPUSCH value, 1 at the Gaussian 2.
    pub position: f64,
    /// Excess of the measured kurtosis over the NPUSCH value, in standard deviations under
    /// the NPUSCH hypothesis.
    pub significance: f64,
}

impl Envelope {
    /// Noise-like: nearer the Gaussian value and clearly above the NPUSCH one.
    pub(crate) fn noise_like(&self) -> bool {
        self.position > 0.5 && self.significance > REJECT_SD
    }
}

/// Envelope moments of one chunk of a candidate's band.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Chunk {
    /// Mean of `|y|^2` and of `|y|^4`.
    pub m2: f64,
    pub m4: f64,
    /// Effective number of independent samples (duration x kept bandwidth).
    pub n_eff: f64,
    /// Noise per output sample over the input noise per sample.
    pub noise_gain: f64,
}

/// Weighs the chunks' kurtosis between the waveform (`k0` in Gaussian noise of `noise` per
/// input sample) and Gaussian noise (see the module doc).
pub(crate) fn decide(chunks: &[Chunk], noise: f64, k0: f64) -> Envelope {
    let (mut num, mut den, mut wk, mut we, mut wsum, mut var_t) =
        (0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64);
    for c in chunks {
        let (m2, m4) = (c.m2, c.m4);
        if m2 <= 0.0 {
            continue;
        }
        let s2 = noise * c.noise_gain;
        let kappa = m4 / (m2 * m2);
        let s = (m2 - s2).max(0.0);
        let expected = ((k0 * s * s + 4.0 * s * s2 + 2.0 * s2 * s2) / (m2 * m2)).min(2.0);
        let var = 4.0 / c.n_eff;
        let g = 2.0 - expected;
        // Matched weights between the two hypotheses.
        let w = g / var;
        // Variance under the waveform's hypothesis (approximation, named): the Gaussian
        // value scaled by `k_T - 1`, which is 1 for Gaussian noise and 0 for a noiseless
        // constant envelope.
        var_t += w * w * var * (expected - 1.0).max(0.1);
        num += w * (kappa - expected);
        den += w * g;
        wk += w * kappa;
        we += w * expected;
        wsum += w;
    }
    if den <= 0.0 {
        return Envelope {
            kappa: 2.0,
            expected: 2.0,
            separation: 0.0,
            position: 0.0,
            significance: 0.0,
        };
    }
    Envelope {
        kappa: wk / wsum,
        expected: we / wsum,
        // den = sum g^2 / var: the squared separation of the hypotheses in sd.
        separation: den.sqrt(),
        position: num / den,
        significance: num / var_t.sqrt().max(1e-30),
    }
}

/// Spectra kept for reuse at most (a detector tests several bands of one span, and the
/// same span again for its neighbouring candidates).
const SPECTRA_KEPT: usize = 8;

/// The transform of one span of the history (zero-padded to a power of two).
struct Spectrum {
    generation: u64,
    first: u64,
    len: usize,
    bins: Vec<Complex32>,
}

/// The raw-sample history with the tests' FFT plans and buffers.
pub(crate) struct Tester {
    /// Raw input of the last seconds (the capacity the detector asked for).
    pub(crate) hist: History,
    planner: FftPlanner<f32>,
    /// The last spectra taken, most recently used first: at most [`SPECTRA_KEPT`], and
    /// no more bins in all than the history holds samples (the newest is always kept).
    spectra: Vec<Spectrum>,
    band: Vec<Complex32>,
    scratch: Vec<Complex32>,
}

impl std::fmt::Debug for Tester {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tester").finish_non_exhaustive()
    }
}

impl Tester {
    /// A tester keeping `capacity` raw samples.
    pub(crate) fn new(capacity: usize) -> Self {
        Tester {
            hist: History::new(capacity),
            planner: FftPlanner::new(),
            spectra: Vec::new(),
            band: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// The envelope test of a candidate: samples `a .. b` of the history (the last
    /// [`MAX_TEST_S`] of them), the band `centre_hz +- half_hz` (input frequency), `noise`
    /// the input noise power per sample, `chunk_s` the chunk length, `k0` the waveform's own
    /// kurtosis. `None` when too little of the range is still in the history.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn envelope(
        &mut self,
        a: u64,
        b: u64,
        fs: f64,
        centre_hz: f64,
        half_hz: f64,
        noise: f64,
        chunk_s: f64,
        k0: f64,
    ) -> Option<Envelope> {
        let mut chunks = Vec::new();
        if !self.chunks(a, b, fs, centre_hz, half_hz, chunk_s, &mut chunks) {
            return None;
        }
        Some(decide(&chunks, noise, k0))
    }

    /// The envelope moments of samples `a .. b` of the history (the last [`MAX_TEST_S`] of
    /// them) in the band `centre_hz +- half_hz`, per chunk of about `chunk_s`, appended to
    /// `out`. False when too little of the range is still in the history.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn chunks(
        &mut self,
        a: u64,
        b: u64,
        fs: f64,
        centre_hz: f64,
        half_hz: f64,
        chunk_s: f64,
        out: &mut Vec<Chunk>,
    ) -> bool {
        let max_len = (MAX_TEST_S * fs) as u64;
        let a = a.max(b.saturating_sub(max_len));
        let Some((a, b)) = self.hist.clip(a, b) else {
            return false;
        };
        let len = (b - a) as usize;
        if (len as f64) < MIN_TEST_S * fs {
            return false;
        }
        self.spectrum(a, len);
        let l = self.spectra[0].bins.len();
        let (rate, n_kept) = self.extract(fs, centre_hz, half_hz);
        let kept_hz = n_kept as f64 * fs / l as f64;
        // Noise per output sample over noise per input sample: the kept share of the bins.
        let noise_gain = n_kept as f64 / l as f64;
        // Output samples that hold the input (the rest is the zero padding), ends trimmed by
        // the extraction's ringing (a few samples at the kept bandwidth).
        let used = ((len as f64) * rate / fs) as usize;
        let trim = ((4.0 * rate / kept_hz).ceil() as usize).min(used / 4);
        let y = &self.band[trim..used.saturating_sub(trim)];
        // Equal chunks of about `chunk_s` (at least one).
        let n_chunks = ((y.len() as f64 / (chunk_s * rate)).round() as usize).max(1);
        let chunk = y.len().div_ceil(n_chunks).max(1);
        for c in y.chunks(chunk) {
            let n = c.len() as f64;
            out.push(Chunk {
                m2: c.iter().map(|v| v.norm_sqr() as f64).sum::<f64>() / n,
                m4: c.iter().map(|v| (v.norm_sqr() as f64).powi(2)).sum::<f64>() / n,
                n_eff: (n * kept_hz / rate).max(1.0),
                noise_gain,
            });
        }
        true
    }

    /// Puts the transform of the `len` history samples from stamp `first` (all kept),
    /// zero-padded to a power of two, first in `self.spectra`: the kept one when there is,
    /// else a new one (the least recently used making room).
    fn spectrum(&mut self, first: u64, len: usize) {
        let generation = self.hist.generation;
        if let Some(i) = self
            .spectra
            .iter()
            .position(|s| s.generation == generation && s.first == first && s.len == len)
        {
            self.spectra[..=i].rotate_right(1);
            return;
        }
        let l = len.next_power_of_two().max(16);
        // Room for the new one: the total stays within the history's size.
        let budget = self.hist.buf.len().max(l);
        let mut total = l;
        let mut keep = 0;
        for s in &self.spectra {
            if keep + 1 >= SPECTRA_KEPT || total + s.bins.capacity() > budget {
                break;
            }
            total += s.bins.capacity();
            keep += 1;
        }
        let mut bins = if self.spectra.len() > keep {
            self.spectra.swap_remove(keep).bins
        } else {
            Vec::new()
        };
        self.spectra.truncate(keep);
        self.hist.copy(first, first + len as u64, &mut bins);
        bins.resize(l, Complex32::new(0.0, 0.0));
        let fwd = self.planner.plan_fft_forward(l);
        self.scratch
            .resize(fwd.get_inplace_scratch_len(), Complex32::new(0.0, 0.0));
        fwd.process_with_scratch(&mut bins, &mut self.scratch);
        self.spectra.insert(
            0,
            Spectrum {
                generation,
                first,
                len,
                bins,
            },
        );
    }

    /// Moves the band `centre_hz +- half_hz` of the first of `self.spectra` to baseband at a
    /// lower rate into `self.band` (the kept bins, inverse transformed at a power-of-two
    /// fraction of the transform length, at least 4 x the kept bandwidth). Returns the
    /// output rate and the number of kept bins.
    fn extract(&mut self, fs: f64, centre_hz: f64, half_hz: f64) -> (f64, usize) {
        let spec = &self.spectra[0].bins;
        let l = spec.len();
        let df = fs / l as f64;
        let half_bins = (half_hz / df).round().max(1.0) as i64;
        let n_kept = (2 * half_bins + 1) as usize;
        let mut m = l;
        while m / 2 >= 4 * n_kept && m > 16 {
            m /= 2;
        }
        let kc = (centre_hz / df).round() as i64;
        self.band.clear();
        self.band.resize(m, Complex32::new(0.0, 0.0));
        let scale = 1.0 / l as f32;
        for d in -half_bins..=half_bins {
            let src = (kc + d).rem_euclid(l as i64) as usize;
            let dst = d.rem_euclid(m as i64) as usize;
            self.band[dst] = spec[src] * scale;
        }
        let inv = self.planner.plan_fft_inverse(m);
        self.scratch
            .resize(inv.get_inplace_scratch_len(), Complex32::new(0.0, 0.0));
        inv.process_with_scratch(&mut self.band, &mut self.scratch);
        (fs * m as f64 / l as f64, n_kept)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::impair::add_awgn;
    use crate::signal::Render;
    use crate::synth::interferer::NoiseBurstConfig;
    use crate::synth::npusch::{generate, NpuschConfig, NpuschModulation};
    use num_complex::Complex64;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Renders `sig` at `power` and `freq`, starting 1 ms in, plus noise of `noise` per
    /// sample; returns the samples and the burst's sample range.
    fn render(
        sig: &dyn Render,
        fs: f64,
        freq: f64,
        power: f64,
        noise: f64,
        rng: &mut ChaCha8Rng,
    ) -> (Vec<Complex32>, u64, u64) {
        let dur = sig.duration_s() * fs;
        let start = 1e-3 * fs;
        let mut x = vec![Complex32::new(0.0, 0.0); (start + dur + 1e-3 * fs) as usize];
        sig.render_add(
            &mut x,
            0,
            fs,
            start,
            freq,
            Complex64::from_polar(power.sqrt(), 0.7),
        );
        if noise > 0.0 {
            add_awgn(&mut x, noise, rng);
        }
        (x, start as u64, (start + dur) as u64)
    }

    fn test_of(
        x: &[Complex32],
        range: (u64, u64),
        fs: f64,
        freq: f64,
        tones: u32,
        spacing: f64,
        noise: f64,
    ) -> Envelope {
        let mut t = Tester::new((NPUSCH_HISTORY_S * fs) as usize);
        for (i, c) in x.chunks(5000).enumerate() {
            t.hist.push((i * 5000) as u64, c);
        }
        let half = if tones == 1 {
            spacing
        } else {
            (tones as f64 / 2.0 + 1.0) * spacing
        };
        let slot = if spacing > 5e3 { 0.5e-3 } else { 2e-3 };
        t.envelope(
            range.0,
            range.1,
            fs,
            freq,
            half,
            noise,
            CHUNK_SLOTS as f64 * slot,
            kappa0(tones),
        )
        .expect("in the history")
    }

    /// A span's reused transform gives exactly the moments of a fresh one; after a restart
    /// the same stamps name other samples and are transformed anew; the kept transforms
    /// stay within the history's size.
    #[test]
    fn reused_spectra_give_the_moments_of_fresh_ones() {
        let fs = 1.92e6;
        let mut rng = ChaCha8Rng::seed_from_u64(0x5bec_0001);
        let x: Vec<Complex32> = (0..40_000)
            .map(|_| Complex32::new(rng.random::<f32>() - 0.5, rng.random::<f32>() - 0.5))
            .collect();
        let moments = |t: &mut Tester, a: u64, b: u64, centre: f64| {
            let mut v = Vec::new();
            assert!(t.chunks(a, b, fs, centre, 25e3, 1e-3, &mut v));
            v.iter().map(|c| (c.m2, c.m4, c.n_eff)).collect::<Vec<_>>()
        };
        let mut shared = Tester::new(80_000);
        shared.hist.push(0, &x);
        let spans = [(1000, 9000, 0.0), (1000, 9000, 3e5), (2000, 30_000, -2e5)];
        let mut first = Vec::new();
        for round in 0..3 {
            for (i, &(a, b, c)) in spans.iter().enumerate() {
                let mut fresh = Tester::new(80_000);
                fresh.hist.push(0, &x);
                let m = moments(&mut shared, a, b, c);
                assert_eq!(m, moments(&mut fresh, a, b, c), "span {i}, round {round}");
                if round == 0 {
                    first.push(m);
                } else {
                    assert_eq!(m, first[i]);
                }
            }
        }
        // Two transforms for three tests per round.
        assert_eq!(shared.spectra.len(), 2);
        // Other samples under the same stamps.
        let y: Vec<Complex32> = x.iter().map(|v| v * 2.0).collect();
        shared.hist.clear();
        shared.hist.push(0, &y);
        let (a, b, c) = spans[0];
        let m = moments(&mut shared, a, b, c);
        for (u, v) in m.iter().zip(&first[0]) {
            assert!((u.0 / v.0 - 4.0).abs() < 1e-6, "m2 {} against {}", u.0, v.0);
        }
        // Many spans: the kept bins never exceed the history's samples.
        for k in 0..20u64 {
            moments(&mut shared, 100 * k, 100 * k + 16_000, 0.0);
            let bins: usize = shared.spectra.iter().map(|s| s.bins.capacity()).sum();
            assert!(shared.spectra.len() <= SPECTRA_KEPT);
            assert!(bins <= 80_000 + 32_768, "{bins} bins kept");
        }
    }

    #[test]
    fn history_keeps_the_last_samples_across_wraps() {
        let mut h = History::new(100);
        let x: Vec<Complex32> = (0..350).map(|i| Complex32::new(i as f32, 0.0)).collect();
        for (i, c) in x.chunks(37).enumerate() {
            h.push(1000 + (i * 37) as u64, c);
        }
        let mut out = Vec::new();
        assert_eq!(h.copy(1000, 1350, &mut out), Some(1250));
        assert_eq!(out.len(), 100);
        assert!(out
            .iter()
            .enumerate()
            .all(|(i, v)| v.re == (250 + i) as f32));
        assert_eq!(h.copy(1000, 1200, &mut out), None);
        // A gap restarts the history at the new stamp.
        h.push(5000, &x[..10]);
        assert_eq!(h.copy(1300, 5010, &mut out), Some(5000));
        assert_eq!(out.len(), 10);
        // A block longer than the capacity keeps its end.
        h.push(5010, &x);
        assert_eq!(h.copy(0, u64::MAX, &mut out), Some(5260));
        assert_eq!(out[0].re, 250.0);
    }

    /// The noiseless NPUSCH waveform (every width, spacing and modulation) stays below the
    /// `kappa0` constants, which were measured the same way.
    #[test]
    fn kappa0_of_the_synthesised_waveform() {
        let mut rng = ChaCha8Rng::seed_from_u64(0x6b30);
        let fs = 1.92e6;
        let cases: &[(u32, u32, Option<NpuschModulation>, u8)] = &[
            (15000, 1, None, 1),
            (15000, 1, Some(NpuschModulation::Pi2Bpsk), 1),
            (15000, 1, None, 2),
            (3750, 1, None, 1),
            (3750, 1, Some(NpuschModulation::Pi2Bpsk), 1),
            (15000, 3, None, 1),
            (15000, 6, None, 1),
            (15000, 12, None, 1),
        ];
        for &(spacing, tones, modulation, format) in cases {
            for _ in 0..3 {
                let cfg = NpuschConfig {
                    format,
                    spacing_hz: spacing,
                    tones,
                    modulation,
                    cell_id: rng.random_range(0..504),
                    repetitions: 2,
                    ..Default::default()
                };
                let b = generate(&cfg, &mut rng).expect("valid");
                let f = 100e3 + rng.random_range(-3e3..3e3);
                let (x, a, e) = render(&b.signal, fs, f, 1.0, 0.0, &mut rng);
                let env = test_of(
                    &x,
                    (a, e),
                    fs,
                    f + b.center_hz,
                    tones,
                    spacing as f64,
                    1e-12,
                );
                println!(
                    "{spacing} {tones} {modulation:?} f{format}: kappa {:.3}",
                    env.kappa
                );
                assert!(
                    env.kappa <= kappa0(tones),
                    "{spacing} Hz {tones} tones {modulation:?}: {env:?}"
                );
                assert!(!env.noise_like());
            }
        }
    }

    /// NPUSCH in noise, fresh draws of width, spacing, modulation, length, carrier and SNR
    /// (-5 .. 30 dB in 180 kHz), tested on its exact extent less one slot at each end as
    /// the detector does: never noise-like. Prints the largest significance seen (how far
    /// below `REJECT_SD` true NPUSCH stays).
    #[test]
    fn npusch_in_noise_is_never_noise_like() {
        let mut rng = ChaCha8Rng::seed_from_u64(0x6b32);
        let noise = 1e-3;
        let mut worst = f64::MIN;
        for trial in 0..160 {
            let fs = if trial % 2 == 0 { 1.92e6 } else { 7.68e6 };
            let (spacing, tones) = match trial % 5 {
                0 => (3750, 1),
                1 => (15000, 1),
                2 => (15000, 3),
                3 => (15000, 6),
                _ => (15000, 12),
            };
            let cfg = NpuschConfig {
                spacing_hz: spacing,
                tones,
                cell_id: rng.random_range(0..504),
                repetitions: [1, 2, 4][rng.random_range(0..3)],
                modulation: if tones == 1 && rng.random_bool(0.5) {
                    Some(NpuschModulation::Pi2Bpsk)
                } else {
                    None
                },
                ..Default::default()
            };
            let b = generate(&cfg, &mut rng).expect("valid");
            let snr: f64 = rng.random_range(-5.0..30.0);
            let p = noise * 180e3 / fs * 10f64.powf(snr / 10.0);
            let f = rng.random_range(-0.3 * fs..0.3 * fs);
            let (x, a, e) = render(&b.signal, fs, f, p, noise, &mut rng);
            let slot = if spacing == 15000 { 0.5e-3 } else { 2e-3 };
            let inset = ((slot * fs) as u64).min((e - a) / 4);
            let env = test_of(
                &x,
                (a + inset, e - inset),
                fs,
                f + b.center_hz,
                tones,
                spacing as f64,
                noise,
            );
            worst = worst.max(env.significance);
            assert!(
                !env.noise_like(),
                "{spacing} Hz {tones} tones x{} at {snr:.1} dB: {env:?}",
                cfg.repetitions
            );
        }
        println!("largest significance of true NPUSCH: {worst:.2}");
    }

    /// NPRACH (both formats, any n_init and hop convention) stays below [`NPRACH_KAPPA0`]
    /// noiseless and is never noise-like in noise down to -15 dB.
    #[test]
    fn nprach_envelope() {
        use crate::synth::nprach::NprachConfig;
        let mut rng = ChaCha8Rng::seed_from_u64(0x6b33);
        let noise = 1e-3;
        let mut worst = f64::MIN;
        for trial in 0..40 {
            let fs = if trial % 2 == 0 { 1.92e6 } else { 7.68e6 };
            let b = NprachConfig {
                format: (trial % 4 / 2) as u8,
                repetitions: [1, 2, 4, 8][rng.random_range(0..4)],
                n_init: rng.random_range(0..12),
                cell_id: rng.random_range(0..504),
                ..Default::default()
            }
            .generate()
            .expect("nprach");
            let f = rng.random_range(-0.3 * fs..0.3 * fs);
            let centre = f + b.center_hz;
            let (x, a, e) = render(&b.signal, fs, f, 1.0, 0.0, &mut rng);
            let clean = nprach_test(&x, (a, e), fs, centre, 1e-12);
            assert!(clean.kappa <= NPRACH_KAPPA0, "trial {trial}: {clean:?}");
            let snr: f64 = rng.random_range(-15.0..30.0);
            let p = noise * 180e3 / fs * 10f64.powf(snr / 10.0);
            let (x, a, e) = render(&b.signal, fs, f, p, noise, &mut rng);
            let env = nprach_test(&x, (a, e), fs, centre, noise);
            worst = worst.max(env.significance);
            assert!(!env.noise_like(), "trial {trial} at {snr:.1} dB: {env:?}");
        }
        println!("largest significance of true NPRACH: {worst:.2}");
    }

    fn nprach_test(x: &[Complex32], r: (u64, u64), fs: f64, centre: f64, noise: f64) -> Envelope {
        let mut t = Tester::new(x.len());
        t.hist.push(0, x);
        t.envelope(
            r.0,
            r.1,
            fs,
            centre,
            22.5e3 + 3.75e3,
            noise,
            4e-3,
            NPRACH_KAPPA0,
        )
        .expect("in the history")
    }

    /// Band-limited Gaussian noise bursts are noise-like at a fair SNR; the test abstains
    /// when the SNR is too low for it to tell.
    #[test]
    fn gaussian_bursts_are_noise_like_and_weak_ones_abstain() {
        let mut rng = ChaCha8Rng::seed_from_u64(0x6b31);
        let fs = 1.92e6;
        let noise = 1e-3;
        for &(bw, d, tones, spacing) in &[
            (20e3, 20e-3, 1, 15e3),
            (12e3, 24e-3, 1, 15e3),
            (4e3, 40e-3, 1, 3.75e3),
            (180e3, 4e-3, 12, 15e3),
            (90e3, 8e-3, 6, 15e3),
        ] {
            let b = NoiseBurstConfig {
                bandwidth_hz: bw,
                duration_s: d,
            }
            .generate(&mut rng)
            .expect("burst");
            // SNR in the burst's band 15 dB: noise-like; -15 dB: abstain.
            for &(snr_db, like) in &[(15.0, true), (-15.0, false)] {
                let p = noise * bw / fs * 10f64.powf(snr_db / 10.0);
                let (x, a, e) = render(b.signal.as_ref(), fs, 200e3, p, noise, &mut rng);
                let env = test_of(&x, (a, e), fs, 200e3, tones, spacing, noise);
                println!("noise {bw} {d} at {snr_db} dB: {env:?}");
                assert_eq!(
                    env.noise_like(),
                    like,
                    "noise {bw} Hz at {snr_db} dB: {env:?}"
                );
            }
        }
    }
}
