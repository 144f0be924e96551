//! The rules of real traffic, one by one (docs/design.md §4).

use super::*;
use crate::config::{DurationSpec, MetricRules, SplitGate};

const T0: Millis = 1_800_000_000_000 - 1_800_000_000_000 % MINUTE_MS;

fn name(s: &str) -> Name {
    Name::new(s).unwrap()
}

fn rules() -> MetricRules {
    MetricRules {
        window: DurationSpec(5 * MINUTE_MS),
        min_requests: 100,
        max_error_rate_percent: 1.0,
        max_error_ratio: Some(2.0),
        max_p99_ms: Some(500),
        max_p99_ratio: Some(1.5),
    }
}

/// `minutes` minutes ending at `T0`, each with `per_minute` requests, `errors` target 5xx and a
/// p99 of `p99` ms.
fn series(per_minute: f64, errors: f64, p99: Option<f64>, minutes: i64) -> LbSeries {
    LbSeries {
        load_balancer: "lb.example".into(),
        dimension: "app/lb/0123456789abcdef".into(),
        kind: LbKind::Application,
        points: (1..=minutes)
            .map(|i| MinutePoint {
                start: T0 - i * MINUTE_MS,
                requests: per_minute,
                target_errors: errors,
                lb_errors: 0.0,
                p99_ms: p99,
            })
            .collect(),
    }
}

fn known(s: LbSeries) -> Observed<LbSeries> {
    Observed::Known(s)
}

#[test]
fn dimensions_name_their_kind() {
    assert_eq!(
        LbKind::of_dimension("app/k8s-green/50dc6c495c0c9188"),
        Some(LbKind::Application)
    );
    assert_eq!(
        LbKind::of_dimension("net/k8s-green/50dc6c495c0c9188"),
        Some(LbKind::Network)
    );
    for bad in [
        "",
        "app/x",
        "gwy/x/1",
        "app//1",
        "app/x/zz",
        "app/x/1/2",
        "k8s.elb.amazonaws.com",
    ] {
        assert_eq!(LbKind::of_dimension(bad), None, "{bad}");
    }
}

#[test]
fn alarms_in_alarm_are_bad_insufficient_data_and_unreadable_are_inconclusive() {
    let r = |n: &str, s: Observed<AlarmState>| AlarmReading {
        name: n.into(),
        state: s,
    };
    assert_eq!(judge_alarms(&[]), None);
    let ok = [r("a", Observed::Known(AlarmState::Ok))];
    assert_eq!(judge_alarms(&ok).unwrap().0, Verdict::Good);
    let firing = [
        r("a", Observed::Known(AlarmState::Ok)),
        r("b", Observed::Known(AlarmState::Alarm)),
        r("c", Observed::Known(AlarmState::InsufficientData)),
    ];
    let (v, why) = judge_alarms(&firing).unwrap();
    assert_eq!(v, Verdict::Bad);
    assert!(why.contains("b in ALARM"), "{why}");
    let unknown = [
        r("a", Observed::Known(AlarmState::InsufficientData)),
        r("b", Observed::Unavailable("DescribeAlarms failed".into())),
    ];
    let (v, why) = judge_alarms(&unknown).unwrap();
    assert_eq!(v, Verdict::Inconclusive);
    assert!(
        why.contains("INSUFFICIENT_DATA") && why.contains("DescribeAlarms failed"),
        "{why}"
    );
    assert_eq!(AlarmState::parse("ALARM"), Some(AlarmState::Alarm));
    assert_eq!(AlarmState::parse("alarm"), None);
}

#[test]
fn figures_sum_the_window_and_take_the_worst_minute_p99() {
    let mut s = series(100.0, 2.0, Some(100.0), 10);
    s.points[0].p99_ms = Some(900.0); // the latest minute
    s.points[9].p99_ms = Some(5000.0); // outside a 5-minute window
    let f = figures(&s, T0 - 5 * MINUTE_MS, T0);
    assert_eq!(f.requests, 500.0);
    assert_eq!(f.errors, 10.0);
    assert_eq!(f.error_rate_percent, Some(2.0));
    assert_eq!(f.p99_ms, Some(900.0));
    let empty = figures(&s, T0, T0 + MINUTE_MS);
    assert_eq!((empty.requests, empty.error_rate_percent), (0.0, None));
}

#[test]
fn too_few_requests_is_inconclusive_never_good() {
    let (to, from) = judge_metrics(
        &rules(),
        Some(&known(series(10.0, 0.0, Some(10.0), 5))),
        Some(&known(series(1000.0, 0.0, Some(10.0), 5))),
        T0,
    );
    assert_eq!(to.verdict, Verdict::Inconclusive);
    assert!(
        to.rule.contains("50 requests") && to.rule.contains("min_requests 100"),
        "{}",
        to.rule
    );
    assert_eq!(from.verdict, Verdict::Good);
}

