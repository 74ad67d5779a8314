//! The loop nest of the fast transform, FFHT style.
//!
//! The stages of H_n = H_2 ⊗ … ⊗ H_2 act on independent index bits, so they
//! can be grouped freely; this file always applies them in ascending bit
//! order (which keeps the result bitwise equal to the scalar reference) and
//! groups them for the memory hierarchy:
//!
//! 1. **Leaf** ([`LEAF_BITS`]: 256 floats in 16 zmm registers with AVX-512,
//!    64 in 8 ymm registers with AVX2) — the lane bits with permutes, then
//!    the register bits with plain butterflies — one load and one store per
//!    element.
//! 2. **L1 block** (up to [`L1_MULTI_BITS`]): leaves, then the bits above
//!    the leaf in the fewest passes of up to 2^[`MAX_PASS_BITS`] registers
//!    (one with AVX-512; with AVX2, up to 2^12 floats in two, which ran
//!    2^11 4–19 % faster than a 2^9 block recursion plus a radix-4 pass).
//! 3. **Larger n**: recursively transform the 2^hi contiguous sub-blocks
//!    (each then lives in L1 or L2 while it is worked on), then merge the top
//!    `hi` bits in one strided pass that holds 2^hi registers at once
//!    ([`radix_pass`]). `hi` is at most [`MAX_CACHED_PASS_BITS`] up to 8× L2
//!    (more than 8 rows at a power-of-two stride ≥ 4 KiB would fall into one
//!    L1 set, which has 8 to 12 ways), and [`MAX_PASS_BITS`] beyond, where
//!    fewer sweeps over L3 or DRAM matter more.
//!
//! The cache constants were tuned per instruction set on the machine each
//! was measured on: AVX-512 on a Xeon with 48 KiB L1d and 2 MiB L2, AVX2 on
//! an AMD Zen 3 with 32 KiB L1d and 512 KiB L2.

use super::simd::{LANE_BITS, LANES, V, butterflies, h_lanes, lane_stages, load, store};

/// log2 of the leaf: the register bits above the lane bits, transformed
/// without leaving registers.
pub(super) const LEAF_BITS: u32 = LANE_BITS + LEAF_REGISTER_BITS;
/// Registers in a leaf.
const LEAF_REGS: usize = 1 << LEAF_REGISTER_BITS;

#[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
mod consts {
    /// log2 of the number of registers in a leaf (16 of the 32 zmm registers).
    pub const LEAF_REGISTER_BITS: u32 = 4;
    /// Largest block transformed as "leaves + one pass": 2^12 floats =
    /// 16 KiB, a third of the 48 KiB L1d.
    pub const L1_BITS: u32 = 12;
    /// Largest block assumed to stay in L2 (2 MiB): 2^18 floats = 1 MiB.
    pub const L2_BITS: u32 = 18;
    /// Most bits merged by one strided pass over data beyond 8× L2 (16
    /// registers).
    pub const MAX_PASS_BITS: u32 = 4;
    /// Largest transform done as one L1 block (leaves and passes).
    pub const L1_MULTI_BITS: u32 = L1_BITS;
}
#[cfg(not(all(target_arch = "x86_64", target_feature = "avx512f")))]
mod consts {
    /// log2 of the number of registers in a leaf (8 of the 16 ymm registers,
    /// leaving room for the butterflies' temporaries).
    pub const LEAF_REGISTER_BITS: u32 = 3;
    /// Largest block transformed as "leaves + one pass" of at most 8
    /// registers: 2^9 floats = 2 KiB.
    pub const L1_BITS: u32 = 9;
    /// Largest block assumed to stay in L2 (512 KiB): 2^16 floats = 256 KiB.
    pub const L2_BITS: u32 = 16;
    /// Most bits merged by one strided pass over data beyond 8× L2 (8
    /// registers: 16 would not fit in the 16 ymm registers).
    pub const MAX_PASS_BITS: u32 = 3;
    /// Largest transform done as one L1 block (leaves, then passes of at
    /// most 3 bits): 2^12 floats = 16 KiB, half the L1d. Larger transforms
    /// still split down to sub-blocks of about 2^L1_BITS.
    pub const L1_MULTI_BITS: u32 = 12;
}
use consts::{L1_BITS, L1_MULTI_BITS, L2_BITS, LEAF_REGISTER_BITS, MAX_PASS_BITS};
/// Most bits merged by one strided pass up to 8× L2 (8 registers).
const MAX_CACHED_PASS_BITS: u32 = 3;

/// Load `R` registers from `p`, `p + stride`, …, merge them with all
/// log2(R) register-bit stages and store them back.
///
/// # Safety
/// `p + t·stride .. + LANES` must be valid for reads and writes for t < R.
#[inline(always)]
unsafe fn butterfly_group<const R: usize>(p: *mut f32, stride: usize) {
    // SAFETY: forwarded from the caller.
    unsafe {
        let mut a: [V; R] = core::array::from_fn(|t| load(p.add(t * stride)));
        butterflies(&mut a);
        // Store in reverse load order: at a large power-of-two stride all R
        // lines share one L1 set (12 ways), so the first-loaded lines may be
        // evicted already; the most recent ones are written while resident.
        for (t, v) in a.into_iter().enumerate().rev() {
            store(p.add(t * stride), v);
        }
    }
}

