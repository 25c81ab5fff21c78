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

    /// Like [`Progress::start`], for a diagnosis: the bar counts the bytes its scans read (the
    /// logs are read twice: counted, then into facts) and says which stage or check runs. The
    /// observer it returns updates that message.
    pub fn diagnosis(
        log: Arc<ScanLog>,
        total: Option<u64>,
        enabled: bool,
    ) -> (Self, iisql::diagnose::StageObserver) {
        let progress = Self::start(log, total.map(|t| t.saturating_mul(2)), enabled);
        if let Some(bar) = &progress.bar {
            let template = if bar.length().is_some() {
                "{msg:40} {bar:30} {bytes}/{total_bytes} eta {eta}"
            } else {
                "{spinner} {msg:40} {bytes} read"
            };
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style);
            }
        }
        let bar = progress.bar.clone();
        let observer: iisql::diagnose::StageObserver = Arc::new(move |stage| {
            if let Some(bar) = &bar {
                bar.set_message(stage_text(stage));
            }
        });
        (progress, observer)
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

/// What a progress bar says of a diagnosis' stage.
pub fn stage_text(stage: &iisql::Stage) -> String {
    match stage {
        iisql::Stage::Counting => "counting requests".to_string(),
        iisql::Stage::ReadingFacts => "reading ActiveSync requests".to_string(),
        iisql::Stage::SharedResults => "results shared by several checks".to_string(),
        iisql::Stage::Check { name, index, of } => format!("check {}/{of} {name}", index + 1),
        iisql::Stage::Done => "done".to_string(),
    }
}
