//! The flow graph of a logic's source: what its entry function does, step by step, as far as a
//! reader of the source can tell without running it (DESIGN.md §9).
//!
//! Steps come in execution order: a call's arguments before the call, a `for` loop's iterable
//! before the loop, an `if`'s first condition before the branches. Helper functions of the same
//! file are followed where they are called, so their steps show at the call site.

use std::collections::HashMap;

use hero_logic_api::{
    FlowBranch, FlowEntry, FlowError, FlowGraph, FlowHandler, FlowNode, FlowStep, InvokeVia,
    LoopStyle,
};
use ruff_python_ast::visitor::source_order::{self, SourceOrderVisitor};
use ruff_python_ast::{
    Comprehension, ExceptHandler, Expr, ExprCall, Stmt, StmtFor, StmtFunctionDef, StmtIf,
    StmtMatch, StmtTry, StmtWhile, StmtWith,
};
use ruff_text_size::{Ranged, TextRange, TextSize};

use super::calls::{self, CallContext};
use super::names::{client_bindings, ClientKind, Imports};
use super::scope::Scope;
use super::signature::{entry_point, logic_functions};
use super::source::PySource;
use super::text::snippet;
use super::ParseError;

/// How many helper calls deep the walk follows (a helper calling a helper ...).
pub const MAX_HELPER_DEPTH: usize = 8;

/// Most steps one graph holds. Helpers are inlined at every call site, so a few helpers calling
/// each other several times could multiply without bound; past this the graph is cut and
/// marked `truncated`.
pub const MAX_NODES: usize = 5_000;

/// Deepest the walker recurses (statements and expressions, helpers included). One tree is
/// at most `MAX_NESTING` deep, but following helpers stacks trees; this keeps the walk within
/// a 2 MiB thread stack whatever the source.
const MAX_WALK_DEPTH: usize = 1_500;

/// The flow graph of `text`. `logic_name` picks the entry among several `@logic` functions, as
/// at run time. Never fails: a source that cannot be read gives a graph with `error`.
pub fn flow_graph(text: &str, logic_name: Option<&str>) -> FlowGraph {
    match build(text, logic_name) {
        Ok(graph) => graph,
        Err(error) => error_graph(&error),
    }
}

/// The graph of a version bound to another Logic (§8): running it runs the target.
pub fn binding_graph(target: &str) -> FlowGraph {
    FlowGraph {
        nodes: vec![FlowNode {
            line: 1,
            column: 1,
            label: target.to_owned(),
            helper: None,
            step: FlowStep::Invoke {
                target: Some(target.to_owned()),
                via: InvokeVia::Binding,
            },
        }],
        ..FlowGraph::default()
    }
}

fn error_graph(error: &ParseError) -> FlowGraph {
    let (line, column) = error.position().unzip();
    FlowGraph {
        error: Some(FlowError {
            line,
            column,
            message: error.to_string(),
        }),
        ..FlowGraph::default()
    }
}

fn build(text: &str, logic_name: Option<&str>) -> Result<FlowGraph, ParseError> {
    let source = PySource::parse(text)?;
    let scope = Scope::of(&source.module);
    let entry = entry_point(&source, &scope, logic_name)?;
    let imports = Imports::of(&source.module);
    let module_clients = client_bindings(&source.module.body, &imports);
    let logic_fns: HashMap<&str, String> = logic_functions(&scope).into_iter().collect();
    let module = Module {
        source: &source,
        scope: &scope,
        imports: &imports,
        logic_fns: &logic_fns,
        clients: &module_clients,
    };
    let mut walker = Walker::new(&module);
    walker.enter(entry.function, &module_clients, None, false);
    walker.body(&entry.function.body);
    let (line, column) = source.position(entry.function.name.start());
    Ok(FlowGraph {
        entry: Some(FlowEntry {
            function: entry.function.name.to_string(),
            logic: entry.logic_name,
            line,
            column,
        }),
        nodes: walker.out,
        truncated: walker.truncated,
        ..FlowGraph::default()
    })
}

/// What the whole module offers the walk.
struct Module<'m, 'a> {
    source: &'m PySource<'a>,
    scope: &'m Scope<'a>,
    imports: &'m Imports,
    /// `@logic` functions: function name -> Logic name.
    logic_fns: &'m HashMap<&'a str, String>,
    /// Module-level variables holding clients, visible in every top-level function.
    clients: &'m HashMap<String, ClientKind>,
}

