//! The README's source map matches the tree: every Rust module under src/
//! has its own line, and every path the map names exists.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn readme_source_map_matches_the_tree() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let map = readme
        .split("## Source map")
        .nth(1)
        .and_then(|s| s.split("```").nth(1))
        .expect("README has a source map in a code block");
    let named: Vec<&str> = map
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.contains('/') || w.contains('.'))
        .collect();
    for path in &named {
        assert!(
            root.join(path).exists(),
            "the source map names {path}, which does not exist"
        );
    }
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    for f in files {
        let rel = f.strip_prefix(root).unwrap().to_string_lossy().into_owned();
        assert!(
            named.contains(&rel.as_str()),
            "{rel} has no line in the README's source map"
        );
    }
}
