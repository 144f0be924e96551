//! Format version 2 of the state record (docs/state-record.md "Encoding"): `key=value` fields
//! separated by single blanks, no quotes, so that nothing needs a TXT escape and a tick's record
//! fits one 255-character string. Values are percent-encoded where they could hold a separator.

use std::collections::BTreeMap;

use crate::command::Strategy;
use crate::route53::model::RecordSet;
use crate::types::{Millis, Name, Percent};

use super::{PendingChange, Phase, State, StepChecks, Written};

/// Bytes written as they are; any other byte is `%XX`.
fn is_plain(b: u8) -> bool {
    b.is_ascii_graphic() && !matches!(b, b'"' | b'\\' | b'%' | b',' | b':' | b'=' | b'*')
}

/// Percent-encodes `s` (UTF-8 bytes), keeping plain bytes as they are.
pub(super) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if is_plain(b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes; the result must be UTF-8.
pub(super) fn unescape(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad escape in {s}"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("{s} is not UTF-8 once unescaped"))
}

/// The state as version-2 text.
pub(super) fn write(st: &State) -> Result<String, String> {
    let mut f: Vec<String> = vec![format!("v={}", super::STATE_VERSION)];
    let mut put = |key: &str, value: String| f.push(format!("{key}={value}"));
    put("ph", st.phase.name().to_string());
    put("s", strategy_name(st.strategy).to_string());
    put("f", escape(st.from.as_str()));
    put("t", escape(st.to.as_str()));
    put("p", st.percent.get().to_string());
    if let Some(t) = st.target {
        put("tg", t.get().to_string());
    }
    if let Some(c) = &st.change {
        put("cs", c.submitted_at.to_string());
        if let Some(tag) = &c.tag {
            put("ct", escape(tag));
        }
        if let Some(id) = &c.id {
            put("ci", escape(id));
        }
        if let Some(t) = c.insync_at {
            put("cy", t.to_string());
        }
    }
    if st.failures != 0 {
        put("fl", st.failures.to_string());
    }
    let k = &st.checks;
    if k.good != 0 {
        put("cg", k.good.to_string());
    }
    if let Some(t) = k.good_since {
        put("gs", t.to_string());
    }
    if k.bad != 0 {
        put("cb", k.bad.to_string());
    }
    if k.inconclusive != 0 {
        put("cn", k.inconclusive.to_string());
    }
    if let Some(a) = st.approved {
        put("ap", a.get().to_string());
    }
    let w = &st.written;
    if !w.weights.is_empty() {
        let list: Vec<String> = w
            .weights
            .iter()
            .map(|(k, v)| format!("{}:{v}", escape(k)))
            .collect();
        put("w", list.join(","));
    }
    if !w.owners.is_empty() {
        let first = w.owners.values().next();
        let same_keys = w.owners.keys().eq(w.weights.keys());
        let one_owner = w.owners.values().all(|o| Some(o) == first);
        match first {
            Some(owner) if same_keys && one_owner => put("o", format!("*:{}", escape(owner))),
            _ => {
                let list: Vec<String> = w
                    .owners
                    .iter()
                    .map(|(k, v)| format!("{}:{}", escape(k), escape(v)))
                    .collect();
                put("o", list.join(","));
            }
        }
    }
    if !st.events.is_empty() {
        let list: Vec<String> = st.events.iter().map(|e| escape(e)).collect();
        put("e", list.join(","));
    }
    if let Some(wave) = &st.wave {
        put("wv", escape(wave));
    }
    if !st.prior.is_empty() {
        let json = serde_json::to_string(&st.prior).map_err(|e| e.to_string())?;
        put("pr", escape(&json));
    }
    put("a", escape(&st.actor));
    if let Some(r) = &st.reason {
        put("r", escape(r));
    }
    put("at", st.at.to_string());
    Ok(f.join(" "))
}

fn strategy_name(s: Strategy) -> &'static str {
    match s {
        Strategy::Canary => "canary",
        Strategy::BlueGreen => "blue-green",
    }
}

