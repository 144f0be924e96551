//! Every trigger's payload → the `Command`s it asks for (docs/design.md §6).
//!
//! One Lambda serves three triggers; the payload's keys say which (docs/reference/lambda-and-eks.md
//! "Lambda handler"): `Records[0].EventSource == "aws:sns"` → SNS, `detail-type` + `source` →
//! EventBridge, `action` → a manual command (also what EventBridge Scheduler passes verbatim).
//! Anything else, or a malformed field, is an [`EventError`] naming the field and the reason.

use aws_lambda_events::sns::SnsRecord;
use serde::Deserialize;
use serde_json::{Map, Value};

use cutover_core::command::{Action, Command, Strategy, Trigger, WaveStart};
use cutover_core::text::quoted;
use cutover_core::types::{Name, Percent};
use cutover_core::wave::Selector;

/// Why a payload, or one SNS record of it, was refused. `field` is a path into the payload:
/// `Records[1].Sns.Message.service`, `detail.percent`, `action`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("{field}: missing")]
    Missing { field: String },
    #[error("{field}: expected {expected}")]
    WrongType {
        field: String,
        expected: &'static str,
    },
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("{field}: unknown field (allowed here: {allowed})")]
    UnknownField { field: String, allowed: String },
    #[error("{field}: topic {arn} is not an accepted topic", arn = quoted(.arn))]
    TopicNotAccepted { field: String, arn: String },
    #[error("payload: {0}")]
    UnknownShape(String),
}

impl EventError {
    /// The path of the field the error is about (`payload` for the whole payload).
    pub fn field(&self) -> &str {
        match self {
            EventError::Missing { field }
            | EventError::WrongType { field, .. }
            | EventError::Invalid { field, .. }
            | EventError::UnknownField { field, .. }
            | EventError::TopicNotAccepted { field, .. } => field,
            EventError::UnknownShape(_) => "payload",
        }
    }
}

/// Actor recorded for the schedule's ticks.
pub const SCHEDULE_ACTOR: &str = "schedule";

/// Whether Lambda invoked the function asynchronously for this payload, so that an error answer
/// makes Lambda retry the event and, after its retries, hand it to the on-failure destination:
/// SNS deliveries, EventBridge events, and the Scheduler's verbatim `{"action":"tick"}`. A
/// manual command is a synchronous invoke: its caller reads the report.
pub fn is_asynchronous(payload: &Value) -> bool {
    let Some(object) = payload.as_object() else {
        return false;
    };
    let scheduler_tick = object.get("action").and_then(Value::as_str) == Some("tick")
        && !object.contains_key("actor");
    object.contains_key("Records") || object.contains_key("detail-type") || scheduler_tick
}

/// Parses one invocation payload. The outer error refuses the whole payload (nothing is done);
/// for SNS, each record is parsed on its own, so one bad record fails alone.
pub fn parse_invocation(
    payload: &Value,
    accepted_topics: &[String],
) -> Result<Vec<Result<Command, EventError>>, EventError> {
    let Some(object) = payload.as_object() else {
        return Err(EventError::UnknownShape(format!(
            "expected a JSON object, got {}",
            json_kind(payload)
        )));
    };
    if object.contains_key("Records") {
        return parse_sns(object, accepted_topics);
    }
    if object.contains_key("detail-type") || object.contains_key("source") {
        return parse_eventbridge(object).map(|c| vec![Ok(c)]);
    }
    if object.contains_key("action") {
        return parse_manual(object, "", None).map(|c| vec![Ok(c)]);
    }
    Err(EventError::UnknownShape(
        "not an SNS event (Records), an EventBridge event (detail-type, source) or a command \
         (action)"
            .to_string(),
    ))
}

// ---------------------------------------------------------------------------------------------
// EventBridge

