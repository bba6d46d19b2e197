//! Domain types that can only be built valid ("parse, don't validate").
//! Handlers parse requests into these once; everything after trusts them.
//! Nothing here knows the transport: parsers fail with [`FieldViolation`].

pub mod fields;
pub mod filter;
pub mod markdown;
pub mod mentions;
pub mod names;
pub mod page;
pub mod recurrence;
pub mod search;
pub mod time;
pub mod values;
pub mod violations;

pub use names::{
    ApiTokenId, CommentName, FieldId, FieldName, InvitationId, InvitationName, MemberName, NotificationName, ProjectId,
    RelationId, RelationName, StateId, StateName, TaskId, TaskName, UserId, ViewId, ViewName,
};
pub use names::{AttachmentId, AttachmentName, DeliveryId, DeliveryName, WebhookId, WebhookName};
pub use names::{OperationId, OperationName};
pub use values::*;
pub use violations::{FieldViolation, Invalid, Violations};
