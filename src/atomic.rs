//! Atomic file output: every file memgate writes (results, baselines,
//! reports) goes to a temporary file in the same directory and is renamed
//! over the target, so a reader sees the old file or the new one, never half.
//! After Ctrl-C or SIGTERM ([`crate::interrupt`]) no file is written.

use std::io::Write;
use std::path::{Path, PathBuf};

/// A file that could not be written; the previous content is untouched.
#[derive(Debug, thiserror::Error)]
#[error("{}: cannot write the file: {source}", path.display())]
pub struct WriteError {
    /// The target path.
    pub path: PathBuf,
    /// The I/O error.
    #[source]
    pub source: std::io::Error,
}

/// An output path that names one of the command's inputs (or another of
/// its outputs): writing it would replace what the command reads, so a
/// check could write failing results over the baseline it compares with.
#[derive(Debug, thiserror::Error)]
#[error("{flag} {} is {what} too: refusing to write over it; name another file", path.display())]
pub struct OutputIsInput {
    /// The option naming the output (`-o`, `--verdicts`, ...).
    pub flag: &'static str,
    /// The path as given.
    pub path: PathBuf,
    /// What else the path is (`the baseline (--baseline)`, `the config`).
    pub what: String,
}

/// Refuses, before anything runs or is written, an output that is the same
/// file as an input or as an earlier output. Files that exist are compared
/// by device and inode (another spelling, a symlink or a hard link is the
/// same file); a path that does not exist yet, by its absolute form.
pub fn check_outputs(
    inputs: &[(&str, &Path)],
    outputs: &[(&'static str, &Path)],
) -> Result<(), OutputIsInput> {
    let key = |p: &Path| -> Option<FileKey> {
        #[cfg(unix)]
        if let Ok(m) = std::fs::metadata(p) {
            use std::os::unix::fs::MetadataExt;
            return Some(FileKey::Inode(m.dev(), m.ino()));
        }
        std::path::absolute(p).ok().map(FileKey::Path)
    };
    let mut seen: Vec<(FileKey, String)> = inputs
        .iter()
        .filter_map(|(what, p)| key(p).map(|k| (k, (*what).to_owned())))
        .collect();
    for (flag, path) in outputs {
        let Some(k) = key(path) else { continue };
        if let Some((_, what)) = seen.iter().find(|(s, _)| *s == k) {
            return Err(OutputIsInput {
                flag,
                path: path.to_path_buf(),
                what: what.clone(),
            });
        }
        seen.push((k, format!("the output of {flag}")));
    }
    Ok(())
}

/// What identifies a file for [`check_outputs`].
#[derive(Debug, PartialEq, Eq)]
enum FileKey {
    Inode(u64, u64),
    Path(PathBuf),
}

/// Writes `bytes` to `path` atomically, creating missing parent directories.
pub fn write(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    write_with(path, |file| file.write_all(bytes))
}

/// Writes what `fill` writes to `path` atomically (through a temporary
/// file beside it, synced, then renamed), creating missing parent
/// directories.
fn write_with(
    path: &Path,
    fill: impl FnOnce(&mut std::io::BufWriter<&mut std::fs::File>) -> std::io::Result<()>,
) -> Result<(), WriteError> {
    let err = |source| WriteError {
        path: path.to_owned(),
        source,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let stopped = || {
        err(std::io::Error::new(
            std::io::ErrorKind::Interrupted,
            "memgate was interrupted; nothing is written after the signal",
        ))
    };
    if crate::interrupt::interrupted() {
        return Err(stopped());
    }
    std::fs::create_dir_all(dir).map_err(|e| {
        // "File exists" says little: name the ancestor that is a file.
        match dir.ancestors().find(|a| a.is_file()) {
            Some(file) => err(std::io::Error::new(
                e.kind(),
                format!("{} is a file, not a directory", file.display()),
            )),
            None => err(e),
        }
    })?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".memgate-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(err)?;
    // Removed if a second signal ends memgate before the rename; a first
    // one stops the rename below, and the temporary file goes with `tmp`.
    let _pending = crate::interrupt::pending(tmp.path().to_owned());
    // A temporary file is private (0600); the output gets the target's
    // permissions when it exists, else the usual 0644.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map(|m| m.permissions().mode())
            .unwrap_or(0o644);
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(err)?;
    }
    {
        let mut out = std::io::BufWriter::with_capacity(1 << 16, tmp.as_file_mut());
        fill(&mut out).map_err(err)?;
        out.flush().map_err(err)?;
    }
    tmp.as_file().sync_all().map_err(err)?;
    // A signal either came before this check (nothing is written) or
    // waits for the rename to end.
    let renaming = crate::interrupt::renaming();
    if crate::interrupt::interrupted() {
        return Err(stopped());
    }
    tmp.persist(path).map_err(|e| err(e.error))?;
    drop(renaming);
    Ok(())
}

/// Serializes `value` as memgate's JSON ([`crate::json`]) and writes it
/// atomically.
/// (Streamed to the file: a large verdicts file is never held twice.)
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), WriteError> {
    write_with(path, |out| {
        crate::json::to_writer(&mut *out, value)?;
        out.write_all(b"\n")
    })
}

/// [`write_json`] of `shell` with `items` in its empty top-level array
/// field `key`, the items serialized on every core
/// ([`crate::json::to_writer_with`]).
pub fn write_json_with<T: serde::Serialize, I: serde::Serialize + Sync>(
    path: &Path,
    shell: &T,
    key: &str,
    items: &[I],
) -> Result<(), WriteError> {
    write_with(path, |out| {
        crate::json::to_writer_with(&mut *out, shell, key, items)?;
        out.write_all(b"\n")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_output_naming_an_input_or_another_output_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("base.json");
        write(&base, b"{}").unwrap();
        let other = dir.path().join(".").join("base.json");
        let e = check_outputs(&[("the baseline", &base)], &[("-o", &other)]).unwrap_err();
        assert_eq!(e.what, "the baseline");
        #[cfg(unix)]
        {
            let link = dir.path().join("link.json");
            std::os::unix::fs::symlink(&base, &link).unwrap();
            assert!(check_outputs(&[("the baseline", &base)], &[("-o", &link)]).is_err());
        }
        let fresh = dir.path().join("new.json");
        let e = check_outputs(&[], &[("-o", &fresh), ("--report", &fresh)]).unwrap_err();
        assert_eq!(e.what, "the output of -o");
        // Distinct files pass.
        check_outputs(&[("the baseline", &base)], &[("-o", &fresh)]).unwrap();
    }

    #[test]
    fn replaces_the_file_and_leaves_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/out.json");
        write(&path, b"old").unwrap();
        write(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o644
            );
        }
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["out.json"]);
    }
}
