//! The decompression cache: damaged cache files are re-extracted, and
//! concurrent extraction (threads and processes) never corrupts anything.

mod data_support;

use std::fs;
use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::{Duration, SystemTime};

use data_support::*;
use intrinsic_dim::data::{self, Verify, idx};

/// Check the cached training images are exactly the crafted bytes.
fn assert_cache_intact(cache: &Path, dir: &Path, train: &Crafted) {
    let cached = cached_path(cache, dir, data::TRAIN_IMAGES);
    let bytes = fs::read(&cached).unwrap();
    assert_eq!(bytes, idx::encode_images(28, 28, &train.pixels));
    // No temporary file is left behind.
    let sub = cached.parent().unwrap();
    for e in fs::read_dir(sub).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.ends_with(".tmp"), "stray temporary {name}");
    }
}

#[test]
fn truncated_cache_file_is_re_extracted() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, cache) = (tmp.path().join("ds"), tmp.path().join("c"));
    let (train, _) = write_dataset(&dir, 20, 4, true);
    data::load(&config(&dir, &cache)).unwrap();
    let cached = cached_path(&cache, &dir, data::TRAIN_IMAGES);
    let len = fs::metadata(&cached).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&cached)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let d = data::load(&config(&dir, &cache)).unwrap();
    assert_eq!(d.train.image(19), &train.pixels[19 * 784..20 * 784]);
    assert_cache_intact(&cache, &dir, &train);
}

fn flip_byte(path: &Path, at: usize) {
    let mut bytes = fs::read(path).unwrap();
    bytes[at] ^= 0x55;
    fs::write(path, bytes).unwrap();
}

#[test]
fn corrupted_cache_file_is_re_extracted() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, cache) = (tmp.path().join("ds"), tmp.path().join("c"));
    let (train, _) = write_dataset(&dir, 20, 4, true);
    data::load(&config(&dir, &cache)).unwrap();
    let cached = cached_path(&cache, &dir, data::TRAIN_IMAGES);
    // Same size, one pixel changed; a later write moves the mtime.
    flip_byte(&cached, 100);
    let later = SystemTime::now() + Duration::from_secs(5);
    fs::File::options()
        .write(true)
        .open(&cached)
        .unwrap()
        .set_modified(later)
        .unwrap();
    let d = data::load(&config(&dir, &cache)).unwrap();
    assert_eq!(d.train.image(0), &train.pixels[..784]);
    assert_cache_intact(&cache, &dir, &train);
}

#[test]
fn corruption_hiding_its_mtime_is_caught_by_full_verification() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, cache) = (tmp.path().join("ds"), tmp.path().join("c"));
    let (train, _) = write_dataset(&dir, 20, 4, true);
    data::load(&config(&dir, &cache)).unwrap();
    let cached = cached_path(&cache, &dir, data::TRAIN_IMAGES);
    let mtime = fs::metadata(&cached).unwrap().modified().unwrap();
    // Corrupt in place (same inode, same size) and restore the mtime.
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = fs::File::options().write(true).open(&cached).unwrap();
        f.seek(SeekFrom::Start(500)).unwrap();
        f.write_all(&[0xAA, 0xBB]).unwrap();
        f.set_modified(mtime).unwrap();
    }
    assert_ne!(
        fs::read(&cached).unwrap(),
        idx::encode_images(28, 28, &train.pixels)
    );
    let d = data::load_with(&config(&dir, &cache), Verify::Full).unwrap();
    assert_eq!(d.train.image(0), &train.pixels[..784]);
    assert_cache_intact(&cache, &dir, &train);
}

#[test]
fn half_written_cache_without_sidecar_is_not_trusted() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, cache) = (tmp.path().join("ds"), tmp.path().join("c"));
    let (train, _) = write_dataset(&dir, 20, 4, true);
    // As if a run died after writing part of the file (and no sidecar).
    let cached = cached_path(&cache, &dir, data::TRAIN_IMAGES);
    fs::create_dir_all(cached.parent().unwrap()).unwrap();
    let full = idx::encode_images(28, 28, &train.pixels);
    fs::write(&cached, &full[..1000]).unwrap();
    data::load(&config(&dir, &cache)).unwrap();
    assert_cache_intact(&cache, &dir, &train);
}

