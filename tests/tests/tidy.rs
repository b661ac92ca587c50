//! Invariants of the tree itself, which ARCHITECTURE.md states and a reader
//! would otherwise have to take on trust (rust-analyzer's `tidy.rs` is the
//! model): no circle of imports between the files of a crate, tonic and
//! sqlx only in the modules that serve calls or store data, no store written
//! by a macro, crates that depend only downward, and no file past a size a
//! reader can hold. Each
//! check is a function over the files' text, and each has a test that feeds
//! it a deliberate violation, so a check that could not fail is caught too.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The workspace root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_path_buf()
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("reading {}: {e}", d.display())) {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The crates under `services/`, by directory name.
fn service_crates() -> Vec<PathBuf> {
    let mut crates: Vec<PathBuf> = std::fs::read_dir(root().join("services"))
        .expect("services/")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.join("Cargo.toml").is_file())
        .collect();
    crates.sort();
    crates
}

/// The text of a file as production code sees it: line comments and the
/// `#[cfg(test)] mod …` block (always last, by house style) removed.
fn production_text(text: &str) -> String {
    let marker = "#[cfg(test)]\nmod ";
    let inline_test_module = text.match_indices(marker).map(|(at, _)| at).find(|at| {
        let line = text[at + marker.len()..].lines().next().unwrap_or("");
        line.trim_end().ends_with('{')
    });
    let text = inline_test_module.map_or(text, |at| &text[..at]);
    text.lines()
        .map(|line| match line.find("//") {
            // A `//` inside a string ("http://…") is kept: only a comment
            // that starts the line's code is cut.
            Some(at) if line[..at].trim().is_empty() => "",
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A module's path inside its crate: `[]` for the crate root.
type ModPath = Vec<String>;

/// The module a source file is, from its path under `src/`.
fn module_of(relative: &Path) -> ModPath {
    let mut parts: Vec<String> = relative
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("lib" | "main" | "mod")) {
        parts.pop();
    }
    parts
}

/// Expands a `use` tree (`a::{b, c::{self, d as e}}`) into its paths, each
/// with the name it brings into scope.
fn expand_use_named(tree: &str) -> Vec<(Vec<String>, String)> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        let mut parts = tree.splitn(2, " as ");
        let path: Vec<String> = parts
            .next()
            .unwrap_or(tree)
            .split("::")
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        let name = parts
            .next()
            .map(|alias| alias.trim().to_owned())
            .or_else(|| path.last().cloned())
            .unwrap_or_default();
        return vec![(path, name)];
    };
    let prefix: Vec<String> = tree[..open]
        .trim_end_matches(':')
        .split("::")
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    let close = tree.rfind('}').filter(|c| *c > open).unwrap_or(tree.len());
    let inner = &tree[open + 1..close];
    let (mut parts, mut depth, mut current) = (Vec::new(), 0, String::new());
    for ch in inner.chars() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
        if ch == ',' && depth == 0 {
            parts.push(std::mem::take(&mut current));
        } else {
            current.push(ch);
        }
    }
    parts.push(current);
    let mut out = Vec::new();
    for part in parts.iter().filter(|p| !p.trim().is_empty()) {
        for (sub, name) in expand_use_named(part) {
            let mut path = prefix.clone();
            let name = if sub == ["self"] {
                prefix.last().cloned().unwrap_or(name)
            } else {
                path.extend(sub);
                name
            };
            out.push((path, name));
        }
    }
    out
}

/// The paths of a `use` tree.
fn expand_use(tree: &str) -> Vec<Vec<String>> {
    expand_use_named(tree).into_iter().map(|(path, _)| path).collect()
}

/// The trees of the `use` statements of `text` that begin a line with one
/// of `starts`, each up to its `;` (which may be lines later).
fn use_statements<'t>(text: &'t str, starts: &[&str]) -> Vec<&'t str> {
    let mut trees = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let code = line.trim_start();
        if let Some(start) = starts.iter().find(|start| code.starts_with(**start)) {
            let at = offset + (line.len() - code.len()) + start.len();
            if let Some(end) = text[at..].find(';') {
                trees.push(&text[at..at + end]);
            }
        }
        offset += line.len();
    }
    trees
}

