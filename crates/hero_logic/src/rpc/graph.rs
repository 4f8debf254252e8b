//! `LogicService.logic_parse_graph`: the static flow graph of a version, computed once.
//!
//! Versions never change, so the first request parses the source and stores the graph; later
//! ones read it back. Parsing is pure and bounded (see `parse`), so it runs on the request's
//! blocking thread.

use hero_logic_api::methods;
use hero_logic_api::params::ParseGraphParams;
use hero_logic_api::FlowGraph;
use jsonrpsee::RpcModule;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{register, Ctx};
use crate::error::{ServiceError, ServiceResult};
use crate::parse;
use crate::store::{Store, StoreError};

/// Bumped whenever the parser draws graphs differently: cached graphs of another format are
/// computed again, so an upgrade never serves a graph the current parser would not draw.
const GRAPH_FORMAT: u64 = 1;

pub fn register_all(module: &mut RpcModule<Ctx>) {
    register(module, methods::LOGIC_PARSE_GRAPH, |ctx, p: ParseGraphParams| {
        version_graph(ctx.library.store().as_ref(), &p.version_sid)
    });
}

/// The graph of a version: from the cache, else parsed now and cached.
pub fn version_graph(store: &dyn Store, version_sid: &str) -> ServiceResult<FlowGraph> {
    if let Some(mut graph) = cached(store, version_sid)? {
        graph.cached = true;
        return Ok(graph);
    }
    let version = store.version_get(version_sid)?.ok_or_else(|| {
        ServiceError::not_found(
            format!("no logic version with sid {version_sid:?}"),
            "a Logic's `versions` (logic.get) lists its version sids",
        )
    })?;
    let mut graph = match &version.binding {
        Some(binding) => parse::binding_graph(&binding.target),
        None => {
            // The entry is chosen as at run time, which prefers the function declaring the
            // Logic's own name when a file has several.
            let logic_name = store.logic_get(&version.logic_sid)?.map(|l| l.name);
            parse::flow_graph(&version.python_source, logic_name.as_deref())
        }
    };
    graph.version_sid = version.sid.clone();
    let envelope = json!({"format": GRAPH_FORMAT, "graph": graph});
    store.graph_put(&version.sid, &envelope)?;
    Ok(graph)
}

/// A cached graph of the current format. Anything else (an older format, a row that no longer
/// decodes) counts as a miss and is recomputed rather than failing the request.
fn cached(store: &dyn Store, version_sid: &str) -> ServiceResult<Option<FlowGraph>> {
    let stored = match store.graph_get(version_sid) {
        Ok(Some(stored)) => stored,
        Ok(None) => return Ok(None),
        Err(StoreError::Corrupt(reason)) => {
            tracing::warn!(version_sid, %reason, "cached flow graph is unreadable; parsing again");
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    };
    if stored.get("format").and_then(Value::as_u64) != Some(GRAPH_FORMAT) {
        return Ok(None);
    }
    match stored.get("graph").map(FlowGraph::deserialize) {
        Some(Ok(graph)) => Ok(Some(graph)),
        Some(Err(e)) => {
            tracing::warn!(version_sid, error = %e, "cached flow graph does not decode; parsing again");
            Ok(None)
        }
        None => Ok(None),
    }
}
