//! `LogicService.*` methods over Logics, versions and examples.

use hero_logic_api::methods;
use hero_logic_api::params::{
    BindingIdentityParams,
    Deleted, ExampleCreateParams, ImportParams, SplitParams, ExampleListParams, LibrarySearchParams, LogicCreateParams,
    LogicCreateVersionParams, LogicSetCurrentVersionParams, SetParams, SidParams,
};
use hero_logic_api::LogicExample;
use jsonrpsee::RpcModule;

use super::{register, Ctx};
use crate::error::ServiceError;

pub fn register_all(module: &mut RpcModule<Ctx>) {
    register(module, methods::LOGIC_CREATE, |ctx, p: LogicCreateParams| ctx.library.create_logic(p));
    register(module, methods::LOGIC_CREATE_VERSION, |ctx, p: LogicCreateVersionParams| ctx.library.create_version(p));
    register(module, methods::LOGIC_SET_CURRENT_VERSION, |ctx, p: LogicSetCurrentVersionParams| {
        ctx.library.set_current_version(p)
    });
    register(module, methods::LOGIC_BINDING_IDENTITY, |ctx, p: BindingIdentityParams| ctx.library.binding_identity(&p.target));
    register(module, methods::LOGIC_LIBRARY_SEARCH, |ctx, p: LibrarySearchParams| ctx.library.search(p));
    register(module, methods::LOGIC_EXAMPLE_CREATE, |ctx, p: ExampleCreateParams| ctx.library.create_example(p));
    register(module, methods::LOGIC_EXAMPLE_GET, |ctx, p: SidParams| {
        ctx.library.store().example_get(&p.sid)?.ok_or_else(|| {
            ServiceError::not_found(format!("example {:?} not found", p.sid), "LogicService.logic_example_list shows a logic's examples")
        })
    });
    register(module, methods::LOGIC_EXAMPLE_UPDATE, |ctx, p: SetParams<LogicExample>| ctx.library.update_example(p.object));
    register(module, methods::LOGIC_EXAMPLE_DELETE, |ctx, p: SidParams| Ok(Deleted { deleted: ctx.library.delete_example(&p.sid)? }));
    register(module, methods::LOGIC_EXAMPLE_LIST, |ctx, p: ExampleListParams| ctx.library.list_examples(p));
    register(module, methods::LOGIC_IMPORT, |ctx, p: ImportParams| crate::import::import(&ctx.library, p));
    register(module, methods::LOGIC_SPLIT, |_, p: SplitParams| crate::import::split(&p.python_source));
}
