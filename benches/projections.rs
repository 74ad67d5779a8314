//! Criterion benchmarks of the three projections: `cargo bench --bench projections`.
//!
//! Forward (`out += P·x`) and adjoint (`out = Pᵀ·y`) for D ∈ {10⁴, 10⁵, 10⁶, 10⁷}
//! × d ∈ {10², 10³, 10⁴} plus the MNIST fc point (D = 199,210, d = 750), for
//! dense (only where P fits in 1 GiB), sparse and Fastfood, with one thread and
//! with all threads. Names: `{kind}/{fwd|adj}/D=…/d=…/thr=…`, so a filter such
//! as `fastfood/.*/D=199210` picks one point. `fwht/D=…/d=…/thr=…` times the
//! FWHTs alone (2·⌈D/L⌉ transforms of length L, one direction's worth), the
//! yardstick for the fraction of the kernel's speed Fastfood reaches.
//! Measurement times are short so that the whole grid runs in minutes.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use intrinsic_dim::kernels::fwht::fwht_rows;
use intrinsic_dim::projection::{self, ProjectionKind};
use rayon::prelude::*;

const DENSE_LIMIT: usize = 1 << 30;

fn sizes() -> Vec<(usize, usize)> {
    let mut v = vec![(199_210, 750)];
    for big in [10_000, 100_000, 1_000_000, 10_000_000] {
        for d in [100, 1000, 10_000] {
            v.push((big, d));
        }
    }
    v
}

fn thread_counts() -> Vec<usize> {
    let all = rayon::current_num_threads();
    if all > 1 { vec![1, all] } else { vec![1] }
}

fn bench(c: &mut Criterion) {
    let pools: Vec<(usize, rayon::ThreadPool)> = thread_counts()
        .into_iter()
        .map(|t| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .unwrap();
            (t, pool)
        })
        .collect();
    for kind in ProjectionKind::ALL {
        let mut group = c.benchmark_group(kind.name());
        group
            .sample_size(10)
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(1));
        for (big, d) in sizes() {
            if kind == ProjectionKind::Dense
                && kind.estimated_bytes(big, d).is_none_or(|b| b > DENSE_LIMIT)
            {
                continue;
            }
            let mut p = projection::build(kind, big, d, 1).unwrap();
            let x: Vec<f32> = (0..d).map(|i| (i % 7) as f32 * 0.1 - 0.3).collect();
            let y: Vec<f32> = (0..big).map(|i| (i % 5) as f32 * 0.1 - 0.2).collect();
            let mut out = vec![0.0f32; big];
            let mut g = vec![0.0f32; d];
            group.throughput(Throughput::Elements(big as u64));
            for (t, pool) in &pools {
                let id = format!("D={big}/d={d}/thr={t}");
                // Criterion's handles are not Send: time whole batches inside the pool.
                group.bench_function(BenchmarkId::new("fwd", &id), |b| {
                    b.iter_custom(|iters| {
                        pool.install(|| {
                            let t = Instant::now();
                            for _ in 0..iters {
                                p.forward_add(black_box(&x), black_box(&mut out));
                            }
                            t.elapsed()
                        })
                    })
                });
                group.bench_function(BenchmarkId::new("adj", &id), |b| {
                    b.iter_custom(|iters| {
                        pool.install(|| {
                            let t = Instant::now();
                            for _ in 0..iters {
                                p.adjoint(black_box(&y), black_box(&mut g));
                            }
                            t.elapsed()
                        })
                    })
                });
            }
        }
        group.finish();
    }
    // The FWHT alone, for the Fastfood sizes of interest.
    let mut group = c.benchmark_group("fwht");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    for (big, d) in [
        (199_210usize, 750usize),
        (10_000_000, 10_000),
        (1_000_000, 1000),
    ] {
        let l = d.next_power_of_two();
        let mut buf = vec![0.5f32; big.div_ceil(l) * l];
        let chunk = l * (8192 / l).max(1);
        group.throughput(Throughput::Elements(big as u64));
        for (t, pool) in &pools {
            group.bench_function(
                BenchmarkId::new("two_passes", format!("D={big}/d={d}/thr={t}")),
                |b| {
                    b.iter_custom(|iters| {
                        pool.install(|| {
                            let t = Instant::now();
                            for _ in 0..iters {
                                buf.par_chunks_mut(chunk).for_each(|c| fwht_rows(c, l));
                                buf.par_chunks_mut(chunk).for_each(|c| fwht_rows(c, l));
                            }
                            t.elapsed()
                        })
                    })
                },
            );
        }
    }
    group.finish();
}

/// Copy bandwidth: one copy of P's 598 MB (D = 199,210, d = 750) into another
/// buffer; the dense target is 1.3× the time of one pass over those bytes.
fn copy(c: &mut Criterion) {
    let n = 199_210 * 750;
    let src = vec![1.0f32; n];
    let mut dst = vec![0.0f32; n];
    let mut group = c.benchmark_group("copy");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Bytes(4 * n as u64));
    group.bench_function("598MB", |b| b.iter(|| dst.copy_from_slice(black_box(&src))));
    group.finish();
}

criterion_group!(benches, bench, copy);
criterion_main!(benches);
