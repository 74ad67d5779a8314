//! Valid (no padding, stride 1) k×k convolution by im2col + SGEMM, and the
//! flatten step that hands a convolutional stack to dense layers.
//!
//! **Layout.** Inside a chunk of n examples, convolutional activations are
//! stored *channel-major with the batch inside* ("CNHW"): element
//! (c, e, y, x) sits at `((c·n + e)·h + y)·w + x`. With this layout one
//! im2col matrix covers the whole chunk and one SGEMM per pass computes all
//! n examples, with the long n·oh·ow dimension as the GEMM's `n` (the
//! vectorised one), and the GEMM's output is again CNHW — no reordering
//! between layers. A 1-channel input (MNIST) is the same in NCHW and CNHW.
//!
//! ```text
//! col[(c,ky,kx)][(e,oy,ox)] = x[c][e][oy+ky][ox+kx]          (C·k²) × (n·oh·ow)
//! forward   Y = W·col + b·1ᵀ          W: K×(C·k²) (PyTorch's [K, C, k, k]),  Y: K×(n·oh·ow)
//! backward  dW = dY·colᵀ   db = Σ_cols dY   dcol = Wᵀ·dY   dX = col2im(dcol) (scatter-add)
//! ```
//!
//! fan_in of a weight = C·k².

// Inside a chunk (the chunks already run in parallel): the single-threaded SGEMM.
use crate::kernels::gemm::Trans;
use crate::kernels::gemm::sgemm_serial as gemm;
use wide::{f32x8, f32x16};

/// Shape of a valid, stride-1 convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvShape {
    /// Input channels C.
    pub in_c: usize,
    /// Input height.
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Output channels K.
    pub out_c: usize,
    /// Kernel side k (k×k kernels).
    pub k: usize,
}

impl ConvShape {
    /// Output height in_h − k + 1.
    pub fn out_h(&self) -> usize {
        self.in_h + 1 - self.k
    }
    /// Output width in_w − k + 1.
    pub fn out_w(&self) -> usize {
        self.in_w + 1 - self.k
    }
    /// Rows of the im2col matrix: C·k² (= fan_in).
    pub fn patch(&self) -> usize {
        self.in_c * self.k * self.k
    }
    /// Input values per example: C·h·w.
    pub fn in_len(&self) -> usize {
        self.in_c * self.in_h * self.in_w
    }
    /// Output values per example: K·oh·ow.
    pub fn out_len(&self) -> usize {
        self.out_c * self.out_h() * self.out_w()
    }
    /// Length of the im2col buffer for a chunk of n examples: C·k²·n·oh·ow.
    pub fn col_len(&self, n: usize) -> usize {
        self.patch() * n * self.out_h() * self.out_w()
    }
}

