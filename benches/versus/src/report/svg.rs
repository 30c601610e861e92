//! `chart.svg`: grouped bars, one group per cell, one bar per contender (echo krps on top, then
//! HTTP k requests/s, file kIOPS below, for the parts that ran).

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::results::Report;
use crate::units::fmt_size;

const COLORS: [RGBColor; 10] = [
    RGBColor(214, 39, 40),
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Data for one panel: group labels, series names, values[series][group].
struct Panel {
    title: String,
    y_label: &'static str,
    groups: Vec<String>,
    series: Vec<String>,
    values: Vec<Vec<Option<f64>>>,
}

fn echo_panel(r: &Report) -> Option<Panel> {
    tcp_panel(
        &r.echo,
        format!("Echo, {} (krps, higher is better)", r.echo_mode),
        |c, s| format!("{c} x {}", fmt_size(s)),
    )
}

fn http_panel(r: &Report) -> Option<Panel> {
    tcp_panel(
        &r.http,
        "HTTP/1.1 keep-alive GET, closed loop (k requests/s, higher is better)".into(),
        |c, _| format!("{c} conns"),
    )
}

fn tcp_panel(
    cells: &[crate::results::EchoCell],
    title: String,
    label: impl Fn(usize, usize) -> String,
) -> Option<Panel> {
    let mut groups: Vec<(usize, usize)> = Vec::new();
    let mut series: Vec<String> = Vec::new();
    for c in cells {
        if !groups.contains(&(c.conns, c.size)) {
            groups.push((c.conns, c.size));
        }
        if !series.contains(&c.contender) {
            series.push(c.contender.clone());
        }
    }
    let values = series
        .iter()
        .map(|s| {
            groups
                .iter()
                .map(|g| {
                    cells
                        .iter()
                        .find(|c| &c.contender == s && (c.conns, c.size) == *g)
                        .and_then(|c| c.krps_median())
                })
                .collect()
        })
        .collect();
    (!groups.is_empty()).then(|| Panel {
        title,
        y_label: "thousand round trips / s",
        groups: groups.iter().map(|(c, s)| label(*c, *s)).collect(),
        series,
        values,
    })
}

fn file_panel(r: &Report) -> Option<Panel> {
    let mut groups: Vec<String> = Vec::new();
    let mut series: Vec<String> = Vec::new();
    for c in &r.file {
        if !groups.contains(&c.workload) {
            groups.push(c.workload.clone());
        }
        if !series.contains(&c.contender) {
            series.push(c.contender.clone());
        }
    }
    let values = series
        .iter()
        .map(|s| {
            groups
                .iter()
                .map(|g| {
                    r.file
                        .iter()
                        .find(|c| &c.contender == s && &c.workload == g)
                        .and_then(|c| c.kiops.as_ref().map(|k| k.median))
                })
                .collect()
        })
        .collect();
    (!groups.is_empty()).then(|| Panel {
        title: "File I/O (kIOPS, higher is better)".into(),
        y_label: "thousand operations / s",
        groups,
        series,
        values,
    })
}

fn draw_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: &Panel) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let y_max = p
        .values
        .iter()
        .flatten()
        .flatten()
        .copied()
        .fold(0.0, f64::max)
        .max(1.0)
        * 1.4; // headroom for the legend
    let n = p.groups.len() as f64;
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..n, 0.0..y_max)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .x_label_formatter(&|_| String::new())
        .y_desc(p.y_label)
        .draw()
        .map_err(err)?;
    let width = 0.8 / p.series.len().max(1) as f64;
    for (si, name) in p.series.iter().enumerate() {
        let color = COLORS[si % COLORS.len()];
        let bars = p.values[si].iter().enumerate().filter_map(|(gi, v)| {
            let x0 = gi as f64 + 0.1 + si as f64 * width;
            v.map(|v| Rectangle::new([(x0, 0.0), (x0 + width * 0.92, v)], color.filled()))
        });
        chart
            .draw_series(bars)
            .map_err(err)?
            .label(name.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()));
    }
    // Two label lines per group (file workload names are long): split after the second word.
    for (gi, g) in p.groups.iter().enumerate() {
        let parts: Vec<&str> = g
            .split(['-', ' '])
            .filter(|s| !s.is_empty() && *s != "x")
            .collect();
        let (top, bottom) = if g.len() > 12 && parts.len() > 2 {
            (parts[..2].join(" "), parts[2..].join(" "))
        } else {
            (g.clone(), String::new())
        };
        let x = gi as f64 + 0.5;
        for (line, dy) in [(top, 6), (bottom, 21)] {
            let dx = -(line.len() as i32) * 3;
            chart
                .draw_series(std::iter::once(
                    EmptyElement::at((x, 0.0)) + Text::new(line, (dx, dy), ("sans-serif", 13)),
                ))
                .map_err(err)?;
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    Ok(())
}

/// Renders the chart; `Err` when there is nothing to draw or plotters fails.
///
/// # Errors
/// No results at all, or a drawing error.
pub fn render(r: &Report) -> Result<String, String> {
    let panels: Vec<Panel> = [echo_panel(r), http_panel(r), file_panel(r)]
        .into_iter()
        .flatten()
        .collect();
    if panels.is_empty() {
        return Err("no results to chart".into());
    }
    let height = 420 * panels.len() as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1100, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let areas = root.split_evenly((panels.len(), 1));
        for (area, p) in areas.iter().zip(&panels) {
            draw_panel(area, p)?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}
