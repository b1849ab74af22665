//! The report's plots, each drawn once for a PNG (sized for an A4 page) and once for an SVG
//! with the same code: spectrum, spectrogram with every detection boxed, emitter timeline,
//! power over time. Fonts: the embedded DejaVu Sans ([`crate::plot::init_fonts`]).

use super::spectrum::SpectrumResult;
use crate::bands::Band;
use crate::commands::scan::kind_name;
use crate::record::DetectionRecord;
use crate::track::Emitter;
use anyhow::{anyhow, Result};
use ciot_dsp::synth::{Kind, Tech};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::{Path, PathBuf};

/// Pixel size of the PNGs (about 300 dpi across a 15 cm wide A4 figure).
pub const PNG_SIZE: (u32, u32) = (1800, 900);

/// Boxes and marks are drawn at least this many pixels wide and tall.
pub const MIN_MARK_PX: i32 = 4;

/// What every plot needs to know of the capture.
#[derive(Debug, Clone, PartialEq)]
pub struct PlotContext {
    /// Sample rate, Hz.
    pub sample_rate_hz: f64,
    /// Centre frequency, Hz, when known (axes then show absolute MHz).
    pub center_hz: Option<f64>,
    /// Capture length, samples.
    pub total_samples: u64,
    /// The capture's name for titles.
    pub name: String,
}

impl PlotContext {
    /// Capture length, s.
    pub fn duration_s(&self) -> f64 {
        self.total_samples as f64 / self.sample_rate_hz
    }

    /// Time axis unit: ms up to 2 s, s beyond. Returns (seconds per unit, unit name).
    pub fn time_unit(&self) -> (f64, &'static str) {
        if self.duration_s() <= 2.0 {
            (1e-3, "ms")
        } else {
            (1.0, "s")
        }
    }

    /// Frequency shown on the axes for an offset from the centre, MHz.
    pub fn axis_mhz(&self, offset_hz: f64) -> f64 {
        (self.center_hz.unwrap_or(0.0) + offset_hz) / 1e6
    }

    /// The frequency axis label.
    pub fn freq_label(&self) -> &'static str {
        if self.center_hz.is_some() {
            "Frequency (MHz)"
        } else {
            "Offset from the capture centre (MHz; centre frequency unknown)"
        }
    }
}

/// The colour of a detection kind, the same in every plot (Okabe-Ito colour-blind-safe
/// palette; `unknown` grey).
pub fn kind_color(k: Kind) -> RGBColor {
    match k {
        Kind::Nprach => RGBColor(213, 94, 0),
        Kind::Npusch => RGBColor(230, 159, 0),
        Kind::Prach => RGBColor(0, 114, 178),
        Kind::Pusch => RGBColor(204, 121, 167),
        Kind::Pucch => RGBColor(0, 158, 115),
        Kind::Scfdma => RGBColor(86, 180, 233),
        Kind::Unknown => RGBColor(120, 120, 120),
    }
}

/// The order kinds are listed in legends.
pub const KIND_ORDER: [Kind; 7] = [
    Kind::Nprach,
    Kind::Npusch,
    Kind::Prach,
    Kind::Pusch,
    Kind::Pucch,
    Kind::Scfdma,
    Kind::Unknown,
];

/// The `tech` string of the contract.
pub fn tech_name(t: Tech) -> String {
    serde_json::to_value(t)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// An emitter's frequency as text (absolute MHz, or kHz from the centre).
pub fn emitter_freq_text(e: &Emitter) -> String {
    if e.freq_is_absolute {
        format!("{:.4} MHz", e.freq_hz / 1e6)
    } else {
        format!("{:+.1} kHz", e.freq_hz / 1e3)
    }
}

/// An emitter's kinds joined with `+`.
pub fn emitter_kinds_text(e: &Emitter) -> String {
    e.kinds
        .iter()
        .map(|k| kind_name(*k))
        .collect::<Vec<_>>()
        .join("+")
}

/// A plot that can be drawn on any plotters backend.
pub trait Plot {
    /// Draws the whole figure on `root`.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>;
}

fn de<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow!("{e}")
}

