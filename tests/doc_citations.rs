//! Every document that a comment or a doc cites is in the repository, with the section or heading.
//!
//! Comments cite `docs/design.md §3.1 step 2`, `docs/design.md §7.5` (item 5 of the numbered list
//! under `## 7.`), `docs/reference/route53.md "Limits"` or `docs/reference/external-dns.md §1
//! "Encryption"` (see the end of docs/architecture.md). This test reads the comments of the code
//! (consecutive comment lines joined, so a citation may be split over lines) and the Markdown
//! docs, and fails, naming file and line, on a document that does not exist, on a section number
//! or step that the document does not have, and on a quoted heading it does not have.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

// ---------------------------------------------------------------------------------------------
// Which files, and the prose in them

/// The files to check, relative to the repository root, with `/` separators.
fn files_to_check(root: &Path) -> Vec<String> {
    let mut files = Vec::new();
    for dir in ["src", "core", "sandbox", "tests", "benches", "examples"] {
        walk(
            root,
            &root.join(dir),
            &mut |rel| rel.ends_with(".rs"),
            &mut files,
        );
    }
    walk(root, &root.join("scripts"), &mut |_| true, &mut files);
    walk(
        root,
        &root.join("infra"),
        &mut |rel| rel.ends_with(".yaml") || rel.ends_with(".py"),
        &mut files,
    );
    walk(
        root,
        &root.join("docs"),
        &mut |rel| rel.ends_with(".md"),
        &mut files,
    );
    for entry in fs::read_dir(root).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".md") && entry.file_type().unwrap().is_file() {
            files.push(name);
        }
    }
    if root.join(".ci/run").is_file() {
        files.push(".ci/run".to_string());
    }
    files.sort();
    files
}

fn walk(root: &Path, dir: &Path, keep: &mut dyn FnMut(&str) -> bool, out: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            // Build output and Python's byte-code caches hold no prose.
            if path
                .file_name()
                .is_some_and(|n| n == "target" || n == "__pycache__")
            {
                continue;
            }
            walk(root, &path, keep, out);
        } else {
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            if keep(&rel) {
                out.push(rel);
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Rust,
    Python,
    /// Shell scripts and YAML: `#` comments.
    Hash,
    Markdown,
}

fn kind_of(rel: &str, text: &str) -> Kind {
    if rel.ends_with(".rs") {
        Kind::Rust
    } else if rel.ends_with(".md") {
        Kind::Markdown
    } else if rel.ends_with(".py") || text.lines().next().is_some_and(|l| l.contains("python")) {
        Kind::Python
    } else {
        Kind::Hash
    }
}

/// A stretch of prose: consecutive comment lines joined with one space, or a whole Markdown file.
struct Prose {
    text: String,
    /// (byte offset in `text`, 1-based line in the file) where each joined line starts.
    starts: Vec<(usize, usize)>,
}

impl Prose {
    fn new() -> Prose {
        Prose {
            text: String::new(),
            starts: Vec::new(),
        }
    }

    fn push(&mut self, line: usize, piece: &str) {
        if !self.text.is_empty() {
            self.text.push(' ');
        }
        self.starts.push((self.text.len(), line));
        self.text.push_str(piece.trim());
    }

    fn line_at(&self, offset: usize) -> usize {
        self.starts
            .iter()
            .take_while(|(start, _)| *start <= offset)
            .last()
            .map_or(1, |s| s.1)
    }
}

/// Byte offset of a comment opener (`//` or `#`) outside string quotes, if the line has one.
fn trailing_comment(line: &str, opener: &str, quotes: &[char]) -> Option<usize> {
    let mut open: Option<char> = None;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        if let Some(q) = open {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                open = None;
            }
        } else if quotes.contains(&c) {
            open = Some(c);
        } else if line[i..].starts_with(opener)
            && (opener != "#" || i == 0 || line[..i].ends_with(char::is_whitespace))
        {
            return Some(i);
        }
    }
    None
}

