//! Fast Walsh–Hadamard transform, in place and unnormalised.
//!
//! H_1 = [1], H_2n = [[H_n, H_n], [H_n, −H_n]] (Sylvester), so H_n has ±1
//! entries, (H_n)_ij = (−1)^popcount(i & j), H_n·H_n = n·I and
//! ‖H_n·x‖² = n·‖x‖². The transform is log2(n) stages of n/2 butterflies
//! `(a, b) ← (a + b, a − b)`: n·log2(n) additions/subtractions.
//!
//! The fast path follows FFHT (Andoni et al.): the first 4 stages happen
//! inside one AVX-512 register (16 lanes), the next 4 across 16 registers
//! held at once (with AVX2: 3 inside one 8-lane register, 3 across 8
//! registers), then stages are merged 2–4 at a time over groups of
//! registers in strided passes, with the array cut recursively into
//! L1- and L2-sized blocks (see `blocked.rs` for the loop nest and its
//! constants, `simd.rs` for the in-register work).
//!
//! The stages are applied in the same (ascending) order as in the textbook
//! loop and every output is one IEEE addition of the same two operands, so
//! [`fwht`] returns exactly the bits of [`fwht_reference`].

mod blocked;
mod simd;

use simd::LANE_BITS;

/// Lengths below this are transformed by the scalar loop (one register
/// holds LANES floats: 16 with AVX-512, 8 otherwise).
const MIN_VECTOR_LEN: usize = LANES;

/// In-place unnormalised Walsh–Hadamard transform x ← H_n·x,
/// (H_n·x)_i = Σ_j (−1)^popcount(i & j)·x_j. O(n log n): n·log2(n)
/// additions, no allocation.
///
/// Every power-of-two length is supported (1 ≤ n ≤ 2^30 and beyond; the
/// test suite covers every length 1 … 2^20 and 2^22).
///
/// Any start address gives the same bits, but a slice that starts on a
/// 64-byte boundary is faster (one run here: 5 % at n = 2^12, 18 % at 2^16,
/// 9 % at 2^20): every register is then one cache line instead of two
/// halves. A large `Vec<f32>` never starts on one (glibc puts it 16 bytes
/// past a page); use [`AlignedVec`](crate::kernels::AlignedVec).
///
/// # Panics
/// If `x.len()` is not a power of two (length 1 is allowed: H_1 = [1];
/// length 0 is not a power of two and panics).
pub fn fwht(x: &mut [f32]) {
    let n = x.len();
    assert!(
        n.is_power_of_two(),
        "fwht: length {n} is not a power of two"
    );
    if n < MIN_VECTOR_LEN {
        fwht_reference(x);
        return;
    }
    // SAFETY: n = 2^k ≥ LANES, and the kernels touch exactly x[0..n].
    unsafe { blocked::transform(x.as_mut_ptr(), n.trailing_zeros()) };
}

/// Transform each row of `data`, viewed as consecutive rows of length `n`:
/// every row r ← H_n·r. O(rows·n log n), no allocation; rows shorter than
/// a register (16 floats with AVX-512, 8 otherwise) are packed several to one.
///
/// # Panics
/// If `n` is not a power of two or `data.len()` is not a multiple of `n`.
pub fn fwht_rows(data: &mut [f32], n: usize) {
    assert!(
        n.is_power_of_two(),
        "fwht_rows: row length {n} is not a power of two"
    );
    assert!(
        data.len().is_multiple_of(n),
        "fwht_rows: {} is not a multiple of {n}",
        data.len()
    );
    if n == 1 {
        return;
    }
    if n < MIN_VECTOR_LEN {
        // Several rows per register: the first log2(n) lane stages transform
        // every aligned group of n lanes independently.
        let bits = n.trailing_zeros();
        debug_assert!(bits < LANE_BITS);
        let whole = data.len() - data.len() % LANES;
        let (vectors, tail) = data.split_at_mut(whole);
        blocked::narrow_rows(vectors, bits);
        for row in tail.chunks_exact_mut(n) {
            fwht_reference(row);
        }
        return;
    }
    let k = n.trailing_zeros();
    for row in data.chunks_exact_mut(n) {
        // SAFETY: the row has exactly n = 2^k ≥ LANES floats.
        unsafe { blocked::transform(row.as_mut_ptr(), k) };
    }
}

/// The register type of [`fwht_io`]: [`LANES`] consecutive elements.
pub type Lanes = simd::V;
/// Elements in one [`Lanes`]: 16 in AVX-512 builds, 8 otherwise.
pub const LANES: usize = simd::LANES;

