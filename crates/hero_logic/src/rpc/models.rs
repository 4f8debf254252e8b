//! `LogicService.models_config`, `engine_info` and `sandbox_info`: the daemon's settings as
//! clients may read them (never the model key).

use hero_logic_api::methods;
use hero_logic_api::params::{EngineInfoParams, ModelsConfigParams, SandboxInfoParams};
use jsonrpsee::RpcModule;

use super::{register, Ctx};

pub fn register_all(module: &mut RpcModule<Ctx>) {
    register(module, methods::MODELS_CONFIG, |ctx, _: ModelsConfigParams| Ok(ctx.models.as_ref().clone()));
    register(module, methods::ENGINE_INFO, |ctx, _: EngineInfoParams| Ok(ctx.engine.info()));
    register(module, methods::SANDBOX_INFO, |ctx, _: SandboxInfoParams| Ok(ctx.engine.sandbox_info()));
}
