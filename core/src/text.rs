//! How values appear inside messages people read: a name or value from input is shown in double
//! quotes with control characters escaped, so that an empty string, trailing spaces or a newline
//! are visible, and never in Rust's debug notation (`Some(…)`, `Name("…")`).

use std::fmt;

/// `value` in double quotes, with `"`, `\` and control characters escaped.
pub struct Quoted<'a>(pub &'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        for c in self.0.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                c if c.is_control() => write!(f, "{}", c.escape_default())?,
                c => write!(f, "{c}")?,
            }
        }
        f.write_str("\"")
    }
}

/// Shorthand for [`Quoted`].
pub fn quoted(value: &str) -> Quoted<'_> {
    Quoted(value)
}

/// An optional value: quoted, or `none`.
pub fn quoted_or_none(value: Option<&str>) -> String {
    value.map_or_else(|| "none".to_string(), |v| quoted(v).to_string())
}

/// Where `text` shows Rust's debug notation instead of words: `Some(…)`, `None`, `Ok(…)`,
/// `Err(…)`, a wrapped string such as `Name("…")`, or a struct such as `Verdict { reason: … }`.
/// Tests run every message people read through it; it returns the offending fragment.
pub fn debug_notation(text: &str) -> Option<&str> {
    const WORDS: [&str; 5] = ["Some(", "None", "Ok(", "Err(", "\\\""];
    if let Some(w) = WORDS.iter().find(|w| text.contains(**w)) {
        return Some(w);
    }
    // Each capitalised word, and what follows it.
    let word_starts = text.char_indices().filter(|&(i, c)| {
        c.is_ascii_uppercase()
            && !text[..i]
                .chars()
                .next_back()
                .is_some_and(|p| p.is_ascii_alphanumeric())
    });
    for (start, _) in word_starts {
        let word_len = text[start..]
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(text.len() - start);
        let rest = &text[start + word_len..];
        if rest.starts_with("(\"") || looks_like_struct(rest) {
            return Some(&text[start..start + word_len]);
        }
    }
    None
}

/// ` { field: ` after a type name.
fn looks_like_struct(rest: &str) -> bool {
    let Some(inner) = rest.strip_prefix(" { ") else {
        return false;
    };
    let field: String = inner
        .chars()
        .take_while(|c| c.is_ascii_lowercase() || *c == '_')
        .collect();
    !field.is_empty() && inner[field.len()..].starts_with(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_shows_what_is_invisible() {
        assert_eq!(quoted("payments").to_string(), "\"payments\"");
        assert_eq!(quoted("").to_string(), "\"\"");
        assert_eq!(quoted("a\"b\\c").to_string(), "\"a\\\"b\\\\c\"");
        assert_eq!(quoted("x\ny\t").to_string(), "\"x\\ny\\t\"");
        assert_eq!(quoted("é → ü").to_string(), "\"é → ü\"");
        assert_eq!(quoted_or_none(None), "none");
        assert_eq!(quoted_or_none(Some("A")), "\"A\"");
    }

    #[test]
    fn debug_notation_is_found_and_plain_words_pass() {
        for bad in [
            "unknown service Name(\"ghostshop\")",
            "identifier Some(\"blue\")",
            "type None",
            "health Verdict { reason: \"x\" }",
            "got Err(Timeout)",
            "nested \\\"quotes\\\"",
        ] {
            assert!(debug_notation(bad).is_some(), "{bad}");
        }
        for good in [
            "service: unknown service \"ghostshop\" (not in the config)",
            "InvalidChangeBatch: Tried to delete resource record set [name='a.example.com.', type='A'] but it was not found",
            "nothing to pause (phase rolled-back)",
            "cluster green is not healthy (bad); start needs a good health verdict of `to`",
            "Canary: weights { from: 90 } are shown as words",
        ] {
            assert_eq!(debug_notation(good), None, "{good}");
        }
    }
}
