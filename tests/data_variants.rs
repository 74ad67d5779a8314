//! The paper's dataset variants and the batcher: properties and determinism.

mod data_support;

use std::collections::HashSet;

use data_support::*;
use intrinsic_dim::data::{self, Batcher, DataConfig, Dataset, IMAGE_LEN};

fn mnist(f: impl FnOnce(&mut DataConfig)) -> Dataset {
    let mut cfg = DataConfig::mnist_default();
    f(&mut cfg);
    data::load(&cfg).unwrap()
}

fn row(split: &data::Split, i: usize) -> Vec<f32> {
    let mut out = vec![0f32; IMAGE_LEN];
    split.fill_row(i, &mut out);
    out
}

#[test]
fn shuffled_pixels_is_one_fixed_permutation() {
    let clean = mnist(|_| {});
    let a = mnist(|c| c.pixel_shuffle_seed = Some(7));
    let b = mnist(|c| c.pixel_shuffle_seed = Some(7));
    let other = mnist(|c| c.pixel_shuffle_seed = Some(8));
    let perm = a.train.pixel_permutation().unwrap();
    let mut sorted = perm.to_vec();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..IMAGE_LEN as u16).collect::<Vec<_>>());
    assert_ne!(perm, sorted.as_slice(), "identity permutation");
    assert_eq!(perm, b.train.pixel_permutation().unwrap());
    assert_eq!(perm, a.test.pixel_permutation().unwrap());
    assert_ne!(perm, other.train.pixel_permutation().unwrap());
    for (split, clean_split) in [(&a.train, &clean.train), (&a.test, &clean.test)] {
        for i in [0, 1, 2, 999] {
            let (p, c) = (row(split, i), row(clean_split, i));
            // Same multiset of pixels per image ...
            let key = |v: &[f32]| {
                let mut k: Vec<u32> = v.iter().map(|x| x.to_bits()).collect();
                k.sort_unstable();
                k
            };
            assert_eq!(key(&p), key(&c));
            // ... moved by the same permutation everywhere.
            for j in 0..IMAGE_LEN {
                assert_eq!(p[j], c[perm[j] as usize]);
            }
            assert_eq!(split.label(i), clean_split.label(i));
        }
    }
    assert_ne!(row(&a.train, 0), row(&clean.train, 0));
}

#[test]
fn shuffled_labels_replace_the_requested_fraction() {
    let clean = mnist(|_| {});
    for (fraction, seed) in [(0.5f32, 1u64), (1.0, 2), (0.1, 3)] {
        let noisy = mnist(|c| {
            c.label_noise = fraction;
            c.label_seed = seed;
        });
        let n = clean.train.len();
        let k = (fraction as f64 * n as f64).round() as usize;
        assert_eq!(noisy.train.replaced_labels(), k);
        let changed = (0..n)
            .filter(|&i| noisy.train.label(i) != clean.train.label(i))
            .count();
        // Each replaced label is uniform on 0..10: it changes w.p. 9/10, so
        // changed ~ Binomial(k, 0.9); allow 6 standard deviations.
        let sd = (k as f64 * 0.09).sqrt();
        assert!(changed <= k);
        assert!(
            (changed as f64 - 0.9 * k as f64).abs() < 6.0 * sd,
            "fraction {fraction}: {changed} of {k} changed"
        );
        // Images and test labels are untouched.
        assert_eq!(noisy.train.image(5), clean.train.image(5));
        assert_eq!(noisy.test.labels(), clean.test.labels());
    }
    // Same seed ⇒ same labels; another seed ⇒ other labels.
    let a = mnist(|c| (c.label_noise, c.label_seed) = (0.3, 5));
    let b = mnist(|c| (c.label_noise, c.label_seed) = (0.3, 5));
    let other = mnist(|c| (c.label_noise, c.label_seed) = (0.3, 6));
    assert_eq!(a.train.labels(), b.train.labels());
    assert_ne!(a.train.labels(), other.train.labels());
    // With full noise the labels are close to uniform: ~6000 per class.
    let full = mnist(|c| c.label_noise = 1.0);
    for h in full.train.label_histogram() {
        assert!(
            (h as f64 - 6000.0).abs() < 6.0 * (60_000.0f64 * 0.09).sqrt(),
            "{h}"
        );
    }
}

