//! Reading input files with a bound on their size: a config, a results or
//! verdicts file, an imported file or a workload's output is read whole,
//! so each kind has a limit, and a file past it (`-c /dev/zero`, a 1 GB
//! results file) is an error naming it instead of memory without bound.

use std::io::Read;
use std::path::Path;

/// Largest config file: configs are kilobytes.
pub const CONFIG_LIMIT: u64 = 16 << 20;
/// Largest results, verdicts, imported file, or workload output read whole.
pub const FILE_LIMIT: u64 = 512 << 20;

/// The bytes of `path`, or an error when it holds more than `limit`
/// (read up to one byte past it, so a device or pipe without end is
/// bounded too).
pub fn read(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    let too_large = || {
        std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!("larger than {} MiB, the most memgate reads", limit >> 20),
        )
    };
    let file = std::fs::File::open(path)?;
    // A regular file says its size: refused before a byte is read, and
    // read into room made once.
    let size = file
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    if size.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(size.map_or(0, |n| n as usize + 1));
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(bytes)
}

/// [`read`], as UTF-8 text.
pub fn read_to_string(path: &Path, limit: u64) -> std::io::Result<String> {
    String::from_utf8(read(path, limit)?).map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
        )
    })
}

/// Why gzip-compressed bytes could not be read within a bound.
#[derive(Debug)]
pub enum GunzipError {
    /// Not a whole gzip stream.
    Corrupt(std::io::Error),
    /// Past the bound, decompressed.
    TooLarge,
}

/// `bytes` decompressed when they are gzip (by the magic bytes, RFC
/// 1952), `None` when they are not; decompressing stops one byte past
/// `limit`, so a small file cannot expand without bound.
pub fn gunzip(bytes: &[u8], limit: u64) -> Result<Option<Vec<u8>>, GunzipError> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(None);
    }
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .take(limit + 1)
        .read_to_end(&mut raw)
        .map_err(GunzipError::Corrupt)?;
    if raw.len() as u64 > limit {
        return Err(GunzipError::TooLarge);
    }
    Ok(Some(raw))
}

/// Whether JSON text is an object (what memgate's files are), before
/// serde reads it: serde would take an array for a struct's fields and say
/// "expected a string", or name an internal type.
pub fn is_json_object(text: &str) -> bool {
    text.trim_start().starts_with('{')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_past_its_limit_is_an_error_and_an_endless_one_is_bounded() {
        let e = read(Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::FileTooLarge);
        assert!(e.to_string().contains("larger than 1 MiB"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, [b'x'; 100]).unwrap();
        assert_eq!(read(&p, 100).unwrap().len(), 100);
        assert!(read(&p, 99).is_err());
    }
}
