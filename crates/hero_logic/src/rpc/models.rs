//! `LogicService.models_config`: the models table and the endpoint settings, without the key;
//! `LogicService.engine_info`: the engine's settings and load.

use hero_logic_api::methods;
use hero_logic_api::params::{EngineInfoParams, ModelsConfigParams};
use jsonrpsee::RpcModule;

use super::{register, Ctx};

pub fn register_all(module: &mut RpcModule<Ctx>) {
    register(module, methods::MODELS_CONFIG, |ctx, _: ModelsConfigParams| Ok(ctx.models.as_ref().clone()));
    register(module, methods::ENGINE_INFO, |ctx, _: EngineInfoParams| Ok(ctx.engine.info()));
}