#[test]
fn training_subset_is_the_first_n() {
    let clean = mnist(|_| {});
    let sub = mnist(|c| c.train_subset = Some(1234));
    assert_eq!(sub.train.len(), 1234);
    assert_eq!(sub.test.len(), 10_000);
    for i in [0, 617, 1233] {
        assert_eq!(sub.train.image(i), clean.train.image(i));
        assert_eq!(sub.train.label(i), clean.train.label(i));
    }
}

#[test]
fn validation_split_is_a_seeded_partition_of_the_training_set() {
    let clean = mnist(|_| {});
    let a = mnist(|c| (c.validation, c.label_seed) = (5000, 11));
    let b = mnist(|c| (c.validation, c.label_seed) = (5000, 11));
    let other = mnist(|c| (c.validation, c.label_seed) = (5000, 12));
    let (train, val) = (&a.train, a.validation.as_ref().unwrap());
    assert_eq!((train.len(), val.len()), (55_000, 5000));
    let ti: Vec<usize> = (0..train.len()).map(|i| train.source_index(i)).collect();
    let vi: Vec<usize> = (0..val.len()).map(|i| val.source_index(i)).collect();
    assert!(ti.windows(2).all(|w| w[0] < w[1]) && vi.windows(2).all(|w| w[0] < w[1]));
    let all: HashSet<usize> = ti.iter().chain(&vi).copied().collect();
    assert_eq!(all.len(), 60_000);
    assert!(all.iter().all(|&i| i < 60_000));
    for (split, idx) in [(train, &ti), (val, &vi)] {
        for k in [0, 1, split.len() - 1] {
            assert_eq!(split.image(k), clean.train.image(idx[k]));
            assert_eq!(split.label(k), clean.train.label(idx[k]));
        }
    }
    let vb: Vec<usize> = (0..5000)
        .map(|i| b.validation.as_ref().unwrap().source_index(i))
        .collect();
    let vo: Vec<usize> = (0..5000)
        .map(|i| other.validation.as_ref().unwrap().source_index(i))
        .collect();
    assert_eq!(vi, vb);
    assert_ne!(vi, vo);
    // Label noise applies to the training split only.
    let noisy = mnist(|c| (c.validation, c.label_noise) = (5000, 1.0));
    let nv = noisy.validation.unwrap();
    for i in 0..nv.len() {
        assert_eq!(nv.label(i), clean.train.label(nv.source_index(i)));
    }
}

#[test]
fn batcher_epochs_are_seeded_permutations() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ds");
    let (train, _) = write_dataset(&dir, 301, 3, false);
    let d = data::load(&config(&dir, &tmp.path().join("c"))).unwrap();
    let run = |seed: u64, epoch: u64| {
        let mut b = Batcher::new(&d.train, 64, seed);
        b.start_epoch(epoch);
        let mut x = vec![0f32; 64 * IMAGE_LEN];
        let mut y = vec![0u8; 64];
        let (mut xs, mut ys, mut sizes) = (Vec::new(), Vec::new(), Vec::new());
        while let Some(n) = b.next_batch(&mut x, &mut y) {
            xs.extend_from_slice(&x[..n * IMAGE_LEN]);
            ys.extend_from_slice(&y[..n]);
            sizes.push(n);
        }
        assert_eq!(b.next_batch(&mut x, &mut y), None);
        assert_eq!(sizes.len(), b.batches_per_epoch());
        (xs, ys, sizes, b.order().to_vec())
    };
    let (xs, ys, sizes, order) = run(3, 0);
    assert_eq!(sizes, vec![64, 64, 64, 64, 45]);
    let mut sorted = order.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..301).collect::<Vec<u32>>());
    assert_ne!(order, sorted);
    // Rows are the examples in `order`, standardised.
    for (k, &i) in order.iter().enumerate() {
        let i = i as usize;
        assert_eq!(ys[k], train.labels[i]);
        for j in [0, 400, 783] {
            let want = naive(train.pixels[i * IMAGE_LEN + j]);
            assert!((xs[k * IMAGE_LEN + j] as f64 - want).abs() < 1e-5);
        }
    }
    // Same seed and epoch ⇒ same bits; another epoch or seed ⇒ another order.
    assert_eq!(run(3, 0).0, xs);
    assert_ne!(run(3, 1).3, order);
    assert_ne!(run(4, 0).3, order);
    // The default dataset is the same on every load.
    let again = data::load(&config(&dir, &tmp.path().join("c"))).unwrap();
    assert_eq!(again.train.labels(), d.train.labels());
}
