//! Compressed checkpoints: a trained subspace network stored as what defines it.
//!
//! θ_D = θ_0 + P·θ_d, and θ_0 and P are functions of their seeds, so the
//! tuple (model, seed of θ_0, projection kind, seed of P, θ_d) *is* the
//! network: about 4·d bytes plus a small header (fc at d = 750: 3,090 bytes
//! instead of the 796,840 of θ_D).
//!
//! # Format (version 1, every integer little-endian)
//!
//! | offset | bytes | field |
//! |--------|-------|-------|
//! | 0      | 8     | magic `IDIMCKPT` |
//! | 8      | 4     | format version, u32 = 1 |
//! | 12     | 2     | n = length of the model name, u16, 1 ≤ n ≤ 255 |
//! | 14     | n     | model name, UTF-8, as `Arch::name()` writes and `Arch::parse` reads |
//! | +0     | 1     | projection: 0 none (full space, P = I, payload θ_D), 1 dense, 2 sparse, 3 fastfood |
//! | +1     | 8     | D, u64 (must equal the model's parameter count) |
//! | +9     | 8     | d, u64 (1 ≤ d ≤ D; d = D for projection 0) |
//! | +17    | 8     | seed of θ_0, u64 |
//! | +25    | 8     | seed of P, u64 |
//! | +33    | 1     | 1 if the pixels were shuffled, else 0 |
//! | +34    | 8     | pixel-shuffle seed, u64 (0 if not shuffled) |
//! | +42    | 8     | recorded correct test predictions, u64 |
//! | +50    | 8     | test examples, u64 |
//! | +58    | 8     | recorded test accuracy, f64 bits |
//! | +66    | 4·d   | θ_d (or θ_D), f32 bits |
//! | end−8  | 8     | checksum: FNV-1a 64 of every preceding byte |
//!
//! FNV-1a 64 (offset basis 0xcbf29ce484222325, prime 0x100000001b3) is
//! written by hand here: it detects accidental corruption (truncation,
//! flipped bits), not tampering.
//!
//! The reader never panics: every malformed input is a [`CheckpointError`]
//! that says what is wrong. Checks, in order: length, magic, version,
//! structure and total size, checksum, then meaning (projection code,
//! d ≤ D, model name in its canonical spelling, D = the model's parameter
//! count, finite values). Every accepted file re-encodes to the same bytes.

use std::path::Path;

use crate::fsutil;
use crate::nn::{Arch, Network};
use crate::projection::ProjectionKind;
use crate::train::ProjSpec;

/// The 8 magic bytes that open every checkpoint.
pub const MAGIC: [u8; 8] = *b"IDIMCKPT";
/// The format version this build writes and reads.
pub const VERSION: u32 = 1;
/// The fixed part of the header after the model name.
const FIXED_AFTER_NAME: usize = 66;

/// Why a checkpoint could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The file could not be read or written.
    #[error("checkpoint {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Fewer bytes than the header needs.
    #[error("checkpoint is truncated: {got} bytes, the header alone needs {needed}")]
    Truncated {
        /// Bytes needed.
        needed: usize,
        /// Bytes present.
        got: usize,
    },
    /// The file does not start with `IDIMCKPT`.
    #[error("not an idim checkpoint (the file does not start with the magic bytes IDIMCKPT)")]
    BadMagic,
    /// A format version this build does not read.
    #[error(
        "checkpoint format version {found} is not supported (this build reads version {VERSION}); use the idim that wrote it"
    )]
    Version {
        /// The version found.
        found: u32,
    },
    /// The model name is empty, too long or not UTF-8.
    #[error("checkpoint model name is malformed: {0}")]
    BadName(String),
    /// The total size does not match 4·d plus the header.
    #[error(
        "checkpoint size is inconsistent: d = {d} needs {expected} bytes, the file has {got} (truncated or corrupt)"
    )]
    Size {
        /// The recorded d.
        d: u64,
        /// Bytes expected.
        expected: u128,
        /// Bytes present.
        got: usize,
    },
    /// The checksum does not match the contents.
    #[error(
        "checkpoint checksum mismatch (stored {stored:#018x}, computed {computed:#018x}): the file is corrupt"
    )]
    Checksum {
        /// The stored checksum.
        stored: u64,
        /// The checksum of the contents.
        computed: u64,
    },
    /// Unknown projection code.
    #[error(
        "checkpoint names unknown projection code {0} (known: 0 none, 1 dense, 2 sparse, 3 fastfood)"
    )]
    Projection(u8),
    /// A flag byte other than 0 or 1.
    #[error("checkpoint pixel-shuffle flag is {0}, expected 0 or 1")]
    Flag(u8),
    /// d = 0, d > D, or d ≠ D for full-space checkpoints.
    #[error("checkpoint dimensions are inconsistent: {0}")]
    Dims(String),
    /// The model name is not a model this build knows.
    #[error("checkpoint model {name:?} is unknown: {reason}")]
    Model {
        /// The recorded name.
        name: String,
        /// Why it was rejected.
        reason: String,
    },
    /// D differs from the model's parameter count.
    #[error("checkpoint says D = {recorded}, but model {model} has {actual} parameters")]
    ModelSize {
        /// The model.
        model: String,
        /// D in the file.
        recorded: u64,
        /// The model's real parameter count.
        actual: usize,
    },
    /// The recorded accuracy is inconsistent or a parameter is NaN/∞.
    #[error("checkpoint values are invalid: {0}")]
    Values(String),
}

