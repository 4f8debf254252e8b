//! The OpenRPC document, generated from the wire types. `rpc.discover` serves it and
//! `schemas/openrpc.json` is a checked-in copy guarded by a drift test.

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{json, Map, Value};

use serde::Serialize;

use crate::error;
use crate::graph::FlowGraph;
use crate::methods::{self, Crud};
use crate::params::*;
use crate::types::*;

/// One method of the document.
#[derive(Clone)]
struct MethodDoc {
    name: String,
    summary: String,
    params: Value,
    result: Value,
    deprecated: bool,
}

struct DocBuilder {
    generator: SchemaGenerator,
    methods: Vec<MethodDoc>,
    /// Record schemas and the members every answer carries (their `required`).
    records: Vec<(&'static str, Vec<String>)>,
}

/// The errors a method may answer, as `components.errors` names them: (name, code, message).
const ERRORS: [(&str, i32, &str); 9] = [
    ("ParseError", error::PARSE_ERROR, "Parse error: the body is not JSON"),
    ("InvalidRequest", error::INVALID_REQUEST, "Invalid request: not a JSON-RPC 2.0 Request object"),
    ("MethodNotFound", error::METHOD_NOT_FOUND, "Method not found"),
    ("InvalidParams", error::INVALID_PARAMS, "Invalid params: data.field names the one that did not fit"),
    ("InternalError", error::INTERNAL_ERROR, "Internal error: see the daemon's log"),
    ("NotFound", error::NOT_FOUND, "Not found: the named object does not exist"),
    ("Conflict", error::CONFLICT, "Conflict with stored state: duplicate name or version label, immutable version"),
    ("Validation", error::VALIDATION, "Validation: data.field names the bad value, data.hint how to fix it"),
    ("InvalidState", error::INVALID_STATE, "Invalid state: the object does not allow this call now"),
];

/// Beyond InvalidParams and InternalError, which any method may answer.
fn method_errors(name: &str) -> &'static [&'static str] {
    let verb = name.rsplit(['.', '_']).next().unwrap_or_default();
    match name {
        methods::LOGIC_CREATE | methods::LOGIC_CREATE_VERSION => &["NotFound", "Conflict", "Validation"],
        methods::PLAY_RESUME => &["NotFound", "Validation", "InvalidState"],
        methods::PLAY_CANCEL => &["NotFound", "InvalidState"],
        methods::PLAY_RERUN => &["NotFound", "Validation"],
        methods::PLAY_FORK => &["NotFound", "Validation", "InvalidState"],
        methods::PLAY_START | methods::LOGIC_EXAMPLE_CREATE | methods::LOGIC_EXAMPLE_UPDATE => &["NotFound", "Validation"],
        methods::LOGIC_SPLIT => &["Validation"],
        methods::LOGIC_LIBRARY_SEARCH | methods::LOGIC_DASHBOARD | methods::MODELS_CONFIG | methods::LOGIC_IMPORT | methods::ENGINE_INFO => &[],
        _ if name.starts_with("LogicService.play_list") || name.starts_with("LogicService.logic_example_list") => {
            &["NotFound", "Validation"]
        }
        _ if name.starts_with("LogicService.") => &["NotFound"],
        _ => match verb {
            "set" => &["Conflict", "Validation"],
            "list" | "find" => &["Validation"],
            _ => &["NotFound"],
        },
    }
}

fn errors_json(name: &str) -> Value {
    let refs = ["InvalidParams", "InternalError"].iter().chain(method_errors(name)).map(|e| json!({"$ref": format!("#/components/errors/{e}")}));
    Value::Array(refs.collect())
}

impl DocBuilder {
    fn new() -> Self {
        let settings = SchemaSettings::draft07().with(|s| {
            s.definitions_path = "/components/schemas".into();
        });
        DocBuilder { generator: settings.into_generator(), methods: Vec::new(), records: Vec::new() }
    }

    /// Marks `T`'s schema as a record whose answers carry every member a default one has; writes
    /// (`X.set`) take a `<T>Write` copy that requires nothing, as partial records are fine.
    fn record<T: Default + Serialize>(&mut self, name: &'static str) {
        let members = match serde_json::to_value(T::default()) {
            Ok(Value::Object(map)) => map.keys().cloned().collect(),
            _ => Vec::new(),
        };
        self.records.push((name, members));
    }