/// Draws `plot` to `DIR/NAME.png` (size `size`) and `DIR/NAME.svg`; returns both paths.
pub fn render<P: Plot>(plot: &P, dir: &Path, name: &str, size: (u32, u32)) -> Result<Vec<PathBuf>> {
    crate::plot::init_fonts();
    let png = dir.join(format!("{name}.png"));
    let svg = dir.join(format!("{name}.svg"));
    {
        let root = BitMapBackend::new(&png, size).into_drawing_area();
        plot.draw(&root)
            .and_then(|()| root.present().map_err(de))
            .map_err(|e| anyhow!("drawing {}: {e}", png.display()))?;
    }
    {
        let root = SVGBackend::new(&svg, size).into_drawing_area();
        plot.draw(&root)
            .and_then(|()| root.present().map_err(de))
            .map_err(|e| anyhow!("drawing {}: {e}", svg.display()))?;
    }
    // plotters-svg 0.3 writes embedded bitmaps as `data:png;base64`, which browsers do not
    // display: give them the proper media type.
    let text = std::fs::read_to_string(&svg)
        .map_err(|e| anyhow!("reading back {}: {e}", svg.display()))?;
    if text.contains("href=\"data:png;base64,") {
        std::fs::write(
            &svg,
            text.replace("href=\"data:png;base64,", "href=\"data:image/png;base64,"),
        )
        .map_err(|e| anyhow!("writing {}: {e}", svg.display()))?;
    }
    Ok(vec![png, svg])
}

/// Average and max-hold spectrum, with band edges and the channel grid.
pub struct SpectrumPlot<'a> {
    /// The capture.
    pub ctx: &'a PlotContext,
    /// The spectra.
    pub spectrum: &'a SpectrumResult,
    /// Bands whose uplink overlaps the capture (edges drawn), when the centre is known.
    pub bands: Vec<&'static Band>,
    /// The band whose lower uplink edge anchors the 180 kHz / 1.08 MHz grid.
    pub grid_band: Option<&'static Band>,
}

