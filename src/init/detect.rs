//! What `memgate init` finds to gate in a repository, without running
//! anything of it: Go benchmarks and `package main` directories (a walk of
//! the tree), and a Cargo project's binaries and examples (`cargo metadata
//! --no-deps`, which reads manifests only). A program that reads its
//! arguments or listens on a socket may never end by itself: it is written
//! commented out, with the reason.

use std::path::{Path, PathBuf};

use super::InitError;

/// Most directories the walk visits, and most programs written.
const MAX_DIRS: usize = 5_000;
const MAX_PROGRAMS: usize = 8;

/// One workload entry for the config, as YAML lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Comment lines above it (without `# `).
    pub comment: Vec<String>,
    /// The entry's YAML, one line per element, first line `- name: ...`.
    pub yaml: Vec<String>,
    /// Written commented out, and why.
    pub disabled: Option<String>,
}

impl Entry {
    /// The entry as config text, indented under `workloads:`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for c in &self.comment {
            out.push_str(&format!("  # {c}\n"));
        }
        if let Some(why) = &self.disabled {
            out.push_str(&format!("  # Commented out: {why}\n"));
        }
        let prefix = if self.disabled.is_some() {
            "  # "
        } else {
            "  "
        };
        for (i, line) in self.yaml.iter().enumerate() {
            let indent = if i == 0 { "" } else { "  " };
            out.push_str(&format!("{prefix}{indent}{line}\n"));
        }
        out
    }
}

/// Directories the walk skips: hidden ones, vendored code, test data,
/// build output.
fn skipped(name: &str) -> bool {
    name.starts_with('.') || ["vendor", "testdata", "node_modules", "target"].contains(&name)
}

