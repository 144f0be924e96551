//! TXT record values as DNS character strings.
//!
//! docs/reference/route53.md "TXT records": every string in double quotes, at most 255 characters
//! per string, several strings in one Value (`"a" "b"`); `\"` for a quote and `\ooo` octal for
//! other special bytes. Parsed with a real character-string parser, not by trimming quotes.

use thiserror::Error;

/// Longest character string (docs/reference/route53.md "TXT records").
pub const MAX_STRING_LENGTH: usize = 255;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TxtError {
    /// Exact text from the reference.
    #[error("Invalid Resource Record: FATAL problem: InvalidCharacterString (Value should be enclosed in quotation marks) encountered with '{0}'")]
    NotQuoted(String),
    /// Exact text from the reference.
    #[error("Invalid Resource Record: FATAL problem: CharacterStringTooLong (Value is too long) encountered with '{0}'")]
    TooLong(String),
}

/// Splits a TXT value into its decoded character strings.
pub fn parse_character_strings(value: &str) -> Result<Vec<Vec<u8>>, TxtError> {
    let not_quoted = || TxtError::NotQuoted(value.to_string());
    let bytes = value.as_bytes();
    let mut strings = Vec::new();
    let mut i = 0;
    loop {
        while bytes.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
            i += 1;
        }
        match bytes.get(i) {
            None => break,
            Some(b'"') => {}
            Some(_) => return Err(not_quoted()),
        }
        let (decoded, next) = read_quoted(bytes, i + 1).ok_or_else(not_quoted)?;
        if decoded.len() > MAX_STRING_LENGTH {
            return Err(TxtError::TooLong(value.to_string()));
        }
        strings.push(decoded);
        i = next;
        // After a closing quote: whitespace, another quoted string or the end.
        if let Some(b) = bytes.get(i) {
            if !b.is_ascii_whitespace() && *b != b'"' {
                return Err(not_quoted());
            }
        }
    }
    if strings.is_empty() {
        return Err(not_quoted());
    }
    Ok(strings)
}

/// Reads a quoted string whose content starts at `start`; returns its bytes and the index after
/// the closing quote, or `None` if the quote is never closed or an escape is malformed.
fn read_quoted(bytes: &[u8], start: usize) -> Option<(Vec<u8>, usize)> {
    let mut out = Vec::new();
    let mut i = start;
    loop {
        match *bytes.get(i)? {
            b'"' => return Some((out, i + 1)),
            b'\\' => {
                let next = *bytes.get(i + 1)?;
                if next.is_ascii_digit() {
                    let digits = bytes.get(i + 1..i + 4)?;
                    let mut value: u32 = 0;
                    for d in digits {
                        if !(b'0'..=b'7').contains(d) {
                            return None;
                        }
                        value = value * 8 + u32::from(d - b'0');
                    }
                    out.push(u8::try_from(value).ok()?);
                    i += 4;
                } else {
                    out.push(next);
                    i += 2;
                }
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_several_strings_and_escapes() {
        let s = parse_character_strings(r#""a b" "c\"d" "\101""#).unwrap();
        assert_eq!(s, vec![b"a b".to_vec(), b"c\"d".to_vec(), b"A".to_vec()]);
        assert_eq!(
            parse_character_strings(r#""""#).unwrap(),
            vec![Vec::<u8>::new()]
        );
        assert_eq!(parse_character_strings(r#""a""b""#).unwrap().len(), 2);
    }

    #[test]
    fn refuses_unquoted_and_unterminated() {
        for bad in ["abc", "", "  ", "\"abc", "\"a\"b", "\"a\\", "\"\\9\""] {
            assert_eq!(
                parse_character_strings(bad),
                Err(TxtError::NotQuoted(bad.to_string())),
                "{bad}"
            );
        }
    }

    #[test]
    fn refuses_strings_over_255() {
        let ok = format!("\"{}\"", "x".repeat(255));
        assert!(parse_character_strings(&ok).is_ok());
        let long = format!("\"{}\"", "x".repeat(256));
        assert_eq!(
            parse_character_strings(&long),
            Err(TxtError::TooLong(long.clone()))
        );
        assert_eq!(
            TxtError::NotQuoted("v".into()).to_string(),
            "Invalid Resource Record: FATAL problem: InvalidCharacterString (Value should be enclosed in quotation marks) encountered with 'v'"
        );
    }
}
