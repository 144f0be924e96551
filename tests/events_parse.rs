//! Every trigger shape (the samples in `events/`) and every bad-input path, with the field named.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

use std::path::Path;

use cutover::events::{parse_invocation, EventError};
use cutover_core::command::{Action, Command, Strategy, Trigger};
use cutover_core::types::{Name, Percent};
use serde_json::{json, Value};

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:cutover-deploys";

fn topics() -> Vec<String> {
    vec![TOPIC.to_string()]
}

fn sample(file: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("events")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

/// Parses a payload expected to hold exactly one good command.
fn one(payload: &Value) -> Command {
    let mut commands = parse_invocation(payload, &topics()).expect("payload accepted");
    assert_eq!(commands.len(), 1);
    commands.remove(0).expect("command accepted")
}

fn one_err(payload: &Value) -> EventError {
    let err = match parse_invocation(payload, &topics()) {
        Err(e) => e,
        Ok(commands) => match commands.as_slice() {
            [Err(e)] => e.clone(),
            other => panic!("expected one error, got {other:?}"),
        },
    };
    assert_readable(&err);
    err
}

/// Every error message is in words: no Rust debug notation (`Name("…")`, `Some(…)`).
fn assert_readable(err: &EventError) {
    let message = err.to_string();
    if let Some(found) = cutover_core::text::debug_notation(&message) {
        panic!("debug notation {found:?} in {message:?}");
    }
}

fn name(s: &str) -> Name {
    Name::new(s).unwrap()
}

fn payments(action: Action, actor: &str, reason: &str) -> Command {
    Command {
        action,
        service: Some(name("payments")),
        dry_run: false,
        actor: actor.into(),
        reason: Some(reason.into()),
        id: None,
        trigger: Trigger::Operator,
    }
}

// ----- the samples, one per trigger and per manual command --------------------------------

#[test]
fn classic_scheduled_event_is_a_tick() {
    assert_eq!(
        one(&sample("eventbridge-scheduled-tick.json")),
        Command::tick("schedule")
    );
}

#[test]
fn scheduler_payload_is_the_command_passed_verbatim() {
    assert_eq!(
        one(&sample("scheduler-tick.json")),
        Command::tick("schedule")
    );
}

#[test]
fn eventbridge_detail_is_a_command() {
    let mut expected = payments(Action::Pause, "oncall-bot", "incident INC-4411 open");
    expected.id = Some("inc-4411-pause".into());
    assert_eq!(one(&sample("eventbridge-command.json")), expected);
}

#[test]
fn sns_deploy_message_starts_with_the_message_id_as_command_id() {
    assert_eq!(
        one(&sample("sns-deployed.json")),
        Command {
            action: Action::Start {
                to: Some(name("green")),
                strategy: Some(Strategy::Canary),
                version: Some("v42".into()),
                wave: None,
            },
            service: Some(name("payments")),
            dry_run: false,
            actor: "ci#812".into(),
            reason: Some("deployed v42 on green".into()),
            id: Some("95df01b4-ee98-5cb9-9903-4c221d41eb5e".into()),
            trigger: Trigger::Deploy,
        }
    );
}

#[test]
fn every_manual_sample_parses_to_its_command() {
    let cases: Vec<(&str, Command)> = vec![
        (
            "manual-status.json",
            Command {
                action: Action::Status,
                service: Some(name("payments")),
                dry_run: false,
                actor: "anonymous".into(),
                reason: None,
                id: None,
                trigger: Trigger::Operator,
            },
        ),
        (
            "manual-plan.json",
            Command {
                action: Action::Plan,
                service: Some(name("payments")),
                dry_run: false,
                actor: "alice".into(),
                reason: None,
                id: None,
                trigger: Trigger::Operator,
            },
        ),
        (
            "manual-start.json",
            Command {
                id: Some("start-payments-2026-11-25".into()),
                ..payments(
                    Action::Start {
                        to: Some(name("green")),
                        strategy: Some(Strategy::Canary),
                        version: Some("v42".into()),
                        wave: None,
                    },
                    "alice",
                    "move to the 1.37 cluster",
                )
            },
        ),
        (
            "manual-pause.json",
            payments(Action::Pause, "alice", "waiting for the DB migration"),
        ),
        (
            "manual-resume.json",
            payments(Action::Resume, "alice", "DB migration done"),
        ),
        (
            "manual-promote.json",
            Command {
                id: Some("promote-7".into()),
                ..payments(Action::Promote, "alice", "metrics look good")
            },
        ),
        (
            "manual-promote-full.json",
            Command {
                dry_run: true,
                ..payments(Action::PromoteFull, "alice", "green verified")
            },
        ),
        (
            "manual-rollback.json",
            Command {
                id: Some("rb-2026-11-25-1".into()),
                ..payments(Action::Rollback, "alice", "5xx")
            },
        ),
        (
            "manual-set-weight.json",
            payments(
                Action::SetWeight {
                    percent: Percent::new(25).unwrap(),
                },
                "alice",
                "hold at a quarter",
            ),
        ),
        (
            "manual-handover.json",
            payments(Action::Handover, "alice", "both Ingresses updated"),
        ),
        (
            "manual-approve.json",
            payments(Action::Approve, "alice", "dashboards look fine"),
        ),
        (
            "manual-adopt.json",
            Command {
                dry_run: true,
                ..payments(
                    Action::Adopt,
                    "alice",
                    "the state record was deleted by hand",
                )
            },
        ),
        (
            "manual-tick.json",
            Command {
                action: Action::Tick,
                service: None,
                dry_run: false,
                actor: "alice".into(),
                reason: Some("run the schedule now".into()),
                id: None,
                trigger: Trigger::Operator,
            },
        ),
    ];
    for (file, expected) in cases {
        assert_eq!(one(&sample(file)), expected, "{file}");
    }
}

#[test]
fn every_sample_file_is_covered_by_a_test() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("events");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let manual: Vec<String> = [
        "status",
        "plan",
        "start",
        "pause",
        "resume",
        "promote",
        "promote-full",
        "rollback",
        "set-weight",
        "handover",
        "approve",
        "adopt",
        "tick",
    ]
    .iter()
    .map(|a| format!("manual-{a}.json"))
    .collect();
    let mut expected: Vec<String> = manual
        .into_iter()
        .chain(
            [
                "eventbridge-scheduled-tick.json",
                "eventbridge-command.json",
                "scheduler-tick.json",
                "sns-deployed.json",
            ]
            .map(String::from),
        )
        .collect();
    expected.sort();
    assert_eq!(files, expected);
}

