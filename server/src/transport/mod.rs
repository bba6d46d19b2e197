//! What sits between the socket and the handlers: request framing checks,
//! the RPC observer, overload protection and the router that stacks them,
//! and the body wrapper the first two watch frames through.

pub mod body;
pub mod client;
pub mod framing;