/// One strided pass of `R` = 2^bits registers: on the `len` floats at `p`,
/// viewed as rows of `stride` floats, apply the stages of the index bits
/// log2(stride) .. log2(stride) + bits. O(len·bits).
///
/// # Safety
/// `p..p+len` valid for reads and writes; `stride` a multiple of [`LANES`];
/// `len` a multiple of `R·stride`.
#[inline(always)]
unsafe fn radix_pass_r<const R: usize>(p: *mut f32, len: usize, stride: usize) {
    let span = R * stride;
    let mut base = 0;
    while base < len {
        let mut col = 0;
        while col < stride {
            // SAFETY: base + col + (R−1)·stride + LANES ≤ base + span ≤ len.
            unsafe { butterfly_group::<R>(p.add(base + col), stride) };
            col += LANES;
        }
        base += span;
    }
}

/// [`radix_pass_r`] with `R = 2^bits`, 1 ≤ bits ≤ 4.
///
/// # Safety
/// As [`radix_pass_r`].
unsafe fn radix_pass(p: *mut f32, len: usize, stride: usize, bits: u32) {
    // SAFETY: forwarded from the caller.
    unsafe {
        match bits {
            1 => radix_pass_r::<2>(p, len, stride),
            2 => radix_pass_r::<4>(p, len, stride),
            3 => radix_pass_r::<8>(p, len, stride),
            4 => radix_pass_r::<16>(p, len, stride),
            _ => unreachable!("radix pass of {bits} bits"),
        }
    }
}

/// Complete transform of `R`·LANES contiguous floats held in `R` registers:
/// lane stages, then register stages. O(R·LANES·log(R·LANES)).
///
/// # Safety
/// `p..p+LANES·R` valid for reads and writes.
#[inline(always)]
pub(super) unsafe fn in_registers<const R: usize>(p: *mut f32) {
    // SAFETY: forwarded from the caller.
    unsafe {
        let mut a: [V; R] = core::array::from_fn(|t| h_lanes(load(p.add(t * LANES))));
        butterflies(&mut a);
        for (t, v) in a.into_iter().enumerate() {
            store(p.add(t * LANES), v);
        }
    }
}

/// Complete transforms of length 2^bits (bits ≤ [`LANE_BITS`]) on every
/// aligned group of 2^bits floats in `x`, LANES floats per register.
/// `x.len()` must be a multiple of LANES. O(len·bits).
pub(super) fn narrow_rows(x: &mut [f32], bits: u32) {
    for chunk in x.chunks_exact_mut(LANES) {
        let p = chunk.as_mut_ptr();
        // SAFETY: the chunk has exactly LANES floats.
        unsafe { store(p, lane_stages(load(p), bits)) };
    }
}

/// Complete transform of 2^k contiguous floats, [`LANE_BITS`] ≤ k ≤ [`L1_MULTI_BITS`].
///
/// # Safety
/// `p..p+2^k` valid for reads and writes.
unsafe fn l1_block(p: *mut f32, k: u32) {
    // SAFETY: every access stays within p..p+2^k.
    unsafe {
        match k - LANE_BITS {
            0 => in_registers::<1>(p),
            1 => in_registers::<2>(p),
            2 => in_registers::<4>(p),
            3 if LEAF_REGISTER_BITS > 3 => in_registers::<8>(p),
            _ => {
                let n = 1usize << k;
                let leaf = 1usize << LEAF_BITS;
                let mut off = 0;
                while off < n {
                    in_registers::<LEAF_REGS>(p.add(off));
                    off += leaf;
                }
                // The bits above the leaf in the fewest passes of at most
                // MAX_PASS_BITS, spread evenly, in ascending order.
                let mut lo = LEAF_BITS;
                while lo < k {
                    let rest = k - lo;
                    let bits = rest.div_ceil(rest.div_ceil(MAX_PASS_BITS));
                    radix_pass(p, n, 1usize << lo, bits);
                    lo += bits;
                }
            }
        }
    }
}

