//! Integration tests: the real server on a random port, a fresh database per
//! test (PostgreSQL and SQLite), generated tonic clients over real sockets.
//! One test binary, so it links once.

mod helpers;

mod accounts;
mod attachments;
mod attachments_s3;
mod authorization;
mod backup;
mod batch;
mod comments;
mod custom_fields;
mod email;
mod framing;
mod health;
mod imports;
mod invitations;
mod metrics;
mod notifications;
mod oidc;
mod projects;
mod recurrence;
mod relations;
mod reminders;
mod revocation;
mod search;
mod sessions;
mod states;
mod subtasks;
mod tasks;
mod transport;
mod two_factor;
mod validation;
mod views;
mod watch;
mod webhooks;
