//! Route53's REST-XML wire form: request bodies in, responses and errors out. Request parsing is
//! tolerant (unknown elements ignored) and never panics: bad XML is `InvalidInput`.

use quick_xml::escape::{escape, resolve_predefined_entity};
use quick_xml::events::Event;
use quick_xml::Reader;

use super::listing::Page;
use super::model::{Action, AliasTarget, ApiError, Change, ChangeInfo, Rrset};
use super::zone::{Vpc, Zone};

pub const NAMESPACE: &str = "https://route53.amazonaws.com/doc/2013-04-01/";
/// Deeper documents are refused (Route53's documents are at most 7 levels deep).
const MAX_DEPTH: usize = 32;

/// A parsed XML element: local name, direct text and children.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The child's text, trimmed.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.trim())
    }
}

fn bad_xml(detail: impl std::fmt::Display) -> ApiError {
    ApiError::invalid_input(format!("Invalid XML ; {detail}"))
}

/// Parses a whole document into its root element.
pub fn parse_xml(body: &[u8]) -> Result<Element, ApiError> {
    let text = std::str::from_utf8(body).map_err(|e| bad_xml(format!("not UTF-8: {e}")))?;
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let event = reader.read_event().map_err(bad_xml)?;
        match event {
            Event::Start(start) => {
                if root.is_some() {
                    return Err(bad_xml("content after the root element"));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(bad_xml("document nested too deeply"));
                }
                stack.push(Element {
                    name: local_name(start.local_name().as_ref())?,
                    ..Element::default()
                });
            }
            Event::Empty(start) => {
                let element = Element {
                    name: local_name(start.local_name().as_ref())?,
                    ..Element::default()
                };
                attach(&mut stack, &mut root, element)?;
            }
            Event::End(_) => {
                let element = stack.pop().ok_or_else(|| bad_xml("unexpected end tag"))?;
                attach(&mut stack, &mut root, element)?;
            }
            Event::Text(t) => {
                let decoded = t.decode().map_err(bad_xml)?;
                push_text(&mut stack, &decoded)?;
            }
            Event::CData(c) => {
                let decoded = c.decode().map_err(bad_xml)?;
                push_text(&mut stack, &decoded)?;
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref().map_err(bad_xml)? {
                    Some(c) => c.to_string(),
                    None => {
                        let name = r.decode().map_err(bad_xml)?;
                        resolve_predefined_entity(&name)
                            .ok_or_else(|| bad_xml(format!("unknown entity &{name};")))?
                            .to_string()
                    }
                };
                push_text(&mut stack, &resolved)?;
            }
            Event::Eof => break,
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(bad_xml("unexpected end of document"));
    }
    root.ok_or_else(|| bad_xml("no root element"))
}

fn local_name(raw: &[u8]) -> Result<String, ApiError> {
    std::str::from_utf8(raw)
        .map(str::to_string)
        .map_err(|e| bad_xml(format!("element name not UTF-8: {e}")))
}

fn attach(
    stack: &mut [Element],
    root: &mut Option<Element>,
    element: Element,
) -> Result<(), ApiError> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None if root.is_none() => *root = Some(element),
        None => return Err(bad_xml("more than one root element")),
    }
    Ok(())
}

fn push_text(stack: &mut [Element], text: &str) -> Result<(), ApiError> {
    match stack.last_mut() {
        Some(el) => el.text.push_str(text),
        None if text.trim().is_empty() => {}
        None => return Err(bad_xml("text outside the root element")),
    }
    Ok(())
}

fn expect_root(root: &Element, name: &str) -> Result<(), ApiError> {
    if root.name == name {
        Ok(())
    } else {
        Err(ApiError::invalid_input(format!(
            "Invalid XML ; expected root element {name}, found {}",
            root.name
        )))
    }
}

fn null_field(path: &str) -> ApiError {
    ApiError::invalid_input(format!(
        "1 validation error detected: Value null at '{path}' failed to satisfy constraint: Member must not be null"
    ))
}

fn required<'a>(el: &'a Element, name: &str, path: &str) -> Result<&'a str, ApiError> {
    el.child_text(name).ok_or_else(|| null_field(path))
}

