//! Fault injection for the HTTP API: added latency, 5xx answers, throttling bursts, and one
//! failing ChangeResourceRecordSets.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::model::ApiError;

#[derive(Debug, Default)]
struct Faults {
    latency: Duration,
    fail_5xx: u32,
    throttle: u32,
    next_change: Option<ApiError>,
    /// Changes to let through before `next_change` fails one.
    changes_before_failure: u32,
    /// The next change is applied, then answered with this error (its answer is lost).
    lose_next_change_answer: Option<ApiError>,
    /// Changes answered as usual before `lose_next_change_answer` takes one.
    changes_before_lost_answer: u32,
    /// A ListResourceRecordSets fails once with this error, after `lists_before_failure` pass.
    next_list: Option<ApiError>,
    lists_before_failure: u32,
}

/// Shared handle; cloning it controls the same Route53.
#[derive(Debug, Clone, Default)]
pub struct FaultHandle {
    inner: Arc<Mutex<Faults>>,
}

/// What the injected faults do to one request.
#[derive(Debug, Default)]
pub struct Injected {
    pub latency: Duration,
    pub error: Option<ApiError>,
}

impl FaultHandle {
    fn lock(&self) -> MutexGuard<'_, Faults> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every request waits this long (real time) before it is answered.
    pub fn set_latency(&self, latency: Duration) {
        self.lock().latency = latency;
    }

    /// The next `n` requests are answered 503 ServiceUnavailable.
    pub fn fail_next_5xx(&self, n: u32) {
        self.lock().fail_5xx = n;
    }

    /// The next `n` requests are answered `Throttling` "Rate exceeded".
    pub fn throttle_next(&self, n: u32) {
        self.lock().throttle = n;
    }

    /// The next ChangeResourceRecordSets request fails once with `code` and `message`
    /// (HTTP status as Route53 uses for that code; 400 otherwise). Nothing is applied.
    pub fn fail_next_change(&self, code: &str, message: &str) {
        self.lock().next_change = Some(ApiError::new(status_for(code), code, message));
    }

    /// Lets `skip` ChangeResourceRecordSets requests through, then fails the next one once with
    /// `code` and `message` (e.g. the follow-up write after an accepted batch, as if the
    /// client died between the two). Nothing of the failed request is applied.
    pub fn fail_change_after(&self, skip: u32, code: &str, message: &str) {
        let mut faults = self.lock();
        faults.next_change = Some(ApiError::new(status_for(code), code, message));
        faults.changes_before_failure = skip;
    }

    /// The next ChangeResourceRecordSets is applied, then answered `code` (e.g. a 500
    /// `InternalFailure`): the client cannot tell whether it went through.
    pub fn lose_next_change_answer(&self, code: &str, message: &str) {
        self.lock().lose_next_change_answer = Some(ApiError::new(status_for(code), code, message));
    }

    /// Lets `skip` ChangeResourceRecordSets requests be answered, then applies the next one and
    /// answers it `code` (e.g. the second zone's batch of a split-horizon name).
    pub fn lose_change_answer_after(&self, skip: u32, code: &str, message: &str) {
        let mut faults = self.lock();
        faults.lose_next_change_answer = Some(ApiError::new(status_for(code), code, message));
        faults.changes_before_lost_answer = skip;
    }

    /// The next ListResourceRecordSets fails once with `code` and `message`.
    pub fn fail_next_list(&self, code: &str, message: &str) {
        self.fail_list_after(0, code, message);
    }

    /// Lets `skip` ListResourceRecordSets pages through, then fails the next once.
    pub fn fail_list_after(&self, skip: u32, code: &str, message: &str) {
        let mut faults = self.lock();
        faults.next_list = Some(ApiError::new(status_for(code), code, message));
        faults.lists_before_failure = skip;
    }

    /// Removes every injected fault.
    pub fn clear(&self) {
        *self.lock() = Faults::default();
    }

    /// Consumes the faults that apply to one request (5xx first, then throttling).
    pub(crate) fn take_for_request(&self) -> Injected {
        let mut faults = self.lock();
        let error = if faults.fail_5xx > 0 {
            faults.fail_5xx -= 1;
            Some(ApiError::service_unavailable())
        } else if faults.throttle > 0 {
            faults.throttle -= 1;
            Some(ApiError::throttling())
        } else {
            None
        };
        Injected {
            latency: faults.latency,
            error,
        }
    }

    pub(crate) fn take_lost_change_answer(&self) -> Option<ApiError> {
        let mut faults = self.lock();
        faults.lose_next_change_answer.as_ref()?;
        if faults.changes_before_lost_answer > 0 {
            faults.changes_before_lost_answer -= 1;
            return None;
        }
        faults.lose_next_change_answer.take()
    }

    pub(crate) fn take_list_failure(&self) -> Option<ApiError> {
        let mut faults = self.lock();
        faults.next_list.as_ref()?;
        if faults.lists_before_failure > 0 {
            faults.lists_before_failure -= 1;
            return None;
        }
        faults.next_list.take()
    }

    pub(crate) fn take_change_failure(&self) -> Option<ApiError> {
        let mut faults = self.lock();
        faults.next_change.as_ref()?;
        if faults.changes_before_failure > 0 {
            faults.changes_before_failure -= 1;
            return None;
        }
        faults.next_change.take()
    }
}

fn status_for(code: &str) -> u16 {
    match code {
        "NoSuchHostedZone" | "NoSuchHealthCheck" | "NoSuchChange" => 404,
        "InternalFailure" | "InternalError" => 500,
        "AccessDenied" => 403,
        "ServiceUnavailable" => 503,
        _ => 400,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_consumed_in_order() {
        let f = FaultHandle::default();
        f.fail_next_5xx(1);
        f.throttle_next(1);
        assert_eq!(f.take_for_request().error.map(|e| e.status), Some(503));
        assert_eq!(
            f.take_for_request().error.map(|e| e.code),
            Some("Throttling".to_string())
        );
        assert!(f.take_for_request().error.is_none());
        f.fail_next_change("NoSuchHostedZone", "gone");
        let e = f.take_change_failure().unwrap();
        assert_eq!((e.status, e.message.as_str()), (404, "gone"));
        assert!(f.take_change_failure().is_none());
        f.fail_change_after(2, "InvalidChangeBatch", "late");
        assert!(f.take_change_failure().is_none());
        assert!(f.take_change_failure().is_none());
        assert_eq!(f.take_change_failure().unwrap().message, "late");
        assert!(f.take_change_failure().is_none());
    }
}
