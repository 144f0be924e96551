//! cutover: moves live services between EKS clusters by steering Route53.
//!
//! The pipeline, as the folders show it: `events` turn a trigger into a command; `engine` runs it
//! — observe the world through the ports in `observe`, decide with the pure planner of
//! `cutover_core`, apply one atomic Route53 batch per service — and answers with a `report`. The
//! entry points are the Lambda (`lambda`) and the CLI (`cli`), wired to AWS by `clients`. See
//! docs/architecture.md.
pub mod cli;
pub mod clients;
pub mod emf;
pub mod engine;
pub mod events;
pub mod lambda;
pub mod notify;
pub mod observe;
pub mod report;
pub mod table;
