//! cutover's decision core: value types, the Route53 record model and its rules, the
//! external-dns TXT registry, the state record, the configuration, the operator commands and the
//! pure planner. Nothing here does I/O: the crate depends on no async runtime, no AWS or
//! Kubernetes client and no network library, so the compiler keeps every decision pure.
pub mod changes;
pub mod command;
pub mod config;
pub mod observation;
pub mod planner;
pub mod registry;
pub mod route53;
pub mod state;
pub mod text;
pub mod traffic;
pub mod txt;
pub mod types;
pub mod wave;