impl Plot for SpectrumPlot<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let (ctx, s) = (self.ctx, self.spectrum);
        root.fill(&WHITE).map_err(de)?;
        let (_, h) = root.dim_in_pixel();
        let (root, strip) = root.split_vertically(h as i32 - 50);
        let root = &root;
        let mut legend: Vec<(String, Mark)> = vec![
            ("average".into(), Mark::Line(BLACK, 3)),
            ("max hold".into(), Mark::Line(RGBColor(230, 159, 0), 3)),
        ];
        let n = s.fft_len;
        let xs: Vec<f64> = (0..n)
            .map(|c| ctx.axis_mhz(s.bin_offset_hz(c, ctx.sample_rate_hz)))
            .collect();
        let (x0, x1) = (
            ctx.axis_mhz(-ctx.sample_rate_hz / 2.0),
            ctx.axis_mhz(ctx.sample_rate_hz / 2.0),
        );
        let lo = s.average_dbfs.iter().copied().fold(f32::INFINITY, f32::min) as f64;
        let hi = s
            .max_hold_dbfs
            .iter()
            .copied()
            .fold(f32::NEG_INFINITY, f32::max) as f64;
        let (y0, y1) = (
            (lo / 5.0).floor() * 5.0 - 5.0,
            (hi / 5.0).ceil() * 5.0 + 10.0,
        );
        let rbw_khz = ctx.sample_rate_hz / n as f64 / 1e3;
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!(
                    "Power spectrum of {}: average (Welch, {n}-point FFT, Hann, {} frames) and max hold",
                    ctx.name, s.frames
                ),
                ("sans-serif", 30),
            )
            .margin(20)
            .x_label_area_size(70)
            .y_label_area_size(90)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(de)?;
        chart
            .configure_mesh()
            .x_desc(ctx.freq_label())
            .y_desc(format!("Power per {rbw_khz:.2} kHz bin (dBFS)"))
            .x_label_formatter(&|v| format!("{v:.1}"))
            .label_style(("sans-serif", 26))
            .axis_desc_style(("sans-serif", 28))
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(BLACK.mix(0.12))
            .draw()
            .map_err(de)?;
        // Channel grid from the chosen band's lower uplink edge.
        if let (Some(b), Some(fc)) = (self.grid_band, ctx.center_hz) {
            let (f_lo, f_hi) = (fc - ctx.sample_rate_hz / 2.0, fc + ctx.sample_rate_hz / 2.0);
            for (step, color, alpha, label) in [
                (180e3, RGBColor(0, 158, 115), 0.18, "180 kHz grid"),
                (1.08e6, RGBColor(0, 114, 178), 0.45, "1.08 MHz grid"),
            ] {
                let style = color.mix(alpha).stroke_width(1);
                let k0 = ((f_lo - b.ul_low_hz) / step).ceil() as i64;
                let k1 = ((f_hi - b.ul_low_hz) / step).floor() as i64;
                if k1 - k0 > 400 {
                    continue;
                }
                let lines: Vec<f64> = (k0..=k1)
                    .map(|k| (b.ul_low_hz + k as f64 * step) / 1e6)
                    .filter(|f| *f * 1e6 <= b.ul_high_hz)
                    .collect();
                chart
                    .draw_series(
                        lines
                            .iter()
                            .map(|&f| PathElement::new(vec![(f, y0), (f, y1)], style)),
                    )
                    .map_err(de)?;
                legend.push((
                    format!("{label} from the {} UL lower edge", b.label()),
                    Mark::Line(color, 2),
                ));
            }
        }
        chart
            .draw_series(LineSeries::new(
                xs.iter()
                    .copied()
                    .zip(s.max_hold_dbfs.iter().map(|&v| v as f64)),
                RGBColor(230, 159, 0).stroke_width(1),
            ))
            .map_err(de)?;
        chart
            .draw_series(LineSeries::new(
                xs.iter()
                    .copied()
                    .zip(s.average_dbfs.iter().map(|&v| v as f64)),
                BLACK.stroke_width(2),
            ))
            .map_err(de)?;
        // Band edges inside the span, labels staggered so they do not overlap.
        if ctx.center_hz.is_some() {
            let red = RGBColor(200, 0, 0);
            // (MHz, "B5/B26 UL high"): bands sharing an edge share a label.
            let mut edges: Vec<(f64, Vec<String>, &str)> = Vec::new();
            for b in &self.bands {
                for (f, what) in [(b.ul_low_hz, "low"), (b.ul_high_hz, "high")] {
                    let m = f / 1e6;
                    if m > x0 && m < x1 {
                        match edges
                            .iter_mut()
                            .find(|e| (e.0 - m).abs() < 1e-6 && e.2 == what)
                        {
                            Some(e) => e.1.push(b.label()),
                            None => edges.push((m, vec![b.label()], what)),
                        }
                    }
                }
            }
            edges.sort_by(|a, b| a.0.total_cmp(&b.0));
            let style = red.stroke_width(2);
            for (i, (m, names, what)) in edges.iter().enumerate() {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(*m, y0), (*m, y1)],
                        style,
                    )))
                    .map_err(de)?;
                let yt = y1 - (y1 - y0) * (0.03 + 0.045 * (i % 4) as f64);
                chart
                    .draw_series(std::iter::once(Text::new(
                        format!(" {} UL {what} {m:.1}", names.join("/")),
                        (*m, yt),
                        ("sans-serif", 24).into_font().color(&red),
                    )))
                    .map_err(de)?;
            }
            if !edges.is_empty() {
                legend.push(("uplink band edge (TS 36.101)".into(), Mark::Line(red, 2)));
            }
        }
        draw_legend(&strip, &legend, true)?;
        Ok(())
    }
}

