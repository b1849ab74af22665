#!/usr/bin/env python3
"""Independent check of a `ciot-sweep synth` recording against 3GPP TS 36.211 and its truth.

    python3 tests/independent/verify_synth.py BASE          (BASE.sigmf-meta/-data, BASE.truth.jsonl)

Written from the specification, not from the project's Rust code: every formula below names its
clause. Only Python 3 and numpy are needed (the `sigmf` package, when installed, validates the
metadata). One line per truth record, PASS / FAIL / SKIP with the measured values; the exit
status is 1 if any line FAILs, 2 on usage errors, 0 otherwise. Interferers (kind `unknown`) and
unknown kinds are skipped.

What each kind is checked against (the truth record's `params` are the claim):

* nprach (10.1.6): the subcarrier of every symbol group, n_sc_RA(i) of 10.1.6.1, computed here
  from format, n_init, subcarrier_offset, cell_id (Gold sequence of 7.2, c_init = cell id),
  repetitions and hop_convention ("clause": f(i/4), f(-1) = 0; "alt": f(i/4 - 1)). Each group's
  tone is measured from the samples: the burst is mixed to baseband at freq_offset_hz,
  band-limited by a brick-wall filter around the hopping band, decimated, and each group's five
  symbols (the CP skipped) go through a Hann-windowed, 16x zero-padded FFT with parabolic peak
  interpolation. The tone must sit at carrier + (n_sc - 23.5) x 3750 Hz + cfo (10.1.6.2).
  The carrier is derived from the record: freq_offset_hz is the centre of the tones the preamble
  hopped over (INTERFACES.md), so the expected tone of group i is
      freq_offset_hz + (n_sc(i) - (min n_sc + max n_sc) / 2) x 3750 Hz,
  and, when the scenario is embedded in the metadata, freq_offset_hz itself must equal
  carrier_offset_hz + cfo_hz + ((min + max) / 2 - 23.5) x 3750 Hz and bandwidth_hz must be
  (max - min + 1) x 3750 Hz. Tolerance: 200 Hz per group (all groups when the scenario's SNR is
  >= 0 dB, 90 % of them below that).
* prach (5.7): the sequence part (after T_CP of Table 5.7.1-1) is mixed to baseband at
  freq_offset_hz, its 0.8 ms DFT gives the 839 subcarriers of 5.7.3, which are correlated (in
  the frequency domain, one 839-point IDFT per root) with the DFT of x_u(n) =
  exp(-j pi u n (n+1) / 839) for all 838 roots: params.root must be the best root and the peak
  lag must be params.cyclic_shift (+-1 ZC sample for the sub-sample start; -3..+1 with
  multipath; bins of narrowband interferers in the band are excised first). The occupied band
  must be 839 x 1.25 kHz wide and centred at freq_offset_hz (power
  inside the band's edges, noise just outside them), bandwidth_hz = 1048750, and with the
  scenario: freq_offset_hz = carrier + cfo + (419 + 7 + 12 (k0 + 1/2)) x 1250 Hz,
  k0 = prach_freq_offset x 12 - N_RB x 6. Also derived: root = Table 5.7.2-4 of the logical root,
  C_v of the unrestricted set (Table 5.7.2-2, 5.7.2).
* pusch (5.5.2.1, 5.6): SC-FDMA symbol 3 of the first slot (normal CP, Table 5.6-1: useful part
  at 6736 Ts) is demodulated at the allocation's subcarriers, (m - M/2 + 1/2) x 15 kHz about
  freq_offset_hz (the 7.5 kHz shift of 5.6), and correlated with e^{j alpha n} rbar_u(n) for
  all 30 groups x 12 cyclic shifts (Tables 5.5.1.2-1/-2 for 1-2 PRB from
  /work/shared/data/ts36211_dmrs_phi.json, the extended Zadoff-Chu of 5.5.1.1 from 3 PRB):
  (dmrs_group, cyclic_shift) must be the best. With the scenario: the allocation's centre
  (narrowband placement of 5.2.4 for LTE-M) must be freq_offset_hz. Notes (not failures): the
  group / cyclic shift derivations of 5.5.1.3 and 5.5.2.1.1 and the second slot's group.
* npusch (10.1.3-10.1.5): single-tone: the power spectrum of the burst must peak in the claimed
  subcarrier, and its centroid there must be within spacing/4 of freq_offset_hz, which must be
  carrier + cfo + (k + 1/2) x spacing (k = first_subcarrier - N_sc/2) with the scenario.
  Multi-tone (15 kHz): every SC-FDMA symbol is demodulated on the carrier's 12 subcarriers and
  their neighbours; the occupied set must be exactly first_subcarrier .. + tones - 1; for
  12 tones the DMRS (symbol 3, correlation averaged over the first 8 slots) must match
  (base_sequence, cyclic_shift) best among 30 x 12.
* SigMF: the metadata validates with the `sigmf` package (when installed, else SKIP).
"""

import json
import math
import os
import sys

import numpy as np

TS = 1.0 / 30.72e6  # 4: basic time unit

