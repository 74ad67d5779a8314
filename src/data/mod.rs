//! Datasets: bytes on disk → validated, memory-mapped examples → batches.
//!
//! [`load`] finds the four IDX files of an MNIST-format dataset
//! (`train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
//! `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each either
//! uncompressed or as `NAME.gz`) in [`DataConfig::dir`], decompresses `.gz`
//! files once into a verified cache ([`cache`]), memory-maps them
//! ([`idx`] validates every byte range before use) and applies the paper's
//! dataset variants. Images stay in the mapping: [`Split::image`] is a
//! zero-copy `&[u8]` view. [`Batcher`] turns a split into shuffled,
//! standardised `f32` batches in caller-owned buffers.
//!
//! Any dataset in this format with 28×28 images and 10 classes loads the same
//! way (Fashion-MNIST uses the same file names): point [`DataConfig::dir`] at
//! its directory.
//!
//! **Cache directory**, first that applies: [`DataConfig::cache_dir`] (the
//! trainer's `--cache-dir`), the environment variable `IDIM_CACHE_DIR`, else
//! [`DEFAULT_CACHE_DIR`] = `<crate root>/target/idim-cache` (the crate root is
//! fixed at compile time, so `cargo run` and `cargo test` from anywhere in a
//! clone share one cache).
//!
//! **Variants** (the paper's experiments), applied in this order, each from
//! its own seeded [`crate::rng`] stream:
//! 1. training subset: keep the first `train_subset` training examples;
//! 2. validation split: `validation` examples drawn uniformly without
//!    replacement from that training set (stream [`Stream::Validation`],
//!    seed `label_seed`) become [`Dataset::validation`]; both splits keep the
//!    file order;
//! 3. shuffled labels: exactly `round(label_noise · N_train)` training
//!    examples, drawn uniformly without replacement, get a label drawn
//!    uniformly from 0..10 (stream [`Stream::Labels`], seed `label_seed`). As
//!    in the paper's code the new label is random, so it equals the original
//!    with probability 1/10: about 90 % of the replaced labels change. Only
//!    the training split is noised; validation and test labels stay true;
//! 4. shuffled pixels: one permutation π of the 784 pixels (stream
//!    [`Stream::Pixels`], seed `pixel_shuffle_seed`), the same for every image
//!    of every split, applied while batching: row pixel `j` is image pixel
//!    `π[j]`. [`Split::image`] returns the stored, unpermuted image.

pub mod batch;
pub mod cache;
pub mod idx;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::rng::{self, Stream};

pub use batch::{Batcher, MNIST_MEAN, MNIST_STD, standardise};
pub use cache::Verify;

/// Pixels per image: 28 × 28.
pub const IMAGE_LEN: usize = 784;
/// Number of classes (digits 0–9).
pub const NUM_CLASSES: usize = 10;
/// The bundled MNIST directory of this clone (fixed at compile time).
pub const BUNDLED_MNIST_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/datasets/mnist");
/// The default cache directory (fixed at compile time); see the module docs.
pub const DEFAULT_CACHE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/target/idim-cache");
/// File names of the four IDX files.
pub const TRAIN_IMAGES: &str = "train-images-idx3-ubyte";
/// See [`TRAIN_IMAGES`].
pub const TRAIN_LABELS: &str = "train-labels-idx1-ubyte";
/// See [`TRAIN_IMAGES`].
pub const TEST_IMAGES: &str = "t10k-images-idx3-ubyte";
/// See [`TRAIN_IMAGES`].
pub const TEST_LABELS: &str = "t10k-labels-idx1-ubyte";

