//! The proximity meter behind `ciot-sweep locate`: one row per emitter with its last power
//! and SNR, a peak hold, the trend, a bar of the SNR (power over the local noise floor) and
//! the time since its last burst. Walking the antenna towards a module, its row's bar and
//! peak rise. This module is the view model and its rendering (ratatui); the command feeds
//! it detections and keys. [`tone`] is the audible click of `locate --audio`.

pub mod tone;

use crate::record::DetectionRecord;
use crate::track::{Emitter, Trend};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, Widget};
use std::collections::BTreeMap;

/// The SNR that fills the bar, dB.
pub const BAR_FULL_SNR_DB: f64 = 40.0;

/// One emitter's meter state.
#[derive(Debug, Clone, PartialEq)]
pub struct MeterRow {
    /// Emitter id.
    pub id: u64,
    /// "nb-iot nprach+npusch 851.7625 MHz".
    pub label: String,
    /// Last burst power, dBFS.
    pub last_dbfs: f64,
    /// Last burst SNR, dB.
    pub last_snr_db: f64,
    /// Peak hold (since start or the last reset), dBFS.
    pub peak_dbfs: f64,
    /// Peak SNR (same), dB.
    pub peak_snr_db: f64,
    /// Trend over the recent bursts.
    pub trend: Trend,
    /// Stream time of the last burst, s.
    pub last_seen_s: f64,
    /// Bursts.
    pub bursts: u64,
    /// Known from a baseline.
    pub known: Option<bool>,
}

impl MeterRow {
    /// Bar fill 0..1: the last SNR over [`BAR_FULL_SNR_DB`].
    pub fn bar_fraction(&self) -> f64 {
        (self.last_snr_db / BAR_FULL_SNR_DB).clamp(0.0, 1.0)
    }
}

/// The meter: emitters, the pinned one, the stream clock.
///
/// The pin (the emitter `locate --audio` clicks for) goes by itself to the first emitter
/// heard, and moves once to the first `[NEW]` one when a baseline marks one; once the user
/// pins an emitter ([`Meter::pin`], [`Meter::move_pin`]) it stays where it was put.
#[derive(Debug, Clone, Default)]
pub struct Meter {
    rows: BTreeMap<u64, MeterRow>,
    pinned: Option<u64>,
    pinned_by_user: bool,
    now_s: f64,
    /// Status line (source, rate, dropped samples...).
    pub status: String,
}

impl Meter {
    /// Takes a tracked detection (its emitter already updated).
    pub fn on_detection(&mut self, r: &DetectionRecord, e: &Emitter) {
        let kinds: Vec<&str> = e
            .kinds
            .iter()
            .map(|k| crate::commands::scan::kind_name(*k))
            .collect();
        let tech = serde_json::to_value(e.tech)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let f = if e.freq_is_absolute {
            format!("{:.4} MHz", e.freq_hz / 1e6)
        } else {
            format!("{:+.1} kHz", e.freq_hz / 1e3)
        };
        let row = self.rows.entry(e.id).or_insert_with(|| MeterRow {
            id: e.id,
            label: String::new(),
            last_dbfs: r.power_dbfs,
            last_snr_db: r.snr_db,
            peak_dbfs: f64::NEG_INFINITY,
            peak_snr_db: f64::NEG_INFINITY,
            trend: Trend::Steady,
            last_seen_s: r.t_start_s,
            bursts: 0,
            known: None,
        });
        row.label = format!("{tech} {} {f}", kinds.join("+"));
        row.last_dbfs = r.power_dbfs;
        row.last_snr_db = r.snr_db;
        row.peak_dbfs = row.peak_dbfs.max(r.power_dbfs);
        row.peak_snr_db = row.peak_snr_db.max(r.snr_db);
        row.trend = e.trend;
        row.last_seen_s = row.last_seen_s.max(r.t_start_s + r.duration_s);
        row.bursts += 1;
        row.known = e.known;
        self.now_s = self.now_s.max(r.t_start_s + r.duration_s);
        if !self.pinned_by_user {
            let pinned_is_new = self
                .pinned
                .and_then(|p| self.rows.get(&p))
                .is_some_and(|p| p.known == Some(false));
            if self.pinned.is_none() || (e.known == Some(false) && !pinned_is_new) {
                self.pinned = Some(e.id);
            }
        }
    }

    /// Pins emitter `id` (`locate --pin`), even before it is heard; the pin no longer
    /// moves by itself.
    pub fn pin(&mut self, id: u64) {
        self.pinned = Some(id);
        self.pinned_by_user = true;
    }

    /// Advances the stream clock (processed samples / rate).
    pub fn set_now(&mut self, now_s: f64) {
        self.now_s = self.now_s.max(now_s);
    }

    /// The stream clock, s.
    pub fn now_s(&self) -> f64 {
        self.now_s
    }

    /// Resets every peak hold to the last reading.
    pub fn reset_peaks(&mut self) {
        for r in self.rows.values_mut() {
            r.peak_dbfs = r.last_dbfs;
            r.peak_snr_db = r.last_snr_db;
        }
    }