/// The transform with its first loads and last stores replaced, so that a
/// caller fuses its own pass before and after (a sign flip, a permutation, a
/// scaled accumulation) into the transform's own sweeps over the data:
/// computes z = H_n·w where `input(i)` = w[i .. i + LANES], and calls
/// `output(i, z[i .. i + LANES])` once for every multiple i of [`LANES`], in
/// no particular order. `scratch` (length n, a power of two ≥ LANES) holds the
/// intermediate stages. Bitwise the same z as [`fwht`] on w. O(n log n); for n ≤ 4096 no sweep
/// beyond the transform's own two.
///
/// # Panics
/// If `scratch.len()` is not a power of two of at least [`LANES`].
#[inline]
pub fn fwht_io(
    scratch: &mut [f32],
    input: impl Fn(usize) -> Lanes,
    output: impl FnMut(usize, Lanes),
) {
    let n = scratch.len();
    assert!(
        n.is_power_of_two() && n >= LANES,
        "fwht_io: length {n} is not a power of two of at least {LANES}"
    );
    // SAFETY: n = 2^k ≥ LANES floats of scratch; the kernel touches exactly those.
    unsafe { blocked::transform_io(scratch.as_mut_ptr(), n.trailing_zeros(), input, output) };
}

/// [`fwht_io`] that stores its output back: dst[i .. i + LANES] ←
/// map(i, z[i .. i + LANES]) with z = H_n·w, `input(i)` = w[i .. i + LANES]. The
/// same bits as filling dst with w, [`fwht`], then mapping. O(n log n).
///
/// # Panics
/// If `dst.len()` is not a power of two of at least [`LANES`].
#[inline]
pub fn fwht_from(
    dst: &mut [f32],
    input: impl Fn(usize) -> Lanes,
    map: impl Fn(usize, Lanes) -> Lanes,
) {
    let n = dst.len();
    assert!(
        n.is_power_of_two() && n >= LANES,
        "fwht_from: length {n} is not a power of two of at least {LANES}"
    );
    let p = dst.as_mut_ptr();
    // SAFETY: n = 2^k ≥ LANES floats at p; each output goes back to the
    // positions it came from, which the kernel does not read again.
    unsafe {
        blocked::transform_io(p, n.trailing_zeros(), input, |i, z| {
            simd::store(p.add(i), map(i, z))
        })
    };
}

/// Plain scalar reference: the textbook triple loop over strides. O(n log n).
///
/// # Panics
/// If `x.len()` is not a power of two.
pub fn fwht_reference(x: &mut [f32]) {
    let n = x.len();
    assert!(
        n.is_power_of_two(),
        "fwht: length {n} is not a power of two"
    );
    let mut h = 1;
    while h < n {
        for i in (0..n).step_by(2 * h) {
            for j in i..i + h {
                let (a, b) = (x[j], x[j + h]);
                x[j] = a + b;
                x[j + h] = a - b;
            }
        }
        h *= 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `fwht_io` reading from one slice and writing to another gives the
    /// reference's bits, for every path (registers only, leaves + one pass,
    /// and the copy-in/copy-out path above 4096).
    #[test]
    fn fwht_io_matches_reference() {
        for k in 4..=14u32 {
            let n = 1usize << k;
            let w: Vec<f32> = (0..n)
                .map(|i| ((i * 7919) % 101) as f32 * 0.37 - 17.0)
                .collect();
            let mut want = w.clone();
            fwht_reference(&mut want);
            let mut scratch = vec![f32::NAN; n];
            let mut got = vec![f32::NAN; n];
            let mut calls = vec![0u8; n / LANES];
            fwht_io(
                &mut scratch,
                |i| Lanes::new(w[i..i + LANES].try_into().unwrap()),
                |i, v| {
                    got[i..i + LANES].copy_from_slice(&v.to_array());
                    calls[i / LANES] += 1;
                },
            );
            assert!(
                calls.iter().all(|&c| c == 1),
                "n = {n}: output not called once per register"
            );
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&got), bits(&want), "n = {n}");
            // fwht_from, mapping each output to twice itself (exact).
            let mut dst = vec![f32::NAN; n];
            fwht_from(
                &mut dst,
                |i| Lanes::new(w[i..i + LANES].try_into().unwrap()),
                |_, z| z + z,
            );
            let twice: Vec<f32> = want.iter().map(|&z| z + z).collect();
            assert_eq!(bits(&dst), bits(&twice), "fwht_from, n = {n}");
        }
    }
}
