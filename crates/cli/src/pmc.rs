//! `stravasync pmc`: the daily Performance Management Chart of a CSV of `date,load` rows
//! (printed as CSV), or of an athlete as stored in a stack (a text chart, and SVG on request).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::PathBuf;

use clap::Args;

use stravasync_core::LocalDate;
use stravasync_core::model::{PmcConstants, PmcRow};
use stravasync_core::pmc;

use crate::{CliError, InputError, block_on, chart, read_input, stack};

/// `stravasync pmc`'s arguments: one source, `--loads` or `--athlete`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["loads", "athlete"])))]
pub struct PmcArgs {
    /// CSV of `date,load` rows (unsorted; repeated dates are summed).
    #[arg(long)]
    pub loads: Option<PathBuf>,
    /// The athlete whose stored PMC to show.
    #[arg(long)]
    pub athlete: Option<i64>,
    /// First day (YYYY-MM-DD; default 90 days before --to). With --athlete.
    #[arg(long, requires = "athlete")]
    pub from: Option<String>,
    /// Last day (YYYY-MM-DD; default today). With --athlete.
    #[arg(long, requires = "athlete")]
    pub to: Option<String>,
    /// Also write the chart as SVG to this file. With --athlete.
    #[arg(long, requires = "athlete")]
    pub svg: Option<PathBuf>,
    /// CTL time constant, days.
    #[arg(long, default_value_t = 42.0)]
    pub ctl_days: f64,
    /// ATL time constant, days.
    #[arg(long, default_value_t = 7.0)]
    pub atl_days: f64,
}

impl PmcArgs {
    pub fn run(self) -> Result<String, CliError> {
        match (self.loads, self.athlete) {
            (Some(loads), _) => {
                let csv = String::from_utf8(read_input(&loads)?)
                    .map_err(|e| InputError::new(format!("{}: not UTF-8: {e}", loads.display())))?;
                Ok(pmc_from_csv(&csv, constants(self.ctl_days, self.atl_days)?)?)
            }
            (None, Some(athlete)) => {
                let rows = block_on(stack::pmc_rows(athlete, self.from.as_deref(), self.to.as_deref()))?;
                let mut out = chart::text_chart(&rows, rows.len());
                out.push('\n');
                let answer = block_on(crate::insight::stored_form(athlete))?;
                out.push_str(&crate::insight::render_form(answer.form.as_ref(), answer.settling.as_ref()));
                if let Some(path) = self.svg {
                    let svg = chart::svg_chart(&rows).map_err(InputError::new)?;
                    std::fs::write(&path, svg).map_err(|e| InputError::new(format!("{}: {e}", path.display())))?;
                    out.push_str(&format!("chart: {}\n", path.display()));
                }
                Ok(out)
            }
            (None, None) => Err(InputError::new("pass --loads or --athlete").into()),
        }
    }
}

/// Parses `date,load` rows: unsorted, gaps allowed, repeated dates summed, an optional
/// `date,load` header, blank lines ignored. Errors name the 1-based line.
pub fn parse_loads(csv: &str) -> Result<BTreeMap<LocalDate, f64>, InputError> {
    let mut rows = Vec::new();
    for (i, line) in csv.lines().enumerate() {
        let n = i + 1;
        let line = line.trim();
        if line.is_empty() || (rows.is_empty() && line.eq_ignore_ascii_case("date,load")) {
            continue;
        }
        let mut fields = line.split(',').map(str::trim);
        let (Some(date), Some(load), None) = (fields.next(), fields.next(), fields.next()) else {
            return Err(InputError(format!("line {n}: expected 2 fields date,load, got {line:?}")));
        };
        let date: LocalDate = date.parse().map_err(|e| InputError(format!("line {n}: field date: {e}")))?;
        let load: f64 = load
            .parse()
            .ok()
            .filter(|l: &f64| l.is_finite() && *l >= 0.0)
            .ok_or_else(|| InputError(format!("line {n}: field load: {load:?} is not a number >= 0")))?;
        rows.push((date, load));
    }
    Ok(pmc::daily_loads(rows))
}

/// Validated PMC time constants.
pub fn constants(ctl_days: f64, atl_days: f64) -> Result<PmcConstants, InputError> {
    for (name, v) in [("ctl-days", ctl_days), ("atl-days", atl_days)] {
        if !(v.is_finite() && v > 0.0) {
            return Err(InputError(format!("--{name} must be a number > 0, got {v}")));
        }
    }
    Ok(PmcConstants { ctl_days, atl_days })
}

/// `date,load,ctl,atl,tsb` for every day from the first to the last date.
pub fn render(rows: &[PmcRow]) -> String {
    let mut out = String::with_capacity(rows.len() * 64 + 24);
    out.push_str("date,load,ctl,atl,tsb\n");
    for r in rows {
        let _ = writeln!(out, "{},{},{},{},{}", r.date, r.load, r.ctl, r.atl, r.tsb);
    }
    out
}

/// The whole command on a CSV text.
pub fn pmc_from_csv(csv: &str, k: PmcConstants) -> Result<String, InputError> {
    Ok(render(&pmc::series(&parse_loads(csv)?, k)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsorted_gaps_and_repeats() {
        let out = pmc_from_csv("date,load\n2024-01-03,10\n\n2024-01-01,50\n2024-01-01,50\n", PmcConstants::default())
            .unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[1].starts_with("2024-01-01,100,"));
        assert!(lines[2].starts_with("2024-01-02,0,"));
        assert!(lines[3].starts_with("2024-01-03,10,"));
    }

    #[test]
    fn errors_name_the_line_and_field() {
        let e = parse_loads("date,load\n2024-01-01,5\n2024-13-01,5\n").unwrap_err();
        assert!(e.0.starts_with("line 3: field date"), "{e}");
        let e = parse_loads("2024-01-01,abc\n").unwrap_err();
        assert!(e.0.starts_with("line 1: field load"), "{e}");
        let e = parse_loads("2024-01-01,-4\n").unwrap_err();
        assert!(e.0.contains("field load"), "{e}");
        let e = parse_loads("2024-01-01\n").unwrap_err();
        assert!(e.0.contains("expected 2 fields"), "{e}");
        assert!(constants(0.0, 7.0).is_err());
    }

    #[test]
    fn empty_input_is_an_empty_chart() {
        assert_eq!(pmc_from_csv("", PmcConstants::default()).unwrap(), "date,load,ctl,atl,tsb\n");
    }
}
