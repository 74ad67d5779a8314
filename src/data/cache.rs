//! Finding a dataset file, and the decompression cache for `.gz` inputs.
//!
//! For each IDX file `NAME` a dataset directory may hold `NAME` itself
//! (mapped directly, validated structurally but not hashed: it is the user's
//! file) or `NAME.gz`. A `.gz` file is decompressed **once** into
//! `<cache>/<dir-name>-<16 hex of SHA-256 of the directory's path>/NAME`:
//!
//! 1. the `.gz` is checked against `SHA256SUMS` in the dataset directory if
//!    that file lists it;
//! 2. it is decompressed into a temporary sibling
//!    ([`crate::fsutil::temp_sibling`], unique per process and call), hashing
//!    the output on the way, and flushed to disk;
//! 3. the output's SHA-256 is checked against `SHA256SUMS.uncompressed` if that
//!    file lists `NAME` (the bundled MNIST does), otherwise it is recorded;
//! 4. the temporary file is renamed into place (atomic), then a sidecar
//!    `NAME.meta` is written atomically with the source's size, mtime and
//!    SHA-256 and the cached file's size, mtime, inode and SHA-256.
//!
//! An interrupted run leaves at most a stray temporary file, never a
//! half-written `NAME` that is trusted later, and two processes extracting at
//! once each write their own temporary file and rename identical, verified
//! contents over each other.
//!
//! **Opening cheaply.** Hashing the 47 MB training images costs ~25 ms, far
//! over the 5 ms budget for opening the dataset, so later opens trust the
//! cached file when its size, modification time (ns) and inode, and the
//! source's size and mtime, all equal the sidecar's record and the sidecar's
//! hash equals the one in `SHA256SUMS.uncompressed` (when listed). Any
//! difference — truncation, a rewrite, a replaced file, a touched source, a
//! missing or malformed sidecar — triggers a full re-hash, and a file whose
//! hash is wrong is re-extracted instead of trusted. What the cheap check
//! cannot see is an in-place corruption that also restores size and mtime;
//! [`Verify::Full`] (see [`super::load_with`]) re-hashes every file to
//! catch that too.

use std::collections::HashMap;
use std::fs;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use sha2::{Digest, Sha256};

use super::DataError;
use crate::fsutil::{temp_sibling, write_atomic};

/// How much a cached file is checked when it is opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Verify {
    /// Trust a cached file whose size, mtime and inode match its sidecar
    /// (O(1)); re-hash only when they disagree.
    #[default]
    Cheap,
    /// Re-hash every cached file and its source on every open (O(bytes)).
    Full,
}

/// Where a dataset file lives after [`resolve`]: the path to map, and the
/// path to name in error messages (the `.gz` the bytes came from).
#[derive(Clone, Debug)]
pub struct Resolved {
    /// The uncompressed file to map.
    pub path: PathBuf,
    /// The user-visible name of the data: the `.gz` for cached files.
    pub display: PathBuf,
}

/// Lower-case hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of a file, streamed. O(bytes).
pub fn sha256_file(path: &Path) -> io::Result<String> {
    let mut f = fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

/// Parse a `sha256sum` listing: lines `<64 hex>  <name>` (or `<hex> *<name>`),
/// blank lines and `#` comments ignored. A malformed line is an error naming
/// its 1-based number, so a damaged sums file never silently skips a check.
/// O(bytes).
pub fn parse_sums(text: &[u8]) -> Result<HashMap<String, String>, usize> {
    let mut out = HashMap::new();
    let text = std::str::from_utf8(text).map_err(|_| 1usize)?;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let (hash, rest) = line.split_once(' ').ok_or(i + 1)?;
        let name = rest.trim_start_matches(' ').trim_start_matches('*');
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) || name.is_empty() {
            return Err(i + 1);
        }
        out.insert(name.to_string(), hash.to_ascii_lowercase());
    }
    Ok(out)
}

