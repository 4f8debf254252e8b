//! The library of Logics, versions and examples: every write a client can make, validated.

use std::sync::Arc;

use hero_logic_api::params::{
    ExampleCreateParams, ExampleListParams, LibraryHit, LibrarySearchParams, LogicCreateParams,
    LogicCreateVersionParams, LogicSetCurrentVersionParams,
};
use hero_logic_api::{Binding, LegacyWorkflow, Logic, LogicExample, LogicField, LogicVersion};

use crate::error::{ServiceError, ServiceResult};
use crate::mapping::{self, Side};
use crate::parse::{self, ParseError};
use crate::store::{sid, PageQuery, Store};
use crate::{now_ms, validate};

#[derive(Clone)]
pub struct Library {
    store: Arc<dyn Store>,
    /// The interpreter Plays run on; a saved source must fit its grammar. `None` when it is
    /// unknown (no Python found): then only the parser's own grammar applies.
    runtime: Option<Arc<parse::Runtime>>,
}

/// The body and signature of a version as a client sent them.
struct VersionDraft {
    python_source: String,
    binding: Option<Binding>,
    inputs: Option<Vec<LogicField>>,
    outputs: Option<Vec<LogicField>>,
    version_label: Option<String>,
    notes: String,
}

impl Library {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Library { store, runtime: None }
    }

    /// Checks saved sources against the grammar of `runtime` from now on.
    pub fn with_runtime(mut self, runtime: Option<parse::Runtime>) -> Self {
        self.runtime = runtime.map(Arc::new);
        self
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// A Logic by name, or by sid when no Logic has that name.
    pub fn resolve_logic(&self, name_or_sid: &str) -> ServiceResult<Logic> {
        if name_or_sid.is_empty() {
            return Err(ServiceError::validation("logic", "logic is required", "pass a logic name or sid"));
        }
        if let Some(logic) = self.store.logic_by_name(name_or_sid)? {
            return Ok(logic);
        }
        if let Some(logic) = self.store.logic_get(name_or_sid)? {
            return Ok(logic);
        }
        Err(ServiceError::not_found(
            format!("no logic named or with sid {name_or_sid:?}"),
            "list logics with logic.list or LogicService.logic_library_search",
        ))
    }

    /// One of `logic`'s versions, by sid or label.
    pub fn resolve_version(&self, logic: &Logic, sid_or_label: &str) -> ServiceResult<LogicVersion> {
        if let Some(version) = self.store.version_by_label(&logic.sid, sid_or_label)? {
            return Ok(version);
        }
        match self.store.version_get(sid_or_label)? {
            Some(version) if version.logic_sid == logic.sid => Ok(version),
            _ => Err(ServiceError::not_found(
                format!("logic {:?} has no version {sid_or_label:?}", logic.name),
                format!("its versions are: {}", self.version_labels(logic)?.join(", ")),
            )),
        }
    }

    fn version_labels(&self, logic: &Logic) -> ServiceResult<Vec<String>> {
        let page = self.store.version_page(&PageQuery::first(100).filter("logic_sid", logic.sid.clone()))?;
        Ok(page.items.into_iter().map(|v| v.version_label).collect())
    }

    pub fn create_logic(&self, params: LogicCreateParams) -> ServiceResult<Logic> {
        validate::logic_name(&params.name)?;
        if self.store.logic_by_name(&params.name)?.is_some() {
            return Err(ServiceError::conflict(
                "name",
                format!("a logic named {:?} already exists", params.name),
                "pick another name, or add a version to it with LogicService.logic_create_version",
            ));
        }
        let now = now_ms();
        let logic = Logic {
            name: params.name,
            description: params.description,
            tags: validate::normalize_tags(&params.tags),
            created_at: now,
            updated_at: now,
            ..Default::default()
        };
        let draft = VersionDraft {
            python_source: params.python_source.unwrap_or_default(),
            binding: params.binding,
            inputs: params.inputs,
            outputs: params.outputs,
            version_label: params.version_label,
            notes: params.notes,
        };
        let version = self.build_version(&logic, draft, now)?;
        let (logic, _) = self.store.logic_create(&logic, &version)?;
        Ok(logic)
    }

    pub fn create_version(&self, params: LogicCreateVersionParams) -> ServiceResult<LogicVersion> {
        let logic = self.resolve_logic(&params.logic)?;
        let draft = VersionDraft {
            python_source: params.python_source.unwrap_or_default(),
            binding: params.binding,
            inputs: params.inputs,
            outputs: params.outputs,
            version_label: params.version_label,
            notes: params.notes,
        };
        let version = self.build_version(&logic, draft, now_ms())?;
        Ok(self.store.version_create(&version, params.make_current.unwrap_or(true))?)
    }

    /// Validates a draft and turns it into a version of `logic` (not yet stored).
    fn build_version(&self, logic: &Logic, mut draft: VersionDraft, now: u64) -> ServiceResult<LogicVersion> {
        validate::body(&draft.python_source, draft.binding.as_ref())?;
        for fields in [&mut draft.inputs, &mut draft.outputs].into_iter().flatten() {
            validate::osis_defaults(fields);
        }
        let (mut inputs, mut outputs, network) = match &draft.binding {
            Some(binding) => {
                let (inputs, outputs) = self.bound_fields(logic, binding, &draft)?;
                (inputs, outputs, false)
            }
            None => declared_fields(&logic.name, &draft)?,
        };
        if let Some(runtime) = self.runtime.as_deref().filter(|_| !draft.python_source.trim().is_empty()) {
            runtime.check(&draft.python_source).map_err(source_error)?;
        }
        validate::fields("inputs", &inputs)?;
        validate::fields("outputs", &outputs)?;
        validate::mark_empty_defaults(&mut inputs);
        validate::mark_empty_defaults(&mut outputs);
        let version_label = match draft.version_label.filter(|l| !l.is_empty()) {
            Some(label) => {
                validate::version_label(&label)?;
                if !logic.sid.is_empty() && self.store.version_by_label(&logic.sid, &label)?.is_some() {
                    return Err(ServiceError::conflict(
                        "version_label",
                        format!("logic {:?} already has a version labelled {label:?}", logic.name),
                        "pick another label, or leave it out to get the next free `vN`",
                    ));
                }
                label
            }
            None => self.next_free_label(logic)?,
        };
        Ok(LogicVersion {
            logic_sid: logic.sid.clone(),
            version_label,
            notes: draft.notes,
            inputs,
            outputs,
            python_source: draft.python_source,
            binding: draft.binding,
            network,
            created_at: now,
            updated_at: now,
            ..Default::default()
        })
    }

    /// Checks a binding (its target exists, its tables parse) and gives the bound version's
    /// declared fields: what the client gave, else the target's (identity tables) or the
    /// names the tables use.
    fn bound_fields(
        &self,
        logic: &Logic,
        binding: &Binding,
        draft: &VersionDraft,
    ) -> ServiceResult<(Vec<LogicField>, Vec<LogicField>)> {
        let target = self.resolve_logic(&binding.target).map_err(|_| {
            ServiceError::validation(
                "binding.target",
                format!("no logic named or with sid {:?} to bind to", binding.target),
                "pick an existing logic as the target",
            )
        })?;
        if target.name == logic.name {
            return Err(ServiceError::validation("binding.target", "a logic cannot be bound to itself", "pick another target"));
        }
        for (side, rows) in [(Side::Input, &binding.input_mappings), (Side::Output, &binding.output_mappings)] {
            mapping::validate(side, rows).map_err(|e| {
                ServiceError::validation(format!("binding.{}", e.field_path(side)), e.to_string(), e.hint.clone())
            })?;
        }
        let target_version = self.store.version_get(&target.current_version_sid)?.unwrap_or_default();
        let inputs = match &draft.inputs {
            Some(fields) => fields.clone(),
            None if binding.input_mappings.is_empty() => target_version.inputs.clone(),
            None => mapping::source_fields(&binding.input_mappings, "inputs", &target_version.inputs),
        };
        let outputs = match &draft.outputs {
            Some(fields) => fields.clone(),
            None if binding.output_mappings.is_empty() => target_version.outputs.clone(),
            None => mapping::target_fields(&binding.output_mappings, &target_version.outputs),
        };
        Ok((inputs, outputs))
    }

    /// The identity tables for binding to `target`: one row per declared field of its current
    /// version (the UI pre-fills the mapping editor with them).
    pub fn binding_identity(&self, target: &str) -> ServiceResult<Binding> {
        let logic = self.resolve_logic(target)?;
        let version = self.store.version_get(&logic.current_version_sid)?.unwrap_or_default();
        Ok(Binding {
            target: logic.name,
            input_mappings: mapping::identity(&version.inputs),
            output_mappings: mapping::identity_outputs(&version.outputs),
        })
    }

    fn next_free_label(&self, logic: &Logic) -> ServiceResult<String> {
        if logic.sid.is_empty() {
            return Ok("v1".into());
        }
        let mut n = self.store.version_count(&logic.sid)? + 1;
        loop {
            let label = format!("v{n}");
            if self.store.version_by_label(&logic.sid, &label)?.is_none() {
                return Ok(label);
            }
            n += 1;
        }
    }

    pub fn set_current_version(&self, params: LogicSetCurrentVersionParams) -> ServiceResult<Logic> {
        let logic = self.resolve_logic(&params.logic)?;
        let version = self.resolve_version(&logic, &params.version).map_err(|e| e.within("version"))?;
        Ok(self.store.set_current_version(&logic.sid, &version.sid)?)
    }

    /// Ranks Logics against the query words: exact name, name prefix, name word, tag, description.
    pub fn search(&self, params: LibrarySearchParams) -> ServiceResult<Vec<LibraryHit>> {
        let limit = params.limit.unwrap_or(50).clamp(1, 1000) as usize;
        let query = params.query.trim().to_lowercase();
        let words: Vec<&str> = query.split(|c: char| !c.is_alphanumeric() && c != '_').filter(|w| !w.is_empty()).collect();
        let mut hits: Vec<LibraryHit> = self
            .store
            .logic_all()?
            .into_iter()
            .filter(|logic| params.tags.iter().all(|t| logic.tags.contains(t)))
            .filter_map(|logic| {
                let score = if query.is_empty() { 1.0 } else { relevance(&logic, &query, &words) };
                (score > 0.0).then_some((logic, score))
            })
            .map(|(logic, score)| LibraryHit { score, current_version_label: String::new(), logic })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.logic.name.cmp(&b.logic.name)));
        hits.truncate(limit);
        for hit in &mut hits {
            if let Some(version) = self.store.version_get(&hit.logic.current_version_sid)? {
                hit.current_version_label = version.version_label;
            }
        }
        Ok(hits)
    }

    /// `logic.set`: create or replace a Logic's own fields; versions are managed separately.
    pub fn put_logic(&self, mut logic: Logic) -> ServiceResult<Logic> {
        validate::logic_name(&logic.name)?;
        logic.tags = validate::normalize_tags(&logic.tags);
        let existing = self.existing(&logic.sid, |s| self.store.logic_get(s))?;
        if let Some(other) = self.store.logic_by_name(&logic.name)? {
            if other.sid != logic.sid {
                return Err(ServiceError::conflict(
                    "name",
                    format!("a logic named {:?} already exists ({})", logic.name, other.sid),
                    "pick another name",
                ));
            }
        }
        if !logic.current_version_sid.is_empty() {
            match self.store.version_get(&logic.current_version_sid)? {
                Some(v) if v.logic_sid == logic.sid => {}
                _ => {
                    return Err(ServiceError::validation(
                        "current_version_sid",
                        format!("{:?} is not a version of this logic", logic.current_version_sid),
                        "use one of the sids in `versions`, or LogicService.logic_set_current_version",
                    ))
                }
            }
        }
        let now = now_ms();
        logic.created_at = existing.as_ref().map(|l| l.created_at).unwrap_or(now);
        logic.updated_at = now;
        Ok(self.store.logic_put(&logic)?)
    }

    /// `workflow.set` of older clients: the Logic, and its source and signature as its current
    /// version, unless the current version already has them. When the version is refused, a
    /// Logic this call created is removed again, so nothing half-made stays.
    pub fn put_legacy_workflow(&self, workflow: LegacyWorkflow) -> ServiceResult<Logic> {
        let LegacyWorkflow { mut logic, python_source, inputs, outputs } = workflow;
        let stored = self.existing(&logic.sid, |s| self.store.logic_get(s))?;
        // Old clients send `""` for a current version they do not know; keep the stored one.
        if let Some(stored) = stored.as_ref().filter(|_| logic.current_version_sid.is_empty()) {
            logic.current_version_sid = stored.current_version_sid.clone();
        }
        let created = stored.is_none();
        let logic = self.put_logic(logic)?;
        if python_source.trim().is_empty() {
            return Ok(logic);
        }
        // Compared with the stored fields as they would be stored.
        let given = |mut fields: Vec<LogicField>| {
            validate::osis_defaults(&mut fields);
            validate::mark_empty_defaults(&mut fields);
            Some(fields).filter(|f| !f.is_empty())
        };
        let (inputs, outputs) = (given(inputs), given(outputs));
        if let Some(current) = self.store.version_get(&logic.current_version_sid)? {
            let same_fields = |given: &Option<Vec<LogicField>>, stored: &[LogicField]| given.as_deref().is_none_or(|g| g == stored);
            if current.python_source == python_source && same_fields(&inputs, &current.inputs) && same_fields(&outputs, &current.outputs) {
                return self.resolve_logic(&logic.sid);
            }
        }
        let params = LogicCreateVersionParams {
            logic: logic.sid.clone(),
            python_source: Some(python_source),
            inputs,
            outputs,
            make_current: Some(true),
            ..Default::default()
        };
        if let Err(error) = self.create_version(params) {
            if created {
                self.store.logic_delete(&logic.sid)?;
            }
            return Err(error);
        }
        self.resolve_logic(&logic.sid)
    }

    /// A version under a sid and creation time of its own (an import), checked like any save.
    /// Fields left `None` come from the source's decorator; when it declares none that can be
    /// read, the version gets none (the editor can fill them in). Stored only when `write`.
    pub(crate) fn import_version(
        &self,
        logic: &Logic,
        version: &LogicVersion,
        inputs: Option<Vec<LogicField>>,
        outputs: Option<Vec<LogicField>>,
        write: bool,
    ) -> ServiceResult<LogicVersion> {
        let draft = |inputs, outputs| VersionDraft {
            python_source: version.python_source.clone(),
            binding: None,
            inputs,
            outputs,
            version_label: Some(version.version_label.clone()),
            notes: version.notes.clone(),
        };
        let created_at = if version.created_at == 0 { now_ms() } else { version.created_at };
        let mut built = match self.build_version(logic, draft(inputs.clone(), outputs.clone()), created_at) {
            Err(ServiceError::Source { .. }) if inputs.is_none() || outputs.is_none() => {
                self.build_version(logic, draft(Some(inputs.unwrap_or_default()), Some(outputs.unwrap_or_default())), created_at)?
            }
            other => other?,
        };
        built.sid = version.sid.clone();
        built.updated_at = version.updated_at.max(created_at);
        if write {
            built = self.store.version_put(&built)?;
        }
        Ok(built)
    }

    pub fn delete_logic(&self, sid: &str) -> ServiceResult<bool> {
        Ok(self.store.logic_delete(sid)?)
    }

    /// `logicversion.set`: create a version, or change the label or notes of one. The body and
    /// signature of a stored version never change, so Plays always know what they ran.
    pub fn put_version(&self, version: LogicVersion) -> ServiceResult<LogicVersion> {
        let logic = self.store.logic_get(&version.logic_sid)?.ok_or_else(|| {
            ServiceError::validation(
                "logic_sid",
                format!("no logic with sid {:?}", version.logic_sid),
                "set logic_sid to an existing logic's sid",
            )
        })?;
        match self.existing(&version.sid, |s| self.store.version_get(s))? {
            Some(stored) => self.update_version_metadata(&logic, stored, version),
            None => {
                let make_current = logic.current_version_sid.is_empty();
                let draft = VersionDraft {
                    python_source: version.python_source,
                    binding: version.binding,
                    inputs: Some(version.inputs),
                    outputs: Some(version.outputs),
                    version_label: Some(version.version_label),
                    notes: version.notes,
                };
                let mut built = self.build_version(&logic, draft, now_ms())?;
                built.sid = version.sid;
                if built.sid.is_empty() {
                    Ok(self.store.version_create(&built, make_current)?)
                } else {
                    let stored = self.store.version_put(&built)?;
                    if make_current {
                        self.store.set_current_version(&logic.sid, &stored.sid)?;
                    }
                    Ok(stored)
                }
            }
        }
    }

    fn update_version_metadata(
        &self,
        logic: &Logic,
        stored: LogicVersion,
        wanted: LogicVersion,
    ) -> ServiceResult<LogicVersion> {
        let body_changed = stored.python_source != wanted.python_source
            || stored.binding != wanted.binding
            || stored.inputs != wanted.inputs
            || stored.outputs != wanted.outputs
            || stored.logic_sid != wanted.logic_sid;
        if body_changed {
            return Err(ServiceError::conflict(
                "python_source",
                format!("version {} is immutable: its source, binding and fields cannot change", stored.sid),
                "create a new version with LogicService.logic_create_version",
            ));
        }
        if wanted.version_label != stored.version_label {
            validate::version_label(&wanted.version_label)?;
            if self.store.version_by_label(&logic.sid, &wanted.version_label)?.is_some() {
                return Err(ServiceError::conflict(
                    "version_label",
                    format!("logic {:?} already has a version labelled {:?}", logic.name, wanted.version_label),
                    "pick another label",
                ));
            }
        }
        let updated = LogicVersion {
            version_label: wanted.version_label,
            notes: wanted.notes,
            updated_at: now_ms(),
            ..stored
        };
        Ok(self.store.version_put(&updated)?)
    }

    pub fn delete_version(&self, sid: &str) -> ServiceResult<bool> {
        let Some(version) = self.store.version_get(sid)? else { return Ok(false) };
        if let Some(logic) = self.store.logic_get(&version.logic_sid)? {
            if logic.current_version_sid == sid {
                return Err(ServiceError::conflict(
                    "sid",
                    format!("version {sid} is the current version of {:?}", logic.name),
                    "make another version current first (LogicService.logic_set_current_version)",
                ));
            }
        }
        let plays = self.store.play_count_for_version(sid)?;
        if plays > 0 {
            return Err(ServiceError::conflict(
                "sid",
                format!("version {sid} has {plays} plays that record it"),
                "versions with plays are kept so their history stays readable",
            ));
        }
        Ok(self.store.version_delete(sid)?)
    }

    pub fn create_example(&self, params: ExampleCreateParams) -> ServiceResult<LogicExample> {
        let logic = self.resolve_logic(&params.logic)?;
        let version_sid = if params.version.is_empty() {
            String::new()
        } else {
            self.resolve_version(&logic, &params.version).map_err(|e| e.within("version"))?.sid
        };
        self.put_example(LogicExample {
            logic_sid: logic.sid,
            logic_version_sid: version_sid,
            name: params.name,
            description: params.description,
            input_values: params.input_values,
            tags: params.tags,
            ..Default::default()
        })
    }

    pub fn put_example(&self, mut example: LogicExample) -> ServiceResult<LogicExample> {
        if example.name.trim().is_empty() {
            return Err(ServiceError::validation("name", "an example needs a name", "give it a short name"));
        }
        let logic = self.store.logic_get(&example.logic_sid)?.ok_or_else(|| {
            ServiceError::validation(
                "logic_sid",
                format!("no logic with sid {:?}", example.logic_sid),
                "set logic_sid to an existing logic's sid",
            )
        })?;
        if !example.logic_version_sid.is_empty() {
            match self.store.version_get(&example.logic_version_sid)? {
                Some(v) if v.logic_sid == logic.sid => {}
                _ => {
                    return Err(ServiceError::validation(
                        "logic_version_sid",
                        format!("{:?} is not a version of logic {:?}", example.logic_version_sid, logic.name),
                        "use one of the logic's version sids, or \"\" for every version",
                    ))
                }
            }
        }
        self.ensure_example_name_free(&logic, &example)?;
        let existing = self.existing(&example.sid, |s| self.store.example_get(s))?;
        let now = now_ms();
        example.tags = validate::normalize_tags(&example.tags);
        example.created_at = existing.map(|e| e.created_at).unwrap_or(now);
        example.updated_at = now;
        Ok(self.store.example_put(&example)?)
    }

    /// Example names are unique per Logic: a run picks its example by name (`play_start
    /// {example}`), so two of one name would make that choice a guess.
    fn ensure_example_name_free(&self, logic: &Logic, example: &LogicExample) -> ServiceResult<()> {
        let query = PageQuery::first(2).filter("logic_sid", logic.sid.clone()).filter("name", example.name.clone());
        let taken = self.store.example_page(&query)?.items.into_iter().find(|other| other.sid != example.sid);
        match taken {
            None => Ok(()),
            Some(other) => Err(ServiceError::conflict(
                "name",
                format!("logic {:?} already has an example named {:?} ({})", logic.name, example.name, other.sid),
                format!(
                    "pick another name, or change that example with LogicService.logic_example_update {{sid: {:?}}}",
                    other.sid
                ),
            )),
        }
    }

    /// Replaces an example that must already exist.
    pub fn update_example(&self, example: LogicExample) -> ServiceResult<LogicExample> {
        if self.store.example_get(&example.sid)?.is_none() {
            return Err(ServiceError::not_found(
                format!("example {:?} not found", example.sid),
                "create it with LogicService.logic_example_create",
            ));
        }
        self.put_example(example)
    }

    pub fn delete_example(&self, sid: &str) -> ServiceResult<bool> {
        Ok(self.store.example_delete(sid)?)
    }

    /// A Logic's examples; with a version, that version's own and the version-less ones.
    pub fn list_examples(&self, params: ExampleListParams) -> ServiceResult<Vec<LogicExample>> {
        let logic = self.resolve_logic(&params.logic)?;
        let version_sid = if params.version.is_empty() {
            None
        } else {
            Some(self.resolve_version(&logic, &params.version).map_err(|e| e.within("version"))?.sid)
        };
        let page = self.store.example_page(&PageQuery::first(1000).filter("logic_sid", logic.sid))?;
        Ok(page
            .items
            .into_iter()
            .filter(|e| match &version_sid {
                Some(v) => e.logic_version_sid.is_empty() || &e.logic_version_sid == v,
                None => true,
            })
            .collect())
    }

    /// The input values of one of `logic`'s examples, by sid or name.
    pub fn example_inputs(&self, logic: &Logic, sid_or_name: &str) -> ServiceResult<serde_json::Map<String, serde_json::Value>> {
        let by_sid = self.store.example_get(sid_or_name)?.filter(|e| e.logic_sid == logic.sid);
        let example = match by_sid {
            Some(example) => Some(example),
            None => self
                .store
                .example_page(&PageQuery::first(1).filter("logic_sid", logic.sid.clone()).filter("name", sid_or_name))?
                .items
                .into_iter()
                .next(),
        };
        example.map(|e| e.input_values).ok_or_else(|| {
            ServiceError::not_found(
                format!("logic {:?} has no example {sid_or_name:?}", logic.name),
                "LogicService.logic_example_list shows its examples",
            )
        })
    }

    /// The stored record for a client-given sid, checking its form first.
    fn existing<T>(
        &self,
        sid_text: &str,
        get: impl Fn(&str) -> crate::store::StoreResult<Option<T>>,
    ) -> ServiceResult<Option<T>> {
        if sid_text.is_empty() {
            return Ok(None);
        }
        if sid::decode(sid_text).is_none() {
            return Err(ServiceError::validation(
                "sid",
                format!("sid {sid_text:?} is not lowercase base-36"),
                "leave sid empty to create a new object",
            ));
        }
        Ok(get(sid_text)?)
    }
}

