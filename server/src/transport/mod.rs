//! What sits between the socket and the handlers: request framing checks,
//! the RPC observer, overload protection and the router that stacks them.

pub mod framing;
