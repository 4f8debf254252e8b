//! `hero_logic import PATH [--dry-run]`: records of the old OSIS store into the daemon.

use std::path::{Path, PathBuf};

use clap::Args;
use hero_logic_api::methods;
use hero_logic_api::params::{ImportItem, ImportParams, ImportRecord, ImportReport};
use serde_json::Value;

use crate::connect::{Daemon, DaemonArgs};
use crate::error::CliError;

#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// A JSON file (one record, an array of records, or one record per line) or a directory of
    /// them; a record's type comes from its `_type`, else its directory's name (`workflow/`,
    /// `workflowversion/`, `example/`, `benchmark/`, `play/`), else its shape
    pub path: PathBuf,
    /// Report what would change; write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub daemon: DaemonArgs,
}

/// Exit 0 when every record found its place (created, updated, unchanged or dropped as the
/// migration says), 2 when some were refused (the report says why; nothing of them was written).
pub async fn run(args: ImportArgs) -> Result<u8, CliError> {
    let records = read_records(&args.path)?;
    if records.is_empty() {
        return Err(CliError::Usage(format!("no JSON records under {}", args.path.display())));
    }
    let daemon = Daemon::connect(&args.daemon);
    let report: ImportReport = daemon.call(methods::LOGIC_IMPORT, ImportParams { records, dry_run: args.dry_run }).await?;
    if args.json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| CliError::Failed(format!("cannot encode the report: {e}")))?;
        println!("{text}");
    } else {
        print!("{}", summary(&report));
    }
    Ok(if report.refused.is_empty() { 0 } else { 2 })
}

/// Every record under `path`, files in name order.
pub fn read_records(path: &Path) -> Result<Vec<ImportRecord>, CliError> {
    let mut files = Vec::new();
    collect_files(path, &mut files)?;
    files.sort();
    let mut records = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|e| CliError::Usage(format!("cannot read {}: {e}", file.display())))?;
        let kind = file.parent().and_then(Path::file_name).map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let origin = file.display().to_string();
        for record in parse_file(&text).map_err(|e| CliError::Usage(format!("{origin}: {e}")))? {
            records.push(ImportRecord { kind: kind.clone(), origin: origin.clone(), record });
        }
    }
    Ok(records)
}

fn collect_files(path: &Path, files: &mut Vec<PathBuf>) -> Result<(), CliError> {
    let meta = std::fs::metadata(path).map_err(|e| CliError::Usage(format!("cannot read {}: {e}", path.display())))?;
    if meta.is_file() {
        files.push(path.to_path_buf());
        return Ok(());
    }
    let entries = std::fs::read_dir(path).map_err(|e| CliError::Usage(format!("cannot list {}: {e}", path.display())))?;
    for entry in entries {
        let entry = entry.map_err(|e| CliError::Usage(format!("cannot list {}: {e}", path.display())))?;
        let child = entry.path();
        let is_json = child.extension().is_some_and(|e| e == "json" || e == "jsonl");
        if child.is_dir() {
            collect_files(&child, files)?;
        } else if is_json {
            files.push(child);
        }
    }
    Ok(())
}

/// One record, an array of records, or one record per line.
fn parse_file(text: &str) -> Result<Vec<Value>, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(items)) => Ok(items),
        Ok(value) => Ok(vec![value]),
        Err(whole) => text
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(n, line)| serde_json::from_str(line).map_err(|e| format!("not JSON ({whole}), nor JSON lines (line {}: {e})", n + 1)))
            .collect(),
    }
}

fn summary(report: &ImportReport) -> String {
    let mut out = String::new();
    let verb = if report.dry_run { "would be " } else { "" };
    for (label, items) in [
        ("created", &report.created),
        ("updated", &report.updated),
        ("unchanged", &report.unchanged),
        ("dropped", &report.dropped),
        ("refused", &report.refused),
    ] {
        out.push_str(&format!("{}{label}: {}\n", if label == "unchanged" || label == "refused" { "" } else { verb }, items.len()));
        let detailed = matches!(label, "dropped" | "refused") || !items.is_empty() && label != "unchanged";
        for item in items.iter().filter(|i| detailed && (label != "created" && label != "updated" || !i.notes.is_empty())) {
            out.push_str(&format!("  {}\n", line(item)));
            for note in &item.notes {
                out.push_str(&format!("    {note}\n"));
            }
        }
    }
    if report.dry_run {
        out.push_str("dry run: nothing was written\n");
    }
    out
}

fn line(item: &ImportItem) -> String {
    let kind = if item.kind.is_empty() { "record" } else { &item.kind };
    let mut text = format!("{kind} {}", if item.sid.is_empty() { "(new sid)" } else { &item.sid });
    if !item.name.is_empty() {
        text.push_str(&format!(" {:?}", item.name));
    }
    if !item.origin.is_empty() {
        text.push_str(&format!(" ({})", item.origin));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_hold_one_record_an_array_or_json_lines() {
        assert_eq!(parse_file(r#"{"sid": "0001"}"#).unwrap().len(), 1);
        assert_eq!(parse_file(r#"[{"sid": "0001"}, {"sid": "0002"}]"#).unwrap().len(), 2);
        assert_eq!(parse_file("{\"sid\": \"0001\"}\n\n{\"sid\": \"0002\"}\n").unwrap().len(), 2);
        assert!(parse_file("{nope").unwrap_err().contains("line 1"));
    }

    #[test]
    fn the_summary_names_refused_records_and_why() {
        let report = ImportReport {
            dry_run: true,
            refused: vec![ImportItem { kind: "logicversion".into(), sid: "000a".into(), notes: vec!["syntax error".into()], ..Default::default() }],
            ..Default::default()
        };
        let text = summary(&report);
        assert!(text.contains("refused: 1\n  logicversion 000a\n    syntax error"), "{text}");
        assert!(text.contains("dry run: nothing was written"));
    }
}