fn parse_eventbridge(event: &Map<String, Value>) -> Result<Command, EventError> {
    let detail_type = required_str(event, "", "detail-type")?;
    let source = required_str(event, "", "source")?;
    // A classic schedule rule sends detail-type "Scheduled Event" from aws.events, detail {}
    // (docs/reference/lambda-and-eks.md "Lambda handler"): that is a tick.
    if detail_type == "Scheduled Event" {
        if source != "aws.events" {
            return Err(EventError::Invalid {
                field: "source".into(),
                reason: format!(
                    "a Scheduled Event must come from \"aws.events\", got {source}",
                    source = quoted(source)
                ),
            });
        }
        return Ok(Command::tick(SCHEDULE_ACTOR));
    }
    // Any other EventBridge event: its detail is a command (docs/design.md §6).
    let detail = match event.get("detail") {
        None | Some(Value::Null) => return Err(missing("detail")),
        Some(Value::Object(detail)) => detail,
        Some(_) => return Err(wrong_type("detail", "an object")),
    };
    parse_manual(detail, "detail", Some(&format!("eventbridge:{source}")))
}

// ---------------------------------------------------------------------------------------------
// SNS

fn parse_sns(
    event: &Map<String, Value>,
    accepted_topics: &[String],
) -> Result<Vec<Result<Command, EventError>>, EventError> {
    let records = match event.get("Records") {
        Some(Value::Array(records)) => records,
        _ => return Err(wrong_type("Records", "an array of SNS records")),
    };
    if records.is_empty() {
        return Err(EventError::Invalid {
            field: "Records".into(),
            reason: "empty".into(),
        });
    }
    Ok(records
        .iter()
        .enumerate()
        .map(|(i, record)| parse_sns_record(record, &format!("Records[{i}]"), accepted_topics))
        .collect())
}

fn parse_sns_record(
    record: &Value,
    at: &str,
    accepted_topics: &[String],
) -> Result<Command, EventError> {
    let object = record
        .as_object()
        .ok_or_else(|| wrong_type(at, "an object"))?;
    let source = required_str(object, at, "EventSource")?;
    if source != "aws:sns" {
        return Err(EventError::Invalid {
            field: join(at, "EventSource"),
            reason: format!(
                "expected \"aws:sns\", got {source}",
                source = quoted(source)
            ),
        });
    }
    let sns_at = join(at, "Sns");
    let sns = match object.get("Sns") {
        None | Some(Value::Null) => return Err(missing(&sns_at)),
        Some(Value::Object(sns)) => sns,
        Some(_) => return Err(wrong_type(&sns_at, "an object")),
    };
    // The fields cutover relies on, checked first for precise errors.
    for key in ["MessageId", "TopicArn", "Message"] {
        required_str(sns, &sns_at, key)?;
    }
    let typed: SnsRecord =
        serde_json::from_value(record.clone()).map_err(|e| EventError::Invalid {
            field: at.to_string(),
            reason: format!("not an SNS record: {e}"),
        })?;
    let sns = typed.sns;
    // Only configured topic ARNs are accepted (docs/design.md §6).
    if !accepted_topics.iter().any(|t| t == &sns.topic_arn) {
        return Err(EventError::TopicNotAccepted {
            field: join(&sns_at, "TopicArn"),
            arn: sns.topic_arn,
        });
    }
    if sns.message_id.trim().is_empty() {
        return Err(EventError::Invalid {
            field: join(&sns_at, "MessageId"),
            reason: "empty".into(),
        });
    }
    let message_at = join(&sns_at, "Message");
    let message: Value = serde_json::from_str(&sns.message).map_err(|e| EventError::Invalid {
        field: message_at.clone(),
        reason: format!("not JSON: {e}"),
    })?;
    let message = message
        .as_object()
        .ok_or_else(|| wrong_type(&message_at, "a JSON object"))?;
    // The SNS MessageId makes delivery idempotent (docs/design.md §6, §7.8).
    let message_id = plain_text(sns.message_id.clone(), &join(&sns_at, "MessageId"))?;
    parse_deploy_message(message, &message_at, &message_id)
}

