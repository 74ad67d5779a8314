//! The Fastfood projection (Le, Sarlós, Smola 2013), stacked in blocks of L ≥ d
//! so that it costs O(D·log d), with exactly unit columns.

use rayon::prelude::*;

use super::{DEFAULT_BUDGET_BYTES, Projection, ProjectionError, ProjectionKind, check_sizes};
use crate::kernels::AlignedVec;
use crate::kernels::fwht::fwht;
use crate::rng::{self, Stream};

/// At most this many groups of blocks: the blocks are split into
/// `ceil(nblocks / blocks_per_group)` groups with
/// `blocks_per_group = max(ceil(nblocks / MAX_GROUPS), ceil(MIN_GROUP_LEN / L))`,
/// a function of D and d only, never of the thread count.
const MAX_GROUPS: usize = 64;
/// A group holds at least this many rows of P (so a rayon task is not tiny).
const MIN_GROUP_LEN: usize = 8192;

/// The Walsh–Hadamard entry H_L(a, b) = (−1)^popcount(a & b) (Sylvester order).
#[inline]
fn hadamard(a: usize, b: usize) -> f32 {
    if (a & b).count_ones().is_multiple_of(2) {
        1.0
    } else {
        -1.0
    }
}

/// A permutation index type: u16 when L ≤ 65536, u32 otherwise.
trait PermIndex: Copy + Send + Sync + 'static {
    fn idx(self) -> usize;
    fn from_usize(i: usize) -> Self;

    /// The indices as u16, when they are (the fused AVX-512 blocks take u16).
    #[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
    #[inline]
    fn as_u16(_p: &[Self]) -> Option<&[u16]> {
        None
    }

    /// v_i ← g_i · u[p_i] for all i (the forward's G·Π). O(L).
    #[inline]
    fn gather_mul(v: &mut [f32], g: &[f32], p: &[Self], u: &[f32]) {
        for ((vi, &gi), &pi) in v.iter_mut().zip(g).zip(p) {
            *vi = gi * u[pi.idx()];
        }
    }

    /// u_i ← w[p_i] for all i (the adjoint's Πᵀ, with p = π⁻¹). O(L).
    #[inline]
    fn gather(u: &mut [f32], p: &[Self], w: &[f32]) {
        for (ui, &pi) in u.iter_mut().zip(p) {
            *ui = w[pi.idx()];
        }
    }
}

impl PermIndex for u16 {
    #[inline]
    fn idx(self) -> usize {
        self as usize
    }
    #[inline]
    fn from_usize(i: usize) -> Self {
        i as u16
    }
    #[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
    #[inline]
    fn as_u16(p: &[u16]) -> Option<&[u16]> {
        Some(p)
    }

    /// AVX-512: 16 indices widened from u16, one gather, one multiply.
    #[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
    #[inline]
    fn gather_mul(v: &mut [f32], g: &[f32], p: &[u16], u: &[f32]) {
        assert_eq!(g.len(), v.len());
        gather_u16::<true>(v, g, p, u);
    }

    /// AVX-512: 16 indices widened from u16, one gather. (A gather, on π⁻¹,
    /// rather than a scatter on π: on this machine 64 16-lane scatters take
    /// about 1.5× as long as 64 gathers.)
    #[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
    #[inline]
    fn gather(u: &mut [f32], p: &[u16], w: &[f32]) {
        gather_u16::<false>(u, &[], p, w);
    }
}

/// v_i ← (g_i ·) u[p_i], 16 lanes per AVX-512 gather; `g` is read only when MUL.
#[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
#[inline]
fn gather_u16<const MUL: bool>(v: &mut [f32], g: &[f32], p: &[u16], u: &[f32]) {
    let n = v.len();
    assert!(p.len() == n && u.len() >= n && (!MUL || g.len() == n));
    let g = if MUL { g } else { &[] };
    // Indices must stay inside u: every p_i < L = u.len() by construction.
    debug_assert!(p.iter().all(|&i| (i as usize) < u.len()));
    let whole = n - n % 16;
    for c in (0..whole).step_by(16) {
        // SAFETY: c + 16 ≤ n = p.len() (= g.len() when MUL); p_i < u.len().
        unsafe {
            let x = fused::gather(u, p, g, c);
            std::arch::x86_64::_mm512_storeu_ps(v.as_mut_ptr().add(c), x);
        }
    }
    for i in whole..n {
        let x = u[p[i] as usize];
        v[i] = if MUL { g[i] * x } else { x };
    }
}

impl PermIndex for u32 {
    #[inline]
    fn idx(self) -> usize {
        self as usize
    }
    #[inline]
    fn from_usize(i: usize) -> Self {
        i as u32
    }
}

/// All blocks' permutations π and their inverses, each concatenated (block b
/// at `b·L .. (b+1)·L`).
enum Perm {
    U16(Vec<u16>, Vec<u16>),
    U32(Vec<u32>, Vec<u32>),
}

/// The sizes that fix the layout.
#[derive(Clone, Copy, Debug)]
struct Layout {
    big_dim: usize,
    small_dim: usize,
    /// L = 2^⌈log2 d⌉.
    l: usize,
    /// ⌈D / L⌉.
    nblocks: usize,
    /// Rows of P in the last block (L if D is a multiple of L).
    last_rows: usize,
    /// u64 words of B bits per block: ⌈d / 64⌉.
    b_words: usize,
    blocks_per_group: usize,
    ngroups: usize,
    perm_bytes: usize,
}

