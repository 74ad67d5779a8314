//! IDX round trips on crafted files, one test per validation error, and the
//! fuzz corpus replayed through the parsers.

mod data_support;

use std::fs;
use std::path::Path;

use data_support::*;
use intrinsic_dim::data::{self, DataError, IMAGE_LEN, idx};

fn expect_err(dir: &Path, cache: &Path) -> DataError {
    match data::load(&config(dir, cache)) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    }
}

fn assert_names(e: &DataError, file: &str) {
    let msg = e.to_string();
    assert!(msg.contains(file), "message does not name {file}: {msg}");
}

#[test]
fn round_trip_uncompressed_and_gzipped() {
    for gzip in [false, true] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("ds");
        let (train, test) = write_dataset(&dir, 37, 11, gzip);
        let d = data::load(&config(&dir, &tmp.path().join("cache"))).unwrap();
        assert_eq!((d.train.len(), d.test.len()), (37, 11));
        for (split, c) in [(&d.train, &train), (&d.test, &test)] {
            for i in 0..split.len() {
                assert_eq!(
                    split.image(i),
                    &c.pixels[i * IMAGE_LEN..(i + 1) * IMAGE_LEN]
                );
                assert_eq!(split.label(i), c.labels[i]);
            }
            // In-order evaluation batches against the naive formula.
            let mut x = vec![0f32; 8 * IMAGE_LEN];
            let mut y = vec![0u8; 8];
            let mut start = 0;
            loop {
                let n = split.fill_batch(start, 8, &mut x, &mut y);
                if n == 0 {
                    break;
                }
                for k in 0..n {
                    let i = start + k;
                    assert_eq!(y[k], c.labels[i]);
                    for j in 0..IMAGE_LEN {
                        let want = naive(c.pixels[i * IMAGE_LEN + j]);
                        let got = x[k * IMAGE_LEN + j] as f64;
                        assert!((got - want).abs() <= 1e-6 * want.abs().max(1.0));
                    }
                }
                start += n;
            }
            assert_eq!(start, split.len());
        }
    }
}

#[test]
fn parsers_on_exact_bytes() {
    let p = Path::new("x");
    let lab = idx::encode_labels(&[3, 0, 9]);
    assert_eq!(idx::parse_labels(&lab, p).unwrap(), &[3, 0, 9]);
    let img = idx::encode_images(2, 3, &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    let (h, px) = idx::parse_images(&img, p).unwrap();
    assert_eq!((h.count, h.rows, h.cols), (2, 2, 3));
    assert_eq!(px, &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    // Empty files of both kinds are valid IDX.
    assert_eq!(
        idx::parse_labels(&idx::encode_labels(&[]), p)
            .unwrap()
            .len(),
        0
    );
}

#[test]
fn missing_file_says_where_and_how() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("empty");
    fs::create_dir(&dir).unwrap();
    let e = expect_err(&dir, &tmp.path().join("c"));
    assert!(matches!(e, DataError::Missing { .. }), "{e:?}");
    assert_names(&e, data::TRAIN_IMAGES);
    assert_names(&e, data::BUNDLED_MNIST_DIR);
    assert_names(&e, "--data-dir");
}

#[test]
fn wrong_magic() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ds");
    let (train, _) = write_dataset(&dir, 5, 3, false);
    // A labels file where the images belong.
    replace(&dir, data::TRAIN_IMAGES, &idx::encode_labels(&train.labels));
    let e = expect_err(&dir, &tmp.path().join("c"));
    assert!(
        matches!(
            e,
            DataError::BadMagic {
                found: 0x801,
                expected: 0x803,
                ..
            }
        ),
        "{e:?}"
    );
    assert_names(&e, data::TRAIN_IMAGES);
    assert_names(&e, "swapped");
}

#[test]
fn truncated_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ds");
    let (_, test) = write_dataset(&dir, 5, 3, false);
    let bytes = idx::encode_images(28, 28, &test.pixels);
    replace(&dir, data::TEST_IMAGES, &bytes[..bytes.len() - 1]);
    let e = expect_err(&dir, &tmp.path().join("c"));
    assert!(
        matches!(e, DataError::LengthMismatch { expected, actual, .. } if actual + 1 == expected),
        "{e:?}"
    );
    assert_names(&e, data::TEST_IMAGES);
    assert_names(&e, "truncated");
}

