//! The layers of node/src hold: a module imports only from layers below it, and no two
//! modules import each other, directly or round a circle. Read from the sources, so a
//! new `use crate::...` that climbs a layer fails here, in review's place.
//!
//! Layers, top to bottom (node/src/lib.rs documents them):
//! api > kinesis > cluster > replica > shard, control > raft > transport > storage >
//! domain, limits, config, failstop, crypto.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rank(module: &str) -> Option<u8> {
    Some(match module {
        "api" => 9,
        "kinesis" => 8,
        "cluster" => 7,
        "replica" => 6,
        "shard" | "control" => 5,
        "raft" => 4,
        "transport" => 3,
        "storage" => 2,
        "domain" | "limits" | "config" | "failstop" | "crypto" => 1,
        _ => return None,
    })
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read node/src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `crate::NAME` a source file mentions (imports and inline paths alike), and every
/// name inside a `use crate::{a, b::c}` group.
fn crate_references(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = &group[..group.find('}').unwrap_or(group.len())];
            for item in inner.split(',') {
                let name: String = item.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !name.is_empty() {
                    found.insert(name);
                }
            }
        } else {
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

#[test]
fn imports_only_go_down_the_layers_and_never_round_a_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut upward = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&src).expect("under src");
        let first = relative.components().next().expect("a path").as_os_str().to_string_lossy().to_string();
        let module = first.trim_end_matches(".rs").to_string();
        let Some(from_rank) = rank(&module) else { continue }; // lib.rs, bin/
        let text = std::fs::read_to_string(file).expect("read source");
        for target in crate_references(&text) {
            if target == module {
                continue;
            }
            let Some(to_rank) = rank(&target) else {
                panic!("{} refers to crate::{target}, a module the layer map does not know", relative.display());
            };
            // Leaves may use each other; everything else only what is below it.
            if to_rank >= from_rank && !(from_rank == 1 && to_rank == 1) {
                upward.push(format!("{} ({module}) uses crate::{target}", relative.display()));
            }
            edges.entry(module.clone()).or_default().insert(target);
        }
    }
    assert!(upward.is_empty(), "imports that do not go down the layers:\n{}", upward.join("\n"));

    // No circles, leaves included.
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) {
        if done.contains(node) {
            return;
        }
        if let Some(at) = stack.iter().position(|n| n == node) {
            panic!("modules import each other in a circle: {} -> {node}", stack[at..].join(" -> "));
        }
        stack.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            visit(next, edges, stack, done);
        }
        stack.pop();
        done.insert(node.to_string());
    }
    let mut done = BTreeSet::new();
    for module in edges.keys() {
        visit(module, &edges, &mut Vec::new(), &mut done);
    }
    assert!(edges.contains_key("api") && edges.contains_key("raft"), "the scan found the modules");
}

#[test]
fn the_reference_scanner_sees_groups_and_inline_paths() {
    let refs = crate_references("use crate::{raft::x, storage};\nlet a = crate::shard::f();\n// crate::api");
    assert_eq!(refs, ["api", "raft", "shard", "storage"].iter().map(|s| s.to_string()).collect());
}
