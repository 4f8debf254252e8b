//! Import of the old OSIS store's records (the seed's "Stored-data migration"):
//!
//! - Workflow -> Logic (same sid); its `inputs`/`outputs` go to its current version;
//! - WorkflowVersion -> LogicVersion (same sid); older versions take their fields from their
//!   source's decorator, or get none;
//! - Example -> LogicExample (same sid; `input_values` may be JSON text);
//! - Benchmark -> dropped (stats derive from Plays), reported;
//! - Play -> Play (same sid), `spans` flattened (reported), `parent_span_id` mapped: `""` when
//!   the span is one of the Play's own, else the sid of the Play that holds that span.
//!
//! Every record lands in one list of the report: created, updated, unchanged (importing twice
//! changes nothing), dropped or refused (with the reason; nothing of it is written). A field
//! with no place in the new model is named in the record's notes, with its value.

use std::collections::{BTreeMap, HashMap};

use hero_logic_api::params::{ImportItem, LogicCreateParams, ImportParams, ImportRecord, ImportReport, SplitPart, SplitResult};
use hero_logic_api::{Logic, LogicExample, LogicField, LogicVersion, Play, PlayStatus, ResumeRequest};
use serde_json::{Map, Value};

use crate::error::{ServiceError, ServiceResult};
use crate::library::Library;
use crate::parse;
use crate::store::sid;
use crate::validate;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Kind {
    Workflow,
    WorkflowVersion,
    Example,
    Benchmark,
    Play,
}

impl Kind {
    fn from_name(name: &str) -> Option<Kind> {
        let name: String = name.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_lowercase();
        match name.trim_end_matches('s') {
            "workflow" | "logic" => Some(Kind::Workflow),
            "workflowversion" | "logicversion" | "version" => Some(Kind::WorkflowVersion),
            "example" | "logicexample" | "workflowexample" => Some(Kind::Example),
            "benchmark" => Some(Kind::Benchmark),
            "play" => Some(Kind::Play),
            _ => None,
        }
    }

    /// From the record's members, when no type is given.
    fn from_shape(record: &Map<String, Value>) -> Option<Kind> {
        let has = |key: &str| record.contains_key(key);
        if has("spans") || has("input_data") || has("parent_span_id") || has("status") && has("workflow_sid") {
            Some(Kind::Play)
        } else if has("per_run_results") || has("runs") && has("workflow_sid") {
            Some(Kind::Benchmark)
        } else if has("input_values") {
            Some(Kind::Example)
        } else if has("version_label") || has("workflow_sid") && has("python_source") {
            Some(Kind::WorkflowVersion)
        } else if has("name") {
            Some(Kind::Workflow)
        } else {
            None
        }
    }

    /// The members the new model has a place for.
    fn known_members(self) -> Vec<&'static str> {
        let own: &[&str] = match self {
            Kind::Workflow => &[
                "name", "description", "current_version_sid", "current_workflow_version_sid", "versions", "tags",
                "inputs", "outputs", "python_source",
            ],
            Kind::WorkflowVersion => &["workflow_sid", "logic_sid", "version_label", "notes", "python_source", "inputs", "outputs"],
            Kind::Example => &[
                "workflow_sid", "logic_sid", "workflow_version_sid", "logic_version_sid", "name", "description",
                "input_values", "tags",
            ],
            Kind::Benchmark => &[],
            Kind::Play => &[
                "workflow_sid", "logic_sid", "workflow_version_sid", "logic_version_sid", "name", "parent_play_sid",
                "parent_span_id", "sub_play_sids", "spans", "status", "input_data", "output_data", "error_message",
                "started_at", "completed_at", "duration_ms", "logs", "pending_resumes", "received_resumes",
                "step_outputs", "total_tokens_prompt", "total_tokens_completion", "total_cost_usd", "step_key",
                "replayed",
            ],
        };
        ["sid", "created_at", "updated_at", "_type"].into_iter().chain(own.iter().copied()).collect()
    }
}

/// One record on its way in.
struct Entry {
    kind: Kind,
    origin: String,
    record: Map<String, Value>,
}