impl Layout {
    fn new(big_dim: usize, small_dim: usize) -> Option<Layout> {
        let l = small_dim.checked_next_power_of_two()?;
        let nblocks = big_dim.div_ceil(l);
        let last_rows = big_dim - (nblocks - 1) * l;
        let blocks_per_group = nblocks
            .div_ceil(MAX_GROUPS)
            .max(MIN_GROUP_LEN.div_ceil(l))
            .min(nblocks);
        Some(Layout {
            big_dim,
            small_dim,
            l,
            nblocks,
            last_rows,
            b_words: small_dim.div_ceil(64),
            blocks_per_group,
            ngroups: nblocks.div_ceil(blocks_per_group),
            perm_bytes: if l <= 1 << 16 { 2 } else { 4 },
        })
    }

    /// Scratch floats per group: two L-vectors and a partial d-vector,
    /// rounded up to whole cache lines so that every group's L-vectors start
    /// on one (the transforms' 64-byte loads then never straddle two lines).
    fn scratch_per_group(&self) -> usize {
        2 * self.l + self.small_dim.next_multiple_of(16)
    }

    fn bytes(&self) -> Option<usize> {
        let per_row = 4 + 2 * self.perm_bytes; // G as f32, π and π⁻¹
        let params = self
            .nblocks
            .checked_mul(self.l)?
            .checked_mul(per_row)?
            .checked_add(self.nblocks.checked_mul(self.b_words)?.checked_mul(8)?)?;
        let scratch = self
            .ngroups
            .checked_mul(self.scratch_per_group())?
            .checked_mul(4)?;
        // scale and the scaled copy of x: 2·d floats.
        params.checked_add(scratch)?.checked_add(8 * self.small_dim)
    }
}

/// Bytes of a Fastfood projection (None on overflow). O(1).
pub(crate) fn estimated_bytes(big_dim: usize, small_dim: usize) -> Option<usize> {
    if small_dim == 0 || big_dim == 0 {
        return Some(0);
    }
    Layout::new(big_dim, small_dim)?.bytes()
}

/// Fastfood: P = [M_0; M_1; …; M_{nb−1}] truncated to D rows, times a diagonal
/// S on the d side, with
///
/// ```text
/// M_b = H · G_b · Π_b · H · B_b        (each L×L, applied to θ_d zero-padded to L)
/// L = 2^⌈log2 d⌉,  nb = ⌈D / L⌉
/// ```
///
/// H is the unnormalised Walsh–Hadamard matrix ([`fwht`]), B_b a random ±1
/// diagonal (only its first d entries matter), Π_b a random permutation
/// ((Π·u)_i = u[π(i)]) and G_b an iid N(0,1) diagonal.
///
/// **Exact unit columns.** ‖H·G·Π·H·e_j‖² = L·‖G·Π·H·e_j‖² = L·Σ_i G_i², the
/// same for every column of a full block. The truncated last block (r < L
/// rows) has its own column norms, computed once at construction, by
/// transforming either the d columns or the min(r, L−r) rows of that block
/// (whichever is fewer; O(min(d, r, L−r)·L·log L)). S_jj = 1/‖column j of the
/// stacked blocks‖ (norms summed in f64), so every column of P has norm 1 up
/// to f32 rounding, and applying S costs d multiplications per call.
///
/// **Random draws** (bit-exact, any thread count): block b uses
/// `rng::stream(seed, Stream::Fastfood, b)`, drawing in this order: d signs
/// B_b[0..d] ([`rng::sign`]), then Π_b by [`rng::shuffle`] of the identity
/// `0..L` (the same as [`rng::permutation`]), then G_b[0..L] ([`rng::normal`]
/// rounded to f32).
///
/// **Memory.** Per row of the stacked blocks: 4 bytes of G, 2 + 2 bytes of π
/// and π⁻¹ (u16, when L ≤ 65536; 4 + 4 bytes otherwise; the adjoint applies
/// Πᵀ as a gather on π⁻¹, faster than a scatter on π), ⌈d/64⌉·8/L ≤ 0.25
/// bytes of B bits; plus scratch of 2L + d floats (d rounded up to a
/// multiple of 16) per group of blocks (at most 64 groups) and 2·d floats:
/// about 9.5 bytes per parameter of D.
///
/// **Cost.** `forward_add` and `adjoint` each do two L-point FWHTs, one
/// permutation and one diagonal per block: O(D·log d), parallel over fixed
/// groups of blocks; the adjoint adds the groups' partial d-vectors in group
/// order, so results are bitwise identical whatever the thread count. On
/// AVX-512 builds with 16 ≤ L ≤ 65536 each block runs fused: the sign flips,
/// the padding, the gathers of Π with G and the adjoint's accumulation happen
/// inside the transforms' own loads and stores ([`crate::kernels::fwht::fwht_io`]),
/// so a block costs little more than its two transforms.
pub struct FastfoodProjection {
    lay: Layout,
    perm: Perm,
    /// G of all blocks, concatenated.
    g: Vec<f32>,
    /// B of all blocks as bits (bit set = −1), `b_words` words per block.
    b_bits: Vec<u64>,
    /// S: 1/‖column j‖.
    scale: Vec<f32>,
    /// `ngroups` × (u: L, v: L, partial: d, padding to a multiple of 16).
    scratch: AlignedVec,
    /// S·x for the forward pass.
    xs: Vec<f32>,
}