// ----- SNS: record by record --------------------------------------------------------------

fn sns_record(message_id: &str, topic: &str, message: &Value) -> Value {
    let mut event = sample("sns-deployed.json");
    let mut record = event["Records"][0].take();
    record["Sns"]["MessageId"] = json!(message_id);
    record["Sns"]["TopicArn"] = json!(topic);
    record["Sns"]["Message"] = match message {
        Value::String(s) => json!(s),
        other => json!(other.to_string()),
    };
    record
}

fn deployed() -> Value {
    json!({"type":"deployed","service":"payments","cluster":"green","strategy":"blue-green","version":"v7","actor":"ci#9"})
}

#[test]
fn one_bad_sns_record_fails_alone() {
    let mut no_service = deployed();
    no_service.as_object_mut().unwrap().remove("service");
    let event = json!({"Records": [
        sns_record("m-0", TOPIC, &deployed()),
        sns_record("m-1", TOPIC, &no_service),
        sns_record("m-2", "arn:aws:sns:us-east-1:999999999999:other", &deployed()),
    ]});
    let results = parse_invocation(&event, &topics()).unwrap();
    assert_eq!(results.len(), 3);
    let first = results[0].as_ref().unwrap();
    assert_eq!(first.id.as_deref(), Some("m-0"));
    assert_eq!(
        first.action,
        Action::Start {
            to: Some(name("green")),
            strategy: Some(Strategy::BlueGreen),
            version: Some("v7".into()),
            wave: None,
        }
    );
    let second = results[1].as_ref().unwrap_err();
    assert_eq!(
        second.to_string(),
        "Records[1].Sns.Message.service: missing"
    );
    assert_eq!(second.field(), "Records[1].Sns.Message.service");
    assert_eq!(
        results[2].as_ref().unwrap_err(),
        &EventError::TopicNotAccepted {
            field: "Records[2].Sns.TopicArn".into(),
            arn: "arn:aws:sns:us-east-1:999999999999:other".into()
        }
    );
}