/// Everything that can go wrong reading a dataset. Every message names the
/// file (or option) and says what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// Neither `NAME` nor `NAME.gz` exists.
    #[error("{}: not found (nor {}). {hint}", path.display(), alt.display())]
    Missing {
        /// The `.gz` path looked for.
        path: PathBuf,
        /// The uncompressed path looked for.
        alt: PathBuf,
        /// Where the bundled copy is expected and how to point elsewhere.
        hint: String,
    },
    /// An I/O error.
    #[error("{}: cannot {action}: {source}; check that it exists and is readable", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The cache directory cannot be created.
    #[error("{}: cannot create the cache directory: {source}; set --cache-dir or IDIM_CACHE_DIR to a writable directory", path.display())]
    CacheDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The file is shorter than its header.
    #[error("{}: {actual} bytes is shorter than the {needed}-byte IDX header: the file is truncated or not an IDX file; restore or re-download it", path.display())]
    ShortHeader {
        /// The file.
        path: PathBuf,
        /// Header length.
        needed: usize,
        /// File length.
        actual: usize,
    },
    /// Wrong magic number.
    #[error("{}: magic number 0x{found:08x}, expected 0x{expected:08x}: {hint}", path.display())]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The magic found.
        found: u32,
        /// The magic expected.
        expected: u32,
        /// A guess at what the file is.
        hint: String,
    },
    /// The header's dimensions disagree with the file length.
    #[error("{}: the header says {dims}, i.e. {expected} bytes, but the file has {actual} bytes: it is {}; restore or re-download it", path.display(), if actual < expected { "truncated" } else { "padded with extra bytes" })]
    LengthMismatch {
        /// The file.
        path: PathBuf,
        /// The header's dimensions.
        dims: String,
        /// Length implied by the header.
        expected: u64,
        /// Actual length.
        actual: u64,
    },
    /// The header's dimensions overflow when multiplied.
    #[error("{}: the header says {dims}, whose size overflows: not a valid IDX file; restore or re-download it", path.display())]
    Overflow {
        /// The file.
        path: PathBuf,
        /// The header's dimensions.
        dims: String,
    },
    /// Images are not 28×28.
    #[error("{}: images are {rows}×{cols} pixels but only 28×28 datasets with 10 classes (MNIST, Fashion-MNIST) are supported; point --data-dir at such a dataset", path.display())]
    BadShape {
        /// The file.
        path: PathBuf,
        /// Rows per image.
        rows: usize,
        /// Columns per image.
        cols: usize,
    },
    /// Image and label counts differ.
    #[error("{} holds {images} images but {} holds {labels} labels: both files must come from the same dataset split; restore or re-download them", images_path.display(), labels_path.display())]
    CountMismatch {
        /// The images file.
        images_path: PathBuf,
        /// The labels file.
        labels_path: PathBuf,
        /// Number of images.
        images: usize,
        /// Number of labels.
        labels: usize,
    },
    /// A label outside 0..=9.
    #[error("{}: label {value} of example {index} is outside 0..=9: the file is damaged or not a 10-class dataset; restore or re-download it", path.display())]
    BadLabel {
        /// The file.
        path: PathBuf,
        /// Example index.
        index: usize,
        /// The label.
        value: u8,
    },
    /// A SHA-256 mismatch against a checksum list.
    #[error("{}: SHA-256 {actual} (of the decompressed data for SHA256SUMS.uncompressed) does not match {expected} listed in {}: the file is damaged or is not the one listed; restore it (e.g. `git checkout -- datasets/`) or fix the checksum list", path.display(), sums.display())]
    Checksum {
        /// The file whose content is wrong.
        path: PathBuf,
        /// The checksum list.
        sums: PathBuf,
        /// Listed hash.
        expected: String,
        /// Actual hash.
        actual: String,
    },
    /// A malformed checksum list.
    #[error("{}: line {line} is not `<64 hex digits>  <file name>`: fix or delete the checksum list", path.display())]
    BadSums {
        /// The checksum list.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
    },
    /// The gzip stream is damaged.
    #[error("{}: gzip decompression failed: {source}; the .gz file is damaged: restore or re-download it", path.display())]
    Gzip {
        /// The `.gz` file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// An invalid option.
    #[error("data option {option}: {message}")]
    Config {
        /// The option (DataConfig field / trainer flag).
        option: &'static str,
        /// What is wrong and what to do.
        message: String,
    },
}

/// Where the data is and which variant of it to build.
#[derive(Clone, Debug, PartialEq)]
pub struct DataConfig {
    /// Directory with the four IDX files (`.gz` or uncompressed).
    pub dir: PathBuf,
    /// Decompression cache; `None`: `IDIM_CACHE_DIR`, else [`DEFAULT_CACHE_DIR`].
    pub cache_dir: Option<PathBuf>,
    /// `Some(seed)`: shuffle the 784 pixels with one fixed permutation.
    pub pixel_shuffle_seed: Option<u64>,
    /// Fraction 0..=1 of training labels replaced by random labels.
    pub label_noise: f32,
    /// Seed of the label noise and of the validation split.
    pub label_seed: u64,
    /// `Some(n)`: train on the first n training examples only.
    pub train_subset: Option<usize>,
    /// Number of training examples held out as a validation split (0: none).
    pub validation: usize,
}

