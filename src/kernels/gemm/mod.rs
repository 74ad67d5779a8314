//! Single-precision general matrix multiply (SGEMM) and matrix-vector (SGEMV).
//!
//! All matrices are row-major with a leading dimension (the distance in
//! elements between the starts of consecutive rows of the *stored* matrix).
//! `op(X)` is X or Xᵀ as chosen by a [`Trans`] flag:
//!
//! - A stored m×k (`Trans::No`, element (i,p) at `a[i·lda + p]`) or k×m
//!   (`Trans::Yes`, op(A)(i,p) = `a[p·lda + i]`);
//! - B stored k×n (`Trans::No`, `b[p·ldb + j]`) or n×k (`Trans::Yes`, `b[j·ldb + p]`);
//! - C is m×n at `c[i·ldc + j]`.
//!
//! As in BLAS, `beta == 0` overwrites C without reading it (NaNs in C vanish).
//!
//! # How [`sgemm`] works (the BLIS loop nest)
//!
//! ```text
//! rayon: one block of rows of C per thread   (driver.rs)  each runs the nest below
//! for jc in 0..n step NC                                  B panel kc×nc → L2 (L3 on AVX2)
//!   for pc in 0..k step KC                               (k split evenly)
//!     pack op(B)[pc.., jc..] → packed B     (pack.rs)    kc×nc, strips of NR
//!     for ic in 0..m step MC                             A block mc×kc
//!       pack op(A)[ic.., pc..] → packed A   (pack.rs)    micro-panels of MR
//!       for ir in 0..mc step MR                          A micro-panel MR×kc → L1
//!         for jr in 0..nc step NR                        B micro-panels stream from L2
//!           micro-kernel: MR×NR tile of C    (kernel.rs)  in registers
//! ```
//!
//! Blocking constants ([`MR`], [`NR`], [`KC`], [`MC`], [`NC`]) are explained
//! where they are defined. The micro-kernel loads LANES·NV consecutive packed B
//! values per k step and broadcasts MR packed A values; edge tiles in n use a
//! one-vector kernel and zero-padded packing, edge tiles in m are zero-padded
//! and only the real rows are written back.
//!
//! Parallelism: each thread packs its own A and B into thread-local buffers.
//! Packing B once and sharing it would save the other threads' packing, but
//! then every call writes lines the other core read in the previous call, and
//! the invalidations cost more than the copy: on the trainer's 128×200×200,
//! shared B made two threads slower than one (110 vs 130 GFLOP/s), private B
//! runs at 180–215.
//!
//! Determinism: each element of C is computed by the same micro-kernel over
//! the same fixed k blocks (which depend only on k), whichever rayon task owns
//! its row block, so the result does not depend on the thread count.

mod driver;
mod gemv;
mod kernel;
mod pack;

pub use driver::{KC, MC, NC, PAR_MIN_MNK};
pub use kernel::{MR, NR};

/// The signature shared by [`sgemm`], [`sgemm_serial`] and
/// [`sgemm_reference`]: (op(A), op(B), m, n, k, α, A, lda, B, ldb, β, C, ldc),
/// so that callers can pick one at run time.
pub type SgemmFn = fn(
    Trans,
    Trans,
    usize,
    usize,
    usize,
    f32,
    &[f32],
    usize,
    &[f32],
    usize,
    f32,
    &mut [f32],
    usize,
);

/// Whether an operand is used as stored or transposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trans {
    /// op(X) = X.
    No,
    /// op(X) = Xᵀ.
    Yes,
}

/// C ← α·op(A)·op(B) + β·C. O(m·n·k) flops.
///
/// Blocked and packed (the BLIS loop nest, see the module docs); uses rayon
/// over row blocks of C when m·n·k ≥ [`PAR_MIN_MNK`], with results bitwise
/// identical whatever the thread count (every element of C is accumulated in
/// the same k order whatever the partition). Safe to call from inside rayon
/// tasks. `alpha == 0` or `k == 0` only scales C by β (without reading A or B).
///
/// # Panics
/// If a leading dimension is smaller than its stored row length or a slice is
/// too short for the shape it is given.
#[allow(clippy::too_many_arguments)]
pub fn sgemm(
    ta: Trans,
    tb: Trans,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) {
    driver::gemm(true, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/// [`sgemm`] on the calling thread only (never uses rayon): for callers that
/// already parallelise at a coarser level. Same bits as [`sgemm`]. O(m·n·k).
///
/// # Panics
/// As [`sgemm`].
#[allow(clippy::too_many_arguments)]
pub fn sgemm_serial(
    ta: Trans,
    tb: Trans,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) {
    driver::gemm(false, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/// Plain scalar reference for [`sgemm`]: the triple loop, accumulating in f64. O(m·n·k).
///
/// # Panics
/// As [`sgemm`].
#[allow(clippy::too_many_arguments)]
pub fn sgemm_reference(
    ta: Trans,
    tb: Trans,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) {
    let at = |i: usize, p: usize| match ta {
        Trans::No => a[i * lda + p],
        Trans::Yes => a[p * lda + i],
    };
    let bt = |p: usize, j: usize| match tb {
        Trans::No => b[p * ldb + j],
        Trans::Yes => b[j * ldb + p],
    };
    for i in 0..m {
        for j in 0..n {
            let mut s = 0.0f64;
            for p in 0..k {
                s += at(i, p) as f64 * bt(p, j) as f64;
            }
            let old = if beta == 0.0 {
                0.0
            } else {
                beta * c[i * ldc + j]
            };
            c[i * ldc + j] = alpha * s as f32 + old;
        }
    }
}

/// y ← α·op(A)·x + β·y with A stored m×n (row-major, leading dimension `lda`):
/// `Trans::No` gives y of length m, `Trans::Yes` gives y of length n.
/// O(m·n); memory-bound. Uses rayon for large A with a fixed reduction order,
/// so results are bitwise identical whatever the thread count.
///
/// # Panics
/// If a slice is too short for the shape it is given.
#[allow(clippy::too_many_arguments)]
pub fn sgemv(
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
    gemv::gemv(ta, m, n, alpha, a, lda, x, beta, y);
}

/// Plain scalar reference for [`sgemv`], accumulating in f64. O(m·n).
///
/// # Panics
/// As [`sgemv`].
#[allow(clippy::too_many_arguments)]
pub fn sgemv_reference(
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
    let (rows, cols) = match ta {
        Trans::No => (m, n),
        Trans::Yes => (n, m),
    };
    for r in 0..rows {
        let mut s = 0.0f64;
        for q in 0..cols {
            let aij = match ta {
                Trans::No => a[r * lda + q],
                Trans::Yes => a[q * lda + r],
            };
            s += aij as f64 * x[q] as f64;
        }
        let old = if beta == 0.0 { 0.0 } else { beta * y[r] };
        y[r] = alpha * s as f32 + old;
    }
}
