//! Seeded random streams: every random object in the crate comes from here.
//!
//! A random object is identified by a user-visible `u64` seed and a fixed
//! [`Stream`] tag naming what it is for (θ_0, a projection's parts, data
//! shuffling, …). The generator is PCG-XSL-RR 128/64 (`rand_pcg::Pcg64`) with
//!
//! ```text
//! state  = (seed as u128) << 64 | (tag as u128)         (tag = Stream as u64)
//! stream = (tag as u128) << 64 | (sub as u128)           (sub: block / layer index)
//! ```
//!
//! so that distinct tags and sub-indices give independent PCG streams and the
//! same `(seed, tag, sub)` gives the same bits on every machine and for every
//! thread count. Only the bit-exact primitives below are used to turn raw
//! `u64`s into numbers ([`uniform_f64`], [`below`], [`normal`]); they do not
//! depend on the version of `rand`'s distribution code.

use rand::{Rng, SeedableRng as _};
use rand_pcg::Pcg64;

/// What a random stream is used for. The discriminant is part of the
/// documented stream derivation and must never change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum Stream {
    /// Network initialisation θ_0 (sub = tensor index).
    Init = 1,
    /// Dense projection entries (sub = block of rows).
    Dense = 2,
    /// Sparse projection pattern and signs (sub = column).
    Sparse = 3,
    /// Fastfood diagonals and permutations (sub = block index).
    Fastfood = 4,
    /// Per-epoch shuffling of the training set (sub = epoch).
    Shuffle = 5,
    /// The fixed pixel permutation of the shuffled-pixels variant.
    Pixels = 6,
    /// Label noise of the shuffled-labels variant.
    Labels = 7,
    /// The held-out validation split.
    Validation = 8,
    /// Anything a test or the toy problem needs.
    Misc = 9,
}

/// The generator for `(seed, tag, sub)`; see the module docs. O(1).
pub fn stream(seed: u64, tag: Stream, sub: u64) -> Pcg64 {
    let t = tag as u64 as u128;
    let state = ((seed as u128) << 64) | t;
    let inc = (t << 64) | sub as u128;
    let mut rng = Pcg64::new(state, inc);
    // Decorrelate nearby states: discard one output.
    let _ = rng.next_u64();
    rng
}

/// A generator seeded from a plain `u64` (tests and examples). O(1).
pub fn from_seed(seed: u64) -> Pcg64 {
    Pcg64::seed_from_u64(seed)
}

/// Uniform in [0, 1) with 53 random bits: `(u >> 11) · 2⁻⁵³`. O(1).
#[inline]
pub fn uniform_f64<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Uniform integer in `0..n` by the multiply-shift map `(u · n) >> 64`
/// (bias below n / 2⁶⁴, negligible for every n used here). O(1).
///
/// # Panics
/// If `n == 0`.
#[inline]
pub fn below<R: Rng + ?Sized>(rng: &mut R, n: u64) -> u64 {
    assert!(n > 0, "below(0)");
    ((rng.next_u64() as u128 * n as u128) >> 64) as u64
}

/// A fair random sign, ±1.0, from the top bit of one draw. O(1).
#[inline]
pub fn sign<R: Rng + ?Sized>(rng: &mut R) -> f32 {
    if rng.next_u64() >> 63 == 0 { 1.0 } else { -1.0 }
}

/// One standard normal N(0, 1) sample by the Box–Muller transform in f64:
/// `√(−2 ln u₁) · cos(2π u₂)` with u₁ ∈ (0, 1]. Two draws per sample. O(1).
#[inline]
pub fn normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let u1 = 1.0 - uniform_f64(rng); // (0, 1]
    let u2 = uniform_f64(rng);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Fill `out` with iid N(0, std²) samples. O(n).
pub fn fill_normal<R: Rng + ?Sized>(rng: &mut R, std: f64, out: &mut [f32]) {
    for v in out {
        *v = (normal(rng) * std) as f32;
    }
}

/// Fisher–Yates shuffle with [`below`]; the same bits for the same stream. O(n).
pub fn shuffle<T, R: Rng + ?Sized>(rng: &mut R, v: &mut [T]) {
    for i in (1..v.len()).rev() {
        let j = below(rng, i as u64 + 1) as usize;
        v.swap(i, j);
    }
}

/// A uniformly random permutation of `0..n` as `u32`. O(n).
///
/// # Panics
/// If `n > u32::MAX as usize + 1`.
pub fn permutation<R: Rng + ?Sized>(rng: &mut R, n: usize) -> Vec<u32> {
    assert!(n <= u32::MAX as usize + 1, "permutation too long");
    let mut p: Vec<u32> = (0..n as u64).map(|i| i as u32).collect();
    shuffle(rng, &mut p);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4)
            .map(|_| stream(7, Stream::Init, 0).next_u64())
            .collect();
        assert!(a.iter().all(|&x| x == a[0]));
        let b = stream(7, Stream::Init, 1).next_u64();
        let c = stream(7, Stream::Dense, 0).next_u64();
        let d = stream(8, Stream::Init, 0).next_u64();
        assert!(a[0] != b && a[0] != c && a[0] != d && b != c);
    }

    #[test]
    fn normal_has_unit_moments() {
        let mut r = from_seed(1);
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| normal(&mut r)).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
        // Standard errors: 1/√n ≈ 0.0022 for the mean, √(2/n) ≈ 0.0032 for the variance.
        assert!(mean.abs() < 0.012, "mean {mean}");
        assert!((var - 1.0).abs() < 0.016, "var {var}");
    }

    #[test]
    fn permutation_is_a_permutation() {
        let mut r = from_seed(3);
        let mut p = permutation(&mut r, 1000);
        assert_ne!(p, (0..1000).collect::<Vec<u32>>());
        p.sort_unstable();
        assert_eq!(p, (0..1000).collect::<Vec<u32>>());
    }
}
