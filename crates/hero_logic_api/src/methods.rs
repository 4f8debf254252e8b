//! JSON-RPC method names. Clients, the server and the OpenRPC document all use these.

pub const DISCOVER: &str = "rpc.discover";

/// Generic CRUD methods of one rootobject (`logic.get`, `logic.set`, ...).
#[derive(Debug, Clone, Copy)]
pub struct Crud {
    pub object: &'static str,
    pub get: &'static str,
    pub set: &'static str,
    pub delete: &'static str,
    pub list: &'static str,
    pub find: &'static str,
    /// Plays are written only by the engine: no `set` or `delete` over the API.
    pub writable: bool,
    /// The fields `find` filters on (the store has a column and an index for each).
    pub filters: &'static [&'static str],
}

macro_rules! crud {
    ($object:literal, $writable:expr, $filters:expr) => {
        Crud {
            object: $object,
            get: concat!($object, ".get"),
            set: concat!($object, ".set"),
            delete: concat!($object, ".delete"),
            list: concat!($object, ".list"),
            find: concat!($object, ".find"),
            writable: $writable,
            filters: $filters,
        }
    };
}

pub const LOGIC: Crud = crud!("logic", true, &["name", "current_version_sid"]);
pub const LOGIC_VERSION: Crud = crud!("logicversion", true, &["logic_sid", "version_label"]);
pub const LOGIC_EXAMPLE: Crud = crud!("logicexample", true, &["logic_sid", "logic_version_sid", "name"]);
pub const PLAY: Crud = crud!("play", false, &["logic_sid", "logic_version_sid", "parent_play_sid", "status"]);

/// Method prefixes older clients used, served as aliases of the current ones.
pub const LEGACY_CRUD_ALIASES: [(&str, Crud); 3] = [
    ("workflow", LOGIC),
    ("workflowversion", LOGIC_VERSION),
    ("example", LOGIC_EXAMPLE),
];

/// Served beside the aliases: a Workflow's source and signature become its current version.
pub const LEGACY_WORKFLOW_SET: &str = "workflow.set";

pub const LOGIC_CREATE: &str = "LogicService.logic_create";
pub const LOGIC_CREATE_VERSION: &str = "LogicService.logic_create_version";
pub const LOGIC_SET_CURRENT_VERSION: &str = "LogicService.logic_set_current_version";
pub const LOGIC_LIBRARY_SEARCH: &str = "LogicService.logic_library_search";
pub const LOGIC_PARSE_GRAPH: &str = "LogicService.logic_parse_graph";
pub const LOGIC_EXAMPLE_CREATE: &str = "LogicService.logic_example_create";
pub const LOGIC_EXAMPLE_GET: &str = "LogicService.logic_example_get";
pub const LOGIC_EXAMPLE_UPDATE: &str = "LogicService.logic_example_update";
pub const LOGIC_EXAMPLE_DELETE: &str = "LogicService.logic_example_delete";
pub const LOGIC_EXAMPLE_LIST: &str = "LogicService.logic_example_list";
pub const PLAY_START: &str = "LogicService.play_start";
pub const PLAY_WAIT: &str = "LogicService.play_wait";
pub const PLAY_STATUS: &str = "LogicService.play_status";
pub const PLAY_CANCEL: &str = "LogicService.play_cancel";
pub const PLAY_TREE: &str = "LogicService.play_tree";
pub const PLAY_LIST_FOR_LOGIC: &str = "LogicService.play_list_for_logic";
pub const PLAY_LIST_FOR_VERSION: &str = "LogicService.play_list_for_version";
pub const PLAY_SEARCH: &str = "LogicService.play_search";
pub const PLAY_INBOX: &str = "LogicService.play_inbox";
pub const PLAY_RESUME: &str = "LogicService.play_resume";
pub const PLAY_RERUN: &str = "LogicService.play_rerun";
pub const PLAY_FORK: &str = "LogicService.play_fork";
pub const LOGIC_STATS: &str = "LogicService.logic_stats";
pub const LOGIC_DASHBOARD: &str = "LogicService.logic_dashboard";
pub const LOGIC_BINDING_IDENTITY: &str = "LogicService.logic_binding_identity";
pub const PLAY_WATCH: &str = "LogicService.play_watch";
pub const MODELS_CONFIG: &str = "LogicService.models_config";
pub const LOGIC_IMPORT: &str = "LogicService.logic_import";
pub const LOGIC_SPLIT: &str = "LogicService.logic_split";
pub const ENGINE_INFO: &str = "LogicService.engine_info";
pub const SANDBOX_INFO: &str = "LogicService.sandbox_info";