/// FNV-1a 64 of `bytes`. O(n).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A decoded checkpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    /// The model (its `name()` is stored).
    pub arch: Arch,
    /// The projection (or [`ProjSpec::None`] for full-space training).
    pub proj: ProjSpec,
    /// D, the model's parameter count.
    pub big_dim: usize,
    /// d (= D for [`ProjSpec::None`]).
    pub small_dim: usize,
    /// Seed of θ_0.
    pub seed: u64,
    /// Seed of P.
    pub proj_seed: u64,
    /// Seed of the pixel permutation, if the dataset's pixels were shuffled.
    pub pixel_shuffle_seed: Option<u64>,
    /// Correct test predictions at training time.
    pub test_correct: u64,
    /// Test examples at training time.
    pub test_examples: u64,
    /// Test accuracy at training time (`test_correct / test_examples`).
    pub test_accuracy: f64,
    /// θ_d (θ_D for [`ProjSpec::None`]).
    pub params: Vec<f32>,
}

fn proj_code(p: ProjSpec) -> u8 {
    match p {
        ProjSpec::None => 0,
        ProjSpec::Kind(ProjectionKind::Dense) => 1,
        ProjSpec::Kind(ProjectionKind::Sparse) => 2,
        ProjSpec::Kind(ProjectionKind::Fastfood) => 3,
    }
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> &[u8] {
        let s = &self.b[self.pos..self.pos + n];
        self.pos += n;
        s
    }
    fn u8(&mut self) -> u8 {
        self.take(1)[0]
    }
    fn u64(&mut self) -> u64 {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8));
        u64::from_le_bytes(a)
    }
}

impl Checkpoint {
    /// The encoded bytes (see the module docs). O(d).
    pub fn to_bytes(&self) -> Vec<u8> {
        let name = self.arch.name();
        let mut v =
            Vec::with_capacity(14 + name.len() + FIXED_AFTER_NAME + 4 * self.params.len() + 8);
        v.extend_from_slice(&MAGIC);
        v.extend_from_slice(&VERSION.to_le_bytes());
        v.extend_from_slice(&(name.len() as u16).to_le_bytes());
        v.extend_from_slice(name.as_bytes());
        v.push(proj_code(self.proj));
        v.extend_from_slice(&(self.big_dim as u64).to_le_bytes());
        v.extend_from_slice(&(self.small_dim as u64).to_le_bytes());
        v.extend_from_slice(&self.seed.to_le_bytes());
        v.extend_from_slice(&self.proj_seed.to_le_bytes());
        v.push(self.pixel_shuffle_seed.is_some() as u8);
        v.extend_from_slice(&self.pixel_shuffle_seed.unwrap_or(0).to_le_bytes());
        v.extend_from_slice(&self.test_correct.to_le_bytes());
        v.extend_from_slice(&self.test_examples.to_le_bytes());
        v.extend_from_slice(&self.test_accuracy.to_bits().to_le_bytes());
        for p in &self.params {
            v.extend_from_slice(&p.to_bits().to_le_bytes());
        }
        let h = fnv1a64(&v);
        v.extend_from_slice(&h.to_le_bytes());
        v
    }

