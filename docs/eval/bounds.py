#!/usr/bin/env python3
"""Ideal-detector bounds for the NB-IoT energy-type detectors (docs/DETECTION.md).

For each target of the detection issue, the Pd of an ideal non-coherent detector that knows
the burst's timing, frequency and hopping exactly: the sum of K unit-mean exponential
energies (noise only: Gamma(K, 1)), each term carrying a per-term SNR g when the burst is
present (2 x statistic is non-central chi-square with 2K degrees of freedom and
non-centrality 2Kg). The threshold is set for the per-test false-alarm probability p of the
real detector (its false-alarm budget over its number of tests per hour), so the bound is
what the blind detector could reach if it lost nothing to not knowing timing and frequency.

Needs scipy (`pip install scipy`). Run: python3 docs/eval/bounds.py
"""
from scipy import optimize, stats


def pd(k, g, p):
    """Pd of the K-term energy sum at per-term SNR g, threshold for false-alarm p."""
    t = stats.gamma.isf(p, k)
    return stats.ncx2.sf(2 * t, 2 * k, 2 * k * g), t


def snr_for(k, scale, p, target=0.99):
    """SNR (dB, in the standard bandwidth) at which Pd reaches target."""
    return optimize.brentq(lambda s: pd(k, scale * 10 ** (s / 10), p)[0] - target, -40, 20)


# name: (K terms, per-term SNR per unit SNR in the standard bandwidth, p per test, SNR dB)
# NPUSCH 15 kHz single tone, one RU: 16 slots x 7 SC-FDMA symbols (10.1.2.3), per symbol
# the tone's energy over N = 2048 Ts (noise in 15 kHz = 1/12 of 180 kHz), or with the CP
# (2192/2048). p: 1 per hour over 10 families x 256 bins x 2.7e7 test frames (npusch.rs).
# NPRACH: 4 symbol groups per repetition (10.1.6.1), each coherent over 5 symbols of
# 8192 Ts plus its CP (format 0: 2048 Ts, format 1: 8192 Ts), in 3.75 kHz (1/48 of
# 180 kHz). p: the W = 1 and W = 8 families' per-test tails (nprach.rs thresholds).
CASES = {
    "NPUSCH 15 kHz single tone, 1 RU (useful symbol parts)": (112, 12.0, 1.45e-11, -10),
    "NPUSCH 15 kHz single tone, 1 RU (CP included)": (112, 12.0 * 2192 / 2048, 1.45e-11, -10),
    "NPRACH format 0, 1 repetition (CP included)": (4, 48 * 5.25, 3.4e-13, -12),
    "NPRACH format 1, 1 repetition (CP included)": (4, 48 * 6.0, 3.4e-13, -12),
    "NPRACH format 0, 8 repetitions (CP included)": (32, 48 * 5.25, 1.1e-11, -18),
    "NPRACH format 1, 8 repetitions (CP included)": (32, 48 * 6.0, 1.1e-11, -18),
}

if __name__ == "__main__":
    for name, (k, scale, p, snr) in CASES.items():
        d, t = pd(k, scale * 10 ** (snr / 10), p)
        print(f"{name}: threshold {t:.1f}, Pd {d:.3f} at {snr} dB, "
              f"Pd 0.99 at {snr_for(k, scale, p):.2f} dB")
