//! Route53 as cutover reasons about it: the record model, a zone snapshot, the pre-send
//! validator of every rule in docs/reference/route53.md, and the packer of change batches.
pub mod model;
pub mod pack;
pub mod validate;
pub mod zone;