impl Entry {
    fn text(&self, key: &str) -> String {
        match self.record.get(key) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        }
    }

    fn first_text(&self, keys: &[&str]) -> String {
        keys.iter().map(|k| self.text(k)).find(|t| !t.is_empty()).unwrap_or_default()
    }

    fn sid(&self) -> String {
        self.text("sid")
    }

    fn item(&self, kind: &str, name: &str) -> ImportItem {
        ImportItem { kind: kind.into(), sid: self.sid(), name: name.into(), origin: self.origin.clone(), notes: Vec::new() }
    }

    /// Notes for members with no place in the new model, with their values.
    fn unmapped_members(&self) -> Vec<String> {
        let known = self.kind.known_members();
        self.record
            .iter()
            .filter(|(k, _)| !known.contains(&k.as_str()))
            .map(|(k, v)| {
                let mut text = v.to_string();
                if text.len() > 200 {
                    let cut = (0..=200).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
                    text.truncate(cut);
                    text.push('…');
                }
                format!("member {k:?} has no place in the new model and was not imported: {text}")
            })
            .collect()
    }
}

/// `LogicService.logic_split`: the parts of a multi-logic source, in API form.
pub fn split(python_source: &str) -> ServiceResult<SplitResult> {
    let split = parse::split_logics(python_source).map_err(crate::library::source_error)?;
    let parts = split
        .parts
        .into_iter()
        .map(|p| SplitPart { logic_name: p.logic_name, function: p.function, python_source: p.source, entry: p.entry })
        .collect();
    Ok(SplitResult { parts, notes: split.notes })
}

/// Runs an import (or, with `dry_run`, reports what it would do).
pub fn import(library: &Library, params: ImportParams) -> ServiceResult<ImportReport> {
    let mut importer = Importer { library, write: !params.dry_run, report: ImportReport { dry_run: params.dry_run, ..Default::default() }, logics: HashMap::new() };
    let mut entries = Vec::new();
    for record in params.records {
        match classify(record) {
            Ok(entry) => entries.push(entry),
            Err(item) => importer.report.refused.push(item),
        }
    }
    entries.sort_by_key(|e| e.kind);
    let workflows: HashMap<String, &Entry> = entries.iter().filter(|e| e.kind == Kind::Workflow).map(|e| (e.sid(), e)).collect();
    let span_owner = span_owners(&entries);
    let mut versions_seen: HashMap<String, Vec<String>> = HashMap::new();
    for entry in &entries {
        match entry.kind {
            Kind::Workflow => importer.workflow(entry)?,
            Kind::WorkflowVersion => {
                let logic_sid = entry.first_text(&["workflow_sid", "logic_sid"]);
                if importer.version(entry, workflows.get(&logic_sid).copied())? {
                    versions_seen.entry(logic_sid).or_default().push(entry.sid());
                }
            }
            Kind::Example => importer.example(entry)?,
            Kind::Benchmark => {
                let mut item = entry.item("benchmark", &entry.text("name"));
                item.notes.push("Benchmarks are not kept: stats derive from Plays (LogicService.logic_stats)".into());
                importer.report.dropped.push(item);
            }
            Kind::Play => importer.play(entry, &span_owner)?,
        }
    }
    importer.workflow_sources(&workflows, &versions_seen)?;
    Ok(importer.report)
}

fn classify(record: ImportRecord) -> Result<Entry, ImportItem> {
    let origin = record.origin.clone();
    let refuse = |why: String, value: &Value| ImportItem {
        kind: String::new(),
        sid: value.get("sid").and_then(Value::as_str).unwrap_or_default().into(),
        name: value.get("name").and_then(Value::as_str).unwrap_or_default().into(),
        origin: origin.clone(),
        notes: vec![why],
    };
    let map = match record.record {
        Value::Object(map) => map,
        other => return Err(refuse(format!("a record must be a JSON object, this is {}", hero_logic_api::json_kind(&other)), &other)),
    };
    let tag = map.get("_type").and_then(Value::as_str).unwrap_or_default();
    let kind = Kind::from_name(tag).or_else(|| Kind::from_name(&record.kind)).or_else(|| Kind::from_shape(&map));
    let as_value = |map: Map<String, Value>| Value::Object(map);
    let Some(kind) = kind else {
        return Err(refuse(
            "cannot tell what this record is: give it a `_type` (workflow, workflowversion, example, benchmark, play) \
             or put it in a directory named after its type"
                .into(),
            &as_value(map),
        ));
    };
    let sid_text = map.get("sid").and_then(Value::as_str).unwrap_or_default();
    if kind != Kind::Benchmark && (sid_text.is_empty() || sid::decode(sid_text).is_none()) {
        let why = format!("sid {sid_text:?} is not lowercase base-36; the import keeps sids, so it needs one");
        return Err(refuse(why, &as_value(map)));
    }
    Ok(Entry { kind, origin: record.origin, record: map })
}

