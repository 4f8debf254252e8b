//! `LogicService.play_*`: starting, watching, cancelling and listing Plays; and the figures
//! derived from them (`logic_stats`, `logic_dashboard`).

use hero_logic_api::methods;
use hero_logic_api::params::{
    DashboardParams, LogicStatsParams, Page, PlayListForLogicParams, PlayForkParams, PlayListForVersionParams, PlayResumeParams, PlaySidParams, PlayStartParams, PlayWaitParams, PlayWatchParams,
};
use jsonrpsee::types::ErrorObjectOwned;
use jsonrpsee::RpcModule;

use super::crud::page_limit;
use super::{params, register, Ctx};
use crate::error::ServiceResult;
use crate::stats;
use crate::store::PageQuery;
use hero_logic_api::Play;

fn play_page(ctx: &Ctx, query: &PageQuery) -> ServiceResult<Page<Play>> {
    let mut page = ctx.library.store().play_page(query)?;
    stats::with_subtrees(&ctx.library, &mut page.items)?;
    Ok(page)
}

pub fn register_all(module: &mut RpcModule<Ctx>) {
    register(module, methods::PLAY_START, |ctx, p: PlayStartParams| ctx.engine.start_play(p));
    register(module, methods::PLAY_STATUS, |ctx, p: PlaySidParams| ctx.engine.status(&p.play_sid));
    register(module, methods::PLAY_RESUME, |ctx, p: PlayResumeParams| ctx.engine.resume(&p.play_sid, &p.resume_id, p.payload));
    register(module, methods::PLAY_CANCEL, |ctx, p: PlaySidParams| ctx.engine.cancel(&p.play_sid));
    register(module, methods::PLAY_RERUN, |ctx, p: PlaySidParams| ctx.engine.rerun(&p.play_sid));
    register(module, methods::PLAY_FORK, |ctx, p: PlayForkParams| {
        ctx.engine.fork(&p.play_sid, &p.from_step, p.version.as_deref())
    });
    register(module, methods::PLAY_TREE, |ctx, p: PlaySidParams| ctx.engine.tree(&p.play_sid));
    register(module, methods::PLAY_LIST_FOR_LOGIC, |ctx, p: PlayListForLogicParams| {
        let logic = ctx.library.resolve_logic(&p.logic)?;
        let query = PageQuery { filters: vec![], limit: page_limit(p.limit)?, cursor: p.cursor };
        play_page(ctx, &query.filter("logic_sid", logic.sid))
    });
    register(module, methods::PLAY_LIST_FOR_VERSION, |ctx, p: PlayListForVersionParams| {
        let query = PageQuery { filters: vec![], limit: page_limit(p.limit)?, cursor: p.cursor };
        play_page(ctx, &query.filter("logic_version_sid", p.version_sid))
    });
    register(module, methods::LOGIC_STATS, |ctx, p: LogicStatsParams| stats::logic_stats(&ctx.library, p));
    register(module, methods::LOGIC_DASHBOARD, |ctx, _: DashboardParams| stats::dashboard(&ctx.library));
    // Waiting must not hold a blocking thread for up to ten minutes.
    module
        .register_async_method(methods::PLAY_WAIT, |raw, ctx, _| async move {
            let p: PlayWaitParams = params::decode(&raw)?;
            ctx.engine.wait(&p.play_sid, p.timeout_ms).await.map_err(ErrorObjectOwned::from)
        })
        .expect("play_wait is registered once");
    module
        .register_async_method(methods::PLAY_WATCH, |raw, ctx, _| async move {
            let p: PlayWatchParams = params::decode(&raw)?;
            ctx.engine.watch(&p.play_sid, p.since, p.timeout_ms).await.map_err(ErrorObjectOwned::from)
        })
        .expect("play_watch is registered once");
}