/// Draw one block's B bits, Π and G; returns Σ G² in f64.
fn draw_block<P: PermIndex>(
    seed: u64,
    b: usize,
    d: usize,
    bits: &mut [u64],
    perm: &mut [P],
    g: &mut [f32],
) -> f64 {
    let mut r = rng::stream(seed, Stream::Fastfood, b as u64);
    for j in 0..d {
        if rng::sign(&mut r) < 0.0 {
            bits[j / 64] |= 1 << (j % 64);
        }
    }
    for (i, p) in perm.iter_mut().enumerate() {
        *p = P::from_usize(i);
    }
    rng::shuffle(&mut r, perm);
    rng::fill_normal(&mut r, 1.0, g);
    g.iter().map(|&v| v as f64 * v as f64).sum()
}

/// Squared norms over the first `rows` rows of the columns j < d of one block
/// M = H·G·Π·H·B. O(min(d, rows, L − rows)·L·log L), parallel, deterministic.
fn truncated_column_norms<P: PermIndex>(
    g: &[f32],
    perm: &[P],
    d: usize,
    rows: usize,
    g_norm2: f64,
) -> Vec<f64> {
    let l = g.len();
    let complement = rows > l - rows;
    let nrows = if complement { l - rows } else { rows };
    if d <= nrows {
        // Column j (B_j² = 1): w = H·G·Π·(H e_j), w_i... keep the first `rows`.
        (0..d)
            .into_par_iter()
            .map_init(
                || AlignedVec::zeroed(l),
                |w, j| {
                    for (i, wi) in w.iter_mut().enumerate() {
                        *wi = g[i] * hadamard(perm[i].idx(), j);
                    }
                    fwht(w);
                    w[..rows].iter().map(|&v| v as f64 * v as f64).sum::<f64>()
                },
            )
            .collect()
    } else {
        // Row i of M is (Mᵀ e_i)ᵀ = (B·H·Πᵀ·G·H·e_i)ᵀ; add up squares of its
        // first d entries over the chosen rows, in fixed chunks of 64 rows.
        let row_set: Vec<usize> = if complement {
            (rows..l).collect()
        } else {
            (0..rows).collect()
        };
        let partials: Vec<Vec<f64>> = row_set
            .par_chunks(64)
            .map(|chunk| {
                let mut w = AlignedVec::zeroed(l);
                let mut acc = vec![0.0f64; d];
                for &i in chunk {
                    for k in 0..l {
                        w[perm[k].idx()] = g[k] * hadamard(k, i);
                    }
                    fwht(&mut w);
                    for (a, &v) in acc.iter_mut().zip(&w[..d]) {
                        *a += v as f64 * v as f64;
                    }
                }
                acc
            })
            .collect();
        let mut acc = vec![0.0f64; d];
        for p in &partials {
            for (a, b) in acc.iter_mut().zip(p) {
                *a += b;
            }
        }
        if complement {
            let full = l as f64 * g_norm2;
            for a in &mut acc {
                *a = (full - *a).max(0.0);
            }
        }
        acc
    }
}

/// Flip the sign of `x` where bit j of `bits` is set (exactly: XOR of the
/// sign bit, so −0 and NaN payloads follow IEEE negation).
#[inline]
fn flip(x: f32, bits: &[u64], j: usize) -> f32 {
    f32::from_bits(x.to_bits() ^ ((((bits[j / 64] >> (j % 64)) & 1) as u32) << 31))
}

/// dst_j ← B_j·src_j, with B_j = −1 where bit j of `bits` is set. O(n).
#[inline]
fn signed_copy(dst: &mut [f32], src: &[f32], bits: &[u64]) {
    let n = dst.len();
    assert!(src.len() == n && bits.len() * 64 >= n);
    let whole = simd_signs::<false>(dst, src, bits);
    for j in whole..n {
        dst[j] = flip(src[j], bits, j);
    }
}

/// acc_j ← acc_j + B_j·src_j. O(n).
#[inline]
fn signed_add(acc: &mut [f32], src: &[f32], bits: &[u64]) {
    let n = acc.len();
    assert!(src.len() == n && bits.len() * 64 >= n);
    let whole = simd_signs::<true>(acc, src, bits);
    for j in whole..n {
        acc[j] += flip(src[j], bits, j);
    }
}

/// The vector part of [`signed_copy`] (ADD = false) and [`signed_add`]
/// (ADD = true): 16 lanes at a time, the 16 sign bits used directly as an
/// AVX-512 mask. Returns how many leading entries it did.
#[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
#[inline]
fn simd_signs<const ADD: bool>(dst: &mut [f32], src: &[f32], bits: &[u64]) -> usize {
    use std::arch::x86_64::*;
    let whole = dst.len() - dst.len() % 16;
    for c in (0..whole).step_by(16) {
        // SAFETY: c + 16 ≤ whole ≤ dst.len() = src.len().
        unsafe {
            let x = _mm512_loadu_ps(src.as_ptr().add(c));
            let y = fused::negate(x, fused::signs(bits, c));
            let p = dst.as_mut_ptr().add(c);
            let y = if ADD {
                _mm512_add_ps(_mm512_loadu_ps(p), y)
            } else {
                y
            };
            _mm512_storeu_ps(p, y);
        }
    }
    whole
}