/// Span id -> the sid of the Play whose `spans` hold it.
fn span_owners(entries: &[Entry]) -> HashMap<String, String> {
    let mut owners = HashMap::new();
    for entry in entries.iter().filter(|e| e.kind == Kind::Play) {
        for span in entry.record.get("spans").and_then(Value::as_array).into_iter().flatten() {
            if let Some(id) = span.get("id").or_else(|| span.get("span_id")).and_then(Value::as_str) {
                owners.insert(id.to_string(), entry.sid());
            }
        }
    }
    owners
}

struct Importer<'a> {
    library: &'a Library,
    write: bool,
    report: ImportReport,
    /// Logics of this import (stored, or in a dry run only planned), by sid.
    logics: HashMap<String, Logic>,
}

impl Importer<'_> {
    fn logic(&self, sid: &str) -> ServiceResult<Option<Logic>> {
        match self.logics.get(sid) {
            Some(logic) => Ok(Some(logic.clone())),
            None => Ok(self.library.store().logic_get(sid)?),
        }
    }

    fn workflow(&mut self, entry: &Entry) -> ServiceResult<()> {
        let old_name = entry.text("name");
        let name = logic_name_of(&old_name);
        let mut item = entry.item("logic", &name);
        item.notes = entry.unmapped_members();
        if name != old_name {
            item.notes.push(format!("name {old_name:?} became {name:?} (names are [a-z][a-z0-9_]*)"));
        }
        if let Err(e) = validate::logic_name(&name) {
            return self.refuse(item, e.to_string());
        }
        if let Some(other) = self.library.store().logic_by_name(&name)?.filter(|o| o.sid != entry.sid()) {
            return self.refuse(item, format!("a logic named {name:?} already exists with sid {}; rename one of them", other.sid));
        }
        if self.refused_for_sid(entry, &item)? {
            return Ok(());
        }
        let stored = self.library.store().logic_get(&entry.sid())?;
        if let Some(stored) = stored.as_ref().filter(|s| s.name != name) {
            let why = format!("sid {} is already logic {:?} in this store, not {name:?}", stored.sid, stored.name);
            return self.refuse(item, why);
        }
        let mut logic = Logic {
            sid: entry.sid(),
            name,
            description: entry.text("description"),
            tags: validate::normalize_tags(&strings(entry.record.get("tags"))),
            created_at: millis(entry.record.get("created_at"), &mut item.notes, "created_at"),
            updated_at: millis(entry.record.get("updated_at"), &mut item.notes, "updated_at"),
            ..Default::default()
        };
        if let Some(stored) = &stored {
            logic.current_version_sid = stored.current_version_sid.clone();
            logic.versions = stored.versions.clone();
            let same = stored.name == logic.name && stored.description == logic.description && stored.tags == logic.tags;
            self.logics.insert(logic.sid.clone(), if same { stored.clone() } else { logic.clone() });
            if same {
                self.report.unchanged.push(item);
                return Ok(());
            }
            if self.write {
                self.library.store().logic_put(&logic)?;
            }
            self.report.updated.push(item);
            return Ok(());
        }
        if self.write {
            logic = self.library.store().logic_put(&logic)?;
        }
        self.logics.insert(logic.sid.clone(), logic);
        self.report.created.push(item);
        Ok(())
    }

    /// Returns whether the version is (or would be) in the store afterwards.
    fn version(&mut self, entry: &Entry, workflow: Option<&Entry>) -> ServiceResult<bool> {
        let logic_sid = entry.first_text(&["workflow_sid", "logic_sid"]);
        let mut item = entry.item("logicversion", &entry.text("version_label"));
        item.notes = entry.unmapped_members();
        if self.refused_for_sid(entry, &item)? {
            return Ok(false);
        }
        let Some(logic) = self.logic(&logic_sid)? else {
            self.refuse(item, format!("its workflow {logic_sid:?} is neither in the import nor in the store"))?;
            return Ok(false);
        };
        // The Workflow's signature belongs to its current version: what its latest source matches.
        let current = workflow.map(|w| w.first_text(&["current_version_sid", "current_workflow_version_sid"]));
        let is_current = current.as_deref() == Some(entry.sid().as_str());
        let mut python_source = entry.text("python_source");
        let mut parts = Vec::new();
        if is_current {
            if let Some(split) = parse::split_logics(&python_source).ok().filter(|s| s.parts.len() > 1) {
                let names: Vec<&str> = split.parts.iter().filter(|p| !p.entry).map(|p| p.logic_name.as_str()).collect();
                item.notes.push(format!(
                    "its source declares {} logics: {} became Logics of their own, called with logic.invoke",
                    split.parts.len(),
                    names.join(", ")
                ));
                item.notes.extend(split.notes.iter().cloned());
                for part in split.parts {
                    if part.entry {
                        python_source = part.source;
                    } else {
                        parts.push(part);
                    }
                }
            }
        }
        let version = LogicVersion {
            sid: entry.sid(),
            logic_sid: logic.sid.clone(),
            version_label: entry.text("version_label"),
            notes: entry.text("notes"),
            python_source,
            created_at: millis(entry.record.get("created_at"), &mut item.notes, "created_at"),
            updated_at: millis(entry.record.get("updated_at"), &mut item.notes, "updated_at"),
            ..Default::default()
        };
        if let Some(stored) = self.library.store().version_get(&version.sid)? {
            if stored.python_source == version.python_source && stored.logic_sid == version.logic_sid {
                self.report.unchanged.push(item);
                return Ok(true);
            }
            self.refuse(item, format!("version {} is already stored with another body; versions never change", version.sid))?;
            return Ok(false);
        }
        // The current version takes the Workflow's fields; any version its own, when it has some.
        let workflow_fields = workflow.filter(|_| is_current);
        let mut declared = |key: &str| {
            workflow_fields.and_then(|w| fields(w, key, &mut item.notes)).or_else(|| fields(entry, key, &mut item.notes))
        };
        let (inputs, outputs) = (declared("inputs"), declared("outputs"));
        if !parts.is_empty() {
            // The split-out Logics are created only for a parent version that will be stored.
            if let Err(e) = self.library.import_version(&logic, &version, inputs.clone(), outputs.clone(), false) {
                self.refuse(item, refusal_text(&e))?;
                return Ok(false);
            }
            for part in &parts {
                self.split_part(part, &logic, entry)?;
            }
        }
        match self.library.import_version(&logic, &version, inputs, outputs, self.write) {
            Ok(built) => {
                if built.version_label != version.version_label {
                    item.name = built.version_label.clone();
                }
                if self.write && (is_current || logic.current_version_sid.is_empty()) {
                    let updated = self.library.store().set_current_version(&logic.sid, &built.sid)?;
                    self.logics.insert(logic.sid.clone(), updated);
                } else if !self.write && logic.current_version_sid.is_empty() {
                    let mut planned = logic.clone();
                    planned.current_version_sid = built.sid.clone();
                    self.logics.insert(logic.sid.clone(), planned);
                }
                self.report.created.push(item);
                Ok(true)
            }
            Err(e) => {
                let reason = refusal_text(&e);
                self.refuse(item, reason)?;
                Ok(false)
            }
        }
    }

    /// One logic split out of a Workflow's source: a Logic of its own (or, when one of that
    /// name already has this very source, nothing).
    fn split_part(&mut self, part: &parse::SplitPart, parent: &Logic, entry: &Entry) -> ServiceResult<()> {
        let mut item = ImportItem { kind: "logic".into(), name: part.logic_name.clone(), origin: entry.origin.clone(), ..Default::default() };
        item.notes.push(format!("split out of workflow {} (function {})", parent.sid, part.function));
        if let Some(existing) = self.library.store().logic_by_name(&part.logic_name)? {
            item.sid = existing.sid.clone();
            let current = self.library.store().version_get(&existing.current_version_sid)?;
            if current.is_some_and(|v| v.python_source == part.source) {
                self.report.unchanged.push(item);
            } else {
                let why = format!("a logic named {:?} already exists with another source; the split-out part was not imported", part.logic_name);
                self.refuse(item, why)?;
            }
            return Ok(());
        }
        let params = LogicCreateParams {
            name: part.logic_name.clone(),
            description: format!("split out of {}", parent.name),
            tags: vec!["imported".into()],
            python_source: Some(part.source.clone()),
            ..Default::default()
        };
        if self.write {
            match self.library.create_logic(params) {
                Ok(created) => item.sid = created.sid,
                Err(e) => return self.refuse(item, refusal_text(&e)),
            }
        }
        self.report.created.push(item);
        Ok(())
    }

    /// A Workflow with a `python_source` of its own and no version in the import or the
    /// store gets that source as its first version.
    fn workflow_sources(&mut self, workflows: &HashMap<String, &Entry>, seen: &HashMap<String, Vec<String>>) -> ServiceResult<()> {
        for (sid, entry) in workflows {
            let source = entry.text("python_source");
            if source.trim().is_empty() || seen.contains_key(sid) {
                continue;
            }
            let Some(logic) = self.logic(sid)? else { continue };
            if let Some(current) = self.library.store().version_get(&logic.current_version_sid)? {
                if current.python_source == source {
                    continue;
                }
            }
            let mut item = entry.item("logicversion", "");
            item.sid.clear();
            item.notes.push(format!("the source of workflow {sid} became a version of its own"));
            let (inputs, outputs) = (fields(entry, "inputs", &mut item.notes), fields(entry, "outputs", &mut item.notes));
            let draft = LogicVersion { logic_sid: logic.sid.clone(), python_source: source, ..Default::default() };
            match self.library.import_version(&logic, &draft, inputs, outputs, false) {
                Ok(built) if self.write => {
                    let stored = self.library.store().version_create(&built, true)?;
                    item.sid = stored.sid;
                    item.name = stored.version_label;
                    self.report.created.push(item);
                }
                Ok(built) => {
                    item.name = built.version_label;
                    self.report.created.push(item);
                }
                Err(e) => self.refuse(item, refusal_text(&e))?,
            }
        }
        Ok(())
    }

    fn example(&mut self, entry: &Entry) -> ServiceResult<()> {
        let mut item = entry.item("logicexample", &entry.text("name"));
        item.notes = entry.unmapped_members();
        if self.refused_for_sid(entry, &item)? {
            return Ok(());
        }
        let mut record = Value::Object(entry.record.clone());
        if let Some(map) = record.as_object_mut() {
            map.remove("_type");
            for key in ["created_at", "updated_at"] {
                let value = millis(map.get(key), &mut item.notes, key);
                map.insert(key.into(), value.into());
            }
        }
        let example: LogicExample = match serde_json::from_value(record) {
            Ok(example) => example,
            Err(e) => return self.refuse(item, format!("not an example: {e}")),
        };
        let Some(logic) = self.logic(&example.logic_sid)? else {
            return self.refuse(item, format!("its workflow {:?} is neither in the import nor in the store", example.logic_sid));
        };
        let stored = self.library.store().example_get(&example.sid)?;
        let same = |s: &LogicExample| {
            s.logic_sid == example.logic_sid
                && s.logic_version_sid == example.logic_version_sid
                && s.name == example.name
                && s.description == example.description
                && s.input_values == example.input_values
                && s.tags == validate::normalize_tags(&example.tags)
        };
        match &stored {
            Some(s) if same(s) => {
                self.report.unchanged.push(item);
                return Ok(());
            }
            _ => {}
        }
        if self.write {
            if let Err(e) = self.library.put_example(example) {
                return self.refuse(item, refusal_text(&e));
            }
        } else if !example.logic_version_sid.is_empty() && self.library.store().version_get(&example.logic_version_sid)?.is_none() {
            item.notes.push(format!("version {:?} of logic {:?} must be imported first", example.logic_version_sid, logic.name));
        }
        if stored.is_some() {
            self.report.updated.push(item);
        } else {
            self.report.created.push(item);
        }
        Ok(())
    }

    fn play(&mut self, entry: &Entry, span_owner: &HashMap<String, String>) -> ServiceResult<()> {
        let mut item = entry.item("play", &entry.text("name"));
        item.notes = entry.unmapped_members();
        if self.refused_for_sid(entry, &item)? {
            return Ok(());
        }
        if self.library.store().play_get(&entry.sid())?.is_some() {
            self.report.unchanged.push(item);
            return Ok(());
        }
        let play = match play_of(entry, span_owner, &mut item.notes) {
            Ok(play) => play,
            Err(why) => return self.refuse(item, why),
        };
        if self.logic(&play.logic_sid)?.is_none() {
            item.notes.push(format!("its logic {:?} is neither in the import nor in the store; the Play is kept as a record", play.logic_sid));
        }
        if self.write {
            let children = play.sub_play_sids.clone();
            let steps = play.step_outputs.clone();
            let stored = self.library.store().play_insert(&play)?;
            for child in children {
                self.library.store().play_append_child(&stored.sid, &child)?;
            }
            for (key, output) in steps {
                self.library.store().play_set_step_output(&stored.sid, &key, &output)?;
            }
            if !play.parent_play_sid.is_empty() && self.library.store().play_get(&play.parent_play_sid)?.is_some_and(|p| !p.sub_play_sids.contains(&play.sid)) {
                self.library.store().play_append_child(&play.parent_play_sid, &play.sid)?;
            }
        }
        self.report.created.push(item);
        Ok(())
    }

    /// Sids are unique across the store: an old sid that names another kind of object here
    /// (a seed logic's version, say) cannot be kept.
    fn taken_by_other(&self, kind: Kind, sid: &str) -> ServiceResult<Option<&'static str>> {
        let store = self.library.store();
        let taken = [
            (Kind::Workflow, "a logic", store.logic_get(sid)?.is_some()),
            (Kind::WorkflowVersion, "a version", store.version_get(sid)?.is_some()),
            (Kind::Example, "an example", store.example_get(sid)?.is_some()),
            (Kind::Play, "a Play", store.play_status(sid)?.is_some()),
        ];
        Ok(taken.into_iter().find(|(k, _, present)| *k != kind && *present).map(|(_, what, _)| what))
    }

    /// Refuses the record when its sid is taken by another kind of object; returns whether it did.
    fn refused_for_sid(&mut self, entry: &Entry, item: &ImportItem) -> ServiceResult<bool> {
        let Some(what) = self.taken_by_other(entry.kind, &entry.sid())? else { return Ok(false) };
        let why = format!(
            "sid {} is already {what} in this store; import into a data dir without it (a new one, started with --no-seed)",
            entry.sid()
        );
        self.refuse(item.clone(), why)?;
        Ok(true)
    }

    fn refuse(&mut self, mut item: ImportItem, why: String) -> ServiceResult<()> {
        item.notes.insert(0, why);
        self.report.refused.push(item);
        Ok(())
    }
}

