//! The one codec of TXT record values, used by the pre-send validator, the external-dns registry
//! and the state record: one or more DNS character-strings, each in double quotes, `\"` for a
//! quote, `\\` for a backslash and `\ooo` (three octal digits) for any byte
//! (docs/reference/route53.md "TXT records": "Parse TXT with a real character-string parser, not by
//! trimming quotes").

use crate::route53::model::MAX_VALUE_CHARS;

/// The most bytes one character-string may hold (docs/reference/route53.md "TXT records": at most
/// 255 characters per string; RFC 1035 counts them in bytes, after unescaping).
pub const MAX_STRING_BYTES: usize = 255;

/// Why a TXT value is not a valid list of character-strings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxtError {
    /// Something outside quotes, an unterminated string, or a bad escape: Route53's
    /// `InvalidCharacterString`.
    #[error("value should be enclosed in quotation marks")]
    NotQuoted,
    /// A string longer than 255 bytes: Route53's `CharacterStringTooLong`.
    #[error("a character-string is longer than 255 bytes")]
    StringTooLong,
    /// Text that does not fit one value once rendered (docs/reference/route53.md "Limits").
    #[error("the TXT value is {0} characters once encoded, more than {MAX_VALUE_CHARS}")]
    ValueTooLong(usize),
}

/// Splits a TXT value into its character-strings, unescaped. Strings may be separated by
/// whitespace or follow each other directly (`"a""b"`, as read-back may join them).
pub fn parse(value: &str) -> Result<Vec<Vec<u8>>, TxtError> {
    let bytes = value.as_bytes();
    let mut strings = Vec::new();
    let mut i = 0;
    loop {
        while bytes.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
            i += 1;
        }
        match bytes.get(i) {
            None => break,
            Some(b'"') => {
                let (string, next) = parse_quoted(bytes, i + 1)?;
                strings.push(string);
                i = next;
            }
            Some(_) => return Err(TxtError::NotQuoted),
        }
    }
    if strings.is_empty() {
        return Err(TxtError::NotQuoted);
    }
    if strings.iter().any(|s| s.len() > MAX_STRING_BYTES) {
        return Err(TxtError::StringTooLong);
    }
    Ok(strings)
}

/// Reads one quoted string whose content starts at `start`; returns it and the index after its
/// closing quote.
fn parse_quoted(bytes: &[u8], start: usize) -> Result<(Vec<u8>, usize), TxtError> {
    let mut out = Vec::new();
    let mut i = start;
    loop {
        match bytes.get(i) {
            None => return Err(TxtError::NotQuoted),
            Some(b'"') => return Ok((out, i + 1)),
            Some(b'\\') => {
                let (byte, next) = parse_escape(bytes, i + 1)?;
                out.push(byte);
                i = next;
            }
            Some(&b) => {
                out.push(b);
                i += 1;
            }
        }
    }
}

/// Reads the escape after a backslash: `\ooo` (a byte, 000–377 octal) or `\X` (X itself).
fn parse_escape(bytes: &[u8], at: usize) -> Result<(u8, usize), TxtError> {
    let first = *bytes.get(at).ok_or(TxtError::NotQuoted)?;
    if !first.is_ascii_digit() {
        return Ok((first, at + 1));
    }
    let digits = bytes.get(at..at + 3).ok_or(TxtError::NotQuoted)?;
    let mut value: u32 = 0;
    for d in digits {
        if !(b'0'..=b'7').contains(d) {
            return Err(TxtError::NotQuoted);
        }
        value = value * 8 + u32::from(d - b'0');
    }
    let byte = u8::try_from(value).map_err(|_| TxtError::NotQuoted)?;
    Ok((byte, at + 3))
}

/// Writes one character-string in Route53's quoted form: `"` and `\` escaped with a backslash,
/// bytes outside printable ASCII as `\ooo`.
pub fn quote(content: &[u8]) -> String {
    let mut out = String::with_capacity(content.len() + 2);
    out.push('"');
    for &b in content {
        push_escaped(b, &mut out);
    }
    out.push('"');
    out
}

/// One byte as it stands inside a quoted character-string: `"` and `\` escaped with a
/// backslash, bytes outside printable ASCII as `\ooo`.
fn push_escaped(b: u8, out: &mut String) {
    match b {
        b'"' => out.push_str("\\\""),
        b'\\' => out.push_str("\\\\"),
        0x20..=0x7e => out.push(char::from(b)),
        other => out.push_str(&format!("\\{other:03o}")),
    }
}

