//! FWHT, one thread: the fast transform against the scalar reference for
//! n = 2^8 … 2^22, plus the batched form on Fastfood-sized rows.
//! Throughput is n·log2(n) elements, so Criterion's "elem/s" reads as the
//! FLOP/s of the additions the transform performs.
//!
//! `fast` transforms an [`AlignedVec`] (64-byte aligned, as the crate's own
//! buffers are); `fast_misaligned` transforms the same data 16 bytes past a
//! cache-line boundary, where glibc puts every `Vec<f32>` of 128 KiB or more,
//! so that every 64-byte load straddles two lines: what a caller who ignores
//! alignment gets.
//!
//! `cargo bench --bench kernels -- fwht`

use criterion::{BenchmarkId, Criterion, Throughput};
use intrinsic_dim::kernels::AlignedVec;
use intrinsic_dim::kernels::fwht::{fwht, fwht_reference, fwht_rows};
use std::hint::black_box;

/// Exponents benchmarked for the single transform.
const EXPONENTS: std::ops::RangeInclusive<u32> = 8..=22;
/// The scalar reference is slow; time it on every other exponent only.
const REFERENCE_EVERY: u32 = 2;
/// Exponents also timed 16 bytes (4 floats) past a cache-line boundary.
const VEC_EXPONENTS: [u32; 3] = [12, 16, 20];
/// The offset of `fast_misaligned`, in floats.
const MISALIGN: usize = 4;
/// Floats per `fwht_rows` call: a Fastfood projection of D ≈ 2^18.
const ROWS_TOTAL: usize = 1 << 18;

fn input(n: usize) -> AlignedVec {
    // Deterministic values in [−0.5, 0.5); the loops below reset them if
    // repeated transforms (H·H = n·I) ever make them large.
    let v: Vec<f32> = (0..n)
        .map(|i| ((i * 7919) % 1000) as f32 * 1e-3 - 0.5)
        .collect();
    AlignedVec::from_slice(&v)
}

/// One repeated transform `t` on `x`, reset whenever H·H = n·I grows it.
fn repeat(x: &mut [f32], t: fn(&mut [f32])) {
    t(black_box(&mut *x));
    if x[0].abs() > 1e30 {
        x.iter_mut().for_each(|v| *v = 0.5);
    }
}

pub fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("fwht");
    for k in EXPONENTS {
        let n = 1usize << k;
        group.throughput(Throughput::Elements((n as u64) * k as u64));
        let mut x = input(n);
        group.bench_with_input(BenchmarkId::new("fast", n), &n, |b, _| {
            b.iter(|| repeat(&mut x, fwht))
        });
        if VEC_EXPONENTS.contains(&k) {
            let mut buf = AlignedVec::zeroed(n + MISALIGN);
            let v = &mut buf[MISALIGN..];
            v.copy_from_slice(&x);
            group.bench_with_input(BenchmarkId::new("fast_misaligned", n), &n, |b, _| {
                b.iter(|| repeat(v, fwht))
            });
        }
        if (k - EXPONENTS.start()).is_multiple_of(REFERENCE_EVERY) {
            let mut x = input(n);
            group.bench_with_input(BenchmarkId::new("reference", n), &n, |b, _| {
                b.iter(|| repeat(&mut x, fwht_reference))
            });
        }
    }
    group.finish();

    let mut group = c.benchmark_group("fwht_rows");
    for k in [3u32, 6, 8, 10, 14] {
        let n = 1usize << k;
        group.throughput(Throughput::Elements((ROWS_TOTAL as u64) * k as u64));
        let mut x = input(ROWS_TOTAL);
        group.bench_with_input(BenchmarkId::new("fast", n), &n, |b, &n| {
            b.iter(|| {
                fwht_rows(black_box(&mut x), n);
                if x[0].abs() > 1e30 {
                    x.iter_mut().for_each(|v| *v = 0.5);
                }
            })
        });
    }
    group.finish();
}