/// Without AVX-512 the scalar loops of the callers do all the work.
#[cfg(not(all(target_arch = "x86_64", target_feature = "avx512f")))]
#[inline]
fn simd_signs<const ADD: bool>(_dst: &mut [f32], _src: &[f32], _bits: &[u64]) -> usize {
    0
}

/// The AVX-512 block kernels for 16 ≤ L ≤ 65536 (u16 permutations). The
/// passes around each transform run inside its own sweeps ([`fwht_from`],
/// [`fwht_io`]): forward, the sign flips and zero padding in the first
/// transform's loads and the gathers of Π with G in the second's; adjoint,
/// the zero padding in the first transform's loads, G in its stores, the
/// gathers of Πᵀ in the second's loads and the signed accumulation into the
/// d-vector in its stores. The forward adds the block into θ in a separate
/// sequential pass (see `forward_block`). The gathers use load ports and the
/// transforms the vector ALUs, so interleaved they overlap. Bitwise the same
/// as the separate passes (`*_block_passes`, compared in this file's tests):
/// every value is the same product or sum of the same two operands.
///
/// Every π and π⁻¹ is a permutation of 0..L (an invariant of
/// [`FastfoodProjection`], checked in debug builds), so the gathers stay
/// inside their L-float source.
#[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
mod fused {
    use std::arch::x86_64::*;

    use super::Block;
    use crate::kernels::fwht::{Lanes, fwht_from, fwht_io};

    /// The lanes of i .. i + 16 that lie below n.
    #[inline(always)]
    fn below(n: usize, i: usize) -> u16 {
        if i + 16 <= n {
            u16::MAX
        } else if i >= n {
            0
        } else {
            ((1u32 << (n - i)) - 1) as u16
        }
    }

    /// w[i .. i + 16], 0 past the end of w.
    #[inline(always)]
    fn load_padded(w: &[f32], i: usize) -> __m512 {
        let m = below(w.len(), i);
        if m == 0 {
            // SAFETY: avx512f is enabled for this build.
            return unsafe { _mm512_setzero_ps() };
        }
        // SAFETY: i < w.len(); lanes at or past w.len() are masked off.
        unsafe { _mm512_maskz_loadu_ps(m, w.as_ptr().add(i)) }
    }

    /// The sign bits of lanes i .. i + 16 as a mask (i a multiple of 16 below 64·bits.len()).
    #[inline(always)]
    pub(super) fn signs(bits: &[u64], i: usize) -> u16 {
        (bits[i / 64] >> (i % 64)) as u16
    }

    /// −x on the lanes of `m`, x elsewhere (an XOR of the sign bit).
    #[inline(always)]
    pub(super) fn negate(x: __m512, m: u16) -> __m512 {
        // SAFETY: avx512f is enabled for this build.
        unsafe {
            let xi = _mm512_castps_si512(x);
            _mm512_castsi512_ps(_mm512_mask_xor_epi32(
                xi,
                m,
                xi,
                _mm512_set1_epi32(i32::MIN),
            ))
        }
    }

    /// g[i .. i + 16] · w[p[i .. i + 16]] (without g when `g` is empty).
    ///
    /// # Safety
    /// i + 16 ≤ p.len(), i + 16 ≤ g.len() unless g is empty, and
    /// p[i .. i + 16] < w.len().
    #[inline(always)]
    pub(super) unsafe fn gather(w: &[f32], p: &[u16], g: &[f32], i: usize) -> __m512 {
        // SAFETY: as the caller guarantees.
        unsafe {
            let idx = _mm512_cvtepu16_epi32(_mm256_loadu_si256(p.as_ptr().add(i).cast()));
            let x = _mm512_i32gather_ps::<4>(idx, w.as_ptr());
            if g.is_empty() {
                x
            } else {
                _mm512_mul_ps(_mm512_loadu_ps(g.as_ptr().add(i)), x)
            }
        }
    }

    /// acc[i .. i + 16] ← prev[i .. i + 16] + z on the lanes below acc.len().
    #[inline(always)]
    fn accumulate(acc: &mut [f32], prev: Option<&[f32]>, i: usize, z: __m512) {
        let m = below(acc.len(), i);
        if m == 0 {
            return;
        }
        let prev = prev.unwrap_or(acc);
        debug_assert_eq!(prev.len(), acc.len());
        // SAFETY: i < acc.len() = prev.len(); lanes past the end are masked off.
        unsafe {
            let s = _mm512_add_ps(_mm512_maskz_loadu_ps(m, prev.as_ptr().add(i)), z);
            _mm512_mask_storeu_ps(acc.as_mut_ptr().add(i), m, s);
        }
    }

