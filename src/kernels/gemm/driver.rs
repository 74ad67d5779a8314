//! The loop nest around the micro-kernel: argument checks, blocking, packing
//! buffers and the rayon split of C into one block of rows per thread.

use std::cell::Cell;

use crate::kernels::AlignedVec;
use rayon::prelude::*;

use super::Trans;
use super::kernel::{self, LANES, MR, NR};
use super::pack::{pack_a, pack_b, padded_width};

/// Depth of a k block. The A micro-panel (MR·KC·4 B: 12 KiB with AVX-512,
/// 6 KiB with AVX2) stays in L1d (48 KiB on the AVX-512 Xeon this was tuned
/// on, 32 KiB on the AVX2 Zen 3) while the micro-kernel sweeps along the B
/// panel, with room for the streaming B micro-panels (KC×NR·4 B: 32 KiB and
/// 16 KiB). k is split into ⌈k/KC⌉ blocks of (nearly) equal depth, so
/// k = 784 runs as 4 blocks of 196.
pub const KC: usize = 256;
/// Rows of an A block (a multiple of MR for both tile shapes): MC×KC×4 B =
/// 240 KiB of packed A, packed at once and then used one L1-resident
/// micro-panel at a time.
pub const MC: usize = 240;
/// Columns of a B panel (a multiple of NR). With AVX-512 the packed B panel,
/// KC×NC×4 B = 1.5 MiB, stays in the Xeon's 2 MiB L2 while every A
/// micro-panel of the same k block sweeps along it.
#[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
pub const NC: usize = 1536;
/// Columns of a B panel (a multiple of NR). With AVX2, tuned on a Zen 3
/// (512 KiB of L2 per core, 32 MiB of L3): the 1 MiB B panel lives in L3
/// and streams through L2 along each A micro-panel. With 384 (a panel that
/// fits L2) 1024³ ran 11–15 % slower in an interleaved A/B, because every
/// extra panel packs A and passes over C once more.
#[cfg(not(all(target_arch = "x86_64", target_feature = "avx512f")))]
pub const NC: usize = 1024;
/// Problems with m·n·k below this (about 40 µs of work on one core) run on
/// the calling thread: a rayon fork-join costs a few µs and the networks
/// already parallelise over batch chunks.
pub const PAR_MIN_MNK: usize = 1 << 21;

thread_local! {
    static BUF_A: Cell<AlignedVec> = Cell::new(AlignedVec::default());
    static BUF_B: Cell<AlignedVec> = Cell::new(AlignedVec::default());
}

/// Runs `f` on a 64-byte-aligned scratch slice of at least `len` floats taken
/// from the thread-local `key`. The buffer grows once and is reused; it is
/// taken out of the cell while in use, so a nested call on the same thread
/// (rayon work stealing) gets its own buffer instead of aliasing this one.
fn with_buf<R>(
    key: &'static std::thread::LocalKey<Cell<AlignedVec>>,
    len: usize,
    f: impl FnOnce(&mut [f32]) -> R,
) -> R {
    let mut v = key.with(|c| c.take());
    if v.len() < len {
        v = AlignedVec::zeroed(len.next_multiple_of(LANES));
    }
    let r = f(&mut v);
    key.with(|c| {
        let other = c.take();
        c.set(if other.len() > v.len() { other } else { v });
    });
    r
}

/// Checks that a row-major matrix with `rows` stored rows of `cols` used
/// columns fits in a slice of length `len` with leading dimension `ld`.
fn check(name: &str, rows: usize, cols: usize, ld: usize, len: usize) {
    assert!(
        ld >= cols,
        "sgemm: leading dimension of {name} ({ld}) is smaller than its stored row length ({cols})"
    );
    if rows > 0 && cols > 0 {
        let need = (rows - 1) * ld + cols;
        assert!(
            len >= need,
            "sgemm: {name} has {len} elements but its {rows}×{cols} shape with leading dimension {ld} needs {need}"
        );
    }
}

/// C ← β·C (β == 0 writes zeros without reading C).
fn scale_c(m: usize, n: usize, beta: f32, c: &mut [f32], ldc: usize) {
    for i in 0..m {
        let row = &mut c[i * ldc..i * ldc + n];
        if beta == 0.0 {
            row.fill(0.0);
        } else if beta != 1.0 {
            row.iter_mut().for_each(|x| *x *= beta);
        }
    }
}

