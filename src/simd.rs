//! Which SIMD path this build uses.
//!
//! `wide` chooses its implementation at compile time from the enabled target
//! features, so the answer is a property of the build (see
//! `.cargo/config.toml`, which sets `-C target-cpu=native`), not of the
//! machine the binary later runs on.

/// The instruction set the kernels were compiled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimdPath {
    /// 512-bit vectors: `f32x16` is one AVX-512 register.
    Avx512,
    /// 256-bit vectors with fused multiply-add: `f32x8` is one AVX2 register.
    Avx2Fma,
    /// Anything else: `wide` falls back to narrower or scalar code.
    Portable,
}

impl SimdPath {
    /// The path chosen at compile time. O(1).
    pub const fn of_build() -> SimdPath {
        if cfg!(all(target_arch = "x86_64", target_feature = "avx512f")) {
            SimdPath::Avx512
        } else if cfg!(all(
            target_arch = "x86_64",
            target_feature = "avx2",
            target_feature = "fma"
        )) {
            SimdPath::Avx2Fma
        } else {
            SimdPath::Portable
        }
    }

    /// Short human-readable name: `avx512f`, `avx2+fma` or `portable`.
    pub const fn name(self) -> &'static str {
        match self {
            SimdPath::Avx512 => "avx512f",
            SimdPath::Avx2Fma => "avx2+fma",
            SimdPath::Portable => "portable fallback",
        }
    }
}

/// The f32 vector one register of the build holds, by which the kernels size
/// their register tiles: an AVX-512 zmm register (`f32x16`) where the build
/// has avx512f, else an AVX2 ymm register (`f32x8`, which `wide` emulates
/// with narrower or scalar code on other targets).
#[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
pub type F32s = wide::f32x16;
/// The f32 vector one register of the build holds, by which the kernels size
/// their register tiles: an AVX-512 zmm register (`f32x16`) where the build
/// has avx512f, else an AVX2 ymm register (`f32x8`, which `wide` emulates
/// with narrower or scalar code on other targets).
#[cfg(not(all(target_arch = "x86_64", target_feature = "avx512f")))]
pub type F32s = wide::f32x8;

/// Lanes of [`F32s`]: 16 or 8.
pub const F32S_LANES: usize = std::mem::size_of::<F32s>() / 4;

/// L2 cache per core, in bytes, as the processor reports it (CPUID leaf
/// 0x8000_0006, ECX bits 31..16 in KiB, which both AMD and Intel fill in);
/// 512 KiB where it cannot be read (another architecture, or a hypervisor
/// that hides the leaf). Read once, then cached. Kernels use it to choose
/// between methods whose speed depends on what fits in L2 (see
/// [`crate::kernels::spmv::AdjointMethod::default_for`]). O(1).
pub fn l2_cache_bytes() -> usize {
    static L2: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *L2.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::__cpuid;
            if __cpuid(0x8000_0000).eax >= 0x8000_0006 {
                let kib = (__cpuid(0x8000_0006).ecx >> 16) as usize;
                if kib > 0 {
                    return kib << 10;
                }
            }
        }
        512 << 10
    })
}

/// Asks for the cache line at `p` to be brought into L1 (`prefetcht0`): a
/// hint, so `p` need not point to valid memory; nothing is read and nothing
/// faults. A no-op off x86-64. O(1).
#[inline(always)]
pub(crate) fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults and changes nothing the program sees.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast())
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