    /// out_rows ← (base_rows or out_rows) + M·xs for one block M = H·G·Π·H·B
    /// (`u`, `v`: L floats of scratch; `xs` of length d ≤ L).
    pub(super) fn forward_block(
        blk: Block<u16>,
        (u, v): (&mut [f32], &mut [f32]),
        xs: &[f32],
        base_rows: Option<&[f32]>,
        out_rows: &mut [f32],
    ) {
        let Block { g, perm, bits } = blk;
        let l = u.len();
        assert!(v.len() == l && g.len() == l && perm.len() == l);
        assert!(xs.len() <= l && out_rows.len() <= l);
        assert!(base_rows.is_none_or(|b| b.len() == out_rows.len()));
        debug_assert!(perm.iter().all(|&p| (p as usize) < l));
        fwht_from(
            u,
            |i| {
                let m = below(xs.len(), i);
                let x = load_padded(xs, i);
                Lanes::from(if m == 0 {
                    x
                } else {
                    negate(x, signs(bits, i) & m)
                })
            },
            |_, z| z,
        );
        let u = &*u;
        // SAFETY: i + 16 ≤ L = perm.len() = g.len(); perm is a permutation of 0..L.
        fwht_from(
            v,
            |i| Lanes::from(unsafe { gather(u, perm, g, i) }),
            |_, z| z,
        );
        // The rows of θ are added in a separate, sequential pass: stored from
        // the transform's last (strided) pass they would miss the hardware
        // prefetcher on their way in from L3.
        let mut i = 0;
        while i < out_rows.len() {
            // SAFETY: i + 16 ≤ L = v.len().
            let z = unsafe { _mm512_loadu_ps(v.as_ptr().add(i)) };
            accumulate(out_rows, base_rows, i, z);
            i += 16;
        }
    }

    /// partial ← partial + (Mᵀ·y_rows)[0..d] for one block, Mᵀ = B·H·Πᵀ·G·H
    /// (`perm_inv` = π⁻¹; `u`, `v`: L floats of scratch; partial of length d).
    pub(super) fn adjoint_block(
        blk: Block<u16>,
        (u, v): (&mut [f32], &mut [f32]),
        y_rows: &[f32],
        partial: &mut [f32],
    ) {
        let Block {
            g,
            perm: perm_inv,
            bits,
        } = blk;
        let l = u.len();
        assert!(v.len() == l && g.len() == l && perm_inv.len() == l);
        assert!(y_rows.len() <= l && partial.len() <= l && bits.len() * 64 >= partial.len());
        debug_assert!(perm_inv.iter().all(|&p| (p as usize) < l));
        // v = G·H·y (G applied as each output leaves the transform).
        fwht_from(
            v,
            |i| Lanes::from(load_padded(y_rows, i)),
            // SAFETY: i + 16 ≤ L = g.len().
            |i, z| {
                Lanes::from(unsafe { _mm512_mul_ps(z.into(), _mm512_loadu_ps(g.as_ptr().add(i))) })
            },
        );
        let v = &*v;
        let d = partial.len();
        fwht_io(
            u,
            // SAFETY: i + 16 ≤ L = perm_inv.len(); perm_inv is a permutation of 0..L.
            |i| Lanes::from(unsafe { gather(v, perm_inv, &[], i) }),
            |i, z| {
                if i < d {
                    accumulate(partial, None, i, negate(z.into(), signs(bits, i)));
                }
            },
        );
    }
}

/// One block's diagonals and permutation: G, π (forward) or π⁻¹ (adjoint),
/// and the B sign bits.
#[derive(Clone, Copy)]
struct Block<'a, P> {
    g: &'a [f32],
    perm: &'a [P],
    bits: &'a [u64],
}

impl<'a, P: PermIndex> Block<'a, P> {
    /// Block b of the concatenated G, permutations and B bits.
    fn at(lay: &Layout, b: usize, g: &'a [f32], perm: &'a [P], bits: &'a [u64]) -> Self {
        let (l, w) = (lay.l, lay.b_words);
        Block {
            g: &g[b * l..(b + 1) * l],
            perm: &perm[b * l..(b + 1) * l],
            bits: &bits[b * w..(b + 1) * w],
        }
    }

    /// The same block with u16 indices, when they are.
    #[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
    fn as_u16(self) -> Option<Block<'a, u16>> {
        let perm = P::as_u16(self.perm)?;
        Some(Block {
            g: self.g,
            perm,
            bits: self.bits,
        })
    }
}

/// out_rows ← (base_rows or out_rows) + M·xs for one block M = H·G·Π·H·B
/// (`u`, `v`: L floats of scratch). The fused AVX-512 kernel where it
/// applies, the separate passes otherwise.
#[inline]
fn forward_block<P: PermIndex>(
    blk: Block<P>,
    scratch: (&mut [f32], &mut [f32]),
    xs: &[f32],
    base_rows: Option<&[f32]>,
    out_rows: &mut [f32],
) {
    #[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
    if let (true, Some(blk)) = (scratch.0.len() >= 16, blk.as_u16()) {
        fused::forward_block(blk, scratch, xs, base_rows, out_rows);
        return;
    }
    forward_block_passes(blk, scratch, xs, base_rows, out_rows);
}

/// [`forward_block`] as separate passes over the block.
fn forward_block_passes<P: PermIndex>(
    blk: Block<P>,
    (u, v): (&mut [f32], &mut [f32]),
    xs: &[f32],
    base_rows: Option<&[f32]>,
    out_rows: &mut [f32],
) {
    let d = xs.len();
    signed_copy(&mut u[..d], xs, blk.bits);
    u[d..].fill(0.0);
    fwht(u);
    P::gather_mul(v, blk.g, blk.perm, u);
    fwht(v);
    match base_rows {
        // out = base + v: the same single addition as the copy-then-add
        // path, so the same bits.
        Some(base_rows) => {
            for ((o, &bi), &vi) in out_rows.iter_mut().zip(base_rows).zip(v.iter()) {
                *o = bi + vi;
            }
        }
        None => {
            for (o, &vi) in out_rows.iter_mut().zip(v.iter()) {
                *o += vi;
            }
        }
    }
}

