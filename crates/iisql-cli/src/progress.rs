//! A progress bar on standard error for scans that take more than a moment, shown only when
//! standard error is a terminal.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use iisql::ScanLog;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::task::JoinHandle;

/// A running progress display; stop it with [`Progress::finish`].
pub struct Progress {
    task: Option<JoinHandle<()>>,
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Starts watching `log`; `total` is the bytes the scan will read, if known.
    pub fn start(log: Arc<ScanLog>, total: Option<u64>, enabled: bool) -> Self {
        if !enabled || !std::io::stderr().is_terminal() {
            return Self {
                task: None,
                bar: None,
            };
        }
        let bar = match total {
            Some(t) if t > 0 => {
                ProgressBar::with_draw_target(Some(t), ProgressDrawTarget::stderr()).with_style(
                    ProgressStyle::with_template(
                        "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                )
            }
            _ => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(
                ProgressStyle::with_template("{spinner} {bytes} read {bytes_per_sec}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            ),
        };
        bar.set_draw_target(ProgressDrawTarget::hidden());
        let shown = bar.clone();
        let task = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(400)).await;
            shown.set_draw_target(ProgressDrawTarget::stderr());
            loop {
                let read = log.bytes_read();
                // A query may read a table more than once (a self-join): grow the bar.
                if shown.length().is_some_and(|len| read > len) {
                    shown.set_length(read);
                }
                shown.set_position(read);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        Self {
            task: Some(task),
            bar: Some(bar),
        }
    }

    /// Stops and clears the display.
    pub fn finish(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop();
    }
}