/// `{"type":"deployed","service","cluster","strategy","version","actor","dry_run"}` → Start.
/// Fields that CI adds beyond these are ignored (the message is CI's, not an operator's typo).
fn parse_deploy_message(
    message: &Map<String, Value>,
    at: &str,
    message_id: &str,
) -> Result<Command, EventError> {
    let kind = required_str(message, at, "type")?;
    if kind != "deployed" {
        return Err(EventError::Invalid {
            field: join(at, "type"),
            reason: format!(
                "unknown message type {kind} (expected \"deployed\")",
                kind = quoted(kind)
            ),
        });
    }
    let service = required_name(message, at, "service")?;
    let cluster = required_name(message, at, "cluster")?;
    let strategy = optional_strategy(message, at)?;
    let version = optional_str(message, at, "version")?
        .map(|v| plain_text(v, &join(at, "version")))
        .transpose()?;
    let actor = optional_str(message, at, "actor")?
        .map(|a| plain_text(a, &join(at, "actor")))
        .transpose()?
        .unwrap_or_else(|| "sns".to_string());
    // A dry run is honoured whatever the trigger: CI may preview what its deploy would start.
    let dry_run = optional_bool(message, at, "dry_run")?.unwrap_or(false);
    let reason = match &version {
        Some(v) => format!("deployed {v} on {cluster}"),
        None => format!("deployed on {cluster}"),
    };
    Ok(Command {
        action: Action::Start {
            to: Some(cluster),
            strategy,
            version,
            wave: None,
        },
        service: Some(service),
        dry_run,
        actor,
        reason: Some(reason),
        id: Some(message_id.to_string()),
        trigger: Trigger::Deploy,
    })
}

// ---------------------------------------------------------------------------------------------
// Manual commands

const COMMON_FIELDS: &[&str] = &[
    "action", "service", "services", "dry_run", "actor", "reason", "id",
];
const ACTIONS: &str = "status, plan, start, pause, resume, promote, promote-full, rollback, \
                       set-weight, handover, approve, adopt, tick";

/// `{"action":"rollback","service":"payments","actor":"alice","reason":"5xx","dry_run":false,
/// "id":"…"}` (+ `percent` for set-weight; `to`, `strategy`, `version` for start).
///
/// Unknown fields are refused: a typo such as `dryrun` must not turn a preview into a write.
/// `actor` is required for commands that write (it goes into the state record and the change
/// batch comment, docs/design.md §5); ticks, status and plan default it.
pub fn parse_manual(
    command: &Map<String, Value>,
    at: &str,
    default_actor: Option<&str>,
) -> Result<Command, EventError> {
    let action_name = required_str(command, at, "action")?;
    let (action, extra_fields) = parse_action(command, at, action_name)?;
    reject_unknown_fields(command, at, extra_fields)?;
    // A wave names its services itself (`parse_wave`).
    let service = match &action {
        Action::Start { wave: Some(_), .. } => None,
        _ => parse_scope(command, at, &action)?,
    };
    let dry_run = optional_bool(command, at, "dry_run")?.unwrap_or(false);
    let actor = match (optional_str(command, at, "actor")?, default_actor) {
        (Some(actor), _) => non_empty(actor, &join(at, "actor"))?,
        (None, _) if matches!(action, Action::Tick) => SCHEDULE_ACTOR.to_string(),
        (None, Some(default)) => default.to_string(),
        (None, None) if action.is_read_only() => "anonymous".to_string(),
        (None, None) => {
            return Err(EventError::Invalid {
                field: join(at, "actor"),
                reason: format!(
                    "missing (required for {action_name}: it is recorded in the state record \
                     and the change batch comment)"
                ),
            })
        }
    };
    let actor = plain_text(actor, &join(at, "actor"))?;
    let reason = optional_str(command, at, "reason")?
        .map(|r| plain_text(r, &join(at, "reason")))
        .transpose()?;
    let id = optional_str(command, at, "id")?
        .map(|id| non_empty(id, &join(at, "id")))
        .transpose()?
        .map(|id| plain_text(id, &join(at, "id")))
        .transpose()?;
    // EventBridge Scheduler passes `{"action":"tick"}` verbatim: a tick without an actor is the
    // schedule's.
    let trigger = if actor == SCHEDULE_ACTOR && matches!(action, Action::Tick) {
        Trigger::Schedule
    } else {
        Trigger::Operator
    };
    Ok(Command {
        action,
        service,
        dry_run,
        actor,
        reason,
        id,
        trigger,
    })
}

