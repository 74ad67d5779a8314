//! Crafted IDX datasets for the data tests.
#![allow(dead_code)]

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use intrinsic_dim::data::{self, DataConfig, IMAGE_LEN, idx};
use intrinsic_dim::rng::{self, Stream};

/// Pixels and labels of a crafted split.
pub struct Crafted {
    pub pixels: Vec<u8>,
    pub labels: Vec<u8>,
}

/// `n` random 28×28 images and labels from `seed` (test data only).
pub fn crafted(n: usize, seed: u64) -> Crafted {
    let mut r = rng::stream(seed, Stream::Misc, 0);
    let pixels = (0..n * IMAGE_LEN)
        .map(|_| rng::below(&mut r, 256) as u8)
        .collect();
    let labels = (0..n).map(|_| rng::below(&mut r, 10) as u8).collect();
    Crafted { pixels, labels }
}

pub fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    data::cache::hex(&sha2::Sha256::digest(bytes))
}

/// Write a dataset (train: `n_train`, test: `n_test` examples) into `dir`,
/// gzipped or not; returns the crafted contents.
pub fn write_dataset(dir: &Path, n_train: usize, n_test: usize, gzip: bool) -> (Crafted, Crafted) {
    fs::create_dir_all(dir).unwrap();
    let train = crafted(n_train, 1);
    let test = crafted(n_test, 2);
    let files = [
        (
            data::TRAIN_IMAGES,
            idx::encode_images(28, 28, &train.pixels),
        ),
        (data::TRAIN_LABELS, idx::encode_labels(&train.labels)),
        (data::TEST_IMAGES, idx::encode_images(28, 28, &test.pixels)),
        (data::TEST_LABELS, idx::encode_labels(&test.labels)),
    ];
    for (name, bytes) in files {
        if gzip {
            fs::write(dir.join(format!("{name}.gz")), gz(&bytes)).unwrap();
        } else {
            fs::write(dir.join(name), bytes).unwrap();
        }
    }
    (train, test)
}

/// Replace one file of `dir` (uncompressed name) by `bytes`.
pub fn replace(dir: &Path, name: &str, bytes: &[u8]) {
    fs::write(dir.join(name), bytes).unwrap();
}

pub fn config(dir: &Path, cache: &Path) -> DataConfig {
    DataConfig {
        dir: dir.to_path_buf(),
        cache_dir: Some(cache.to_path_buf()),
        ..DataConfig::mnist_default()
    }
}

/// The cached file of `name` for dataset `dir`.
pub fn cached_path(cache: &Path, dir: &Path, name: &str) -> PathBuf {
    data::cache::cache_subdir(cache, dir).join(name)
}

/// Naive standardisation, in f64: (p/255 − 0.1307)/0.3081.
pub fn naive(p: u8) -> f64 {
    (p as f64 / 255.0 - 0.1307) / 0.3081
}
