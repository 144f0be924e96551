//! The report as a table for people (`cutover status --output table`): one row per service, then
//! the changes a plan would send and whatever needs attention. JSON stays the format for scripts
//! and the Lambda's answer; the table is drawn from that same JSON, so both always agree.

use serde_json::Value;

const HEADINGS: [&str; 5] = [
    "SERVICE",
    "DECISION",
    "WEIGHTS from/to",
    "APPLIED",
    "SUMMARY",
];

/// The report (one command's, or an SNS batch's `records`) as text.
pub fn render(report: &Value) -> String {
    let mut out = String::new();
    match report.get("records").and_then(Value::as_array) {
        Some(records) => {
            for (i, record) in records.iter().enumerate() {
                out.push_str(&format!("record {i}:\n"));
                render_one(record, &mut out);
            }
        }
        None => render_one(report, &mut out),
    }
    if let Some(outcome) = report.get("outcome").and_then(Value::as_str) {
        out.push_str(&format!("outcome: {outcome}\n"));
    }
    out
}

fn render_one(report: &Value, out: &mut String) {
    if let Some(error) = report.get("error") {
        let field = text(error, "field");
        let message = text(error, "message");
        out.push_str(&format!("refused: {field}: {message}\n"));
        return;
    }
    let services = report
        .get("services")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let rows: Vec<[String; 5]> = services.iter().map(row).collect();
    out.push_str(&aligned(&rows));
    for service in services {
        details(service, out);
    }
    for error in strings(report, "errors") {
        out.push_str(&format!("error: {error}\n"));
    }
    for cluster in report
        .get("clusters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        out.push_str(&format!(
            "cluster {}: {} ({})\n",
            text(cluster, "cluster"),
            text(cluster, "error"),
            text(cluster, "blocks")
        ));
    }
}

fn row(service: &Value) -> [String; 5] {
    let applied = match (
        service.get("applied").and_then(Value::as_bool),
        service.get("error"),
    ) {
        (_, Some(_)) => "error",
        (Some(true), _) => "yes",
        _ if service.get("batch").is_some_and(|b| !b.is_null()) => "no",
        _ => "-",
    };
    [
        text(service, "service"),
        text(service, "kind"),
        weights(service),
        applied.to_string(),
        text(service, "summary"),
    ]
}

/// `90/10 → 75/25` when the decision moves traffic, `90/10` when it does not.
fn weights(service: &Value) -> String {
    let pair = |key: &str| {
        let w = service.get(key)?;
        Some(format!("{}/{}", w.get("from")?, w.get("to")?))
    };
    match (pair("weights_before"), pair("weights_after")) {
        (Some(before), Some(after)) if before != after => format!("{before} → {after}"),
        (Some(before), _) => before,
        (None, Some(after)) => format!("→ {after}"),
        (None, None) => "-".to_string(),
    }
}

/// What follows a service's row: its error, what it waits for, its alerts and its changes.
fn details(service: &Value, out: &mut String) {
    let name = text(service, "service");
    if let Some(error) = service.get("error").and_then(Value::as_str) {
        out.push_str(&format!("{name}: error: {error}\n"));
    }
    if let Some(waits) = service.get("waits_for").and_then(Value::as_str) {
        out.push_str(&format!("{name}: waits for {waits}\n"));
    }
    for alert in strings(service, "alerts") {
        out.push_str(&format!("{name}: alert: {alert}\n"));
    }
    let changes = service
        .get("batch")
        .and_then(|b| b.get("changes"))
        .and_then(Value::as_array);
    for change in changes.into_iter().flatten() {
        out.push_str(&format!("{name}: {}\n", change_line(change)));
    }
}

/// `UPSERT A payments.example.com. [blue] weight 75 → k8s-blue.elb.amazonaws.com.`
fn change_line(change: &Value) -> String {
    let record = change.get("record").unwrap_or(&Value::Null);
    let mut line = format!(
        "{} {} {}",
        text(change, "action"),
        text(record, "type"),
        text(record, "name")
    );
    if let Some(sid) = record.get("set_identifier").and_then(Value::as_str) {
        line.push_str(&format!(" [{sid}]"));
    }
    if let Some(weight) = record.get("weight").and_then(Value::as_u64) {
        line.push_str(&format!(" weight {weight}"));
    }
    if let Some(target) = record.get("alias").and_then(|a| a.get("dns_name")) {
        line.push_str(&format!(" → {}", target.as_str().unwrap_or_default()));
    }
    for value in strings(record, "values") {
        line.push(' ');
        line.push_str(&shortened(value));
    }
    line
}