fn parse_number(el: &Element, name: &str, path: &str) -> Result<Option<i64>, ApiError> {
    let Some(text) = el.child_text(name) else {
        return Ok(None);
    };
    text.parse::<i64>().map(Some).map_err(|_| {
        ApiError::invalid_input(format!(
            "Invalid XML ; '{text}' at '{path}' is not a valid integer"
        ))
    })
}

fn parse_bool(text: &str, path: &str) -> Result<bool, ApiError> {
    match text {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(ApiError::invalid_input(format!(
            "Invalid XML ; '{other}' at '{path}' is not a valid boolean"
        ))),
    }
}

/// Routing policies the sandbox does not model: refused rather than silently dropped.
const UNSUPPORTED_POLICY_ELEMENTS: [&str; 7] = [
    "Region",
    "GeoLocation",
    "Failover",
    "MultiValueAnswer",
    "TrafficPolicyInstanceId",
    "CidrRoutingConfig",
    "GeoProximityLocation",
];

/// A `ChangeResourceRecordSetsRequest` body → changes and comment.
pub fn decode_change_request(body: &[u8]) -> Result<(Vec<Change>, Option<String>), ApiError> {
    let root = parse_xml(body)?;
    expect_root(&root, "ChangeResourceRecordSetsRequest")?;
    let batch = root
        .child("ChangeBatch")
        .ok_or_else(|| null_field("changeBatch"))?;
    let comment = batch.child("Comment").map(|c| c.text.clone());
    let list = batch
        .child("Changes")
        .ok_or_else(|| null_field("changeBatch.changes"))?;
    let mut changes = Vec::new();
    for (i, el) in list.children_named("Change").enumerate() {
        let path = format!("changeBatch.changes.{}.member", i + 1);
        changes.push(decode_change(el, &path)?);
    }
    Ok((changes, comment))
}

fn decode_change(el: &Element, path: &str) -> Result<Change, ApiError> {
    let action_text = required(el, "Action", &format!("{path}.action"))?;
    let action = Action::parse(action_text).ok_or_else(|| {
        ApiError::invalid_input(format!(
            "1 validation error detected: Value '{action_text}' at '{path}.action' failed to satisfy constraint: Member must satisfy enum value set: [UPSERT, DELETE, CREATE]"
        ))
    })?;
    let rrset_path = format!("{path}.resourceRecordSet");
    let rrset_el = el
        .child("ResourceRecordSet")
        .ok_or_else(|| null_field(&rrset_path))?;
    Ok(Change {
        action,
        rrset: decode_rrset(rrset_el, &rrset_path)?,
    })
}

fn decode_rrset(el: &Element, path: &str) -> Result<Rrset, ApiError> {
    if let Some(policy) = UNSUPPORTED_POLICY_ELEMENTS
        .iter()
        .find(|p| el.child(p).is_some())
    {
        return Err(ApiError::invalid_input(format!(
            "The sandbox does not support {policy} (only simple and weighted records) at '{path}'"
        )));
    }
    let mut records = Vec::new();
    if let Some(list) = el.child("ResourceRecords") {
        for (j, rr) in list.children_named("ResourceRecord").enumerate() {
            let value = rr.child("Value").ok_or_else(|| {
                null_field(&format!("{path}.resourceRecords.{}.member.value", j + 1))
            })?;
            records.push(value.text.clone());
        }
    }
    Ok(Rrset {
        name: required(el, "Name", &format!("{path}.name"))?.to_string(),
        rtype: required(el, "Type", &format!("{path}.type"))?.to_string(),
        set_identifier: el.child("SetIdentifier").map(|c| c.text.clone()),
        weight: parse_number(el, "Weight", &format!("{path}.weight"))?,
        ttl: parse_number(el, "TTL", &format!("{path}.tTL"))?,
        records,
        alias_target: el
            .child("AliasTarget")
            .map(|a| decode_alias(a, &format!("{path}.aliasTarget")))
            .transpose()?,
        health_check_id: el.child_text("HealthCheckId").map(str::to_string),
    })
}

