//! Tasktracker's gRPC API, generated from `proto/tasktracker/v1`.
//!
//! Clients compile everywhere, `wasm32-unknown-unknown` included; the service
//! traits need the `server` feature.

pub mod codec;

/// Package `tasktracker.v1`.
#[allow(clippy::large_enum_variant, reason = "generated code; oneofs hold messages inline")]
pub mod v1 {
    tonic::include_proto!("tasktracker.v1");

    /// Encoded `FileDescriptorSet` of the package, for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("tasktracker_descriptor");
}

/// The vendored Google packages the API uses: long-running operations
/// (`google.longrunning`, AIP-151) and their error status (`google.rpc`).
pub mod google {
    /// Package `google.longrunning`.
    pub mod longrunning {
        include!(concat!(env!("OUT_DIR"), "/google/google.longrunning.rs"));
    }

    /// Package `google.rpc`.
    pub mod rpc {
        include!(concat!(env!("OUT_DIR"), "/google/google.rpc.rs"));
    }
}
