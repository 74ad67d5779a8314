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