#[test]
fn padded_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ds");
    let (_, test) = write_dataset(&dir, 5, 3, false);
    let mut bytes = idx::encode_labels(&test.labels);
    bytes.push(0);
    replace(&dir, data::TEST_LABELS, &bytes);
    let e = expect_err(&dir, &tmp.path().join("c"));
    assert!(matches!(e, DataError::LengthMismatch { .. }), "{e:?}");
    assert_names(&e, data::TEST_LABELS);
    assert_names(&e, "padded");
}

#[test]
fn short_header() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ds");
    write_dataset(&dir, 5, 3, false);
    replace(&dir, data::TRAIN_LABELS, &[0, 0, 8, 1, 0]);
    let e = expect_err(&dir, &tmp.path().join("c"));
    assert!(
        matches!(e, DataError::ShortHeader { actual: 5, .. }),
        "{e:?}"
    );
    assert_names(&e, data::TRAIN_LABELS);
}

#[test]
fn overflowing_dimensions() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ds");
    write_dataset(&dir, 5, 3, false);
    let mut bytes = Vec::new();
    for v in [0x803u32, u32::MAX, u32::MAX, u32::MAX] {
        bytes.extend_from_slice(&v.to_be_bytes());
    }
    replace(&dir, data::TRAIN_IMAGES, &bytes);
    let e = expect_err(&dir, &tmp.path().join("c"));
    assert!(matches!(e, DataError::Overflow { .. }), "{e:?}");
    assert_names(&e, data::TRAIN_IMAGES);
    assert_names(&e, "overflow");
}

#[test]
fn wrong_image_shape() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ds");
    write_dataset(&dir, 5, 3, false);
    replace(
        &dir,
        data::TRAIN_IMAGES,
        &idx::encode_images(27, 28, &[0; 5 * 27 * 28]),
    );
    let e = expect_err(&dir, &tmp.path().join("c"));
    assert!(
        matches!(
            e,
            DataError::BadShape {
                rows: 27,
                cols: 28,
                ..
            }
        ),
        "{e:?}"
    );
    assert_names(&e, data::TRAIN_IMAGES);
}

#[test]
fn image_and_label_counts_differ() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ds");
    let (train, _) = write_dataset(&dir, 5, 3, false);
    replace(
        &dir,
        data::TRAIN_LABELS,
        &idx::encode_labels(&train.labels[..4]),
    );
    let e = expect_err(&dir, &tmp.path().join("c"));
    assert!(
        matches!(
            e,
            DataError::CountMismatch {
                images: 5,
                labels: 4,
                ..
            }
        ),
        "{e:?}"
    );
    assert_names(&e, data::TRAIN_IMAGES);
    assert_names(&e, data::TRAIN_LABELS);
}

#[test]
fn label_out_of_range() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ds");
    write_dataset(&dir, 5, 3, false);
    replace(&dir, data::TEST_LABELS, &idx::encode_labels(&[1, 2, 10]));
    let e = expect_err(&dir, &tmp.path().join("c"));
    assert!(
        matches!(
            e,
            DataError::BadLabel {
                index: 2,
                value: 10,
                ..
            }
        ),
        "{e:?}"
    );
    assert_names(&e, data::TEST_LABELS);
}

#[test]
fn checksum_mismatch_of_listed_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ds");
    write_dataset(&dir, 5, 3, true);
    let bad = format!("{}  {}\n", "0".repeat(64), data::TEST_LABELS);
    fs::write(dir.join("SHA256SUMS.uncompressed"), bad).unwrap();
    let e = expect_err(&dir, &tmp.path().join("c"));
    assert!(matches!(e, DataError::Checksum { .. }), "{e:?}");
    assert_names(&e, &format!("{}.gz", data::TEST_LABELS));
    assert_names(&e, "SHA256SUMS.uncompressed");
    // And for the compressed file against SHA256SUMS.
    fs::remove_file(dir.join("SHA256SUMS.uncompressed")).unwrap();
    let bad = format!("{}  {}.gz\n", "1".repeat(64), data::TRAIN_LABELS);
    fs::write(dir.join("SHA256SUMS"), bad).unwrap();
    let e = expect_err(&dir, &tmp.path().join("c2"));
    assert!(matches!(e, DataError::Checksum { .. }), "{e:?}");
    assert_names(&e, &format!("{}.gz", data::TRAIN_LABELS));
}

