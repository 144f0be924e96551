//! The ports to the world and their adapters: Route53 (`route53`, with the client-side rate
//! limit in `ratelimit`), the clusters' source objects through EKS (`kubernetes`: Ingresses,
//! Services, and HTTPRoutes with their Gateways resolved in `gateway`), HTTP and TCP probes of
//! the load balancers (`health`) and the clock (`clock`). `accounts` gives each zone and each
//! cluster the credentials of the role it names (STS `AssumeRole`, cached). Each port is a small object-safe trait, so
//! AWS and the local sandbox plug in the same way; each adapter converts what it reads into the
//! core's observation types.
pub mod accounts;
pub mod clock;
pub mod cloudwatch;
pub mod gateway;
pub mod health;
pub mod kubernetes;
pub mod ratelimit;
pub mod route53;

/// An error and its sources, joined with ": " (why a request failed: refused, reset,
/// certificate…), for reports and logs.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