/// Every path a file names that could lead into its own crate: each path of
/// its `use` trees and each `a::b` sequence in its code.
fn named_paths(text: &str) -> Vec<Vec<String>> {
    let mut paths: Vec<Vec<String>> = use_statements(text, &["use ", "pub use ", "pub(crate) use ", "pub(super) use "])
        .into_iter()
        .flat_map(expand_use)
        .collect();
    let bytes = text.as_bytes();
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut i = 0;
    while i < bytes.len() {
        if ident(bytes[i]) && (i == 0 || !ident(bytes[i - 1]) && bytes[i - 1] != b':') {
            let mut path = Vec::new();
            let mut j = i;
            loop {
                let start = j;
                while j < bytes.len() && ident(bytes[j]) {
                    j += 1;
                }
                path.push(text[start..j].to_owned());
                if text[j..].starts_with("::") && j + 2 < bytes.len() && ident(bytes[j + 2]) {
                    j += 2;
                } else {
                    break;
                }
            }
            if path.len() > 1 {
                // A macro's path (`$crate::entity!`) names the crate root,
                // where `#[macro_export]` puts it; it is marked to be led to
                // the file that defines it.
                if text[j..].starts_with('!')
                    && let Some(last) = path.last_mut()
                {
                    last.push('!');
                }
                paths.push(path);
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    paths
}

/// One crate's files as modules.
struct CrateSource {
    /// Production text by module.
    modules: BTreeMap<ModPath, String>,
}

impl CrateSource {
    fn read(src: &Path) -> Self {
        let modules = rust_files(src)
            .into_iter()
            .map(|path| {
                let relative = path.strip_prefix(src).expect("under src/");
                let text = std::fs::read_to_string(&path).expect("a source file");
                (module_of(relative), production_text(&text))
            })
            .collect();
        Self { modules }
    }

    /// Where `path`, named in module `from`, leads: the deepest module of
    /// this crate it names, following `pub use` re-exports to the module
    /// that holds the item; `None` when it leads outside the crate.
    fn resolve(
        &self,
        from: &ModPath,
        path: &[String],
        reexports: &BTreeMap<(ModPath, String), Option<ModPath>>,
    ) -> Option<ModPath> {
        if let Some(name) = path.last().and_then(|l| l.strip_suffix('!')) {
            return self
                .modules
                .iter()
                .find_map(|(module, text)| text.contains(&format!("macro_rules! {name} ")).then(|| module.clone()));
        }
        let (mut current, rest): (ModPath, &[String]) = match path.first().map(String::as_str) {
            Some("crate") => (Vec::new(), &path[1..]),
            Some("self") => (from.clone(), &path[1..]),
            Some("super") => {
                let mut current = from.clone();
                let mut rest = path;
                while rest.first().map(String::as_str) == Some("super") {
                    current.pop();
                    rest = &rest[1..];
                }
                (current, rest)
            }
            Some(first) => {
                let mut child = from.clone();
                child.push(first.to_owned());
                if !self.modules.contains_key(&child) {
                    return None;
                }
                (from.clone(), path)
            }
            None => return None,
        };
        for segment in rest {
            let mut child = current.clone();
            child.push(segment.clone());
            if self.modules.contains_key(&child) {
                current = child;
            } else {
                match reexports.get(&(current.clone(), segment.clone())) {
                    Some(Some(target)) => current = target.clone(),
                    // A re-export of another crate's item (`pub use citydash_proto as proto`).
                    Some(None) => return None,
                    None => {}
                }
                break;
            }
        }
        Some(current)
    }

    /// The modules each module imports from (re-exports followed).
    fn imports(&self) -> BTreeMap<ModPath, BTreeSet<ModPath>> {
        // First the re-exports: `pub use a::b::Item;` in module m means
        // `m::Item` lives in the module `a::b` leads to.
        let mut reexports = BTreeMap::new();
        for (module, text) in &self.modules {
            for tree in use_statements(text, &["pub use "]) {
                for (path, name) in expand_use_named(tree) {
                    let target = self.resolve(module, &path, &BTreeMap::new());
                    reexports.insert((module.clone(), name), target);
                }
            }
        }
        self.modules
            .iter()
            .map(|(module, text)| {
                let targets = named_paths(text)
                    .iter()
                    .filter_map(|p| self.resolve(module, p, &reexports))
                    .filter(|t| t != module)
                    .collect();
                (module.clone(), targets)
            })
            .collect()
    }
}

/// The circles in an import graph: each strongly connected set of more
/// than one module (Tarjan's algorithm).
fn circles(graph: &BTreeMap<ModPath, BTreeSet<ModPath>>) -> Vec<Vec<ModPath>> {
    struct Walk<'a> {
        graph: &'a BTreeMap<ModPath, BTreeSet<ModPath>>,
        index: BTreeMap<&'a ModPath, usize>,
        low: BTreeMap<&'a ModPath, usize>,
        stack: Vec<&'a ModPath>,
        on_stack: BTreeSet<&'a ModPath>,
        found: Vec<Vec<ModPath>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, v: &'a ModPath) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.graph.get(v).into_iter().flatten() {
                let Some((w, _)) = self.graph.get_key_value(w) else {
                    continue;
                };
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v, low);
                } else if self.on_stack.contains(w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut set = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    set.push(w.clone());
                    if w == v {
                        break;
                    }
                }
                if set.len() > 1 {
                    set.sort();
                    self.found.push(set);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !walk.index.contains_key(v) {
            walk.visit(v);
        }
    }
    walk.found.sort();
    walk.found
}

fn show(module: &ModPath) -> String {
    if module.is_empty() {
        "crate".to_owned()
    } else {
        module.join("::")
    }
}

#[test]
fn no_circle_of_imports_between_the_files_of_a_service_crate() {
    let mut found = Vec::new();
    for dir in service_crates() {
        let name = dir.file_name().expect("a name").to_string_lossy().into_owned();
        let source = CrateSource::read(&dir.join("src"));
        let graph = source.imports();
        for circle in circles(&graph) {
            let edges: Vec<String> = circle
                .iter()
                .flat_map(|a| {
                    graph[a]
                        .iter()
                        .filter(|b| circle.contains(b))
                        .map(move |b| format!("{} → {}", show(a), show(b)))
                })
                .collect();
            let modules: Vec<String> = circle.iter().map(show).collect();
            found.push(format!("{name}: {}\n    {}", modules.join(", "), edges.join(", ")));
        }
    }
    assert!(found.is_empty(), "circles of imports:\n{}", found.join("\n"));
}

fn module(name: &str) -> ModPath {
    name.split("::").map(str::to_owned).collect()
}

#[test]
fn the_circle_check_sees_a_circle_through_a_reexport() {
    let source = CrateSource {
        modules: BTreeMap::from([
            (
                vec![],
                "pub mod a;\npub mod b;\npub use a::{\n    Thing,\n};".to_owned(),
            ),
            (
                module("a"),
                "use crate::b::{self, Other};\npub struct Thing;".to_owned(),
            ),
            (module("b"), "pub struct Other(crate::Thing);".to_owned()),
        ]),
    };
    assert_eq!(circles(&source.imports()), vec![vec![module("a"), module("b")]]);
}

#[test]
fn the_circle_check_follows_a_macro_to_its_file_and_an_alias_out_of_the_crate() {
    let source = CrateSource {
        modules: BTreeMap::from([
            (
                vec![],
                "pub mod a;\npub mod b;\npub use citydash_proto as proto;\nfn f() {}".to_owned(),
            ),
            (
                module("a"),
                "macro_rules! make { () => { $crate::proto::v1::X } }".to_owned(),
            ),
            (module("b"), "crate::make!();".to_owned()),
        ]),
    };
    let imports = source.imports();
    assert_eq!(imports[&module("b")], BTreeSet::from([module("a")]));
    assert!(imports[&module("a")].is_empty(), "the alias leads outside: {imports:?}");
    assert!(circles(&imports).is_empty());
}

/// Files (relative to the workspace) that may name a crate, by prefix.
struct Allowed {
    krate: &'static str,
    why: &'static str,
    files: &'static [&'static str],
}

