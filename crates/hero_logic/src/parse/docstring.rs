//! Reading docstrings: the summary paragraph and per-name descriptions.
//!
//! Understands Google style (`Args:` / `Attributes:` sections with `name (type): text`
//! entries), NumPy style (`Parameters` underlined with dashes, `name : type` entries) and
//! Sphinx fields (`:param name: text`, `:type name: T`).

use ruff_python_ast::Stmt;

/// What a docstring says about one parameter or attribute.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameDoc {
    pub name: String,
    /// The type as written in the docstring (`int`, `list[str], optional`).
    pub type_hint: Option<String>,
    pub description: String,
}

/// Which sections list names: parameters of a function or attributes of a class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Params,
    Attributes,
}

impl Section {
    fn titles(self) -> &'static [&'static str] {
        match self {
            Section::Params => &[
                "args",
                "arguments",
                "parameters",
                "params",
                "keyword args",
                "keyword arguments",
                "other parameters",
            ],
            Section::Attributes => &["attributes", "fields"],
        }
    }
}

/// Titles of the Google/NumPy sections that are not read for fields; with the titles of
/// the ones that are, they mark where a summary ends.
const OTHER_SECTION_TITLES: &[&str] = &[
    "returns", "return", "yields", "raises", "examples", "example", "notes", "note", "see also", "warnings",
    "warning", "todo",
];

fn is_known_title(title: &str) -> bool {
    [Section::Params, Section::Attributes].iter().any(|s| s.titles().contains(&title))
        || OTHER_SECTION_TITLES.contains(&title)
}

/// The raw text of a body's docstring, if its first statement is a string literal.
pub fn of_body(body: &[Stmt]) -> Option<&str> {
    match body.first()? {
        Stmt::Expr(expr) => super::literal::string(&expr.value),
        _ => None,
    }
}

/// Like Python's `inspect.cleandoc`: strips the common indentation of all lines but the first,
/// and blank lines at both ends.
pub fn clean(doc: &str) -> String {
    let doc = doc.replace('\t', "        ");
    let lines: Vec<&str> = doc.lines().collect();
    let margin = lines
        .iter()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| indent_of(l))
        .min()
        .unwrap_or(0);
    let mut cleaned: Vec<&str> = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        if i == 0 {
            cleaned.push(line.trim_start());
        } else {
            // Indentation counts ASCII spaces only, so this slice is on a char boundary.
            let strip = margin.min(indent_of(line));
            cleaned.push(line[strip..].trim_end());
        }
    }
    while cleaned.first().is_some_and(|l| l.trim().is_empty()) {
        cleaned.remove(0);
    }
    while cleaned.last().is_some_and(|l| l.trim().is_empty()) {
        cleaned.pop();
    }
    cleaned.join("\n")
}

/// The first paragraph of a docstring as one line; `None` when it is empty or the docstring
/// starts straight with a section.
pub fn summary(doc: &str) -> Option<String> {
    let cleaned = clean(doc);
    let paragraph: Vec<&str> = cleaned
        .lines()
        .take_while(|l| !l.trim().is_empty() && section_title(l).is_none())
        .map(str::trim)
        .collect();
    let text = paragraph.join(" ");
    (!text.is_empty()).then_some(text)
}

/// Every name documented in `section` sections of the docstring, in order.
pub fn names(doc: &str, section: Section) -> Vec<NameDoc> {
    let cleaned = clean(doc);
    let lines: Vec<&str> = cleaned.lines().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        i = match section_start(&lines, i, section) {
            Some(body_start) => read_entries(&lines, body_start, indent_of(lines[i]), &mut found),
            None => i + 1,
        };
    }
    if section == Section::Params {
        merge(&mut found, sphinx_fields(&lines));
    }
    found
}

/// When line `i` opens a section of this kind, the index of its first entry line.
fn section_start(lines: &[&str], i: usize, section: Section) -> Option<usize> {
    let title = section_title(lines[i])?;
    if !section.titles().contains(&title.as_str()) {
        return None;
    }
    let underlined = lines.get(i + 1).is_some_and(|l| is_underline(l));
    Some(if underlined { i + 2 } else { i + 1 })
}