fn read_sums(path: &Path) -> Result<HashMap<String, String>, DataError> {
    match fs::read(path) {
        Ok(bytes) => parse_sums(&bytes).map_err(|line| DataError::BadSums {
            path: path.to_path_buf(),
            line,
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(HashMap::new()),
        Err(source) => Err(DataError::Io {
            path: path.to_path_buf(),
            action: "read the checksum list",
            source,
        }),
    }
}

/// What the sidecar records about one cached file and its source.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sidecar {
    /// Size of the `.gz` source in bytes.
    pub src_size: u64,
    /// Modification time of the source, ns since the Unix epoch.
    pub src_mtime: u128,
    /// SHA-256 of the source.
    pub src_sha: String,
    /// Size of the cached file.
    pub size: u64,
    /// Modification time of the cached file, ns since the Unix epoch.
    pub mtime: u128,
    /// Inode of the cached file (0 where the platform has none).
    pub ino: u64,
    /// SHA-256 of the cached file.
    pub sha: String,
}

const SIDECAR_TAG: &str = "idim-cache 1";

impl Sidecar {
    /// The text form: a tag line, then `key=value` lines. O(1).
    pub fn encode(&self) -> String {
        format!(
            "{SIDECAR_TAG}\nsrc_size={}\nsrc_mtime={}\nsrc_sha256={}\nsize={}\nmtime={}\nino={}\nsha256={}\n",
            self.src_size, self.src_mtime, self.src_sha, self.size, self.mtime, self.ino, self.sha
        )
    }

    /// Parse [`Sidecar::encode`]'s output; `None` for anything else (the
    /// caller then re-hashes or re-extracts). O(bytes).
    pub fn parse(bytes: &[u8]) -> Option<Sidecar> {
        let text = std::str::from_utf8(bytes).ok()?;
        let mut lines = text.lines();
        if lines.next()? != SIDECAR_TAG {
            return None;
        }
        let mut s = Sidecar::default();
        let mut seen = 0u32;
        for line in lines {
            let (k, v) = line.split_once('=')?;
            let bit = match k {
                "src_size" => {
                    s.src_size = v.parse().ok()?;
                    1
                }
                "src_mtime" => {
                    s.src_mtime = v.parse().ok()?;
                    2
                }
                "src_sha256" => {
                    s.src_sha = v.to_string();
                    4
                }
                "size" => {
                    s.size = v.parse().ok()?;
                    8
                }
                "mtime" => {
                    s.mtime = v.parse().ok()?;
                    16
                }
                "ino" => {
                    s.ino = v.parse().ok()?;
                    32
                }
                "sha256" => {
                    s.sha = v.to_string();
                    64
                }
                _ => return None,
            };
            seen |= bit;
        }
        let is_hash = |h: &str| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit());
        (seen == 127 && is_hash(&s.sha) && is_hash(&s.src_sha)).then_some(s)
    }
}

/// (size, mtime ns, inode) of a file.
fn identity(path: &Path) -> io::Result<(u64, u128, u64)> {
    let m = fs::metadata(path)?;
    let mtime = m
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    #[cfg(unix)]
    let ino = std::os::unix::fs::MetadataExt::ino(&m);
    #[cfg(not(unix))]
    let ino = 0u64;
    Ok((m.len(), mtime, ino))
}

/// The cache sub-directory for dataset directory `dir`. O(1).
pub fn cache_subdir(cache_root: &Path, dir: &Path) -> PathBuf {
    let canon = fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let digest = hex(&Sha256::digest(canon.as_os_str().as_encoded_bytes()));
    let base: String = canon
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    cache_root.join(format!("{base}-{}", &digest[..16]))
}

/// Find `name` in `dir` (uncompressed, else `.gz` through the cache).
/// `missing_hint` says where the bundled data is and how to point elsewhere.
pub fn resolve(
    dir: &Path,
    name: &str,
    cache_root: &Path,
    verify: Verify,
    missing_hint: &str,
) -> Result<Resolved, DataError> {
    let plain = dir.join(name);
    let gz = dir.join(format!("{name}.gz"));
    match fs::metadata(&plain) {
        Ok(_) => {
            return Ok(Resolved {
                path: plain.clone(),
                display: plain,
            });
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(DataError::Io {
                path: plain,
                action: "inspect",
                source,
            });
        }
    }
    match fs::metadata(&gz) {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(DataError::Missing {
                path: gz,
                alt: plain,
                hint: missing_hint.to_string(),
            });
        }
        Err(source) => {
            return Err(DataError::Io {
                path: gz,
                action: "inspect",
                source,
            });
        }
    }
    let path = ensure_cached(dir, name, &gz, cache_root, verify)?;
    Ok(Resolved { path, display: gz })
}

fn io_err<'a>(path: &'a Path, action: &'static str) -> impl FnOnce(io::Error) -> DataError + 'a {
    move |source| DataError::Io {
        path: path.to_path_buf(),
        action,
        source,
    }
}

/// Make sure `<cache subdir>/name` holds the verified decompression of `gz`
/// and return its path. O(1) when the sidecar matches, O(bytes) otherwise.
pub fn ensure_cached(
    dir: &Path,
    name: &str,
    gz: &Path,
    cache_root: &Path,
    verify: Verify,
) -> Result<PathBuf, DataError> {
    let sums_gz_path = dir.join("SHA256SUMS");
    let sums_raw_path = dir.join("SHA256SUMS.uncompressed");
    let expected_gz = read_sums(&sums_gz_path)?.remove(&format!("{name}.gz"));
    let expected_raw = read_sums(&sums_raw_path)?.remove(name);

    let sub = cache_subdir(cache_root, dir);
    fs::create_dir_all(&sub).map_err(|source| DataError::CacheDir {
        path: sub.clone(),
        source,
    })?;
    let cached = sub.join(name);
    let side_path = sub.join(format!("{name}.meta"));
    let (src_size, src_mtime, _) = identity(gz).map_err(io_err(gz, "inspect"))?;

    if let Some(side) = fs::read(&side_path).ok().and_then(|b| Sidecar::parse(&b))
        && let Some(ok) = check_cached(
            &side,
            gz,
            &cached,
            (src_size, src_mtime),
            expected_gz.as_deref(),
            expected_raw.as_deref(),
            verify,
        )?
    {
        if ok != side {
            // Best effort: a failure to refresh only costs a re-hash next time.
            let _ = write_atomic(&side_path, ok.encode().as_bytes());
        }
        return Ok(cached);
    }
    extract(
        gz,
        &cached,
        &side_path,
        expected_gz.as_deref().map(|h| (h, sums_gz_path.as_path())),
        expected_raw
            .as_deref()
            .map(|h| (h, sums_raw_path.as_path())),
    )?;
    Ok(cached)
}

