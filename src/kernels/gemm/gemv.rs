//! SGEMV: y ← α·op(A)·x + β·y, memory-bound, vectorised with f32x16.

use std::cell::Cell;

use rayon::prelude::*;
use wide::f32x16;

use super::Trans;

/// Rows per rayon task. Fixed (independent of the thread count) so that the
/// transposed product's partial sums are always reduced in the same order.
/// Chosen so a chunk streams about 4 MiB of A: large enough to amortise the
/// fork-join and the reduction of the partial vectors.
fn chunk_rows(n: usize) -> usize {
    ((1usize << 20) / n.max(1)).max(8)
}

/// Below this many elements of A, run on the calling thread.
const PAR_MIN_ELEMS: usize = 1 << 18;

thread_local! {
    static PARTIALS: Cell<Vec<f32>> = const { Cell::new(Vec::new()) };
}

/// Dot product of two equal-length slices with 4 vector accumulators in a
/// fixed order, then a scalar tail. O(len).
#[inline]
fn dot(a: &[f32], x: &[f32]) -> f32 {
    let n = a.len();
    let mut acc = [f32x16::ZERO; 4];
    let mut i = 0;
    while i + 64 <= n {
        for (v, acc) in acc.iter_mut().enumerate() {
            let o = i + 16 * v;
            let av = f32x16::from(<[f32; 16]>::try_from(&a[o..o + 16]).unwrap());
            let xv = f32x16::from(<[f32; 16]>::try_from(&x[o..o + 16]).unwrap());
            *acc = av.mul_add(xv, *acc);
        }
        i += 64;
    }
    while i + 16 <= n {
        let av = f32x16::from(<[f32; 16]>::try_from(&a[i..i + 16]).unwrap());
        let xv = f32x16::from(<[f32; 16]>::try_from(&x[i..i + 16]).unwrap());
        acc[0] = av.mul_add(xv, acc[0]);
        i += 16;
    }
    let mut s = ((acc[0] + acc[1]) + (acc[2] + acc[3])).reduce_add();
    while i < n {
        s = a[i].mul_add(x[i], s);
        i += 1;
    }
    s
}

/// acc ← acc + s·row, vectorised. O(len).
#[inline]
fn axpy(acc: &mut [f32], s: f32, row: &[f32]) {
    let sv = f32x16::splat(s);
    let mut ac = acc.chunks_exact_mut(16);
    let mut rc = row.chunks_exact(16);
    for (a, r) in (&mut ac).zip(&mut rc) {
        let av = f32x16::from(<[f32; 16]>::try_from(&*a).unwrap());
        let rv = f32x16::from(<[f32; 16]>::try_from(r).unwrap());
        a.copy_from_slice(rv.mul_add(sv, av).as_array());
    }
    for (a, r) in ac.into_remainder().iter_mut().zip(rc.remainder()) {
        *a = r.mul_add(s, *a);
    }
}

/// Partial Aᵀ·x over one chunk of rows: out ← Σ_i x[i]·A[i, :], rows in order.
fn partial_t(a: &[f32], lda: usize, n: usize, x: &[f32], out: &mut [f32]) {
    out.fill(0.0);
    for (i, &xi) in x.iter().enumerate() {
        axpy(out, xi, &a[i * lda..i * lda + n]);
    }
}

#[inline]
fn finish(alpha: f32, s: f32, beta: f32, y: &mut f32) {
    *y = if beta == 0.0 {
        alpha * s
    } else {
        beta.mul_add(*y, alpha * s)
    };
}

#[allow(clippy::too_many_arguments)]
pub(super) fn gemv(
    ta: Trans,
    m: usize,
    n: usize,
    alpha: f32,
    a: &[f32],
    lda: usize,
    x: &[f32],
    beta: f32,
    y: &mut [f32],
) {
    assert!(
        lda >= n,
        "sgemv: leading dimension {lda} is smaller than the row length {n}"
    );
    if m > 0 && n > 0 {
        let need = (m - 1) * lda + n;
        assert!(
            a.len() >= need,
            "sgemv: A has {} elements but m={m}, n={n}, lda={lda} needs {need}",
            a.len()
        );
    }
    let (xl, yl) = match ta {
        Trans::No => (n, m),
        Trans::Yes => (m, n),
    };
    assert!(
        x.len() >= xl,
        "sgemv: x has {} elements, needs {xl}",
        x.len()
    );
    assert!(
        y.len() >= yl,
        "sgemv: y has {} elements, needs {yl}",
        y.len()
    );
    let (x, y) = (&x[..xl], &mut y[..yl]);
    if yl == 0 {
        return;
    }
    if alpha == 0.0 || xl == 0 {
        for v in y.iter_mut() {
            *v = if beta == 0.0 { 0.0 } else { beta * *v };
        }
        return;
    }
    let parallel = m * n >= PAR_MIN_ELEMS && rayon::current_num_threads() > 1;
    let cr = chunk_rows(n);
    match ta {
        Trans::No => {
            let row = |i: usize, yi: &mut f32| {
                let s = dot(&a[i * lda..i * lda + n], x);
                finish(alpha, s, beta, yi);
            };
            if parallel {
                y.par_chunks_mut(cr).enumerate().for_each(|(t, yc)| {
                    for (r, yi) in yc.iter_mut().enumerate() {
                        row(t * cr + r, yi);
                    }
                });
            } else {
                for (i, yi) in y.iter_mut().enumerate() {
                    row(i, yi);
                }
            }
        }
        Trans::Yes => {
            let nchunks = m.div_ceil(cr);
            if nchunks == 1 {
                let mut acc = PARTIALS.with(|c| c.take());
                acc.resize(n, 0.0);
                partial_t(a, lda, n, x, &mut acc[..n]);
                for (yj, &s) in y.iter_mut().zip(&acc[..n]) {
                    finish(alpha, s, beta, yj);
                }
                PARTIALS.with(|c| c.set(acc));
                return;
            }
            let mut parts = PARTIALS.with(|c| c.take());
            if parts.len() < nchunks * n {
                parts.resize(nchunks * n, 0.0);
            }
            let work = |(t, out): (usize, &mut [f32])| {
                let i0 = t * cr;
                let rows = cr.min(m - i0);
                partial_t(&a[i0 * lda..], lda, n, &x[i0..i0 + rows], out);
            };
            if parallel {
                parts[..nchunks * n]
                    .par_chunks_mut(n)
                    .enumerate()
                    .for_each(work);
            } else {
                parts[..nchunks * n]
                    .chunks_mut(n)
                    .enumerate()
                    .for_each(work);
            }
            // Fixed-order reduction: ((p0 + p1) + p2) + … whatever the threads.
            let (first, rest) = parts[..nchunks * n].split_at_mut(n);
            for p in rest.chunks_exact(n) {
                for (f, v) in first.iter_mut().zip(p) {
                    *f += v;
                }
            }
            for (yj, &s) in y.iter_mut().zip(first.iter()) {
                finish(alpha, s, beta, yj);
            }
            PARTIALS.with(|c| c.set(parts));
        }
    }
}