/// The lower-cased title when a line is a section header: `Args:` (Google) or a bare title
/// followed by a dashed underline (NumPy; checked by the caller).
fn section_title(line: &str) -> Option<String> {
    let trimmed = line.trim();
    let title = trimmed
        .strip_suffix(':')
        .unwrap_or(trimmed)
        .to_ascii_lowercase();
    is_known_title(&title).then_some(title)
}

fn is_underline(line: &str) -> bool {
    let trimmed = line.trim();
    trimmed.len() >= 3 && trimmed.chars().all(|c| c == '-' || c == '=')
}

/// Reads entries until the section ends; returns the index of the first line after it.
///
/// Google entries sit indented under their header; NumPy entries sit at the header's own
/// indentation, so an entry level equal to the header's is accepted until a blank line
/// followed by a dedent or the next header.
fn read_entries(
    lines: &[&str],
    start: usize,
    header_indent: usize,
    out: &mut Vec<NameDoc>,
) -> usize {
    let Some(entry_indent) = lines[start..]
        .iter()
        .find(|l| !l.trim().is_empty())
        .map(|l| indent_of(l))
    else {
        return lines.len();
    };
    if entry_indent < header_indent {
        return start;
    }
    let mut i = start;
    while i < lines.len() {
        let line = lines[i];
        if line.trim().is_empty() {
            i += 1;
            continue;
        }
        let indent = indent_of(line);
        if indent < entry_indent || (indent == entry_indent && section_title(line).is_some()) {
            break;
        }
        if indent == entry_indent {
            match parse_entry(line.trim()) {
                Some(entry) => out.push(entry),
                None => break,
            }
        } else if let Some(last) = out.last_mut() {
            append(&mut last.description, line.trim());
        }
        i += 1;
    }
    i
}

/// `name (type): text`, `name: text` or NumPy's `name : type`.
fn parse_entry(line: &str) -> Option<NameDoc> {
    let (head, rest) = match line.split_once(':') {
        Some((head, rest)) => (head.trim(), rest.trim()),
        None => (line, ""),
    };
    let numpy = line.contains(" : ");
    let (name, type_hint) = match head.split_once('(') {
        Some((name, hint)) if hint.ends_with(')') => (
            name.trim(),
            Some(hint.trim_end_matches(')').trim().to_owned()),
        ),
        _ => (head, None),
    };
    let name = name.trim_start_matches('*');
    if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return None;
    }
    let (type_hint, description) = if numpy && type_hint.is_none() {
        (
            Some(rest.to_owned()).filter(|t| !t.is_empty()),
            String::new(),
        )
    } else {
        (type_hint, rest.to_owned())
    };
    Some(NameDoc {
        name: name.to_owned(),
        type_hint,
        description,
    })
}

/// `:param [type] name: text` and `:type name: T` lines.
fn sphinx_fields(lines: &[&str]) -> Vec<NameDoc> {
    let mut found: Vec<NameDoc> = Vec::new();
    for line in lines {
        let trimmed = line.trim();
        if let Some(rest) = trimmed.strip_prefix(":param ") {
            let Some((head, text)) = rest.split_once(':') else {
                continue;
            };
            let mut words = head.split_whitespace().rev();
            let Some(name) = words.next() else { continue };
            let type_hint = words.next().map(str::to_owned);
            merge(
                &mut found,
                vec![NameDoc {
                    name: name.to_owned(),
                    type_hint,
                    description: text.trim().to_owned(),
                }],
            );
        } else if let Some(rest) = trimmed.strip_prefix(":type ") {
            let Some((name, hint)) = rest.split_once(':') else {
                continue;
            };
            let hint = Some(hint.trim().to_owned());
            merge(
                &mut found,
                vec![NameDoc {
                    name: name.trim().to_owned(),
                    type_hint: hint,
                    ..NameDoc::default()
                }],
            );
        }
    }
    found
}

