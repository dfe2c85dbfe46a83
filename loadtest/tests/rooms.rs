//! The load runner's rooms hold their order: each module uses only modules of its own room or
//! of the rooms before it (in `ROOMS`, the order `lib.rs` describes), and no modules use one
//! another in a cycle. Read from the sources, outside of tests and comments.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The rooms, each before every room that may use it.
const ROOMS: &[&str] = &[
    "http",
    "names",
    "measure",
    "fault",
    "users",
    "error",
    "setup",
    "attack",
    "judge",
    "coordinate",
    "cluster",
    "drivers",
];

/// Every module's file under `src/`, by its path of module names (`users/login/walk`).
fn modules(src: &Path) -> BTreeMap<String, PathBuf> {
    fn walk(dir: &Path, src: &Path, found: &mut BTreeMap<String, PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, src, found);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let relative = path
                    .strip_prefix(src)
                    .expect("under src")
                    .with_extension("");
                let mut parts: Vec<String> = relative
                    .iter()
                    .map(|part| part.to_string_lossy().into_owned())
                    .collect();
                if parts.last().is_some_and(|last| last == "mod") {
                    parts.pop();
                }
                let name = parts.join("/");
                if name != "lib" && name != "main" {
                    found.insert(name, path);
                }
            }
        }
    }
    let mut found = BTreeMap::new();
    walk(src, src, &mut found);
    found
}

/// The `crate::…` paths a module's code names, outside its tests and comments.
fn crate_paths(text: &str) -> Vec<Vec<String>> {
    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
    let mut paths = Vec::new();
    for line in code.lines() {
        let line = line.split("//").next().unwrap_or_default();
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let mut path = Vec::new();
            for segment in rest.split("::") {
                let name: String = segment
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_' || c.is_ascii_digit())
                    .collect();
                let whole = name.len() == segment.len();
                if !name.is_empty() {
                    path.push(name);
                }
                if !whole || path.is_empty() {
                    break;
                }
            }
            paths.push(path);
        }
    }
    paths
}

/// Module → the other modules it uses.
fn uses(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules(src);
    let mut graph = BTreeMap::new();
    for (name, file) in &modules {
        let text = std::fs::read_to_string(file).expect("read module");
        let mut used = BTreeSet::new();
        for path in crate_paths(&text) {
            // The longest prefix of the path that is a module: `crate::users::hop::To` is
            // `users/hop`.
            let target = (1..=path.len())
                .rev()
                .map(|n| path[..n].join("/"))
                .find(|candidate| modules.contains_key(candidate));
            if let Some(target) = target
                && &target != name
            {
                used.insert(target);
            }
        }
        graph.insert(name.clone(), used);
    }
    graph
}

fn room(module: &str) -> usize {
    let first = module.split('/').next().unwrap_or_default();
    ROOMS
        .iter()
        .position(|room| *room == first)
        .unwrap_or_else(|| panic!("module {module} is in no room of {ROOMS:?}"))
}

/// Every cycle's modules, found by depth-first search.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, bool>,
        stack: &mut Vec<String>,
        found: &mut Vec<Vec<String>>,
    ) {
        state.insert(node.to_owned(), false);
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next) {
                Some(false) => {
                    let from = stack.iter().position(|n| n == next).unwrap_or(0);
                    let mut cycle = stack[from..].to_vec();
                    cycle.push(next.clone());
                    found.push(cycle);
                }
                Some(true) => {}
                None => visit(next, graph, state, stack, found),
            }
        }
        stack.pop();
        state.insert(node.to_owned(), true);
    }
    let mut state = BTreeMap::new();
    let mut found = Vec::new();
    for node in graph.keys() {
        if !state.contains_key(node) {
            visit(node, graph, &mut state, &mut Vec::new(), &mut found);
        }
    }
    found
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn each_room_uses_only_the_rooms_before_it() {
    let graph = uses(&src());
    assert!(graph.len() > 40, "every module found: {:?}", graph.keys());
    let mut wrong = Vec::new();
    for (module, used) in &graph {
        for target in used {
            if room(target) > room(module) {
                wrong.push(format!("{module} uses {target}"));
            }
        }
    }
    assert!(wrong.is_empty(), "a room uses a later one: {wrong:#?}");
}

#[test]
fn no_modules_use_one_another_in_a_cycle() {
    let found = cycles(&uses(&src()));
    assert!(found.is_empty(), "import cycles: {found:#?}");
}

#[test]
fn the_checks_see_what_they_check() {
    // A path in code counts, in a comment or a test it does not; a type's path names its module.
    let text = "use crate::users::hop::{To, hop};\n// crate::drivers::run\nfn f() { \
                crate::measure::lag::spawn(); }\n#[cfg(test)]\nmod tests { use crate::judge; }";
    assert_eq!(
        crate_paths(text),
        [vec!["users", "hop"], vec!["measure", "lag", "spawn"]]
    );
    // A cycle is found, and so is a room that uses a later one.
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("users/hop", vec!["users/user"]),
        ("users/user", vec!["users/hop"]),
        ("http", vec![]),
    ]
    .into_iter()
    .map(|(module, used)| {
        (
            module.to_owned(),
            used.into_iter().map(str::to_owned).collect(),
        )
    })
    .collect();
    assert_eq!(cycles(&graph).len(), 1);
    assert!(room("drivers/run") > room("users/hop"));
}
