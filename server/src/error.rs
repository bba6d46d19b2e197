//! The one mapping from service failures to gRPC statuses.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

pub use crate::domain::FieldViolation;
use crate::domain::Invalid;

/// One object that stops a call: a `google.rpc.PreconditionFailure`
/// violation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreconditionViolation {
    /// What kind of precondition, e.g. `BLOCKED_BY`.
    pub kind: &'static str,
    /// The object in the way: a resource name.
    pub subject: String,
    pub description: String,
}

/// Why a call failed, in the product's terms.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("invalid request")]
    InvalidArgument(Vec<FieldViolation>),
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// The caller may not do this, or the object does not exist: the two are
    /// indistinguishable on purpose (AIP-131).
    #[error("permission denied")]
    PermissionDenied,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    FailedPrecondition(String),
    /// FAILED_PRECONDITION naming the objects in the way, each also in a
    /// `google.rpc.PreconditionFailure` detail so clients need not parse
    /// the message.
    #[error("{message}")]
    PreconditionViolated { message: String, violations: Vec<PreconditionViolation> },
    /// The resource a create would make exists already.
    #[error("{0}")]
    AlreadyExists(String),
    /// Optimistic concurrency lost: the etag is stale.
    #[error("{0}")]
    Aborted(String),
    #[error("{0}")]
    ResourceExhausted(&'static str),
    #[error("{0}")]
    OutOfRange(String),
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error("{0}")]
    DeadlineExceeded(&'static str),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ServiceError {
    /// An INVALID_ARGUMENT naming one field.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::InvalidArgument(vec![FieldViolation::new(field, description)])
    }

    /// The etag a write was based on is no longer current.
    pub fn stale_etag(resource: &str) -> Self {
        Self::Aborted(format!("the {resource} changed since it was read (etag mismatch); read it again and retry"))
    }

    /// A create's `request_id` was already used by a different request: a
    /// retry must repeat its request exactly (AIP-155).
    pub fn request_id_reused(resource: &str) -> Self {
        Self::FailedPrecondition(format!(
            "request_id was already used to create a {resource} with a different request; \
             a retry must repeat the request exactly, and a new {resource} needs a new request_id"
        ))
    }
}

impl From<FieldViolation> for ServiceError {
    fn from(violation: FieldViolation) -> Self {
        Self::InvalidArgument(vec![violation])
    }
}

impl From<Invalid> for ServiceError {
    fn from(Invalid(violations): Invalid) -> Self {
        Self::InvalidArgument(violations)
    }
}

impl From<FieldViolation> for Status {
    fn from(violation: FieldViolation) -> Self {
        ServiceError::from(violation).into()
    }
}

impl From<Invalid> for Status {
    fn from(invalid: Invalid) -> Self {
        ServiceError::from(invalid).into()
    }
}

impl From<sea_orm::DbErr> for ServiceError {
    fn from(error: sea_orm::DbErr) -> Self {
        use sea_orm::{ConnAcquireErr, DbErr, RuntimeErr};
        match &error {
            DbErr::ConnectionAcquire(ConnAcquireErr::Timeout) => {
                Self::Unavailable("database busy or unreachable".into())
            }
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => Self::Unavailable("database unreachable".into()),
            DbErr::Exec(RuntimeErr::SqlxError(sqlx)) | DbErr::Query(RuntimeErr::SqlxError(sqlx)) => {
                match classify(sqlx) {
                    SqlxFailure::ConnectionLost => Self::Unavailable("database connection lost".into()),
                    SqlxFailure::Cancelled => {
                        Self::DeadlineExceeded("the query ran past the server's statement timeout")
                    }
                    SqlxFailure::Other => Self::Internal(anyhow::Error::new(error)),
                }
            }
            _ => Self::Internal(anyhow::Error::new(error)),
        }
    }
}