# TS 36.211 Table 5.7.2-4: logical root sequence number -> physical root u (formats 0-3).
ROOT_TABLE = [
    129, 710, 140, 699, 120, 719, 210, 629, 168, 671, 84, 755, 105, 734, 93, 746, 70, 769, 60, 779,
    2, 837, 1, 838, 56, 783, 112, 727, 148, 691, 80, 759, 42, 797, 40, 799, 35, 804, 73, 766,
    146, 693, 31, 808, 28, 811, 30, 809, 27, 812, 29, 810, 24, 815, 48, 791, 68, 771, 74, 765,
    178, 661, 136, 703, 86, 753, 78, 761, 43, 796, 39, 800, 20, 819, 21, 818, 95, 744, 202, 637,
    190, 649, 181, 658, 137, 702, 125, 714, 151, 688, 217, 622, 128, 711, 142, 697, 122, 717, 203, 636,
    118, 721, 110, 729, 89, 750, 103, 736, 61, 778, 55, 784, 15, 824, 14, 825, 12, 827, 23, 816,
    34, 805, 37, 802, 46, 793, 207, 632, 179, 660, 145, 694, 130, 709, 223, 616, 228, 611, 227, 612,
    132, 707, 133, 706, 143, 696, 135, 704, 161, 678, 201, 638, 173, 666, 106, 733, 83, 756, 91, 748,
    66, 773, 53, 786, 10, 829, 9, 830, 7, 832, 8, 831, 16, 823, 47, 792, 64, 775, 57, 782,
    104, 735, 101, 738, 108, 731, 208, 631, 184, 655, 197, 642, 191, 648, 121, 718, 141, 698, 149, 690,
    216, 623, 218, 621, 152, 687, 144, 695, 134, 705, 138, 701, 199, 640, 162, 677, 176, 663, 119, 720,
    158, 681, 164, 675, 174, 665, 171, 668, 170, 669, 87, 752, 169, 670, 88, 751, 107, 732, 81, 758,
    82, 757, 100, 739, 98, 741, 71, 768, 59, 780, 65, 774, 50, 789, 49, 790, 26, 813, 17, 822,
    13, 826, 6, 833, 5, 834, 33, 806, 51, 788, 75, 764, 99, 740, 96, 743, 97, 742, 166, 673,
    172, 667, 175, 664, 187, 652, 163, 676, 185, 654, 200, 639, 114, 725, 189, 650, 115, 724, 194, 645,
    195, 644, 192, 647, 182, 657, 157, 682, 156, 683, 211, 628, 154, 685, 123, 716, 139, 700, 212, 627,
    153, 686, 213, 626, 215, 624, 150, 689, 225, 614, 224, 615, 221, 618, 220, 619, 127, 712, 147, 692,
    124, 715, 193, 646, 205, 634, 206, 633, 116, 723, 160, 679, 186, 653, 167, 672, 79, 760, 85, 754,
    77, 762, 92, 747, 58, 781, 62, 777, 69, 770, 54, 785, 36, 803, 32, 807, 25, 814, 18, 821,
    11, 828, 4, 835, 3, 836, 19, 820, 22, 817, 41, 798, 38, 801, 44, 795, 52, 787, 45, 794,
    63, 776, 67, 772, 72, 767, 76, 763, 94, 745, 102, 737, 90, 749, 109, 730, 165, 674, 111, 728,
    209, 630, 204, 635, 117, 722, 188, 651, 159, 680, 198, 641, 113, 726, 183, 656, 180, 659, 177, 662,
    196, 643, 155, 684, 214, 625, 126, 713, 131, 708, 219, 620, 222, 617, 226, 613, 230, 609, 232, 607,
    262, 577, 252, 587, 418, 421, 416, 423, 413, 426, 411, 428, 376, 463, 395, 444, 283, 556, 285, 554,
    379, 460, 390, 449, 363, 476, 384, 455, 388, 451, 386, 453, 361, 478, 387, 452, 360, 479, 310, 529,
    354, 485, 328, 511, 315, 524, 337, 502, 349, 490, 335, 504, 324, 515, 323, 516, 320, 519, 334, 505,
    359, 480, 295, 544, 385, 454, 292, 547, 291, 548, 381, 458, 399, 440, 380, 459, 397, 442, 369, 470,
    377, 462, 410, 429, 407, 432, 281, 558, 414, 425, 247, 592, 277, 562, 271, 568, 272, 567, 264, 575,
    259, 580, 237, 602, 239, 600, 244, 595, 243, 596, 275, 564, 278, 561, 250, 589, 246, 593, 417, 422,
    248, 591, 394, 445, 393, 446, 370, 469, 365, 474, 300, 539, 299, 540, 364, 475, 362, 477, 298, 541,
    312, 527, 313, 526, 314, 525, 353, 486, 352, 487, 343, 496, 327, 512, 350, 489, 326, 513, 319, 520,
    332, 507, 333, 506, 348, 491, 347, 492, 322, 517, 330, 509, 338, 501, 341, 498, 340, 499, 342, 497,
    301, 538, 366, 473, 401, 438, 371, 468, 408, 431, 375, 464, 249, 590, 269, 570, 238, 601, 234, 605,
    257, 582, 273, 566, 255, 584, 254, 585, 245, 594, 251, 588, 412, 427, 372, 467, 282, 557, 403, 436,
    396, 443, 392, 447, 391, 448, 382, 457, 389, 450, 294, 545, 297, 542, 311, 528, 344, 495, 345, 494,
    318, 521, 331, 508, 325, 514, 321, 518, 346, 493, 339, 500, 351, 488, 306, 533, 289, 550, 400, 439,
    378, 461, 374, 465, 415, 424, 270, 569, 241, 598, 231, 608, 260, 579, 268, 571, 276, 563, 409, 430,
    398, 441, 290, 549, 304, 535, 308, 531, 358, 481, 316, 523, 293, 546, 288, 551, 284, 555, 368, 471,
    253, 586, 256, 583, 263, 576, 242, 597, 274, 565, 402, 437, 383, 456, 357, 482, 329, 510, 317, 522,
    307, 532, 286, 553, 287, 552, 266, 573, 261, 578, 236, 603, 303, 536, 356, 483, 355, 484, 405, 434,
    404, 435, 406, 433, 235, 604, 267, 572, 302, 537, 309, 530, 265, 574, 233, 606, 367, 472, 296, 543,
    336, 503, 305, 534, 373, 466, 280, 559, 279, 560, 419, 420, 240, 599, 258, 581, 229, 610,
]
assert len(ROOT_TABLE) == 838 and sorted(ROOT_TABLE) == list(range(1, 839))
assert all(ROOT_TABLE[i] + ROOT_TABLE[i + 1] == 839 for i in range(0, 838, 2))

