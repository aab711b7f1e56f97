//! The house stays in order: data flows one way between the crate's rooms
//! (its top-level modules), so no two of them depend on each other, even
//! through others.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::common::repo_path;

/// Which top-level modules each top-level module names (`crate::x`), in its
/// code outside comments and tests.
fn module_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let rel = file.strip_prefix(src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .into_owned();
        let module = first.trim_end_matches(".rs").to_string();
        if module == "lib" || module == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        // Unit tests may reach anywhere.
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        let names = graph.entry(module.clone()).or_default();
        for line in code.lines().map(str::trim_start).filter(|l| !l.starts_with("//")) {
            for (at, _) in line.match_indices("crate::") {
                let name: String = line[at + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() && name != module {
                    names.insert(name);
                }
            }
        }
    }
    graph
}

/// The groups of modules that reach each other (Tarjan's strongly connected
/// components of more than one module).
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        next: usize,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        let graph = s.graph;
        for w in graph.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if s.stack.contains(&w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut group = Vec::new();
            while let Some(w) = s.stack.pop() {
                group.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if group.len() > 1 {
                group.sort();
                s.found.push(group);
            }
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        next: 0,
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.found
}

#[test]
fn no_two_modules_of_the_crate_depend_on_each_other() {
    let graph = module_graph(&repo_path("src"));
    assert!(graph.len() > 20, "the walk found the modules: {graph:?}");
    assert!(
        graph["http"].contains("decide"),
        "the walk sees real dependencies"
    );
    let found = circles(&graph);
    assert!(found.is_empty(), "modules that depend on each other: {found:?}");
}

#[test]
fn the_circle_finder_finds_a_planted_circle() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    graph.entry("a".into()).or_default().insert("b".into());
    graph.entry("b".into()).or_default().insert("c".into());
    graph.entry("c".into()).or_default().insert("a".into());
    graph.entry("d".into()).or_default().insert("a".into());
    assert_eq!(
        circles(&graph),
        vec![vec!["a".to_string(), "b".into(), "c".into()]]
    );
}

/// Lines of code in a source file: not blank, not a comment, not in its
/// unit-test module.
fn code_lines(text: &str) -> usize {
    let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or("");
    code.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
        .count()
}

#[test]
fn no_source_file_holds_more_than_about_500_lines_of_code() {
    fn walk(dir: &Path, out: &mut Vec<(String, usize)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push((
                    path.display().to_string(),
                    code_lines(&std::fs::read_to_string(&path).unwrap()),
                ));
            }
        }
    }
    let mut files = Vec::new();
    walk(&repo_path("src"), &mut files);
    let big: Vec<&(String, usize)> = files.iter().filter(|(_, n)| *n > 520).collect();
    assert!(
        big.is_empty(),
        "rooms too big to read (split them by what they own): {big:?}"
    );
    assert_eq!(
        code_lines("fn a() {}\n\n// note\n#[cfg(test)]\nmod tests {\n fn t() {}\n}\n"),
        1
    );
}

#[test]
fn no_module_name_is_used_twice() {
    // A name says which room you are in: `ledger_api::users_routes`, not a
    // second `users`. Unit-test modules (`tests`) and `mod.rs` are not names.
    fn walk(dir: &Path, out: &mut BTreeMap<String, Vec<String>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                if path.join("mod.rs").is_file() {
                    out.entry(name).or_default().push(path.display().to_string());
                }
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs")
                && !["mod", "tests", "lib", "main"].contains(&name.as_str())
            {
                out.entry(name).or_default().push(path.display().to_string());
            }
        }
    }
    let mut names = BTreeMap::new();
    walk(&repo_path("src"), &mut names);
    assert!(
        names.contains_key("ledger_api") && names.contains_key("decide"),
        "{names:?}"
    );
    let twice: Vec<_> = names.iter().filter(|(_, places)| places.len() > 1).collect();
    assert!(twice.is_empty(), "module names used twice: {twice:?}");
}
