//! The default command, `iisql [PATH...]`: SQL from `-c`, a `-f` script, standard input or the
//! prompt, in the SQL or the Log Parser dialect.

use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use datafusion::error::{DataFusionError, Result};

use crate::args::{self, RunArgs};
use crate::exec::{Runner, describe};
use crate::setup::{options, setup};
use crate::{lp, repl, script};

/// Runs the default command.
pub async fn run(a: RunArgs) -> Result<ExitCode> {
    let mut runner = setup(&a.input, &a.output, None).await?;
    if a.dialect == args::Dialect::Logparser {
        runner.logparser = true;
        if a.input.time_zone.is_none() {
            // Log Parser converts local times with the machine's zone.
            let zone = lp::host_zone();
            runner
                .ctx
                .state_ref()
                .write()
                .config_mut()
                .options_mut()
                .execution
                .time_zone = Some(zone.clone());
            runner.host_zone_note = Some(zone);
        }
        if a.input.paths.is_empty() {
            runner.lp_inputs = Some(options(&a.input)?);
        }
    }
    if !a.commands.is_empty() || a.file.is_some() {
        for sql in &a.commands {
            for stmt in script::split_statements(sql) {
                runner.run(&stmt.sql).await?;
            }
        }
        if let Some(file) = &a.file {
            let text = std::fs::read_to_string(file).map_err(|e| {
                DataFusionError::Execution(format!("cannot read {}: {e}", file.display()))
            })?;
            let code = run_script(&mut runner, &text, &file.display().to_string()).await;
            return committed(&mut runner, code);
        }
        runner.commit_checkpoint_read()?;
        return Ok(ExitCode::SUCCESS);
    }
    if !std::io::stdin().is_terminal() {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| DataFusionError::Execution(format!("cannot read standard input: {e}")))?;
        let code = run_script(&mut runner, &text, "<stdin>").await;
        return committed(&mut runner, code);
    }
    repl::run_repl(runner)
        .await
        .map_err(|e| DataFusionError::Execution(format!("prompt: {e}")))?;
    Ok(ExitCode::SUCCESS)
}

/// Writes the pending checkpoint when the script succeeded.
fn committed(runner: &mut Runner, code: ExitCode) -> Result<ExitCode> {
    if code == ExitCode::SUCCESS {
        runner.commit_checkpoint_read()?;
    }
    Ok(code)
}

/// Runs every statement of a script; stops at the first error, naming its line.
async fn run_script(runner: &mut Runner, text: &str, name: &str) -> ExitCode {
    for stmt in script::split_statements(text) {
        if let Err(e) = runner.run(&stmt.sql).await {
            eprintln!("iisql: {name}:{}: error: {}", stmt.line, describe(&e));
            return ExitCode::from(1);
        }
    }
    ExitCode::SUCCESS
}