/// The services a command acts on: `service` names one; `"services": "all"` asks for every
/// service explicitly. Only tick and status act on every service when neither is given
/// (docs/design.md §5): a command that moves traffic must never reach a whole fleet by omission.
fn parse_scope(
    command: &Map<String, Value>,
    at: &str,
    action: &Action,
) -> Result<Option<Name>, EventError> {
    let service = optional_str(command, at, "service")?;
    let all = match optional_str(command, at, "services")?.as_deref() {
        None => false,
        Some("all") => true,
        Some(other) => {
            return Err(EventError::Invalid {
                field: join(at, "services"),
                reason: format!(
                    "expected \"all\", got {other} (name one service with \"service\")",
                    other = quoted(other)
                ),
            })
        }
    };
    match (service, all) {
        (Some(_), true) => Err(EventError::Invalid {
            field: join(at, "services"),
            reason: "give either \"service\" or \"services\": \"all\", not both".into(),
        }),
        (Some(s), false) => Name::new(&s).map(Some).map_err(|e| EventError::Invalid {
            field: join(at, "service"),
            reason: e.to_string(),
        }),
        (None, true) => Ok(None),
        (None, false) if action.is_fleet_wide_by_default() => Ok(None),
        (None, false) => Err(EventError::Invalid {
            field: join(at, "service"),
            reason: format!(
                "missing: name the service, or send \"services\": \"all\" to {} every service \
                 (only tick and status act on every service by default)",
                action.name()
            ),
        }),
    }
}

/// The action and the fields it takes beyond the common ones.
fn parse_action(
    command: &Map<String, Value>,
    at: &str,
    name: &str,
) -> Result<(Action, &'static [&'static str]), EventError> {
    let none: &'static [&'static str] = &[];
    Ok(match name {
        "status" => (Action::Status, none),
        "plan" => (Action::Plan, none),
        "start" => {
            let to = optional_str(command, at, "to")?
                .map(|s| {
                    Name::new(&s).map_err(|e| EventError::Invalid {
                        field: join(at, "to"),
                        reason: e.to_string(),
                    })
                })
                .transpose()?;
            let wave = parse_wave(command, at)?;
            if wave.is_some() {
                for key in ["to", "strategy", "service"] {
                    if command.get(key).is_some_and(|v| !v.is_null()) {
                        return Err(EventError::Invalid {
                            field: join(at, key),
                            reason: "a wave starts each of its services toward its configured \
                                     `to` with its configured strategy: leave it out"
                                .into(),
                        });
                    }
                }
            }
            let action = Action::Start {
                to,
                strategy: optional_strategy(command, at)?,
                version: optional_str(command, at, "version")?,
                wave,
            };
            (
                action,
                &[
                    "to",
                    "strategy",
                    "version",
                    "wave",
                    "match",
                    "label",
                    "max_active",
                    "max_failures",
                ],
            )
        }
        "pause" => (Action::Pause, none),
        "resume" => (Action::Resume, none),
        "promote" => (Action::Promote, none),
        "promote-full" => (Action::PromoteFull, none),
        "rollback" => (Action::Rollback, none),
        "set-weight" => (
            Action::SetWeight {
                percent: required_percent(command, at)?,
            },
            &["percent"],
        ),
        "handover" => (Action::Handover, none),
        "approve" => (Action::Approve, none),
        "adopt" => (Action::Adopt, none),
        "tick" => (Action::Tick, none),
        other => {
            return Err(EventError::Invalid {
                field: join(at, "action"),
                reason: format!(
                    "unknown action {other} (expected one of {ACTIONS})",
                    other = quoted(other)
                ),
            })
        }
    })
}

