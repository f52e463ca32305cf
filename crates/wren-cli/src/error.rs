//! [`Failure`]: why a command failed, and the exit status that says so.

use std::fmt;
use std::process::ExitCode;

use wren_codec::Status;

/// The exit status of a command that failed, by failure class. docs/cli.md
/// and `wren --help` list them.
#[derive(Debug)]
pub(crate) enum Failure {
    /// A bug or an unexpected condition in wren itself: exit 1.
    Internal(String),
    /// Bad arguments or input: .proto files, JSON, a capture: exit 2.
    Usage(String),
    /// The endpoint could not be connected to: exit 3.
    Connect(String),
    /// `wren health` found the service not serving: exit 4.
    NotServing,
    /// The call failed with this status: exit 10 + its code. Printed by
    /// the command, with its details, before it returns this.
    Status(Status),
}

/// The exit status for a failed call: 10 plus the status code.
pub(crate) const STATUS_EXIT_BASE: u8 = 10;

impl Failure {
    pub(crate) fn usage(message: impl fmt::Display) -> Failure {
        Failure::Usage(message.to_string())
    }

    pub(crate) fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            Failure::Internal(_) => 1,
            Failure::Usage(_) => 2,
            Failure::Connect(_) => 3,
            Failure::NotServing => 4,
            Failure::Status(status) => {
                // Codes are 0..=16; anything else was mapped to UNKNOWN (2).
                let code = u8::try_from(status.code().as_i32()).unwrap_or(2);
                STATUS_EXIT_BASE + code
            }
        })
    }

    /// The line printed to stderr, if the command did not print it already.
    pub(crate) fn message(&self) -> Option<String> {
        match self {
            Failure::Internal(m) => Some(format!("wren: internal error: {m}")),
            Failure::Usage(m) => Some(format!("wren: {m}")),
            Failure::Connect(m) => Some(format!("wren: {m}")),
            Failure::NotServing | Failure::Status(_) => None,
        }
    }
}

pub(crate) type Result<T, E = Failure> = std::result::Result<T, E>;
