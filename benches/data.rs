//! Data pipeline targets: opening MNIST from the decompression cache (map +
//! validate) ≤ 5 ms; one epoch of shuffled, standardised 128-example batches
//! on one thread ≤ 60 ms.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use intrinsic_dim::data::{self, Batcher, DataConfig, IMAGE_LEN};

fn bench_data(c: &mut Criterion) {
    let cfg = DataConfig::mnist_default();
    // First use extracts into the cache; everything measured below is cached.
    let d = data::load(&cfg).expect("bundled MNIST");
    let mut g = c.benchmark_group("data");

    g.bench_function("open_cached_train_and_test", |b| {
        b.iter(|| black_box(data::load(black_box(&cfg)).unwrap()))
    });

    g.throughput(Throughput::Elements(d.train.len() as u64));
    let mut x = vec![0f32; 128 * IMAGE_LEN];
    let mut y = vec![0u8; 128];
    for (name, split) in [
        ("epoch_128", d.train.clone()),
        (
            "epoch_128_shuffled_pixels",
            data::load(&DataConfig {
                pixel_shuffle_seed: Some(1),
                ..cfg.clone()
            })
            .unwrap()
            .train,
        ),
    ] {
        let mut batcher = Batcher::new(&split, 128, 0);
        let mut epoch = 0;
        g.bench_function(name, |b| {
            b.iter(|| {
                batcher.start_epoch(epoch);
                epoch += 1;
                let mut rows = 0;
                while let Some(n) = batcher.next_batch(&mut x, &mut y) {
                    rows += n;
                    black_box(&x);
                }
                rows
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_data);
criterion_main!(benches);
