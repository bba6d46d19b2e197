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
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    let descriptors = protox::compile(PROTOS, ["."])?;
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    // Reflection serves this descriptor set.
    fs::write(out_dir.join("tasktracker_descriptor.bin"), prost::Message::encode_to_vec(&descriptors))?;
    tonic_prost_build::configure()
        .build_transport(false)
        .server_mod_attribute(".", "#[cfg(feature = \"server\")]")
        // Malformed messages are INVALID_ARGUMENT, not INTERNAL (src/codec.rs).
        .codec_path("crate::codec::Codec")
        .compile_fds(descriptors)?;
    Ok(())
}
