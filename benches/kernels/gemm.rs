//! SGEMM and SGEMV benchmarks: ours vs the `matrixmultiply` crate in the same
//! run, one thread (our `sgemm_serial`) and all threads (our `sgemm`).
//! Throughput is 2·m·n·k FLOP for GEMM (Criterion prints FLOP/s as elem/s)
//! and the bytes of A for GEMV.
//!
//! matrixmultiply's `threading` feature takes its thread count from
//! `MATMUL_NUM_THREADS` once per process (every physical core when it is
//! unset, which `benches/kernels.rs` turns into 1), so one run times it
//! either on one thread (`sgemm/matrixmultiply_1t`) or on all
//! (`sgemm/matrixmultiply_all`, the variable at rayon's thread count):
//!
//! ```sh
//! cargo bench --bench kernels -- 'sgemm/(ours|matrixmultiply)_1t'
//! MATMUL_NUM_THREADS=2 cargo bench --bench kernels -- 'sgemm/(ours|matrixmultiply)_all'
//! ```

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput};
use intrinsic_dim::kernels::gemm::{SgemmFn, Trans, sgemm, sgemm_serial, sgemv};

use crate::common::on_pool;

use intrinsic_dim::rng::{self, Stream};

fn randn(sub: u64, len: usize) -> Vec<f32> {
    let mut r = rng::stream(42, Stream::Init, sub);
    let mut v = vec![0.0; len];
    rng::fill_normal(&mut r, 1.0, &mut v);
    v
}

/// (M, K, N): the trainer's layer shapes, then two square ones.
const SHAPES: [(usize, usize, usize); 8] = [
    (128, 784, 200),
    (128, 200, 200),
    (128, 200, 10),
    (784, 128, 200),
    (200, 128, 200),
    (128, 200, 784),
    (512, 512, 512),
    (1024, 1024, 1024),
];

/// The name of matrixmultiply's benchmarks in this process:
/// `matrixmultiply_1t` or `matrixmultiply_all`.
fn matrixmultiply_name() -> &'static str {
    let var = std::env::var("MATMUL_NUM_THREADS").unwrap_or_default();
    let threads: usize = var.parse().unwrap_or_else(|_| {
        panic!("MATMUL_NUM_THREADS={var:?} is not a number of threads: unset it or set 1 or 2")
    });
    if threads <= 1 {
        return "matrixmultiply_1t";
    }
    let ours = rayon::current_num_threads();
    if threads != ours {
        eprintln!(
            "sgemm: MATMUL_NUM_THREADS={threads} but rayon runs {ours} threads; \
             matrixmultiply_all compares different thread counts"
        );
    }
    "matrixmultiply_all"
}

pub fn bench(c: &mut Criterion) {
    let mm_name = matrixmultiply_name();
    let mut g = c.benchmark_group("sgemm");
    for &(m, k, n) in &SHAPES {
        let a = randn(0, m * k);
        let b = randn(1, k * n);
        let mut out = vec![0.0f32; m * n];
        let id = format!("{m}x{k}x{n}");
        g.throughput(Throughput::Elements((2 * m * n * k) as u64));
        // C = A·B through our SGEMM, one thread or all.
        let ours = |f: SgemmFn, out: &mut [f32]| {
            f(
                Trans::No,
                Trans::No,
                m,
                n,
                k,
                1.0,
                black_box(&a),
                k,
                &b,
                n,
                0.0,
                out,
                n,
            )
        };
        g.bench_function(BenchmarkId::new("ours_1t", &id), |bch| {
            bch.iter(|| ours(sgemm_serial, &mut out))
        });
        g.bench_function(BenchmarkId::new(mm_name, &id), |bch| {
            bch.iter(|| unsafe {
                matrixmultiply::sgemm(
                    m,
                    k,
                    n,
                    1.0,
                    black_box(a.as_ptr()),
                    k as isize,
                    1,
                    b.as_ptr(),
                    n as isize,
                    1,
                    0.0,
                    out.as_mut_ptr(),
                    n as isize,
                    1,
                )
            })
        });
        // All threads, timed on a pool worker as the trainer calls it.
        g.bench_function(BenchmarkId::new("ours_all", &id), |bch| {
            bch.iter_custom(|iters| on_pool(iters, || ours(sgemm, &mut out)))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("sgemv");
    g.sample_size(10);
    let (m, n) = (199_210usize, 750usize);
    let a = randn(2, m * n);
    let xn = randn(3, n);
    let xm = randn(4, m);
    let mut ym = vec![0.0f32; m];
    let mut yn = vec![0.0f32; n];
    g.throughput(Throughput::Bytes((m * n * 4) as u64));
    g.bench_function("ours_n_199210x750", |bch| {
        bch.iter(|| sgemv(Trans::No, m, n, 1.0, black_box(&a), n, &xn, 0.0, &mut ym))
    });
    g.bench_function("ours_t_199210x750", |bch| {
        bch.iter(|| sgemv(Trans::Yes, m, n, 1.0, black_box(&a), n, &xm, 0.0, &mut yn))
    });
    g.finish();
}
