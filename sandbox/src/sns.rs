//! A local SNS: `Publish` (and `CreateTopic`) in the Query protocol the SDKs use for SNS, every
//! published message recorded for the control API (docs/reference/cloudwatch.md "SNS Publish").

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use quick_xml::escape::escape;
use serde::Serialize;

use crate::clock::SimClock;
use crate::iam::Iam;
use crate::route53::ApiError;
use crate::sigv4::SignedRequest;

/// The topic every sandbox has from the start.
pub const DEFAULT_TOPIC: &str = "cutover-decisions";
/// A message body's limit: 256 KiB.
pub const MAX_MESSAGE_BYTES: usize = 262_144;
/// Message attributes per message.
pub const MAX_ATTRIBUTES: usize = 10;

/// One published message as the sandbox recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Published {
    pub message_id: String,
    pub topic_arn: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// name → (data type, value).
    pub attributes: BTreeMap<String, (String, String)>,
    pub at_millis: i64,
}

#[derive(Debug, Default)]
struct Inner {
    topics: Vec<String>,
    messages: Vec<Published>,
    requests: u64,
    fail_next: u32,
}

/// The local SNS. Cheap to clone.
#[derive(Clone)]
pub struct Sns {
    inner: Arc<Mutex<Inner>>,
    clock: SimClock,
    region: String,
    /// Who may call (any account's key, or a role's temporary key).
    iam: Iam,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError {
        status: 400,
        code: "InvalidParameter".into(),
        message: message.into(),
    }
}

impl Sns {
    pub fn new(clock: SimClock, region: &str) -> Self {
        let iam = Iam::new().with_clock(clock.clone());
        let sns = Sns {
            inner: Arc::new(Mutex::new(Inner::default())),
            clock,
            region: region.to_string(),
            iam,
        };
        sns.create_topic(DEFAULT_TOPIC);
        sns
    }

    /// Identifies callers with `iam` (the sandbox's accounts) instead of the sandbox's own key.
    pub fn with_iam(mut self, iam: Iam) -> Self {
        self.iam = iam;
        self
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/", post(serve_query))
            .with_state(self.clone())
    }