/// The prose of a file: its comments (and Python docstrings), or all of a Markdown file.
fn prose_of(kind: Kind, text: &str) -> Vec<Prose> {
    let mut out = Vec::new();
    if kind == Kind::Markdown {
        let mut all = Prose::new();
        for (i, line) in text.lines().enumerate() {
            all.push(i + 1, line);
        }
        out.push(all);
        return out;
    }
    let (opener, quotes): (&str, &[char]) = match kind {
        Kind::Rust => ("//", &['"']),
        _ => ("#", &['"', '\'']),
    };
    let mut block: Option<Prose> = None;
    let mut docstring: Option<Prose> = None;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if kind == Kind::Python {
            let marks: Vec<usize> = line.match_indices("\"\"\"").map(|(at, _)| at).collect();
            if let Some(mut doc) = docstring.take() {
                match marks.first() {
                    Some(&end) => {
                        doc.push(n, &line[..end]);
                        out.push(doc);
                    }
                    None => {
                        doc.push(n, line);
                        docstring = Some(doc);
                    }
                }
                continue;
            }
            if let Some(&start) = marks.first() {
                let mut doc = Prose::new();
                match marks.get(1) {
                    Some(&end) => {
                        doc.push(n, &line[start + 3..end]);
                        out.push(doc);
                    }
                    None => {
                        doc.push(n, &line[start + 3..]);
                        docstring = Some(doc);
                    }
                }
                continue;
            }
        }
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix(opener) {
            let rest = if kind == Kind::Rust {
                rest.strip_prefix('/')
                    .or_else(|| rest.strip_prefix('!'))
                    .unwrap_or(rest)
            } else {
                rest
            };
            block.get_or_insert_with(Prose::new).push(n, rest);
            continue;
        }
        if let Some(b) = block.take() {
            out.push(b);
        }
        if let Some(at) = trailing_comment(line, opener, quotes) {
            let mut one = Prose::new();
            one.push(n, &line[at + opener.len()..]);
            out.push(one);
        }
    }
    out.extend(block);
    out.extend(docstring);
    out
}

// ---------------------------------------------------------------------------------------------
// The cited documents

struct Heading {
    /// Line index (0-based) in the document.
    line: usize,
    level: usize,
    /// The leading section number, `3.1` for `### 3.1 Canary`, if any.
    number: Option<String>,
    /// Lower case, backticks removed, with and without the leading number.
    full: String,
    bare: String,
}

struct Doc {
    lines: Vec<String>,
    headings: Vec<Heading>,
}

impl Doc {
    fn parse(text: &str) -> Doc {
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        let mut headings = Vec::new();
        let mut fenced = false;
        for (i, line) in lines.iter().enumerate() {
            if line.trim_start().starts_with("```") {
                fenced = !fenced;
                continue;
            }
            let level = line.chars().take_while(|&c| c == '#').count();
            if fenced || level == 0 || !line[level..].starts_with(' ') {
                continue;
            }
            let full = line[level..].replace('`', "").trim().to_lowercase();
            let digits: String = full
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let number = digits.trim_end_matches('.').to_string();
            let (number, bare) =
                if number.is_empty() || !number.starts_with(|c: char| c.is_ascii_digit()) {
                    (None, full.clone())
                } else {
                    (Some(number), full[digits.len()..].trim().to_string())
                };
            headings.push(Heading {
                line: i,
                level,
                number,
                full,
                bare,
            });
        }
        Doc { lines, headings }
    }

    /// Lines `[start, end)` of the section under heading `h`, subsections included.
    fn section(&self, h: usize) -> (usize, usize) {
        let heading = &self.headings[h];
        let end = self.headings[h + 1..]
            .iter()
            .find(|other| other.level <= heading.level)
            .map_or(self.lines.len(), |other| other.line);
        (heading.line, end)
    }

    /// Lines `[start, end)` of heading `h`'s own text, up to the next heading of any level.
    fn body(&self, h: usize) -> (usize, usize) {
        let end = self
            .headings
            .get(h + 1)
            .map_or(self.lines.len(), |other| other.line);
        (self.headings[h].line + 1, end)
    }