/// What a driver error means for the caller.
enum SqlxFailure {
    /// The connection broke or the server is going away: retrying elsewhere
    /// or later can succeed, so UNAVAILABLE.
    ConnectionLost,
    /// `statement_timeout` cancelled the query.
    Cancelled,
    Other,
}

fn classify(error: &sea_orm::sqlx::Error) -> SqlxFailure {
    use sea_orm::sqlx::Error;
    match error {
        Error::Io(_) | Error::Tls(_) | Error::PoolTimedOut | Error::PoolClosed | Error::WorkerCrashed => {
            SqlxFailure::ConnectionLost
        }
        Error::Database(database) => match database.code().as_deref() {
            // Class 08: connection exception; 57P01..57P05: admin shutdown,
            // crash shutdown, cannot connect now, database dropped, idle
            // session timeout.
            Some(code) if code.starts_with("08") || code.starts_with("57P") => SqlxFailure::ConnectionLost,
            Some("57014") => SqlxFailure::Cancelled,
            _ => SqlxFailure::Other,
        },
        _ => SqlxFailure::Other,
    }
}

impl From<sea_orm::TransactionError<sea_orm::DbErr>> for ServiceError {
    fn from(error: sea_orm::TransactionError<sea_orm::DbErr>) -> Self {
        match error {
            sea_orm::TransactionError::Connection(db) => db.into(),
            sea_orm::TransactionError::Transaction(inner) => inner.into(),
        }
    }
}

/// Most field violations an INVALID_ARGUMENT carries (the rest are counted).
const VIOLATIONS_SENT: usize = 20;

impl From<ServiceError> for Status {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::InvalidArgument(mut violations) => {
                // Both travel in headers, whose size HTTP/2 peers bound:
                // a request wrong everywhere (a batch) gets the first ones.
                let more = violations.len().saturating_sub(VIOLATIONS_SENT);
                violations.truncate(VIOLATIONS_SENT);
                let mut summary = violations
                    .iter()
                    .map(|violation| format!("{}: {}", violation.field, violation.description))
                    .collect::<Vec<_>>()
                    .join("; ");
                if more > 0 {
                    summary.push_str(&format!("; and {more} more"));
                }
                let mut details = ErrorDetails::new();
                for violation in violations {
                    details.add_bad_request_violation(violation.field, violation.description);
                }
                Status::with_error_details(Code::InvalidArgument, summary, details)
            }
            ServiceError::Unauthenticated(message) => Status::unauthenticated(message),
            ServiceError::PermissionDenied => {
                Status::permission_denied("the caller may not do this, or the resource does not exist")
            }
            ServiceError::NotFound(what) => Status::not_found(format!("{what} not found")),
            ServiceError::FailedPrecondition(message) => Status::failed_precondition(message),
            ServiceError::PreconditionViolated { message, violations } => {
                let mut details = ErrorDetails::new();
                for violation in violations {
                    details.add_precondition_failure_violation(
                        violation.kind,
                        violation.subject,
                        violation.description,
                    );
                }
                Status::with_error_details(Code::FailedPrecondition, message, details)
            }
            ServiceError::AlreadyExists(message) => Status::already_exists(message),
            ServiceError::Aborted(message) => Status::aborted(message),
            ServiceError::ResourceExhausted(message) => Status::resource_exhausted(message),
            ServiceError::OutOfRange(message) => Status::out_of_range(message),
            ServiceError::Unavailable(message) => {
                tracing::warn!(error = %message, "unavailable");
                Status::unavailable(message)
            }
            ServiceError::DeadlineExceeded(message) => Status::deadline_exceeded(message),
            ServiceError::Internal(error) => {
                // Logged once, here; the client gets only the reference.
                let reference = uuid::Uuid::now_v7();
                tracing::error!(%reference, error = ?error, "internal error");
                Status::internal(format!("internal error (reference {reference})"))
            }
        }
    }
}

/// Result of a service operation.
pub type ServiceResult<T> = Result<T, ServiceError>;