/// Every directory under `root` (itself included) with the `.go` files in
/// it, breadth first, bounded.
fn go_dirs(root: &Path) -> Vec<(PathBuf, Vec<PathBuf>)> {
    let mut out = Vec::new();
    let mut queue = std::collections::VecDeque::from([root.to_owned()]);
    while let Some(dir) = queue.pop_front() {
        if out.len() >= MAX_DIRS {
            break;
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files = Vec::new();
        let mut subdirs = Vec::new();
        for e in entries.flatten() {
            let path = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            match e.file_type() {
                Ok(t) if t.is_dir() && !skipped(&name) => subdirs.push(path),
                Ok(t) if t.is_file() && name.ends_with(".go") => files.push(path),
                _ => {}
            }
        }
        subdirs.sort();
        files.sort();
        queue.extend(subdirs);
        out.push((dir, files));
    }
    out
}

/// `./rel` for a directory under `root`.
fn dot_path(dir: &Path, root: &Path) -> String {
    match dir.strip_prefix(root) {
        Ok(rel) if rel.as_os_str().is_empty() => ".".into(),
        Ok(rel) => format!("./{}", rel.display()),
        Err(_) => dir.display().to_string(),
    }
}

/// A name memgate accepts, from a directory or target name.
fn workload_name(raw: &str) -> String {
    raw.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// Whether `go` can read the module's go.mod (`go mod edit -json` parses it
/// and nothing else); without `go` on PATH, it is taken as readable.
pub fn go_mod_readable(root: &Path) -> Result<(), InitError> {
    match std::process::Command::new("go")
        .args(["mod", "edit", "-json"])
        .current_dir(root)
        .output()
    {
        Ok(out) if !out.status.success() => Err(manifest_error(root.join("go.mod"), &out.stderr)),
        _ => Ok(()),
    }
}

/// A manifest error from a tool's stderr: its first lines, enough to say
/// what is wrong.
fn manifest_error(path: PathBuf, stderr: &[u8]) -> InitError {
    let text = String::from_utf8_lossy(stderr);
    // The diagnostic's lines without its source excerpt (`  |`, `1 | ...`).
    let message: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('|') && !l.contains(" | "))
        .take(4)
        .collect();
    InitError::Manifest {
        path,
        message: format!(
            "cannot be read, so init cannot tell what to gate: {}",
            message.join("; ")
        ),
    }
}

/// The Go module at `root`: its benchmarks as one `gobench` workload, and
/// its programs.
pub fn go(root: &Path) -> Vec<Entry> {
    let dirs = go_dirs(root);
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    let bench_dirs: Vec<String> = dirs
        .iter()
        .filter(|(_, files)| {
            files.iter().any(|f| {
                f.to_string_lossy().ends_with("_test.go") && read(f).contains("\nfunc Benchmark")
            })
        })
        .map(|(d, _)| dot_path(d, root))
        .collect();
    let mains: Vec<String> = dirs
        .iter()
        .filter(|(_, files)| {
            files.iter().any(|f| {
                !f.to_string_lossy().ends_with("_test.go")
                    && read(f)
                        .lines()
                        .any(|l| l.trim() == "package main" || l.starts_with("package main "))
            })
        })
        .map(|(d, _)| dot_path(d, root))
        .take(MAX_PROGRAMS)
        .collect();
    let mut entries = Vec::new();
    if !bench_dirs.is_empty() {
        let shown: Vec<&str> = bench_dirs.iter().take(5).map(String::as_str).collect();
        entries.push(Entry {
            comment: vec![
                format!(
                    "The module's Go benchmarks (in {}{}): each one is a workload,",
                    shown.join(", "),
                    if bench_dirs.len() > 5 { ", ..." } else { "" }
                ),
                "`go-bench/<Benchmark>`, gated on its B/op, allocs/op and ns/op and on the".into(),
                "test binary's GC trace. `bench:` narrows them (a -bench regexp); the".into(),
                "count of iterations `benchtime` gives is found once, then pinned.".into(),
            ],
            yaml: vec![
                "- name: go-bench".into(),
                "lang: go".into(),
                "gobench: { packages: ./..., bench: ., benchtime: 100ms }".into(),
            ],
            disabled: None,
        });
    }
    for dir in mains {
        let name = workload_name(match dir.rsplit('/').next() {
            Some(".") | None => "go-app",
            Some(last) => last,
        });
        entries.push(Entry {
            comment: vec![format!(
                "The program in {dir}: measured from outside, and with the Go probe linked, from inside (README: \"Gate your own program\")."
            )],
            yaml: vec![
                format!("- name: {name}"),
                "lang: go".into(),
                format!("build: go build -o .memgate/bin/{name} {dir}"),
                format!("run: .memgate/bin/{name}"),
            ],
            // Benchmarks need no arguments; a program may, or may serve
            // forever.
            disabled: (!bench_dirs.is_empty()).then(|| {
                "a program may need arguments or never end; give `run:` what makes it do its work and exit".into()
            }),
        });
    }
    entries
}

/// A Cargo project's binaries and examples.
pub fn rust(root: &Path) -> Result<Vec<Entry>, InitError> {
    let Ok(out) = std::process::Command::new("cargo")
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .current_dir(root)
        .output()
    else {
        // No cargo: nothing can be built, and the config says so.
        return Ok(Vec::new());
    };
    if !out.status.success() {
        return Err(manifest_error(root.join("Cargo.toml"), &out.stderr));
    }
    let meta = serde_json::from_slice::<serde_json::Value>(&out.stdout).map_err(|e| {
        manifest_error(
            root.join("Cargo.toml"),
            format!("cargo metadata: {e}").as_bytes(),
        )
    })?;
    let target_dir = meta["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let root_abs = std::path::absolute(root).unwrap_or_else(|_| root.to_owned());
    let target_rel = target_dir
        .strip_prefix(&root_abs)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| target_dir.display().to_string());
    let locked = if root.join("Cargo.lock").exists() {
        " --locked"
    } else {
        ""
    };
    let valgrind = on_path("valgrind");
    let counter = crate::collect::malloc::available();
    let mut entries = Vec::new();
    let packages = meta["packages"].as_array().cloned().unwrap_or_default();
    let several = packages.len() > 1;
    for p in &packages {
        let pkg = p["name"].as_str().unwrap_or_default();
        // A global allocator of its own bypasses malloc, and the counter.
        let own_allocator = p["dependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d["name"].as_str())
            .find(|d| OWN_ALLOCATOR_CRATES.contains(d));
        for t in p["targets"].as_array().into_iter().flatten() {
            let kinds: Vec<&str> = t["kind"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|k| k.as_str())
                .collect();
            let example = kinds.contains(&"example");
            if !(kinds.contains(&"bin") || example) || entries.len() >= MAX_PROGRAMS {
                continue;
            }
            if t["required-features"]
                .as_array()
                .is_some_and(|f| !f.is_empty())
            {
                continue;
            }
            let target = t["name"].as_str().unwrap_or_default();
            let source = t["src_path"]
                .as_str()
                .and_then(|s| std::fs::read_to_string(s).ok())
                .unwrap_or_default();
            let name = workload_name(&if example {
                format!("example-{target}")
            } else {
                target.to_owned()
            });
            let (flag, path) = if example {
                (
                    "--example",
                    format!("{target_rel}/release/examples/{target}"),
                )
            } else {
                ("--bin", format!("{target_rel}/release/{target}"))
            };
            let package = if several {
                format!(" -p {pkg}")
            } else {
                String::new()
            };
            let what = if example { "example" } else { "binary" };
            let collect = match own_allocator {
                None if counter => "malloc",
                _ if valgrind => "valgrind-dhat",
                _ => "",
            };
            let mut comment = vec![match collect {
                "malloc" => format!(
                    "The {what} `{target}`: peak RSS, faults and CPU from outside, and every allocation counted by memgate's malloc counter (no code change, near native speed)."
                ),
                "valgrind-dhat" => format!(
                    "The {what} `{target}`: peak RSS, faults and CPU from outside, and its allocations under valgrind's DHAT (runs 50-100x slower: give it a small input and a longer timeout)."
                ),
                _ => {
                    format!("The {what} `{target}`, measured from outside (peak RSS, faults, CPU).")
                }
            }];
            if let Some(crate_name) = own_allocator {
                comment.push(format!(
                    "It depends on `{crate_name}`, an allocator that bypasses malloc: link memgate-probe for its allocations (README: \"Gate your own program\")."
                ));
            } else if collect == "malloc" {
                comment.push(
                    "Its allocation sites come from the counter's sampled stacks (`memgate explain`); run `memgate calibrate` to size tolerances."
                        .into(),
                );
            }
            entries.push(Entry {
                comment,
                yaml: vec![
                    format!("- name: {name}"),
                    "lang: rust".into(),
                    format!("build: cargo build --release{locked}{package} {flag} {target}"),
                    format!("run: {path}"),
                    format!("collect: [{collect}]"),
                ],
                disabled: needs_more(&source).map(|why| {
                    format!("it {why}; give `run:` the arguments that make it do its work and exit")
                }),
            });
        }
        let tested = p["targets"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|t| t["kind"].as_array().into_iter().flatten())
            .any(|k| k == "lib" || k == "test");
        if tested && counter && entries.len() < MAX_PROGRAMS {
            let (name, cargotest) = if several {
                (
                    workload_name(&format!("tests-{pkg}")),
                    format!("cargotest: {{ package: {pkg} }}"),
                )
            } else {
                ("tests".to_owned(), "cargotest: {}".to_owned())
            };
            entries.push(Entry {
                comment: vec![format!(
                    "The tests of `{pkg}`, each run alone on one thread under the malloc counter: a test whose allocations grow fails (at most 1,000 tests; `filter:` narrows them)."
                )],
                yaml: vec![
                    format!("- name: {name}"),
                    "lang: rust".into(),
                    cargotest,
                ],
                disabled: None,
            });
        }
    }
    Ok(entries)
}

/// Crates whose global allocator does not go through malloc.
const OWN_ALLOCATOR_CRATES: &[&str] = &[
    "tikv-jemallocator",
    "jemallocator",
    "mimalloc",
    "snmalloc-rs",
    "rpmalloc",
    "tcmalloc",
];

/// Why a program may not run to an end without arguments, from its source.
fn needs_more(source: &str) -> Option<&'static str> {
    let reads_args = ["env::args", "clap", "structopt", "argh", "Parser"];
    let serves = [
        "TcpListener",
        "UdpSocket",
        "tokio::main",
        "axum",
        "actix",
        "hyper",
    ];
    if serves.iter().any(|s| source.contains(s)) {
        Some("looks like a server, which never exits by itself")
    } else if reads_args.iter().any(|s| source.contains(s)) {
        Some("reads its arguments")
    } else {
        None
    }
}

/// Whether `program` is on PATH.
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_and_argument_readers_are_recognised() {
        assert_eq!(needs_more("fn main() { work(); }"), None);
        assert_eq!(
            needs_more("let a: Vec<String> = std::env::args().collect();"),
            Some("reads its arguments")
        );
        assert!(needs_more("#[tokio::main] async fn main() {}").is_some());
    }

    #[test]
    fn a_disabled_entry_is_commented_out_whole() {
        let e = Entry {
            comment: vec!["A program.".into()],
            yaml: vec!["- name: a".into(), "lang: go".into()],
            disabled: Some("why".into()),
        };
        assert_eq!(
            e.render(),
            "  # A program.\n  # Commented out: why\n  # - name: a\n  #   lang: go\n"
        );
    }
}