/// Files outside `rule.files` (prefixes, relative to the workspace) whose
/// production code names `rule.krate`.
fn naming_outside(files: &[(String, String)], rule: &Allowed) -> Vec<String> {
    files
        .iter()
        .filter(|(path, _)| !rule.files.iter().any(|allowed| path.starts_with(allowed)))
        .filter(|(_, text)| {
            named_paths(text)
                .iter()
                .any(|p| p.first().map(String::as_str) == Some(rule.krate))
        })
        .map(|(path, _)| path.clone())
        .collect()
}

/// Every production source file under services/, as (workspace path, text).
fn service_files() -> Vec<(String, String)> {
    let root = root();
    service_crates()
        .iter()
        .flat_map(|dir| rust_files(&dir.join("src")))
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("a source file");
            let relative = path.strip_prefix(&root).expect("in the workspace");
            (relative.to_string_lossy().into_owned(), production_text(&text))
        })
        .collect()
}

/// Where gRPC and SQL may appear: the layers ARCHITECTURE.md names.
const LAYERS: &[Allowed] = &[
    Allowed {
        krate: "tonic",
        why: "gRPC lives in the runtime, in the modules that serve calls (grpc, api, launch, a spec's \
              routes) and in the clients that make them; the engine, the planners, the model and the \
              formulas never see it",
        files: &[
            "services/runtime/src/",
            "services/sector/src/grpc.rs",
            "services/sector/src/launch.rs",
            "services/sector/src/spec.rs",
            "services/sector/src/service.rs",
            "services/sector/src/lib.rs",
            "services/sector/src/revocations.rs",
            "services/sector/src/units.rs",
            "services/aggregator/src/api/",
            "services/aggregator/src/city.rs",
            "services/aggregator/src/feeds.rs",
            "services/aggregator/src/sources.rs",
            "services/aggregator/src/launch.rs",
            "services/sheets/src/import/",
            "services/citydash/src/",
        ],
    },
    Allowed {
        krate: "sqlx",
        why: "SQL lives in the database plumbing (`citydash-db`), in the stores (a sector's `store`, \
              the aggregator's `readstore` and its notifications' `notify::outbox`, the replicas' \
              `lease`) and in the benchmark's raw COPY baseline",
        files: &[
            "services/db/src/",
            "services/sector/src/store/",
            "services/aggregator/src/readstore.rs",
            "services/aggregator/src/notify/outbox.rs",
            "services/aggregator/src/lease.rs",
            "services/citydash/src/bench/",
        ],
    },
];