/// Adds entries to `into`, filling gaps of entries that are already there.
fn merge(into: &mut Vec<NameDoc>, more: Vec<NameDoc>) {
    for doc in more {
        match into.iter_mut().find(|d| d.name == doc.name) {
            Some(existing) => {
                if existing.description.is_empty() {
                    existing.description = doc.description;
                }
                if existing.type_hint.is_none() {
                    existing.type_hint = doc.type_hint;
                }
            }
            None => into.push(doc),
        }
    }
}

fn append(text: &mut String, more: &str) {
    if !text.is_empty() {
        text.push(' ');
    }
    text.push_str(more);
}

/// Leading ASCII spaces (tabs are expanded first); other whitespace counts as text.
fn indent_of(line: &str) -> usize {
    line.bytes().take_while(|b| *b == b' ').count()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOGLE: &str = "Greets someone.

    Longer text that is not part of the summary.

    Args:
        name (str): Who to greet.
        greeting: The word to use,
            continued here.
        *extra: Ignored.

    Returns:
        dict: with message.
    ";

    #[test]
    fn cleandoc_matches_python() {
        assert_eq!(clean("  Title\n    a\n      b\n\n"), "Title\na\n  b");
        assert_eq!(clean(""), "");
    }

    #[test]
    fn summary_is_first_paragraph() {
        assert_eq!(summary(GOOGLE).as_deref(), Some("Greets someone."));
        assert_eq!(
            summary("\n  Two\n  lines.\n\n  More.").as_deref(),
            Some("Two lines.")
        );
        assert_eq!(summary("Args:\n    x: y").as_deref(), None);
        assert_eq!(summary("   ").as_deref(), None);
    }

    #[test]
    fn google_args() {
        let docs = names(GOOGLE, Section::Params);
        let names: Vec<&str> = docs.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["name", "greeting", "extra"]);
        assert_eq!(docs[0].type_hint.as_deref(), Some("str"));
        assert_eq!(docs[0].description, "Who to greet.");
        assert_eq!(docs[1].description, "The word to use, continued here.");
        assert!(
            names.iter().all(|n| *n != "dict"),
            "Returns section is not read as args"
        );
    }

    #[test]
    fn numpy_parameters() {
        let doc = "Sum.\n\nParameters\n----------\nx : int\n    First.\ny : float, optional\n    Second.\n\nReturns\n-------\nint\n";
        let docs = names(doc, Section::Params);
        assert_eq!(docs.len(), 2, "{docs:?}");
        assert_eq!(docs[0].type_hint.as_deref(), Some("int"));
        assert_eq!(docs[0].description, "First.");
        assert_eq!(docs[1].type_hint.as_deref(), Some("float, optional"));
    }

    #[test]
    fn sphinx_fields_are_read() {
        let doc = "Sum.\n\n:param int x: First.\n:param y: Second.\n:type y: float\n";
        let docs = names(doc, Section::Params);
        assert_eq!(
            docs[0],
            NameDoc {
                name: "x".into(),
                type_hint: Some("int".into()),
                description: "First.".into()
            }
        );
        assert_eq!(docs[1].type_hint.as_deref(), Some("float"));
        assert_eq!(docs[1].description, "Second.");
    }

    #[test]
    fn attributes_section() {
        let doc = "Result.\n\nAttributes:\n    total: The sum.\n";
        assert_eq!(names(doc, Section::Attributes)[0].description, "The sum.");
        assert!(names(doc, Section::Params).is_empty());
    }

    #[test]
    fn odd_docstrings_do_not_panic() {
        for doc in [
            "Args:",
            "Args:\n",
            "Args:\nx",
            "\tArgs:\n\t\tx (: y",
            "Parameters\n---",
            ":param",
            ":param :",
            "é\n  Args:\n    é: ü",
        ] {
            let _ = names(doc, Section::Params);
            let _ = summary(doc);
        }
    }
}
