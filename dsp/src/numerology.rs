//! LTE / NB-IoT time base (TS 36.211 4): lengths in units of `Ts = 1 / (15000 x 2048)` s.

/// Basic time unit `Ts` of TS 36.211 clause 4, seconds.
pub const TS_S: f64 = 1.0 / 30_720_000.0;

/// LTE subcarrier spacing, Hz (5.6, 10.1.5 with 15 kHz).
pub const DELTA_F_HZ: f64 = 15_000.0;

/// NB-IoT 3.75 kHz subcarrier spacing, Hz (10.1.5, 10.1.6).
pub const DELTA_F_NB_HZ: f64 = 3_750.0;

/// PRACH subcarrier spacing for formats 0-3, Hz (Table 5.7.3-1).
pub const DELTA_F_RA_HZ: f64 = 1_250.0;

/// Subcarriers per resource block (5.2.3).
pub const N_SC_RB: usize = 12;

/// Converts a length in `Ts` units to seconds.
pub fn ts(len: u32) -> f64 {
    // Divide rather than multiply by TS_S: `len / 30.72e6` is the correctly rounded value,
    // so `ts(len) * fs` lands on whole samples at the LTE rates.
    len as f64 / 30_720_000.0
}

/// Uplink cyclic-prefix length of SC-FDMA symbol `l` (0..6) of a slot with normal CP, in Ts
/// (Table 5.6-1): 160 for l = 0, 144 otherwise.
pub fn ul_cp_normal_ts(l: usize) -> u32 {
    if l == 0 {
        160
    } else {
        144
    }
}

/// Number of uplink resource blocks of a 1.4/3/5/10/15/20 MHz LTE carrier (36.101 Table 5.6-1),
/// or `None` for another bandwidth.
pub fn n_rb_for_bandwidth_mhz(bw_mhz: f64) -> Option<u32> {
    [
        (1.4, 6),
        (3.0, 15),
        (5.0, 25),
        (10.0, 50),
        (15.0, 75),
        (20.0, 100),
    ]
    .iter()
    .find(|(b, _)| (b - bw_mhz).abs() < 1e-9)
    .map(|&(_, n)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_is_half_a_millisecond() {
        let slot: u32 = (0..7).map(|l| ul_cp_normal_ts(l) + 2048).sum();
        assert_eq!(slot, 15360);
        assert!((ts(slot) - 0.5e-3).abs() < 1e-15);
    }

    #[test]
    fn bandwidths() {
        assert_eq!(n_rb_for_bandwidth_mhz(1.4), Some(6));
        assert_eq!(n_rb_for_bandwidth_mhz(20.0), Some(100));
        assert_eq!(n_rb_for_bandwidth_mhz(7.0), None);
    }
}