/// Complete transform of 2^k contiguous floats, k ≥ [`LANE_BITS`], cache-blocked.
/// O(2^k·k).
///
/// # Safety
/// `p..p+2^k` valid for reads and writes.
pub(super) unsafe fn transform(p: *mut f32, k: u32) {
    if k <= L1_MULTI_BITS {
        // SAFETY: forwarded.
        unsafe { l1_block(p, k) };
        return;
    }
    let hi = if k <= L2_BITS {
        // Inside L2: spread the bits above the L1 block evenly over the
        // fewest passes of at most MAX_CACHED_PASS_BITS.
        let rest = k - L1_BITS;
        rest.div_ceil(rest.div_ceil(MAX_CACHED_PASS_BITS))
    } else if k <= L2_BITS + MAX_CACHED_PASS_BITS {
        // Just above L2 (2^19 … 2^21): one radix-8 sweep brings the
        // sub-blocks into L2. A smaller top pass is a false economy: it
        // leaves larger sub-blocks, whose own last pass is one more sweep
        // over 1 MiB (2^19 as 2 × 2^18 plus a radix-2 pass ran 9 % slower,
        // 2^20 as 4 × 2^18 plus radix-4 6 % slower); a radix-16 one holds
        // 16 lines of one L1 set (2^20 as 16 × 2^16: 6 % slower).
        MAX_CACHED_PASS_BITS
    } else {
        // Far above L2 every pass is a sweep over L3 or DRAM: fewer sweeps
        // matter more than the L1 set (at 2^22 radix-16 and radix-8 tie).
        MAX_PASS_BITS
    };
    let sub = 1usize << (k - hi);
    for s in 0..1usize << hi {
        // SAFETY: sub-block s is p + s·sub .. p + (s+1)·sub ⊂ p..p+2^k.
        unsafe { transform(p.add(s * sub), k - hi) };
    }
    // SAFETY: stride `sub` is a multiple of LANES (k − hi ≥ L1_BITS).
    unsafe { radix_pass(p, 1usize << k, sub, hi) };
}

/// Complete transform of the 2^k floats that `input` supplies (`input(i)` =
/// elements i .. i + LANES, i a multiple of LANES), handing every LANES outputs to
/// `output(i, ·)` exactly once instead of storing them; `p` is scratch of
/// 2^k floats. Bitwise the result of [`transform`] on the same input: the
/// same stages in the same order, only the first loads and the last stores
/// are replaced. For k ≤ [`L1_BITS`] the input is read by the leaves and the
/// output written by the last pass (no extra sweep); above, the input is
/// copied into `p` first and the output read back after. O(2^k·k).
///
/// `output` may store into `p` at positions i .. i + LANES: they are not read
/// again once handed out (this is how [`super::fwht_from`] stores).
///
/// # Safety
/// `p..p+2^k` valid for reads and writes, k ≥ [`LANE_BITS`].
#[inline(always)]
pub(super) unsafe fn transform_io<I, O>(p: *mut f32, k: u32, input: I, mut output: O)
where
    I: Fn(usize) -> V,
    O: FnMut(usize, V),
{
    let n = 1usize << k;
    // SAFETY: every access below stays within p..p+2^k.
    unsafe {
        match k - LANE_BITS {
            0 => registers_io::<1, _, _>(0, &input, &mut output),
            1 => registers_io::<2, _, _>(0, &input, &mut output),
            2 => registers_io::<4, _, _>(0, &input, &mut output),
            3 => registers_io::<8, _, _>(0, &input, &mut output),
            4 if LEAF_REGISTER_BITS > 3 => registers_io::<16, _, _>(0, &input, &mut output),
            _ if k <= L1_BITS => {
                let leaf = 1usize << LEAF_BITS;
                let mut off = 0;
                while off < n {
                    registers_io::<LEAF_REGS, _, _>(off, &input, &mut |i, v| store(p.add(i), v));
                    off += leaf;
                }
                match k - LEAF_BITS {
                    1 => radix_pass_out::<2, _>(p, n, leaf, &mut output),
                    2 => radix_pass_out::<4, _>(p, n, leaf, &mut output),
                    3 => radix_pass_out::<8, _>(p, n, leaf, &mut output),
                    _ => radix_pass_out::<16, _>(p, n, leaf, &mut output),
                }
            }
            _ => {
                let mut i = 0;
                while i < n {
                    store(p.add(i), input(i));
                    i += LANES;
                }
                transform(p, k);
                let mut i = 0;
                while i < n {
                    output(i, load(p.add(i)));
                    i += LANES;
                }
            }
        }
    }
}

/// The complete transform of the `R`·LANES inputs `off .. off + LANES·R` held in
/// registers, handed to `output`.
#[inline(always)]
fn registers_io<const R: usize, I, O>(off: usize, input: &I, output: &mut O)
where
    I: Fn(usize) -> V,
    O: FnMut(usize, V),
{
    let mut a: [V; R] = core::array::from_fn(|t| h_lanes(input(off + t * LANES)));
    butterflies(&mut a);
    for (t, v) in a.into_iter().enumerate() {
        output(off + t * LANES, v);
    }
}

/// [`radix_pass_r`] whose results go to `output` instead of back to `p`.
///
/// # Safety
/// As [`radix_pass_r`].
#[inline(always)]
unsafe fn radix_pass_out<const R: usize, O: FnMut(usize, V)>(
    p: *mut f32,
    len: usize,
    stride: usize,
    output: &mut O,
) {
    let span = R * stride;
    let mut base = 0;
    while base < len {
        let mut col = 0;
        while col < stride {
            let at = base + col;
            // SAFETY: at + (R−1)·stride + LANES ≤ base + span ≤ len.
            let mut a: [V; R] = core::array::from_fn(|t| unsafe { load(p.add(at + t * stride)) });
            butterflies(&mut a);
            for (t, v) in a.into_iter().enumerate() {
                output(at + t * stride, v);
            }
            col += LANES;
        }
        base += span;
    }
}