/// A wave start (docs/design.md §10): `"wave": "<name>"` and exactly one of `"services"`
/// (`"all"` or a list of names), `"match"` (a glob on service names) or `"label"`
/// (`"key=value"`); optionally `"max_active"` and `"max_failures"`. `None` without `"wave"`; the
/// wave-only fields are then refused.
fn parse_wave(command: &Map<String, Value>, at: &str) -> Result<Option<WaveStart>, EventError> {
    let Some(name) = optional_str(command, at, "wave")? else {
        for key in ["match", "label", "max_active", "max_failures"] {
            if command.get(key).is_some_and(|v| !v.is_null()) {
                return Err(EventError::Invalid {
                    field: join(at, key),
                    reason: "only a wave takes it: add \"wave\": \"<name>\"".into(),
                });
            }
        }
        return Ok(None);
    };
    let name = Name::new(&name).map_err(|e| EventError::Invalid {
        field: join(at, "wave"),
        reason: e.to_string(),
    })?;
    let mut selectors = Vec::new();
    match command.get("services") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s == "all" => selectors.push(Selector::All),
        Some(Value::Array(items)) => {
            let field = join(at, "services");
            let names = items
                .iter()
                .map(|v| {
                    v.as_str()
                        .ok_or_else(|| wrong_type(&field, "\"all\" or a list of service names"))
                        .and_then(|s| {
                            Name::new(s).map_err(|e| EventError::Invalid {
                                field: field.clone(),
                                reason: e.to_string(),
                            })
                        })
                })
                .collect::<Result<Vec<_>, _>>()?;
            if names.is_empty() {
                return Err(EventError::Invalid {
                    field,
                    reason: "an empty list: name at least one service".into(),
                });
            }
            selectors.push(Selector::Names(names));
        }
        Some(_) => {
            return Err(wrong_type(
                &join(at, "services"),
                "\"all\" or a list of service names",
            ))
        }
    }
    if let Some(glob) = optional_str(command, at, "match")? {
        let glob = non_empty(glob, &join(at, "match"))?;
        selectors.push(Selector::Match(plain_text(glob, &join(at, "match"))?));
    }
    if let Some(label) = optional_str(command, at, "label")? {
        let field = join(at, "label");
        let (key, value) = label.split_once('=').ok_or_else(|| EventError::Invalid {
            field: field.clone(),
            reason: format!("expected key=value, got {}", quoted(&label)),
        })?;
        selectors.push(Selector::Label {
            key: key.to_string(),
            value: value.to_string(),
        });
    }
    let selector = match selectors.len() {
        1 => selectors.remove(0),
        0 => {
            return Err(EventError::Invalid {
                field: join(at, "services"),
                reason: "a wave needs its services: \"services\": \"all\" or a list, \"match\" \
                         or \"label\""
                    .into(),
            })
        }
        _ => {
            return Err(EventError::Invalid {
                field: join(at, "services"),
                reason: "give one of \"services\", \"match\" or \"label\", not several".into(),
            })
        }
    };
    let limit = |key: &str| -> Result<Option<u32>, EventError> {
        match command.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| wrong_type(&join(at, key), "a positive integer")),
        }
    };
    let (max_active, max_failures) = (limit("max_active")?, limit("max_failures")?);
    if let Err(cutover_core::config::ConfigError::Invalid { path, reason }) =
        cutover_core::config::check_wave_limits(
            "",
            max_active.unwrap_or(1),
            max_failures.unwrap_or(1),
        )
    {
        return Err(EventError::Invalid {
            field: join(at, &path),
            reason,
        });
    }
    Ok(Some(WaveStart {
        name,
        selector,
        max_active,
        max_failures,
    }))
}