/// The text of a TXT value: its strings joined (read-back may split or join them), bytes that
/// are not UTF-8 replaced.
pub fn text(value: &str) -> Result<String, TxtError> {
    let bytes: Vec<u8> = parse(value)?.concat();
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Renders text as a TXT value: quoted strings of at most 255 characters each *as written*
/// (escapes included — the stricter reading of "255 characters per string",
/// docs/reference/route53.md "TXT records"), separated by a blank. Errors if the value would exceed
/// 4,000 characters.
pub fn render(text: &str) -> Result<String, TxtError> {
    let mut strings: Vec<String> = Vec::new();
    let mut current = String::new();
    for b in text.bytes() {
        let mut piece = String::new();
        push_escaped(b, &mut piece);
        if current.len() + piece.len() > MAX_STRING_BYTES {
            strings.push(std::mem::take(&mut current));
        }
        current.push_str(&piece);
    }
    if !current.is_empty() || strings.is_empty() {
        strings.push(current);
    }
    let value = strings
        .iter()
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(" ");
    if value.len() > MAX_VALUE_CHARS {
        return Err(TxtError::ValueTooLong(value.len()));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(value: &str) -> Vec<String> {
        parse(value)
            .unwrap()
            .into_iter()
            .map(|s| String::from_utf8(s).unwrap())
            .collect()
    }

    #[test]
    fn one_or_several_quoted_strings() {
        assert_eq!(
            strings("\"heritage=external-dns,external-dns/owner=blue\""),
            ["heritage=external-dns,external-dns/owner=blue"]
        );
        assert_eq!(strings("\"a\" \"b\""), ["a", "b"]);
        assert_eq!(strings("\"a\"\"b\""), ["a", "b"]);
        assert_eq!(strings("  \"\"  "), [""]);
        assert_eq!(strings("\"Case Kept\""), ["Case Kept"]);
    }

    #[test]
    fn escapes_are_decoded() {
        assert_eq!(strings(r#""say \"hi\"""#), ["say \"hi\""]);
        assert_eq!(strings(r#""back\\slash""#), ["back\\slash"]);
        assert_eq!(strings(r#""semi\073colon""#), ["semi;colon"]);
        assert_eq!(strings(r#""\101\102""#), ["AB"]);
        assert_eq!(parse(r#""\377""#).unwrap(), vec![vec![255u8]]);
    }

    #[test]
    fn unquoted_or_malformed_values_are_refused() {
        for bad in [
            "",
            "   ",
            "plain",
            "\"open",
            "\"a\" b",
            "x\"a\"",
            "\"a\\\"",
            r#""\08""#,
            r#""\400""#,
            r#""\12""#,
        ] {
            assert_eq!(parse(bad), Err(TxtError::NotQuoted), "{bad:?}");
        }
    }

    #[test]
    fn strings_of_at_most_255_bytes() {
        let ok = format!("\"{}\"", "x".repeat(255));
        assert_eq!(parse(&ok).unwrap()[0].len(), 255);
        let long = format!("\"{}\"", "x".repeat(256));
        assert_eq!(parse(&long), Err(TxtError::StringTooLong));
        // An escape is one byte: 255 of `\065` fit.
        let escaped = format!("\"{}\"", "\\065".repeat(255));
        assert!(parse(&escaped).is_ok());
        let two = format!("\"{}\" \"{}\"", "x".repeat(255), "y".repeat(255));
        assert_eq!(parse(&two).unwrap().len(), 2);
    }

    #[test]
    fn quoting_round_trips() {
        let content = b"a \"q\" \\ \x01 z".to_vec();
        let quoted = quote(&content);
        assert_eq!(quoted, r#""a \"q\" \\ \001 z""#);
        assert_eq!(parse(&quoted).unwrap(), vec![content]);
    }

    #[test]
    fn character_strings_round_trip_with_escapes_and_splits() {
        let text = format!("{}\"quoted\\back\u{1}", "x".repeat(300));
        let value = render(&text).unwrap();
        let strings = parse(&value).unwrap();
        assert!(strings.len() >= 2);
        assert_eq!(strings.concat(), text.as_bytes());
        assert_eq!(super::text(&value).unwrap(), text);
        // Every string as written stays within 255 characters.
        for part in value.split("\" \"") {
            assert!(part.trim_matches('"').len() <= MAX_STRING_BYTES);
        }
        assert!(value.contains("\\\"quoted\\\\back\\001"));
        assert!(matches!(
            render(&"y".repeat(4000)),
            Err(TxtError::ValueTooLong(_))
        ));
    }
}
