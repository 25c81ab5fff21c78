//! `iisql`: SQL over IIS logs from the command line. A thin binary over the `iisql` library.
//!
//! `args` parses the command line; `setup` turns its input and output arguments into an
//! `exec::Runner` (a session with the logs registered through `iisql::Inputs`). The commands
//! then drive the runner: `sql` (the default: `-c`, `-f`, standard input or the `repl`),
//! `report` (`diagnose`, `queries`), `lp` (Log Parser's command line), `convert` (a
//! Parquet lake) and `generate`. The runner prints through `output`, `fit` and `pager`,
//! and writes charts and multiplexed files (`multiplex`).

mod args;
mod cluster;
mod convert;
mod exec;
mod fit;
mod generate;
mod lp;
mod multiplex;
mod output;
mod pager;
mod progress;
mod repl;
mod report;
mod script;
mod setup;
mod sql;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};
use crate::exec::describe;
use crate::setup::{ANALYSIS_MEMORY, setup_with_memory};

fn main() -> ExitCode {
    iisql::malloc::keep_freed_buffers();
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Plans over the `activesync` view are deep; a cluster client serializes them
        // recursively (Ballista's own binaries use the same size).
        .thread_stack_size(32 * 1024 * 1024)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("iisql: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let diagnosing = matches!(cli.command, Some(Command::Diagnose(_)));
    let result = rt.block_on(async {
        match cli.command {
            Some(Command::Generate(g)) => generate::run(&g),
            Some(Command::Queries(q)) => report::queries(&q),
            Some(Command::Run(r)) => {
                let mut runner = setup_with_memory(
                    &r.input,
                    &r.output,
                    r.queries.as_deref(),
                    Some(ANALYSIS_MEMORY),
                )
                .await?;
                runner.run_saved(&r.name, &r.params).await?;
                runner.commit_checkpoint_read()?;
                Ok(ExitCode::SUCCESS)
            }
            Some(Command::Diagnose(d)) => report::diagnose(&d).await,
            Some(Command::Lp(l)) => lp::run(&l).await,
            Some(Command::Lps(l)) => lp::lps(&l).await,
            Some(Command::Convert(c)) => convert::run(&c).await,
            None => sql::run(cli.run).await,
        }
    });
    match result {
        Ok(code) => code,
        // The reader went away (`iisql ... | head`): stop quietly.
        Err(e) if describe(&e).contains("Broken pipe") => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("iisql: error: {}", describe(&e));
            // diagnose documents 2 for errors (1 means findings).
            ExitCode::from(if diagnosing { 2 } else { 1 })
        }
    }
}