fn reject_unknown_fields(
    command: &Map<String, Value>,
    at: &str,
    extra: &[&str],
) -> Result<(), EventError> {
    let allowed = |k: &str| COMMON_FIELDS.contains(&k) || extra.contains(&k);
    match command.keys().find(|k| !allowed(k)) {
        None => Ok(()),
        Some(key) => Err(EventError::UnknownField {
            field: join(at, key),
            allowed: COMMON_FIELDS
                .iter()
                .chain(extra.iter())
                .copied()
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

fn required_percent(command: &Map<String, Value>, at: &str) -> Result<Percent, EventError> {
    let field = join(at, "percent");
    let value = match command.get("percent") {
        None | Some(Value::Null) => return Err(missing(&field)),
        Some(v) => v,
    };
    let number = value
        .as_i64()
        .ok_or_else(|| wrong_type(&field, "an integer 0–100"))?;
    Percent::new(number).map_err(|e| EventError::Invalid {
        field,
        reason: e.to_string(),
    })
}

fn optional_strategy(
    object: &Map<String, Value>,
    at: &str,
) -> Result<Option<Strategy>, EventError> {
    let field = join(at, "strategy");
    optional_str(object, at, "strategy")?
        .map(|s| {
            Strategy::deserialize(Value::String(s.clone())).map_err(|_| EventError::Invalid {
                field: field.clone(),
                reason: format!(
                    "unknown strategy {s} (expected \"canary\" or \"blue-green\")",
                    s = quoted(&s)
                ),
            })
        })
        .transpose()
}

// ---------------------------------------------------------------------------------------------
// Field helpers

fn join(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_string()
    } else {
        format!("{at}.{key}")
    }
}

fn missing(field: &str) -> EventError {
    EventError::Missing {
        field: field.to_string(),
    }
}

fn wrong_type(field: &str, expected: &'static str) -> EventError {
    EventError::WrongType {
        field: field.to_string(),
        expected,
    }
}

fn required_str<'a>(
    object: &'a Map<String, Value>,
    at: &str,
    key: &str,
) -> Result<&'a str, EventError> {
    match object.get(key) {
        None | Some(Value::Null) => Err(missing(&join(at, key))),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(wrong_type(&join(at, key), "a string")),
    }
}

fn optional_str(
    object: &Map<String, Value>,
    at: &str,
    key: &str,
) -> Result<Option<String>, EventError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(wrong_type(&join(at, key), "a string")),
    }
}

fn required_name(object: &Map<String, Value>, at: &str, key: &str) -> Result<Name, EventError> {
    let s = required_str(object, at, key)?;
    Name::new(s).map_err(|e| EventError::Invalid {
        field: join(at, key),
        reason: e.to_string(),
    })
}

fn optional_bool(
    object: &Map<String, Value>,
    at: &str,
    key: &str,
) -> Result<Option<bool>, EventError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(wrong_type(&join(at, key), "true or false")),
    }
}

/// The longest actor, reason, version or id accepted, in bytes. The state record keeps a cut
/// version of the audit text (docs/state-record.md); this bound only refuses what no person or
/// CI system sends.
pub const MAX_TEXT_BYTES: usize = 1024;

/// Text that goes into the state record, the change batch comment and the logs: no control
/// characters (NUL, CR/LF, escape sequences…), which would forge log lines or break the comment
/// Route53 keeps, and at most `MAX_TEXT_BYTES`. Refused, never silently changed: the sender learns
/// which field and why.
fn plain_text(s: String, field: &str) -> Result<String, EventError> {
    if let Some(c) = s.chars().find(|c| c.is_control()) {
        return Err(EventError::Invalid {
            field: field.to_string(),
            reason: format!(
                "holds the control character U+{:04X}; send plain text (it is written into the \
                 state record and the change batch comment)",
                u32::from(c)
            ),
        });
    }
    if s.len() > MAX_TEXT_BYTES {
        return Err(EventError::Invalid {
            field: field.to_string(),
            reason: format!("{} bytes, at most {MAX_TEXT_BYTES}", s.len()),
        });
    }
    Ok(s)
}

fn non_empty(s: String, field: &str) -> Result<String, EventError> {
    if s.trim().is_empty() {
        Err(EventError::Invalid {
            field: field.to_string(),
            reason: "empty".into(),
        })
    } else {
        Ok(s)
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