    /// The old method names, served as aliases: listed, deprecated, like their targets.
    fn legacy_aliases(&mut self) {
        for (prefix, crud) in methods::LEGACY_CRUD_ALIASES {
            for (verb, target) in [("get", crud.get), ("set", crud.set), ("delete", crud.delete), ("list", crud.list), ("find", crud.find)] {
                let name = format!("{prefix}.{verb}");
                let Some(original) = self.methods.iter().find(|m| m.name == target).cloned() else { continue };
                let mut alias = original;
                if name == methods::LEGACY_WORKFLOW_SET {
                    let params = self.params_of::<SetParams<LegacyWorkflow>>();
                    alias.params = params;
                    alias.summary = "Deprecated: the old name of logic.set; a python_source (with inputs, outputs) \
                                     becomes the Logic's current version."
                        .into();
                } else {
                    alias.summary = format!("Deprecated: the old name of {target}.");
                }
                alias.name = name;
                alias.deprecated = true;
                self.methods.push(alias);
            }
        }
    }

    /// Adds a method whose by-name params are the properties of `P`.
    fn method<P: JsonSchema, R: JsonSchema>(&mut self, name: &str, summary: &str) {
        let params = self.params_of::<P>();
        let result = json!({"name": "result", "schema": self.generator.subschema_for::<R>()});
        self.methods.push(MethodDoc {
            name: name.to_string(),
            summary: summary.to_string(),
            params,
            result,
            deprecated: false,
        });
    }

    fn params_of<P: JsonSchema>(&mut self) -> Value {
        let root = self.generator.root_schema_for::<P>().to_value();
        let required: Vec<&str> = root
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut params = Vec::new();
        if let Some(props) = root.get("properties").and_then(Value::as_object) {
            for (name, schema) in props {
                let mut descriptor = Map::new();
                descriptor.insert("name".into(), json!(name));
                if let Some(desc) = schema.get("description") {
                    descriptor.insert("description".into(), desc.clone());
                }
                descriptor.insert("required".into(), json!(required.contains(&name.as_str())));
                descriptor.insert("schema".into(), schema.clone());
                params.push(Value::Object(descriptor));
            }
        }
        Value::Array(params)
    }

    fn crud<T: JsonSchema>(&mut self, crud: Crud, type_name: &str) {
        self.method::<SidParams, T>(crud.get, &format!("Get one {type_name} by sid."));
        if crud.writable {
            self.method::<SetParams<T>, T>(
                crud.set,
                &format!("Create (empty or unknown sid) or replace a {type_name}; returns it as stored."),
            );
            self.method::<SidParams, Deleted>(crud.delete, &format!("Delete a {type_name} by sid."));
        }
        self.method::<ListParams, Page<T>>(crud.list, &format!("List {type_name}s, newest first, paged."));
        self.method::<FindParams, Page<T>>(
            crud.find,
            &format!(
                "Find {type_name}s whose fields equal the given values, newest first, paged. Filterable: {}.",
                crud.filters.join(", ")
            ),
        );
        self.declare_filters::<T>(crud);
    }

    /// `find`'s filters, which `FindParams` takes as a free map, as params of their own with
    /// the field's schema from the record.
    fn declare_filters<T: JsonSchema>(&mut self, crud: Crud) {
        let record = self.generator.root_schema_for::<T>().to_value();
        let Some(find) = self.methods.iter_mut().find(|m| m.name == crud.find) else { return };
        let Some(params) = find.params.as_array_mut() else { return };
        for field in crud.filters {
            let schema = record.pointer(&format!("/properties/{field}")).cloned().unwrap_or(json!({}));
            let schema = match schema {
                // A `$ref` into the record's own definitions points at components instead.
                Value::Object(mut map) if map.contains_key("$ref") => {
                    let name = map["$ref"].as_str().unwrap_or_default().rsplit('/').next().unwrap_or_default().to_string();
                    map.insert("$ref".into(), json!(format!("#/components/schemas/{name}")));
                    Value::Object(map)
                }
                other => other,
            };
            params.push(json!({"name": field, "description": format!("only those whose {field} equals this"), "required": false, "schema": schema}));
        }
    }

