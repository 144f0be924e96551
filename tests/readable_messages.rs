//! Messages people read — errors, refusals, summaries, alerts, logs — are in words, never in
//! Rust's debug notation (`unknown service Name("ghostshop")`, `Some("A")`, a phase as `RolledBack`).
//!
//! Two checks: the behaviour tests run each error path's message through
//! `cutover_core::text::debug_notation` (tests/events_parse.rs, the config tests, the planner's
//! property tests); and this test reads the code itself and fails, naming file and line, on any
//! debug formatting (`{:?}`, `{x:?}`, `{:#?}`, a `?field` in a log) outside test code. A value
//! from input is shown with `cutover_core::text::quoted`, an enum with its `Display` name.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

use std::fs;
use std::path::Path;

/// The code that produces messages: cutover's binary and its decision core (the sandbox is a
/// test double; tests may format as they like).
const PRODUCTION_DIRS: [&str; 2] = ["src", "core/src"];

#[test]
fn no_debug_formatting_in_production_code() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in PRODUCTION_DIRS {
        collect_rs(&root.join(dir), &mut files);
    }
    assert!(files.len() > 20, "found only {} files", files.len());
    let mut found = Vec::new();
    for path in &files {
        let text = fs::read_to_string(path).unwrap();
        for (number, line) in production_lines(path, &text) {
            if let Some(what) = debug_formatting(line) {
                let rel = path.strip_prefix(root).unwrap().display();
                found.push(format!("{rel}:{number}: {what}: {}", line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "debug formatting:\n{}", found.join("\n"));
}

#[test]
fn the_scan_finds_each_kind_of_debug_formatting() {
    for line in [
        r#"format!("unknown service {name:?}")"#,
        r#"format!("phase {:?}", st.phase)"#,
        r#"format!("{:#?}", batch)"#,
        r#"#[error("bad value {0:?}")]"#,
        r#"tracing::info!(kind = ?d.kind, "decided");"#,
        r#"tracing::info!(?messages, "lost");"#,
    ] {
        assert!(debug_formatting(line).is_some(), "{line}");
    }
    for line in [
        r#"format!("unknown service {}", quoted(name))"#,
        r#"let x = value?;"#,
        r#"let y = a.b()?.c;"#,
        r#"tracing::info!(kind = %d.kind, "decided");"#,
        r#"if let Some(x) = y.get(k)? { }"#,
    ] {
        assert_eq!(debug_formatting(line), None, "{line}");
    }
}

fn collect_rs(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_rs(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The numbered lines of a file that are not test code: a file named `tests.rs` is all test
/// code, and a file's `#[cfg(test)] mod` is its last item by this project's convention.
fn production_lines<'a>(path: &Path, text: &'a str) -> Vec<(usize, &'a str)> {
    if path.file_name().is_some_and(|n| n == "tests.rs") {
        return Vec::new();
    }
    let lines: Vec<&str> = text.lines().collect();
    let test_module = lines
        .windows(2)
        .position(|w| w[0].trim() == "#[cfg(test)]" && w[1].trim_start().starts_with("mod "))
        .unwrap_or(lines.len());
    lines[..test_module]
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
        .map(|(i, line)| (i + 1, line))
        .collect()
}

/// Debug formatting in a line: a `:?}` or `:#?}` placeholder, or a `?field` in a log macro.
fn debug_formatting(line: &str) -> Option<&'static str> {
    if line.contains(":?}") || line.contains(":#?}") {
        return Some("debug placeholder");
    }
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b != b'?' || i == 0 {
            continue;
        }
        let before = line[..i].trim_end();
        let next = bytes.get(i + 1).copied().unwrap_or(b' ');
        let starts_field = next.is_ascii_lowercase() || next == b'_';
        if starts_field && (before.ends_with('=') || before.ends_with('(') || before.ends_with(','))
        {
            return Some("debug log field");
        }
    }
    None
}
