//! The bundled MNIST parses to the known sizes and label histograms.

use intrinsic_dim::data::{self, Batcher, DataConfig, IMAGE_LEN};

#[test]
fn bundled_mnist_has_known_sizes_and_test_histogram() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = DataConfig {
        cache_dir: Some(dir.path().to_path_buf()),
        ..DataConfig::mnist_default()
    };
    let d = data::load(&cfg).unwrap();
    assert_eq!(d.train.len(), 60_000);
    assert_eq!(d.test.len(), 10_000);
    assert!(d.validation.is_none());
    assert_eq!(
        d.test.label_histogram(),
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
    // The training histogram published with MNIST.
    assert_eq!(
        d.train.label_histogram(),
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    // Cached load (second open, full re-hash) gives the same bytes.
    let d2 = data::load_with(&cfg, data::Verify::Full).unwrap();
    for i in [0, 1, 59_999] {
        assert_eq!(d.train.image(i), d2.train.image(i));
    }
    // Mean pixel of the training set / 255 is MNIST's 0.1307 (independent
    // check of the normalisation constant and of the image views).
    let mut s = 0u64;
    for i in 0..60_000 {
        s += d.train.image(i).iter().map(|&p| p as u64).sum::<u64>();
    }
    let mean = s as f64 / (60_000.0 * IMAGE_LEN as f64 * 255.0);
    assert!((mean - 0.1307).abs() < 5e-5, "mean {mean}");
    // One epoch of the batcher covers every example once.
    let mut b = Batcher::new(&d.test, 128, 1);
    let mut x = vec![0f32; 128 * IMAGE_LEN];
    let mut y = vec![0u8; 128];
    let mut hist = [0usize; 10];
    let mut rows = 0;
    while let Some(n) = b.next_batch(&mut x, &mut y) {
        rows += n;
        for &l in &y[..n] {
            hist[l as usize] += 1;
        }
    }
    assert_eq!(rows, 10_000);
    assert_eq!(hist, d.test.label_histogram());
}
