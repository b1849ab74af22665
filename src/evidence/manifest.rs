//! A SHA-256 manifest beside the files a run wrote: `SHA256SUMS` in each folder, in the
//! format of `sha256sum` (`<hex>  <name>`), so `sha256sum -c SHA256SUMS` checks them with
//! no project code. Entries for other files already in the manifest are kept; the manifest
//! is replaced atomically.

use super::RecordError;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The manifest's file name.
pub const MANIFEST_NAME: &str = "SHA256SUMS";

/// SHA-256 of a file, hex.
pub fn sha256_file(path: &Path) -> Result<String, RecordError> {
    let io = |what, source| RecordError::Io {
        path: path.to_path_buf(),
        what,
        source,
    };
    let mut f = File::open(path).map_err(|e| io("cannot open to hash", e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| io("read error while hashing", e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Adds (or updates) `files` in the `SHA256SUMS` of their folders; returns the manifests
/// written.
pub fn add_to_manifests(files: &[PathBuf]) -> Result<Vec<PathBuf>, RecordError> {
    let mut by_dir: BTreeMap<PathBuf, Vec<&PathBuf>> = BTreeMap::new();
    for f in files {
        let dir = f
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        by_dir.entry(dir).or_default().push(f);
    }
    let mut written = Vec::new();
    for (dir, fs) in by_dir {
        let manifest = dir.join(MANIFEST_NAME);
        let mut entries: BTreeMap<String, String> = BTreeMap::new();
        if let Ok(text) = std::fs::read_to_string(&manifest) {
            for line in text.lines() {
                if let Some((hash, name)) = line.split_once("  ") {
                    entries.insert(name.to_string(), hash.to_string());
                }
            }
        }
        for f in fs {
            let name = f
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            entries.insert(name, sha256_file(f)?);
        }
        let text: String = entries
            .iter()
            .map(|(name, hash)| format!("{hash}  {name}\n"))
            .collect();
        let tmp = dir.join(format!(".{MANIFEST_NAME}.tmp{}", std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut f = File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, &manifest)
        };
        write().map_err(|source| {
            let _ = std::fs::remove_file(&tmp);
            RecordError::Io {
                path: manifest.clone(),
                what: "cannot write the manifest",
                source,
            }
        })?;
        written.push(manifest);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_matches_known_digests_and_merges() {
        let d = tempfile::tempdir().expect("tempdir");
        let a = d.path().join("a.txt");
        let b = d.path().join("b.txt");
        std::fs::write(&a, b"abc").expect("write");
        std::fs::write(&b, b"").expect("write");
        add_to_manifests(std::slice::from_ref(&a)).expect("manifest");
        add_to_manifests(&[b]).expect("manifest");
        let text = std::fs::read_to_string(d.path().join(MANIFEST_NAME)).expect("read");
        // FIPS 180-2 example "abc", and the digest of the empty string.
        assert_eq!(
            text,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  a.txt\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  b.txt\n"
        );
        // Updating a file replaces its entry.
        std::fs::write(&a, b"").expect("write");
        add_to_manifests(&[a]).expect("manifest");
        let text = std::fs::read_to_string(d.path().join(MANIFEST_NAME)).expect("read");
        assert_eq!(text.lines().count(), 2);
        assert!(text.starts_with("e3b0c442"));
    }
}