#[test]
fn sns_message_errors_name_the_field() {
    let cases: Vec<(Value, &str)> = vec![
        (json!("not json {"), "Records[0].Sns.Message: not JSON"),
        (
            json!("[1,2]"),
            "Records[0].Sns.Message: expected a JSON object",
        ),
        (
            json!({"type":"built","service":"payments","cluster":"green"}),
            "Records[0].Sns.Message.type: unknown message type \"built\"",
        ),
        (
            json!({"service":"payments","cluster":"green"}),
            "Records[0].Sns.Message.type: missing",
        ),
        (
            json!({"type":"deployed","service":7,"cluster":"green"}),
            "Records[0].Sns.Message.service: expected a string",
        ),
        (
            json!({"type":"deployed","service":"Payments!","cluster":"green"}),
            "Records[0].Sns.Message.service: invalid name",
        ),
        (
            json!({"type":"deployed","service":"payments"}),
            "Records[0].Sns.Message.cluster: missing",
        ),
        (
            json!({"type":"deployed","service":"payments","cluster":"green","strategy":"big-bang"}),
            "Records[0].Sns.Message.strategy: unknown strategy \"big-bang\"",
        ),
        (
            json!({"type":"deployed","service":"payments","cluster":"green","version":42}),
            "Records[0].Sns.Message.version: expected a string",
        ),
    ];
    for (message, expected) in cases {
        let event = json!({"Records": [sns_record("m-0", TOPIC, &message)]});
        let err = one_err(&event).to_string();
        assert!(
            err.starts_with(expected),
            "{err:?} should start with {expected:?}"
        );
    }
}

#[test]
fn deploy_message_without_optional_fields_uses_defaults() {
    let message = json!({"type":"deployed","service":"payments","cluster":"green","commit":"abc"});
    let event = json!({"Records": [sns_record("m-9", TOPIC, &message)]});
    let command = one(&event);
    assert_eq!(command.actor, "sns");
    assert_eq!(command.reason.as_deref(), Some("deployed on green"));
    assert_eq!(
        command.action,
        Action::Start {
            to: Some(name("green")),
            strategy: None,
            version: None,
            wave: None,
        }
    );
}

#[test]
fn sns_envelope_errors_name_the_field() {
    let good = sns_record("m-0", TOPIC, &deployed());

    let mut wrong_source = good.clone();
    wrong_source["EventSource"] = json!("aws:sqs");
    let mut no_sns = good.clone();
    no_sns.as_object_mut().unwrap().remove("Sns");
    let mut no_message_id = good.clone();
    no_message_id["Sns"]
        .as_object_mut()
        .unwrap()
        .remove("MessageId");
    let mut numeric_message = good.clone();
    numeric_message["Sns"]["Message"] = json!(5);
    let mut empty_message_id = good.clone();
    empty_message_id["Sns"]["MessageId"] = json!("");
    let mut no_timestamp = good.clone();
    no_timestamp["Sns"]
        .as_object_mut()
        .unwrap()
        .remove("Timestamp");

    let cases = vec![
        (
            wrong_source,
            "Records[0].EventSource: expected \"aws:sns\", got \"aws:sqs\"",
        ),
        (no_sns, "Records[0].Sns: missing"),
        (no_message_id, "Records[0].Sns.MessageId: missing"),
        (numeric_message, "Records[0].Sns.Message: expected a string"),
        (empty_message_id, "Records[0].Sns.MessageId: empty"),
        (
            no_timestamp,
            "Records[0]: not an SNS record: missing field `Timestamp`",
        ),
        (json!("text"), "Records[0]: expected an object"),
    ];
    for (record, expected) in cases {
        let err = one_err(&json!({ "Records": [record] })).to_string();
        assert_eq!(err, expected);
    }
    assert_eq!(
        one_err(&json!({"Records": []})).to_string(),
        "Records: empty"
    );
    assert_eq!(
        one_err(&json!({"Records": {}})).to_string(),
        "Records: expected an array of SNS records"
    );
}