    fn finish(mut self) -> Value {
        let mut definitions = self.generator.take_definitions(true);
        for (name, members) in &self.records {
            let Some(Value::Object(schema)) = definitions.get(*name).cloned() else { continue };
            definitions.insert(format!("{name}Write"), Value::Object(schema));
            if let Some(Value::Object(schema)) = definitions.get_mut(*name) {
                schema.insert("required".into(), json!(members));
            }
        }
        let writes: Vec<(String, String)> = self
            .records
            .iter()
            .map(|(name, _)| (format!("#/components/schemas/{name}"), format!("#/components/schemas/{name}Write")))
            .collect();
        let methods: Vec<Value> = self
            .methods
            .into_iter()
            .map(|mut m| {
                if m.name.ends_with(".set") || m.name == methods::LOGIC_EXAMPLE_UPDATE {
                    point_at_writes(&mut m.params, &writes);
                }
                let mut method = json!({
                    "name": m.name,
                    "summary": m.summary,
                    "paramStructure": "by-name",
                    "params": m.params,
                    "result": m.result,
                    "errors": errors_json(&m.name),
                });
                if m.deprecated {
                    method["deprecated"] = json!(true);
                }
                method
            })
            .collect();
        let errors: Map<String, Value> =
            ERRORS.iter().map(|(name, code, message)| (name.to_string(), json!({"code": code, "message": message}))).collect();
        json!({
            "openrpc": "1.3.2",
            "info": {
                "title": "hero_logic",
                "version": env!("CARGO_PKG_VERSION"),
                "description": "Versioned Python logics, run durably. Errors carry data {kind, field, hint}.",
            },
            "methods": methods,
            "components": {"schemas": definitions, "errors": errors},
        })
    }
}

/// The top-level `object` param of a write refers to the record's `<T>Write` schema.
fn point_at_writes(params: &mut Value, writes: &[(String, String)]) {
    for param in params.as_array_mut().into_iter().flatten() {
        let Some(reference) = param.pointer_mut("/schema/$ref") else { continue };
        if let Some((_, write)) = writes.iter().find(|(read, _)| reference == read) {
            *reference = json!(write);
        }
    }
}

