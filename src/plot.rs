//! Plots with plotters and an embedded font (DejaVu Sans through ab_glyph): no fontconfig,
//! no system fonts.

use anyhow::{anyhow, Result};
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

static FONT: Once = Once::new();

/// Registers the embedded DejaVu Sans as plotters' "sans-serif" (once per process).
pub fn init_fonts() {
    FONT.call_once(|| {
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            dejavu::sans::regular(),
        );
        let _ = plotters::style::register_font("sans-serif", FontStyle::Bold, dejavu::sans::bold());
    });
}

/// One curve of an x/y line chart.
pub struct Curve {
    /// Legend label.
    pub label: String,
    /// Points.
    pub points: Vec<(f64, f64)>,
}

/// Draws line curves (with markers) into a PNG. The legend sits in its own column right of
/// the plot, so it hides no curve; the markers differ in shape as well as colour, so that
/// curves lying on top of each other stay distinguishable.
pub fn line_chart(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    x_range: (f64, f64),
    y_range: (f64, f64),
    curves: &[Curve],
) -> Result<()> {
    init_fonts();
    let root = BitMapBackend::new(path, (1200, 640)).into_drawing_area();
    let e = |e: &dyn std::fmt::Display| anyhow!("drawing {}: {e}", path.display());
    root.fill(&WHITE).map_err(|x| e(&x))?;
    let (plot_area, legend_area) = root.split_horizontally(920);
    let mut chart = ChartBuilder::on(&plot_area)
        .caption(title, ("sans-serif", 26))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(60)
        .build_cartesian_2d(x_range.0..x_range.1, y_range.0..y_range.1)
        .map_err(|x| e(&x))?;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .label_style(("sans-serif", 16))
        .axis_desc_style(("sans-serif", 18))
        .draw()
        .map_err(|x| e(&x))?;
    for (i, c) in curves.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(
                c.points.iter().copied(),
                color.stroke_width(2),
            ))
            .map_err(|x| e(&x))?;
        for &p in &c.points {
            chart
                .plotting_area()
                .draw(&marker(i, p, color))
                .map_err(|x| e(&x))?;
        }
    }
    // Legend column.
    let style = ("sans-serif", 16).into_font().color(&BLACK);
    for (i, c) in curves.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let y = 70 + 26 * i as i32;
        legend_area
            .draw(&PathElement::new(
                vec![(8, y), (40, y)],
                color.stroke_width(2),
            ))
            .map_err(|x| e(&x))?;
        legend_area
            .draw(&marker(i, (24, y), color))
            .map_err(|x| e(&x))?;
        legend_area
            .draw(&Text::new(c.label.clone(), (48, y - 9), style.clone()))
            .map_err(|x| e(&x))?;
    }
    root.present().map_err(|x| e(&x))?;
    Ok(())
}

/// The marker of curve `i` at `at`: circle, triangle, square or cross, in `color`.
fn marker<'a, C: Clone + 'a, DB: DrawingBackend + 'a>(
    i: usize,
    at: C,
    color: RGBAColor,
) -> DynElement<'a, DB, C> {
    let fill = color.filled();
    match i % 4 {
        0 => (EmptyElement::at(at) + Circle::new((0, 0), 4, fill)).into_dyn(),
        1 => (EmptyElement::at(at) + TriangleMarker::new((0, 0), 6, fill)).into_dyn(),
        2 => (EmptyElement::at(at) + Rectangle::new([(-4, -4), (4, 4)], fill)).into_dyn(),
        _ => (EmptyElement::at(at) + Cross::new((0, 0), 5, color.stroke_width(2))).into_dyn(),
    }
}
