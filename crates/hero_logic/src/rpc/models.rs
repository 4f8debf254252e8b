//! `LogicService.models_config`: the models table and the endpoint settings, without the key;
//! `LogicService.sandbox_info`: the protections a Play gets here.

use hero_logic_api::methods;
use hero_logic_api::params::{ModelsConfigParams, SandboxInfoParams};
use jsonrpsee::RpcModule;

use super::{register, Ctx};

pub fn register_all(module: &mut RpcModule<Ctx>) {
    register(module, methods::MODELS_CONFIG, |ctx, _: ModelsConfigParams| Ok(ctx.models.as_ref().clone()));
    register(module, methods::SANDBOX_INFO, |ctx, _: SandboxInfoParams| Ok(ctx.engine.sandbox_info()));
}