/// Viridis colour map (anchor points of matplotlib's map, linearly interpolated), `t` in 0..1.
pub fn viridis(t: f64) -> RGBColor {
    const A: [(u8, u8, u8); 9] = [
        (68, 1, 84),
        (71, 44, 122),
        (59, 81, 139),
        (44, 113, 142),
        (33, 144, 141),
        (39, 173, 129),
        (92, 200, 99),
        (170, 220, 50),
        (253, 231, 37),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = t * (A.len() - 1) as f64;
    let i = (x.floor() as usize).min(A.len() - 2);
    let f = x - i as f64;
    let l = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * f).round() as u8;
    RGBColor(
        l(A[i].0, A[i + 1].0),
        l(A[i].1, A[i + 1].1),
        l(A[i].2, A[i + 1].2),
    )
}

/// Time x frequency, every detection boxed.
pub struct SpectrogramPlot<'a> {
    /// The capture.
    pub ctx: &'a PlotContext,
    /// The spectra.
    pub spectrum: &'a SpectrumResult,
    /// The detections to box.
    pub records: &'a [DetectionRecord],
}

impl SpectrogramPlot<'_> {
    /// Colour scale, dBFS: from the 2nd percentile of the cells to the 99.7th (a carrier in a
    /// few bins saturates instead of darkening every burst), at least 20 dB wide.
    pub fn color_range_dbfs(&self) -> (f64, f64) {
        let mut v: Vec<f32> = self
            .spectrum
            .rows_dbfs
            .iter()
            .flatten()
            .flat_map(|r| r.iter().copied())
            .collect();
        if v.is_empty() {
            return (-100.0, 0.0);
        }
        v.sort_by(f32::total_cmp);
        let lo = v[v.len() / 50] as f64;
        let hi = v[(v.len() * 997 / 1000).min(v.len() - 1)] as f64;
        (lo.floor(), hi.ceil().max(lo.floor() + 20.0))
    }
}