impl DataConfig {
    /// The bundled MNIST ([`BUNDLED_MNIST_DIR`]) with no variants and the
    /// default cache.
    pub fn mnist_default() -> DataConfig {
        DataConfig {
            dir: PathBuf::from(BUNDLED_MNIST_DIR),
            cache_dir: None,
            pixel_shuffle_seed: None,
            label_noise: 0.0,
            label_seed: 0,
            train_subset: None,
            validation: 0,
        }
    }

    /// The cache directory this configuration uses (see the module docs).
    pub fn resolved_cache_dir(&self) -> PathBuf {
        if let Some(d) = &self.cache_dir {
            return d.clone();
        }
        match std::env::var_os("IDIM_CACHE_DIR") {
            Some(d) if !d.is_empty() => PathBuf::from(d),
            _ => PathBuf::from(DEFAULT_CACHE_DIR),
        }
    }
}

/// The mapped (or, for empty files, owned) bytes of one file.
#[derive(Debug)]
enum Bytes {
    Map(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Map(m) => m,
            Bytes::Owned(v) => v,
        }
    }
}

fn map_file(path: &Path) -> Result<Bytes, DataError> {
    let file = fs::File::open(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        action: "open",
        source,
    })?;
    let len = file
        .metadata()
        .map_err(|source| DataError::Io {
            path: path.to_path_buf(),
            action: "inspect",
            source,
        })?
        .len();
    if len < idx::IMAGES_HEADER as u64 {
        // Too small to map usefully (and zero-length maps are not portable).
        return fs::read(path)
            .map(Bytes::Owned)
            .map_err(|source| DataError::Io {
                path: path.to_path_buf(),
                action: "read",
                source,
            });
    }
    // SAFETY: the mapping is read-only. Cached files are only ever replaced
    // by renaming a new file over them, never modified in place, so the
    // mapped inode does not change under us; a user-supplied uncompressed
    // file must likewise not be truncated while the program runs.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        action: "memory-map",
        source,
    })?;
    Ok(Bytes::Map(map))
}

/// One split (train, validation or test): zero-copy images, owned labels.
/// Cloning is cheap (reference-counted).
#[derive(Clone, Debug)]
pub struct Split {
    name: &'static str,
    bytes: Arc<Bytes>,
    /// Split position → example index in the file; `None`: the identity.
    rows: Option<Arc<[u32]>>,
    labels: Arc<[u8]>,
    pixel_perm: Option<Arc<[u16]>>,
    replaced: usize,
}

