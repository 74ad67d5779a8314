//! The register-tiled micro-kernel: one MR×(LANES·NV) tile of C from a
//! packed A micro-panel (kc×MR, k-major) and a packed B micro-panel
//! (kc×LANES·NV, k-major). The tile shape follows the build's vector width
//! (see [`crate::simd`]):
//!
//! - **AVX-512** (32 zmm registers of 16 f32): MR×NR = 12×32 keeps 12·2 = 24
//!   accumulators, 2 registers for the current row of the B micro-panel, and
//!   the A values are broadcast straight from memory into the FMA
//!   (`vfmadd231ps zmm, zmm, [mem]{1to16}`), leaving 6 registers spare. Each
//!   k step issues 24 FMAs against 2 vector loads and 12 broadcasts, so the
//!   two FMA ports stay busy (12 cycles of FMA work per step against ~7 of
//!   loads), and the 24 independent accumulators hide the 4-cycle FMA
//!   latency (≥ 8 chains needed). The transpose of BLIS's 32×12 Skylake-X
//!   SGEMM kernel.
//! - **AVX2 + FMA** (16 ymm registers of 8 f32): MR×NR = 6×16, 12
//!   accumulators, 2 B registers and 1 for the broadcast A value
//!   (`vbroadcastss` cannot fold into an AVX2 FMA), 15 of 16 registers: 12
//!   FMAs per k step against 2 loads and 6 broadcasts, 12 chains for a
//!   4-cycle latency on 2 ports (≥ 8 needed). BLIS's Haswell and Zen shape.
//!   The AVX-512 tile compiled for AVX2 would need 48 ymm registers: on a
//!   Zen 3 it spilled and ran at 22–26 GFLOP/s, this one at 60–79.

#![allow(clippy::needless_range_loop)] // index loops over const tile shapes are the point

use crate::simd::{F32S_LANES, F32s as V};

/// f32 lanes in one vector of the tile.
pub const LANES: usize = F32S_LANES;
/// Rows of a micro-tile (values of A broadcast per k step): 12 with 16-lane
/// vectors, 6 with 8-lane ones (see the register budgets above).
pub const MR: usize = if LANES == 16 { 12 } else { 6 };
/// Vectors of B per k step in the full-width kernel.
pub const NV_MAX: usize = 2;
/// Columns of a full micro-tile.
pub const NR: usize = NV_MAX * LANES;

/// Computes the R×(LANES·NV) product of the first R rows of the packed A
/// micro-panel (R ≤ MR; the panel keeps its stride of MR floats per k step)
/// and the packed B micro-panel, and writes `alpha·AB + beta·C` into the
/// `mr`×`nr` corner of C at `c` (row stride `ldc`). `beta == 0` writes
/// without reading C. R·NV·kc FMAs of LANES lanes: an edge tile of fewer
/// than MR rows runs with a smaller R instead of computing padding rows
/// (see `driver::by_shape`).
///
/// Not inlined, like [`tile_packing_b`]: with both inlined into the driver's
/// loop, LLVM kept this kernel's accumulators on the stack in one build (27
/// instead of 70 GFLOP/s on the Zen 3); a function of its own gets all the
/// registers, for one call per tile.
///
/// # Safety
/// `pa` must hold `kc·MR` floats, `pb` `kc·LANES·NV` floats and be 64-byte
/// aligned, and `c` must be valid for an `mr`×`nr` tile with row stride `ldc`;
/// `mr ≤ R ≤ MR`, `nr ≤ LANES·NV`.
#[inline(never)]
#[allow(clippy::too_many_arguments)]
pub unsafe fn tile<const R: usize, const NV: usize>(
    kc: usize,
    pa: *const f32,
    pb: *const f32,
    alpha: f32,
    beta: f32,
    c: *mut f32,
    ldc: usize,
    mr: usize,
    nr: usize,
) {
    let (mut pa, mut pb) = (pa, pb as *const V);
    // SAFETY: the caller guarantees kc steps of MR floats of A and NV aligned
    // vectors of B, and the tile of C.
    unsafe {
        run::<R, NV>(kc, alpha, beta, c, ldc, mr, nr, |acc| {
            let bv: [V; NV] = std::array::from_fn(|v| *pb.add(v));
            rank1(acc, |r| *pa.add(r), &bv);
            pa = pa.add(MR);
            pb = pb.add(NV);
        })
    }
}

