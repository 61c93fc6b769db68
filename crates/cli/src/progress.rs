//! Progress of long work: a bar on a terminal, plain log lines otherwise.

use std::io::IsTerminal;
use std::time::Duration;

use amsync_store::{Run, RunOutcome};
use indicatif::{ProgressBar, ProgressStyle};

/// Follows a run until it finishes, showing how far it is.
pub struct RunProgress {
    bar: Option<ProgressBar>,
    last_line: std::time::Instant,
}

impl RunProgress {
    pub fn new() -> RunProgress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = ProgressBar::new(0);
            b.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b.enable_steady_tick(Duration::from_millis(200));
            b
        });
        RunProgress { bar, last_line: std::time::Instant::now() }
    }

    pub fn update(&mut self, run: &Run) {
        let c = &run.counts;
        let done = c.refreshed + c.dead;
        let total = (c.enqueued).max(done + run.pending);
        let msg = format!(
            "changed {} unchanged {} disabled {} failed {} dead {}",
            c.changed + c.created,
            c.unchanged,
            c.disabled,
            c.failed,
            c.dead
        );
        match &self.bar {
            Some(b) => {
                b.set_length(total);
                b.set_position(done);
                b.set_message(msg);
            }
            None if self.last_line.elapsed() >= Duration::from_secs(5) || run.outcome != RunOutcome::Running => {
                self.last_line = std::time::Instant::now();
                eprintln!("run {}: {done}/{total} refreshed; {msg}", run.id);
            }
            None => {}
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish();
        }
    }
}
