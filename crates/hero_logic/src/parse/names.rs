//! What names stand for in a module, as far as the flow graph cares: imports (so `rq.get` is
//! `requests.get`), names imported as Logics, and variables holding client objects.
//!
//! All of this is flow-insensitive on purpose: a variable bound to a client anywhere in a
//! function is taken as that client everywhere in it. Logics are short and rebinding a client
//! name to something else is rare; a precise data-flow analysis would cost far more than the
//! rare wrong label it saves.

use std::collections::HashMap;

use ruff_python_ast::visitor::source_order::{self, SourceOrderVisitor, TraversalSignal};
use ruff_python_ast::{AnyNodeRef, Expr, ModModule, Stmt};

use super::stdlib;

/// The SDK's module: never a Logic, whatever is imported from it.
const SDK_MODULE: &str = "hero_tracing";

/// Imports of a module: local name -> dotted path it stands for.
#[derive(Default)]
pub struct Imports {
    paths: HashMap<String, String>,
    /// Local names bound by `from x import x` where `x` may be a Logic: local name -> Logic.
    logics: HashMap<String, String>,
}

impl Imports {
    /// Every import of the module, function-level ones included (a logic often imports inside
    /// its function to keep the runner's start cheap).
    pub fn of(module: &ModModule) -> Self {
        let mut imports = Imports::default();
        source_order::walk_body(&mut imports, &module.body);
        imports
    }

    fn add(&mut self, stmt: &Stmt) {
        match stmt {
            Stmt::Import(import) => {
                for alias in &import.names {
                    let dotted = alias.name.as_str();
                    match &alias.asname {
                        // `import a.b as c`: c is a.b.
                        Some(local) => self.bind(local.as_str(), dotted.to_owned()),
                        // `import a.b`: binds `a`; `a.b.f` then resolves through attributes.
                        None => {
                            let head = dotted.split('.').next().unwrap_or(dotted);
                            self.bind(head, head.to_owned());
                        }
                    }
                }
            }
            Stmt::ImportFrom(import) => {
                let module = import.module.as_ref().map_or("", |m| m.as_str());
                let prefix = ".".repeat(usize::try_from(import.level).unwrap_or(0));
                for alias in &import.names {
                    let name = alias.name.as_str();
                    let local = alias.asname.as_ref().unwrap_or(&alias.name).as_str();
                    let path = match module {
                        "" => format!("{prefix}{name}"),
                        _ => format!("{prefix}{module}.{name}"),
                    };
                    self.bind(local, path);
                    if import.level == 0 && module == name && is_logic_module(name) {
                        self.logics.insert(local.to_owned(), name.to_owned());
                    }
                }
            }
            _ => {}
        }
    }

    fn bind(&mut self, local: &str, path: String) {
        // A later plain import of the same name shadows an earlier Logic import.
        self.logics.remove(local);
        self.paths.insert(local.to_owned(), path);
    }

    /// The dotted name an expression stands for (`requests.get`, `hero_tracing.logic.invoke`),
    /// for names and attribute chains; a name that was not imported stands for itself.
    pub fn qualified(&self, expr: &Expr) -> Option<String> {
        let mut attrs: Vec<&str> = Vec::new();
        let mut at = expr;
        // A loop, not recursion: attribute chains can be as long as the source allows.
        let root = loop {
            match at {
                Expr::Attribute(attr) => {
                    attrs.push(attr.attr.as_str());
                    at = &attr.value;
                }
                Expr::Name(name) => break name.id.as_str(),
                _ => return None,
            }
        };
        let mut path = self
            .paths
            .get(root)
            .cloned()
            .unwrap_or_else(|| root.to_owned());
        for attr in attrs.iter().rev() {
            path.push('.');
            path.push_str(attr);
        }
        Some(path)
    }

    /// The Logic a local name was imported as (`from word_stats import word_stats`).
    pub fn logic(&self, local: &str) -> Option<&str> {
        self.logics.get(local).map(String::as_str)
    }
}

impl<'a> SourceOrderVisitor<'a> for Imports {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        self.add(stmt);
        source_order::walk_stmt(self, stmt);
    }

    // Imports are statements; expressions never hold one.
    fn visit_expr(&mut self, _expr: &'a Expr) {}
}

/// Whether `from name import name` may import a Logic: the runner's importer answers only for
/// logic-shaped names that nothing else (the standard library first) provides.
fn is_logic_module(name: &str) -> bool {
    let mut chars = name.chars();
    let shaped = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    shaped && name != SDK_MODULE && !stdlib::contains(name)
}

/// What kind of client object a variable holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientKind {
    /// `hero_tracing.client.Client(...)`: JSON-RPC to the hero_logic daemon.
    HeroLogic,
    /// `requests.Session()`, `httpx.Client()`, `httpx.AsyncClient()`: an HTTP client; the
    /// library's name.
    Http(&'static str),
    /// `hero_tracing.client.RpcClient(...)`: JSON-RPC to any service, named per call.
    Rpc,
    /// Any other `*Client(...)`: the service name drawn from the class name.
    Service(String),
}

/// The client a constructor (given by its dotted name) builds, if it builds one.
pub fn client_constructor(path: &str) -> Option<ClientKind> {
    match path {
        "hero_tracing.client.Client" | "hero_tracing.Client" => return Some(ClientKind::HeroLogic),
        "hero_tracing.client.RpcClient" | "hero_tracing.RpcClient" => return Some(ClientKind::Rpc),
        "requests.Session" | "requests.session" | "requests.sessions.Session" => {
            return Some(ClientKind::Http("requests"))
        }
        "httpx.Client" | "httpx.AsyncClient" => return Some(ClientKind::Http("httpx")),
        _ => {}
    }
    let mut segments = path.rsplit('.');
    let class = segments.next()?;
    let service = class.strip_suffix("Client")?;
    if !service.is_empty() {
        return Some(ClientKind::Service(service.to_owned()));
    }
    // `anthropic.Client()`: the module names the service.
    let module = segments.next().unwrap_or(class);
    Some(ClientKind::Service(module.to_owned()))
}

