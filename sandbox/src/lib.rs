//! A faithful local stand-in for what cutover drives: Route53, EKS, each cluster's Kubernetes
//! API, each cluster's external-dns, and the load balancers. See docs/sandbox.md.
pub mod clock;
pub mod cluster;
pub mod eks;
pub mod external_dns;
pub mod kube_api;
pub mod lb;
pub mod pki;
pub mod route53;
pub mod token;
pub mod world;

/// The dummy credentials the sandbox accepts (and signs EKS tokens with). Never real ones.
pub const ACCESS_KEY_ID: &str = "AKIASANDBOXEXAMPLE01";
pub const SECRET_ACCESS_KEY: &str = "sandbox/not/a/real/secret/key/000000000";