    fn heading_numbered(&self, number: &str) -> Option<usize> {
        self.headings
            .iter()
            .position(|h| h.number.as_deref() == Some(number))
    }

    /// Lines `[start, end)` of item `n` of the top-level numbered list in `range`.
    fn list_item(&self, range: (usize, usize), n: u32) -> Option<(usize, usize)> {
        let is_item = |line: &str| {
            let digits: String = line.chars().take_while(char::is_ascii_digit).collect();
            (!digits.is_empty() && line[digits.len()..].starts_with(". ")).then_some(digits)
        };
        let start = (range.0..range.1).find(|&i| is_item(&self.lines[i]) == Some(n.to_string()))?;
        let end = (start + 1..range.1)
            .find(|&i| is_item(&self.lines[i]).is_some())
            .unwrap_or(range.1);
        Some((start, end))
    }

    fn text(&self, range: (usize, usize)) -> String {
        self.lines[range.0..range.1].join("\n")
    }

    /// A heading with this text (case-insensitive, backticks ignored) inside `range`.
    fn has_heading(&self, text: &str, range: (usize, usize)) -> bool {
        let wanted = text.replace('`', "").trim().to_lowercase();
        self.headings.iter().any(|h| {
            h.line >= range.0 && h.line < range.1 && (h.full == wanted || h.bare == wanted)
        })
    }
}

/// What a citation names inside a document.
#[derive(Debug)]
enum Part {
    /// A numbered heading or an item of the numbered list under one, maybe with steps and a
    /// heading below it: `docs/design.md §3.2 steps 1–2`, `docs/reference/external-dns.md §1
    /// "Encryption"`.
    Section {
        number: String,
        steps: Vec<(u32, Option<char>)>,
        heading: Option<String>,
    },
    Heading(String),
}

