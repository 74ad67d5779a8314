//! Packing: copy a block of op(A) or op(B) into the contiguous, k-major
//! micro-panel layout the micro-kernel streams through. All four transpose
//! combinations are resolved here, so there is only one micro-kernel.
//!
//! - A block (mc×kc of op(A)) → ⌈mc/MR⌉ micro-panels, each kc×MR
//!   (element (r, p) of the panel at `p·MR + r`), rows past mc zero-filled.
//! - B panel (kc×nc of op(B)) → ⌈nc/NR⌉ strips at stride kc·NR, each kc×w̄
//!   (element (p, c) at `p·w̄ + c`) where w̄ is the strip width rounded up to a
//!   multiple of 16; columns past the strip width zero-filled.

#![allow(clippy::needless_range_loop)]

use super::Trans;
use super::kernel::{LANES, MR, NR};

/// Width in floats that a B strip of `w` real columns occupies per k step.
#[inline]
pub fn padded_width(w: usize) -> usize {
    w.div_ceil(LANES) * LANES
}

/// Packs rows `i0..i0+mc`, columns `p0..p0+kc` of op(A) into `dst`
/// (length ≥ ⌈mc/MR⌉·MR·kc). O(mc·kc).
#[allow(clippy::too_many_arguments)]
pub fn pack_a(
    ta: Trans,
    a: &[f32],
    lda: usize,
    i0: usize,
    mc: usize,
    p0: usize,
    kc: usize,
    dst: &mut [f32],
) {
    for (ir, panel) in (0..mc).step_by(MR).zip(dst.chunks_exact_mut(MR * kc)) {
        let mr = MR.min(mc - ir);
        match ta {
            Trans::Yes => {
                // op(A)(i, p) = a[p·lda + i]: each k step is a contiguous run of mr.
                for (p, out) in panel.chunks_exact_mut(MR).enumerate() {
                    let start = (p0 + p) * lda + i0 + ir;
                    out[..mr].copy_from_slice(&a[start..start + mr]);
                    out[mr..].fill(0.0);
                }
            }
            Trans::No => {
                // op(A)(i, p) = a[i·lda + p]: transpose MR rows into k-major order.
                if mr == MR {
                    let rows: [&[f32]; MR] = std::array::from_fn(|r| {
                        let s = (i0 + ir + r) * lda + p0;
                        &a[s..s + kc]
                    });
                    for (p, out) in panel.chunks_exact_mut(MR).enumerate() {
                        for r in 0..MR {
                            out[r] = rows[r][p];
                        }
                    }
                } else {
                    for (p, out) in panel.chunks_exact_mut(MR).enumerate() {
                        for (r, o) in out.iter_mut().enumerate() {
                            *o = if r < mr {
                                a[(i0 + ir + r) * lda + p0 + p]
                            } else {
                                0.0
                            };
                        }
                    }
                }
            }
        }
    }
}

/// Packs rows `p0..p0+kc`, columns `j0..j0+nc` of op(B) into `dst`
/// (length ≥ ⌈nc/NR⌉·NR·kc). O(kc·nc).
#[allow(clippy::too_many_arguments)]
pub fn pack_b(
    tb: Trans,
    b: &[f32],
    ldb: usize,
    p0: usize,
    kc: usize,
    j0: usize,
    nc: usize,
    dst: &mut [f32],
) {
    for (jr, strip) in (0..nc).step_by(NR).zip(dst.chunks_exact_mut(NR * kc)) {
        let w = NR.min(nc - jr);
        let pw = padded_width(w);
        let strip = &mut strip[..pw * kc];
        match tb {
            Trans::No => {
                // op(B)(p, j) = b[p·ldb + j]: each k step is a contiguous run of w.
                for (p, out) in strip.chunks_exact_mut(pw).enumerate() {
                    let start = (p0 + p) * ldb + j0 + jr;
                    out[..w].copy_from_slice(&b[start..start + w]);
                    out[w..].fill(0.0);
                }
            }
            Trans::Yes => {
                // op(B)(p, j) = b[j·ldb + p]: transpose w rows of B into k-major order.
                if w == NR {
                    let rows: [&[f32]; NR] = std::array::from_fn(|c| {
                        let s = (j0 + jr + c) * ldb + p0;
                        &b[s..s + kc]
                    });
                    for (p, out) in strip.chunks_exact_mut(NR).enumerate() {
                        for c in 0..NR {
                            out[c] = rows[c][p];
                        }
                    }
                } else {
                    for (p, out) in strip.chunks_exact_mut(pw).enumerate() {
                        for (c, o) in out.iter_mut().enumerate() {
                            *o = if c < w {
                                b[(j0 + jr + c) * ldb + p0 + p]
                            } else {
                                0.0
                            };
                        }
                    }
                }
            }
        }
    }
}