/// Fill `col` ((C·k²) × (n·oh·ow)) from the CNHW input `x`; see the module
/// docs. O(C·k²·n·oh·ow), all copies of contiguous runs of ow values.
///
/// # Panics
/// If a slice is shorter than its shape.
#[inline(never)]
pub fn im2col(s: &ConvShape, n: usize, x: &[f32], col: &mut [f32]) {
    let (oh, ow, k) = (s.out_h(), s.out_w(), s.k);
    let np = n * oh * ow;
    let plane = s.in_h * s.in_w;
    assert!(x.len() >= n * s.in_len() && col.len() >= s.col_len(n));
    for c in 0..s.in_c {
        for ky in 0..k {
            for kx in 0..k {
                let r = (c * k + ky) * k + kx;
                let row = &mut col[r * np..(r + 1) * np];
                for e in 0..n {
                    let xp = &x[(c * n + e) * plane..(c * n + e + 1) * plane];
                    let dst = &mut row[e * oh * ow..(e + 1) * oh * ow];
                    let src = &xp[ky * s.in_w + kx..];
                    match ow {
                        8 => copy_rows::<8>(dst, src, s.in_w),
                        24 => copy_rows::<24>(dst, src, s.in_w),
                        _ => {
                            for oy in 0..oh {
                                let src = &src[oy * s.in_w..][..ow];
                                copy_run(&mut dst[oy * ow..][..ow], src);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Adjoint of [`im2col`]: dx (CNHW, overwritten) ← Σ over the patches that
/// read each input of `dcol`. O(C·k²·n·oh·ow).
///
/// # Panics
/// If a slice is shorter than its shape.
#[inline(never)]
pub fn col2im(s: &ConvShape, n: usize, dcol: &[f32], dx: &mut [f32]) {
    let (oh, ow, k) = (s.out_h(), s.out_w(), s.k);
    let np = n * oh * ow;
    let plane = s.in_h * s.in_w;
    assert!(dx.len() >= n * s.in_len() && dcol.len() >= s.col_len(n));
    dx[..n * s.in_len()].fill(0.0);
    for c in 0..s.in_c {
        for ky in 0..k {
            for kx in 0..k {
                let r = (c * k + ky) * k + kx;
                let row = &dcol[r * np..(r + 1) * np];
                for e in 0..n {
                    let dxp = &mut dx[(c * n + e) * plane..(c * n + e + 1) * plane];
                    for oy in 0..oh {
                        let dst = &mut dxp[(oy + ky) * s.in_w + kx..][..ow];
                        add_run(dst, &row[(e * oh + oy) * ow..][..ow]);
                    }
                }
            }
        }
    }
}

/// Y ← conv(X, W) + b for a chunk of n CNHW examples; `col` receives the
/// im2col matrix (kept for the backward pass). O(K·C·k²·n·oh·ow).
///
/// # Panics
/// If a slice is shorter than its shape (`w`: K·C·k², `b`: K, `col`:
/// [`ConvShape::col_len`], `y`: n·K·oh·ow).
#[inline(never)]
pub fn conv_forward(
    s: &ConvShape,
    n: usize,
    x: &[f32],
    w: &[f32],
    b: &[f32],
    col: &mut [f32],
    y: &mut [f32],
) {
    let np = n * s.out_h() * s.out_w();
    let (kk, pp) = (s.out_c, s.patch());
    assert!(w.len() >= kk * pp && b.len() >= kk && y.len() >= kk * np);
    im2col(s, n, x, col);
    for (row, &bias) in y[..kk * np].chunks_exact_mut(np).zip(b) {
        row.fill(bias);
    }
    // Y += W·col with the long n·oh·ow axis vectorised and col read in place.
    gemm_small_m(kk, np, pp, w, pp, 1, col, y);
}

/// The same forward pass as [`conv_forward`] computed directly, without an
/// im2col matrix: for each output row of 8 pixels and a block of up to 4
/// output channels, f32x8 accumulators gather Σ_{c,ky,kx} w·x with one
/// unaligned load of x shared by the channel block. It exists to measure the
/// im2col choice against (`benches/training.rs`, group `conv`); the networks
/// use [`conv_forward`], which was faster on LeNet's shapes. Requires the
/// output width to be a multiple of 8. O(K·C·k²·n·oh·ow).
///
/// # Panics
/// If a slice is shorter than its shape or `out_w` is not a multiple of 8.
pub fn conv_forward_direct(
    s: &ConvShape,
    n: usize,
    x: &[f32],
    w: &[f32],
    b: &[f32],
    y: &mut [f32],
) {
    const KB: usize = 4;
    let (oh, ow, kk, k) = (s.out_h(), s.out_w(), s.out_c, s.k);
    let (ih, iw, cin) = (s.in_h, s.in_w, s.in_c);
    assert!(
        ow % 8 == 0,
        "conv_forward_direct: out_w = {ow} is not a multiple of 8"
    );
    assert!(x.len() >= n * s.in_len() && w.len() >= kk * s.patch() && b.len() >= kk);
    assert!(y.len() >= n * s.out_len());
    for e in 0..n {
        for oy in 0..oh {
            for kb in (0..kk).step_by(KB) {
                let nk = KB.min(kk - kb);
                for xv in (0..ow).step_by(8) {
                    let mut acc = [f32x8::ZERO; KB];
                    for (j, a) in acc.iter_mut().enumerate().take(nk) {
                        *a = f32x8::splat(b[kb + j]);
                    }
                    for c in 0..cin {
                        for ky in 0..k {
                            let row = ((c * n + e) * ih + oy + ky) * iw + xv;
                            let xr = &x[row..row + k - 1 + 8];
                            for kx in 0..k {
                                let v = f32x8::from(<[f32; 8]>::try_from(&xr[kx..kx + 8]).unwrap());
                                for (j, a) in acc.iter_mut().enumerate().take(nk) {
                                    let wv = w[((kb + j) * cin + c) * k * k + ky * k + kx];
                                    *a = v.mul_add(f32x8::splat(wv), *a);
                                }
                            }
                        }
                    }
                    for (j, a) in acc.iter().enumerate().take(nk) {
                        let o = (((kb + j) * n + e) * oh + oy) * ow + xv;
                        y[o..o + 8].copy_from_slice(&a.to_array());
                    }
                }
            }
        }
    }
}

/// Backward of [`conv_forward`]: dW ← dY·colᵀ and db ← Σ_cols dY
/// (overwritten); when `dx` is given, dX ← col2im(Wᵀ·dY), using `col` as the
/// scratch for Wᵀ·dY (its im2col contents are consumed). O(K·C·k²·n·oh·ow).
///
/// # Panics
/// If a slice is shorter than its shape.
#[inline(never)]
#[allow(clippy::too_many_arguments)]
pub fn conv_backward(
    s: &ConvShape,
    n: usize,
    col: &mut [f32],
    w: &[f32],
    dy: &[f32],
    dw: &mut [f32],
    db: &mut [f32],
    dx: Option<&mut [f32]>,
) {
    let np = n * s.out_h() * s.out_w();
    let (kk, pp) = (s.out_c, s.patch());
    assert!(col.len() >= pp * np && w.len() >= kk * pp && dy.len() >= kk * np);
    assert!(dw.len() >= kk * pp && db.len() >= kk);
    // dW = dY·colᵀ: row-by-row dot products (see gemm_abt_rows).
    gemm_abt_rows(kk, pp, np, dy, col, dw);
    for (d, row) in db[..kk].iter_mut().zip(dy[..kk * np].chunks_exact(np)) {
        *d = row.iter().sum();
    }
    if let Some(dx) = dx {
        gemm(
            Trans::Yes,
            Trans::No,
            pp,
            np,
            kk,
            1.0,
            w,
            pp,
            dy,
            np,
            0.0,
            col,
            np,
        );
        col2im(s, n, col, dx);
    }
}

/// CNHW (c, e, j) → row-major n×(C·hw) (e, c·hw + j): the order in which a
/// following dense layer sees the features (channel, then row, then column,
/// as PyTorch's `flatten`). O(n·C·hw).
///
/// # Panics
/// If a slice is shorter than n·C·hw.
#[inline(never)]
pub fn flatten_forward(n: usize, c: usize, hw: usize, x: &[f32], y: &mut [f32]) {
    assert!(x.len() >= n * c * hw && y.len() >= n * c * hw);
    for ch in 0..c {
        for e in 0..n {
            y[(e * c + ch) * hw..][..hw].copy_from_slice(&x[(ch * n + e) * hw..][..hw]);
        }
    }
}

/// Backward of [`flatten_forward`] (its inverse permutation). O(n·C·hw).
///
/// # Panics
/// If a slice is shorter than n·C·hw.
#[inline(never)]
pub fn flatten_backward(n: usize, c: usize, hw: usize, dy: &[f32], dx: &mut [f32]) {
    assert!(dx.len() >= n * c * hw && dy.len() >= n * c * hw);
    for ch in 0..c {
        for e in 0..n {
            dx[(ch * n + e) * hw..][..hw].copy_from_slice(&dy[(e * c + ch) * hw..][..hw]);
        }
    }
}

/// Rows of the register tile of [`gemm_abt_rows`] (TILE×TILE dot products at once).
const TILE: usize = 4;

/// C ← A·Bᵀ (overwritten) for A m×k and B n×k, both row-major with
/// contiguous rows: C[i][j] = Σ_p A[i][p]·B[j][p]. O(m·n·k).
///
/// The convolution's dW = dY·colᵀ has this shape with tiny m, n (channels,
/// patch size) and a long k (n·oh·ow), where a packed SGEMM would spend its
/// time gathering colᵀ into k-major panels. Here every operand row is read
/// contiguously: a TILE×TILE block of dot products keeps TILE² 16-lane
/// accumulators in registers (2·TILE loads per TILE² FMAs); each dot product
/// is summed lane-wise over k in a fixed order, then across lanes, then the
/// k mod 16 tail — the same order whatever the thread count.
///
/// # Panics
/// If a slice is shorter than its shape.
#[inline(never)]
pub fn gemm_abt_rows(m: usize, n: usize, k: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    assert!(a.len() >= m * k && b.len() >= n * k && c.len() >= m * n);
    if m == 0 || n == 0 {
        return;
    }
    let kv = k / 16 * 16;
    let load = |s: &[f32], p: usize| f32x16::from(<[f32; 16]>::try_from(&s[p..p + 16]).unwrap());
    for i0 in (0..m).step_by(TILE) {
        let mi = TILE.min(m - i0);
        // Rows past the edge repeat the last real row (computed, never stored).
        let ar: [&[f32]; TILE] = std::array::from_fn(|r| &a[(i0 + r.min(mi - 1)) * k..][..k]);
        for j0 in (0..n).step_by(TILE) {
            let nj = TILE.min(n - j0);
            let br: [&[f32]; TILE] = std::array::from_fn(|r| &b[(j0 + r.min(nj - 1)) * k..][..k]);
            let mut acc = [[f32x16::ZERO; TILE]; TILE];
            for p in (0..kv).step_by(16) {
                let av: [f32x16; TILE] = std::array::from_fn(|r| load(ar[r], p));
                let bv: [f32x16; TILE] = std::array::from_fn(|r| load(br[r], p));
                for r in 0..TILE {
                    for s in 0..TILE {
                        acc[r][s] = av[r].mul_add(bv[s], acc[r][s]);
                    }
                }
            }
            for r in 0..mi {
                for s in 0..nj {
                    let mut v = acc[r][s].reduce_add();
                    for p in kv..k {
                        v += ar[r][p] * br[s][p];
                    }
                    c[(i0 + r) * n + j0 + s] = v;
                }
            }
        }
    }
}

/// Rows of C per block in [`gemm_small_m`].
const MB: usize = 8;

/// C += A·B (C m×n and B k×n row-major with row length n; A(i, r) =
/// `a[i·ars + r·acs]`, so A may be stored either way round). O(m·n·k).
///
/// For products with a small m and k and a long n — the convolution's
/// W·col, m = output channels — where a packed SGEMM would copy all of B
/// into panels and pad m to its micro-kernel height. Here B is streamed in
/// place: an MB × 32 block of C lives in 2·MB 16-lane registers, each k step
/// loads 2 vectors of B and broadcasts MB values of A. Each C element is
/// accumulated over r = 0..k in order (a fixed order).
///
/// # Panics
/// If a slice is shorter than its shape.
#[inline(never)]
#[allow(clippy::too_many_arguments)]
pub fn gemm_small_m(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    ars: usize,
    acs: usize,
    b: &[f32],
    c: &mut [f32],
) {
    assert!(b.len() >= k * n && c.len() >= m * n);
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    assert!(a.len() > (m - 1) * ars + (k - 1) * acs);
    let nv = n / 32 * 32;
    let load = |s: &[f32], p: usize| f32x16::from(<[f32; 16]>::try_from(&s[p..p + 16]).unwrap());
    for i0 in (0..m).step_by(MB) {
        let mi = MB.min(m - i0);
        // Rows past the edge repeat the last real row (computed, never stored).
        let rows: [usize; MB] = std::array::from_fn(|r| i0 + r.min(mi - 1));
        for j in (0..nv).step_by(32) {
            let mut acc: [[f32x16; 2]; MB] =
                std::array::from_fn(|r| [load(c, rows[r] * n + j), load(c, rows[r] * n + j + 16)]);
            for p in 0..k {
                let b0 = load(b, p * n + j);
                let b1 = load(b, p * n + j + 16);
                for r in 0..MB {
                    let av = f32x16::splat(a[rows[r] * ars + p * acs]);
                    acc[r][0] = av.mul_add(b0, acc[r][0]);
                    acc[r][1] = av.mul_add(b1, acc[r][1]);
                }
            }
            for (r, v) in acc.iter().enumerate().take(mi) {
                let o = (i0 + r) * n + j;
                c[o..o + 16].copy_from_slice(v[0].as_array());
                c[o + 16..o + 32].copy_from_slice(v[1].as_array());
            }
        }
        for r in 0..mi {
            let i = i0 + r;
            for j in nv..n {
                let mut v = c[i * n + j];
                for p in 0..k {
                    v = a[i * ars + p * acs].mul_add(b[p * n + j], v);
                }
                c[i * n + j] = v;
            }
        }
    }
}

/// dst ← src for the short runs (ow values) of im2col, in 16- and 8-lane
/// pieces: a `memcpy` call per 8–24 values costs more than the copy. O(len).
#[inline(always)]
fn copy_run(dst: &mut [f32], src: &[f32]) {
    let n = dst.len();
    let src = &src[..n];
    let mut i = 0;
    while i + 16 <= n {
        let v = f32x16::from(<[f32; 16]>::try_from(&src[i..i + 16]).unwrap());
        dst[i..i + 16].copy_from_slice(v.as_array());
        i += 16;
    }
    if i + 8 <= n {
        let v = f32x8::from(<[f32; 8]>::try_from(&src[i..i + 8]).unwrap());
        dst[i..i + 8].copy_from_slice(v.as_array());
        i += 8;
    }
    dst[i..].copy_from_slice(&src[i..]);
}

/// im2col inner loop for a compile-time run length `OW`: consecutive runs
/// of `dst` (OW values each) ← runs of `src` starting every `stride`
/// values. O(dst.len()).
#[inline(always)]
fn copy_rows<const OW: usize>(dst: &mut [f32], src: &[f32], stride: usize) {
    for (oy, d) in dst.as_chunks_mut::<OW>().0.iter_mut().enumerate() {
        let s: &[f32; OW] = src[oy * stride..].first_chunk().unwrap();
        *d = *s;
    }
}

/// dst += src for the short runs of col2im, in 16- and 8-lane pieces. O(len).
#[inline(always)]
fn add_run(dst: &mut [f32], src: &[f32]) {
    let n = dst.len();
    let src = &src[..n];
    let mut i = 0;
    while i + 16 <= n {
        let a = f32x16::from(<[f32; 16]>::try_from(&src[i..i + 16]).unwrap());
        let d = f32x16::from(<[f32; 16]>::try_from(&dst[i..i + 16]).unwrap());
        dst[i..i + 16].copy_from_slice((d + a).as_array());
        i += 16;
    }
    if i + 8 <= n {
        let a = f32x8::from(<[f32; 8]>::try_from(&src[i..i + 8]).unwrap());
        let d = f32x8::from(<[f32; 8]>::try_from(&dst[i..i + 8]).unwrap());
        dst[i..i + 8].copy_from_slice((d + a).as_array());
        i += 8;
    }
    for j in i..n {
        dst[j] += src[j];
    }
}
