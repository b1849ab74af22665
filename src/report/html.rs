//! `report.html`: one self-contained page (inline CSS, images referenced relatively) that
//! reads on screen and prints on A4. Every text that comes from an input file is escaped.
//! A few lines of script only mark the `<body>` with `data-loaded` once every image has
//! loaded (for automated checks); the page needs no script to read.

use super::plots::{emitter_freq_text, emitter_kinds_text, tech_name};
use super::ReportFacts;
use crate::commands::scan::kind_name;
use std::fmt::Write;

/// Most detections listed in the HTML table (all of them are in `report.json`).
pub const MAX_DETECTION_ROWS: usize = 500;

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

const CSS: &str = r#"
@page { size: A4; margin: 12mm; }
body { font-family: "DejaVu Sans", Arial, Helvetica, sans-serif; font-size: 10pt; color: #111;
       max-width: 190mm; margin: 0 auto; padding: 8px; line-height: 1.35; }
h1 { font-size: 17pt; margin: 0 0 4px 0; }
h2 { font-size: 13pt; margin: 18px 0 6px 0; border-bottom: 2px solid #333; padding-bottom: 2px;
     break-after: avoid; page-break-after: avoid; }
.sub { color: #444; margin: 0 0 10px 0; }
.summary { border: 2px solid #333; padding: 6px 10px; margin: 8px 0; background: #f4f4f4; }
.summary b { font-size: 12pt; }
table { border-collapse: collapse; width: 100%; margin: 4px 0 8px 0; font-size: 8.5pt; }
thead { display: table-header-group; }
tr { break-inside: avoid; page-break-inside: avoid; }
th, td { border: 1px solid #999; padding: 2px 4px; text-align: left; vertical-align: top; }
th { background: #e4e4e4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.kv th { width: 32%; }
.new { color: #c00000; font-weight: bold; }
.known { color: #555; }
.mono, code, pre { font-family: "DejaVu Sans Mono", Consolas, monospace; font-size: 8pt;
                   overflow-wrap: anywhere; white-space: pre-wrap; }
td.params { font-size: 7pt; width: 24%; overflow-wrap: anywhere; }
table.wide { font-size: 7.5pt; }
table.wide th { font-size: 7pt; }
figure { margin: 8px 0 14px 0; break-inside: avoid; page-break-inside: avoid; }
figure img { width: 100%; height: auto; border: 1px solid #bbb; }
figcaption { font-size: 9pt; color: #333; }
.kind { display: inline-block; width: 10px; height: 10px; margin-right: 3px; border: 1px solid #333; }
.warn { color: #8a4b00; }
.pagebreak { break-before: page; page-break-before: always; }
@media print { a { color: #111; text-decoration: none; } .noprint { display: none; } }
"#;

const SCRIPT: &str = r#"<script>
(function () {
  function check() {
    var ims = document.images, ok = 0;
    for (var i = 0; i < ims.length; i++) {
      if (ims[i].complete && ims[i].naturalWidth > 0) { ok++; }
    }
    document.body.setAttribute('data-images-loaded', ok + '/' + ims.length);
    document.body.setAttribute('data-loaded', ok === ims.length ? 'true' : 'false');
  }
  if (document.readyState === 'complete') { check(); } else { window.addEventListener('load', check); }
})();
</script>"#;

fn opt_f(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map(f).unwrap_or_else(|| "unknown".into())
}

fn kind_swatch(k: ciot_dsp::synth::Kind) -> String {
    let c = super::plots::kind_color(k);
    format!(
        "<span class=\"kind\" style=\"background:rgb({},{},{})\"></span>{}",
        c.0,
        c.1,
        c.2,
        kind_name(k)
    )
}

/// The page for `facts`.
pub fn render(f: &ReportFacts) -> String {
    let mut h = String::new();
    let c = &f.capture;
    let d = &f.detection;
    let e = escape;
    let new_count = f.emitters.iter().filter(|x| x.known == Some(false)).count();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>ciot-sweep report: {}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        e(&c.data_file)
    );
    let _ = writeln!(h, "<h1>Cellular IoT uplink sweep report</h1>");
    let _ = writeln!(
        h,
        "<p class=\"sub\">Recording <b>{}</b> &middot; generated {} by {}</p>",
        e(&c.data_file),
        e(&f.generated_utc),
        e(&f.software)
    );
    let _ = writeln!(
        h,
        "<div class=\"summary\"><b>{} detection{}</b> grouped into <b>{} emitter{}</b>{} in \
         {:.3} s of recording at {}.</div>",
        f.detections_count,
        if f.detections_count == 1 { "" } else { "s" },
        f.emitters.len(),
        if f.emitters.len() == 1 { "" } else { "s" },
        if d.baseline.is_some() {
            format!(", <span class=\"new\">{new_count} NEW</span> (not in the baseline)")
        } else {
            String::new()
        },
        c.duration_s,
        opt_f(c.center_freq_hz, |v| format!("{:.4} MHz", v / 1e6)),
    );

    // Capture.
    let _ = writeln!(h, "<h2>1. Recording</h2>\n<table class=\"kv\">");
    let mut kv = |k: &str, v: String| {
        let _ = writeln!(h, "<tr><th>{k}</th><td>{v}</td></tr>");
    };
    kv(
        "Data file",
        format!("<span class=\"mono\">{}</span>", e(&c.data_file)),
    );
    if let Some(m) = &c.meta_file {
        kv(
            "Metadata file",
            format!("<span class=\"mono\">{}</span>", e(m)),
        );
    }
    kv("Sample format", e(&c.format));
    kv("Sample rate", format!("{:.6} MS/s", c.sample_rate_hz / 1e6));
    kv(
        "Centre frequency",
        opt_f(c.center_freq_hz, |v| format!("{:.6} MHz", v / 1e6)),
    );
    kv(
        "Length",
        format!("{} samples = {:.6} s", c.samples, c.duration_s),
    );
    kv(
        "Start (UTC)",
        c.start_utc
            .as_deref()
            .map(e)
            .unwrap_or_else(|| "unknown".into()),
    );
    kv(
        "Device and gains (SigMF core:hw)",
        c.hw.as_deref()
            .map(e)
            .unwrap_or_else(|| "not recorded".into()),
    );
    if let Some(desc) = &c.description {
        kv("Description", e(desc));
    }
    kv(
        "SHA-256 of the data file",
        format!("<span class=\"mono\">{}</span>", e(&c.data_sha256)),
    );
    if let Some(m) = &c.meta_sha256 {
        kv(
            "SHA-256 of the metadata file",
            format!("<span class=\"mono\">{}</span>", e(m)),
        );
    }
    let _ = writeln!(h, "</table>");

    // Detection settings.
    let _ = writeln!(h, "<h2>2. Detection</h2>\n<table class=\"kv\">");
    let mut kv = |k: &str, v: String| {
        let _ = writeln!(h, "<tr><th>{k}</th><td>{v}</td></tr>");
    };
    match (&d.file, &d.file_sha256) {
        (Some(p), sha) => {
            kv(
                "Detections",
                format!(
                    "read from <span class=\"mono\">{}</span> (JSON Lines) and grouped into \
                     emitters again by this report",
                    e(p)
                ),
            );
            if let Some(s) = sha {
                kv(
                    "SHA-256 of the detections file",
                    format!("<span class=\"mono\">{}</span>", e(s)),
                );
            }
        }
        (None, _) => kv(
            "Detections",
            "found by this report: the recording was scanned with the settings below".into(),
        ),
    }
    kv(
        if d.settings_verified {
            "Detectors"
        } else {
            "Detectors (declared, not verified)"
        },
        e(&d.detectors.join(", ")),
    );
    kv(
        "False-alarm budget",
        format!(
            "{} per hour per monitored MHz, all detectors together; over the {:.3} MHz \
             monitored here: {:.3} per hour of noise, {:.2e} expected over this recording",
            d.false_alarms_per_hour_per_mhz,
            d.monitored_mhz,
            d.false_alarms_per_hour,
            d.expected_false_alarms_in_capture
        ),
    );
    kv(
        "Baseline (known emitters)",
        d.baseline
            .as_deref()
            .map(|b| format!("<span class=\"mono\">{}</span>", e(b)))
            .unwrap_or_else(|| "none: emitters are not marked known or NEW".into()),
    );
    if d.source == "scan" {
        kv("Samples not analysed", d.samples_dropped.to_string());
    }
    let _ = writeln!(h, "</table>");

    // Emitters.
    let _ = writeln!(h, "<h2>3. Emitters ({})</h2>", f.emitters.len());
    if f.emitters.is_empty() {
        let _ = writeln!(h, "<p>No emitter was heard.</p>");
    } else {
        let _ = writeln!(
            h,
            "<table class=\"wide\"><thead><tr><th>id</th><th>tech</th><th>kinds</th>\
             <th>frequency</th><th>bursts</th><th>first (s)</th><th>last (s)</th>\
             <th>period (s)</th><th>peak (dBFS)</th><th>last (dBFS)</th><th>trend</th>\
             <th>behaviour</th><th>known / NEW</th></tr></thead><tbody>"
        );
        for m in &f.emitters {
            let known = match m.known {
                Some(true) => "<span class=\"known\">known</span>",
                Some(false) => "<span class=\"new\">NEW</span>",
                None => "&ndash;",
            };
            let behaviour: Vec<String> = m.behaviour.iter().map(|b| b.text()).collect();
            let _ = writeln!(
                h,
                "<tr><td class=\"num\">#{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td><td class=\"num\">{:.4}</td><td class=\"num\">{:.4}</td>\
                 <td class=\"num\">{}</td><td class=\"num\">{:.1}</td><td class=\"num\">{:.1}</td>\
                 <td>{:?}</td><td>{}</td><td>{known}</td></tr>",
                m.id,
                e(&tech_name(m.tech)),
                e(&emitter_kinds_text(m)),
                e(&emitter_freq_text(m)),
                m.bursts,
                m.first_seen_s,
                m.last_seen_s,
                opt_f(m.period_s, |p| format!("{p:.3}")),
                m.peak_dbfs,
                m.power_dbfs,
                m.trend,
                e(&behaviour.join(", ")),
            );
        }
        let _ = writeln!(h, "</tbody></table>");
    }

    // Figures.
    let _ = writeln!(h, "<h2>4. Plots</h2>");
    for (i, p) in f.plots.iter().enumerate() {
        let _ = writeln!(
            h,
            "<figure{}><img src=\"{}\" width=\"{}\" height=\"{}\" alt=\"{}\">\
             <figcaption>Figure {}. {} (<a href=\"{}\">vector SVG</a>)</figcaption></figure>",
            if i == 1 { " class=\"pagebreak\"" } else { "" },
            e(&p.png),
            p.width_px,
            p.height_px,
            e(&p.caption),
            i + 1,
            e(&p.caption),
            e(&p.svg)
        );
    }

    // Detections.
    let shown = f.detections.len().min(MAX_DETECTION_ROWS);
    let _ = writeln!(
        h,
        "<h2 class=\"pagebreak\">5. Detections (<span id=\"detections-count\">{}</span>)</h2>",
        f.detections_count
    );
    if shown < f.detections.len() {
        let _ = writeln!(
            h,
            "<p>The first {shown} of {} detections; every one is in <code>report.json</code>.</p>",
            f.detections.len()
        );
    }
    if shown > 0 {
        let _ = writeln!(
            h,
            "<table class=\"wide\"><thead><tr><th>#</th><th>start (s)</th><th>length (ms)</th>\
             <th>kind</th><th>tech</th><th>freq. (MHz)</th><th>offset (kHz)</th>\
             <th>width (kHz)</th><th>power (dBFS)</th><th>SNR (dB)</th><th>score</th>\
             <th>emitter</th><th>UL EARFCN</th><th>parameters</th></tr></thead><tbody>"
        );
        for (i, r) in f.detections.iter().take(shown).enumerate() {
            let earfcn: Vec<String> = r
                .earfcn
                .iter()
                .map(|x| format!("B{} {}", x.band, x.n_ul))
                .collect();
            let params: Vec<String> = r
                .params
                .iter()
                .map(|(k, v)| match v {
                    serde_json::Value::String(s) => format!("{k}={s}"),
                    other => format!("{k}={other}"),
                })
                .collect();
            let params = params.join(", ");
            let _ = writeln!(
                h,
                "<tr class=\"det\"><td class=\"num\">{}</td><td class=\"num\">{:.6}</td>\
                 <td class=\"num\">{:.3}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{:+.1}</td><td class=\"num\">{:.1}</td><td class=\"num\">{:.1}</td>\
                 <td class=\"num\">{:.1}</td><td class=\"num\">{:.2}</td><td class=\"num\">{}</td>\
                 <td>{}</td><td class=\"params\">{}</td></tr>",
                i + 1,
                r.t_start_s,
                r.duration_s * 1e3,
                kind_swatch(r.kind),
                e(&tech_name(r.tech)),
                opt_f(r.freq_hz, |v| format!("{:.4}", v / 1e6)),
                r.freq_offset_hz / 1e3,
                r.bandwidth_hz / 1e3,
                r.power_dbfs,
                r.snr_db,
                r.score,
                r.emitter.map(|x| format!("#{x}")).unwrap_or_default(),
                e(&earfcn.join(", ")),
                e(&params),
            );
        }
        let _ = writeln!(h, "</tbody></table>");
    }

    // Reproduction and integrity.
    let _ = writeln!(h, "<h2>6. Reproduction and integrity</h2>");
    let _ = writeln!(
        h,
        "<p>This report was produced, and is reproduced, by:</p>\n<pre>{}</pre>",
        e(&f.command_line)
    );
    let _ = writeln!(
        h,
        "<p>Software: {}. Generated {}. The folder's <code>SHA256SUMS</code> holds the SHA-256 \
         of every file the report wrote (check with <code>sha256sum -c SHA256SUMS</code>); \
         <code>report.json</code> holds the same facts as this page, machine-readable.</p>",
        e(&f.software),
        e(&f.generated_utc)
    );
    if !f.warnings.is_empty() {
        let _ = writeln!(h, "<h2>Warnings</h2><ul>");
        for w in &f.warnings {
            let _ = writeln!(h, "<li class=\"warn\">{}</li>", e(w));
        }
        let _ = writeln!(h, "</ul>");
    }
    let _ = writeln!(h, "{SCRIPT}\n</body>\n</html>");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape("<img src=x onerror='a&b'>\""),
            "&lt;img src=x onerror=&#39;a&amp;b&#39;&gt;&quot;"
        );
        assert_eq!(escape("plain 847 MHz"), "plain 847 MHz");
    }
}