/// One function being walked: the entry, or a helper followed from a call.
struct Frame<'a> {
    function: &'a StmtFunctionDef,
    /// The helper's name, for the nodes found in it; `None` in the entry.
    helper: Option<String>,
    /// Variables holding clients: the module's, the enclosing function's (for a nested
    /// function), then this function's own.
    clients: HashMap<String, ClientKind>,
    /// Functions defined inside this function or the ones it is nested in.
    nested: HashMap<&'a str, &'a StmtFunctionDef>,
}

struct Walker<'m, 'a> {
    module: &'m Module<'m, 'a>,
    frames: Vec<Frame<'a>>,
    out: Vec<FlowNode>,
    count: usize,
    depth: usize,
    truncated: bool,
}

impl<'m, 'a> Walker<'m, 'a> {
    fn new(module: &'m Module<'m, 'a>) -> Self {
        Walker {
            module,
            frames: Vec::new(),
            out: Vec::new(),
            count: 0,
            depth: 0,
            truncated: false,
        }
    }

    /// Starts walking `function`. `inherited` are the client bindings visible around it.
    fn enter(
        &mut self,
        function: &'a StmtFunctionDef,
        inherited: &HashMap<String, ClientKind>,
        helper: Option<String>,
        is_nested: bool,
    ) {
        let mut clients = inherited.clone();
        clients.extend(client_bindings(&function.body, self.module.imports));
        let mut nested = match (is_nested, self.frames.last()) {
            (true, Some(outer)) => outer.nested.clone(),
            _ => HashMap::new(),
        };
        nested.extend(nested_functions(&function.body));
        self.frames.push(Frame {
            function,
            helper,
            clients,
            nested,
        });
    }