/// Checks one cited part against `doc`; `Err` says what is missing.
fn check_part(doc: &Doc, part: &Part) -> Result<(), String> {
    let whole = (0, doc.lines.len());
    // `"<heading>"`: a pattern, not a heading.
    let placeholder = |text: &str| text.starts_with('<') && text.ends_with('>');
    match part {
        Part::Heading(text) if placeholder(text) => Ok(()),
        Part::Heading(text) => {
            if doc.has_heading(text, whole) {
                Ok(())
            } else {
                Err(format!("no heading \"{text}\""))
            }
        }
        Part::Section {
            number,
            steps,
            heading,
        } => {
            let range = if let Some(h) = doc.heading_numbered(number) {
                doc.section(h)
            } else {
                // §A.B where only §A is a heading: item B of the numbered list under §A.
                let (parent, item) = number
                    .rsplit_once('.')
                    .ok_or(format!("no section §{number}"))?;
                let h = doc
                    .heading_numbered(parent)
                    .ok_or(format!("no section §{number}"))?;
                let n: u32 = item.parse().map_err(|_| format!("no section §{number}"))?;
                doc.list_item(doc.body(h), n).ok_or(format!(
                    "no section §{number} (no such heading, no item {n} in the list of §{parent})"
                ))?
            };
            if !steps.is_empty() {
                let h = doc
                    .heading_numbered(number)
                    .ok_or(format!("§{number} is not a heading with numbered steps"))?;
                for (n, letter) in steps {
                    let item = doc
                        .list_item(doc.body(h), *n)
                        .ok_or(format!("§{number} has no step {n}"))?;
                    if let Some(letter) = letter {
                        if !doc.text(item).contains(&format!("({letter})")) {
                            return Err(format!("§{number} step {n} has no ({letter})"));
                        }
                    }
                }
            }
            if let Some(text) = heading.as_deref().filter(|t| !placeholder(t)) {
                if !doc.has_heading(text, range) {
                    return Err(format!("§{number} has no heading \"{text}\""));
                }
            }
            Ok(())
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Citations in the prose

/// Documents that were never in the repository, and what replaced them.
const GONE: &[(&str, &str)] = &[
    ("PRODUCT.md", "docs/design.md"),
    ("rust-lambda.md", "docs/reference/lambda-and-eks.md"),
    ("route53.md", "docs/reference/route53.md"),
    ("external-dns.md", "docs/reference/external-dns.md"),
    ("lambda-and-eks.md", "docs/reference/lambda-and-eks.md"),
];

fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/')
}

/// Parses `§…` / `"…"` parts at `at`, continuing over `,` `;` `/` `–` `and` `or` separators.
/// Returns the parts, the byte offsets of the `§` signs it read, and where it stopped.
fn parse_parts(text: &str, mut at: usize, heading_first: bool) -> (Vec<Part>, Vec<usize>, usize) {
    let mut parts = Vec::new();
    let mut signs = Vec::new();
    let mut first = true;
    loop {
        let start = at;
        let rest = &text[at..];
        let gap = if first {
            rest.len() - rest.trim_start_matches(' ').len()
        } else {
            let mut gap = rest.len() - rest.trim_start_matches(' ').len();
            let mut separated = false;
            for sep in [",", ";", "/", "–", "and", "or"] {
                if rest[gap..].starts_with(sep) {
                    gap += sep.len();
                    separated = true;
                    break;
                }
            }
            if !separated && gap == 0 {
                break;
            }
            gap + rest[gap..].len() - rest[gap..].trim_start_matches(' ').len()
        };
        let rest = &rest[gap..];
        if let Some(after) = rest.strip_prefix('§') {
            let number: String = after
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let number = number.trim_end_matches('.').to_string();
            if number.is_empty() {
                at = start;
                break;
            }
            signs.push(at + gap);
            at += gap + '§'.len_utf8() + number.len();
            let steps = parse_steps(text, &mut at);
            let heading = parse_quoted(text, &mut at);
            parts.push(Part::Section {
                number,
                steps,
                heading,
            });
        } else if rest.starts_with('"') && (heading_first || !first) && allows_heading(&parts) {
            let mut q = at + gap;
            match parse_quoted(text, &mut q) {
                Some(h) => {
                    parts.push(Part::Heading(h));
                    at = q;
                }
                None => {
                    at = start;
                    break;
                }
            }
        } else {
            at = start;
            break;
        }
        first = false;
    }
    (parts, signs, at)
}

/// A quoted heading may follow the path itself or another quoted heading.
fn allows_heading(parts: &[Part]) -> bool {
    match parts.last() {
        None | Some(Part::Heading(_)) => true,
        Some(Part::Section { heading, .. }) => heading.is_some(),
    }
}

/// ` step 2`, ` step 2b`, ` steps 1–2`, ` steps 1 and 2` after a section number.
fn parse_steps(text: &str, at: &mut usize) -> Vec<(u32, Option<char>)> {
    let rest = &text[*at..];
    let Some(after) = rest
        .strip_prefix(" steps ")
        .or_else(|| rest.strip_prefix(" step "))
    else {
        return Vec::new();
    };
    let mut pos = rest.len() - after.len();
    let mut steps = Vec::new();
    loop {
        let tail = &rest[pos..];
        let digits: String = tail.chars().take_while(char::is_ascii_digit).collect();
        let Ok(n) = digits.parse::<u32>() else { break };
        pos += digits.len();
        let letter = rest[pos..]
            .chars()
            .next()
            .filter(char::is_ascii_lowercase)
            .filter(|_| !rest[pos + 1..].starts_with(|c: char| c.is_ascii_alphanumeric()));
        if let Some(l) = letter {
            pos += l.len_utf8();
        }
        steps.push((n, letter));
        let tail = &rest[pos..];
        let sep = ["–", "-", ", ", " and "]
            .iter()
            .find(|s| tail.starts_with(**s));
        match sep {
            Some(s) if rest[pos + s.len()..].starts_with(|c: char| c.is_ascii_digit()) => {
                let range = matches!(*s, "–" | "-");
                pos += s.len();
                if range {
                    let digits: String = rest[pos..]
                        .chars()
                        .take_while(char::is_ascii_digit)
                        .collect();
                    let last: u32 = digits.parse().unwrap();
                    let from = n + 1;
                    steps.extend((from..=last).map(|k| (k, None)));
                    pos += digits.len();
                    break;
                }
            }
            _ => break,
        }
    }
    *at += pos;
    steps
}

/// ` "Heading"` at `at` (one space, then a quoted text): the text, and `at` moved past it.
fn parse_quoted(text: &str, at: &mut usize) -> Option<String> {
    let rest = &text[*at..];
    let inner = rest
        .strip_prefix(" \"")
        .or_else(|| rest.strip_prefix('"'))?;
    let end = inner.find('"')?;
    *at += rest.len() - inner.len() + end + 1;
    Some(inner[..end].to_string())
}

/// Every problem in one stretch of prose of `file`, as `file:line: message`.
fn check_prose(
    root: &Path,
    file: &str,
    kind: Kind,
    prose: &Prose,
    docs: &mut DocCache,
) -> Vec<String> {
    let text = &prose.text;
    let mut errors = Vec::new();
    let mut report = |offset: usize, message: String| {
        errors.push(format!("{file}:{}: {message}", prose.line_at(offset)));
    };
    let file_dir = Path::new(file)
        .parent()
        .unwrap_or(Path::new(""))
        .to_path_buf();
    let mut read_signs: BTreeSet<usize> = BTreeSet::new();

    for (dot, _) in text.match_indices(".md") {
        let end = dot + 3;
        if text[end..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let start = text[..dot]
            .char_indices()
            .rev()
            .take_while(|(_, c)| is_path_char(*c))
            .last()
            .map_or(dot, |(i, _)| i);
        if start == dot {
            continue; // `<file>.md`: a pattern, not a document
        }
        let token = &text[start..end];
        let path = if token.starts_with("./") || token.starts_with("../") {
            token
        } else {
            token.trim_start_matches(['.', '/'])
        };
        let before = text[..start].chars().next_back();
        // `<file>.md`, `*.md`, `{name}.md`: a pattern, not a document.
        if path.len() <= 3 || matches!(before, Some('<' | '>' | '*' | '{' | '}' | '$' | '%')) {
            continue;
        }
        // Part of a URL: another site's document.
        let word_start = text[..start]
            .rfind(char::is_whitespace)
            .map_or(0, |i| i + 1);
        if text[word_start..start].contains("://") {
            continue;
        }
        let link_target = kind == Kind::Markdown && text[..start].ends_with("](");
        let resolved = if kind == Kind::Markdown {
            let local = file_dir.join(path);
            if link_target || root.join(&local).exists() || !root.join(path).exists() {
                local
            } else {
                PathBuf::from(path)
            }
        } else {
            PathBuf::from(path)
        };
        let (parts, signs, stop) = parse_parts(text, end, true);
        read_signs.extend(signs);
        if !root.join(&resolved).is_file() {
            let name = path.rsplit('/').next().unwrap_or(path);
            let hint = GONE
                .iter()
                .find(|(gone, _)| *gone == name)
                .map(|(_, now)| format!("; cite {now}"))
                .unwrap_or_default();
            let base = if kind == Kind::Markdown {
                "this file's directory"
            } else {
                "the repository root"
            };
            report(
                start,
                format!("`{path}` is not a file of the repository (relative to {base}){hint}"),
            );
            continue;
        }
        if text[end..].starts_with(", §") || text[end..].starts_with(", \"") {
            report(
                start,
                format!("write `{path} §N` or `{path} \"Heading\"`, with no comma"),
            );
        }
        if text[stop..].starts_with(", \"") && !parts.is_empty() {
            report(
                stop,
                format!("write `{path} §N \"Heading\"`, with no comma"),
            );
        }
        let doc = docs.get(root, &resolved);
        for part in &parts {
            if let Err(why) = check_part(doc, part) {
                report(start, format!("`{path}`: {why}"));
            }
        }
    }

    // A section sign that follows no document: in Markdown a section of the file itself, in
    // code a citation without its document.
    for (sign, _) in text.match_indices('§') {
        let numbered = text[sign + '§'.len_utf8()..].starts_with(|c: char| c.is_ascii_digit());
        if read_signs.contains(&sign) || !numbered {
            continue;
        }
        let before = text[..sign].trim_end();
        let rfc = before.rsplit_once(' ').is_some_and(|(head, num)| {
            head.ends_with("RFC") && num.chars().all(|c| c.is_ascii_digit())
        });
        if rfc {
            continue;
        }
        if kind == Kind::Markdown {
            let (parts, signs, _) = parse_parts(text, sign, false);
            read_signs.extend(signs);
            let doc = docs.get(root, Path::new(file));
            for part in &parts {
                if let Err(why) = check_part(doc, part) {
                    report(sign, format!("this file: {why}"));
                }
            }
        } else {
            let cited: String = text[sign..].chars().take(12).collect();
            let why = "names no document: write `docs/design.md §N` or the reference it means";
            report(sign, format!("`{cited}…` {why}"));
        }
    }
    errors
}

/// Parsed documents, read once each.
struct DocCache(Vec<(PathBuf, Doc)>);

impl DocCache {
    fn get(&mut self, root: &Path, rel: &Path) -> &Doc {
        let key = normalise(rel);
        if let Some(i) = self.0.iter().position(|(p, _)| *p == key) {
            return &self.0[i].1;
        }
        let text = fs::read_to_string(root.join(&key)).unwrap();
        self.0.push((key, Doc::parse(&text)));
        &self.0.last().unwrap().1
    }
}

/// `a/../b` → `b`.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Every problem in `text`, the content of `file` (relative to `root`).
fn check_file(root: &Path, file: &str, text: &str, docs: &mut DocCache) -> Vec<String> {
    let kind = kind_of(file, text);
    prose_of(kind, text)
        .iter()
        .flat_map(|p| check_prose(root, file, kind, p, docs))
        .collect()
}

// ---------------------------------------------------------------------------------------------

#[test]
fn every_cited_document_section_and_heading_exists() {
    let root = root();
    let mut docs = DocCache(Vec::new());
    let files = files_to_check(root);
    assert!(
        files.iter().any(|f| f == "src/lib.rs"),
        "the walk found the sources"
    );
    assert!(
        files.iter().any(|f| f == "docs/design.md"),
        "the walk found the docs"
    );
    let mut errors = Vec::new();
    for file in &files {
        let Ok(text) = fs::read_to_string(root.join(file)) else {
            continue; // not text
        };
        errors.extend(check_file(root, file, &text, &mut docs));
    }
    assert!(
        errors.is_empty(),
        "{} bad citations:\n{}",
        errors.len(),
        errors.join("\n")
    );
}

#[test]
fn the_checker_reports_a_missing_section_heading_and_document() {
    let root = root();
    let mut docs = DocCache(Vec::new());
    let gone = ["PRODUCT", "md"].join(".");
    let text = [
        "/// Good: docs/design.md §3.1 step 2, §7.5 and docs/reference/route53.md \"Limits\"."
            .to_string(),
        "fn f() {}".to_string(),
        "// Bad: docs/design.md §99, then docs/reference/route53.md".to_string(),
        "// \"No such heading\", then".to_string(),
        format!("// {gone} §1."),
    ]
    .join("\n");
    let errors = check_file(root, "src/made_up.rs", &text, &mut docs);
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert!(
        errors[0].starts_with("src/made_up.rs:3:") && errors[0].contains("§99"),
        "{errors:#?}"
    );
    assert!(
        errors[1].starts_with("src/made_up.rs:3:") && errors[1].contains("No such heading"),
        "{errors:#?}"
    );
    assert!(
        errors[2].starts_with("src/made_up.rs:5:") && errors[2].contains(&gone),
        "{errors:#?}"
    );
}
