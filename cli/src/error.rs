//! Every failure, as a short message on standard error and an exit code.
//!
//! gRPC statuses map to one line each (plus the `google.rpc.BadRequest`
//! field violations and `google.rpc.PreconditionFailure` violations the
//! server attaches), never to a stack of error chains.

use std::{fmt::Write as _, process::ExitCode};

use tonic::{Code, Status};
use tonic_types::StatusExt;

/// What went wrong.
#[derive(Debug)]
pub enum CliError {
    /// The command line makes no sense (beyond what the parser checks).
    Usage(String),
    /// No credentials are saved for the server (nor given in
    /// `TASKTRACKER_TOKEN`).
    NotSignedIn { server: String },
    /// The server answered with an error.
    Api(Status),
    /// Anything else: the server is unreachable, a file cannot be written.
    Other(anyhow::Error),
}

impl From<Status> for CliError {
    fn from(status: Status) -> Self {
        Self::Api(status)
    }
}

impl From<anyhow::Error> for CliError {
    fn from(error: anyhow::Error) -> Self {
        Self::Other(error)
    }
}

impl From<std::io::Error> for CliError {
    fn from(error: std::io::Error) -> Self {
        Self::Other(error.into())
    }
}

/// Documented exit codes (`tasktracker --help`, docs/cli.md).
pub mod exit {
    pub const ERROR: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const NOT_FOUND: u8 = 3;
    pub const CONFLICT: u8 = 4;
}

impl CliError {
    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) => exit::USAGE,
            Self::NotSignedIn { .. } => exit::NOT_FOUND,
            Self::Api(status) => match status.code() {
                Code::InvalidArgument | Code::OutOfRange => exit::USAGE,
                Code::NotFound | Code::PermissionDenied | Code::Unauthenticated => exit::NOT_FOUND,
                Code::Aborted | Code::AlreadyExists | Code::FailedPrecondition => exit::CONFLICT,
                _ => exit::ERROR,
            },
            Self::Other(_) => exit::ERROR,
        }
    }

    /// The message printed after `error: `, possibly several lines.
    pub fn message(&self) -> String {
        match self {
            Self::Usage(message) => message.clone(),
            Self::NotSignedIn { server } => {
                format!("not signed in to {server}: run `tasktracker login` (or set TASKTRACKER_TOKEN)")
            }
            Self::Api(status) => describe_status(status),
            // The chain on one line: "cannot connect to …: connection refused".
            Self::Other(error) => format!("{error:#}"),
        }
    }
}

fn describe_status(status: &Status) -> String {
    let mut violations: Vec<String> = Vec::new();
    if let Some(bad_request) = status.get_details_bad_request() {
        violations.extend(bad_request.field_violations.iter().map(|v| format!("{}: {}", v.field, v.description)));
    }
    if let Some(failure) = status.get_details_precondition_failure() {
        violations.extend(failure.violations.iter().map(|v| format!("{}: {}", v.subject, v.description)));
    }
    // The server often sums a single violation up as the message: say it once.
    let message = if violations.iter().any(|violation| violation == status.message()) { "" } else { status.message() };
    let what = match status.code() {
        Code::InvalidArgument | Code::OutOfRange => "invalid input",
        Code::NotFound => "not found",
        Code::PermissionDenied => "permission denied",
        Code::Unauthenticated => "not signed in, or the session has ended (run `tasktracker login`)",
        Code::Aborted => "conflict: it changed meanwhile (read it again and retry)",
        Code::AlreadyExists => "already exists",
        Code::FailedPrecondition => "refused",
        Code::ResourceExhausted => "rate limited, try again later",
        Code::Unavailable => "the server is unavailable",
        Code::DeadlineExceeded => "the server did not answer in time",
        Code::Unimplemented => "the server does not support this (an older version?)",
        Code::Cancelled => "cancelled",
        Code::Ok | Code::Unknown | Code::Internal | Code::DataLoss => "server error",
    };
    let mut text = if message.is_empty() { what.to_owned() } else { format!("{what}: {message}") };
    for violation in violations {
        let _ = write!(text, "\n  {violation}");
    }
    text
}

/// Prints `error` to standard error; returns its exit code.
pub fn report(error: &CliError) -> ExitCode {
    eprintln!("error: {}", error.message());
    ExitCode::from(error.exit_code())
}

#[cfg(test)]
mod tests {
    use tonic_types::{ErrorDetails, StatusExt};

    use super::*;

    #[test]
    fn field_violations_are_listed_under_the_message() {
        let details = ErrorDetails::with_bad_request_violation("task.title", "must be 1 to 500 characters");
        let status = Status::with_error_details(Code::InvalidArgument, "invalid task", details);
        let error = CliError::from(status);
        assert_eq!(error.exit_code(), exit::USAGE);
        assert_eq!(error.message(), "invalid input: invalid task\n  task.title: must be 1 to 500 characters");
    }

    #[test]
    fn a_message_that_repeats_the_only_violation_is_said_once() {
        let details = ErrorDetails::with_bad_request_violation("filter", "unexpected `>`");
        let status = Status::with_error_details(Code::InvalidArgument, "filter: unexpected `>`", details);
        assert_eq!(CliError::from(status).message(), "invalid input\n  filter: unexpected `>`");
    }

    #[test]
    fn codes_map_to_documented_exit_codes() {
        let code = |code| CliError::from(Status::new(code, "x")).exit_code();
        assert_eq!(code(Code::NotFound), 3);
        assert_eq!(code(Code::PermissionDenied), 3);
        assert_eq!(code(Code::Aborted), 4);
        assert_eq!(code(Code::FailedPrecondition), 4);
        assert_eq!(code(Code::Unavailable), 1);
        assert_eq!(CliError::Usage("x".into()).exit_code(), 2);
    }
}