#[test]
fn tonic_and_sqlx_appear_only_in_their_layers() {
    let files = service_files();
    let mut found = Vec::new();
    for rule in LAYERS {
        for path in naming_outside(&files, rule) {
            found.push(format!("{path} names {} ({})", rule.krate, rule.why));
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn the_layer_check_sees_a_store_type_in_the_formulas() {
    let files = vec![
        (
            "services/aggregator/src/compute/overview.rs".to_owned(),
            "fn f(pool: &sqlx::PgPool) {}".to_owned(),
        ),
        (
            "services/aggregator/src/readstore.rs".to_owned(),
            "use sqlx::Row;".to_owned(),
        ),
    ];
    assert_eq!(
        naming_outside(&files, &LAYERS[1]),
        vec!["services/aggregator/src/compute/overview.rs".to_owned()]
    );
}

/// Files of the SQL layer ([`LAYERS`]' sqlx row) that define a macro: a store
/// is plain statements and functions that a reader (and a tool) can follow,
/// generic over the dialect where both backends share it, never a macro
/// that writes a whole store (issue 21).
fn stores_with_macros(files: &[(String, String)]) -> Vec<String> {
    let sql = LAYERS.iter().find(|l| l.krate == "sqlx").expect("the sqlx layer");
    files
        .iter()
        .filter(|(path, _)| sql.files.iter().any(|allowed| path.starts_with(allowed)))
        .filter(|(_, text)| text.contains("macro_rules!"))
        .map(|(path, _)| path.clone())
        .collect()
}

#[test]
fn no_store_is_written_by_a_macro() {
    let found = stores_with_macros(&service_files());
    assert!(found.is_empty(), "a macro in the SQL layer: {}", found.join(", "));
}

#[test]
fn the_macro_check_sees_a_store_macro() {
    let files = vec![
        (
            "services/aggregator/src/readstore.rs".to_owned(),
            "macro_rules! read_store { () => {} }".to_owned(),
        ),
        (
            "services/sector/src/entity.rs".to_owned(),
            "macro_rules! entity { () => {} }".to_owned(),
        ),
    ];
    assert_eq!(
        stores_with_macros(&files),
        vec!["services/aggregator/src/readstore.rs".to_owned()]
    );
}

/// The workspace crates a crate may depend on (normal dependencies).
const CRATE_LAYERS: &[(&str, &[&str])] = &[
    ("proto", &[]),
    ("runtime", &["citydash-proto"]),
    // The database plumbing knows no contract: only the runtime's error it maps to.
    ("db", &["citydash-runtime"]),
    ("sector", &["citydash-db", "citydash-proto", "citydash-runtime"]),
    ("agriculture", &["citydash-proto", "citydash-sector"]),
    ("industry", &["citydash-proto", "citydash-sector"]),
    ("tourism", &["citydash-proto", "citydash-sector"]),
    ("welfare", &["citydash-proto", "citydash-sector"]),
    // The import is a client of the public API: contracts and the runtime's credentials only.
    ("sheets", &["citydash-proto", "citydash-runtime"]),
    // The aggregator reads the sectors' feeds through the contracts, never a sector crate;
    // its import page runs the shared import.
    (
        "aggregator",
        &[
            "citydash-db",
            "citydash-proto",
            "citydash-runtime",
            "citydash-sector",
            "citydash-sheets",
        ],
    ),
];

/// The workspace crates a manifest's `[dependencies]` name.
fn workspace_dependencies(manifest: &str) -> BTreeSet<String> {
    let mut in_dependencies = false;
    let mut out = BTreeSet::new();
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_dependencies = line == "[dependencies]";
        } else if in_dependencies && line.starts_with("citydash") {
            let name = line.split(['=', '.', ' ']).next().unwrap_or(line);
            out.insert(name.to_owned());
        }
    }
    out
}

#[test]
fn crates_depend_only_downward() {
    let mut found = Vec::new();
    for (dir, allowed) in CRATE_LAYERS {
        let path = if *dir == "proto" {
            root().join("proto/Cargo.toml")
        } else {
            root().join("services").join(dir).join("Cargo.toml")
        };
        let manifest = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for dep in workspace_dependencies(&manifest) {
            if !allowed.contains(&dep.as_str()) {
                found.push(format!("{dir} depends on {dep}"));
            }
        }
    }
    let listed: BTreeSet<&str> = CRATE_LAYERS.iter().map(|(d, _)| *d).collect();
    for dir in service_crates() {
        let name = dir.file_name().expect("a name").to_string_lossy().into_owned();
        if name != "citydash" && !listed.contains(name.as_str()) {
            found.push(format!(
                "services/{name} has no row in CRATE_LAYERS: say what it may depend on"
            ));
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn the_dependency_check_reads_only_normal_dependencies() {
    let manifest = "[package]\nname = \"x\"\n[dependencies]\ncitydash-proto.workspace = true\n\
                    citydash-agriculture = { path = \"../agriculture\" }\n[dev-dependencies]\ncitydash-e2e.workspace = true\n";
    assert_eq!(
        workspace_dependencies(manifest),
        BTreeSet::from(["citydash-agriculture".to_owned(), "citydash-proto".to_owned()])
    );
}

/// The most lines a source file may have: past it, a file holds more than
/// one idea and is split along the lines it already has.
const MAX_LINES: usize = 1000;

/// Files over the limit today, being split (issue 21), with the length
/// each may not grow past.
const KNOWN_LONG: &[(&str, usize)] = &[("tests/tests/city.rs", 1211)];

/// Files over [`MAX_LINES`] (or, if listed in `known`, over their listed
/// length), and listed files no longer over the limit.
fn too_long(files: &[(String, usize)], known: &[(&str, usize)]) -> Vec<String> {
    let mut found: Vec<String> = files
        .iter()
        .filter_map(|(path, lines)| {
            let limit = known.iter().find(|(k, _)| k == path).map_or(MAX_LINES, |(_, l)| *l);
            (*lines > limit).then(|| format!("{path}: {lines} lines (at most {limit})"))
        })
        .collect();
    for (path, _) in known {
        if files.iter().any(|(p, lines)| p == path && *lines <= MAX_LINES) || !files.iter().any(|(p, _)| p == path) {
            found.push(format!("{path} is within the limit now: take it out of KNOWN_LONG"));
        }
    }
    found
}

#[test]
fn no_source_file_is_longer_than_the_limit() {
    let root = root();
    let mut files = Vec::new();
    for dir in ["services", "tests", "proto"] {
        for path in rust_files(&root.join(dir)) {
            let lines = std::fs::read_to_string(&path).expect("a source file").lines().count();
            let relative = path.strip_prefix(&root).expect("in the workspace");
            files.push((relative.to_string_lossy().into_owned(), lines));
        }
    }
    let found = too_long(&files, KNOWN_LONG);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn the_size_check_sees_a_long_file() {
    let files = vec![
        ("a.rs".to_owned(), MAX_LINES),
        ("b.rs".to_owned(), MAX_LINES + 1),
        ("c.rs".to_owned(), MAX_LINES + 20),
    ];
    assert_eq!(too_long(&files, &[]).len(), 2);
    assert!(
        too_long(&files, &[("c.rs", MAX_LINES + 20)]).len() == 1,
        "a listed file may stay"
    );
    assert_eq!(
        too_long(&files, &[("a.rs", MAX_LINES + 5)]).len(),
        3,
        "a listed file within the limit is stale"
    );
}

/// The files that list the sectors: the registry and the one table of the
/// crates that implement them.
const SECTOR_LISTS: &[&str] = &["proto/src/sectors.rs", "services/citydash/src/programs.rs"];

/// Places in `text` that list two or more sectors: a line, or a bracketed
/// list, naming two different sectors (as `"name"` or `Sector::Variant`).
fn sector_lists(text: &str) -> Vec<String> {
    let spellings: Vec<[String; 2]> = citydash_proto::sectors::SECTORS
        .iter()
        .map(|s| [format!("\"{}\"", s.name), format!("Sector::{:?}", s.sector)])
        .collect();
    let listed = |span: &str| {
        spellings
            .iter()
            .filter(|names| names.iter().any(|n| span.contains(n.as_str())))
            .count()
            >= 2
    };
    let mut spans: Vec<&str> = text.lines().collect();
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        let after = &rest[open..];
        match after.find(']') {
            Some(close) if close < 400 => spans.push(&after[..=close]),
            _ => {}
        }
        rest = &rest[open + 1..];
    }
    spans
        .into_iter()
        .filter(|s| listed(s))
        .map(|s| s.trim().to_owned())
        .collect()
}

#[test]
fn the_sectors_are_listed_only_in_the_registry() {
    let mut files = service_files();
    let root = root();
    for path in rust_files(&root.join("tests/src")) {
        let text = std::fs::read_to_string(&path).expect("a source file");
        let relative = path.strip_prefix(&root).expect("in the workspace");
        files.push((relative.to_string_lossy().into_owned(), production_text(&text)));
    }
    let found: Vec<String> = files
        .iter()
        .filter(|(path, _)| !SECTOR_LISTS.contains(&path.as_str()))
        .flat_map(|(path, text)| sector_lists(text).into_iter().map(move |l| format!("{path}: {l}")))
        .collect();
    assert!(
        found.is_empty(),
        "sectors listed outside citydash_proto::sectors (read the registry instead):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_sector_list_check_sees_a_list() {
    let text = "const S: [&str; 2] = [\n    \"agriculture\",\n    \"tourism\",\n];\nlet one = \"industry\";\n\
                match s { v1::Sector::Welfare => 1, _ => 0 }";
    assert_eq!(sector_lists(text).len(), 1, "{:?}", sector_lists(text));
    assert_eq!(
        sector_lists("[Sector::Agriculture, Sector::Industry]").len(),
        2,
        "a line and a list"
    );
}