/// Reads version-2 text (the `v=2` field already checked by the caller). Unknown fields are
/// ignored, so a later cutover may add optional fields within the version.
pub(super) fn read(text: &str) -> Result<State, String> {
    let mut fields: BTreeMap<&str, &str> = BTreeMap::new();
    for token in text.split(' ').filter(|t| !t.is_empty()) {
        let (key, value) = token
            .split_once('=')
            .ok_or_else(|| format!("field {token} has no '='"))?;
        if fields.insert(key, value).is_some() {
            return Err(format!("field {key} appears twice"));
        }
    }
    let get = |key: &str| fields.get(key).copied();
    let need = |key: &str| get(key).ok_or_else(|| format!("no field {key}"));
    let phase = parse_phase(need("ph")?)?;
    let strategy = match need("s")? {
        "canary" => Strategy::Canary,
        "blue-green" => Strategy::BlueGreen,
        other => return Err(format!("unknown strategy {other}")),
    };
    let name = |key: &str| -> Result<Name, String> {
        let raw = unescape(need(key)?)?;
        Name::new(&raw).map_err(|e| format!("{key}: {e}"))
    };
    let percent = |key: &str| -> Result<Option<Percent>, String> {
        get(key)
            .map(|v| {
                let n: i64 = v.parse().map_err(|_| format!("{key}: not a number: {v}"))?;
                Percent::new(n).map_err(|e| format!("{key}: {e}"))
            })
            .transpose()
    };
    let number = |key: &str| -> Result<Option<u32>, String> {
        get(key)
            .map(|v| v.parse().map_err(|_| format!("{key}: not a number: {v}")))
            .transpose()
    };
    let millis = |key: &str| -> Result<Option<Millis>, String> {
        get(key)
            .map(|v| v.parse().map_err(|_| format!("{key}: not a time: {v}")))
            .transpose()
    };
    let change = match millis("cs")? {
        Some(submitted_at) => Some(PendingChange {
            id: get("ci").map(unescape).transpose()?,
            tag: get("ct").map(unescape).transpose()?,
            submitted_at,
            insync_at: millis("cy")?,
        }),
        None => None,
    };
    let mut written = Written::default();
    if let Some(list) = get("w") {
        for pair in list.split(',') {
            let (k, v) = pair
                .split_once(':')
                .ok_or_else(|| format!("w: {pair} is not key:weight"))?;
            let weight: u8 = v.parse().map_err(|_| format!("w: bad weight {v}"))?;
            written.weights.insert(unescape(k)?, weight);
        }
    }
    if let Some(list) = get("o") {
        match list.strip_prefix("*:") {
            Some(owner) => {
                let owner = unescape(owner)?;
                for k in written.weights.keys() {
                    written.owners.insert(k.clone(), owner.clone());
                }
            }
            None => {
                for pair in list.split(',') {
                    let (k, v) = pair
                        .split_once(':')
                        .ok_or_else(|| format!("o: {pair} is not key:owner"))?;
                    written.owners.insert(unescape(k)?, unescape(v)?);
                }
            }
        }
    }
    let events = match get("e") {
        Some(list) => list.split(',').map(unescape).collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    let prior: Vec<RecordSet> = match get("pr") {
        Some(json) => serde_json::from_str(&unescape(json)?).map_err(|e| format!("pr: {e}"))?,
        None => Vec::new(),
    };
    Ok(State {
        v: super::STATE_VERSION,
        phase,
        strategy,
        from: name("f")?,
        to: name("t")?,
        percent: percent("p")?.ok_or("no field p")?,
        target: percent("tg")?,
        change,
        failures: number("fl")?.unwrap_or(0),
        checks: StepChecks {
            good: number("cg")?.unwrap_or(0),
            good_since: millis("gs")?,
            bad: number("cb")?.unwrap_or(0),
            inconclusive: number("cn")?.unwrap_or(0),
        },
        approved: percent("ap")?,
        written,
        events,
        wave: get("wv").map(unescape).transpose()?,
        prior,
        actor: unescape(need("a")?)?,
        reason: get("r").map(unescape).transpose()?,
        at: millis("at")?.ok_or("no field at")?,
    })
}

fn parse_phase(s: &str) -> Result<Phase, String> {
    [
        Phase::Idle,
        Phase::Canary,
        Phase::Paused,
        Phase::Holding,
        Phase::RolledBack,
        Phase::Completing,
        Phase::Completed,
        Phase::Verifying,
    ]
    .into_iter()
    .find(|p| p.name() == s)
    .ok_or_else(|| format!("unknown phase {s}"))
}