    fn frame(&self) -> Option<&Frame<'a>> {
        self.frames.last()
    }

    fn full(&mut self) -> bool {
        if self.count >= MAX_NODES {
            self.truncated = true;
        }
        self.count >= MAX_NODES
    }

    fn position(&self, offset: TextSize) -> (u32, u32) {
        self.module.source.position(offset)
    }

    fn snippet(&self, range: TextRange) -> String {
        snippet(self.module.source.text, range)
    }

    fn push(&mut self, at: TextSize, label: String, step: FlowStep) {
        if self.full() {
            return;
        }
        self.count += 1;
        let (line, column) = self.position(at);
        let helper = self.frame().and_then(|f| f.helper.clone());
        self.out.push(FlowNode {
            line,
            column,
            label,
            helper,
            step,
        });
    }

    /// Runs `walk` with a fresh output list and returns what it produced.
    fn collect(&mut self, walk: impl FnOnce(&mut Self)) -> Vec<FlowNode> {
        let saved = std::mem::take(&mut self.out);
        walk(self);
        std::mem::replace(&mut self.out, saved)
    }

    fn body(&mut self, body: &'a [Stmt]) {
        for stmt in body {
            self.visit_stmt(stmt);
        }
    }

    /// Guards recursion depth; `false` means stop descending here.
    fn descend(&mut self) -> bool {
        if self.depth >= MAX_WALK_DEPTH || self.full() {
            self.truncated = true;
            return false;
        }
        self.depth += 1;
        true
    }

    fn ascend(&mut self) {
        self.depth -= 1;
    }

    fn statement(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::If(s) => self.if_chain(s),
            Stmt::For(s) => self.for_loop(s),
            Stmt::While(s) => self.while_loop(s),
            Stmt::Try(s) => self.try_block(s),
            Stmt::Match(s) => self.match_block(s),
            Stmt::With(s) => self.with_block(s),
            Stmt::Return(ret) => {
                if let Some(value) = &ret.value {
                    self.visit_expr(value);
                }
                let value = ret.value.as_ref().map(|v| self.snippet(v.range()));
                let label = match &value {
                    Some(v) => format!("return {v}"),
                    None => "return".to_owned(),
                };
                self.push(stmt.start(), label, FlowStep::Return { value });
            }
            // A `def` or `class` runs no body where it stands; nested functions are followed
            // where they are called.
            Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {}
            // Simple statements: their expressions, in source order.
            _ => source_order::walk_stmt(self, stmt),
        }
    }

    fn if_chain(&mut self, stmt: &'a StmtIf) {
        self.visit_expr(&stmt.test);
        let mut branches = vec![FlowBranch {
            children: self.collect(|w| w.body(&stmt.body)),
            ..self.branch(stmt.start(), Some(stmt.test.range()))
        }];
        for clause in &stmt.elif_else_clauses {
            // An `elif` test runs only when the branches before it were not taken, so its
            // steps open its own branch.
            let children = self.collect(|w| {
                if let Some(test) = &clause.test {
                    w.visit_expr(test);
                }
                w.body(&clause.body);
            });
            branches.push(FlowBranch {
                children,
                ..self.branch(clause.start(), clause.test.as_ref().map(Ranged::range))
            });
        }
        let label = format!("if {}", self.snippet(stmt.test.range()));
        self.push(stmt.start(), label, FlowStep::If { branches });
    }

    fn branch(&self, at: TextSize, condition: Option<TextRange>) -> FlowBranch {
        let (line, column) = self.position(at);
        FlowBranch {
            line,
            column,
            condition: condition.map(|c| self.snippet(c)),
            children: Vec::new(),
        }
    }

    fn for_loop(&mut self, stmt: &'a StmtFor) {
        // The iterable is evaluated once, before the first turn.
        self.visit_expr(&stmt.iter);
        let children = self.collect(|w| w.body(&stmt.body));
        let orelse = self.collect(|w| w.body(&stmt.orelse));
        let header = self.snippet(TextRange::new(stmt.start(), stmt.iter.end()));
        self.push(
            stmt.start(),
            header.clone(),
            FlowStep::Loop {
                style: LoopStyle::For,
                header,
                children,
                orelse,
            },
        );
    }

    fn while_loop(&mut self, stmt: &'a StmtWhile) {
        // The test runs before every turn, so its steps belong inside the loop.
        let children = self.collect(|w| {
            w.visit_expr(&stmt.test);
            w.body(&stmt.body);
        });
        let orelse = self.collect(|w| w.body(&stmt.orelse));
        let header = self.snippet(TextRange::new(stmt.start(), stmt.test.end()));
        self.push(
            stmt.start(),
            header.clone(),
            FlowStep::Loop {
                style: LoopStyle::While,
                header,
                children,
                orelse,
            },
        );
    }

    fn try_block(&mut self, stmt: &'a StmtTry) {
        let body = self.collect(|w| w.body(&stmt.body));
        let mut handlers = Vec::with_capacity(stmt.handlers.len());
        for handler in &stmt.handlers {
            let ExceptHandler::ExceptHandler(h) = handler;
            let (line, column) = self.position(h.start());
            let exception = h.type_.as_ref().map(|t| self.snippet(t.range()));
            let children = self.collect(|w| w.body(&h.body));
            handlers.push(FlowHandler {
                line,
                column,
                exception,
                name: h.name.as_ref().map(|n| n.to_string()),
                star: stmt.is_star,
                children,
            });
        }
        let orelse = self.collect(|w| w.body(&stmt.orelse));
        let finalbody = self.collect(|w| w.body(&stmt.finalbody));
        let label = if stmt.is_star { "try (except*)" } else { "try" };
        self.push(
            stmt.start(),
            label.to_owned(),
            FlowStep::Try {
                body,
                handlers,
                orelse,
                finalbody,
            },
        );
    }

    /// A `match` is drawn as a branch per `case`, conditions written as `case <pattern>`.
    fn match_block(&mut self, stmt: &'a StmtMatch) {
        self.visit_expr(&stmt.subject);
        let mut branches = Vec::with_capacity(stmt.cases.len());
        for case in &stmt.cases {
            let head_end = case.guard.as_ref().map_or(case.pattern.end(), |g| g.end());
            let (line, column) = self.position(case.start());
            let condition = Some(self.snippet(TextRange::new(case.start(), head_end)));
            let children = self.collect(|w| {
                if let Some(guard) = &case.guard {
                    w.visit_expr(guard);
                }
                w.body(&case.body);
            });
            branches.push(FlowBranch {
                line,
                column,
                condition,
                children,
            });
        }
        let label = format!("match {}", self.snippet(stmt.subject.range()));
        self.push(stmt.start(), label, FlowStep::If { branches });
    }

    /// A `with` block runs its body inline; its context expressions (`with Client() as c`)
    /// may be steps themselves.
    fn with_block(&mut self, stmt: &'a StmtWith) {
        for item in &stmt.items {
            self.visit_expr(&item.context_expr);
        }
        self.body(&stmt.body);
    }

    fn expression(&mut self, expr: &'a Expr) {
        match expr {
            // A lambda's body runs later, if ever: not here.
            Expr::Lambda(_) => {}
            Expr::ListComp(c) => self.comprehension(expr, &c.generators, &[&c.elt]),
            Expr::SetComp(c) => self.comprehension(expr, &c.generators, &[&c.elt]),
            Expr::Generator(c) => self.comprehension(expr, &c.generators, &[&c.elt]),
            Expr::DictComp(c) => {
                let mut elements: Vec<&'a Expr> = c.key.iter().map(|k| k.as_ref()).collect();
                elements.push(&c.value);
                self.comprehension(expr, &c.generators, &elements);
            }
            Expr::Call(call) => {
                // Arguments run before the call.
                source_order::walk_expr(self, expr);
                self.call(call);
            }
            _ => source_order::walk_expr(self, expr),
        }
    }

    /// A comprehension is a loop; it is drawn as one only when its body holds steps.
    fn comprehension(
        &mut self,
        expr: &'a Expr,
        generators: &'a [Comprehension],
        elements: &[&'a Expr],
    ) {
        let Some(first) = generators.first() else {
            return;
        };
        // The first iterable is evaluated outside the comprehension's own scope, once.
        self.visit_expr(&first.iter);
        let children = self.collect(|w| {
            for (i, generator) in generators.iter().enumerate() {
                if i > 0 {
                    w.visit_expr(&generator.iter);
                }
                for condition in &generator.ifs {
                    w.visit_expr(condition);
                }
            }
            for element in elements {
                w.visit_expr(element);
            }
        });
        if children.is_empty() {
            return;
        }
        let last = generators.last().map_or(first.end(), Ranged::end);
        let header = self.snippet(TextRange::new(first.start(), last));
        self.push(
            expr.start(),
            header.clone(),
            FlowStep::Loop {
                style: LoopStyle::Comprehension,
                header,
                children,
                orelse: Vec::new(),
            },
        );
    }

    fn call(&mut self, call: &'a ExprCall) {
        if let Some(found) = self.sdk_or_remote(call) {
            self.push(call.start(), found.label, found.step);
            return;
        }
        let Expr::Name(name) = call.func.as_ref() else {
            return;
        };
        match self.resolve(name.id.as_str()) {
            Callee::Logic { target, via } => {
                let step = FlowStep::Invoke {
                    target: Some(target.clone()),
                    via,
                };
                self.push(call.start(), target, step);
            }
            Callee::Helper { function, nested } => self.follow(function, nested, call),
            Callee::Other => {}
        }
    }

    fn sdk_or_remote(&self, call: &ExprCall) -> Option<calls::Found> {
        let empty = HashMap::new();
        let clients = self.frame().map_or(&empty, |f| &f.clients);
        let cx = CallContext {
            text: self.module.source.text,
            imports: self.module.imports,
            constants: &self.module.scope.constants,
            clients,
        };
        calls::step_of(call, &cx)
    }

    /// What a bare name called as a function is, by Python's lookup order as far as it can be
    /// known statically: the enclosing functions' local defs, then the module's names.
    fn resolve(&self, name: &str) -> Callee<'a> {
        if let Some(function) = self.frame().and_then(|f| f.nested.get(name)) {
            return Callee::Helper {
                function,
                nested: true,
            };
        }
        if let Some(target) = self.module.imports.logic(name) {
            return Callee::Logic {
                target: target.to_owned(),
                via: InvokeVia::Import,
            };
        }
        if let Some(target) = self.module.logic_fns.get(name) {
            return Callee::Logic {
                target: target.clone(),
                via: InvokeVia::Local,
            };
        }
        match self.module.scope.function(name) {
            Some(function) => Callee::Helper {
                function,
                nested: false,
            },
            None => Callee::Other,
        }
    }

    /// Walks a helper's body where it is called. Recursion is not followed (the steps are
    /// already drawn at the outer call); depth past [`MAX_HELPER_DEPTH`] marks the graph
    /// truncated.
    fn follow(&mut self, function: &'a StmtFunctionDef, nested: bool, call: &ExprCall) {
        if self
            .frames
            .iter()
            .any(|f| std::ptr::eq(f.function, function))
        {
            return;
        }
        // The entry's frame is not a helper's.
        if self.frames.len() > MAX_HELPER_DEPTH {
            self.truncated = true;
            return;
        }
        let mut inherited = match (nested, self.frame()) {
            (true, Some(outer)) => outer.clients.clone(),
            _ => self.module.clients.clone(),
        };
        inherited.extend(self.argument_clients(call, function));
        self.enter(
            function,
            &inherited,
            Some(function.name.to_string()),
            nested,
        );
        self.body(&function.body);
        self.frames.pop();
    }
}