#[test]
fn no_accepted_topics_refuses_every_record() {
    let event = json!({"Records": [sns_record("m-0", TOPIC, &deployed())]});
    let results = parse_invocation(&event, &[]).unwrap();
    assert!(matches!(
        results.as_slice(),
        [Err(EventError::TopicNotAccepted { .. })]
    ));
}

// ----- EventBridge ---------------------------------------------------------------------------

#[test]
fn eventbridge_errors_name_the_field() {
    let mut scheduled_elsewhere = sample("eventbridge-scheduled-tick.json");
    scheduled_elsewhere["source"] = json!("com.example.spoof");
    assert_eq!(
        one_err(&scheduled_elsewhere).to_string(),
        "source: a Scheduled Event must come from \"aws.events\", got \"com.example.spoof\""
    );

    let mut no_detail_type = sample("eventbridge-command.json");
    no_detail_type
        .as_object_mut()
        .unwrap()
        .remove("detail-type");
    assert_eq!(one_err(&no_detail_type).to_string(), "detail-type: missing");

    let mut no_detail = sample("eventbridge-command.json");
    no_detail.as_object_mut().unwrap().remove("detail");
    assert_eq!(one_err(&no_detail).to_string(), "detail: missing");

    let mut bad_detail = sample("eventbridge-command.json");
    bad_detail["detail"]["action"] = json!("explode");
    let err = one_err(&bad_detail);
    assert_eq!(err.field(), "detail.action");
    assert!(err.to_string().contains("unknown action \"explode\""));

    let mut detail_array = sample("eventbridge-command.json");
    detail_array["detail"] = json!([]);
    assert_eq!(
        one_err(&detail_array).to_string(),
        "detail: expected an object"
    );
}

#[test]
fn eventbridge_command_without_actor_is_attributed_to_its_source() {
    let mut event = sample("eventbridge-command.json");
    event["detail"].as_object_mut().unwrap().remove("actor");
    assert_eq!(one(&event).actor, "eventbridge:com.example.platform");
}

// ----- manual commands -----------------------------------------------------------------------

#[test]
fn manual_command_errors_name_the_field() {
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"action":"explode","actor":"a"}),
            "action: unknown action \"explode\" (expected one of status, plan, start, pause, resume, promote, promote-full, rollback, set-weight, handover, approve, adopt, tick)",
        ),
        (json!({"action":7}), "action: expected a string"),
        (
            json!({"action":"set-weight","service":"payments","actor":"a"}),
            "percent: missing",
        ),
        (
            json!({"action":"set-weight","service":"payments","actor":"a","percent":101}),
            "percent: percent must be 0–100, got 101",
        ),
        (
            json!({"action":"set-weight","service":"payments","actor":"a","percent":"25"}),
            "percent: expected an integer 0–100",
        ),
        (
            json!({"action":"set-weight","service":"payments","actor":"a","percent":25.5}),
            "percent: expected an integer 0–100",
        ),
        (
            json!({"action":"rollback","service":"payments","actor":"a","dry_run":"no"}),
            "dry_run: expected true or false",
        ),
        (
            json!({"action":"rollback","service":"payments","actor":"a","dryrun":true}),
            "dryrun: unknown field (allowed here: action, service, services, dry_run, actor, reason, id)",
        ),
        (
            json!({"action":"rollback","service":"payments","actor":"a","percent":5}),
            "percent: unknown field (allowed here: action, service, services, dry_run, actor, reason, id)",
        ),
        (
            json!({"action":"rollback","service":"payments"}),
            "actor: missing (required for rollback: it is recorded in the state record and the change batch comment)",
        ),
        (
            json!({"action":"rollback","service":"payments","actor":"  "}),
            "actor: empty",
        ),
        (
            json!({"action":"rollback","service":"Pay ments","actor":"a"}),
            "service: invalid name \"Pay ments\": must be 1–63 characters of a–z, 0–9 and '-'",
        ),
        (
            json!({"action":"rollback","service":["payments"],"actor":"a"}),
            "service: expected a string",
        ),
        (
            json!({"action":"rollback","service":"payments","actor":"a","reason":5}),
            "reason: expected a string",
        ),
        (
            json!({"action":"rollback","service":"payments","actor":"a","id":""}),
            "id: empty",
        ),
        (
            json!({"action":"start","service":"payments","actor":"a","to":"Green"}),
            "to: invalid name \"Green\": must be 1–63 characters of a–z, 0–9 and '-'",
        ),
        (
            json!({"action":"start","service":"payments","actor":"a","strategy":"yolo"}),
            "strategy: unknown strategy \"yolo\" (expected \"canary\" or \"blue-green\")",
        ),
    ];
    for (payload, expected) in cases {
        assert_eq!(one_err(&payload).to_string(), expected, "{payload}");
    }
}

