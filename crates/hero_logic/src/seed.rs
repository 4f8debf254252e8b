//! Seed logics: every `seed_logics/*.py` becomes a Logic at start, idempotently. A file whose
//! source matches one of its Logic's versions changes nothing; a changed file adds a version
//! and makes it current.

use std::path::Path;

use hero_logic_api::params::{ExampleCreateParams, LogicCreateParams, LogicCreateVersionParams};
use hero_logic_api::LogicVersion;

use crate::config::SeedSource;
use crate::error::{ServiceError, ServiceResult};
use crate::library::Library;
use crate::parse;
use crate::store::PageQuery;

pub use crate::embedded::EMBEDDED_SEEDS;

/// The tag every seeded Logic carries.
pub const SEED_TAG: &str = "seed";

/// Examples of seeded Logics: (logic, name, description, input values as JSON). The spec's
/// walked example offers these three for service_agent; its "Calendar event" fills
/// `prompt="Create a calendar event …"` and an empty model.
pub const SEED_EXAMPLES: [(&str, &str, &str, &str); 3] = [
    (
        "service_agent",
        "Calendar event",
        "Creates an event in the calendar service.",
        r#"{"prompt": "Create a calendar event 'Standup' for tomorrow at 10am", "code_gen_model": ""}"#,
    ),
    (
        "service_agent",
        "Find contact",
        "Looks a person up in the contacts service.",
        r#"{"prompt": "Find the contact named Ada Lovelace and show her email address", "code_gen_model": ""}"#,
    ),
    (
        "service_agent",
        "Marketplace tokens",
        "Lists what the marketplace service offers.",
        r#"{"prompt": "List the tokens offered on the marketplace with their prices", "code_gen_model": ""}"#,
    ),
];

#[derive(Debug, Clone, PartialEq)]
pub struct SeedFile {
    pub file_name: String,
    pub source: String,
}

#[derive(Debug, Default)]
pub struct SeedReport {
    pub created: Vec<String>,
    /// `logic/example` for each seed example added by this start.
    pub examples_created: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: usize,
    pub failed: Vec<(String, String)>,
}

/// The seed files of `source`, sorted by file name.
pub fn collect(source: &SeedSource) -> std::io::Result<Vec<SeedFile>> {
    match source {
        SeedSource::Off => Ok(Vec::new()),
        SeedSource::Embedded => Ok(EMBEDDED_SEEDS
            .iter()
            .map(|(name, text)| SeedFile { file_name: name.to_string(), source: text.to_string() })
            .collect()),
        SeedSource::Dir(dir) => read_dir(dir),
    }
}

fn read_dir(dir: &Path) -> std::io::Result<Vec<SeedFile>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "py") {
            let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            files.push(SeedFile { file_name, source: std::fs::read_to_string(&path)? });
        }
    }
    files.sort_by(|a, b| a.file_name.cmp(&b.file_name));
    Ok(files)
}

/// Loads every seed; one bad file is reported and skipped, never fatal.
pub fn load(library: &Library, seeds: &[SeedFile]) -> SeedReport {
    let mut report = SeedReport::default();
    for seed in seeds {
        match load_one(library, seed) {
            Ok(Outcome::Created(name)) => report.created.push(name),
            Ok(Outcome::Updated(name)) => report.updated.push(name),
            Ok(Outcome::Unchanged) => report.unchanged += 1,
            Err(e) => report.failed.push((seed.file_name.clone(), describe(&e))),
        }
    }
    seed_examples(library, &mut report);
    report
}

/// Adds each of [`SEED_EXAMPLES`] whose Logic is loaded and has no example of that name yet
/// (a user's edits to a seeded example are kept; a deleted one comes back at the next start).
fn seed_examples(library: &Library, report: &mut SeedReport) {
    for (logic_name, name, description, inputs) in SEED_EXAMPLES {
        match seed_example(library, logic_name, name, description, inputs) {
            Ok(true) => report.examples_created.push(format!("{logic_name}/{name}")),
            Ok(false) => {}
            Err(e) => report.failed.push((format!("example {logic_name}/{name}"), describe(&e))),
        }
    }
}

fn seed_example(library: &Library, logic_name: &str, name: &str, description: &str, inputs: &str) -> ServiceResult<bool> {
    let Some(logic) = library.store().logic_by_name(logic_name)? else {
        return Ok(false);
    };
    let query = PageQuery::first(1).filter("logic_sid", logic.sid.clone()).filter("name", name.to_string());
    if !library.store().example_page(&query)?.items.is_empty() {
        return Ok(false);
    }
    let input_values = serde_json::from_str(inputs)
        .map_err(|e| ServiceError::validation("input_values", e.to_string(), "fix SEED_EXAMPLES"))?;
    library.create_example(ExampleCreateParams {
        logic: logic.sid,
        name: name.to_string(),
        description: description.to_string(),
        input_values,
        tags: vec![SEED_TAG.to_string()],
        ..Default::default()
    })?;
    Ok(true)
}

enum Outcome {
    Created(String),
    Updated(String),
    Unchanged,
}

fn load_one(library: &Library, seed: &SeedFile) -> ServiceResult<Outcome> {
    let signature = parse::read_signature(&seed.source).map_err(|e| {
        ServiceError::validation("python_source", e.to_string(), "fix the seed file's syntax")
    })?;
    let stem = seed.file_name.trim_end_matches(".py");
    let name = signature.name.clone().unwrap_or_else(|| stem.to_string());
    let existing = library.store().logic_by_name(&name)?;
    let Some(logic) = existing else {
        library.create_logic(LogicCreateParams {
            name: name.clone(),
            description: signature.description.clone().unwrap_or_default(),
            tags: vec![SEED_TAG.to_string()],
            python_source: Some(seed.source.clone()),
            notes: format!("seeded from {}", seed.file_name),
            ..Default::default()
        })?;
        return Ok(Outcome::Created(name));
    };
    if has_version_with_source(library, &logic.sid, &seed.source)? {
        return Ok(Outcome::Unchanged);
    }
    library.create_version(LogicCreateVersionParams {
        logic: logic.sid,
        python_source: Some(seed.source.clone()),
        notes: format!("seeded from {} (file changed)", seed.file_name),
        make_current: Some(true),
        ..Default::default()
    })?;
    Ok(Outcome::Updated(name))
}

/// Whether any version already carries this exact source, so that a user's newer version of
/// a seeded Logic is not displaced on every restart.
fn has_version_with_source(library: &Library, logic_sid: &str, source: &str) -> ServiceResult<bool> {
    let mut query = PageQuery::first(200).filter("logic_sid", logic_sid.to_string());
    loop {
        let page = library.store().version_page(&query)?;
        if page.items.iter().any(|v: &LogicVersion| v.python_source == source) {
            return Ok(true);
        }
        if page.next_cursor.is_empty() {
            return Ok(false);
        }
        query.cursor = Some(page.next_cursor);
    }
}

fn describe(error: &ServiceError) -> String {
    match error {
        ServiceError::Validation { field, message, .. } if !field.is_empty() => format!("{field}: {message}"),
        other => other.to_string(),
    }
}