/// Like [`tile`], but reads A unpacked: element (r, p) of the tile's R A rows
/// at `pa + min(r, mr−1)·rsa + p·csa` (rows past `mr` repeat the last real
/// row; their results are never stored). Used when C has a single NR strip
/// of columns, where every A value is used exactly once and packing A would
/// cost as much as the product itself (e.g. the 128×200×10 output layer).
///
/// # Safety
/// Every address `pa + r·rsa + p·csa` for r < mr, p < kc must be readable;
/// `pb` and `c` as for [`tile`].
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub unsafe fn tile_strided<const R: usize, const NV: usize>(
    kc: usize,
    pa: *const f32,
    rsa: usize,
    csa: usize,
    pb: *const f32,
    alpha: f32,
    beta: f32,
    c: *mut f32,
    ldc: usize,
    mr: usize,
    nr: usize,
) {
    let ro: [usize; R] = std::array::from_fn(|r| r.min(mr - 1) * rsa);
    let (mut pa, mut pb) = (pa, pb as *const V);
    // SAFETY: the caller guarantees the strided A reads, kc steps of NV
    // aligned vectors of B, and the tile of C.
    unsafe {
        run::<R, NV>(kc, alpha, beta, c, ldc, mr, nr, |acc| {
            let bv: [V; NV] = std::array::from_fn(|v| *pb.add(v));
            rank1(acc, |r| *pa.add(ro[r]), &bv);
            pa = pa.add(csa);
            pb = pb.add(NV);
        })
    }
}

/// Like [`tile`], but reads the B micro-panel unpacked — its k step p is the
/// LANES·NV floats at `b + p·ldb`, at any alignment — and writes each step
/// packed to `pb` as it goes. The first row tile of a B panel runs this, so
/// the panel is packed by the loads the product needs anyway instead of in a
/// separate pass over B before it (see `driver::macro_rows`).
///
/// # Safety
/// `b + p·ldb .. + LANES·NV` must be readable for p < kc, `pb` writable for
/// `kc·LANES·NV` floats and 64-byte aligned; `pa` and `c` as for [`tile`].
#[inline(never)]
#[allow(clippy::too_many_arguments)]
pub unsafe fn tile_packing_b<const R: usize, const NV: usize>(
    kc: usize,
    pa: *const f32,
    b: *const f32,
    ldb: usize,
    pb: *mut f32,
    alpha: f32,
    beta: f32,
    c: *mut f32,
    ldc: usize,
    mr: usize,
    nr: usize,
) {
    let (mut pa, mut b, mut pb) = (pa, b, pb as *mut V);
    // SAFETY: the caller guarantees kc steps of MR floats of A, of NV vectors
    // of B at `b` and of NV aligned vectors at `pb`, and the tile of C.
    unsafe {
        run::<R, NV>(kc, alpha, beta, c, ldc, mr, nr, |acc| {
            let ahead = b.wrapping_add(PF_B * ldb);
            crate::simd::prefetch(ahead);
            crate::simd::prefetch(ahead.wrapping_add(NV * LANES - 1));
            let bv: [V; NV] = std::array::from_fn(|v| {
                let x = (b.add(v * LANES) as *const V).read_unaligned();
                *pb.add(v) = x;
                x
            });
            rank1(acc, |r| *pa.add(r), &bv);
            pa = pa.add(MR);
            b = b.add(ldb);
            pb = pb.add(NV);
        })
    }
}

/// How many k steps ahead [`tile_packing_b`] prefetches the rows of B it
/// reads: rows lie `ldb` apart, a stride the hardware prefetcher does not
/// follow across pages. Without it, 512³ and 1024³ ran 4–8 % slower with the
/// packing fused, with it 1–2 % (before fusing was limited to ≤ MC rows).
const PF_B: usize = 16;

/// The frame every tile kernel shares: ask for the tile's lines of C, run
/// `step` kc times on R×NV zeroed accumulators (each call one k step that
/// reads A and B and advances its pointers), then store α·acc + β·C.
///
/// # Safety
/// `c` must be valid for an `mr`×`nr` tile with row stride `ldc`, mr ≤ R,
/// nr ≤ LANES·NV; `step` must be sound to call kc times.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn run<const R: usize, const NV: usize>(
    kc: usize,
    alpha: f32,
    beta: f32,
    c: *mut f32,
    ldc: usize,
    mr: usize,
    nr: usize,
    mut step: impl FnMut(&mut [[V; NV]; R]),
) {
    prefetch_c(c, ldc, mr, nr);
    let mut acc = [[V::ZERO; NV]; R];
    for _ in 0..kc {
        step(&mut acc);
    }
    // SAFETY: forwarded from the caller's contract.
    unsafe { store::<R, NV>(&acc, alpha, beta, c, ldc, mr, nr) };
}

/// One k step of a tile: acc[r][v] += a(r) · b[v] for the tile's R rows
/// (A values broadcast) and NV vectors of B; R·NV FMAs.
#[inline(always)]
fn rank1<const R: usize, const NV: usize>(
    acc: &mut [[V; NV]; R],
    a: impl Fn(usize) -> f32,
    b: &[V; NV],
) {
    for (r, row) in acc.iter_mut().enumerate() {
        let a = V::splat(a(r));
        for (x, b) in row.iter_mut().zip(b) {
            *x = a.mul_add(*b, *x);
        }
    }
}

