//! Generic CRUD methods (`logic.get`, `logic.set`, ...) for every rootobject.

use hero_logic_api::methods::{self, Crud};
use hero_logic_api::params::{Deleted, FindParams, ListParams, Page, SetParams, SidParams, DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT};
use hero_logic_api::{LegacyWorkflow, Logic, LogicExample, LogicVersion, Play};
use jsonrpsee::RpcModule;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{register, Ctx};
use crate::error::{ServiceError, ServiceResult};
use crate::library::Library;
use crate::stats;
use crate::store::PageQuery;

/// What one rootobject's CRUD methods call.
struct CrudOps<T> {
    get: fn(&Library, &str) -> ServiceResult<Option<T>>,
    page: fn(&Library, &PageQuery) -> ServiceResult<Page<T>>,
    /// `None` for read-only objects (Plays).
    put: Option<fn(&Library, T) -> ServiceResult<T>>,
    delete: Option<fn(&Library, &str) -> ServiceResult<bool>>,
}

pub fn register_all(module: &mut RpcModule<Ctx>) {
    register_crud(
        module,
        methods::LOGIC,
        CrudOps {
            get: |l, sid| Ok(l.store().logic_get(sid)?),
            page: |l, q| Ok(l.store().logic_page(q)?),
            put: Some(|l, o: Logic| l.put_logic(o)),
            delete: Some(|l, sid| l.delete_logic(sid)),
        },
    );
    register_crud(
        module,
        methods::LOGIC_VERSION,
        CrudOps {
            get: |l, sid| Ok(l.store().version_get(sid)?),
            page: |l, q| Ok(l.store().version_page(q)?),
            put: Some(|l, o: LogicVersion| l.put_version(o)),
            delete: Some(|l, sid| l.delete_version(sid)),
        },
    );
    register_crud(
        module,
        methods::LOGIC_EXAMPLE,
        CrudOps {
            get: |l, sid| Ok(l.store().example_get(sid)?),
            page: |l, q| Ok(l.store().example_page(q)?),
            put: Some(|l, o: LogicExample| l.put_example(o)),
            delete: Some(|l, sid| l.delete_example(sid)),
        },
    );
    register_crud(
        module,
        methods::PLAY,
        CrudOps::<Play> {
            get: |l, sid| {
                let Some(play) = l.store().play_get(sid)? else { return Ok(None) };
                let mut plays = [play];
                stats::with_subtrees(l, &mut plays)?;
                let [play] = plays;
                Ok(Some(play))
            },
            page: |l, q| {
                let mut page = l.store().play_page(q)?;
                stats::with_subtrees(l, &mut page.items)?;
                Ok(page)
            },
            put: None,
            delete: None,
        },
    );
    register_legacy_aliases(module);
}

fn register_crud<T>(module: &mut RpcModule<Ctx>, crud: Crud, ops: CrudOps<T>)
where
    T: Serialize + DeserializeOwned + Clone + Send + 'static,
{
    let kind = crud.object;
    let get = ops.get;
    register(module, crud.get, move |ctx, p: SidParams| {
        get(&ctx.library, &p.sid)?.ok_or_else(|| {
            ServiceError::not_found(format!("{kind} {:?} not found", p.sid), format!("{kind}.list shows what exists"))
        })
    });
    if let Some(put) = ops.put {
        register(module, crud.set, move |ctx, p: SetParams<T>| put(&ctx.library, p.object));
    }
    if let Some(delete) = ops.delete {
        register(module, crud.delete, move |ctx, p: SidParams| Ok(Deleted { deleted: delete(&ctx.library, &p.sid)? }));
    }
    let page = ops.page;
    register(module, crud.list, move |ctx, p: ListParams| {
        page(&ctx.library, &PageQuery { filters: Vec::new(), limit: page_limit(p.limit)?, cursor: p.cursor })
    });
    register(module, crud.find, move |ctx, p: FindParams| {
        let filters = p.filters.into_iter().collect();
        page(&ctx.library, &PageQuery { filters, limit: page_limit(p.limit)?, cursor: p.cursor })
    });
}

pub(crate) fn page_limit(limit: Option<u32>) -> ServiceResult<u32> {
    match limit {
        None => Ok(DEFAULT_PAGE_LIMIT),
        Some(n) if (1..=MAX_PAGE_LIMIT).contains(&n) => Ok(n),
        Some(n) => Err(ServiceError::validation(
            "limit",
            format!("limit {n} is out of range"),
            format!("use 1..={MAX_PAGE_LIMIT}, and next_cursor to read further"),
        )),
    }
}

/// Serves `workflow.*`, `workflowversion.*` and `example.*` for clients of the old names.
/// `workflow.set` is a method of its own: an old Workflow carried its source and signature.
fn register_legacy_aliases(module: &mut RpcModule<Ctx>) {
    register(module, methods::LEGACY_WORKFLOW_SET, |ctx, p: SetParams<LegacyWorkflow>| ctx.library.put_legacy_workflow(p.object));
    for (prefix, crud) in methods::LEGACY_CRUD_ALIASES {
        for (verb, target) in
            [("get", crud.get), ("set", crud.set), ("delete", crud.delete), ("list", crud.list), ("find", crud.find)]
        {
            if format!("{prefix}.{verb}") == methods::LEGACY_WORKFLOW_SET {
                continue;
            }
            // Method names must be 'static; these few strings live as long as the daemon anyway.
            let alias: &'static str = Box::leak(format!("{prefix}.{verb}").into_boxed_str());
            module.register_alias(alias, target).expect("aliases are registered once, after their targets");
        }
    }
}
