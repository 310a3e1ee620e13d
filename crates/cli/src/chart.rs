//! The Performance Management Chart as text (a terminal) and as SVG.

use stravasync_core::model::PmcRow;

/// A text chart of the last `days` rows: CTL (#), ATL (*), TSB (value).
pub fn text_chart(rows: &[PmcRow], days: usize) -> String {
    let tail = &rows[rows.len().saturating_sub(days)..];
    let max = tail.iter().map(|r| r.ctl.max(r.atl)).fold(1.0, f64::max);
    let mut out = String::from("date        load    CTL    ATL    TSB  (# CTL fitness, * ATL fatigue)\n");
    for r in tail {
        let width = 40.0;
        let c = (r.ctl / max * width).round() as usize;
        let a = (r.atl / max * width).round() as usize;
        let mut bar: Vec<char> = vec![' '; width as usize + 1];
        for cell in bar.iter_mut().take(c) {
            *cell = '#';
        }
        if a <= width as usize {
            bar[a] = '*';
        }
        out.push_str(&format!(
            "{}  {:5.0}  {:5.1}  {:5.1}  {:5.1}  |{}\n",
            r.date,
            r.load,
            r.ctl,
            r.atl,
            r.tsb,
            bar.into_iter().collect::<String>().trim_end()
        ));
    }
    out
}

/// Width and height of the SVG chart, px.
pub const SVG_SIZE: (u32, u32) = (960, 420);

/// An SVG chart of the rows, drawn by plotters: CTL, ATL and TSB lines and daily load
/// bars over dated axes, with a legend. Empty rows give an empty chart with its axes.
pub fn svg_chart(rows: &[PmcRow]) -> Result<String, String> {
    let mut svg = String::new();
    draw(rows, &mut svg).map_err(|e| format!("drawing the chart: {e}"))?;
    Ok(svg)
}

fn draw<'a>(rows: &[PmcRow], svg: &'a mut String) -> Result<(), Box<dyn std::error::Error + 'a>> {
    use plotters::prelude::*;
    let root = SVGBackend::with_string(svg, SVG_SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let high = rows.iter().map(|r| r.ctl.max(r.atl).max(r.load)).fold(10.0, f64::max) * 1.08;
    let low = rows.iter().map(|r| r.tsb).fold(0.0, f64::min) * 1.08 - 1.0;
    let days = rows.len().max(2) as f64;
    let title = match (rows.first(), rows.last()) {
        (Some(f), Some(l)) => format!("Performance Management Chart, {} to {}", f.date, l.date),
        _ => "Performance Management Chart (no rows)".to_string(),
    };
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(34)
        .y_label_area_size(48)
        .build_cartesian_2d(-0.5f64..days - 0.5, low..high)?;
    let date_of = |x: &f64| rows.get(x.round().max(0.0) as usize).map(|r| r.date.to_string()).unwrap_or_default();
    chart
        .configure_mesh()
        .x_labels(8)
        .x_label_formatter(&date_of)
        .y_desc("load / CTL / ATL / TSB")
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    let grey = RGBColor(200, 206, 211);
    chart
        .draw_series(
            rows.iter()
                .enumerate()
                .filter(|(_, r)| r.load > 0.0)
                .map(|(i, r)| Rectangle::new([(i as f64 - 0.35, 0.0), (i as f64 + 0.35, r.load)], grey.filled())),
        )?
        .label("daily load")
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], grey.filled()));
    type Line = (&'static str, RGBColor, fn(&PmcRow) -> f64);
    let lines: [Line; 3] = [
        ("CTL (fitness)", RGBColor(31, 111, 235), |r| r.ctl),
        ("ATL (fatigue)", RGBColor(209, 36, 47), |r| r.atl),
        ("TSB (form)", RGBColor(26, 127, 55), |r| r.tsb),
    ];
    for (name, color, value) in lines {
        chart
            .draw_series(LineSeries::new(
                rows.iter().enumerate().map(|(i, r)| (i as f64, value(r))),
                color.stroke_width(2),
            ))?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .border_style(BLACK.mix(0.3))
        .background_style(WHITE.mix(0.9))
        .draw()?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use stravasync_core::LocalDate;

    fn rows(n: i32) -> Vec<PmcRow> {
        let start = LocalDate::from_ymd(2026, 1, 1).unwrap();
        (0..n)
            .map(|i| PmcRow {
                date: start.add_days(i),
                load: if i % 2 == 0 { 80.0 } else { 0.0 },
                ctl: f64::from(i),
                atl: f64::from(i) * 1.5,
                tsb: -f64::from(i) / 2.0,
            })
            .collect()
    }

    #[test]
    fn the_svg_has_axes_with_dates_a_legend_and_a_bar_per_training_day() {
        let svg = svg_chart(&rows(60)).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        for text in
            ["2026-01-01", "CTL (fitness)", "ATL (fatigue)", "TSB (form)", "daily load", "load / CTL / ATL / TSB"]
        {
            assert!(svg.contains(text), "{text}");
        }
        assert!(svg.contains("to 2026-03-01"), "the title names the range");
        // 30 training days: 30 bars, plus the background, the legend box and its swatch.
        let grey_rects = svg.matches("fill=\"#C8CED3\"").count();
        assert_eq!(grey_rects, 30 + 1, "{grey_rects}");
        for color in ["#1F6FEB", "#D1242F", "#1A7F37"] {
            assert_eq!(svg.matches(&format!("stroke=\"{color}\"")).count(), 2, "{color}: its line and its legend mark");
        }
        let empty = svg_chart(&[]).unwrap();
        assert!(empty.contains("no rows") && empty.contains("</svg>"));
    }
}