# Table 5.7.2-2, unrestricted set: zeroCorrelationZoneConfig -> N_CS.
NCS_UNRESTRICTED = [0, 13, 15, 18, 22, 26, 32, 38, 46, 59, 76, 93, 119, 167, 279, 419]
# Table 5.7.1-1: (T_CP, T_SEQ) in Ts, formats 0-3.
PRACH_FORMATS = {0: (3168, 24576), 1: (21024, 24576), 2: (6240, 2 * 24576), 3: (21024, 2 * 24576)}
# Table 5.5.2.1.1-2 (cyclicShift -> n_DMRS(1)) and 5.5.2.1.1-1 (DCI field -> n_DMRS(2), lambda 0).
N_DMRS1 = [0, 2, 3, 4, 6, 8, 9, 10]
N_DMRS2 = [0, 6, 3, 4, 2, 8, 10, 9]
N_RB_OF_BW = {1.4: 6, 3.0: 15, 5.0: 25, 10.0: 50, 15.0: 75, 20.0: 100}

PHI_JSON = os.environ.get("CIOT_DMRS_PHI", "/work/shared/data/ts36211_dmrs_phi.json")

NPRACH_TOL_HZ = 200.0


# --------------------------------------------------------------------------------------------
# Sequences
# --------------------------------------------------------------------------------------------

def gold(c_init, length):
    """7.2: c(n) = (x1(n + Nc) + x2(n + Nc)) mod 2, Nc = 1600, x1(0) = 1, x2 from c_init."""
    nc = 1600
    total = length + nc
    x1 = np.zeros(total + 31, dtype=np.uint8)
    x2 = np.zeros(total + 31, dtype=np.uint8)
    x1[0] = 1
    for i in range(31):
        x2[i] = (int(c_init) >> i) & 1
    for n in range(total):
        x1[n + 31] = x1[n + 3] ^ x1[n]
        x2[n + 31] = x2[n + 3] ^ x2[n + 2] ^ x2[n + 1] ^ x2[n]
    return (x1[nc:nc + length] ^ x2[nc:nc + length]).astype(np.int64)