    /// Pins the next (`+1`) or previous (`-1`) emitter in the table's order.
    pub fn move_pin(&mut self, step: i64) {
        let ids: Vec<u64> = self.rows_sorted().iter().map(|r| r.id).collect();
        if ids.is_empty() {
            return;
        }
        let cur = self
            .pinned
            .and_then(|p| ids.iter().position(|&i| i == p))
            .unwrap_or(0) as i64;
        let n = ids.len() as i64;
        self.pinned = Some(ids[((cur + step) % n + n) as usize % ids.len()]);
        self.pinned_by_user = true;
    }

    /// The pinned emitter.
    pub fn pinned(&self) -> Option<u64> {
        self.pinned
    }

    /// The row of emitter `id`, once heard.
    pub fn row(&self, id: u64) -> Option<&MeterRow> {
        self.rows.get(&id)
    }

    /// Rows, strongest peak first.
    pub fn rows_sorted(&self) -> Vec<&MeterRow> {
        let mut v: Vec<&MeterRow> = self.rows.values().collect();
        v.sort_by(|a, b| {
            b.peak_snr_db
                .total_cmp(&a.peak_snr_db)
                .then(a.id.cmp(&b.id))
        });
        v
    }

    /// One plain line for a burst (no terminal).
    pub fn plain_line(&self, r: &DetectionRecord) -> String {
        let row = r.emitter.and_then(|id| self.rows.get(&id));
        match row {
            Some(m) => format!(
                "{:9.3} s  #{:<3} {:38} {:7.1} dBFS  SNR {:5.1} dB  peak {:7.1} dBFS {}{}",
                r.t_start_s,
                m.id,
                m.label,
                m.last_dbfs,
                m.last_snr_db,
                m.peak_dbfs,
                m.trend.arrow(),
                known_tag(m.known)
            ),
            None => format!(
                "{:9.3} s  {:?} {:.1} dBFS",
                r.t_start_s, r.kind, r.power_dbfs
            ),
        }
    }

    /// Draws the meter into `area` of `buf`.
    pub fn render(&self, area: Rect, buf: &mut Buffer) {
        let header = Row::new(vec![
            "",
            "#",
            "emitter",
            "last dBFS",
            "SNR dB",
            "peak dBFS",
            "",
            "level (SNR)",
            "ago s",
            "bursts",
        ])
        .style(Style::default().add_modifier(Modifier::BOLD));
        let bar_w = 24usize;
        let rows: Vec<Row> = self
            .rows_sorted()
            .into_iter()
            .map(|m| {
                let pinned = self.pinned == Some(m.id);
                let filled = (m.bar_fraction() * bar_w as f64).round() as usize;
                let bar = format!("{}{}", "█".repeat(filled), "·".repeat(bar_w - filled));
                let colour = if m.last_snr_db >= 20.0 {
                    Color::Red
                } else if m.last_snr_db >= 10.0 {
                    Color::Yellow
                } else {
                    Color::Green
                };
                let style = if pinned {
                    Style::default().add_modifier(Modifier::REVERSED)
                } else {
                    Style::default()
                };
                Row::new(vec![
                    Cell::from(if pinned { "▶" } else { " " }),
                    Cell::from(format!("{}", m.id)),
                    Cell::from(format!("{}{}", m.label, known_tag(m.known))),
                    Cell::from(format!("{:7.1}", m.last_dbfs)),
                    Cell::from(format!("{:5.1}", m.last_snr_db)),
                    Cell::from(format!("{:7.1}", m.peak_dbfs)),
                    Cell::from(m.trend.arrow()),
                    Cell::from(Span::styled(bar, Style::default().fg(colour))),
                    Cell::from(format!("{:6.1}", (self.now_s - m.last_seen_s).max(0.0))),
                    Cell::from(format!("{}", m.bursts)),
                ])
                .style(style)
            })
            .collect();
        let widths = [
            Constraint::Length(1),
            Constraint::Length(3),
            Constraint::Min(30),
            Constraint::Length(9),
            Constraint::Length(6),
            Constraint::Length(9),
            Constraint::Length(1),
            Constraint::Length(bar_w as u16),
            Constraint::Length(6),
            Constraint::Length(6),
        ];
        let title = format!(
            " ciot-sweep locate  t = {:.1} s  {} emitters ",
            self.now_s,
            self.rows.len()
        );
        let [table_area, help_area] = {
            let h = area.height.saturating_sub(2);
            [
                Rect { height: h, ..area },
                Rect {
                    y: area.y + h,
                    height: area.height - h,
                    ..area
                },
            ]
        };
        Table::new(rows, widths)
            .header(header)
            .block(Block::default().borders(Borders::ALL).title(title))
            .render(table_area, buf);
        Paragraph::new(vec![
            Line::from(self.status.clone()),
            Line::from("↑/↓ pin an emitter   r reset peaks   q quit"),
        ])
        .render(help_area, buf);
    }
}

