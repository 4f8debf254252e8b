//! Seed logics: every `seed_logics/*.py` becomes a Logic at start, idempotently. A file whose
//! source matches one of its Logic's versions changes nothing; a changed file adds a version
//! and makes it current.

use std::path::Path;

use hero_logic_api::params::{LogicCreateParams, LogicCreateVersionParams};
use hero_logic_api::LogicVersion;

use crate::config::SeedSource;
use crate::error::{ServiceError, ServiceResult};
use crate::library::Library;
use crate::parse;
use crate::store::PageQuery;

pub use crate::embedded::EMBEDDED_SEEDS;

/// The tag every seeded Logic carries.
pub const SEED_TAG: &str = "seed";

#[derive(Debug, Clone, PartialEq)]
pub struct SeedFile {
    pub file_name: String,
    pub source: String,
}

#[derive(Debug, Default)]
pub struct SeedReport {
    pub created: Vec<String>,
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
    report
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