def nprach_subcarriers(n_init, sc_offset, n_groups, cell_id, convention):
    """10.1.6.1: n_sc_RA(i) = n_start + n~_sc_RA(i), N_sc_RA = 12."""
    nra = 12
    n_start = sc_offset + (n_init // nra) * nra
    n_t = (n_groups + 3) // 4 + 2
    c = gold(cell_id, 10 * n_t + 10)
    f = {-1: 0}
    for t in range(0, n_t):
        s = sum(int(c[n]) << (n - (10 * t + 1)) for n in range(10 * t + 1, 10 * t + 10))
        f[t] = (f[t - 1] + (s % (nra - 1)) + 1) % nra
    nt = []
    for i in range(n_groups):
        if i == 0:
            v = n_init % nra
        elif i % 4 == 0:
            t = i // 4 if convention == "clause" else i // 4 - 1
            v = (nt[0] + f[t]) % nra
        elif i % 4 in (1, 3):
            v = nt[i - 1] + 1 if nt[i - 1] % 2 == 0 else nt[i - 1] - 1
        else:
            v = nt[i - 1] + 6 if nt[i - 1] < 6 else nt[i - 1] - 6
        nt.append(v)
    return n_start, [n_start + v for v in nt]


def zc839(u):
    n = np.arange(839)
    return np.exp(-1j * np.pi * u * n * (n + 1) / 839.0)


def largest_prime_below(m):
    def is_prime(k):
        return k > 1 and all(k % d for d in range(2, int(k ** 0.5) + 1))
    p = m - 1
    while not is_prime(p):
        p -= 1
    return p


_PHI = None


def phi_tables_available():
    return _PHI is not None or os.path.exists(PHI_JSON)


def base_sequence(u, v, m_sc):
    """5.5.1.1 / 5.5.1.2: rbar_{u,v}(n), n = 0..m_sc-1."""
    global _PHI
    if m_sc in (12, 24):
        if _PHI is None:
            with open(PHI_JSON) as fh:
                _PHI = json.load(fh)
        phi = _PHI["phi_m_sc_12" if m_sc == 12 else "phi_m_sc_24"][u]
        assert len(phi) == m_sc
        return np.exp(1j * np.pi * np.asarray(phi, dtype=float) / 4.0)
    if m_sc < 36:
        raise ValueError(f"no base sequence for M_sc = {m_sc}")
    nzc = largest_prime_below(m_sc)
    qbar = nzc * (u + 1) / 31.0
    q = math.floor(qbar + 0.5) + v * (-1) ** math.floor(2 * qbar)
    m = np.arange(m_sc) % nzc
    return np.exp(-1j * np.pi * q * m * (m + 1) / nzc)


def f_gh(n_s, cell_id):
    """5.5.1.3 group hopping pattern, c_init = floor(N_ID / 30)."""
    c = gold(cell_id // 30, 8 * (n_s + 1) + 8)
    return sum(int(c[8 * n_s + i]) << i for i in range(8)) % 30


def n_pn(n_s, cell_id, f_ss):
    """5.5.2.1.1: n_PN(n_s) = sum c(8 N_symb n_s + i) 2^i, c_init = 2^5 floor(N_ID/30) + f_ss."""
    c = gold(32 * (cell_id // 30) + f_ss, 8 * 7 * (n_s + 1) + 8)
    return sum(int(c[8 * 7 * n_s + i]) << i for i in range(8))


def narrowband_first_prb(n_nb, n_rb):
    """5.2.4: narrowband n_NB = PRBs 6 n_NB + i0 + i, i = 0..5."""
    n_nbs = n_rb // 6
    i0 = n_rb // 2 - 6 * (n_nbs // 2)
    if n_rb % 2 == 1 and n_nb >= n_nbs // 2:
        i0 += 1
    return 6 * n_nb + i0


# --------------------------------------------------------------------------------------------
# Recording access
# --------------------------------------------------------------------------------------------

class Recording:
    def __init__(self, base):
        for suffix in (".sigmf-meta", ".sigmf-data", ".truth.jsonl"):
            if base.endswith(suffix):
                base = base[: -len(suffix)]
        self.base = base
        self.meta_path = base + ".sigmf-meta"
        self.data_path = base + ".sigmf-data"
        self.truth_path = base + ".truth.jsonl"
        with open(self.meta_path) as fh:
            self.meta = json.load(fh)
        g = self.meta["global"]
        self.fs = float(g["core:sample_rate"])
        dt = g["core:datatype"]
        kinds = {
            "cf32_le": ("<f4", 1.0, 0.0), "cf64_le": ("<f8", 1.0, 0.0),
            "ci16_le": ("<i2", 1 / 32768.0, 0.0), "ci8": ("i1", 1 / 128.0, 0.0),
            "cu8": ("u1", 1 / 128.0, 127.5),
        }
        if dt not in kinds:
            raise ValueError(f"{self.meta_path}: unsupported core:datatype {dt}")
        dtype, self.scale, self.bias = kinds[dt]
        self.raw = np.memmap(self.data_path, dtype=dtype, mode="r")
        self.n_samples = self.raw.size // 2
        self.records = []
        with open(self.truth_path) as fh:
            for line in fh:
                if line.strip():
                    self.records.append(json.loads(line))
        self.emitters = None
        text = g.get("ciot:scenario")
        if text:
            try:
                import tomllib
                self.emitters = tomllib.loads(text).get("emitter", [])
            except Exception:  # scenario not parseable: carrier cross-checks are skipped
                self.emitters = None

    def samples(self, start, length):
        start = max(0, int(start))
        stop = min(self.n_samples, start + int(length))
        a = np.asarray(self.raw[2 * start:2 * stop], dtype=np.float64)
        a = (a - self.bias) * self.scale
        return a[0::2] + 1j * a[1::2]

    def carrier(self, rec):
        """The emitter's carrier offset (scenario input), or None when not known."""
        e = rec.get("emitter")
        if self.emitters is None or e is None or not (0 <= e < len(self.emitters)):
            return None
        return float(self.emitters[e].get("carrier_offset_hz", 0.0))


def snr_ref(rec):
    p = rec.get("params", {})
    return float(p.get("snr_db_ref", rec.get("snr_db", 0.0)))


def next_fast_len(n):
    """Smallest 2^a 3^b 5^c >= n (FFT sizes numpy transforms quickly)."""
    best = 1 << int(math.ceil(math.log2(max(n, 1))))
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            p = p35
            while p < n:
                p *= 2
            best = min(best, p)
            p35 *= 3
        p5 *= 5
    return best


def dft_at(y, t, freqs):
    """X(f) = sum_n y[n] exp(-j 2 pi f t_n), for each f."""
    return np.exp(-2j * np.pi * np.outer(freqs, t)) @ y


# --------------------------------------------------------------------------------------------
# NPRACH
# --------------------------------------------------------------------------------------------

def check_nprach(rec, r):
    p = rec["params"]
    fmt = int(p.get("format", 0))
    if fmt not in (0, 1):
        return "SKIP", f"format {fmt} (only formats 0 and 1 are verified)"
    fs = r.fs
    reps = int(p["repetitions"])
    n_groups = 4 * reps
    conv = p.get("hop_convention", "clause")
    n_start, nsc = nprach_subcarriers(int(p["n_init"]), int(p["subcarrier_offset"]), n_groups,
                                      int(p["cell_id"]), conv)
    errs = []
    lo, hi = min(nsc), max(nsc)
    mid = (lo + hi) / 2.0
    t_cp = 2048 if fmt == 0 else 8192           # Table 10.1.6.1-1
    g_ts = t_cp + 5 * 8192
    gap_ts = 40 * 30720                          # 40 ms after every 64 repetitions
    group_t0 = [i * g_ts + (i // 256) * gap_ts * (1 if reps > 64 else 0) for i in range(n_groups)]
    total_ts = group_t0[-1] + g_ts
    # Truth-internal consistency with the parameters.
    if "n_start" in p and int(p["n_start"]) != n_start:
        errs.append(f"n_start {p['n_start']} != {n_start}")
    if "first_subcarrier" in p and int(p["first_subcarrier"]) != nsc[0]:
        errs.append(f"first_subcarrier {p['first_subcarrier']} != {nsc[0]}")
    if "n_groups" in p and int(p["n_groups"]) != n_groups:
        errs.append(f"n_groups {p['n_groups']} != {n_groups}")
    exp_len = total_ts * TS * fs
    if abs(rec["sample_len"] - exp_len) > 2:
        errs.append(f"sample_len {rec['sample_len']} != {exp_len:.1f}")
    bw = (hi - lo + 1) * 3750.0
    if abs(rec["bandwidth_hz"] - bw) > 1:
        errs.append(f"bandwidth_hz {rec['bandwidth_hz']} != {bw:.0f} (tones {lo}..{hi})")
    f0 = rec["freq_offset_hz"]
    cfo = float(p.get("cfo_hz", 0.0))
    carrier = r.carrier(rec)
    if carrier is not None:
        want = carrier + cfo + (mid - 23.5) * 3750.0
        if abs(f0 - want) > 1:
            errs.append(f"freq_offset_hz {f0} != carrier {carrier} + cfo {cfo} + "
                        f"({mid} - 23.5) x 3750 = {want}")
    # Measurement: mix, brick-wall band-pass around the hopping band, decimate.
    half = max((hi - lo + 1) * 3750.0, rec["bandwidth_hz"]) / 2.0 + 10e3
    ss = int(rec["sample_start"])
    n_burst = int(math.ceil(exp_len)) + 2
    y = r.samples(ss, n_burst)
    if y.size < n_burst - 2:
        return "FAIL", "burst runs past the end of the data"
    n = np.arange(y.size)
    y = y * np.exp(-2j * np.pi * f0 * n / fs)
    nfast = next_fast_len(y.size)
    spec = np.fft.fft(y, nfast)
    spec[np.abs(np.fft.fftfreq(nfast, 1 / fs)) > half] = 0
    y = np.fft.ifft(spec)[: y.size]
    dec = max(1, int(fs // (3.0 * half)))
    yd = y[::dec]
    fsd = fs / dec
    meas, ok = [], 0
    for i in range(n_groups):
        a = int(math.ceil((group_t0[i] + t_cp) * TS * fsd))
        b = int(math.floor((group_t0[i] + g_ts) * TS * fsd)) - 1
        seg = yd[a:b]
        nfft = 16 * (1 << int(math.ceil(math.log2(max(seg.size, 2)))))
        sp = np.abs(np.fft.fft(seg * np.hanning(seg.size), nfft))
        fr = np.fft.fftfreq(nfft, 1 / fsd)
        sp[np.abs(fr) > half] = 0
        k = int(np.argmax(sp))
        l, c0, rr = np.log(sp[k - 1] + 1e-30), np.log(sp[k] + 1e-30), np.log(sp[(k + 1) % nfft] + 1e-30)
        den = l - 2 * c0 + rr
        delta = 0.5 * (l - rr) / den if den != 0 else 0.0
        fm = (k + delta) * fsd / nfft
        if fm > fsd / 2:
            fm -= fsd
        want = (nsc[i] - mid) * 3750.0
        e = fm - want
        meas.append((fm, e))
        ok += abs(e) <= NPRACH_TOL_HZ
    need = n_groups if snr_ref(rec) >= 0 else int(math.ceil(0.9 * n_groups))
    worst = max(abs(e) for _, e in meas)
    rms = math.sqrt(sum(e * e for _, e in meas) / len(meas))
    meas_sc = [int(round(fm / 3750.0 + mid)) for fm, _ in meas]
    show = 8
    desc = (f"fmt={fmt} reps={reps} n_init={p['n_init']} cell={p['cell_id']} hop={conv} "
            f"cfo={cfo:g}: {ok}/{n_groups} groups within {NPRACH_TOL_HZ:.0f} Hz of "
            f"f0+(n_sc-{mid})*3750 (max {worst:.0f} Hz, rms {rms:.0f} Hz); "
            f"n_sc expected {nsc[:show]}{'...' if n_groups > show else ''} "
            f"measured {meas_sc[:show]}{'...' if n_groups > show else ''}")
    if ok < need:
        errs.append(f"only {ok}/{n_groups} groups on the expected tone (need {need})")
    return ("FAIL" if errs else "PASS"), desc + ("" if not errs else " | " + "; ".join(errs))


# --------------------------------------------------------------------------------------------
# PRACH
# --------------------------------------------------------------------------------------------

_ZC_DFT = None


def zc_dft_all():
    global _ZC_DFT
    if _ZC_DFT is None:
        n = np.arange(839)
        u = np.arange(1, 839)[:, None]
        _ZC_DFT = np.fft.fft(np.exp(-1j * np.pi * ((u * (n * (n + 1)) % (2 * 839)) / 839.0)), axis=1)
    return _ZC_DFT


def check_prach(rec, r):
    p = rec["params"]
    fmt = int(p.get("format", 0))
    if fmt not in PRACH_FORMATS:
        return "SKIP", f"format {fmt} (only formats 0-3 are verified)"
    fs = r.fs
    u_claim, cv_claim = int(p["root"]), int(p["cyclic_shift"])
    errs, notes = [], []
    t_cp, t_seq = PRACH_FORMATS[fmt]
    f0 = rec["freq_offset_hz"]
    cfo = float(p.get("cfo_hz", 0.0))
    # Derived parameters (5.7.2): logical root, N_CS, C_v of the unrestricted set.
    if "root_sequence_index" in p and "preamble_index" in p and "zero_correlation_zone_config" in p:
        ncs = NCS_UNRESTRICTED[int(p["zero_correlation_zone_config"])]
        per_root = 839 // ncs if ncs else 1
        pi_ = int(p["preamble_index"])
        logical = (int(p["root_sequence_index"]) + pi_ // per_root) % 838
        u_der, cv_der = ROOT_TABLE[logical], (pi_ % per_root) * ncs
        if (u_der, cv_der) != (u_claim, cv_claim):
            errs.append(f"params (root {u_claim}, C_v {cv_claim}) != derived from RSI/preamble/ZCZ "
                        f"(logical {logical} -> u {u_der}, C_v {cv_der}; Tables 5.7.2-2/-4)")
    if abs(rec["bandwidth_hz"] - 839 * 1250.0) > 1:
        errs.append(f"bandwidth_hz {rec['bandwidth_hz']} != 1048750")
    carrier = r.carrier(rec)
    if carrier is not None and "bandwidth_mhz" in p and "prach_freq_offset" in p:
        n_rb = int(p.get("n_rb_ul", N_RB_OF_BW.get(float(p["bandwidth_mhz"]), 0)))
        k0 = int(p["prach_freq_offset"]) * 12 - n_rb * 12 // 2
        want = carrier + cfo + (419 + 7 + 12 * (k0 + 0.5)) * 1250.0
        if abs(f0 - want) > 1:
            errs.append(f"freq_offset_hz {f0} != carrier + cfo + (419 + phi + K(k0+1/2)) 1250 = {want}")
    # Sequence part, mixed to baseband at the band centre.
    nseq = int(round(24576 * TS * fs))
    n_rep = t_seq // 24576
    start = int(rec["sample_start"]) + int(round(t_cp * TS * fs))
    y = r.samples(start, nseq * n_rep)
    if y.size < nseq * n_rep:
        return "FAIL", "preamble runs past the end of the data"
    y = y * np.exp(-2j * np.pi * f0 * np.arange(y.size) / fs)
    spec = sum(np.fft.fft(y[k * nseq:(k + 1) * nseq]) for k in range(n_rep))
    pw = np.abs(spec) ** 2
    fb = np.fft.fftfreq(nseq, 1.0 / nseq).round().astype(int)   # bin index, 1250 Hz each
    # Excise narrowband interferers (bins 10x above the median of their region): another
    # emitter's CW carrier inside the PRACH band must not decide the verdict.
    inband = np.abs(fb) <= 419
    keep = np.ones(nseq, dtype=bool)
    keep[inband] = pw[inband] <= 10 * np.median(pw[inband])
    outer = (np.abs(fb) > 419)
    if outer.any():
        keep[outer] = pw[outer] <= 10 * np.median(pw[outer])
    n_excised = int(np.sum(~keep[inband]))
    b = np.arange(-419, 420)
    x = np.where(keep[b % nseq], spec[b % nseq], 0)   # subcarrier k = b + 419 of 5.7.3
    # All 838 roots: X(k) = H DFT(x_u(n + C_v))(k) = H e^{j 2 pi C_v k / 839} Y_u(k), so
    # IDFT(X conj(Y_u)) peaks at n = -C_v mod 839.
    corr = np.abs(np.fft.ifft(x[None, :] * np.conj(zc_dft_all()), axis=1))
    corr /= np.sqrt(np.sum(np.abs(x) ** 2) * 839) / math.sqrt(839)
    peaks = corr.max(axis=1)
    best_u = int(np.argmax(peaks)) + 1
    second = float(np.max(np.delete(peaks, best_u - 1)))
    lag = (-int(np.argmax(corr[u_claim - 1]))) % 839
    d = (lag - cv_claim + 419) % 839 - 419
    lo_ok, hi_ok = (-3, 1) if p.get("multipath") else (-1, 1)
    if best_u != u_claim:
        errs.append(f"best root {best_u} (peak {peaks[best_u - 1]:.3f}) != claimed root {u_claim} "
                    f"(peak {peaks[u_claim - 1]:.3f})")
    if not lo_ok <= d <= hi_ok:
        errs.append(f"best shift of root {u_claim} is {lag}, claimed C_v {cv_claim}")
    # Occupied band: 839 x 1250 Hz centred at f0 (5.7.3); levels from the kept bins.
    def level(mask):
        m = mask & keep
        return float(np.mean(pw[m])) if m.any() else float("nan")
    far = (np.abs(fb) >= 430) & keep
    noise = float(np.median(pw[far])) / math.log(2) if far.sum() >= 40 else None
    edge_out_mask = (np.abs(fb) >= 421) & (np.abs(fb) <= 460)
    if noise is None or (edge_out_mask & keep).sum() < 20:
        band_desc = "band edges not measurable at this rate"
    else:
        sig = level(inband) - noise
        ein = level((np.abs(fb) >= 380) & inband) - noise
        eout = level(edge_out_mask) - noise
        band_desc = (f"band: inner edges {ein / sig:.2f}, outer edges {eout / sig:.2f} of the in-band "
                     f"level (SNR/bin {10 * math.log10(max(sig, 1e-30) / noise):.1f} dB)")
        if sig <= 0 or ein < 0.5 * sig or eout > 0.25 * sig:
            errs.append("occupied band is not 839 x 1.25 kHz at freq_offset_hz: " + band_desc)
    if n_excised:
        band_desc += f"; {n_excised} interfered bins excised"
    desc = (f"fmt={fmt} root={u_claim} C_v={cv_claim}: best root {best_u} "
            f"(peak {peaks[best_u - 1]:.3f}, next root {second:.3f}), best shift {lag}; {band_desc}")
    return ("FAIL" if errs else "PASS"), desc + ("" if not errs else " | " + "; ".join(errs)) + \
        ("" if not notes else " | note: " + "; ".join(notes))


# --------------------------------------------------------------------------------------------
# PUSCH and multi-tone NPUSCH: SC-FDMA demodulation (5.6)
# --------------------------------------------------------------------------------------------

def symbol_useful_start_ts(slot, l):
    """Table 5.6-1, normal CP: N_CP = 160 (l = 0), 144 (l = 1..6), N = 2048, slot 15360 Ts."""
    t = slot * 15360
    for j in range(l):
        t += (160 if j == 0 else 144) + 2048
    return t + (160 if l == 0 else 144)


def demod_symbol(r, ss, slot, l, freqs, delay=0.0):
    """Subcarrier values at absolute offsets `freqs` (Hz, on a 15 kHz grid) of symbol l of slot
    `slot`. The phase reference is the start of the useful part (5.6); `delay` (samples) moves it."""
    fs = r.fs
    start = ss + symbol_useful_start_ts(slot, l) * TS * fs - delay
    n0 = int(math.ceil(start - 1e-9))
    n_exact = 2048 * TS * fs
    nlen = int(round(n_exact))
    y = r.samples(n0, nlen)
    freqs = np.asarray(freqs, dtype=float)
    eps = (n0 - start) / fs                       # first sample's time after the useful start
    if abs(n_exact - nlen) < 1e-9 and y.size == nlen:
        # fs / N = 15 kHz exactly: one FFT after mixing by the first frequency.
        fb = freqs[0]
        m = np.rint((freqs - fb) / 15e3).astype(int)
        spec = np.fft.fft(y * np.exp(-2j * np.pi * fb * np.arange(nlen) / fs))
        return spec[m % nlen] * np.exp(-2j * np.pi * freqs * eps)
    t = eps + np.arange(y.size) / fs
    return dft_at(y, t, freqs)


_REFS = {}


def dmrs_refs(m_sc, v):
    if (m_sc, v) not in _REFS:
        n = np.arange(m_sc)
        keys, refs = [], []
        for u in range(30):
            rb = base_sequence(u, v, m_sc)
            for cs in range(12):
                keys.append((u, cs))
                refs.append(np.exp(1j * 2 * np.pi * cs * n / 12.0) * rb)
        _REFS[(m_sc, v)] = (keys, np.conj(np.array(refs)))
    return _REFS[(m_sc, v)]


def dmrs_search(x, m_sc, v, rel_freqs, fs):
    """Correlation of the received DMRS x with every (u, n_cs), best over a small timing search."""
    keys, crefs = dmrs_refs(m_sc, v)
    best = np.zeros(len(keys))
    for d in np.linspace(-0.5, 1.5, 9):
        xd = x * np.exp(-2j * np.pi * rel_freqs * d / fs)
        c = np.abs(crefs @ xd) / (np.linalg.norm(xd) * math.sqrt(m_sc) + 1e-30)
        best = np.maximum(best, c)
    return {k: float(best[i]) for i, k in enumerate(keys)}


def describe_dmrs(scores, claim):
    """The best (u, n_cs) with its score, and the best score of any candidate but the claim."""
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    other = next(s for k, s in ranked if k != claim)
    return ranked[0], other


def check_pusch(rec, r):
    p = rec["params"]
    if p.get("cyclic_prefix", "normal") != "normal":
        return "SKIP", "extended CP not verified"
    fs = r.fs
    m_sc = 12 * int(p["n_prb"])
    f0 = rec["freq_offset_hz"]
    cfo = float(p.get("cfo_hz", 0.0))
    errs, notes = [], []
    cell = int(p.get("cell_id", 0))
    if abs(rec["bandwidth_hz"] - m_sc * 15e3) > 1:
        errs.append(f"bandwidth_hz {rec['bandwidth_hz']} != {m_sc * 15e3:.0f}")
    n_rb = int(p.get("n_rb_ul", N_RB_OF_BW.get(float(p.get("bandwidth_mhz", 0)), 0)))
    first = int(p.get("first_prb", 0))
    if p.get("lte_m") and "narrowband" in p:
        want_first = narrowband_first_prb(int(p["narrowband"]), n_rb) + int(p.get("nb_first_prb", 0))
        if want_first != first:
            errs.append(f"first_prb {first} != narrowband {p['narrowband']} PRB "
                        f"{want_first - int(p.get('nb_first_prb', 0))} + {p.get('nb_first_prb', 0)} (5.2.4)")
    carrier = r.carrier(rec)
    if carrier is not None and n_rb:
        want = carrier + cfo + (first * 12 + m_sc / 2 - n_rb * 6) * 15e3
        if abs(f0 - want) > 1:
            errs.append(f"freq_offset_hz {f0} != carrier + cfo + centre of PRBs {first}.. = {want}")
    rel = (np.arange(m_sc) - m_sc / 2 + 0.5) * 15e3
    v = int(p.get("dmrs_base_seq", 0))
    ss = int(rec["sample_start"])
    if m_sc < 36 and not phi_tables_available():
        return ("FAIL" if errs else "PASS"), (f"n_prb={p['n_prb']}: DMRS NOT checked (Tables "
                f"5.5.1.2-1/-2 not found at {PHI_JSON}; set CIOT_DMRS_PHI)") + \
            ("" if not errs else " | " + "; ".join(errs))
    x = demod_symbol(r, ss, 0, 3, f0 + rel)
    scores = dmrs_search(x, m_sc, v, rel, fs)
    claim = (int(p["dmrs_group"]), int(p["cyclic_shift"]))
    top, other = describe_dmrs(scores, claim)
    if top[0] != claim:
        errs.append(f"best DMRS (u, n_cs) = {top[0]} ({top[1]:.3f}) != claimed {claim} "
                    f"({scores[claim]:.3f})")
    # Notes: the derivations of 5.5.1.3 / 5.5.2.1.1 and the second slot.
    n_s = int(p.get("slot_start", 0))
    f_ss = (cell % 30 + int(p.get("delta_ss", 0))) % 30
    u_der = ((f_gh(n_s, cell) if p.get("group_hopping") else 0) + f_ss) % 30
    if u_der != claim[0]:
        notes.append(f"5.5.1.3 gives u = {u_der} for slot {n_s}, cell {cell}")
    if p.get("n_cs_override") is None and "cyclic_shift_cfg" in p:
        cs_der = (N_DMRS1[int(p["cyclic_shift_cfg"])] + N_DMRS2[int(p.get("cyclic_shift_dci", 0))]
                  + n_pn(n_s, cell, f_ss)) % 12
        if cs_der != claim[1]:
            notes.append(f"5.5.2.1.1 gives n_cs = {cs_der} for slot {n_s}")
    slot_desc = ""
    if rec["sample_len"] >= 2 * 15360 * TS * fs - 1:
        x1 = demod_symbol(r, ss, 1, 3, f0 + rel)
        s1 = dmrs_search(x1, m_sc, v, rel, fs)
        top1 = max(s1.items(), key=lambda kv: kv[1])
        u1 = ((f_gh(n_s + 1, cell) if p.get("group_hopping") else 0) + f_ss) % 30
        cs1 = (N_DMRS1[int(p.get("cyclic_shift_cfg", 0))] + N_DMRS2[int(p.get("cyclic_shift_dci", 0))]
               + n_pn(n_s + 1, cell, f_ss)) % 12
        slot_desc = f"; slot 1 best {top1[0]} ({top1[1]:.3f})"
        if p.get("n_cs_override") is None and top1[0] != (u1, cs1):
            notes.append(f"slot 1 DMRS {top1[0]} != 5.5.1.3/5.5.2.1.1 derivation {(u1, cs1)}")
    desc = (f"n_prb={p['n_prb']} first_prb={first} u={claim[0]} n_cs={claim[1]} v={v}: slot 0 "
            f"symbol 3 best {top[0]} (corr {top[1]:.3f}; claim {scores[claim]:.3f}, best other "
            f"{other:.3f}){slot_desc}")
    return ("FAIL" if errs else "PASS"), desc + ("" if not errs else " | " + "; ".join(errs)) + \
        ("" if not notes else " | note: " + "; ".join(notes))


# --------------------------------------------------------------------------------------------
# NPUSCH
# --------------------------------------------------------------------------------------------

def welch_psd(y, fs, nseg):
    step = nseg // 2
    w = np.hanning(nseg)
    acc = np.zeros(nseg)
    k = 0
    for a in range(0, y.size - nseg + 1, step):
        acc += np.abs(np.fft.fft(y[a:a + nseg] * w)) ** 2
        k += 1
    return np.fft.fftfreq(nseg, 1 / fs), acc / max(k, 1)


def check_npusch(rec, r):
    p = rec["params"]
    fs = r.fs
    spacing = float(p.get("spacing_hz", 15000))
    tones = int(p.get("tones", 1))
    first = int(p["first_subcarrier"])
    n_sc_ul = 48 if spacing == 3750 else 12
    f0 = rec["freq_offset_hz"]
    cfo = float(p.get("cfo_hz", 0.0))
    errs, notes = [], []
    centre_rel = (first + tones / 2.0 - n_sc_ul / 2.0) * spacing   # about the carrier (10.1.5)
    carrier = r.carrier(rec)
    if carrier is not None and abs(f0 - (carrier + cfo + centre_rel)) > 1:
        errs.append(f"freq_offset_hz {f0} != carrier {carrier} + cfo {cfo} + {centre_rel}")
    if abs(rec["bandwidth_hz"] - tones * spacing) > 1:
        errs.append(f"bandwidth_hz {rec['bandwidth_hz']} != {tones * spacing:.0f}")
    car = f0 - cfo - centre_rel if carrier is None else carrier   # the carrier, as used below
    fc = car + cfo
    ss, sl = int(rec["sample_start"]), int(rec["sample_len"])
    if tones == 1:
        y = r.samples(ss, sl)
        y = y * np.exp(-2j * np.pi * fc * np.arange(y.size) / fs)
        nseg = int(2 ** round(math.log2(16 * fs / spacing)))
        fr, psd = welch_psd(y, fs, nseg)
        cand = (np.arange(n_sc_ul) - n_sc_ul / 2 + 0.5) * spacing
        power = [float(np.sum(psd[np.abs(fr - c) <= spacing / 2])) for c in cand]
        k_best = int(np.argmax(power))
        near = np.abs(fr - cand[k_best]) <= spacing
        noise = float(np.median(psd[np.abs(fr) <= n_sc_ul * spacing]))
        wgt = np.clip(psd[near] - noise, 0, None)
        centroid = fc + float(np.sum(wgt * fr[near]) / max(np.sum(wgt), 1e-30))
        desc = (f"single tone {spacing:g} Hz, subcarrier {first}: strongest subcarrier {k_best}, "
                f"centroid {centroid:.0f} Hz (claim {f0:.0f}, error {centroid - f0:+.0f} Hz)")
        if k_best != first:
            errs.append(f"strongest subcarrier {k_best} != first_subcarrier {first}")
        if abs(centroid - f0) > spacing / 4:
            errs.append(f"tone centroid {centroid:.0f} Hz is more than {spacing / 4:g} Hz from freq_offset_hz")
        return ("FAIL" if errs else "PASS"), desc + ("" if not errs else " | " + "; ".join(errs))
    if spacing != 15000:
        return "FAIL", f"multi-tone NPUSCH at {spacing} Hz does not exist (10.1.3)"
    # Multi-tone: demodulate every SC-FDMA symbol on 36 subcarriers (the carrier's 12 in the middle).
    ks = np.arange(-12, 24)
    freqs = fc + (ks - 6 + 0.5) * 15e3
    n_slots = int(round(sl / (15360 * TS * fs)))
    acc = np.zeros(ks.size)
    for s in range(n_slots):
        for l in range(7):
            acc += np.abs(demod_symbol(r, ss, s, l, freqs)) ** 2
    acc /= 7 * max(n_slots, 1)
    noise = float(np.median(np.concatenate([acc[:12], acc[24:]])))
    sig = float(np.max(acc)) - noise
    occ = [int(k) for k, a in zip(ks, acc) if a - noise > 0.25 * sig]
    want = list(range(first, first + tones))
    desc = (f"{tones} tones from subcarrier {first}: occupied {occ} "
            f"(SNR/subcarrier {10 * math.log10(max(sig, 1e-30) / noise):.1f} dB)")
    if occ != want:
        errs.append(f"occupied subcarriers {occ} != claimed {want}")
    if tones == 12 and "base_sequence" in p and not phi_tables_available():
        desc += f"; DMRS NOT checked (Table 5.5.1.2-1 not found at {PHI_JSON})"
    elif tones == 12 and "base_sequence" in p:
        rel = (np.arange(12) - 6 + 0.5) * 15e3
        # DMRS in symbol 3 of every slot (10.1.4.2); scores averaged over the first 8 slots.
        n_avg = max(1, min(n_slots, 8))
        scores = {}
        for s in range(n_avg):
            for k, c in dmrs_search(demod_symbol(r, ss, s, 3, fc + rel), 12, 0, rel, fs).items():
                scores[k] = scores.get(k, 0.0) + c / n_avg
        claim = (int(p["base_sequence"]), int(p.get("cyclic_shift", 0)))
        top, other = describe_dmrs(scores, claim)
        desc += (f"; DMRS best {top[0]} (corr {top[1]:.3f}; claim {scores[claim]:.3f}, "
                 f"best other {other:.3f})")
        if top[0] != claim:
            errs.append(f"best DMRS (u, n_cs) = {top[0]} != claimed {claim}")
    return ("FAIL" if errs else "PASS"), desc + ("" if not errs else " | " + "; ".join(errs))


# --------------------------------------------------------------------------------------------

def check_sigmf(r):
    try:
        from sigmf import sigmffile
    except ImportError:
        return "SKIP", "sigmf package not installed"
    try:
        sigmffile.fromfile(r.meta_path).validate()
    except Exception as e:  # any validation or checksum error
        return "FAIL", f"{type(e).__name__}: {e}"
    return "PASS", f"{os.path.basename(r.meta_path)} validates ({r.meta['global']['core:datatype']}, " \
                   f"{r.fs / 1e6:g} MS/s, {r.n_samples} samples)"


CHECKS = {"nprach": check_nprach, "prach": check_prach, "pusch": check_pusch, "npusch": check_npusch}


def main(argv):
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print("usage: verify_synth.py BASE", file=sys.stderr)
        return 2
    try:
        r = Recording(argv[1])
    except (OSError, ValueError, KeyError) as e:
        print(f"verify_synth: cannot read {argv[1]}: {e}", file=sys.stderr)
        return 2
    fails = 0
    status, text = check_sigmf(r)
    print(f"{status} sigmf: {text}")
    fails += status == "FAIL"
    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    for i, rec in enumerate(r.records):
        kind = rec.get("kind")
        head = f"#{i} {kind} @{rec.get('sample_start')} f0={rec.get('freq_offset_hz', 0):.0f}"
        if kind not in CHECKS or "interferer" in rec.get("params", {}):
            status, text = "SKIP", "not a verified kind"
        else:
            try:
                status, text = CHECKS[kind](rec, r)
            except Exception as e:  # a record the checker cannot follow is a failure, not a crash
                status, text = "FAIL", f"checker error {type(e).__name__}: {e}"
        counts[status] += 1
        fails += status == "FAIL"
        print(f"{status} {head}: {text}")
    print(f"summary: {counts['PASS']} pass, {counts['FAIL']} fail, {counts['SKIP']} skip "
          f"({len(r.records)} records) in {r.base}")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
