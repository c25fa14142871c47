//! The environment fingerprint recorded with every results file: machine,
//! kernel, toolchains, repository state, CI run and memory settings that
//! change what memory metrics read.
//!
//! Every probe here is best effort: a missing tool or file gives `None`,
//! never an error, because a fingerprint must not stop a measurement. The
//! gate decides what a difference between two fingerprints means.

use std::path::Path;
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

/// Where and with what a set of workloads ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// `linux`, `macos`, ...
    pub os: String,
    /// The distribution's PRETTY_NAME from /etc/os-release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_release: Option<String>,
    /// Kernel release (`uname -r`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<String>,
    /// CPU architecture.
    pub arch: String,
    /// CPU model name from /proc/cpuinfo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_model: Option<String>,
    /// Logical CPUs available to memgate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cores: Option<u32>,
    /// Total memory, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<u64>,
    /// `rustc --version`, when rustc is on PATH.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rustc: Option<String>,
    /// `go version`, when go is on PATH.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub go: Option<String>,
    /// The repository the config lives in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitInfo>,
    /// The CI run, when memgate runs in CI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci: Option<CiInfo>,
    /// Transparent huge page settings, which move RSS by up to 50% for small heaps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thp: Option<ThpSettings>,
}

/// Repository state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct GitInfo {
    /// Full commit hash of HEAD.
    pub commit: String,
    /// Branch name, absent on a detached HEAD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Whether tracked files had uncommitted changes.
    pub dirty: bool,
}

/// The CI provider and run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CiInfo {
    /// `github-actions`, `gitlab-ci`, `buildkite`, `circleci` or `unknown`.
    pub provider: String,
    /// The provider's run or pipeline id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
}

/// `/sys/kernel/mm/transparent_hugepage` settings, the selected value of each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ThpSettings {
    /// `enabled`: always, madvise or never.
    pub enabled: String,
    /// `defrag` policy.
    pub defrag: String,
    /// `khugepaged/max_ptes_none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ptes_none: Option<u32>,
}

impl Environment {
    /// Probes the current machine; `repo` is the directory whose git state is recorded.
    pub fn detect(repo: &Path) -> Environment {
        Environment {
            os: std::env::consts::OS.to_owned(),
            os_release: os_release(),
            kernel: read_trimmed("/proc/sys/kernel/osrelease"),
            arch: std::env::consts::ARCH.to_owned(),
            cpu_model: cpu_model(),
            cores: std::thread::available_parallelism()
                .ok()
                .map(|n| n.get() as u32),
            memory_bytes: mem_total(),
            rustc: tool_version("rustc", &["--version"]),
            go: tool_version("go", &["version"]),
            git: git_info(repo),
            ci: ci_info(|k| std::env::var(k).ok()),
            thp: thp_settings(Path::new("/sys/kernel/mm/transparent_hugepage")),
        }
    }
}

/// The current time as RFC 3339 UTC, to the second.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

fn os_release() -> Option<String> {
    let text = std::fs::read_to_string("/etc/os-release").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_owned())
}

fn cpu_model() -> Option<String> {
    let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    text.lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
}

pub(crate) fn mem_total() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// First line of a tool's version output; `None` when the tool is absent or fails.
fn tool_version(tool: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(tool)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .map(|l| l.trim().to_owned())
}

fn git(repo: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn git_info(repo: &Path) -> Option<GitInfo> {
    let commit = git(repo, &["rev-parse", "HEAD"])?;
    let branch = git(repo, &["symbolic-ref", "--short", "-q", "HEAD"]).filter(|b| !b.is_empty());
    let dirty = git(repo, &["status", "--porcelain", "--untracked-files=no"])
        .is_some_and(|s| !s.is_empty());
    Some(GitInfo {
        commit,
        branch,
        dirty,
    })
}

/// The CI provider from its documented environment variables.
fn ci_info(var: impl Fn(&str) -> Option<String>) -> Option<CiInfo> {
    let known: [(&str, &str, &str); 4] = [
        ("GITHUB_ACTIONS", "github-actions", "GITHUB_RUN_ID"),
        ("GITLAB_CI", "gitlab-ci", "CI_PIPELINE_ID"),
        ("BUILDKITE", "buildkite", "BUILDKITE_BUILD_ID"),
        ("CIRCLECI", "circleci", "CIRCLE_WORKFLOW_ID"),
    ];
    for (flag, provider, id) in known {
        if var(flag).is_some_and(|v| v == "true") {
            return Some(CiInfo {
                provider: provider.into(),
                run_id: var(id),
            });
        }
    }
    var("CI")
        .filter(|v| v == "true" || v == "1")
        .map(|_| CiInfo {
            provider: "unknown".into(),
            run_id: None,
        })
}

/// The bracketed choice of a sysfs setting such as `always [madvise] never`.
fn selected(text: &str) -> String {
    text.split_whitespace()
        .find_map(|w| w.strip_prefix('[').and_then(|w| w.strip_suffix(']')))
        .unwrap_or(text.trim())
        .to_owned()
}

fn thp_settings(dir: &Path) -> Option<ThpSettings> {
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
    Some(ThpSettings {
        enabled: selected(&read("enabled")?),
        defrag: selected(&read("defrag")?),
        max_ptes_none: read("khugepaged/max_ptes_none").and_then(|s| s.trim().parse().ok()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_provider_from_variables() {
        let gh = |k: &str| match k {
            "GITHUB_ACTIONS" => Some("true".into()),
            "GITHUB_RUN_ID" => Some("42".into()),
            _ => None,
        };
        assert_eq!(
            ci_info(gh),
            Some(CiInfo {
                provider: "github-actions".into(),
                run_id: Some("42".into())
            })
        );
        assert_eq!(ci_info(|_| None), None);
    }

    #[test]
    fn sysfs_choice_is_the_bracketed_word() {
        assert_eq!(selected("always [madvise] never\n"), "madvise");
        assert_eq!(selected("511\n"), "511");
    }

    #[test]
    fn detects_this_machine() {
        let env = Environment::detect(Path::new("."));
        assert_eq!(env.os, std::env::consts::OS);
        assert!(env.cores.unwrap_or(0) >= 1);
        if cfg!(target_os = "linux") {
            assert!(env.kernel.is_some());
            assert!(env.memory_bytes.unwrap_or(0) > 0);
        }
    }
}