impl Split {
    /// "train", "validation" or "test".
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the split has no examples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The index in the IDX file of split example `i` (differs from `i`
    /// only in a split carved out by the validation variant). O(1).
    ///
    /// # Panics
    /// If `i >= self.len()`.
    pub fn source_index(&self, i: usize) -> usize {
        match &self.rows {
            Some(r) => r[i] as usize,
            None => {
                assert!(i < self.len(), "example index {i} out of range");
                i
            }
        }
    }

    /// Image `i` as stored (784 bytes, row-major, 0 = background), a
    /// zero-copy view of the mapping. The shuffled-pixels permutation is not
    /// applied here but while batching. O(1).
    ///
    /// # Panics
    /// If `i >= self.len()`.
    pub fn image(&self, i: usize) -> &[u8] {
        let row = self.source_index(i);
        let start = idx::IMAGES_HEADER + row * IMAGE_LEN;
        &self.bytes[start..start + IMAGE_LEN]
    }

    /// Label of example `i` (after label noise, for the training split). O(1).
    ///
    /// # Panics
    /// If `i >= self.len()`.
    pub fn label(&self, i: usize) -> u8 {
        self.labels[i]
    }

    /// All labels in split order.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// How many examples occur per class. O(len).
    pub fn label_histogram(&self) -> [usize; NUM_CLASSES] {
        let mut h = [0usize; NUM_CLASSES];
        for &l in self.labels.iter() {
            h[l as usize] += 1;
        }
        h
    }

    /// The shuffled-pixels permutation π (row pixel j = image pixel π\[j\]), if any.
    pub fn pixel_permutation(&self) -> Option<&[u16]> {
        self.pixel_perm.as_deref()
    }

    /// Number of labels that were replaced by random ones (label noise);
    /// about a tenth of them happen to equal the original.
    pub fn replaced_labels(&self) -> usize {
        self.replaced
    }

    /// Write example `i` as one standardised row of 784 `f32`
    /// ([`standardise`], pixel permutation applied) into `out`. O(784).
    ///
    /// # Panics
    /// If `i >= self.len()` or `out.len() != IMAGE_LEN`.
    pub fn fill_row(&self, i: usize, out: &mut [f32]) {
        batch::fill_row(self.image(i), self.pixel_permutation(), out);
    }

    /// Fill rows for the examples `indices` (split positions) into `x`
    /// (`indices.len()·784` values used) and `y`. No allocation.
    /// O(indices.len()·784).
    ///
    /// # Panics
    /// If an index is out of range or `x`/`y` are too short.
    pub fn fill_indices(&self, indices: &[u32], x: &mut [f32], y: &mut [u8]) {
        let n = indices.len();
        assert!(
            x.len() >= n * IMAGE_LEN && y.len() >= n,
            "batch buffers too short"
        );
        for (k, ((&i, row), label)) in indices
            .iter()
            .zip(x.chunks_exact_mut(IMAGE_LEN))
            .zip(y.iter_mut())
            .enumerate()
        {
            // Random order over a 47 MB mapping: fetch an image two rows
            // ahead so its cache and TLB misses overlap the current row.
            if let Some(&ahead) = indices.get(k + PREFETCH_ROWS) {
                prefetch(self.image(ahead as usize));
            }
            self.fill_row(i as usize, row);
            *label = self.labels[i as usize];
        }
    }

    /// Fill the examples `start..start+count` (clipped to the split) in
    /// order, for evaluation; returns the number of rows written. No
    /// allocation. O(count·784).
    ///
    /// # Panics
    /// If `x`/`y` are too short for the rows written.
    pub fn fill_batch(&self, start: usize, count: usize, x: &mut [f32], y: &mut [u8]) -> usize {
        let end = start.saturating_add(count).min(self.len());
        let n = end.saturating_sub(start);
        assert!(
            x.len() >= n * IMAGE_LEN && y.len() >= n,
            "batch buffers too short"
        );
        for (k, i) in (start..end).enumerate() {
            self.fill_row(i, &mut x[k * IMAGE_LEN..(k + 1) * IMAGE_LEN]);
            y[k] = self.labels[i];
        }
        n
    }
}

/// How many rows ahead [`Split::fill_indices`] prefetches.
const PREFETCH_ROWS: usize = 2;

/// Hint the CPU to bring `bytes` into cache (no effect on results).
#[inline]
fn prefetch(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    for line in (0..bytes.len())
        .step_by(64)
        .chain(std::iter::once(bytes.len().saturating_sub(1)))
    {
        // SAFETY: a prefetch has no architectural effect and the address
        // lies inside `bytes`.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                bytes.as_ptr().add(line) as *const i8,
            )
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
}

/// The loaded dataset.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// Training examples (after subset, validation carve-out and label noise).
    pub train: Split,
    /// The 10,000 test examples (true labels).
    pub test: Split,
    /// The held-out validation split, if `validation > 0` (true labels).
    pub validation: Option<Split>,
}

fn missing_hint(dir: &Path) -> String {
    format!(
        "Looked in the data directory {}. The bundled MNIST is expected at {} (restore it with \
         `git checkout -- datasets/`); to use another dataset directory pass --data-dir DIR \
         (DataConfig::dir); it must hold the four IDX files, gzipped (NAME.gz) or not.",
        dir.display(),
        BUNDLED_MNIST_DIR
    )
}

/// One validated images + labels pair.
struct Pair {
    bytes: Arc<Bytes>,
    labels: Vec<u8>,
}

fn open_pair(
    dir: &Path,
    cache_root: &Path,
    verify: Verify,
    images: &str,
    labels: &str,
) -> Result<Pair, DataError> {
    let hint = missing_hint(dir);
    let img = cache::resolve(dir, images, cache_root, verify, &hint)?;
    let lab = cache::resolve(dir, labels, cache_root, verify, &hint)?;
    let img_bytes = map_file(&img.path)?;
    let (header, _) = idx::parse_images(&img_bytes, &img.display)?;
    if header.rows != 28 || header.cols != 28 {
        return Err(DataError::BadShape {
            path: img.display,
            rows: header.rows,
            cols: header.cols,
        });
    }
    let lab_bytes = fs::read(&lab.path).map_err(|source| DataError::Io {
        path: lab.path.clone(),
        action: "read",
        source,
    })?;
    let label_vec = idx::parse_labels(&lab_bytes, &lab.display)?.to_vec();
    if label_vec.len() != header.count {
        return Err(DataError::CountMismatch {
            images_path: img.display,
            labels_path: lab.display,
            images: header.count,
            labels: label_vec.len(),
        });
    }
    Ok(Pair {
        bytes: Arc::new(img_bytes),
        labels: label_vec,
    })
}