/// Variables bound to client objects in one body: `x = SomeClient(...)` (also annotated, and
/// `a = b = ...`) and `with SomeClient(...) as x`. Nested functions and classes are not
/// entered: their bindings are their own.
pub fn client_bindings(body: &[Stmt], imports: &Imports) -> HashMap<String, ClientKind> {
    let mut finder = BindingFinder {
        imports,
        found: HashMap::new(),
    };
    source_order::walk_body(&mut finder, body);
    finder.found
}

struct BindingFinder<'i> {
    imports: &'i Imports,
    found: HashMap<String, ClientKind>,
}

impl BindingFinder<'_> {
    fn constructed(&self, value: &Expr) -> Option<ClientKind> {
        let Expr::Call(call) = value else {
            return None;
        };
        client_constructor(&self.imports.qualified(&call.func)?)
    }

    fn bind(&mut self, target: &Expr, value: &Expr) {
        if let (Expr::Name(name), Some(kind)) = (target, self.constructed(value)) {
            self.found.insert(name.id.to_string(), kind);
        }
    }
}

impl<'a> SourceOrderVisitor<'a> for BindingFinder<'_> {
    fn enter_node(&mut self, node: AnyNodeRef<'a>) -> TraversalSignal {
        match node {
            AnyNodeRef::StmtFunctionDef(_) | AnyNodeRef::StmtClassDef(_) => TraversalSignal::Skip,
            _ => TraversalSignal::Traverse,
        }
    }

    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::Assign(assign) => {
                for target in &assign.targets {
                    self.bind(target, &assign.value);
                }
            }
            Stmt::AnnAssign(assign) => {
                if let Some(value) = &assign.value {
                    self.bind(&assign.target, value);
                }
            }
            Stmt::With(with) => {
                for item in &with.items {
                    if let Some(target) = &item.optional_vars {
                        self.bind(target, &item.context_expr);
                    }
                }
            }
            _ => {}
        }
        source_order::walk_stmt(self, stmt);
    }

    fn visit_expr(&mut self, _expr: &'a Expr) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::parse::test_module as module;

    fn expr(text: &str) -> Expr {
        *ruff_python_parser::parse_expression(text)
            .expect("test expression parses")
            .into_syntax()
            .body
    }

    #[test]
    fn qualifies_through_imports() {
        let m = module(
            "import requests as rq\nimport urllib.request\nfrom httpx import get as fetch\n\
             from . import sibling\ndef f():\n    import json\n",
        );
        let imports = Imports::of(&m);
        let q = |text: &str| imports.qualified(&expr(text));
        assert_eq!(q("rq.get").as_deref(), Some("requests.get"));
        assert_eq!(
            q("urllib.request.urlopen").as_deref(),
            Some("urllib.request.urlopen")
        );
        assert_eq!(q("fetch").as_deref(), Some("httpx.get"));
        assert_eq!(q("sibling.x").as_deref(), Some(".sibling.x"));
        assert_eq!(q("json.dumps").as_deref(), Some("json.dumps"));
        assert_eq!(q("plain").as_deref(), Some("plain"));
        assert_eq!(q("f().x"), None);
    }

    #[test]
    fn logic_imports_exclude_the_standard_library() {
        let m = module(
            "from word_stats import word_stats\nfrom pprint import pprint\n\
             from a_b import a_b as alias\nfrom x import y\nfrom .rel import rel\n\
             from Cap import Cap\n",
        );
        let imports = Imports::of(&m);
        assert_eq!(imports.logic("word_stats"), Some("word_stats"));
        assert_eq!(imports.logic("alias"), Some("a_b"));
        for local in ["pprint", "y", "rel", "Cap"] {
            assert_eq!(imports.logic(local), None, "{local}");
        }
    }

    #[test]
    fn constructors() {
        assert_eq!(
            client_constructor("hero_tracing.client.Client"),
            Some(ClientKind::HeroLogic)
        );
        assert_eq!(
            client_constructor("httpx.AsyncClient"),
            Some(ClientKind::Http("httpx"))
        );
        assert_eq!(
            client_constructor("models.ModelClient"),
            Some(ClientKind::Service("Model".into()))
        );
        assert_eq!(
            client_constructor("anthropic.Client"),
            Some(ClientKind::Service("anthropic".into()))
        );
        assert_eq!(client_constructor("dict"), None);
    }

    #[test]
    fn bindings_of_a_body() {
        let m = module(
            "from hero_tracing.client import Client\nimport httpx\n\
             a = b = Client()\nc: X = MailClient(host)\nwith httpx.Client() as h:\n    pass\n\
             d = make()\ndef inner():\n    e = Client()\n",
        );
        let imports = Imports::of(&m);
        let found = client_bindings(&m.body, &imports);
        assert_eq!(found.get("a"), Some(&ClientKind::HeroLogic));
        assert_eq!(found.get("b"), Some(&ClientKind::HeroLogic));
        assert_eq!(found.get("c"), Some(&ClientKind::Service("Mail".into())));
        assert_eq!(found.get("h"), Some(&ClientKind::Http("httpx")));
        assert!(!found.contains_key("d") && !found.contains_key("e"));
    }
}
