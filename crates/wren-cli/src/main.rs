//! `wren`: call, inspect and debug ttrpc services from the command line.
//!
//! - `wren call ENDPOINT SERVICE/METHOD -d JSON` calls any method, unary or
//!   streaming, with messages in the proto3 JSON mapping;
//! - `wren list` and `wren describe` show services and types;
//! - `wren health` checks `grpc.health.v1.Health`;
//! - `wren decode` prints a capture of raw ttrpc bytes frame by frame.
//!
//! Types come from `.proto` files (compiled in process by protox), from a
//! descriptor set, or from the server's reflection service. `wren --help`
//! and `docs/cli.md` describe every flag and the exit statuses.

mod args;
mod call;
mod connect;
mod decode;
mod describe;
mod error;
mod health;
mod report;
mod source;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};
use crate::report::Reporter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let reporter = Reporter::new(cli.verbose);
    let result = match cli.command {
        // No runtime needed to read a capture.
        Command::Decode(args) => decode::run(args),
        command => match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime.block_on(async move {
                match command {
                    Command::Call(args) => call::run(args, reporter).await,
                    Command::List(args) => describe::list(args, reporter).await,
                    Command::Describe(args) => describe::describe(args, reporter).await,
                    Command::Health(args) => health::run(args, reporter).await,
                    Command::Decode(_) => unreachable!("handled above"),
                }
            }),
            Err(e) => Err(error::Failure::Internal(format!(
                "cannot start the runtime: {e}"
            ))),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            if let Some(message) = failure.message() {
                eprintln!("{message}");
            }
            failure.exit_code()
        }
    }
}