fn decode_alias(el: &Element, path: &str) -> Result<AliasTarget, ApiError> {
    let eth_path = format!("{path}.evaluateTargetHealth");
    Ok(AliasTarget {
        hosted_zone_id: required(el, "HostedZoneId", &format!("{path}.hostedZoneId"))?.to_string(),
        dns_name: required(el, "DNSName", &format!("{path}.dNSName"))?.to_string(),
        evaluate_target_health: parse_bool(
            required(el, "EvaluateTargetHealth", &eth_path)?,
            &eth_path,
        )?,
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateZoneRequest {
    pub name: String,
    pub caller_reference: String,
    pub comment: Option<String>,
    pub private: bool,
    /// The VPC a private zone is created associated with.
    pub vpc: Option<Vpc>,
}

/// A `CreateHostedZoneRequest` body.
pub fn decode_create_zone(body: &[u8]) -> Result<CreateZoneRequest, ApiError> {
    let root = parse_xml(body)?;
    expect_root(&root, "CreateHostedZoneRequest")?;
    let config = root.child("HostedZoneConfig");
    let private_flag = config
        .and_then(|c| c.child_text("PrivateZone"))
        .map(|t| parse_bool(t, "hostedZoneConfig.privateZone"))
        .transpose()?;
    Ok(CreateZoneRequest {
        name: required(&root, "Name", "name")?.to_string(),
        caller_reference: required(&root, "CallerReference", "callerReference")?.to_string(),
        comment: config
            .and_then(|c| c.child("Comment"))
            .map(|c| c.text.clone()),
        private: private_flag.unwrap_or(false) || root.child("VPC").is_some(),
        vpc: match root.child("VPC") {
            Some(vpc) => Some(Vpc {
                region: required(vpc, "VPCRegion", "vpc.vpcRegion")?.to_string(),
                id: required(vpc, "VPCId", "vpc.vpcId")?.to_string(),
            }),
            None => None,
        },
    })
}

/// Writes a response document.
pub struct XmlWriter {
    out: String,
    root: &'static str,
}

impl XmlWriter {
    pub fn new(root: &'static str) -> Self {
        let out =
            format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{root} xmlns=\"{NAMESPACE}\">");
        XmlWriter { out, root }
    }

    pub fn open(&mut self, tag: &str) {
        self.out.push('<');
        self.out.push_str(tag);
        self.out.push('>');
    }

    pub fn close(&mut self, tag: &str) {
        self.out.push_str("</");
        self.out.push_str(tag);
        self.out.push('>');
    }

    pub fn leaf(&mut self, tag: &str, text: &str) {
        self.open(tag);
        self.out.push_str(&escape(text));
        self.close(tag);
    }

    pub fn finish(mut self) -> String {
        let root = self.root;
        self.close(root);
        self.out
    }
}

/// docs/reference/route53.md "Error wire form":
/// `<ErrorResponse><Error><Type>Sender</Type><Code>…</Code><Message>…</Message></Error><RequestId>…</RequestId></ErrorResponse>`.
pub fn render_error(error: &ApiError, request_id: &str) -> String {
    let mut w = XmlWriter::new("ErrorResponse");
    w.open("Error");
    w.leaf("Type", error.fault_type());
    w.leaf("Code", &error.code);
    w.leaf("Message", &error.message);
    w.close("Error");
    w.leaf("RequestId", request_id);
    w.finish()
}

pub fn write_change_info(w: &mut XmlWriter, info: &ChangeInfo) {
    w.open("ChangeInfo");
    w.leaf("Id", &format!("/change/{}", info.id));
    w.leaf("Status", info.status.as_str());
    w.leaf("SubmittedAt", &info.submitted_at);
    if let Some(comment) = &info.comment {
        w.leaf("Comment", comment);
    }
    w.close("ChangeInfo");
}

/// `ChangeResourceRecordSetsResponse` or `GetChangeResponse`.
pub fn render_change_info(root: &'static str, info: &ChangeInfo) -> String {
    let mut w = XmlWriter::new(root);
    write_change_info(&mut w, info);
    w.finish()
}

pub fn write_hosted_zone(w: &mut XmlWriter, zone: &Zone) {
    w.open("HostedZone");
    w.leaf("Id", &format!("/hostedzone/{}", zone.id));
    w.leaf("Name", &zone.name.to_wire());
    w.leaf("CallerReference", &zone.caller_reference);
    w.open("Config");
    if let Some(comment) = &zone.comment {
        w.leaf("Comment", comment);
    }
    w.leaf("PrivateZone", if zone.private { "true" } else { "false" });
    w.close("Config");
    w.leaf("ResourceRecordSetCount", &zone.records.len().to_string());
    w.close("HostedZone");
}

fn write_delegation_set(w: &mut XmlWriter, zone: &Zone) {
    w.open("DelegationSet");
    w.open("NameServers");
    for ns in &zone.name_servers {
        w.leaf("NameServer", ns);
    }
    w.close("NameServers");
    w.close("DelegationSet");
}

pub fn render_create_zone(zone: &Zone, info: &ChangeInfo) -> String {
    let mut w = XmlWriter::new("CreateHostedZoneResponse");
    write_hosted_zone(&mut w, zone);
    write_change_info(&mut w, info);
    write_delegation_set(&mut w, zone);
    w.finish()
}

/// GetHostedZone: a public zone's delegation set, a private zone's VPCs.
pub fn render_get_zone(zone: &Zone) -> String {
    let mut w = XmlWriter::new("GetHostedZoneResponse");
    write_hosted_zone(&mut w, zone);
    if zone.private {
        w.open("VPCs");
        for vpc in &zone.vpcs {
            w.open("VPC");
            w.leaf("VPCRegion", &vpc.region);
            w.leaf("VPCId", &vpc.id);
            w.close("VPC");
        }
        w.close("VPCs");
    } else {
        write_delegation_set(&mut w, zone);
    }
    w.finish()
}

pub fn render_list_zones(
    zones: &[&Zone],
    marker: Option<&str>,
    next_marker: Option<&str>,
    max_items: usize,
) -> String {
    let mut w = XmlWriter::new("ListHostedZonesResponse");
    w.open("HostedZones");
    for zone in zones {
        write_hosted_zone(&mut w, zone);
    }
    w.close("HostedZones");
    w.leaf("Marker", marker.unwrap_or(""));
    w.leaf("IsTruncated", bool_text(next_marker.is_some()));
    if let Some(next) = next_marker {
        w.leaf("NextMarker", next);
    }
    w.leaf("MaxItems", &max_items.to_string());
    w.finish()
}

pub struct ByNamePage<'a> {
    pub zones: Vec<&'a Zone>,
    pub dns_name: Option<String>,
    pub hosted_zone_id: Option<String>,
    pub next: Option<(String, String)>,
    pub max_items: usize,
}

pub fn render_list_zones_by_name(page: &ByNamePage<'_>) -> String {
    let mut w = XmlWriter::new("ListHostedZonesByNameResponse");
    w.open("HostedZones");
    for zone in &page.zones {
        write_hosted_zone(&mut w, zone);
    }
    w.close("HostedZones");
    if let Some(name) = &page.dns_name {
        w.leaf("DNSName", name);
    }
    if let Some(id) = &page.hosted_zone_id {
        w.leaf("HostedZoneId", id);
    }
    w.leaf("IsTruncated", bool_text(page.next.is_some()));
    if let Some((name, id)) = &page.next {
        w.leaf("NextDNSName", name);
        w.leaf("NextHostedZoneId", id);
    }
    w.leaf("MaxItems", &page.max_items.to_string());
    w.finish()
}

fn bool_text(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

fn write_rrset(w: &mut XmlWriter, r: &Rrset) {
    w.open("ResourceRecordSet");
    w.leaf("Name", &r.name);
    w.leaf("Type", &r.rtype);
    if let Some(id) = &r.set_identifier {
        w.leaf("SetIdentifier", id);
    }
    if let Some(weight) = r.weight {
        w.leaf("Weight", &weight.to_string());
    }
    if let Some(ttl) = r.ttl {
        w.leaf("TTL", &ttl.to_string());
    }
    if !r.records.is_empty() {
        w.open("ResourceRecords");
        for value in &r.records {
            w.open("ResourceRecord");
            w.leaf("Value", value);
            w.close("ResourceRecord");
        }
        w.close("ResourceRecords");
    }
    if let Some(alias) = &r.alias_target {
        w.open("AliasTarget");
        w.leaf("HostedZoneId", &alias.hosted_zone_id);
        w.leaf("DNSName", &alias.dns_name);
        w.leaf(
            "EvaluateTargetHealth",
            bool_text(alias.evaluate_target_health),
        );
        w.close("AliasTarget");
    }
    if let Some(id) = &r.health_check_id {
        w.leaf("HealthCheckId", id);
    }
    w.close("ResourceRecordSet");
}

pub fn render_list_rrsets(page: &Page) -> String {
    let mut w = XmlWriter::new("ListResourceRecordSetsResponse");
    w.open("ResourceRecordSets");
    for r in &page.records {
        write_rrset(&mut w, r);
    }
    w.close("ResourceRecordSets");
    w.leaf("IsTruncated", bool_text(page.next.is_some()));
    if let Some(next) = &page.next {
        w.leaf("NextRecordName", &next.name);
        w.leaf("NextRecordType", &next.rtype);
        if let Some(id) = &next.identifier {
            w.leaf("NextRecordIdentifier", id);
        }
    }
    w.leaf("MaxItems", &page.max_items.to_string());
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_change_batch_ignoring_unknown_elements() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<ChangeResourceRecordSetsRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/">
  <Unknown><Deep>x</Deep></Unknown>
  <ChangeBatch><Comment>a &amp; b</Comment><Changes>
    <Change><Action>CREATE</Action><ResourceRecordSet>
      <Name>x.example.com</Name><Type>TXT</Type><TTL>300</TTL><Other/>
      <ResourceRecords><ResourceRecord><Value>"v &#x41;"</Value></ResourceRecord></ResourceRecords>
    </ResourceRecordSet></Change>
  </Changes></ChangeBatch>
</ChangeResourceRecordSetsRequest>"#;
        let (changes, comment) = decode_change_request(body).unwrap();
        assert_eq!(comment.as_deref(), Some("a & b"));
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].rrset.records, vec!["\"v A\"".to_string()]);
        assert_eq!(changes[0].rrset.ttl, Some(300));
    }

    #[test]
    fn bad_xml_is_invalid_input() {
        for body in [
            &b"<a><b></a>"[..],
            b"",
            b"<a>",
            b"\xff\xfe",
            b"<a/><b/>",
            b"<a>&nope;</a>",
            b"text",
        ] {
            let err = parse_xml(body).unwrap_err();
            assert_eq!(
                (err.status, err.code.as_str()),
                (400, "InvalidInput"),
                "{body:?}"
            );
        }
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert_eq!(parse_xml(deep.as_bytes()).unwrap_err().code, "InvalidInput");
    }

    #[test]
    fn every_truncation_of_a_valid_body_is_answered_without_panic() {
        let body = r#"<?xml version="1.0"?><ChangeResourceRecordSetsRequest xmlns="x"><ChangeBatch><Changes><Change><Action>UPSERT</Action><ResourceRecordSet><Name>a.example.com</Name><Type>A</Type><SetIdentifier>s</SetIdentifier><Weight>5</Weight><AliasTarget><HostedZoneId>Z1</HostedZoneId><DNSName>lb.example.com</DNSName><EvaluateTargetHealth>true</EvaluateTargetHealth></AliasTarget></ResourceRecordSet></Change></Changes></ChangeBatch></ChangeResourceRecordSetsRequest>"#;
        assert!(decode_change_request(body.as_bytes()).is_ok());
        for end in 0..body.len() {
            if let Err(e) = decode_change_request(&body.as_bytes()[..end]) {
                assert_eq!(e.code, "InvalidInput", "prefix of {end} bytes");
            }
        }
    }

    #[test]
    fn error_form_matches_reference() {
        let e = ApiError::invalid_change_batch(&["m1".into(), "m2".into()]);
        let xml = render_error(&e, "rid");
        assert!(xml.contains("<ErrorResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><Error><Type>Sender</Type><Code>InvalidChangeBatch</Code><Message>[m1, m2]</Message></Error><RequestId>rid</RequestId></ErrorResponse>"), "{xml}");
    }
}