impl Walker<'_, '_> {
    /// Parameters of `function` that this call passes a client to (`publish(items, client)`),
    /// so the helper's calls on them are recognised.
    fn argument_clients(
        &self,
        call: &ExprCall,
        function: &StmtFunctionDef,
    ) -> HashMap<String, ClientKind> {
        let params = &function.parameters;
        let positional = params.posonlyargs.iter().chain(&params.args);
        let mut found = HashMap::new();
        // After a `*args` argument, positions no longer line up with parameters.
        let args = call
            .arguments
            .args
            .iter()
            .take_while(|a| !a.is_starred_expr());
        for (param, arg) in positional.zip(args) {
            if let Some(kind) = self.client_of(arg) {
                found.insert(param.parameter.name.to_string(), kind);
            }
        }
        for keyword in &call.arguments.keywords {
            if let (Some(name), Some(kind)) = (&keyword.arg, self.client_of(&keyword.value)) {
                found.insert(name.to_string(), kind);
            }
        }
        found
    }

    /// The client an argument expression is: a variable holding one, or a constructor call.
    fn client_of(&self, expr: &Expr) -> Option<ClientKind> {
        match expr {
            Expr::Name(name) => self.frame()?.clients.get(name.id.as_str()).cloned(),
            Expr::Call(call) => {
                super::names::client_constructor(&self.module.imports.qualified(&call.func)?)
            }
            _ => None,
        }
    }
}

