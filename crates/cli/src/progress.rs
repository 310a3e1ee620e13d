//! Progress of long commands (`local pump`, `backfill --follow`, `dlq redrive`): a bar
//! (indicatif) when stdout is a terminal, one plain line per step otherwise (logs, pipes,
//! CI), so that nothing parsing the output meets control characters.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    label: &'static str,
    total: Option<u64>,
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar towards `total` (a spinner when unknown) if stdout is a terminal.
    pub fn new(label: &'static str, total: Option<u64>) -> Self {
        Self::with_terminal(label, total, std::io::stdout().is_terminal())
    }

    pub fn with_terminal(label: &'static str, total: Option<u64>, terminal: bool) -> Self {
        let bar = terminal.then(|| {
            let (bar, template) = match total {
                Some(t) => (ProgressBar::new(t), "{prefix} [{bar:32}] {pos}/{len} {msg}"),
                None => (ProgressBar::new_spinner(), "{prefix} {spinner} {pos} {msg}"),
            };
            bar.set_draw_target(ProgressDrawTarget::stdout());
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_prefix(label);
            bar
        });
        Progress { label, total, bar }
    }

    /// Where the work stands: `position` of the total, and what it is doing.
    pub fn update(&self, position: u64, message: &str) {
        match &self.bar {
            Some(bar) => {
                bar.set_position(position);
                bar.set_message(message.to_string());
            }
            None => match self.total {
                Some(total) => println!("{}: {position}/{total} {message}", self.label),
                None => println!("{}: {position} {message}", self.label),
            },
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
