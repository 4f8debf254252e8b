//! `LogicService.*` methods over Logics, versions and examples.

use hero_logic_api::methods;
use hero_logic_api::params::{
    Deleted, ExampleCreateParams, ExampleListParams, LibrarySearchParams, LogicCreateParams,
    LogicCreateVersionParams, LogicSetCurrentVersionParams, SetParams, SidParams,
};
use hero_logic_api::LogicExample;
use jsonrpsee::RpcModule;

use super::register;
use crate::error::ServiceError;
use crate::library::Library;

pub fn register_all(module: &mut RpcModule<Library>) {
    register(module, methods::LOGIC_CREATE, |lib, p: LogicCreateParams| lib.create_logic(p));
    register(module, methods::LOGIC_CREATE_VERSION, |lib, p: LogicCreateVersionParams| lib.create_version(p));
    register(module, methods::LOGIC_SET_CURRENT_VERSION, |lib, p: LogicSetCurrentVersionParams| {
        lib.set_current_version(p)
    });
    register(module, methods::LOGIC_LIBRARY_SEARCH, |lib, p: LibrarySearchParams| lib.search(p));
    register(module, methods::LOGIC_EXAMPLE_CREATE, |lib, p: ExampleCreateParams| lib.create_example(p));
    register(module, methods::LOGIC_EXAMPLE_GET, |lib, p: SidParams| {
        lib.store().example_get(&p.sid)?.ok_or_else(|| {
            ServiceError::not_found(format!("example {:?} not found", p.sid), "LogicService.logic_example_list shows a logic's examples")
        })
    });
    register(module, methods::LOGIC_EXAMPLE_UPDATE, |lib, p: SetParams<LogicExample>| lib.update_example(p.object));
    register(module, methods::LOGIC_EXAMPLE_DELETE, |lib, p: SidParams| Ok(Deleted { deleted: lib.delete_example(&p.sid)? }));
    register(module, methods::LOGIC_EXAMPLE_LIST, |lib, p: ExampleListParams| lib.list_examples(p));
}
