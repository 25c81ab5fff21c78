//! `iisql`: SQL over IIS logs from the command line. A thin binary over the `iisql` library.

mod args;
mod exec;
mod generate;
mod output;
mod progress;
mod repl;
mod script;

use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use clap::Parser;
use datafusion::error::{DataFusionError, Result};
use iisql::IisW3cOptions;

use crate::args::{Cli, Command, RunArgs};
use crate::exec::{Runner, describe};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("iisql: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = rt.block_on(async {
        match cli.command {
            Some(Command::Generate(g)) => generate::run(&g),
            None => run_sql(cli.run).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("iisql: error: {}", describe(&e));
            ExitCode::from(1)
        }
    }
}

fn options(a: &RunArgs) -> IisW3cOptions {
    IisW3cOptions {
        fields: a.fields.clone(),
        max_errors: a.max_errors,
        strict: a.strict,
        ..Default::default()
    }
}

async fn run_sql(a: RunArgs) -> Result<ExitCode> {
    let mut config = iisql::session_config();
    if let Some(n) = a.partitions {
        config = config.with_target_partitions(n.max(1));
    }
    let ctx = iisql::new_context_with_config(config)?;
    let opts = options(&a);
    iisql::register_iis_with_options(&ctx, opts.clone())?;
    let mut total_bytes = None;
    if !a.paths.is_empty() {
        iisql::register_logs(&ctx, &a.table, &a.paths, opts).await?;
        total_bytes = Some(iisql::register::local_size(&a.paths));
    }
    let mut runner = Runner::new(ctx, a.format);
    runner.output = a.output.clone();
    runner.timing = a.timing;
    runner.quiet = a.quiet;
    runner.rejects_path = a.rejects.clone();
    runner.total_bytes = total_bytes;

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
            return Ok(run_script(&mut runner, &text, &file.display().to_string()).await);
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !std::io::stdin().is_terminal() {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| DataFusionError::Execution(format!("cannot read standard input: {e}")))?;
        return Ok(run_script(&mut runner, &text, "<stdin>").await);
    }
    repl::run_repl(runner)
        .await
        .map_err(|e| DataFusionError::Execution(format!("prompt: {e}")))?;
    Ok(ExitCode::SUCCESS)
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
