//! cutover: moves live services between EKS clusters by steering Route53.
//!
//! The pipeline: observe (zone, Ingresses, health) → decide (a pure planner) → apply (one atomic
//! Route53 batch per service) → report. See docs/architecture.md.
pub mod cli;
pub mod clock;
pub mod engine;
pub mod events;
pub mod health;
pub mod kubernetes;
pub mod route53;

pub use cutover_core::{command, config, planner, registry, state, types};