fn play_of(entry: &Entry, span_owner: &HashMap<String, String>, notes: &mut Vec<String>) -> Result<Play, String> {
    let record = &entry.record;
    let sid = entry.sid();
    let spans = record.get("spans").and_then(Value::as_array).map_or(0, Vec::len);
    if spans > 0 {
        notes.push(format!("{spans} spans flattened: status, timing and cost live on the Play itself"));
    }
    let mut parent_play_sid = entry.text("parent_play_sid");
    let parent_span = entry.text("parent_span_id");
    if parent_play_sid.is_empty() && !parent_span.is_empty() {
        match span_owner.get(&parent_span) {
            Some(owner) if *owner == sid => {}
            Some(owner) => parent_play_sid = owner.clone(),
            None => notes.push(format!("parent_span_id {parent_span:?} is a span of no imported Play; the Play is top-level")),
        }
    }
    let status_text = entry.text("status");
    let (status, status_note) = play_status(&status_text);
    notes.extend(status_note.clone());
    let mut error_message = entry.text("error_message");
    if let Some(note) = status_note.filter(|_| !matches!(status_text.as_str(), "" | "failed")) {
        if error_message.is_empty() {
            error_message = note;
        }
    }
    let pending_resumes: Vec<ResumeRequest> = match record.get("pending_resumes") {
        None | Some(Value::Null) => Vec::new(),
        Some(value) => serde_json::from_value(json_text(value.clone())).map_err(|e| format!("pending_resumes: {e}"))?,
    };
    Ok(Play {
        sid,
        logic_sid: entry.first_text(&["workflow_sid", "logic_sid"]),
        logic_version_sid: entry.first_text(&["workflow_version_sid", "logic_version_sid"]),
        name: entry.text("name"),
        parent_play_sid,
        sub_play_sids: strings(record.get("sub_play_sids")),
        step_key: entry.text("step_key"),
        status,
        input_data: object(record.get("input_data"), "input_data", notes),
        output_data: object(record.get("output_data"), "output_data", notes),
        error_message,
        started_at: millis(record.get("started_at"), notes, "started_at"),
        completed_at: millis(record.get("completed_at"), notes, "completed_at"),
        duration_ms: record.get("duration_ms").and_then(Value::as_u64).unwrap_or(0),
        logs: entry.text("logs"),
        pending_resumes,
        received_resumes: object(record.get("received_resumes"), "received_resumes", notes).into_iter().collect(),
        step_outputs: object(record.get("step_outputs"), "step_outputs", notes).into_iter().collect::<BTreeMap<_, _>>(),
        total_tokens_prompt: record.get("total_tokens_prompt").and_then(Value::as_u64).unwrap_or(0),
        total_tokens_completion: record.get("total_tokens_completion").and_then(Value::as_u64).unwrap_or(0),
        total_cost_usd: record.get("total_cost_usd").and_then(Value::as_f64).unwrap_or(0.0),
        replayed: record.get("replayed").and_then(Value::as_bool).unwrap_or(false),
        created_at: millis(record.get("created_at"), notes, "created_at"),
        ..Default::default()
    })
}