impl Plot for SpectrogramPlot<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let (ctx, s) = (self.ctx, self.spectrum);
        root.fill(&WHITE).map_err(de)?;
        let (w, _) = root.dim_in_pixel();
        let (main, bar_area) = root.split_horizontally(w as i32 - 180);
        let (unit_s, unit) = ctx.time_unit();
        let t1 = ctx.duration_s() / unit_s;
        let (f0, f1) = (
            ctx.axis_mhz(-ctx.sample_rate_hz / 2.0),
            ctx.axis_mhz(ctx.sample_rate_hz / 2.0),
        );
        let mut chart = ChartBuilder::on(&main)
            .caption(
                format!(
                    "Spectrogram of {} with every detection boxed ({} detections)",
                    ctx.name,
                    self.records.len()
                ),
                ("sans-serif", 30),
            )
            .margin(20)
            .x_label_area_size(70)
            .y_label_area_size(100)
            .build_cartesian_2d(0.0..t1, f0..f1)
            .map_err(de)?;
        let (lo, hi) = self.color_range_dbfs();
        // The heat map as one bitmap the size of the plotting area.
        let (px, py) = chart.plotting_area().get_pixel_range();
        let (pw, ph) = (
            (px.end - px.start).max(1) as usize,
            (py.end - py.start).max(1) as usize,
        );
        let n_rows = s.rows_dbfs.len();
        let n = s.fft_len;
        let mut buf = vec![0u8; pw * ph * 3];
        for xx in 0..pw {
            let row = ((xx as f64 + 0.5) / pw as f64 * n_rows as f64) as usize;
            let row = s
                .rows_dbfs
                .get(row.min(n_rows - 1))
                .and_then(|r| r.as_ref());
            for yy in 0..ph {
                // Top of the plot is the highest frequency.
                let col = ((1.0 - (yy as f64 + 0.5) / ph as f64) * n as f64) as usize;
                let c = match row {
                    Some(r) => viridis((r[col.min(n - 1)] as f64 - lo) / (hi - lo)),
                    None => RGBColor(255, 255, 255),
                };
                let i = (yy * pw + xx) * 3;
                buf[i..i + 3].copy_from_slice(&[c.0, c.1, c.2]);
            }
        }
        let bitmap =
            BitMapElement::with_owned_buffer((px.start, py.start), (pw as u32, ph as u32), buf)
                .ok_or_else(|| anyhow!("spectrogram bitmap of the wrong size"))?;
        root.draw(&bitmap).map_err(de)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(format!("Time from the start of the capture ({unit})"))
            .y_desc(ctx.freq_label())
            .y_label_formatter(&|v| format!("{v:.1}"))
            .label_style(("sans-serif", 26))
            .axis_desc_style(("sans-serif", 28))
            .draw()
            .map_err(de)?;
        // Detection boxes: exact time and frequency extent, at least MIN_MARK_PX.
        let min_t = MIN_MARK_PX as f64 * t1 / pw as f64;
        let min_f = MIN_MARK_PX as f64 * (f1 - f0) / ph as f64;
        let mut kinds_seen = Vec::new();
        let mut labels: Vec<(i32, i32, i32, i32)> = Vec::new();
        let label_font = ("sans-serif", 18).into_font().color(&WHITE);
        for r in self.records {
            let ta = r.sample_start as f64 / ctx.sample_rate_hz / unit_s;
            let tb = r.sample_end() as f64 / ctx.sample_rate_hz / unit_s;
            let (ta, tb) = widen(ta, tb, min_t);
            let fa = ctx.axis_mhz(r.freq_offset_hz - r.bandwidth_hz / 2.0);
            let fb = ctx.axis_mhz(r.freq_offset_hz + r.bandwidth_hz / 2.0);
            let (fa, fb) = widen(fa, fb, min_f);
            let c = kind_color(r.kind);
            if !kinds_seen.contains(&r.kind) {
                kinds_seen.push(r.kind);
            }
            // The box encloses the extent: its inner edge is the burst's first and last
            // instant and its band edges.
            let (ax, ay) = chart.backend_coord(&(ta, fb));
            let (bx, by) = chart.backend_coord(&(tb, fa));
            let (ax, ay, bx, by) = (ax - 2, ay - 2, bx + 2, by + 2);
            root.draw(&Rectangle::new([(ax, ay), (bx, by)], WHITE.stroke_width(5)))
                .map_err(de)?;
            root.draw(&Rectangle::new([(ax, ay), (bx, by)], c.stroke_width(3)))
                .map_err(de)?;
            // "#emitter" above the box where it does not collide with another label.
            if let Some(id) = r.emitter {
                let (bx, by) = (ax - 1, ay - 1);
                let text = format!("#{id}");
                let (tw, th) = root.estimate_text_size(&text, &label_font).map_err(de)?;
                let rect = (bx, by - th as i32 - 4, bx + tw as i32 + 6, by - 2);
                let inside = rect.1 > py.start && rect.2 < px.end;
                if inside && !labels.iter().any(|l| overlaps(*l, rect)) {
                    labels.push(rect);
                    root.draw(&Rectangle::new(
                        [(rect.0, rect.1), (rect.2, rect.3)],
                        c.filled(),
                    ))
                    .map_err(de)?;
                    root.draw(&Text::new(
                        text,
                        (rect.0 + 3, rect.1 + 1),
                        label_font.clone(),
                    ))
                    .map_err(de)?;
                }
            }
        }
        let legend: Vec<(String, Mark)> = KIND_ORDER
            .iter()
            .filter(|k| kinds_seen.contains(k))
            .map(|k| (kind_name(*k).to_string(), Mark::Box(kind_color(*k))))
            .collect();
        let (_, bh) = bar_area.dim_in_pixel();
        let (bar_area, legend_area) = bar_area.split_vertically(bh as i32 * 62 / 100);
        draw_legend(&legend_area, &legend, false)?;
        // Colour bar.
        let mut cb = ChartBuilder::on(&bar_area)
            .margin_top(70)
            .margin_bottom(10)
            .margin_right(10)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..1.0, lo..hi)
            .map_err(de)?;
        cb.configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .y_desc("dBFS per bin")
            .label_style(("sans-serif", 20))
            .axis_desc_style(("sans-serif", 22))
            .draw()
            .map_err(de)?;
        let steps = 200;
        cb.draw_series((0..steps).map(|i| {
            let a = lo + (hi - lo) * i as f64 / steps as f64;
            let b = lo + (hi - lo) * (i + 1) as f64 / steps as f64;
            Rectangle::new(
                [(0.0, a), (1.0, b)],
                viridis((i as f64 + 0.5) / steps as f64).filled(),
            )
        }))
        .map_err(de)?;
        Ok(())
    }
}