#[test]
fn manual_command_for_all_services_and_null_fields() {
    // A command that moves traffic never reaches the whole fleet by omission
    // (docs/design.md §5): `"services": "all"` asks for it explicitly.
    let command = one(&json!({"action":"pause","actor":"bob","services":"all","dry_run":null}));
    assert_eq!(command.service, None);
    assert!(!command.dry_run);
    let err = one_err(&json!({"action":"pause","actor":"bob","service":null}));
    assert_eq!(err.field(), "service");
    assert!(err.to_string().contains("\"services\": \"all\""), "{err}");
    for (payload, field) in [
        (
            json!({"action":"rollback","actor":"bob","services":"some"}),
            "services",
        ),
        (
            json!({"action":"rollback","actor":"bob","service":"payments","services":"all"}),
            "services",
        ),
    ] {
        assert_eq!(one_err(&payload).field(), field, "{payload}");
    }
    // tick and status stay fleet-wide by default.
    assert_eq!(one(&json!({"action":"status"})).service, None);
    assert_eq!(one(&json!({"action":"tick"})).service, None);
}

#[test]
fn unknown_shapes_are_refused_whole() {
    for payload in [
        json!([]),
        json!("tick"),
        json!(null),
        json!({}),
        json!({"hello": "world"}),
    ] {
        let err = parse_invocation(&payload, &topics()).unwrap_err();
        assert_readable(&err);
        assert!(
            matches!(err, EventError::UnknownShape(_)),
            "{payload}: {err:?}"
        );
        assert_eq!(err.field(), "payload");
    }
    assert_eq!(
        parse_invocation(&json!(3), &topics())
            .unwrap_err()
            .to_string(),
        "payload: expected a JSON object, got a number"
    );
}

#[test]
fn control_characters_in_audit_text_are_refused_with_the_field() {
    for (payload, field) in [
        (
            json!({"action":"rollback","service":"payments","actor":"alice\nroot","reason":"x"}),
            "actor",
        ),
        (
            json!({"action":"rollback","service":"payments","actor":"alice","reason":"5xx\r\nforged: log line"}),
            "reason",
        ),
        (
            json!({"action":"rollback","service":"payments","actor":"alice","id":"id\u{0}"}),
            "id",
        ),
        (
            json!({"action":"pause","service":"payments","actor":"a","reason":"\u{1b}[31mred"}),
            "reason",
        ),
    ] {
        let err = one_err(&payload);
        assert_eq!(err.field(), field, "{payload}");
        assert!(err.to_string().contains("control character"), "{err}");
    }
    let long = "x".repeat(cutover::events::MAX_TEXT_BYTES + 1);
    let err = one_err(&json!({"action":"pause","service":"payments","actor":"a","reason":long}));
    assert_eq!(err.field(), "reason");
    // Non-ASCII text is fine: it is cut in bytes later, never refused.
    let ok = one(&json!({"action":"pause","service":"payments","actor":"🦀","reason":"façade"}));
    assert_eq!(ok.actor, "🦀");
}

#[test]
fn control_characters_in_a_deploy_message_fail_that_record_alone() {
    let message = json!({"type":"deployed","service":"payments","cluster":"green",
                         "actor":"ci\n#812"})
    .to_string();
    let mut event = sample("sns-deployed.json");
    let good = event["Records"][0].clone();
    event["Records"][0]["Sns"]["Message"] = json!(message);
    event["Records"].as_array_mut().unwrap().push(good);
    let parsed = parse_invocation(&event, &topics()).unwrap();
    assert_eq!(parsed.len(), 2);
    let err = parsed[0].as_ref().unwrap_err();
    assert_eq!(err.field(), "Records[0].Sns.Message.actor");
    assert!(parsed[1].is_ok());
}