/// partial ← partial + (Mᵀ·y_rows)[0..d] for one block, Mᵀ = B·H·Πᵀ·G·H
/// (`blk.perm` = the block's π⁻¹; `u`, `v`: L floats of scratch; `partial`
/// of length d). Fused where it applies, separate passes otherwise.
#[inline]
fn adjoint_block<P: PermIndex>(
    blk: Block<P>,
    scratch: (&mut [f32], &mut [f32]),
    y_rows: &[f32],
    partial: &mut [f32],
) {
    #[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
    if let (true, Some(blk)) = (scratch.0.len() >= 16, blk.as_u16()) {
        fused::adjoint_block(blk, scratch, y_rows, partial);
        return;
    }
    adjoint_block_passes(blk, scratch, y_rows, partial);
}

/// [`adjoint_block`] as separate passes over the block.
fn adjoint_block_passes<P: PermIndex>(
    blk: Block<P>,
    (u, v): (&mut [f32], &mut [f32]),
    y_rows: &[f32],
    partial: &mut [f32],
) {
    v[..y_rows.len()].copy_from_slice(y_rows);
    v[y_rows.len()..].fill(0.0);
    fwht(v);
    // u = Πᵀ·(G·v): u_j = (G·v)[π⁻¹(j)], the same products as u[π(i)] = g_i·v_i.
    for (vi, &gi) in v.iter_mut().zip(blk.g) {
        *vi *= gi;
    }
    P::gather(u, blk.perm, v);
    fwht(u);
    signed_add(partial, &u[..partial.len()], blk.bits);
}

/// (base or out) + P·x over all groups of blocks, one rayon task per group
/// (a fixed split: the bits do not depend on the thread count).
#[allow(clippy::too_many_arguments)]
fn forward_groups<P: PermIndex>(
    lay: &Layout,
    base: Option<&[f32]>,
    out: &mut [f32],
    scratch: &mut [f32],
    xs: &[f32],
    g: &[f32],
    perm: &[P],
    b_bits: &[u64],
) {
    let group_rows = lay.blocks_per_group * lay.l;
    out.par_chunks_mut(group_rows)
        .zip(scratch.par_chunks_mut(lay.scratch_per_group()))
        .enumerate()
        .for_each(|(gi, (out, scratch))| {
            let l = lay.l;
            let (u, rest) = scratch.split_at_mut(l);
            let v = &mut rest[..l];
            let first_row = gi * group_rows;
            for (k, out_rows) in out.chunks_mut(l).enumerate() {
                let blk = Block::at(lay, gi * lay.blocks_per_group + k, g, perm, b_bits);
                let rows = first_row + k * l..first_row + k * l + out_rows.len();
                let base_rows = base.map(|base| &base[rows]);
                forward_block(blk, (&mut *u, &mut *v), xs, base_rows, out_rows);
            }
        });
}

/// Adjoint for one group of blocks: partial ← Σ_b (M_bᵀ·y_b)[0..d]
/// (`perm_inv` holds the blocks' π⁻¹).
fn adjoint_group<P: PermIndex>(
    lay: &Layout,
    first_block: usize,
    y: &[f32],
    scratch: &mut [f32],
    g: &[f32],
    perm_inv: &[P],
    b_bits: &[u64],
) {
    let l = lay.l;
    let (u, rest) = scratch.split_at_mut(l);
    let (v, partial) = rest.split_at_mut(l);
    let partial = &mut partial[..lay.small_dim];
    partial.fill(0.0);
    for (k, y_rows) in y.chunks(l).enumerate() {
        let blk = Block::at(lay, first_block + k, g, perm_inv, b_bits);
        adjoint_block(blk, (&mut *u, &mut *v), y_rows, partial);
    }
}

impl FastfoodProjection {
    /// out ← (base or out) + P·x, parallel over fixed groups of blocks.
    fn forward(&mut self, base: Option<&[f32]>, x: &[f32], out: &mut [f32]) {
        let lay = self.lay;
        assert_eq!(
            x.len(),
            lay.small_dim,
            "fastfood forward: x has the wrong length"
        );
        assert_eq!(
            out.len(),
            lay.big_dim,
            "fastfood forward: out has the wrong length"
        );
        for ((s, &xj), &sj) in self.xs.iter_mut().zip(x).zip(&self.scale) {
            *s = xj * sj;
        }
        let (xs, g, bits, scratch) = (
            &self.xs[..],
            &self.g[..],
            &self.b_bits[..],
            &mut self.scratch[..],
        );
        match &self.perm {
            Perm::U16(p, _) => forward_groups(&lay, base, out, scratch, xs, g, p, bits),
            Perm::U32(p, _) => forward_groups(&lay, base, out, scratch, xs, g, p, bits),
        }
    }

    /// Build with the default budget [`DEFAULT_BUDGET_BYTES`].
    /// O(D + min(d, r, L − r)·L·log L) with r the rows of the last block; parallel.
    pub fn new(big_dim: usize, small_dim: usize, seed: u64) -> Result<Self, ProjectionError> {
        Self::with_budget(big_dim, small_dim, seed, DEFAULT_BUDGET_BYTES)
    }

