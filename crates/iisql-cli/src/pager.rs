//! A pager for terminal output longer than the screen, as psql has: results and the diagnosis
//! text go through `$PAGER` (`less -S` when unset; no pager when set empty) when they have more
//! lines than the terminal. Off with `--no-pager` or `\pager off`, and never for pipes or files
//! (callers only come here at a terminal).

use std::io::Write;
use std::process::{Command, Stdio};

use datafusion::error::{DataFusionError, Result};

/// The pager when `$PAGER` is not set: long lines are cut, not wrapped, so tables stay tables.
pub const DEFAULT_PAGER: &str = "less -S";

/// The pager command from the environment: `$PAGER`, [`DEFAULT_PAGER`] when it is not set,
/// `None` when it is set empty.
pub fn from_env() -> Option<String> {
    match std::env::var("PAGER") {
        Ok(p) if p.trim().is_empty() => None,
        Ok(p) => Some(p),
        Err(_) => Some(DEFAULT_PAGER.to_string()),
    }
}

/// The height of the terminal standard output is, in lines; `None` when unknown.
pub fn stdout_height() -> Option<usize> {
    let (rows, _) = console::Term::stdout().size_checked()?;
    (rows > 0).then_some(usize::from(rows))
}

/// Shows `text` at the terminal: through `pager` (run by `sh -c`) when it has more lines than
/// the screen's `height` leaves room for (one line stays for the prompt), else printed. A pager
/// that cannot start (not installed) falls back to printing; a reader who quits the pager early
/// is not an error.
pub async fn show(text: String, height: Option<usize>, pager: Option<&str>) -> Result<()> {
    let long = height.is_some_and(|h| text.lines().count() >= h);
    match pager {
        Some(cmd) if long => {
            let cmd = cmd.to_string();
            // The pager runs as long as the reader reads: off the async runtime.
            tokio::task::spawn_blocking(move || page(&cmd, &text))
                .await
                .map_err(|e| DataFusionError::External(Box::new(e)))?
        }
        _ => print_all(&text),
    }
}

/// Runs `cmd` with `text` on its standard input and waits for it.
fn page(cmd: &str, text: &str) -> Result<()> {
    let child = Command::new("sh")
        .args(["-c", cmd])
        .stdin(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        return print_all(text);
    };
    if let Some(mut stdin) = child.stdin.take() {
        match stdin.write_all(text.as_bytes()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                return Err(DataFusionError::Execution(format!("pager {cmd}: {e}")));
            }
            _ => {}
        }
    }
    let status = child
        .wait()
        .map_err(|e| DataFusionError::Execution(format!("pager {cmd}: {e}")))?;
    // `sh -c` says 127 when the pager's program is not installed: show the text after all.
    if status.code() == Some(127) {
        return print_all(text);
    }
    Ok(())
}

fn print_all(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}
