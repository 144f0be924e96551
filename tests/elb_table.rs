//! The canonical hosted zones of load balancers are data that both cutover and the sandbox hold,
//! each its own copy so that the sandbox stays an independent implementation of Route53. The two
//! copies must be the same table (docs/reference/route53.md "Alias records").
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

#[test]
fn cutover_and_the_sandbox_hold_the_same_load_balancer_zone_table() {
    let cutover: Vec<(&str, &str, &str)> =
        cutover_core::route53::zone::elb::CANONICAL_ZONES.to_vec();
    let sandbox: Vec<(&str, &str, &str)> = sandbox::lb::ZONE_IDS.to_vec();
    assert_eq!(cutover.len(), 38, "regions in the reference table");
    for (c, s) in cutover.iter().zip(sandbox.iter()) {
        assert_eq!(c, s, "row of region {} differs", c.0);
    }
    assert_eq!(cutover, sandbox);
}