/// `Some(sidecar to keep)` if the cached file can be trusted, `None` if it
/// must be re-extracted.
fn check_cached(
    side: &Sidecar,
    gz: &Path,
    cached: &Path,
    (src_size, src_mtime): (u64, u128),
    expected_gz: Option<&str>,
    expected_raw: Option<&str>,
    verify: Verify,
) -> Result<Option<Sidecar>, DataError> {
    let mut keep = side.clone();
    if expected_raw.is_some_and(|h| h != side.sha) || expected_gz.is_some_and(|h| h != side.src_sha)
    {
        return Ok(None);
    }
    // Is the source still the one that was extracted?
    if verify == Verify::Full || src_size != side.src_size || src_mtime != side.src_mtime {
        if src_size != side.src_size {
            return Ok(None);
        }
        let sha = sha256_file(gz).map_err(io_err(gz, "read"))?;
        if sha != side.src_sha {
            return Ok(None);
        }
        keep.src_mtime = src_mtime;
    }
    // Is the cached file still what was extracted?
    let Ok((size, mtime, ino)) = identity(cached) else {
        return Ok(None);
    };
    if verify == Verify::Full || size != side.size || mtime != side.mtime || ino != side.ino {
        if size != side.size {
            return Ok(None);
        }
        match sha256_file(cached) {
            Ok(sha) if sha == side.sha => {
                keep.mtime = mtime;
                keep.ino = ino;
            }
            _ => return Ok(None),
        }
    }
    Ok(Some(keep))
}

/// A writer that hashes what passes through it.
struct HashingWriter<W: Write> {
    inner: W,
    hash: Sha256,
    written: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Largest decompressed size accepted (guards against gzip bombs): 4 GiB.
pub const MAX_DECOMPRESSED: u64 = 4 << 30;

fn extract(
    gz: &Path,
    cached: &Path,
    side_path: &Path,
    expected_gz: Option<(&str, &Path)>,
    expected_raw: Option<(&str, &Path)>,
) -> Result<(), DataError> {
    let compressed = fs::read(gz).map_err(io_err(gz, "read"))?;
    let src_sha = hex(&Sha256::digest(&compressed));
    if let Some((want, sums)) = expected_gz
        && want != src_sha
    {
        return Err(DataError::Checksum {
            path: gz.to_path_buf(),
            sums: sums.to_path_buf(),
            expected: want.to_string(),
            actual: src_sha,
        });
    }
    let tmp = temp_sibling(cached);
    let result = (|| {
        let file = fs::File::create(&tmp).map_err(io_err(&tmp, "create"))?;
        let mut w = HashingWriter {
            inner: BufWriter::with_capacity(1 << 20, file),
            hash: Sha256::new(),
            written: 0,
        };
        let mut dec = flate2::read::MultiGzDecoder::new(&compressed[..]).take(MAX_DECOMPRESSED + 1);
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = match dec.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(DataError::Gzip {
                        path: gz.to_path_buf(),
                        source,
                    });
                }
            };
            w.write_all(&buf[..n])
                .map_err(io_err(&tmp, "write the decompressed cache file"))?;
        }
        if w.written > MAX_DECOMPRESSED {
            return Err(DataError::Gzip {
                path: gz.to_path_buf(),
                source: io::Error::other("decompresses to more than 4 GiB"),
            });
        }
        let sha = hex(&w.hash.finalize_reset());
        let file = w
            .inner
            .into_inner()
            .map_err(|e| io_err(&tmp, "write the decompressed cache file")(e.into_error()))?;
        file.sync_all().map_err(io_err(&tmp, "flush"))?;
        drop(file);
        if let Some((want, sums)) = expected_raw
            && want != sha
        {
            return Err(DataError::Checksum {
                path: gz.to_path_buf(),
                sums: sums.to_path_buf(),
                expected: want.to_string(),
                actual: sha,
            });
        }
        fs::rename(&tmp, cached).map_err(io_err(cached, "rename the decompressed file into"))?;
        Ok(sha)
    })();
    let sha = match result {
        Ok(sha) => sha,
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
    };
    let (src_size, src_mtime, _) = identity(gz).map_err(io_err(gz, "inspect"))?;
    let (size, mtime, ino) = identity(cached).map_err(io_err(cached, "inspect"))?;
    let side = Sidecar {
        src_size,
        src_mtime,
        src_sha,
        size,
        mtime,
        ino,
        sha,
    };
    // Best effort: without a sidecar the next open re-hashes or re-extracts.
    let _ = write_atomic(side_path, side.encode().as_bytes());
    Ok(())
}