/// Builds the OpenRPC document for every method the daemon serves.
pub fn document() -> Value {
    let mut doc = DocBuilder::new();
    doc.record::<Logic>("Logic");
    doc.record::<LogicVersion>("LogicVersion");
    doc.record::<LogicExample>("LogicExample");
    doc.record::<Play>("Play");
    doc.crud::<Logic>(methods::LOGIC, "Logic");
    doc.crud::<LogicVersion>(methods::LOGIC_VERSION, "LogicVersion");
    doc.crud::<LogicExample>(methods::LOGIC_EXAMPLE, "LogicExample");
    doc.crud::<Play>(methods::PLAY, "Play");
    doc.method::<LogicCreateParams, Logic>(
        methods::LOGIC_CREATE,
        "Create a Logic and its first version in one call.",
    );
    doc.method::<LogicCreateVersionParams, LogicVersion>(
        methods::LOGIC_CREATE_VERSION,
        "Add a version to a Logic (current by default).",
    );
    doc.method::<LogicSetCurrentVersionParams, Logic>(
        methods::LOGIC_SET_CURRENT_VERSION,
        "Make one of a Logic's versions current.",
    );
    doc.method::<LibrarySearchParams, Vec<LibraryHit>>(
        methods::LOGIC_LIBRARY_SEARCH,
        "Search Logics by name, description and tags, best match first.",
    );
    doc.method::<ParseGraphParams, FlowGraph>(
        methods::LOGIC_PARSE_GRAPH,
        "The static flow graph of a version: its entry function and the invocations, RPC/HTTP calls, \
         pauses, loops, branches, try blocks and returns in it, each with line and column. \
         Computed once per version; a source that does not parse gives a graph with `error`.",
    );
    doc.method::<ExampleCreateParams, LogicExample>(
        methods::LOGIC_EXAMPLE_CREATE,
        "Save a set of inputs as an example of a Logic.",
    );
    doc.method::<SidParams, LogicExample>(methods::LOGIC_EXAMPLE_GET, "Get one example.");
    doc.method::<SetParams<LogicExample>, LogicExample>(
        methods::LOGIC_EXAMPLE_UPDATE,
        "Replace an existing example.",
    );
    doc.method::<SidParams, Deleted>(methods::LOGIC_EXAMPLE_DELETE, "Delete an example.");
    doc.method::<ExampleListParams, Vec<LogicExample>>(
        methods::LOGIC_EXAMPLE_LIST,
        "Examples of a Logic (of one version and the version-less ones when a version is named).",
    );
    doc.method::<PlayStartParams, Play>(
        methods::PLAY_START,
        "Validate inputs and queue a top-level Play of a Logic; returns it pending.",
    );
    doc.method::<PlayWaitParams, Play>(
        methods::PLAY_WAIT,
        "Wait until the Play is finished, or it or a descendant waits for a person, or the timeout.",
    );
    doc.method::<PlaySidParams, Play>(methods::PLAY_STATUS, "The Play as it is now.");
    doc.method::<PlayResumeParams, Play>(
        methods::PLAY_RESUME,
        "Answer a Play's question; the run continues by replay. Returns the Play that asked.",
    );
    doc.method::<PlaySidParams, Play>(
        methods::PLAY_RERUN,
        "Queue a new top-level Play with the same logic, version, inputs and limits as this one; returns it pending.",
    );
    doc.method::<PlayForkParams, Play>(
        methods::PLAY_FORK,
        "Queue a new top-level Play that takes the recorded results of the steps before `from_step` (not run again) and runs from there fresh, optionally on another version; returns it pending.",
    );
    doc.method::<PlaySidParams, Play>(
        methods::PLAY_CANCEL,
        "Cancel a Play's top-level run: kill its process group, mark unfinished Plays cancelled.",
    );
    doc.method::<PlayWatchParams, PlayWatch>(
        methods::PLAY_WATCH,
        "The Play's tree after the next change (at once if something changed since `since`); for live views.",
    );
    doc.method::<PlaySidParams, PlayTree>(methods::PLAY_TREE, "A Play with all its descendants, in one call.");
    doc.method::<PlayListForLogicParams, Page<Play>>(
        methods::PLAY_LIST_FOR_LOGIC,
        "Plays of a Logic (any depth), newest first, paged.",
    );
    doc.method::<PlayListForVersionParams, Page<Play>>(
        methods::PLAY_LIST_FOR_VERSION,
        "Plays of one version (any depth), newest first, paged.",
    );
    doc.method::<PlaySearchParams, Page<Play>>(
        methods::PLAY_SEARCH,
        "Plays across all Logics filtered by logic, status, creation time and text in inputs, outputs and errors; newest first, paged.",
    );
    doc.method::<PlayInboxParams, Inbox>(
        methods::PLAY_INBOX,
        "Every question waiting for a person, across all runs, oldest first.",
    );
    doc.method::<BindingIdentityParams, Binding>(
        methods::LOGIC_BINDING_IDENTITY,
        "Identity mapping tables (one row per declared field) for binding a version to a target logic.",
    );
    doc.method::<LogicStatsParams, LogicStats>(
        methods::LOGIC_STATS,
        "Runs, status counts, success rate, p50/p95/max duration and rolled-up tokens and cost over the last N Plays of a version.",
    );
    doc.method::<DashboardParams, Vec<DashboardRow>>(
        methods::LOGIC_DASHBOARD,
        "Every Logic with its latest run and success rate over its last 50 Plays, in one call.",
    );
    doc.method::<EngineInfoParams, EngineInfo>(
        methods::ENGINE_INFO,
        "The engine's settings (pool size, warm runners, crash recovery and its bound, the default \
         wall-clock budget) and how many top-level Plays run and wait right now.",
    );
    doc.method::<ModelsConfigParams, ModelsConfig>(
        methods::MODELS_CONFIG,
        "The models table (prices per million tokens and aliases; shipped models.toml merged with \
         <data dir>/models.toml) and the model endpoint settings, without the API key.",
    );
    doc.method::<SandboxInfoParams, SandboxInfo>(
        methods::SANDBOX_INFO,
        "The protections each Play's process gets on this machine (namespaces, Landlock, rlimits, \
         cgroup), as the daemon probed them at start; what bounds a Play's total memory and \
         processes; and why Plays are refused, if they are.",
    );
    doc.method::<ImportParams, ImportReport>(
        methods::LOGIC_IMPORT,
        "Import records of the old OSIS store (Workflow, WorkflowVersion, Example, Benchmark, Play): \
         same sids, idempotent, every record reported as created, updated, unchanged, dropped or refused.",
    );
    doc.method::<SplitParams, SplitResult>(
        methods::LOGIC_SPLIT,
        "Split a source declaring several logics into one source per logic (the parent's calls \
         rewritten to logic.invoke); writes nothing.",
    );
    doc.legacy_aliases();
    doc.finish()
}

/// The names of every method in the document, `rpc.discover` included.
pub fn method_names() -> Vec<String> {
    let doc = document();
    let mut names: Vec<String> = doc["methods"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["name"].as_str().map(str::to_string))
        .collect();
    names.push(methods::DISCOVER.to_string());
    names
}

/// The document as checked in: pretty JSON with a trailing newline.
pub fn document_text() -> String {
    let mut text = serde_json::to_string_pretty(&document()).expect("a JSON value always serializes");
    text.push('\n');
    text
}
