//! Everything about Route53: the record model, the pre-send validator of every rule in the
//! reference, and the client behind a small trait so the sandbox and AWS plug in the same way.
pub mod client;
pub mod ratelimit;

pub use cutover_core::route53::{model, pack, validate, zone};