/// How a legend entry is drawn.
#[derive(Debug, Clone, Copy)]
pub enum Mark {
    /// A line of this colour and width.
    Line(RGBColor, u32),
    /// An outlined box.
    Box(RGBColor),
    /// A filled box.
    Filled(RGBColor),
}

/// Draws legend entries outside the data: in a row (`horizontal`) or a column, from the
/// top-left corner of `area`.
pub fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    items: &[(String, Mark)],
    horizontal: bool,
) -> Result<()> {
    let font = ("sans-serif", 24).into_font().color(&BLACK);
    let (mut x, mut y) = (10i32, 12i32);
    for (text, mark) in items {
        let (cy, x0) = (y + 12, x);
        match *mark {
            Mark::Line(c, w) => area
                .draw(&PathElement::new(
                    vec![(x0, cy), (x0 + 28, cy)],
                    c.stroke_width(w),
                ))
                .map_err(de)?,
            Mark::Box(c) => area
                .draw(&Rectangle::new(
                    [(x0, cy - 8), (x0 + 28, cy + 8)],
                    c.stroke_width(3),
                ))
                .map_err(de)?,
            Mark::Filled(c) => area
                .draw(&Rectangle::new(
                    [(x0, cy - 8), (x0 + 28, cy + 8)],
                    c.filled(),
                ))
                .map_err(de)?,
        }
        area.draw(&Text::new(
            text.clone(),
            (x0 + 36, cy),
            font.clone().pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(de)?;
        if horizontal {
            let (tw, _) = area.estimate_text_size(text, &font).map_err(de)?;
            x += 36 + tw as i32 + 30;
        } else {
            y += 32;
        }
    }
    Ok(())
}

fn widen(a: f64, b: f64, min: f64) -> (f64, f64) {
    if b - a >= min {
        (a, b)
    } else {
        let m = (a + b) / 2.0;
        (m - min / 2.0, m + min / 2.0)
    }
}

fn overlaps(a: (i32, i32, i32, i32), b: (i32, i32, i32, i32)) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}

/// The emitters shown in the timeline and power plots: in order of first appearance, the
/// `max` strongest when there are more.
pub fn shown_emitters(emitters: &[Emitter], max: usize) -> Vec<&Emitter> {
    let mut v: Vec<&Emitter> = emitters.iter().collect();
    if v.len() > max {
        v.sort_by(|a, b| b.peak_dbfs.total_cmp(&a.peak_dbfs));
        v.truncate(max);
        v.sort_by_key(|e| e.id);
    }
    v
}

/// Most emitters drawn in the timeline and the power plot.
pub const MAX_EMITTERS_SHOWN: usize = 30;

/// One row per emitter, a mark per burst.
pub struct TimelinePlot<'a> {
    /// The capture.
    pub ctx: &'a PlotContext,
    /// The emitters.
    pub emitters: &'a [Emitter],
    /// The records (with emitter ids).
    pub records: &'a [DetectionRecord],
}