enum Callee<'a> {
    Logic {
        target: String,
        via: InvokeVia,
    },
    Helper {
        function: &'a StmtFunctionDef,
        nested: bool,
    },
    Other,
}

/// Functions defined directly in a body (also inside its `if`/`try`/... blocks, which a
/// definition may sit in), not inside nested functions or classes.
fn nested_functions(body: &[Stmt]) -> HashMap<&str, &StmtFunctionDef> {
    let mut found = HashMap::new();
    let mut pending: Vec<&[Stmt]> = vec![body];
    while let Some(stmts) = pending.pop() {
        for stmt in stmts {
            match stmt {
                Stmt::FunctionDef(def) => {
                    found.insert(def.name.as_str(), def);
                }
                Stmt::If(s) => {
                    pending.push(&s.body);
                    pending.extend(s.elif_else_clauses.iter().map(|c| c.body.as_slice()));
                }
                Stmt::Try(s) => {
                    pending.extend([&s.body[..], &s.orelse[..], &s.finalbody[..]]);
                    for ExceptHandler::ExceptHandler(h) in &s.handlers {
                        pending.push(&h.body);
                    }
                }
                Stmt::With(s) => pending.push(&s.body),
                Stmt::For(s) => pending.extend([&s.body[..], &s.orelse[..]]),
                Stmt::While(s) => pending.extend([&s.body[..], &s.orelse[..]]),
                _ => {}
            }
        }
    }
    found
}

