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