#[test]
fn malformed_checksum_list() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ds");
    write_dataset(&dir, 5, 3, true);
    fs::write(dir.join("SHA256SUMS"), "not a checksum line\n").unwrap();
    let e = expect_err(&dir, &tmp.path().join("c"));
    assert!(matches!(e, DataError::BadSums { line: 1, .. }), "{e:?}");
    assert_names(&e, "SHA256SUMS");
}

#[test]
fn damaged_gzip() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ds");
    write_dataset(&dir, 5, 3, true);
    let p = dir.join(format!("{}.gz", data::TRAIN_IMAGES));
    let mut bytes = fs::read(&p).unwrap();
    let n = bytes.len();
    bytes.truncate(n / 2);
    fs::write(&p, bytes).unwrap();
    let e = expect_err(&dir, &tmp.path().join("c"));
    assert!(matches!(e, DataError::Gzip { .. }), "{e:?}");
    assert_names(&e, data::TRAIN_IMAGES);
    // Nothing half-written is left in the cache.
    let sub = data::cache::cache_subdir(&tmp.path().join("c"), &dir);
    let left: Vec<_> = fs::read_dir(&sub)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(data::TRAIN_IMAGES))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn unusable_cache_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ds");
    write_dataset(&dir, 5, 3, true);
    let not_a_dir = tmp.path().join("file");
    fs::write(&not_a_dir, b"x").unwrap();
    let e = expect_err(&dir, &not_a_dir);
    assert!(matches!(e, DataError::CacheDir { .. }), "{e:?}");
    assert_names(&e, "IDIM_CACHE_DIR");
}

#[test]
fn invalid_options() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ds");
    write_dataset(&dir, 5, 3, false);
    let base = config(&dir, &tmp.path().join("c"));
    let cases = [
        (
            data::DataConfig {
                label_noise: 1.5,
                ..base.clone()
            },
            "label_noise",
        ),
        (
            data::DataConfig {
                label_noise: f32::NAN,
                ..base.clone()
            },
            "label_noise",
        ),
        (
            data::DataConfig {
                train_subset: Some(0),
                ..base.clone()
            },
            "train_subset",
        ),
        (
            data::DataConfig {
                train_subset: Some(6),
                ..base.clone()
            },
            "train_subset",
        ),
        (
            data::DataConfig {
                validation: 5,
                ..base.clone()
            },
            "validation",
        ),
    ];
    for (cfg, option) in cases {
        let e = data::load(&cfg).expect_err("expected an error");
        assert!(matches!(e, DataError::Config { .. }), "{e:?}");
        assert_names(&e, option);
    }
}

/// Every checked-in fuzz corpus file goes through every parser without a
/// panic (CI exercises the corpus without a fuzzer).
#[test]
fn fuzz_corpus_replays_without_panic() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/idx");
    let mut n = 0;
    for entry in fs::read_dir(&corpus).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            idx::exercise_parsers(&fs::read(&path).unwrap());
            n += 1;
        }
    }
    assert!(n >= 10, "only {n} corpus files in {}", corpus.display());
}

#[test]
fn checksum_lists_and_sidecars_parse() {
    use intrinsic_dim::data::cache::{Sidecar, parse_sums};
    let h = "ab".repeat(32);
    let text = format!("# comment\n\n{h}  a.gz\r\n{}  *b\n", h.to_uppercase());
    let sums = parse_sums(text.as_bytes()).unwrap();
    assert_eq!(sums.len(), 2);
    assert_eq!(sums["a.gz"], h);
    assert_eq!(sums["b"], h);
    assert_eq!(parse_sums(format!("{h}  a\nshort  b\n").as_bytes()), Err(2));
    let s = Sidecar {
        src_size: 1,
        src_mtime: 2,
        src_sha: h.clone(),
        size: 3,
        mtime: u128::MAX,
        ino: 5,
        sha: h.clone(),
    };
    assert_eq!(Sidecar::parse(s.encode().as_bytes()), Some(s.clone()));
    // Any line missing or damaged ⇒ not trusted.
    let enc = s.encode();
    for skip in 1..8 {
        let partial: String = enc
            .lines()
            .enumerate()
            .filter(|&(i, _)| i != skip)
            .map(|(_, l)| format!("{l}\n"))
            .collect();
        assert_eq!(
            Sidecar::parse(partial.as_bytes()),
            None,
            "without line {skip}"
        );
    }
    assert_eq!(
        Sidecar::parse(enc.replace("size=3", "size=x").as_bytes()),
        None
    );
}
