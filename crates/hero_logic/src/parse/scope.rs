//! An index of a module's top-level names: what the signature reader may look up.

use std::collections::{HashMap, HashSet};

use ruff_python_ast::{Expr, ModModule, Stmt, StmtClassDef, StmtFunctionDef};

/// The module the SDK lives in; `import hero_tracing` makes `hero_tracing.logic` a decorator.
const SDK_MODULE: &str = "hero_tracing";
/// Names the SDK exports as the decorator; `flow` is the old name kept for older sources.
const DECORATOR_NAMES: [&str; 2] = ["logic", "flow"];

/// Top-level definitions of one module, by name. Later definitions shadow earlier ones, as
/// they would at run time.
pub struct Scope<'a> {
    /// Functions in source order (shadowed ones included: the decorator pass wants them all).
    pub functions: Vec<&'a StmtFunctionDef>,
    pub classes: HashMap<&'a str, &'a StmtClassDef>,
    /// `NAME = <expr>` assignments, so `inputs=INPUTS` can be resolved.
    pub constants: HashMap<&'a str, &'a Expr>,
    /// Local names bound to the decorator (`logic`, `flow`, or an `as` alias).
    decorators: HashSet<&'a str>,
    /// Local names bound to the SDK module (`hero_tracing`, or an `as` alias).
    sdk_modules: HashSet<&'a str>,
}

impl<'a> Scope<'a> {
    pub fn of(module: &'a ModModule) -> Self {
        let mut scope = Scope {
            functions: Vec::new(),
            classes: HashMap::new(),
            constants: HashMap::new(),
            // The runner may provide these without an import, so they always count.
            decorators: DECORATOR_NAMES.into_iter().collect(),
            sdk_modules: HashSet::from([SDK_MODULE]),
        };
        for stmt in &module.body {
            scope.add(stmt);
        }
        scope
    }

    fn add(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::FunctionDef(def) => self.functions.push(def),
            Stmt::ClassDef(class) => {
                self.classes.insert(class.name.as_str(), class);
            }
            Stmt::Assign(assign) => {
                for target in &assign.targets {
                    if let Expr::Name(name) = target {
                        self.constants.insert(name.id.as_str(), &assign.value);
                    }
                }
            }
            Stmt::AnnAssign(assign) => {
                if let (Expr::Name(name), Some(value)) = (assign.target.as_ref(), &assign.value) {
                    self.constants.insert(name.id.as_str(), value);
                }
            }
            Stmt::ImportFrom(import) => {
                let from_sdk = import.level == 0
                    && import
                        .module
                        .as_ref()
                        .is_some_and(|m| m.as_str() == SDK_MODULE);
                for alias in import.names.iter().filter(|_| from_sdk) {
                    if DECORATOR_NAMES.contains(&alias.name.as_str()) {
                        let local = alias.asname.as_ref().unwrap_or(&alias.name);
                        self.decorators.insert(local.as_str());
                    }
                }
            }
            Stmt::Import(import) => {
                for alias in import
                    .names
                    .iter()
                    .filter(|a| a.name.as_str() == SDK_MODULE)
                {
                    let local = alias.asname.as_ref().unwrap_or(&alias.name);
                    self.sdk_modules.insert(local.as_str());
                }
            }
            _ => {}
        }
    }

    /// The last top-level function of that name (the one Python would call).
    pub fn function(&self, name: &str) -> Option<&'a StmtFunctionDef> {
        self.functions
            .iter()
            .rev()
            .find(|f| f.name.as_str() == name)
            .copied()
    }

    /// Whether `expr` names the decorator: `logic`, `flow`, an alias of them, or
    /// `hero_tracing.logic` through the module or an alias of it.
    pub fn is_decorator(&self, expr: &Expr) -> bool {
        match expr {
            Expr::Name(name) => self.decorators.contains(name.id.as_str()),
            Expr::Attribute(attr) => {
                DECORATOR_NAMES.contains(&attr.attr.as_str())
                    && matches!(attr.value.as_ref(), Expr::Name(m) if self.sdk_modules.contains(m.id.as_str()))
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_scope(source: &str, check: impl FnOnce(&Scope, &ModModule)) {
        let module = ruff_python_parser::parse_module(source)
            .expect("test source parses")
            .into_syntax();
        let scope = Scope::of(&module);
        check(&scope, &module);
    }

    fn decorator_of<'m>(module: &'m ModModule, function: &str) -> &'m Expr {
        module
            .body
            .iter()
            .find_map(|s| match s {
                Stmt::FunctionDef(f) if f.name.as_str() == function => f.decorator_list.first(),
                _ => None,
            })
            .map(|d| &d.expression)
            .expect("decorated test function")
    }

    #[test]
    fn recognises_decorator_spellings() {
        let source = "import hero_tracing as ht\nfrom hero_tracing import logic as L\n\
                      @ht.logic\ndef a(): ...\n@L\ndef b(): ...\n@hero_tracing.flow\ndef c(): ...\n\
                      @other.logic\ndef d(): ...\n@cache\ndef e(): ...\n";
        with_scope(source, |scope, module| {
            for (function, expected) in [
                ("a", true),
                ("b", true),
                ("c", true),
                ("d", false),
                ("e", false),
            ] {
                assert_eq!(
                    scope.is_decorator(decorator_of(module, function)),
                    expected,
                    "{function}"
                );
            }
        });
    }

    #[test]
    fn indexes_top_level_names() {
        with_scope(
            "X = {'a': 'string'}\nY: int = 3\nclass C: ...\ndef f(): ...\ndef f(x): ...\n",
            |scope, _| {
                assert!(scope.constants.contains_key("X") && scope.constants.contains_key("Y"));
                assert!(scope.classes.contains_key("C"));
                assert_eq!(scope.functions.len(), 2);
                assert_eq!(
                    scope.function("f").map(|f| f.parameters.args.len()),
                    Some(1)
                );
            },
        );
    }
}