/// Asks for the first and last cache line of each of the tile's `mr` rows of
/// C before the k loop, so that the read-modify-write at its end finds them
/// in L1: C rows lie `ldc` apart and the hardware prefetcher does not follow
/// them. BLIS's x86 kernels do the same. On the Zen 3, 1024³ ran 3–5 %
/// faster with it (interleaved A/B in one process).
#[inline(always)]
fn prefetch_c(c: *mut f32, ldc: usize, mr: usize, nr: usize) {
    for r in 0..mr {
        crate::simd::prefetch(c.wrapping_add(r * ldc));
        crate::simd::prefetch(c.wrapping_add(r * ldc + nr - 1));
    }
}

/// Writes α·acc + β·C into the mr×nr corner of the tile at `c`.
///
/// # Safety
/// `c` must be valid for an `mr`×`nr` tile with row stride `ldc`.
#[inline(always)]
unsafe fn store<const R: usize, const NV: usize>(
    acc: &[[V; NV]; R],
    alpha: f32,
    beta: f32,
    c: *mut f32,
    ldc: usize,
    mr: usize,
    nr: usize,
) {
    let va = V::splat(alpha);
    let vb = V::splat(beta);
    if mr == R && nr == NV * LANES {
        for (r, row) in acc.iter().enumerate() {
            for (v, x) in row.iter().enumerate() {
                // SAFETY: full tile inside C as guaranteed by the caller.
                unsafe {
                    let p = c.add(r * ldc + v * LANES) as *mut V;
                    let out = if beta == 0.0 {
                        *x * va
                    } else {
                        vb.mul_add(p.read_unaligned(), *x * va)
                    };
                    p.write_unaligned(out);
                }
            }
        }
    } else {
        // SAFETY: forwarded from the caller's contract.
        unsafe { store_edge::<R, NV>(acc, alpha, beta, c, ldc, mr, nr) };
    }
}

/// The edge case of [`store`]: the mr×nr corner of a tile, mr ≤ MR, nr ≤
/// LANES·NV, one masked AVX-512 load/store per row and vector. Every tile of
/// the 10-wide output layer is an edge tile: 128×200×10 ran 13 % faster than
/// with a scalar store per element.
///
/// # Safety
/// As [`store`].
#[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn store_edge<const R: usize, const NV: usize>(
    acc: &[[V; NV]; R],
    alpha: f32,
    beta: f32,
    c: *mut f32,
    ldc: usize,
    mr: usize,
    nr: usize,
) {
    use std::arch::x86_64::{_mm512_mask_storeu_ps, _mm512_maskz_loadu_ps};
    let va = V::splat(alpha);
    let vb = V::splat(beta);
    for (r, row) in acc.iter().enumerate().take(mr) {
        for (v, x) in row.iter().enumerate() {
            let lanes = nr.saturating_sub(v * LANES).min(LANES);
            if lanes == 0 {
                break;
            }
            let mask = (u32::MAX >> (32 - lanes)) as u16;
            // SAFETY: lanes v·16 .. v·16 + lanes of row r lie inside the
            // mr×nr tile; masked-off lanes are neither read nor written.
            unsafe {
                let p = c.add(r * ldc + v * LANES);
                let out = if beta == 0.0 {
                    *x * va
                } else {
                    vb.mul_add(V::from(_mm512_maskz_loadu_ps(mask, p)), *x * va)
                };
                _mm512_mask_storeu_ps(p, mask, out.into());
            }
        }
    }
}

/// The edge case of [`store`] without AVX-512: whole vectors of a row that
/// lie inside the tile are stored as vectors, the rest element by element.
///
/// # Safety
/// As [`store`].
#[cfg(not(all(target_arch = "x86_64", target_feature = "avx512f")))]
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn store_edge<const R: usize, const NV: usize>(
    acc: &[[V; NV]; R],
    alpha: f32,
    beta: f32,
    c: *mut f32,
    ldc: usize,
    mr: usize,
    nr: usize,
) {
    let va = V::splat(alpha);
    let vb = V::splat(beta);
    for (r, row) in acc.iter().enumerate().take(mr) {
        for (v, x) in row.iter().enumerate() {
            let lanes = nr.saturating_sub(v * LANES).min(LANES);
            // SAFETY: lanes v·LANES .. v·LANES + lanes of row r lie inside
            // the mr×nr tile.
            unsafe {
                let p = c.add(r * ldc + v * LANES);
                if lanes == LANES {
                    let p = p as *mut V;
                    let out = if beta == 0.0 {
                        *x * va
                    } else {
                        vb.mul_add(p.read_unaligned(), *x * va)
                    };
                    p.write_unaligned(out);
                } else {
                    for (j, val) in x.as_array().iter().enumerate().take(lanes) {
                        let p = p.add(j);
                        *p = if beta == 0.0 {
                            alpha * val
                        } else {
                            beta.mul_add(*p, alpha * val)
                        };
                    }
                }
            }
        }
    }
}
