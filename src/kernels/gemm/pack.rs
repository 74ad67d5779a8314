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
                    if mr == MR {
                        // A constant-length copy compiles to two vector moves,
                        // not a call to memmove.
                        let src: &[f32; MR] = a[start..start + MR].try_into().unwrap();
                        out.copy_from_slice(src);
                    } else {
                        out[..mr].copy_from_slice(&a[start..start + mr]);
                        out[mr..].fill(0.0);
                    }
                }
            }
            Trans::No => {
                // op(A)(i, p) = a[i·lda + p]: transpose MR rows into k-major order.
                if mr == MR {
                    let rows: [&[f32]; MR] = std::array::from_fn(|r| {
                        let s = (i0 + ir + r) * lda + p0;
                        &a[s..s + kc]
                    });
                    let done = transpose_rows(&rows, panel, MR);
                    for (p, out) in panel.chunks_exact_mut(MR).enumerate().skip(done) {
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
    match tb {
        Trans::No => {
            // op(B)(p, j) = b[p·ldb + j]. Read B row by row and deal each row
            // out to the strips: a sequential read that the hardware
            // prefetcher streams. Strip by strip instead, every 64-byte read
            // starts a new row (a new page once ldb ≥ 1024), and packing took
            // 6 % of a 1024³ product on the Zen 3, 1.4 % this way.
            for p in 0..kc {
                let start = (p0 + p) * ldb + j0;
                let row = &b[start..start + nc];
                for (jr, strip) in (0..nc).step_by(NR).zip(dst.chunks_exact_mut(NR * kc)) {
                    let w = NR.min(nc - jr);
                    let pw = padded_width(w);
                    let out = &mut strip[p * pw..(p + 1) * pw];
                    if w == NR {
                        // Constant length: vector moves instead of a memmove call.
                        let src: &[f32; NR] = row[jr..jr + NR].try_into().unwrap();
                        out.copy_from_slice(src);
                    } else {
                        out[..w].copy_from_slice(&row[jr..jr + w]);
                        out[w..].fill(0.0);
                    }
                }
            }
        }
        Trans::Yes => {
            // op(B)(p, j) = b[j·ldb + p]: transpose w rows of B into k-major order.
            for (jr, strip) in (0..nc).step_by(NR).zip(dst.chunks_exact_mut(NR * kc)) {
                let w = NR.min(nc - jr);
                let pw = padded_width(w);
                let strip = &mut strip[..pw * kc];
                if w == NR {
                    let rows: [&[f32]; NR] = std::array::from_fn(|c| {
                        let s = (j0 + jr + c) * ldb + p0;
                        &b[s..s + kc]
                    });
                    let done = transpose_rows(&rows, strip, NR);
                    for (p, out) in strip.chunks_exact_mut(NR).enumerate().skip(done) {
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

/// Writes `dst[p·width + r] = rows[r][p]` (width = rows.len(), a multiple of
/// 16 or at most 16) for p below the largest multiple of 16 that fits every
/// row, and returns that count; the caller finishes the remaining k steps.
/// With AVX-512 it moves 16×16 blocks through [`transpose16`] (about 0.25
/// instructions per element instead of a scalar load and store each);
/// elsewhere it does nothing and returns 0. O(width·len).
#[inline]
fn transpose_rows(rows: &[&[f32]], dst: &mut [f32], width: usize) -> usize {
    #[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
    {
        use std::arch::x86_64::*;
        let len = rows.iter().map(|r| r.len()).min().unwrap_or(0);
        let whole = len - len % LANES;
        assert!(dst.len() >= whole * width);
        for g in (0..width).step_by(LANES) {
            let n = LANES.min(width - g);
            let mask: u16 = if n == LANES { !0 } else { (1u16 << n) - 1 };
            for p in (0..whole).step_by(LANES) {
                // SAFETY: each row holds ≥ whole ≥ p + 16 floats; the stores
                // write lanes g..g+n of dst rows p..p+16 of `width` floats,
                // inside dst (asserted above). Rows g+n.. are zeros.
                unsafe {
                    let m: [__m512; LANES] = std::array::from_fn(|i| {
                        if i < n {
                            _mm512_loadu_ps(rows[g + i][p..p + LANES].as_ptr())
                        } else {
                            _mm512_setzero_ps()
                        }
                    });
                    let t = transpose16(m);
                    for (j, v) in t.iter().enumerate() {
                        _mm512_mask_storeu_ps(dst.as_mut_ptr().add((p + j) * width + g), mask, *v);
                    }
                }
            }
        }
        whole
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "avx512f")))]
    {
        let _ = (rows, dst, width);
        0
    }
}

/// The transpose of a 16×16 block held as 16 rows: out[j] lane i = r[i] lane j.
/// Three rounds: 32-bit interleaves of row pairs, 64-bit interleaves of pair
/// pairs (each 128-bit lane then holds a 4×4 sub-block transposed), and two
/// rounds of 128-bit lane shuffles that move the 4×4 sub-blocks into place.
#[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
#[inline(always)]
unsafe fn transpose16(r: [std::arch::x86_64::__m512; 16]) -> [std::arch::x86_64::__m512; 16] {
    use std::arch::x86_64::*;
    // SAFETY: register-only AVX-512F operations; the build enables avx512f.
    unsafe {
        // t[2i], t[2i+1]: rows 2i, 2i+1 interleaved (per 128-bit lane L:
        // [r0[4L], r1[4L], r0[4L+1], r1[4L+1]] and the upper two).
        let t: [__m512; 16] = std::array::from_fn(|k| {
            let (a, b) = (r[k & !1], r[k | 1]);
            if k % 2 == 0 {
                _mm512_unpacklo_ps(a, b)
            } else {
                _mm512_unpackhi_ps(a, b)
            }
        });
        // u[4g+q], lane L = column 4L+q of rows 4g..4g+4.
        let u: [__m512; 16] = std::array::from_fn(|k| {
            let (g, q) = (k / 4, k % 4);
            let a = _mm512_castps_pd(t[4 * g + q / 2]);
            let b = _mm512_castps_pd(t[4 * g + 2 + q / 2]);
            _mm512_castpd_ps(if q % 2 == 0 {
                _mm512_unpacklo_pd(a, b)
            } else {
                _mm512_unpackhi_pd(a, b)
            })
        });
        // out[4L+q] = [lane L of u[q], u[4+q], u[8+q], u[12+q]].
        let mut out = [_mm512_setzero_ps(); 16];
        for q in 0..4 {
            let x0 = _mm512_shuffle_f32x4::<0x44>(u[q], u[4 + q]);
            let x1 = _mm512_shuffle_f32x4::<0xEE>(u[q], u[4 + q]);
            let x2 = _mm512_shuffle_f32x4::<0x44>(u[8 + q], u[12 + q]);
            let x3 = _mm512_shuffle_f32x4::<0xEE>(u[8 + q], u[12 + q]);
            out[q] = _mm512_shuffle_f32x4::<0x88>(x0, x2);
            out[4 + q] = _mm512_shuffle_f32x4::<0xDD>(x0, x2);
            out[8 + q] = _mm512_shuffle_f32x4::<0x88>(x1, x3);
            out[12 + q] = _mm512_shuffle_f32x4::<0xDD>(x1, x3);
        }
        out
    }
}
