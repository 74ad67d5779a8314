//! The vector vocabulary of the transform: one register holds `LANES`
//! consecutive elements (16 in an AVX-512 zmm register, 8 in an AVX2 ymm
//! register), so index bits 0..LANE_BITS live *inside* a register ("lane
//! bits") and every higher bit selects a register ("register bits").
//!
//! - A stage on a register bit is a plain butterfly between two registers:
//!   `(a, b) ← (a + b, a − b)`, one add or subtract per output vector.
//! - A stage on a lane bit needs the partner of every lane, which lives in the
//!   same register: one in-register permute (AVX-512 `vpermilps` /
//!   `vshuff32x4`, AVX2 `vpermilps` / `vperm2f128`, the only `std::arch` in
//!   this kernel, because `wide` has no lane permutes) and one fused
//!   `v·sign + partner`, where `sign` is +1 on the lower lane of each pair
//!   and −1 on the upper one.
//!
//! Every output is computed as exactly one IEEE addition of the same two
//! operands the textbook butterfly would add (`fma(v, ±1, p)` rounds once and
//! `v·±1` is exact), so each stage is bitwise what the scalar reference
//! computes for that stage.

/// The register type: [`crate::simd::F32s`], 16 lanes with AVX-512, 8 otherwise.
pub(super) type V = crate::simd::F32s;
/// log2 of the lanes of [`V`]: the stages that happen inside one register.
pub(super) const LANE_BITS: u32 = crate::simd::F32S_LANES.trailing_zeros();
/// Elements per register.
pub(super) const LANES: usize = 1 << LANE_BITS;

/// Unaligned load of one register.
///
/// # Safety
/// `p..p+LANES` must be readable.
#[inline(always)]
pub(super) unsafe fn load(p: *const f32) -> V {
    // SAFETY: the caller guarantees LANES readable floats; `V` is plain data.
    unsafe { p.cast::<V>().read_unaligned() }
}

/// Unaligned store of one register.
///
/// # Safety
/// `p..p+LANES` must be writable.
#[inline(always)]
pub(super) unsafe fn store(p: *mut f32, v: V) {
    // SAFETY: the caller guarantees LANES writable floats; `V` is plain data.
    unsafe { p.cast::<V>().write_unaligned(v) }
}

/// `SIGN[b][i]` = +1 if bit `b` of lane `i` is 0, else −1.
const SIGN: [V; LANE_BITS as usize] = {
    let mut out = [V::new([0.0; LANES]); LANE_BITS as usize];
    let mut b = 0;
    while b < LANE_BITS as usize {
        let mut s = [0.0f32; LANES];
        let mut i = 0;
        while i < LANES {
            s[i] = if i & (1 << b) == 0 { 1.0 } else { -1.0 };
            i += 1;
        }
        out[b] = V::new(s);
        b += 1;
    }
    out
};

/// `v` with every lane `i` replaced by lane `i ^ (1 << BIT)`.
#[inline(always)]
fn partner<const BIT: u32>(v: V) -> V {
    #[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
    {
        use core::arch::x86_64::{__m512, _mm512_permute_ps, _mm512_shuffle_f32x4};
        let x: __m512 = v.into();
        // vpermilps swaps within 128-bit blocks, vshuff32x4 swaps whole blocks;
        // each is one port-5 µop.
        // SAFETY: the build enables avx512f (this block is compiled only then).
        let p = unsafe {
            match BIT {
                0 => _mm512_permute_ps::<0b10_11_00_01>(x), // (1,0,3,2) in each block
                1 => _mm512_permute_ps::<0b01_00_11_10>(x), // (2,3,0,1) in each block
                2 => _mm512_shuffle_f32x4::<0b10_11_00_01>(x, x), // blocks (1,0,3,2)
                _ => _mm512_shuffle_f32x4::<0b01_00_11_10>(x, x), // blocks (2,3,0,1)
            }
        };
        V::from(p)
    }
    #[cfg(all(
        target_arch = "x86_64",
        target_feature = "avx2",
        not(target_feature = "avx512f")
    ))]
    {
        use core::arch::x86_64::{__m256, _mm256_permute_ps, _mm256_permute2f128_ps};
        let x: __m256 = v.into();
        // vpermilps swaps within 128-bit halves, vperm2f128 swaps the halves.
        // SAFETY: the build enables avx2 (this block is compiled only then).
        let p = unsafe {
            match BIT {
                0 => _mm256_permute_ps::<0b10_11_00_01>(x), // (1,0,3,2) in each half
                1 => _mm256_permute_ps::<0b01_00_11_10>(x), // (2,3,0,1) in each half
                _ => _mm256_permute2f128_ps::<0x01>(x, x),  // halves swapped
            }
        };
        V::from(p)
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "avx2")))]
    {
        let a = v.to_array();
        V::new(core::array::from_fn(|i| a[i ^ (1 << BIT)]))
    }
}

/// One stage on lane bit `BIT`: lane pairs `(i, i + h)`, `h = 2^BIT`, become
/// `(x_i + x_{i+h}, x_i − x_{i+h})`.
#[inline(always)]
fn lane_stage<const BIT: u32>(v: V) -> V {
    v.mul_add(SIGN[BIT as usize], partner::<BIT>(v))
}

/// The first `bits` (≤ [`LANE_BITS`]) stages, in ascending order, inside
/// one register: independent transforms of length `2^bits` on each aligned
/// lane group.
#[inline(always)]
pub(super) fn lane_stages(v: V, bits: u32) -> V {
    let mut v = v;
    if bits > 0 {
        v = lane_stage::<0>(v);
    }
    if bits > 1 {
        v = lane_stage::<1>(v);
    }
    if bits > 2 {
        v = lane_stage::<2>(v);
    }
    #[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
    if bits > 3 {
        v = lane_stage::<3>(v);
    }
    v
}

/// The complete length-`LANES` transform of one register (every lane stage).
#[inline(always)]
pub(super) fn h_lanes(v: V) -> V {
    lane_stages(v, LANE_BITS)
}

/// All log2(R) register-bit stages over a group of `R` registers held at
/// once, in ascending order: `a ← (H_R ⊗ I_LANES)·a`. R·log2(R) vector ops.
#[inline(always)]
pub(super) fn butterflies<const R: usize>(a: &mut [V; R]) {
    let mut h = 1;
    while h < R {
        let mut i = 0;
        while i < R {
            for j in i..i + h {
                let (x, y) = (a[j], a[j + h]);
                a[j] = x + y;
                a[j + h] = x - y;
            }
            i += 2 * h;
        }
        h *= 2;
    }
}
