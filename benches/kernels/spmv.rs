//! CSR products on "very sparse" random matrices (density 1/√D, ±1 values),
//! and a plain large slice copy as the bandwidth yardstick.
//!
//! Throughput is the bytes each product must move: stored entries (8 bytes
//! per entry for `Csr`, 4 for `SignCsr`), row pointers (8 per row + 8),
//! one 4-byte gather of the input vector per entry and the 4-byte output
//! per row. Aᵀ·x counts the bytes of A·x on the transposed matrix, whichever
//! method runs (the scatter in fact moves 4 bytes per row of A more). The copy counts its reads and its writes (2 × 256 MiB).

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput};
use intrinsic_dim::kernels::spmv::{AdjointMethod, Csr, SIGN_BIT, SignCsr};

use crate::common::{on, on_pool};
use intrinsic_dim::rng;

/// Row pointers, columns and ±1 values of a D×d matrix whose entries are
/// non-zero independently with probability 1/√D (geometric skips: O(nnz)).
fn very_sparse(nrows: usize, ncols: usize, seed: u64) -> (Vec<usize>, Vec<u32>, Vec<f32>) {
    let mut g = rng::from_seed(seed);
    let p = 1.0 / (nrows as f64).sqrt();
    let ln_q = (1.0 - p).ln();
    let total = nrows * ncols;
    let (mut rp, mut ci, mut v) = (vec![0usize; nrows + 1], Vec::new(), Vec::new());
    let mut pos = 0usize;
    loop {
        let u = 1.0 - rng::uniform_f64(&mut g); // in (0, 1]
        pos += (u.ln() / ln_q).floor() as usize;
        if pos >= total {
            break;
        }
        let (r, c) = (pos / ncols, pos % ncols);
        rp[r + 1] += 1;
        ci.push(c as u32);
        v.push(rng::sign(&mut g));
        pos += 1;
    }
    for r in 0..nrows {
        rp[r + 1] += rp[r];
    }
    (rp, ci, v)
}

fn product_bytes(nrows: usize, nnz: usize, entry_bytes: usize) -> u64 {
    (nnz * (entry_bytes + 4) + (nrows + 1) * 8 + nrows * 4) as u64
}

pub fn bench(c: &mut Criterion) {
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();

    let mut g = c.benchmark_group("copy");
    let n = 64 << 20; // 256 MiB of f32
    let src = vec![1.0f32; n];
    let mut dst = vec![0.0f32; n];
    g.throughput(Throughput::Bytes(2 * 4 * n as u64));
    g.sample_size(10);
    g.bench_function("copy_from_slice_256MiB", |b| {
        b.iter(|| dst.copy_from_slice(black_box(&src)))
    });
    g.finish();
    drop((src, dst));

    let mut g = c.benchmark_group("spmv");
    for (nrows, ncols) in [(199_210usize, 750usize), (1_000_000, 1_000)] {
        let (rp, ci, v) = very_sparse(nrows, ncols, 7);
        let nnz = ci.len();
        let ent: Vec<u32> = ci
            .iter()
            .zip(&v)
            .map(|(&c, &x)| if x < 0.0 { c | SIGN_BIT } else { c })
            .collect();
        let a = Csr::new(nrows, ncols, rp.clone(), ci, v).unwrap();
        a.prepare_adjoint();
        // The same matrix with the other Aᵀ·x method than the default.
        let other = match AdjointMethod::default_for(nrows, ncols) {
            AdjointMethod::Scatter => AdjointMethod::TransposedCopy,
            AdjointMethod::TransposedCopy => AdjointMethod::Scatter,
        };
        let a_other = a.clone().with_adjoint(other);
        let s = SignCsr::new(nrows, ncols, rp, ent).unwrap();
        s.prepare_adjoint();
        let shape = format!("{nrows}x{ncols}");
        let x = vec![0.5f32; ncols];
        let xt = vec![0.25f32; nrows];
        let mut y = vec![0.0f32; nrows];
        let mut yt = vec![0.0f32; ncols];

        g.throughput(Throughput::Bytes(product_bytes(nrows, nnz, 8)));
        g.bench_function(BenchmarkId::new("csr_ax_1t", &shape), |b| {
            b.iter_custom(|iters| on(&one, iters, || a.mul_vec(black_box(&x), &mut y)))
        });
        g.bench_function(BenchmarkId::new("csr_ax_all", &shape), |b| {
            b.iter_custom(|iters| on_pool(iters, || a.mul_vec(black_box(&x), &mut y)))
        });
        g.bench_function(BenchmarkId::new("csr_ax_reference", &shape), |b| {
            b.iter(|| a.mul_vec_reference(black_box(&x), &mut y))
        });
        g.throughput(Throughput::Bytes(product_bytes(ncols, nnz, 8)));
        g.bench_function(BenchmarkId::new("csr_atx_1t", &shape), |b| {
            b.iter_custom(|iters| on(&one, iters, || a.mul_t_vec(black_box(&xt), &mut yt)))
        });
        let name = format!("csr_atx_1t_{other:?}");
        g.bench_function(BenchmarkId::new(name, &shape), |b| {
            b.iter_custom(|iters| on(&one, iters, || a_other.mul_t_vec(black_box(&xt), &mut yt)))
        });
        g.bench_function(BenchmarkId::new("csr_atx_all", &shape), |b| {
            b.iter_custom(|iters| on_pool(iters, || a.mul_t_vec(black_box(&xt), &mut yt)))
        });
        g.bench_function(BenchmarkId::new("csr_atx_reference", &shape), |b| {
            b.iter(|| a.mul_t_vec_reference(black_box(&xt), &mut yt))
        });
        g.throughput(Throughput::Bytes(product_bytes(nrows, nnz, 4)));
        g.bench_function(BenchmarkId::new("sign_ax_1t", &shape), |b| {
            b.iter_custom(|iters| on(&one, iters, || s.mul_vec(black_box(&x), &mut y)))
        });
        g.throughput(Throughput::Bytes(product_bytes(ncols, nnz, 4)));
        g.bench_function(BenchmarkId::new("sign_atx_1t", &shape), |b| {
            b.iter_custom(|iters| on(&one, iters, || s.mul_t_vec(black_box(&xt), &mut yt)))
        });
    }
    g.finish();
}