/// Imported Plays are terminal records: the old runtime's unfinished runs cannot continue here.
fn play_status(text: &str) -> (PlayStatus, Option<String>) {
    match text {
        "success" | "succeeded" | "completed" | "ok" => (PlayStatus::Success, None),
        "failed" | "error" => (PlayStatus::Failed, None),
        "cancelled" | "canceled" => (PlayStatus::Cancelled, None),
        "timed_out" | "timeout" => (PlayStatus::TimedOut, None),
        other => (
            PlayStatus::Failed,
            Some(format!("status {other:?} became \"failed\": an imported run cannot continue on this runtime")),
        ),
    }
}

/// Declared fields of a Workflow, under the OSIS value rule; `None` when it declares none.
fn fields(entry: &Entry, key: &str, notes: &mut Vec<String>) -> Option<Vec<LogicField>> {
    let value = entry.record.get(key).cloned().map(json_text)?;
    match serde_json::from_value::<Vec<LogicField>>(value) {
        Ok(fields) if fields.is_empty() => None,
        Ok(fields) => Some(fields),
        Err(e) => {
            notes.push(format!("{key} could not be read ({e}); the version's fields come from its source"));
            None
        }
    }
}

/// A value OSIS may have stored as JSON text.
fn json_text(value: Value) -> Value {
    match value {
        Value::String(text) if text.trim().is_empty() => Value::Null,
        Value::String(text) => serde_json::from_str(&text).unwrap_or(Value::String(text)),
        other => other,
    }
}