    /// Build, refusing if [`Projection::bytes`] would exceed `budget`. Cost as [`FastfoodProjection::new`].
    pub fn with_budget(
        big_dim: usize,
        small_dim: usize,
        seed: u64,
        budget: usize,
    ) -> Result<Self, ProjectionError> {
        check_sizes(
            ProjectionKind::Fastfood,
            big_dim,
            small_dim,
            estimated_bytes(big_dim, small_dim),
            budget,
        )?;
        let lay = Layout::new(big_dim, small_dim).expect("checked by estimated_bytes");
        let (l, d, nb) = (lay.l, lay.small_dim, lay.nblocks);
        let mut g = vec![0.0f32; nb * l];
        let mut b_bits = vec![0u64; nb * lay.b_words];
        let bw = lay.b_words.max(1);
        let (perm, g_norm2) = if lay.perm_bytes == 2 {
            let mut p = vec![0u16; nb * l];
            let n = draw_all(seed, &lay, bw, &mut b_bits, &mut p, &mut g);
            let inv = inverse_permutations(&p, l);
            (Perm::U16(p, inv), n)
        } else {
            let mut p = vec![0u32; nb * l];
            let n = draw_all(seed, &lay, bw, &mut b_bits, &mut p, &mut g);
            let inv = inverse_permutations(&p, l);
            (Perm::U32(p, inv), n)
        };
        // Full blocks: every column has squared norm L·ΣG², added in block order.
        let full_blocks = if lay.last_rows == l { nb } else { nb - 1 };
        let full: f64 = g_norm2[..full_blocks].iter().map(|&s| l as f64 * s).sum();
        let mut norm2 = vec![full; d];
        if lay.last_rows < l {
            let b = nb - 1;
            let gb = &g[b * l..];
            let t = match &perm {
                Perm::U16(p, _) => {
                    truncated_column_norms(gb, &p[b * l..], d, lay.last_rows, g_norm2[b])
                }
                Perm::U32(p, _) => {
                    truncated_column_norms(gb, &p[b * l..], d, lay.last_rows, g_norm2[b])
                }
            };
            for (n, t) in norm2.iter_mut().zip(t) {
                *n += t;
            }
        }
        let scale = norm2.iter().map(|&n| (1.0 / n.sqrt()) as f32).collect();
        Ok(FastfoodProjection {
            lay,
            perm,
            g,
            b_bits,
            scale,
            scratch: AlignedVec::zeroed(lay.ngroups * lay.scratch_per_group()),
            xs: vec![0.0; d],
        })
    }

    /// L, the block size 2^⌈log2 d⌉. O(1).
    pub fn block_len(&self) -> usize {
        self.lay.l
    }

    /// ⌈D / L⌉, the number of blocks. O(1).
    pub fn num_blocks(&self) -> usize {
        self.lay.nblocks
    }

    /// The column scales S_jj = 1/‖column j of the stacked blocks‖. O(1).
    pub fn column_scales(&self) -> &[f32] {
        &self.scale
    }
}

/// The inverse of each block's permutation (blocks of `l` in `perm`). O(D), parallel.
fn inverse_permutations<P: PermIndex>(perm: &[P], l: usize) -> Vec<P> {
    let mut inv = vec![P::from_usize(0); perm.len()];
    inv.par_chunks_mut(l)
        .zip(perm.par_chunks(l))
        .for_each(|(ib, pb)| {
            for (i, &p) in pb.iter().enumerate() {
                ib[p.idx()] = P::from_usize(i);
            }
        });
    inv
}

/// Draw every block in parallel (each from its own stream); returns Σ G² per block.
fn draw_all<P: PermIndex>(
    seed: u64,
    lay: &Layout,
    bw: usize,
    b_bits: &mut [u64],
    perm: &mut [P],
    g: &mut [f32],
) -> Vec<f64> {
    let (l, d) = (lay.l, lay.small_dim);
    debug_assert_eq!(bw, lay.b_words);
    g.par_chunks_mut(l)
        .zip(perm.par_chunks_mut(l))
        .zip(b_bits.par_chunks_mut(bw))
        .enumerate()
        .map(|(b, ((gb, pb), bits))| draw_block(seed, b, d, bits, pb, gb))
        .collect()
}

impl Projection for FastfoodProjection {
    fn big_dim(&self) -> usize {
        self.lay.big_dim
    }

    fn small_dim(&self) -> usize {
        self.lay.small_dim
    }

    /// out ← out + P·x. O(D·log d), parallel over fixed groups of blocks.
    ///
    /// # Panics
    /// If `x.len() != d` or `out.len() != D`.
    fn forward_add(&mut self, x: &[f32], out: &mut [f32]) {
        self.forward(None, x, out);
    }

    /// out ← base + P·x in one pass over out. O(D·log d), parallel.
    ///
    /// # Panics
    /// If `base.len() != D`, `x.len() != d` or `out.len() != D`.
    fn forward_from(&mut self, base: &[f32], x: &[f32], out: &mut [f32]) {
        assert_eq!(
            base.len(),
            self.lay.big_dim,
            "fastfood forward: base has the wrong length"
        );
        self.forward(Some(base), x, out);
    }