/// A long value (the state record's JSON) cut to what a person scans; `--output json` has it whole.
fn shortened(value: &str) -> String {
    const KEEP: usize = 72;
    match value.char_indices().nth(KEEP) {
        Some((cut, _)) => format!("{}…", &value[..cut]),
        None => value.to_string(),
    }
}

/// Columns padded to their widest cell; the last one is left as long as it is.
fn aligned(rows: &[[String; 5]]) -> String {
    let mut widths = HEADINGS.map(|h| h.chars().count());
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 5]| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                let pad = widths[i] - cell.chars().count();
                text.push_str(cell);
                text.push_str(&" ".repeat(pad + 2));
            }
        }
        text.trim_end().to_string() + "\n"
    };
    let mut out = line(HEADINGS);
    for row in rows {
        out.push_str(&line([&row[0], &row[1], &row[2], &row[3], &row[4]]));
    }
    out
}

fn text(value: &Value, key: &str) -> String {
    match value.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "-".to_string(),
        Some(other) => other.to_string(),
    }
}

fn strings<'a>(value: &'a Value, key: &str) -> impl Iterator<Item = &'a str> {
    value
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_plan_shows_one_row_per_service_and_the_changes_it_would_send() {
        let report = json!({
            "action": "plan", "outcome": "done",
            "services": [
                {"service": "payments", "kind": "advance", "summary": "step 2: 25 % on green",
                 "weights_before": {"from": 90, "to": 10}, "weights_after": {"from": 75, "to": 25},
                 "applied": false, "waits_for": null, "alerts": [],
                 "batch": {"changes": [
                    {"action": "UPSERT", "record": {"name": "payments.example.com.", "type": "A",
                      "set_identifier": "green", "weight": 25,
                      "alias": {"hosted_zone_id": "Z1", "dns_name": "green-lb.example.com."}}}
                 ]}},
                {"service": "web", "kind": "noop", "summary": "no migration (no state record)",
                 "applied": false, "alerts": ["orphan: parked records without a state record"]}
            ]
        });
        let table = render(&report);
        let lines: Vec<&str> = table.lines().collect();
        assert!(
            lines[0].starts_with("SERVICE   DECISION  WEIGHTS from/to"),
            "{table}"
        );
        assert!(
            lines[1].starts_with("payments  advance   90/10 → 75/25"),
            "{table}"
        );
        assert!(
            lines[1].ends_with("no       step 2: 25 % on green"),
            "{table}"
        );
        assert!(lines[2].starts_with("web       noop      -"), "{table}");
        assert!(table.contains(
            "payments: UPSERT A payments.example.com. [green] weight 25 → green-lb.example.com.\n"
        ));
        assert!(table.contains("web: alert: orphan: parked records without a state record\n"));
        assert!(table.ends_with("outcome: done\n"));
    }

    #[test]
    fn a_long_record_value_is_cut_in_the_table_only() {
        let state = format!("\"{}\"", "x".repeat(200));
        let report = json!({"services": [{"service": "web", "kind": "start", "summary": "s",
            "batch": {"changes": [{"action": "CREATE", "record": {"name": "_cutover.web.example.com.",
              "type": "TXT", "values": [state]}}]}}]});
        let table = render(&report);
        let line = table
            .lines()
            .find(|l| l.starts_with("web: CREATE"))
            .unwrap();
        assert!(line.ends_with('…'), "{line}");
        assert_eq!(line.split(' ').next_back().unwrap().chars().count(), 73);
    }

    #[test]
    fn a_refusal_and_cluster_problems_are_shown_in_words() {
        let refused = json!({"error": {"field": "service", "message": "unknown service \"x\""},
                              "outcome": "refused"});
        assert_eq!(
            render(&refused),
            "refused: service: unknown service \"x\"\noutcome: refused\n"
        );
        let report = json!({"services": [], "outcome": "failed", "errors": ["zone Z1: throttled"],
            "clusters": [{"cluster": "green", "error": "token expired", "blocks": "start of web"}]});
        let table = render(&report);
        assert!(table.contains("error: zone Z1: throttled\n"), "{table}");
        assert!(
            table.contains("cluster green: token expired (start of web)\n"),
            "{table}"
        );
    }
}