#[test]
fn the_absolute_error_limit_decides_when_from_has_no_errors() {
    // to at 0.5 %: under the 1 % limit, and from's rate is 0 (the ratio cannot apply).
    let (to, _) = judge_metrics(
        &rules(),
        Some(&known(series(200.0, 1.0, None, 5))),
        Some(&known(series(1000.0, 0.0, None, 5))),
        T0,
    );
    assert_eq!(to.verdict, Verdict::Good, "{}", to.rule);
    // to at 5 %: bad by the absolute limit.
    let (to, from) = judge_metrics(
        &rules(),
        Some(&known(series(200.0, 10.0, None, 5))),
        Some(&known(series(1000.0, 0.0, None, 5))),
        T0,
    );
    assert_eq!(to.verdict, Verdict::Bad);
    assert!(
        to.rule.contains("error rate 5.00% > max_error_rate 1%"),
        "{}",
        to.rule
    );
    assert_eq!(from.verdict, Verdict::Good);
}

#[test]
fn the_relative_error_limit_compares_with_from() {
    // from 0.2 %, to 0.8 %: under 1 % absolute but 4 × from's (limit 2 ×).
    let (to, _) = judge_metrics(
        &rules(),
        Some(&known(series(1000.0, 8.0, None, 5))),
        Some(&known(series(1000.0, 2.0, None, 5))),
        T0,
    );
    assert_eq!(to.verdict, Verdict::Bad);
    assert!(
        to.rule.contains("max_error_ratio 2 × from's 0.20%"),
        "{}",
        to.rule
    );
    // to 0.3 %: 1.5 × from's, allowed.
    let (to, _) = judge_metrics(
        &rules(),
        Some(&known(series(1000.0, 3.0, None, 5))),
        Some(&known(series(1000.0, 2.0, None, 5))),
        T0,
    );
    assert_eq!(to.verdict, Verdict::Good, "{}", to.rule);
}

#[test]
fn latency_has_an_absolute_and_a_relative_limit() {
    let judge_p99 = |to: f64, from: f64| {
        judge_metrics(
            &rules(),
            Some(&known(series(1000.0, 0.0, Some(to), 5))),
            Some(&known(series(1000.0, 0.0, Some(from), 5))),
            T0,
        )
    };
    let (to, _) = judge_p99(600.0, 590.0);
    assert_eq!(to.verdict, Verdict::Bad);
    assert!(
        to.rule.contains("p99 600ms > max_p99_latency 500ms"),
        "{}",
        to.rule
    );
    let (to, _) = judge_p99(400.0, 100.0);
    assert_eq!(to.verdict, Verdict::Bad);
    assert!(
        to.rule.contains("max_p99_ratio 1.5 × from's 100ms"),
        "{}",
        to.rule
    );
    let (to, _) = judge_p99(140.0, 100.0);
    assert_eq!(to.verdict, Verdict::Good, "{}", to.rule);
}

#[test]
fn from_is_judged_by_absolute_limits_so_both_bad_is_seen() {
    let (to, from) = judge_metrics(
        &rules(),
        Some(&known(series(1000.0, 50.0, None, 5))),
        Some(&known(series(1000.0, 50.0, None, 5))),
        T0,
    );
    assert_eq!((to.verdict, from.verdict), (Verdict::Bad, Verdict::Bad));
}

#[test]
fn unavailable_metrics_are_inconclusive_and_from_without_data_skips_relative_rules() {
    let (to, from) = judge_metrics(
        &rules(),
        Some(&Observed::Unavailable(
            "GetMetricData failed: throttled".into(),
        )),
        None,
        T0,
    );
    assert_eq!(to.verdict, Verdict::Inconclusive);
    assert!(to.rule.contains("throttled"), "{}", to.rule);
    assert_eq!(from.verdict, Verdict::Inconclusive);
    let (to, _) = judge_metrics(
        &rules(),
        Some(&known(series(1000.0, 1.0, None, 5))),
        Some(&known(series(5.0, 0.0, None, 5))),
        T0,
    );
    assert_eq!(to.verdict, Verdict::Good);
    assert!(
        to.rule.contains("relative rules are not applied"),
        "{}",
        to.rule
    );
}