/// The version's declared fields: what the client gave, else what the source's `@logic(...)`
/// decorator or entry signature declares; and whether the decorator asks for the network. A
/// source that does not parse is refused here, at save time, with its position, so the client
/// can show it and keep its text.
fn declared_fields(logic_name: &str, draft: &VersionDraft) -> ServiceResult<(Vec<LogicField>, Vec<LogicField>, bool)> {
    if draft.python_source.trim().is_empty() {
        return Ok((draft.inputs.clone().unwrap_or_default(), draft.outputs.clone().unwrap_or_default(), false));
    }
    match parse::read_signature_named(&draft.python_source, logic_name) {
        Ok(signature) => Ok((
            draft.inputs.clone().unwrap_or(signature.inputs),
            draft.outputs.clone().unwrap_or(signature.outputs),
            signature.network,
        )),
        Err(ParseError::Declaration { .. }) if draft.inputs.is_some() && draft.outputs.is_some() => {
            Ok((draft.inputs.clone().unwrap_or_default(), draft.outputs.clone().unwrap_or_default(), false))
        }
        Err(error) => Err(source_error(error)),
    }
}

/// A source refused at save time, with its position and how to fix it.
pub(crate) fn source_error(error: ParseError) -> ServiceError {
    let (line, column) = error.position().unzip();
    let hint = match &error {
        ParseError::NoEntry { .. } => "decorate the entry function with @logic(...) (from hero_tracing import logic)".to_string(),
        ParseError::Declaration { .. } => "use literal dicts in @logic(inputs=..., outputs=...), or pass inputs and outputs explicitly".to_string(),
        ParseError::Unsupported { hint, .. } => format!("{hint}; nothing was stored"),
        _ => "fix the source and save again; nothing was stored".to_string(),
    };
    ServiceError::Source { message: error.to_string(), line, column, hint }
}

fn relevance(logic: &Logic, query: &str, words: &[&str]) -> f64 {
    let name = logic.name.as_str();
    let description = logic.description.to_lowercase();
    let mut score = 0.0;
    if name == query {
        score += 100.0;
    } else if name.starts_with(query) {
        score += 50.0;
    } else if name.contains(query) {
        score += 30.0;
    }
    for word in words {
        if name.split('_').any(|part| part == *word) {
            score += 10.0;
        } else if name.contains(word) {
            score += 5.0;
        }
        if logic.tags.iter().any(|t| t.to_lowercase() == *word) {
            score += 8.0;
        }
        if description.split(|c: char| !c.is_alphanumeric()).any(|w| w == *word) {
            score += 3.0;
        } else if description.contains(word) {
            score += 1.0;
        }
    }
    score
}