/// Shared entry for `sgemm` (`parallel = true`) and `sgemm_serial`; a
/// parallel call runs one serial call per thread on its block of rows.
#[allow(clippy::too_many_arguments)]
pub(super) fn gemm(
    parallel: bool,
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
    match ta {
        Trans::No => check("A", m, k, lda, a.len()),
        Trans::Yes => check("A", k, m, lda, a.len()),
    }
    match tb {
        Trans::No => check("B", k, n, ldb, b.len()),
        Trans::Yes => check("B", n, k, ldb, b.len()),
    }
    check("C", m, n, ldc, c.len());
    if m == 0 || n == 0 {
        return;
    }
    let c = &mut c[..(m - 1) * ldc + n];
    if alpha == 0.0 || k == 0 {
        scale_c(m, n, beta, c, ldc);
        return;
    }
    let threads = if parallel {
        rayon::current_num_threads()
    } else {
        1
    };
    if threads > 1 && m * n * k >= PAR_MIN_MNK && m >= 2 * MR {
        // One task per thread, each a whole serial product on its rows of C
        // with its own packed A and B (thread-local buffers, so no packed
        // panel is written by one core while another reads it). One task,
        // not several, per thread: each extra task would pack B once more.
        let chunk_rows = m.div_ceil(threads).div_ceil(MR) * MR;
        c.par_chunks_mut(chunk_rows * ldc)
            .enumerate()
            .for_each(|(t, cc)| {
                let i0 = t * chunk_rows;
                let rows = chunk_rows.min(m - i0);
                let a0 = match ta {
                    Trans::No => i0 * lda,
                    Trans::Yes => i0,
                };
                gemm(
                    false,
                    ta,
                    tb,
                    rows,
                    n,
                    k,
                    alpha,
                    &a[a0..],
                    lda,
                    b,
                    ldb,
                    beta,
                    cc,
                    ldc,
                );
            });
        return;
    }
    // k blocks depend only on k (never on threads): the k order is fixed.
    let nkb = k.div_ceil(KC);
    let kcb = k.div_ceil(nkb);
    let stride = kcb * n.min(NC).div_ceil(NR) * NR;
    with_buf(&BUF_B, stride, |bp| {
        for jc in (0..n).step_by(NC) {
            let nc = NC.min(n - jc);
            for kb in 0..nkb {
                let p0 = kb * kcb;
                let kc = kcb.min(k - p0);
                // With few rows of C (one A block), packing B in a pass of
                // its own costs 5–8 % of the product (Zen 3); instead, a
                // row-major B wider than one strip is packed by the first row
                // tile's kernel as it reads B (`tile_packing_b`), except for
                // a last strip whose width is not a whole number of vectors.
                // 128 × 200 × 784 and the other 128- and 200-row shapes ran
                // 4–11 % faster on one thread and 8–14 % on two (in-process
                // A/B); with more rows the strided reads of B in that first
                // tile cost what the pass saved (512³, 1024³: −1 to −2 %).
                let fuse = matches!(tb, Trans::No) && nc > NR && m <= MC;
                if fuse {
                    let jr = (nc - 1) / NR * NR;
                    if !(nc - jr).is_multiple_of(LANES) {
                        let strip = &mut bp[(jr / NR) * NR * kc..];
                        pack_b(tb, b, ldb, p0, kc, jc + jr, nc - jr, strip);
                    }
                } else {
                    pack_b(tb, b, ldb, p0, kc, jc, nc, bp);
                }
                let src = fuse.then(|| &b[p0 * ldb + jc..]);
                let beta_k = if kb == 0 { beta } else { 1.0 };
                macro_rows(
                    ta, a, lda, m, p0, kc, bp, src, ldb, jc, nc, alpha, beta_k, c, ldc,
                );
            }
        }
    });
}

/// Calls the micro-kernel `kernel::$f` instantiated for an `mr`×`nr` tile:
/// two vectors of B when `nr` needs them, else one, and the fewest rows
/// among MR/3, 2·MR/3 and MR that hold `mr`. With AVX-512, 128 rows are
/// ten tiles of 12 and one of 8, which then costs 8 rows of FMAs, not 12:
/// on the Zen 4, 128×784×200 and 128×200×200 went from 1.01 to 1.06 ×
/// matrixmultiply (medians of interleaved rounds, `scripts/openblas_sgemm.py`).
macro_rules! by_shape {
    ($f:ident, $mr:expr, $nr:expr, ($($arg:expr),*)) => {
        match ($mr.div_ceil(MR / 3), padded_width($nr) == NR) {
            (3, true) => kernel::$f::<MR, 2>($($arg),*),
            (3, false) => kernel::$f::<MR, 1>($($arg),*),
            (2, true) => kernel::$f::<{ 2 * MR / 3 }, 2>($($arg),*),
            (2, false) => kernel::$f::<{ 2 * MR / 3 }, 1>($($arg),*),
            (_, true) => kernel::$f::<{ MR / 3 }, 2>($($arg),*),
            (_, false) => kernel::$f::<{ MR / 3 }, 1>($($arg),*),
        }
    };
}