fn object(value: Option<&Value>, key: &str, notes: &mut Vec<String>) -> Map<String, Value> {
    match value.cloned().map(json_text) {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map,
        Some(other) => {
            notes.push(format!("{key} was not a JSON object; it is kept under \"value\""));
            Map::from_iter([("value".to_string(), other)])
        }
    }
}

fn strings(value: Option<&Value>) -> Vec<String> {
    match value.cloned().map(json_text) {
        Some(Value::Array(items)) => items.into_iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    }
}

/// Milliseconds from an OSIS time: milliseconds, or seconds (before year 5138 in ms, i.e.
/// anything under 10^11 is taken as seconds), as a number or as digits in a string.
fn millis(value: Option<&Value>, notes: &mut Vec<String>, key: &str) -> u64 {
    let number = match value {
        None | Some(Value::Null) => return 0,
        Some(Value::Number(n)) => n.as_u64().or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        Some(Value::String(s)) if s.trim().is_empty() => return 0,
        Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
        Some(_) => None,
    };
    match number {
        Some(n) if n < 100_000_000_000 => n * 1000,
        Some(n) => n,
        None => {
            notes.push(format!("{key} {} is not a time in seconds or milliseconds; left unset", value.map(Value::to_string).unwrap_or_default()));
            0
        }
    }
}

/// Old names may have capitals, spaces or dashes; new ones are `[a-z][a-z0-9_]*`.
fn logic_name_of(old: &str) -> String {
    let mut name: String = old
        .trim()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
        .collect();
    while name.contains("__") {
        name = name.replace("__", "_");
    }
    let name = name.trim_matches('_').to_string();
    match name.chars().next() {
        Some(c) if c.is_ascii_digit() => format!("logic_{name}"),
        _ => name,
    }
}

fn refusal_text(error: &ServiceError) -> String {
    match error {
        ServiceError::Source { message, hint, .. } => format!("{message} ({hint})"),
        other => other.to_string(),
    }
}
