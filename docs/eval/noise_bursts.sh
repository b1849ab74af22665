#!/usr/bin/env bash
# Noise bursts against the cellular detectors (docs/DETECTION.md, "Noise bursts taken for NPRACH
# and NPUSCH"). Synthesises 54 recordings of 0.4 s, each with five band-limited Gaussian noise
# bursts of 10 ms (every 70 ms from 50 ms, 200 kHz off centre): 45 kHz, 180 kHz and 1 MHz wide,
# at 6, 12 and 20 dB in their own band, seeds 11-13, at 1.92 and 7.68 MS/s (270 bursts). Scans
# each and prints, per recording, the number of reports that are not `unknown`.
#
#   docs/eval/noise_bursts.sh [CIOT_SWEEP] [WORKDIR] [DETECTORS]
#
# CIOT_SWEEP defaults to target/release/ciot-sweep (also used to synthesise), WORKDIR to a new
# temporary directory, DETECTORS to the scan default.
set -euo pipefail
BIN=${1:-target/release/ciot-sweep}
OUT=${2:-$(mktemp -d)}
DET=${3:-energy,nprach,prach}
mkdir -p "$OUT"
total=0
for fs in 1.92e6 7.68e6; do
  for bw in 45e3 180e3 1e6; do
    for snr in 6 12 20; do
      for seed in 11 12 13; do
        base="$OUT/nb_${fs}_${bw}_${snr}_${seed}"
        if [ ! -f "$base.sigmf-meta" ]; then
          cat > "$base.toml" <<T
[capture]
sample_rate = $fs
center_freq = 868.0e6
duration_s = 0.4
format = "cf32"
noise_dbfs = -35.0
seed = $seed

[[emitter]]
kind = "noise"
start_s = 0.05
period_s = 0.07
count = 5
carrier_offset_hz = 200e3
snr_db = $snr
[emitter.config]
bandwidth_hz = $bw
duration_s = 0.01
T
          "$BIN" synth "$base.toml" --output "$base" >/dev/null 2>&1
        fi
        n=$("$BIN" scan "$base.sigmf-meta" --detectors "$DET" --json - 2>/dev/null |
          { grep -v '"kind":"unknown"' || true; } | { grep -c '"kind"' || true; })
        total=$((total + n))
        echo "$fs $bw $snr $seed $n"
      done
    done
  done
done
echo "cellular reports on 270 noise bursts: $total"
