//! `LogicService.play_*`: starting, watching, cancelling and listing Plays.

use hero_logic_api::methods;
use hero_logic_api::params::{
    PlayListForLogicParams, PlayListForVersionParams, PlayResumeParams, PlaySidParams, PlayStartParams, PlayWaitParams,
};
use jsonrpsee::types::ErrorObjectOwned;
use jsonrpsee::RpcModule;

use super::crud::page_limit;
use super::{params, register, Ctx};
use crate::store::PageQuery;

pub fn register_all(module: &mut RpcModule<Ctx>) {
    register(module, methods::PLAY_START, |ctx, p: PlayStartParams| ctx.engine.start_play(p));
    register(module, methods::PLAY_STATUS, |ctx, p: PlaySidParams| ctx.engine.status(&p.play_sid));
    register(module, methods::PLAY_RESUME, |ctx, p: PlayResumeParams| ctx.engine.resume(&p.play_sid, &p.resume_id, p.payload));
    register(module, methods::PLAY_CANCEL, |ctx, p: PlaySidParams| ctx.engine.cancel(&p.play_sid));
    register(module, methods::PLAY_TREE, |ctx, p: PlaySidParams| ctx.engine.tree(&p.play_sid));
    register(module, methods::PLAY_LIST_FOR_LOGIC, |ctx, p: PlayListForLogicParams| {
        let logic = ctx.library.resolve_logic(&p.logic)?;
        let query = PageQuery { filters: vec![], limit: page_limit(p.limit)?, cursor: p.cursor };
        Ok(ctx.library.store().play_page(&query.filter("logic_sid", logic.sid))?)
    });
    register(module, methods::PLAY_LIST_FOR_VERSION, |ctx, p: PlayListForVersionParams| {
        let query = PageQuery { filters: vec![], limit: page_limit(p.limit)?, cursor: p.cursor };
        Ok(ctx.library.store().play_page(&query.filter("logic_version_sid", p.version_sid))?)
    });
    // Waiting must not hold a blocking thread for up to ten minutes.
    module
        .register_async_method(methods::PLAY_WAIT, |raw, ctx, _| async move {
            let p: PlayWaitParams = params::decode(&raw)?;
            ctx.engine.wait(&p.play_sid, p.timeout_ms).await.map_err(ErrorObjectOwned::from)
        })
        .expect("play_wait is registered once");
}