impl TimelinePlot<'_> {
    /// Pixel size for `n` emitters: 1800 wide, 150 px of frame plus 44 px per row.
    pub fn size(n: usize) -> (u32, u32) {
        (1800, (240 + 44 * n.clamp(4, MAX_EMITTERS_SHOWN)) as u32)
    }
}

impl Plot for TimelinePlot<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let ctx = self.ctx;
        root.fill(&WHITE).map_err(de)?;
        let (_, h) = root.dim_in_pixel();
        let (root, strip) = root.split_vertically(h as i32 - 50);
        let root = &root;
        let shown = shown_emitters(self.emitters, MAX_EMITTERS_SHOWN);
        let n = shown.len().max(1) as f64;
        let (unit_s, unit) = ctx.time_unit();
        let t1 = ctx.duration_s() / unit_s;
        let title = if shown.len() < self.emitters.len() {
            format!(
                "Emitter timeline of {} ({} strongest of {} emitters)",
                ctx.name,
                shown.len(),
                self.emitters.len()
            )
        } else {
            format!(
                "Emitter timeline of {}: one row per emitter, a mark per burst",
                ctx.name
            )
        };
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 32))
            .margin(20)
            .margin_right(40)
            .x_label_area_size(70)
            .y_label_area_size(600)
            .build_cartesian_2d(0.0..t1, 0.0..n)
            .map_err(de)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_desc(format!("Time from the start of the capture ({unit})"))
            .label_style(("sans-serif", 26))
            .axis_desc_style(("sans-serif", 28))
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(BLACK.mix(0.12))
            .draw()
            .map_err(de)?;
        let (px, _) = chart.plotting_area().get_pixel_range();
        let min_t = MIN_MARK_PX as f64 * t1 / (px.end - px.start).max(1) as f64;
        let mut kinds_seen = Vec::new();
        for (i, e) in shown.iter().enumerate() {
            let y_top = n - i as f64;
            let (ya, yb) = (y_top - 0.8, y_top - 0.2);
            if i % 2 == 1 {
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(0.0, y_top - 1.0), (t1, y_top)],
                        BLACK.mix(0.04).filled(),
                    )))
                    .map_err(de)?;
            }
            for r in self.records.iter().filter(|r| r.emitter == Some(e.id)) {
                let ta = r.sample_start as f64 / ctx.sample_rate_hz / unit_s;
                let tb = r.sample_end() as f64 / ctx.sample_rate_hz / unit_s;
                let (ta, tb) = widen(ta, tb.min(t1), min_t);
                if !kinds_seen.contains(&r.kind) {
                    kinds_seen.push(r.kind);
                }
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(ta, ya), (tb, yb)],
                        kind_color(r.kind).filled(),
                    )))
                    .map_err(de)?;
            }
            let (lx, ly) = chart.backend_coord(&(0.0, y_top - 0.5));
            let (mark, color) = match e.known {
                Some(true) => ("  known", RGBColor(90, 90, 90)),
                Some(false) => ("  NEW", RGBColor(200, 0, 0)),
                None => ("", BLACK),
            };
            let label = format!("{}{mark}", emitter_label(e));
            let style = ("sans-serif", 25)
                .into_font()
                .color(&color)
                .pos(Pos::new(HPos::Right, VPos::Center));
            root.draw(&Text::new(label, (lx - 12, ly), style))
                .map_err(de)?;
        }
        let mut legend: Vec<(String, Mark)> = KIND_ORDER
            .iter()
            .filter(|k| kinds_seen.contains(k))
            .map(|k| (kind_name(*k).to_string(), Mark::Filled(kind_color(*k))))
            .collect();
        if self.emitters.iter().any(|e| e.known.is_some()) {
            legend.push((
                "NEW: not in the baseline".into(),
                Mark::Filled(RGBColor(200, 0, 0)),
            ));
        }
        draw_legend(&strip, &legend, true)?;
        Ok(())
    }
}

