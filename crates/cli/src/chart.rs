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

/// An SVG chart of the rows: CTL, ATL and TSB lines, daily load as bars.
pub fn svg_chart(rows: &[PmcRow]) -> String {
    let (w, h, pad) = (900.0, 360.0, 40.0);
    let max = rows.iter().map(|r| r.ctl.max(r.atl).max(r.load)).fold(1.0, f64::max);
    let min = rows.iter().map(|r| r.tsb).fold(0.0, f64::min);
    let n = rows.len().max(2) as f64;
    let x = |i: usize| pad + (w - 2.0 * pad) * i as f64 / (n - 1.0);
    let y = |v: f64| h - pad - (h - 2.0 * pad) * (v - min) / (max - min);
    let line = |f: &dyn Fn(&PmcRow) -> f64| {
        rows.iter().enumerate().map(|(i, r)| format!("{:.1},{:.1}", x(i), y(f(r)))).collect::<Vec<_>>().join(" ")
    };
    let bars: String = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| r.load > 0.0)
        .map(|(i, r)| {
            format!(
                "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{1:.1}\" y2=\"{2:.1}\" stroke=\"#ccc\" stroke-width=\"2\"/>",
                x(i),
                y(0.0),
                y(r.load)
            )
        })
        .collect();
    let first = rows.first().map(|r| r.date.to_string()).unwrap_or_default();
    let last = rows.last().map(|r| r.date.to_string()).unwrap_or_default();
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\
<rect width=\"100%\" height=\"100%\" fill=\"white\"/>{bars}\
<line x1=\"{pad}\" x2=\"{x2}\" y1=\"{y0:.1}\" y2=\"{y0:.1}\" stroke=\"#888\"/>\
<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"{ctl}\"/>\
<polyline fill=\"none\" stroke=\"#d62728\" stroke-width=\"1.5\" points=\"{atl}\"/>\
<polyline fill=\"none\" stroke=\"#2ca02c\" stroke-width=\"1.5\" points=\"{tsb}\"/>\
<text x=\"{pad}\" y=\"20\">Performance Management Chart: <tspan fill=\"#1f77b4\">CTL fitness</tspan>, <tspan fill=\"#d62728\">ATL fatigue</tspan>, <tspan fill=\"#2ca02c\">TSB form</tspan>, grey bars daily load</text>\
<text x=\"{pad}\" y=\"{yb}\">{first}</text><text x=\"{x2}\" y=\"{yb}\" text-anchor=\"end\">{last}</text></svg>\n",
        x2 = w - pad,
        y0 = y(0.0),
        yb = h - 12.0,
        ctl = line(&|r| r.ctl),
        atl = line(&|r| r.atl),
        tsb = line(&|r| r.tsb),
    )
}
