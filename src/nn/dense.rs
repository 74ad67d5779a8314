//! Fully connected layer.
//!
//! ```text
//! forward   Y = X·Wᵀ + 1·bᵀ         X: n×in, W: out×in (row-major, PyTorch's layout), b: out, Y: n×out
//! backward  dW = dYᵀ·X   (out×in)    db = Σ_rows dY   (out)    dX = dY·W   (n×in)
//! ```
//!
//! All three products go through SGEMM with the transposition flags, so no
//! transposed copy of W is ever made. Storing W as out×in keeps each output
//! unit's weights contiguous, which is also how `fan_in` = `in` is read off
//! the shape `[out, in]`.
//!
//! The products use the row-parallel SGEMM (`kernels::gemm::sgemm`): large
//! ones (an MLP's layers over a whole batch) are split over row blocks of
//! the output under rayon, small ones run on the calling thread; either way
//! every output element is summed in the same fixed order, so the result is
//! bitwise independent of the thread count.

// Over the whole batch: `sgemm` splits large products over row blocks of C
// (bitwise the same for any thread count) and runs small ones on the calling
// thread, so it is also cheap inside the per-chunk tasks of a convolutional net.
use crate::kernels::gemm::Trans;
use crate::kernels::gemm::sgemm as gemm;

/// Y ← X·Wᵀ + b for `n` rows; see the module docs. O(n·in·out).
///
/// # Panics
/// If a slice is shorter than its shape (`x`: n·in, `w`: out·in, `b`: out, `y`: n·out).
#[inline(never)]
#[allow(clippy::too_many_arguments)]
pub fn dense_forward(
    n: usize,
    inp: usize,
    out: usize,
    x: &[f32],
    w: &[f32],
    b: &[f32],
    y: &mut [f32],
) {
    assert!(x.len() >= n * inp && w.len() >= out * inp && b.len() >= out && y.len() >= n * out);
    let y = &mut y[..n * out];
    for row in y.chunks_exact_mut(out) {
        row.copy_from_slice(&b[..out]);
    }
    // Y = 1·X·Wᵀ + 1·Y (Y holds the broadcast bias).
    gemm(
        Trans::No,
        Trans::Yes,
        n,
        out,
        inp,
        1.0,
        x,
        inp,
        w,
        inp,
        1.0,
        y,
        out,
    );
}

/// Backward of [`dense_forward`]: dW ← dYᵀ·X and db ← Σ_rows dY (both
/// overwritten), and dX ← dY·W when `dx` is given (skip it for the first
/// layer, whose input needs no gradient). O(n·in·out).
///
/// # Panics
/// If a slice is shorter than its shape.
#[inline(never)]
#[allow(clippy::too_many_arguments)]
pub fn dense_backward(
    n: usize,
    inp: usize,
    out: usize,
    x: &[f32],
    w: &[f32],
    dy: &[f32],
    dw: &mut [f32],
    db: &mut [f32],
    dx: Option<&mut [f32]>,
) {
    assert!(x.len() >= n * inp && w.len() >= out * inp && dy.len() >= n * out);
    assert!(dw.len() >= out * inp && db.len() >= out);
    gemm(
        Trans::Yes,
        Trans::No,
        out,
        inp,
        n,
        1.0,
        dy,
        out,
        x,
        inp,
        0.0,
        dw,
        inp,
    );
    let db = &mut db[..out];
    db.fill(0.0);
    for row in dy[..n * out].chunks_exact(out) {
        for (d, &g) in db.iter_mut().zip(row) {
            *d += g;
        }
    }
    if let Some(dx) = dx {
        assert!(dx.len() >= n * inp);
        gemm(
            Trans::No,
            Trans::No,
            n,
            inp,
            out,
            1.0,
            dy,
            out,
            w,
            inp,
            0.0,
            dx,
            inp,
        );
    }
}