/// Load the dataset described by `cfg` with the cheap cache check
/// ([`Verify::Cheap`]). O(labels) when cached; the first call per dataset
/// directory decompresses and hashes the `.gz` files (O(bytes), ~0.5 s for MNIST).
pub fn load(cfg: &DataConfig) -> Result<Dataset, DataError> {
    load_with(cfg, Verify::Cheap)
}

/// [`load`] with an explicit cache verification level.
pub fn load_with(cfg: &DataConfig, verify: Verify) -> Result<Dataset, DataError> {
    if !(cfg.label_noise.is_finite() && (0.0..=1.0).contains(&cfg.label_noise)) {
        return Err(DataError::Config {
            option: "label_noise (--label-noise)",
            message: format!("{} is not a fraction in 0..=1", cfg.label_noise),
        });
    }
    let cache_root = cfg.resolved_cache_dir();
    let train = open_pair(&cfg.dir, &cache_root, verify, TRAIN_IMAGES, TRAIN_LABELS)?;
    let test = open_pair(&cfg.dir, &cache_root, verify, TEST_IMAGES, TEST_LABELS)?;
    let pixel_perm: Option<Arc<[u16]>> = cfg.pixel_shuffle_seed.map(|seed| {
        let mut r = rng::stream(seed, Stream::Pixels, 0);
        rng::permutation(&mut r, IMAGE_LEN)
            .into_iter()
            .map(|p| p as u16)
            .collect()
    });

    // 1. Training subset.
    let full = train.labels.len();
    let n = match cfg.train_subset {
        None => full,
        Some(n) if n >= 1 && n <= full => n,
        Some(n) => {
            return Err(DataError::Config {
                option: "train_subset (--train-subset)",
                message: format!("{n} is not in 1..={full}, the size of the training set"),
            });
        }
    };
    // 2. Validation carve-out.
    if cfg.validation >= n {
        return Err(DataError::Config {
            option: "validation (--validation)",
            message: format!(
                "{} held-out examples leave none of the {n} training examples: use fewer",
                cfg.validation
            ),
        });
    }
    let (train_rows, val_rows): (Option<Vec<u32>>, Option<Vec<u32>>) = if cfg.validation > 0 {
        let mut r = rng::stream(cfg.label_seed, Stream::Validation, 0);
        let perm = rng::permutation(&mut r, n);
        let mut held = vec![false; n];
        for &p in &perm[..cfg.validation] {
            held[p as usize] = true;
        }
        let (mut t, mut v) = (Vec::with_capacity(n - cfg.validation), Vec::new());
        for (i, &h) in held.iter().enumerate() {
            if h { &mut v } else { &mut t }.push(i as u32);
        }
        (Some(t), Some(v))
    } else {
        (None, None)
    };
    let take = |rows: &Option<Vec<u32>>, len: usize| -> Vec<u8> {
        match rows {
            Some(r) => r.iter().map(|&i| train.labels[i as usize]).collect(),
            None => train.labels[..len].to_vec(),
        }
    };
    let mut train_labels = take(&train_rows, n);
    // 3. Label noise.
    let n_train = train_labels.len();
    let replaced = (cfg.label_noise as f64 * n_train as f64).round() as usize;
    if replaced > 0 {
        let mut pick = rng::stream(cfg.label_seed, Stream::Labels, 0);
        let mut draw = rng::stream(cfg.label_seed, Stream::Labels, 1);
        // Partial Fisher–Yates: the first `replaced` entries are a uniform
        // sample without replacement.
        let mut order: Vec<u32> = (0..n_train as u32).collect();
        for k in 0..replaced {
            let j = k + rng::below(&mut pick, (n_train - k) as u64) as usize;
            order.swap(k, j);
            train_labels[order[k] as usize] = rng::below(&mut draw, NUM_CLASSES as u64) as u8;
        }
    }

    let validation = val_rows.as_ref().map(|v| Split {
        name: "validation",
        bytes: train.bytes.clone(),
        labels: take(&val_rows, 0).into(),
        rows: Some(v.clone().into()),
        pixel_perm: pixel_perm.clone(),
        replaced: 0,
    });
    let train_split = Split {
        name: "train",
        bytes: train.bytes.clone(),
        labels: train_labels.into(),
        rows: train_rows.map(Into::into),
        pixel_perm: pixel_perm.clone(),
        replaced,
    };
    let test_split = Split {
        name: "test",
        bytes: test.bytes,
        labels: test.labels.into(),
        rows: None,
        pixel_perm,
        replaced: 0,
    };
    Ok(Dataset {
        train: train_split,
        test: test_split,
        validation,
    })
}