fn known_tag(k: Option<bool>) -> &'static str {
    match k {
        Some(true) => " [known]",
        Some(false) => " [NEW]",
        None => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::track::{TrackConfig, Tracker};
    use ciot_dsp::synth::{Kind, Tech};

    fn rec(t: f64, f: f64, p: f64, snr: f64) -> DetectionRecord {
        DetectionRecord {
            kind: Kind::Nprach,
            tech: Tech::NbIot,
            sample_start: (t * 1e6) as u64,
            sample_len: 1000,
            t_start_s: t,
            duration_s: 1e-3,
            freq_offset_hz: 0.0,
            freq_hz: Some(f),
            bandwidth_hz: 45e3,
            power_dbfs: p,
            snr_db: snr,
            score: 1.0,
            time_utc: None,
            emitter: None,
            emitter_known: None,
            earfcn: Vec::new(),
            params: Default::default(),
        }
    }

    #[test]
    fn peaks_hold_reset_and_pin_moves_in_table_order() {
        let mut t = Tracker::new(TrackConfig::default());
        let mut m = Meter::default();
        for (tt, f, p, snr) in [
            (0.0, 851.5e6, -40.0, 20.0),
            (1.0, 853.0e6, -60.0, 5.0),
            (2.0, 851.5e6, -44.0, 16.0),
        ] {
            let mut r = rec(tt, f, p, snr);
            let e = t.add(&mut r).clone();
            m.on_detection(&r, &e);
        }
        let rows = m.rows_sorted();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].id, 1);
        assert_eq!((rows[0].last_dbfs, rows[0].peak_dbfs), (-44.0, -40.0));
        assert!((rows[0].bar_fraction() - 0.4).abs() < 1e-12);
        assert_eq!(m.pinned(), Some(1));
        m.move_pin(1);
        assert_eq!(m.pinned(), Some(2));
        m.move_pin(1);
        assert_eq!(m.pinned(), Some(1));
        m.move_pin(-1);
        assert_eq!(m.pinned(), Some(2));
        m.reset_peaks();
        assert_eq!(m.rows_sorted()[0].peak_dbfs, -44.0);
        // "ago" column: the clock is at the end of the last burst.
        assert!((m.now_s() - 2.001).abs() < 1e-9);
    }

    #[test]
    fn pin_goes_to_the_first_new_emitter_unless_the_user_pinned_one() {
        let known = |id: u64, k: Option<bool>| {
            let mut r = rec(id as f64, 850e6 + id as f64 * 1e6, -40.0, 10.0);
            r.emitter = Some(id);
            let mut t = Tracker::new(TrackConfig::default());
            let mut e = t.add(&mut r.clone()).clone();
            e.id = id;
            e.known = k;
            (r, e)
        };
        // Without a baseline: the first emitter heard, whatever comes next.
        let mut m = Meter::default();
        for id in [1, 2, 3] {
            let (r, e) = known(id, None);
            m.on_detection(&r, &e);
        }
        assert_eq!(m.pinned(), Some(1));
        // With one: the first NEW emitter, and it stays there.
        let mut m = Meter::default();
        for (id, k) in [(1, true), (2, false), (3, false), (1, true)] {
            let (r, e) = known(id, Some(k));
            m.on_detection(&r, &e);
        }
        assert_eq!(m.pinned(), Some(2));
        // --pin: pinned before it is heard, never moved by a NEW emitter.
        let mut m = Meter::default();
        m.pin(3);
        for (id, k) in [(1, true), (2, false), (3, true)] {
            let (r, e) = known(id, Some(k));
            m.on_detection(&r, &e);
        }
        assert_eq!(m.pinned(), Some(3));
        assert!(m.row(3).is_some() && m.row(9).is_none());
        // A key press is a user pin too.
        let mut m = Meter::default();
        let (r, e) = known(1, Some(true));
        m.on_detection(&r, &e);
        m.move_pin(1);
        let (r, e) = known(2, Some(false));
        m.on_detection(&r, &e);
        assert_eq!(m.pinned(), Some(1));
    }

    #[test]
    fn renders_a_row_per_emitter_with_the_pin_marker() {
        let mut t = Tracker::new(TrackConfig::default());
        let mut m = Meter::default();
        for (tt, f) in [(0.0, 851.5e6), (0.5, 853.0e6)] {
            let mut r = rec(tt, f, -40.0, 12.0);
            let e = t.add(&mut r).clone();
            m.on_detection(&r, &e);
        }
        m.status = "replay test.sigmf-meta".into();
        let area = Rect::new(0, 0, 140, 10);
        let mut buf = Buffer::empty(area);
        m.render(area, &mut buf);
        let text: Vec<String> = (0..area.height)
            .map(|y| {
                (0..area.width)
                    .map(|x| buf[(x, y)].symbol().to_string())
                    .collect()
            })
            .collect();
        let all = text.join("\n");
        assert!(
            all.contains("851.5000 MHz") && all.contains("853.0000 MHz"),
            "{all}"
        );
        assert_eq!(all.matches('▶').count(), 1, "{all}");
        assert!(
            all.contains("reset peaks") && all.contains("replay test"),
            "{all}"
        );
    }
}