/// Rows `0..rows` of C ← α·op(A)·packed B + β·C
/// for one k block and one B panel at columns `jc..jc+nc`. With `src` (the
/// panel's first element in a row-major B with rows `ldb` apart) the first
/// row tile packs each strip of whole vectors into `bp` as it goes; strips
/// of other widths must be packed already.
#[allow(clippy::too_many_arguments)]
fn macro_rows(
    ta: Trans,
    a: &[f32],
    lda: usize,
    rows: usize,
    p0: usize,
    kc: usize,
    bp: &mut [f32],
    src: Option<&[f32]>,
    ldb: usize,
    jc: usize,
    nc: usize,
    alpha: f32,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) {
    let nmb = rows.div_ceil(MC);
    let mcb = rows.div_ceil(nmb).div_ceil(MR) * MR;
    if nc <= NR {
        // One strip of B: each A value is used once, so read A in place.
        let (rsa, csa) = match ta {
            Trans::No => (lda, 1),
            Trans::Yes => (1, lda),
        };
        let nr = nc;
        let pb = bp.as_ptr();
        assert!(src.is_none());
        for i in (0..rows).step_by(MR) {
            let mr = MR.min(rows - i);
            let (first, last) = match ta {
                Trans::No => (i * lda + p0, (i + mr - 1) * lda + p0 + kc - 1),
                Trans::Yes => (p0 * lda + i, (p0 + kc - 1) * lda + i + mr - 1),
            };
            assert!(last < a.len());
            let pa = a[first..].as_ptr();
            let off = i * ldc + jc;
            assert!(off + (mr - 1) * ldc + nr <= c.len());
            let cp = c[off..].as_mut_ptr();
            // SAFETY: the A rows/columns read lie between `first` and `last`
            // (checked), packed B holds kc·padded_width(nr) aligned floats,
            // and the mr×nr tile of C lies inside `c` (checked).
            unsafe {
                by_shape!(
                    tile_strided,
                    mr,
                    nr,
                    (kc, pa, rsa, csa, pb, alpha, beta, cp, ldc, mr, nr)
                );
            }
        }
        return;
    }
    with_buf(&BUF_A, mcb * kc, |ap| {
        for ic in (0..rows).step_by(mcb) {
            let mc = mcb.min(rows - ic);
            pack_a(ta, a, lda, ic, mc, p0, kc, ap);
            // The A micro-panel (the broadcast operand) stays in L1 while the
            // B micro-panels stream from the L2-resident B panel, as in BLIS's
            // Skylake-X kernels: 1024³ ran 15 % faster than with the B
            // micro-panel held in L1 and A micro-panels streamed.
            for ir in (0..mc).step_by(MR) {
                let mr = MR.min(mc - ir);
                let pa = ap[ir * kc..].as_ptr();
                for jr in (0..nc).step_by(NR) {
                    let nr = NR.min(nc - jr);
                    let pb = bp[(jr / NR) * NR * kc..].as_mut_ptr();
                    let off = (ic + ir) * ldc + jc + jr;
                    assert!(off + (mr - 1) * ldc + nr <= c.len());
                    let cp = c[off..].as_mut_ptr();
                    if let Some(src) = src.filter(|_| ic + ir == 0 && nr.is_multiple_of(LANES)) {
                        assert!((kc - 1) * ldb + jr + nr <= src.len());
                        let sb = src[jr..].as_ptr();
                        // SAFETY: B's rows p0..p0+kc, columns jc+jr..+nr lie
                        // inside `src` (checked); the packed strip at pb has
                        // room for kc·nr floats at a 64-byte aligned offset;
                        // A and C as below.
                        unsafe {
                            by_shape!(
                                tile_packing_b,
                                mr,
                                nr,
                                (kc, pa, sb, ldb, pb, alpha, beta, cp, ldc, mr, nr)
                            )
                        };
                        continue;
                    }
                    // SAFETY: packed A holds kc·MR floats from pa, packed B
                    // holds kc·padded_width(nr) floats from pb at a 64-byte
                    // aligned offset (strips start at multiples of kc·NR), and
                    // the mr×nr tile of C at cp lies inside `c` (checked above).
                    unsafe { by_shape!(tile, mr, nr, (kc, pa, pb, alpha, beta, cp, ldc, mr, nr)) };
                }
            }
        }
    });
}