    /// Decodes and validates `bytes`. Never panics; see the module docs for
    /// the checks. O(len) plus building the model's layout once.
    pub fn from_bytes(bytes: &[u8]) -> Result<Checkpoint, CheckpointError> {
        let min = 14;
        if bytes.len() < min {
            return Err(CheckpointError::Truncated {
                needed: min,
                got: bytes.len(),
            });
        }
        if bytes[..8] != MAGIC {
            return Err(CheckpointError::BadMagic);
        }
        let version = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        if version != VERSION {
            return Err(CheckpointError::Version { found: version });
        }
        let n = u16::from_le_bytes([bytes[12], bytes[13]]) as usize;
        if n == 0 || n > 255 {
            return Err(CheckpointError::BadName(format!(
                "length {n}, expected 1 to 255 bytes"
            )));
        }
        let header = 14 + n + FIXED_AFTER_NAME;
        if bytes.len() < header + 8 {
            return Err(CheckpointError::Truncated {
                needed: header + 8,
                got: bytes.len(),
            });
        }
        let mut r = Reader { b: bytes, pos: 14 };
        let name_bytes = r.take(n);
        let name = std::str::from_utf8(name_bytes)
            .map_err(|e| CheckpointError::BadName(format!("not UTF-8: {e}")))?
            .to_string();
        let code = r.u8();
        let big = r.u64();
        let small = r.u64();
        let expected = header as u128 + 4 * small as u128 + 8;
        if expected != bytes.len() as u128 {
            return Err(CheckpointError::Size {
                d: small,
                expected,
                got: bytes.len(),
            });
        }
        let body = bytes.len() - 8;
        let mut s = [0u8; 8];
        s.copy_from_slice(&bytes[body..]);
        let stored = u64::from_le_bytes(s);
        let computed = fnv1a64(&bytes[..body]);
        if stored != computed {
            return Err(CheckpointError::Checksum { stored, computed });
        }
        let seed = r.u64();
        let proj_seed = r.u64();
        let flag = r.u8();
        let pixel_seed = r.u64();
        let test_correct = r.u64();
        let test_examples = r.u64();
        let test_accuracy = f64::from_bits(r.u64());
        let proj = match code {
            0 => ProjSpec::None,
            1 => ProjSpec::Kind(ProjectionKind::Dense),
            2 => ProjSpec::Kind(ProjectionKind::Sparse),
            3 => ProjSpec::Kind(ProjectionKind::Fastfood),
            c => return Err(CheckpointError::Projection(c)),
        };
        let pixel_shuffle_seed = match flag {
            0 if pixel_seed != 0 => {
                return Err(CheckpointError::Values(format!(
                    "pixel-shuffle seed {pixel_seed} recorded without the pixel-shuffle flag"
                )));
            }
            0 => None,
            1 => Some(pixel_seed),
            f => return Err(CheckpointError::Flag(f)),
        };
        if small == 0 {
            return Err(CheckpointError::Dims("d = 0".into()));
        }
        if small > big {
            return Err(CheckpointError::Dims(format!("d = {small} > D = {big}")));
        }
        if proj == ProjSpec::None && small != big {
            return Err(CheckpointError::Dims(format!(
                "a full-space checkpoint needs d = D, found d = {small}, D = {big}"
            )));
        }
        let arch = Arch::parse(&name).map_err(|e| CheckpointError::Model {
            name: name.clone(),
            reason: e.to_string(),
        })?;
        if arch.name() != name {
            return Err(CheckpointError::Model {
                reason: format!("not the canonical spelling; idim writes {:?}", arch.name()),
                name,
            });
        }
        let actual = Network::new(&arch, 1)
            .map_err(|e| CheckpointError::Model {
                name: name.clone(),
                reason: e.to_string(),
            })?
            .num_params();
        if actual as u64 != big {
            return Err(CheckpointError::ModelSize {
                model: name,
                recorded: big,
                actual,
            });
        }
        if test_examples == 0 || test_correct > test_examples {
            return Err(CheckpointError::Values(format!(
                "{test_correct} correct out of {test_examples} test examples"
            )));
        }
        if test_accuracy.to_bits() != (test_correct as f64 / test_examples as f64).to_bits() {
            return Err(CheckpointError::Values(format!(
                "recorded accuracy {test_accuracy} ≠ {test_correct}/{test_examples}"
            )));
        }
        let mut params = Vec::with_capacity(small as usize);
        for (i, c) in bytes[header..body].chunks_exact(4).enumerate() {
            let v = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            if !v.is_finite() {
                return Err(CheckpointError::Values(format!(
                    "parameter {i} is {v}, not finite"
                )));
            }
            params.push(v);
        }
        Ok(Checkpoint {
            arch,
            proj,
            big_dim: big as usize,
            small_dim: small as usize,
            seed,
            proj_seed,
            pixel_shuffle_seed,
            test_correct,
            test_examples,
            test_accuracy,
            params,
        })
    }

    /// Writes the checkpoint atomically (temporary sibling + rename): a
    /// failed write leaves no partial file. O(d).
    pub fn save(&self, path: &Path) -> Result<(), CheckpointError> {
        fsutil::write_atomic(path, &self.to_bytes()).map_err(|source| CheckpointError::Io {
            path: path.display().to_string(),
            source,
        })
    }

    /// Reads and validates a checkpoint file. O(file size).
    pub fn load(path: &Path) -> Result<Checkpoint, CheckpointError> {
        let bytes = std::fs::read(path).map_err(|source| CheckpointError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Checkpoint::from_bytes(&bytes)
    }

    /// Size of the encoded checkpoint in bytes: 14 + name + 66 + 4·d + 8.
    pub fn encoded_len(&self) -> usize {
        14 + self.arch.name().len() + FIXED_AFTER_NAME + 4 * self.params.len() + 8
    }
}
