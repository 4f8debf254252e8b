//! The OpenRPC document, generated from the wire types. `rpc.discover` serves it and
//! `schemas/openrpc.json` is a checked-in copy guarded by a drift test.

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{json, Map, Value};

use crate::graph::FlowGraph;
use crate::methods::{self, Crud};
use crate::params::*;
use crate::types::*;

/// One method of the document.
struct MethodDoc {
    name: String,
    summary: String,
    params: Value,
    result: Value,
}

struct DocBuilder {
    generator: SchemaGenerator,
    methods: Vec<MethodDoc>,
}

impl DocBuilder {
    fn new() -> Self {
        let settings = SchemaSettings::draft07().with(|s| {
            s.definitions_path = "/components/schemas".into();
        });
        DocBuilder { generator: settings.into_generator(), methods: Vec::new() }
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
            &format!("Find {type_name}s whose fields equal the given values, newest first, paged."),
        );
    }

    fn finish(mut self) -> Value {
        let definitions = self.generator.take_definitions(true);
        let methods: Vec<Value> = self
            .methods
            .into_iter()
            .map(|m| {
                json!({
                    "name": m.name,
                    "summary": m.summary,
                    "paramStructure": "by-name",
                    "params": m.params,
                    "result": m.result,
                })
            })
            .collect();
        json!({
            "openrpc": "1.3.2",
            "info": {
                "title": "hero_logic",
                "version": env!("CARGO_PKG_VERSION"),
                "description": "Versioned Python logics, run durably. Errors carry data {kind, field, hint}.",
            },
            "methods": methods,
            "components": {"schemas": definitions},
        })
    }
}

/// Builds the OpenRPC document for every method the daemon serves.
pub fn document() -> Value {
    let mut doc = DocBuilder::new();
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