#[test]
fn changed_source_is_re_extracted() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, cache) = (tmp.path().join("ds"), tmp.path().join("c"));
    write_dataset(&dir, 20, 4, true);
    data::load(&config(&dir, &cache)).unwrap();
    // Swap in another dataset under the same names (as for Fashion-MNIST).
    let other = crafted(20, 99);
    fs::write(
        dir.join(format!("{}.gz", data::TRAIN_IMAGES)),
        gz(&idx::encode_images(28, 28, &other.pixels)),
    )
    .unwrap();
    let d = data::load(&config(&dir, &cache)).unwrap();
    assert_eq!(d.train.image(3), &other.pixels[3 * 784..4 * 784]);
}

#[test]
fn listed_checksums_are_honoured() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, cache) = (tmp.path().join("ds"), tmp.path().join("c"));
    let (train, test) = write_dataset(&dir, 20, 4, true);
    let raw = [
        (
            data::TRAIN_IMAGES,
            idx::encode_images(28, 28, &train.pixels),
        ),
        (data::TRAIN_LABELS, idx::encode_labels(&train.labels)),
        (data::TEST_IMAGES, idx::encode_images(28, 28, &test.pixels)),
        (data::TEST_LABELS, idx::encode_labels(&test.labels)),
    ];
    let mut sums_raw = String::new();
    let mut sums_gz = String::new();
    for (name, bytes) in &raw {
        sums_raw += &format!("{}  {name}\n", sha256_hex(bytes));
        let gz_bytes = fs::read(dir.join(format!("{name}.gz"))).unwrap();
        sums_gz += &format!("{}  {name}.gz\n", sha256_hex(&gz_bytes));
    }
    fs::write(dir.join("SHA256SUMS.uncompressed"), sums_raw).unwrap();
    fs::write(dir.join("SHA256SUMS"), sums_gz).unwrap();
    data::load(&config(&dir, &cache)).unwrap();
    data::load_with(&config(&dir, &cache), Verify::Full).unwrap();
    assert_cache_intact(&cache, &dir, &train);
}

#[test]
fn threads_extracting_at_once_do_not_corrupt_each_other() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, cache) = (tmp.path().join("ds"), tmp.path().join("c"));
    let (train, _) = write_dataset(&dir, 300, 10, true);
    let barrier = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (dir, cache, barrier) = (dir.clone(), cache.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let d = data::load(&config(&dir, &cache)).unwrap();
                (0..d.train.len())
                    .flat_map(|i| d.train.image(i).to_vec())
                    .collect::<Vec<u8>>()
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), train.pixels);
    }
    assert_cache_intact(&cache, &dir, &train);
}

const CHILD_ENV: &str = "IDIM_TEST_EXTRACT_CHILD";

/// Runs only when spawned by `processes_extracting_at_once…`: extract
/// and check one dataset, then exit.
#[test]
fn child_extract() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (dir, cache) = spec.split_once('|').unwrap();
    let d = data::load(&config(Path::new(dir), Path::new(cache))).unwrap();
    let want = crafted(300, 1);
    for i in 0..d.train.len() {
        assert_eq!(d.train.image(i), &want.pixels[i * 784..(i + 1) * 784]);
    }
}

#[test]
fn processes_extracting_at_once_do_not_corrupt_each_other() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, cache) = (tmp.path().join("ds"), tmp.path().join("c"));
    let (train, _) = write_dataset(&dir, 300, 10, true);
    let exe = std::env::current_exe().unwrap();
    let spec = format!("{}|{}", dir.display(), cache.display());
    let children: Vec<_> = (0..3)
        .map(|_| {
            std::process::Command::new(&exe)
                .args(["--exact", "child_extract", "--test-threads=1"])
                .env(CHILD_ENV, &spec)
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    assert_cache_intact(&cache, &dir, &train);
}