    /// The ARN of a topic called `name` in this sandbox.
    pub fn topic_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:sns:{}:{}:{name}",
            self.region,
            crate::eks::ACCOUNT_ID
        )
    }

    /// Creates a topic (idempotent) and returns its ARN.
    pub fn create_topic(&self, name: &str) -> String {
        let arn = self.topic_arn(name);
        let mut inner = self.lock();
        if !inner.topics.contains(&arn) {
            inner.topics.push(arn.clone());
        }
        arn
    }

    /// Every message published so far, in order.
    pub fn messages(&self) -> Vec<Published> {
        self.lock().messages.clone()
    }

    pub fn request_count(&self) -> u64 {
        self.lock().requests
    }

    /// The next `n` requests fail with 500 `InternalError`.
    pub fn fail_next(&self, n: u32) {
        self.lock().fail_next = n;
    }

    /// Runs one Query action.
    pub fn call(&self, form: &BTreeMap<String, String>) -> Result<String, ApiError> {
        {
            let mut inner = self.lock();
            inner.requests += 1;
            if inner.fail_next > 0 {
                inner.fail_next -= 1;
                return Err(ApiError {
                    status: 500,
                    code: "InternalError".into(),
                    message: "Internal error (injected by the sandbox)".into(),
                });
            }
        }
        match form.get("Action").map(String::as_str) {
            Some("Publish") => self.publish(form),
            Some("CreateTopic") => {
                let name = form
                    .get("Name")
                    .filter(|n| {
                        (1..=256).contains(&n.len())
                            && n.chars()
                                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                    })
                    .ok_or_else(|| invalid("Invalid parameter: Topic Name"))?;
                let arn = self.create_topic(name);
                Ok(format!(
                    "<CreateTopicResult><TopicArn>{}</TopicArn></CreateTopicResult>",
                    escape(&arn)
                ))
            }
            Some(other) => Err(ApiError {
                status: 400,
                code: "InvalidAction".into(),
                message: format!("The action {other} is not valid for this endpoint."),
            }),
            None => Err(ApiError {
                status: 400,
                code: "MissingAction".into(),
                message: "The request must contain the parameter Action.".into(),
            }),
        }
    }

    fn publish(&self, form: &BTreeMap<String, String>) -> Result<String, ApiError> {
        let topic = form
            .get("TopicArn")
            .or_else(|| form.get("TargetArn"))
            .ok_or_else(|| invalid("Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter"))?;
        let message = form.get("Message").ok_or_else(|| {
            invalid("Invalid parameter: Message Reason: no value for required parameter")
        })?;
        if message.is_empty() {
            return Err(invalid("Invalid parameter: Empty message"));
        }
        if message.len() > MAX_MESSAGE_BYTES {
            return Err(invalid("Invalid parameter: Message too long"));
        }
        let subject = form.get("Subject").cloned();
        if subject
            .as_ref()
            .is_some_and(|s| s.is_empty() || s.chars().count() > 100)
        {
            return Err(invalid("Invalid parameter: Subject"));
        }
        let mut attributes = BTreeMap::new();
        for n in 1.. {
            let prefix = format!("MessageAttributes.entry.{n}");
            let Some(name) = form.get(&format!("{prefix}.Name")) else {
                break;
            };
            let data_type = form
                .get(&format!("{prefix}.Value.DataType"))
                .ok_or_else(|| invalid(format!("The message attribute '{name}' must contain non-empty message attribute type.")))?;
            if !["String", "Number", "Binary", "String.Array"]
                .iter()
                .any(|t| data_type == t || data_type.starts_with(&format!("{t}.")))
            {
                return Err(invalid(format!("The message attribute '{name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.")));
            }
            let value = form
                .get(&format!("{prefix}.Value.StringValue"))
                .or_else(|| form.get(&format!("{prefix}.Value.BinaryValue")))
                .ok_or_else(|| invalid(format!("The message attribute '{name}' must contain non-empty message attribute value for message attribute type '{data_type}'.")))?;
            attributes.insert(name.clone(), (data_type.clone(), value.clone()));
        }
        if attributes.len() > MAX_ATTRIBUTES {
            return Err(invalid(format!(
                "Number of message attributes [{}] exceeds the allowed maximum [{MAX_ATTRIBUTES}].",
                attributes.len()
            )));
        }
        let mut inner = self.lock();
        if !inner.topics.contains(topic) {
            return Err(ApiError {
                status: 404,
                code: "NotFound".into(),
                message: "Topic does not exist".into(),
            });
        }
        let message_id = crate::route53::request_id();
        inner.messages.push(Published {
            message_id: message_id.clone(),
            topic_arn: topic.clone(),
            message: message.clone(),
            subject,
            attributes,
            at_millis: self.clock.now_millis(),
        });
        Ok(format!(
            "<PublishResult><MessageId>{message_id}</MessageId></PublishResult>"
        ))
    }
}

async fn serve_query(State(sns): State<Sns>, request: SignedRequest) -> Response {
    let form: BTreeMap<String, String> = url::form_urlencoded::parse(&request.body)
        .into_owned()
        .collect();
    let action = form.get("Action").cloned().unwrap_or_default();
    let request_id = crate::route53::request_id();
    let result = sns
        .iam
        .caller(&request, "sns")
        .and_then(|_| sns.call(&form));
    let (status, xml) = match result {
        Ok(result) => (
            StatusCode::OK,
            format!(
                "<{action}Response xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">{result}<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{action}Response>"
            ),
        ),
        Err(e) => (
            StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            format!(
                "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error><Type>{}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
                if e.status >= 500 { "Receiver" } else { "Sender" },
                escape(&e.code),
                escape(&e.message)
            ),
        ),
    };
    let mut response = (status, xml).into_response();
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("text/xml"));
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-amzn-requestid", v);
    }
    response
}