impl<'a> SourceOrderVisitor<'a> for Walker<'_, 'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        if self.descend() {
            self.statement(stmt);
            self.ascend();
        }
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if self.descend() {
            self.expression(expr);
            self.ascend();
        }
    }

    // Annotations of local variables are never evaluated in a function body.
    fn visit_annotation(&mut self, _expr: &'a Expr) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::parse::on_small_stack;

    fn count(nodes: &[FlowNode]) -> usize {
        nodes
            .iter()
            .map(|n| {
                1 + match &n.step {
                    FlowStep::Loop {
                        children, orelse, ..
                    } => count(children) + count(orelse),
                    FlowStep::If { branches } => branches.iter().map(|b| count(&b.children)).sum(),
                    FlowStep::Try {
                        body,
                        handlers,
                        orelse,
                        finalbody,
                    } => {
                        count(body)
                            + handlers.iter().map(|h| count(&h.children)).sum::<usize>()
                            + count(orelse)
                            + count(finalbody)
                    }
                    _ => 0,
                }
            })
            .sum()
    }

    #[test]
    fn helpers_that_multiply_are_cut_at_the_node_budget() {
        // Ten levels of helpers each calling the next ten times: 10^10 steps if inlined.
        let mut source = String::from("from hero_tracing import logic\n");
        for level in 0..10 {
            source.push_str(&format!("def h{level}():\n"));
            for _ in 0..10 {
                source.push_str(&format!("    logic.invoke('x')\n    h{}()\n", level + 1));
            }
        }
        source.push_str("def h10():\n    pass\n@logic\ndef main():\n    h0()\n");
        let started = std::time::Instant::now();
        let graph = flow_graph(&source, None);
        assert!(graph.truncated);
        assert!(count(&graph.nodes) <= MAX_NODES);
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }

    #[test]
    fn mutual_recursion_terminates() {
        let source =
            "def a():\n    logic.invoke('a')\n    b()\ndef b():\n    logic.invoke('b')\n    a()\n\
                      @logic\ndef main():\n    a()\n";
        let graph = flow_graph(source, None);
        let helpers: Vec<Option<&str>> = graph.nodes.iter().map(|n| n.helper.as_deref()).collect();
        assert_eq!(helpers, [Some("a"), Some("b")]);
        assert!(!graph.truncated, "recursion is not truncation");
    }

    #[test]
    fn deep_expressions_in_stacked_helpers_fit_a_small_stack() {
        // Each helper nests its call of the next one under ~900 levels of unary minus.
        let deep = "-".repeat(900);
        let mut source = String::from("from hero_tracing import logic\n");
        for level in 0..8 {
            source.push_str(&format!(
                "def h{level}():\n    x = {deep}h{}()\n    logic.invoke('x')\n",
                level + 1
            ));
        }
        source.push_str(&format!("def h8():\n    x = {deep}logic.invoke('deep')\n@logic\ndef main():\n    x = {deep}h0()\n"));
        let graph = on_small_stack(|| flow_graph(&source, None));
        assert!(graph.error.is_none(), "{:?}", graph.error);
        assert!(graph.truncated, "the walk depth limit was reached");
    }

    #[test]
    fn the_wanted_logic_picks_the_entry() {
        let source = "@logic(name='a')\ndef a():\n    logic.invoke('from_a')\n\
                      @logic(name='b')\ndef b():\n    logic.invoke('from_b')\n";
        let graph = flow_graph(source, Some("a"));
        let entry = graph.entry.expect("entry");
        assert_eq!((entry.function.as_str(), entry.logic.as_str()), ("a", "a"));
        assert_eq!(graph.nodes[0].label, "from_a");
    }

    #[test]
    fn a_bad_declaration_still_gives_a_graph() {
        // inputs= cannot be read statically, but the flow can.
        let source = "@logic(inputs=make())\ndef f():\n    return logic.invoke('x')\n";
        let graph = flow_graph(source, None);
        assert!(graph.error.is_none());
        assert_eq!(graph.nodes.len(), 2);
    }

    #[test]
    fn clients_passed_to_helpers_are_recognised() {
        let source = "from hero_tracing.client import Client\n\
                      def use(c, other=None):\n    c.play_status('x')\n    other.send()\n\
                      @logic\ndef main():\n    use(Client(), other=MailClient())\n";
        let graph = flow_graph(source, None);
        let labels: Vec<&str> = graph.nodes.iter().map(|n| n.label.as_str()).collect();
        assert_eq!(labels, ["LogicService.play_status", "Mail.send"]);
    }

    #[test]
    fn binding_graph_is_one_invoke() {
        let graph = binding_graph("greeting");
        assert_eq!(graph.nodes.len(), 1);
        assert_eq!(
            graph.nodes[0].step,
            FlowStep::Invoke {
                target: Some("greeting".into()),
                via: InvokeVia::Binding
            }
        );
        assert!(graph.error.is_none() && graph.entry.is_none());
    }

    #[test]
    fn errors_carry_positions_when_they_have_one() {
        let graph = flow_graph("@logic\ndef f(:\n", None);
        let error = graph.error.expect("syntax error");
        assert_eq!(error.line, Some(2));
        assert!(error.column.is_some());
        let graph = flow_graph(&"#".repeat(super::super::MAX_SOURCE_BYTES + 1), None);
        let error = graph.error.expect("too large");
        assert_eq!((error.line, error.column), (None, None));
    }
}