/// `#id tech kinds frequency` (`unknown` said once for unclassified bursts).
pub fn emitter_label(e: &Emitter) -> String {
    let tech = tech_name(e.tech);
    let kinds = emitter_kinds_text(e);
    if kinds == tech {
        format!("#{} {kinds} {}", e.id, emitter_freq_text(e))
    } else {
        format!("#{} {tech} {kinds} {}", e.id, emitter_freq_text(e))
    }
}

/// A qualitative palette for emitters (Okabe-Ito, then Palette99).
pub fn emitter_color(i: usize) -> RGBColor {
    const P: [RGBColor; 8] = [
        RGBColor(0, 114, 178),
        RGBColor(213, 94, 0),
        RGBColor(0, 158, 115),
        RGBColor(204, 121, 167),
        RGBColor(230, 159, 0),
        RGBColor(86, 180, 233),
        RGBColor(0, 0, 0),
        RGBColor(150, 130, 0),
    ];
    match P.get(i) {
        Some(c) => *c,
        None => {
            let c = Palette99::pick(i).to_rgba();
            RGBColor(c.0, c.1, c.2)
        }
    }
}

/// Power over time per emitter.
pub struct PowerPlot<'a> {
    /// The capture.
    pub ctx: &'a PlotContext,
    /// The emitters.
    pub emitters: &'a [Emitter],
    /// The records (with emitter ids).
    pub records: &'a [DetectionRecord],
}

impl Plot for PowerPlot<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()> {
        let ctx = self.ctx;
        root.fill(&WHITE).map_err(de)?;
        let (w, _) = root.dim_in_pixel();
        let (root, strip) = root.split_horizontally(w as i32 - 520);
        let root = &root;
        let shown = shown_emitters(self.emitters, MAX_EMITTERS_SHOWN);
        let (unit_s, unit) = ctx.time_unit();
        let t1 = ctx.duration_s() / unit_s;
        let p: Vec<f64> = self.records.iter().map(|r| r.power_dbfs).collect();
        let lo = p.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = p.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let (y0, y1) = if lo.is_finite() && hi.is_finite() {
            (
                (lo / 5.0).floor() * 5.0 - 5.0,
                (hi / 5.0).ceil() * 5.0 + 5.0,
            )
        } else {
            (-100.0, 0.0)
        };
        let title = if shown.len() < self.emitters.len() {
            format!(
                "Burst power over time per emitter, {} ({} strongest of {})",
                ctx.name,
                shown.len(),
                self.emitters.len()
            )
        } else {
            format!("Burst power over time per emitter, {}", ctx.name)
        };
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 32))
            .margin(20)
            .x_label_area_size(70)
            .y_label_area_size(90)
            .build_cartesian_2d(0.0..t1, y0..y1)
            .map_err(de)?;
        chart
            .configure_mesh()
            .x_desc(format!("Time from the start of the capture ({unit})"))
            .y_desc("Mean burst power (dBFS)")
            .label_style(("sans-serif", 26))
            .axis_desc_style(("sans-serif", 28))
            .light_line_style(WHITE.mix(0.0))
            .bold_line_style(BLACK.mix(0.12))
            .draw()
            .map_err(de)?;
        let mut legend = Vec::new();
        for (i, e) in shown.iter().enumerate() {
            let c = emitter_color(i);
            let pts: Vec<(f64, f64)> = self
                .records
                .iter()
                .filter(|r| r.emitter == Some(e.id))
                .map(|r| (r.t_start_s / unit_s, r.power_dbfs))
                .collect();
            chart
                .draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2)))
                .map_err(de)?;
            legend.push((emitter_label(e), Mark::Line(c, 4)));
            chart
                .draw_series(pts.iter().map(|&q| Circle::new(q, 6, c.filled())))
                .map_err(de)?;
        }
        let (_, sh) = strip.dim_in_pixel();
        let strip = strip.margin(60, sh as i32 / 10, 0, 0);
        draw_legend(&strip, &legend, false)?;
        Ok(())
    }
}
