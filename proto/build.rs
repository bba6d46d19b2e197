//! Compiles `tasktracker/v1/*.proto` with protox (pure Rust, no system
//! `protoc`) and generates prost messages plus tonic clients and servers.

use std::{env, fs, path::PathBuf};

const PROTOS: &[&str] = &[
    "tasktracker/v1/accounts.proto",
    "tasktracker/v1/attachments.proto",
    "tasktracker/v1/fields.proto",
    "tasktracker/v1/projects.proto",
    "tasktracker/v1/relations.proto",
    "tasktracker/v1/states.proto",
    "tasktracker/v1/notifications.proto",
    "tasktracker/v1/tasks.proto",
    "tasktracker/v1/views.proto",
    "tasktracker/v1/webhooks.proto",
    "tasktracker/v1/imports.proto",
];

/// Generation settings both passes share.
fn configure() -> tonic_prost_build::Builder {
    tonic_prost_build::configure()
        .build_transport(false)
        .server_mod_attribute(".", "#[cfg(feature = \"server\")]")
        // Malformed messages are INVALID_ARGUMENT, not INTERNAL (src/codec.rs).
        .codec_path("crate::codec::Codec")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    // The vendored Google protos the API imports.
    println!("cargo:rerun-if-changed=google");
    let descriptors = protox::compile(PROTOS, ["."])?;
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    // Reflection serves this descriptor set.
    fs::write(out_dir.join("tasktracker_descriptor.bin"), prost::Message::encode_to_vec(&descriptors))?;
    // `tasktracker.v1` is `crate::v1`, not `crate::tasktracker::v1`: its
    // references to the vendored Google packages are spelled absolutely,
    // which leaves their messages out of this pass...
    configure()
        .extern_path(".google.longrunning", "crate::google::longrunning")
        .extern_path(".google.rpc", "crate::google::rpc")
        .compile_fds(descriptors.clone())?;
    // ...and this one generates them, on their own (`src/lib.rs` includes
    // only the Google packages from it).
    let google = out_dir.join("google");
    fs::create_dir_all(&google)?;
    configure().out_dir(google).compile_fds(descriptors)?;
    Ok(())
}