    /// out ← Pᵀ·y = S·Σ_b B_b·H·Π_bᵀ·G_b·H·y_b. O(D·log d + groups·d), parallel
    /// over fixed groups of blocks, partial sums added in group order.
    ///
    /// # Panics
    /// If `y.len() != D` or `out.len() != d`.
    fn adjoint(&mut self, y: &[f32], out: &mut [f32]) {
        let lay = self.lay;
        assert_eq!(
            y.len(),
            lay.big_dim,
            "fastfood adjoint: y has the wrong length"
        );
        assert_eq!(
            out.len(),
            lay.small_dim,
            "fastfood adjoint: out has the wrong length"
        );
        let group_rows = lay.blocks_per_group * lay.l;
        let (g, bits) = (&self.g[..], &self.b_bits[..]);
        let chunks = y
            .par_chunks(group_rows)
            .zip(self.scratch.par_chunks_mut(lay.scratch_per_group()))
            .enumerate();
        match &self.perm {
            Perm::U16(_, p) => chunks.for_each(|(gi, (yc, s))| {
                adjoint_group(&lay, gi * lay.blocks_per_group, yc, s, g, p, bits)
            }),
            Perm::U32(_, p) => chunks.for_each(|(gi, (yc, s))| {
                adjoint_group(&lay, gi * lay.blocks_per_group, yc, s, g, p, bits)
            }),
        }
        out.fill(0.0);
        let stride = lay.scratch_per_group();
        for group in self.scratch.chunks_exact(stride) {
            for (o, &p) in out.iter_mut().zip(&group[2 * lay.l..]) {
                *o += p;
            }
        }
        for (o, &s) in out.iter_mut().zip(&self.scale) {
            *o *= s;
        }
    }

    fn bytes(&self) -> usize {
        let perm = match &self.perm {
            Perm::U16(p, inv) => (p.len() + inv.len()) * 2,
            Perm::U32(p, inv) => (p.len() + inv.len()) * 4,
        };
        perm + self.g.len() * 4
            + self.b_bits.len() * 8
            + self.scale.len() * 4
            + self.scratch.len() * 4
            + self.xs.len() * 4
    }
}

#[cfg(all(test, target_arch = "x86_64", target_feature = "avx512f"))]
mod tests {
    use super::*;

    fn bits_of(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// The fused AVX-512 blocks give exactly the bits of the separate passes,
    /// for block lengths on every path of `fwht_io` (registers only, leaves +
    /// one pass, copy in/out), d not a multiple of 16, truncated blocks, and
    /// with and without a base.
    #[test]
    fn fused_blocks_match_separate_passes() {
        let mut r = rng::from_seed(11);
        for (l, d, rows) in [
            (16usize, 9usize, 16usize),
            (16, 16, 5),
            (64, 40, 64),
            (512, 300, 511),
            (1024, 750, 1024),
            (1024, 513, 77),
            (8192, 5000, 8192),
            (8192, 4097, 1000),
        ] {
            let mut g = vec![0.0f32; l];
            rng::fill_normal(&mut r, 1.0, &mut g);
            let mut perm: Vec<u16> = (0..l as u16).collect();
            rng::shuffle(&mut r, &mut perm);
            let inv = inverse_permutations(&perm, l);
            // Random sign bits; only the first d are ever set by construction.
            let mut bits: Vec<u64> = (0..d.div_ceil(64))
                .map(|_| (rng::below(&mut r, 1 << 32) << 32) | rng::below(&mut r, 1 << 32))
                .collect();
            if d % 64 != 0 {
                *bits.last_mut().unwrap() &= (1u64 << (d % 64)) - 1;
            }
            let mut xs = vec![0.0f32; d];
            rng::fill_normal(&mut r, 1.0, &mut xs);
            let mut base = vec![0.0f32; rows];
            rng::fill_normal(&mut r, 1.0, &mut base);
            let mut y = vec![0.0f32; rows];
            rng::fill_normal(&mut r, 1.0, &mut y);
            let scratch = || (vec![f32::NAN; l], vec![f32::NAN; l]);
            let fwd = Block {
                g: &g,
                perm: &perm,
                bits: &bits,
            };
            let adj = Block {
                g: &g,
                perm: &inv,
                bits: &bits,
            };

            for with_base in [false, true] {
                let b = with_base.then_some(&base[..]);
                let (mut u, mut v) = scratch();
                let mut want = base.iter().map(|x| x * 0.5).collect::<Vec<_>>();
                forward_block_passes(fwd, (&mut u, &mut v), &xs, b, &mut want);
                let (mut u, mut v) = scratch();
                let mut got = base.iter().map(|x| x * 0.5).collect::<Vec<_>>();
                fused::forward_block(fwd, (&mut u, &mut v), &xs, b, &mut got);
                assert_eq!(
                    bits_of(&got),
                    bits_of(&want),
                    "forward L={l} d={d} rows={rows} base={with_base}"
                );
            }
            let (mut u, mut v) = scratch();
            let mut want = xs.clone();
            adjoint_block_passes(adj, (&mut u, &mut v), &y, &mut want);
            let (mut u, mut v) = scratch();
            let mut got = xs.clone();
            fused::adjoint_block(adj, (&mut u, &mut v), &y, &mut got);
            assert_eq!(
                bits_of(&got),
                bits_of(&want),
                "adjoint L={l} d={d} rows={rows}"
            );
        }
    }
}
