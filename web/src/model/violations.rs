//! `google.rpc.BadRequest` field violations from a status's details
//! (`grpc-status-details-bin`), decoded with three small prost messages
//! rather than tonic-types' full catalogue of error details (bundle size).

use prost::Message;

const BAD_REQUEST_TYPE: &str = "type.googleapis.com/google.rpc.BadRequest";

/// `google.rpc.Status`, as far as the app reads it.
#[derive(Clone, PartialEq, Message)]
pub struct RpcStatus {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
    #[prost(message, repeated, tag = "3")]
    pub details: Vec<prost_types::Any>,
}

/// `google.rpc.BadRequest`.
#[derive(Clone, PartialEq, Message)]
pub struct BadRequest {
    #[prost(message, repeated, tag = "1")]
    pub field_violations: Vec<FieldViolation>,
}

/// `google.rpc.BadRequest.FieldViolation` (the fields the app shows).
#[derive(Clone, PartialEq, Message)]
pub struct FieldViolation {
    #[prost(string, tag = "1")]
    pub field: String,
    #[prost(string, tag = "2")]
    pub description: String,
}

/// `(field, description)` of every field violation in encoded status details;
/// empty when there are none or the bytes are not a `google.rpc.Status`.
pub fn field_violations(details: &[u8]) -> Vec<(String, String)> {
    let Ok(status) = RpcStatus::decode(details) else { return Vec::new() };
    status
        .details
        .iter()
        .filter(|any| any.type_url == BAD_REQUEST_TYPE)
        .filter_map(|any| BadRequest::decode(any.value.as_slice()).ok())
        .flat_map(|bad| bad.field_violations)
        .map(|v| (v.field, v.description))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status_with(details: Vec<prost_types::Any>) -> Vec<u8> {
        RpcStatus { code: 3, message: "invalid".into(), details }.encode_to_vec()
    }

    #[test]
    fn bad_request_violations_are_read() {
        let bad = BadRequest {
            field_violations: vec![
                FieldViolation { field: "task.title".into(), description: "must not be empty".into() },
                FieldViolation { field: "task.labels[1]".into(), description: "too long".into() },
            ],
        };
        let other = prost_types::Any { type_url: "type.googleapis.com/google.rpc.ErrorInfo".into(), value: vec![1, 2] };
        let encoded = status_with(vec![
            other,
            prost_types::Any { type_url: BAD_REQUEST_TYPE.into(), value: bad.encode_to_vec() },
        ]);
        assert_eq!(
            field_violations(&encoded),
            [
                ("task.title".to_owned(), "must not be empty".to_owned()),
                ("task.labels[1]".to_owned(), "too long".to_owned())
            ]
        );
    }

    #[test]
    fn garbage_and_missing_details_give_nothing() {
        assert!(field_violations(&[]).is_empty());
        assert!(field_violations(&[0xff, 0xff, 0xff]).is_empty());
        assert!(field_violations(&status_with(vec![])).is_empty());
    }
}