#[test]
fn the_observed_share_and_when_it_was_reached() {
    // to's share per minute, oldest first: 1 %, 2 %, 4 %, 5 %, 5 %.
    let shares = [1.0, 2.0, 4.0, 5.0, 5.0];
    let to = LbSeries {
        points: shares
            .iter()
            .enumerate()
            .map(|(i, s)| MinutePoint {
                start: T0 - (5 - i as i64) * MINUTE_MS,
                requests: *s * 10.0,
                target_errors: 0.0,
                lb_errors: 0.0,
                p99_ms: None,
            })
            .collect(),
        ..series(0.0, 0.0, None, 0)
    };
    let from = LbSeries {
        points: shares
            .iter()
            .enumerate()
            .map(|(i, s)| MinutePoint {
                start: T0 - (5 - i as i64) * MINUTE_MS,
                requests: (100.0 - s) * 10.0,
                target_errors: 0.0,
                lb_errors: 0.0,
                p99_ms: None,
            })
            .collect(),
        ..series(0.0, 0.0, None, 0)
    };
    let share = observed_share(&to, &from, T0 - 5 * MINUTE_MS, T0).unwrap();
    assert!((share - 3.4).abs() < 1e-9, "{share}");
    // 0.8 × 5 % = 4 %: reached in the third minute, held since; counted from its end.
    assert_eq!(
        share_reached_at(&to, &from, T0 - 5 * MINUTE_MS, T0, 4.0),
        Some(T0 - 2 * MINUTE_MS)
    );
    assert_eq!(
        share_reached_at(&to, &from, T0 - 5 * MINUTE_MS, T0, 6.0),
        None
    );
    // The window starts after the step's INSYNC: earlier minutes do not count.
    assert_eq!(
        share_reached_at(&to, &from, T0 - MINUTE_MS, T0, 4.0),
        Some(T0)
    );
    let report = split_report(&to, &from, Percent::new(5).unwrap(), T0 - 5 * MINUTE_MS, T0);
    assert_eq!(report.latest_percent, Some(5.0));
    assert_eq!(report.requests_to, 170.0);
}

#[test]
fn the_split_gate_waits_then_gives_up_with_an_alert() {
    let gate = SplitGate {
        min_fraction: 0.8,
        max_wait: DurationSpec(10 * MINUTE_MS),
    };
    let weight = Percent::new(25).unwrap();
    let lagging_to = series(10.0, 0.0, None, 5); // 10 of 100: 10 % < 20 %
    let from = series(90.0, 0.0, None, 5);
    let insync = T0 - 5 * MINUTE_MS;
    match split_call(
        &gate,
        Some(&lagging_to),
        Some(&from),
        weight,
        insync,
        T0,
        T0,
    ) {
        SplitCall::Waiting(why) => assert!(why.contains("10.0%") && why.contains("20.0%"), "{why}"),
        other => panic!("{other:?}"),
    }
    match split_call(
        &gate,
        Some(&lagging_to),
        Some(&from),
        weight,
        insync,
        insync + 11 * MINUTE_MS,
        T0,
    ) {
        SplitCall::GaveUp(why) => assert!(why.contains("max_wait 600s"), "{why}"),
        other => panic!("{other:?}"),
    }
    let caught_up = series(30.0, 0.0, None, 5);
    let from = series(70.0, 0.0, None, 5);
    match split_call(&gate, Some(&caught_up), Some(&from), weight, insync, T0, T0) {
        SplitCall::Reached { since, .. } => assert_eq!(since, insync + MINUTE_MS),
        other => panic!("{other:?}"),
    }
    // Without data the share is unknown: the gate waits (never passes on nothing).
    assert!(matches!(
        split_call(&gate, None, None, weight, insync, T0, T0),
        SplitCall::Waiting(_)
    ));
}

#[test]
fn judge_combines_alarms_and_metrics_and_skips_to_at_weight_zero() {
    let (blue, green) = (name("blue"), name("green"));
    let mut view = TrafficView {
        until: T0,
        ..TrafficView::default()
    };
    view.metrics
        .insert(green.clone(), known(series(200.0, 20.0, None, 5)));
    view.metrics
        .insert(blue.clone(), known(series(800.0, 0.0, None, 5)));
    view.alarms.insert(
        blue.clone(),
        vec![AlarmReading {
            name: "blue-5xx".into(),
            state: Observed::Known(AlarmState::InsufficientData),
        }],
    );
    let r = judge(
        &view,
        Some(&rules()),
        &blue,
        &green,
        Percent::new(25).unwrap(),
        T0 - 5 * MINUTE_MS,
    );
    assert_eq!(r.verdict(&green), Some(Verdict::Bad));
    assert_eq!(r.verdict(&blue), Some(Verdict::Inconclusive));
    let split = r.split.as_ref().unwrap();
    assert_eq!(split.share_percent, Some(20.0));
    // At weight 0 `to` serves nothing: its metrics are not judged (no verdict from them).
    let r = judge(
        &view,
        Some(&rules()),
        &blue,
        &green,
        Percent::ZERO,
        T0 - 5 * MINUTE_MS,
    );
    assert_eq!(r.verdict(&green), None);
    // Without rules the split is still reported.
    let r = judge(
        &view,
        None,
        &blue,
        &green,
        Percent::new(25).unwrap(),
        T0 - 5 * MINUTE_MS,
    );
    assert!(r.split.is_some());
    assert_eq!(r.verdict(&green), None);
    assert_eq!(
        worst([Verdict::Good, Verdict::Inconclusive]),
        Verdict::Inconclusive
    );
    assert_eq!(worst([Verdict::Inconclusive, Verdict::Bad]), Verdict::Bad);
    assert_eq!(worst([]), Verdict::Good);
}
