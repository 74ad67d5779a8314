//! Fast Walsh–Hadamard transform, in place and unnormalised.
//!
//! H_1 = [1], H_2n = [[H_n, H_n], [H_n, −H_n]] (Sylvester), so H_n has ±1
//! entries, (H_n)_ij = (−1)^popcount(i & j), H_n·H_n = n·I and
//! ‖H_n·x‖² = n·‖x‖². The transform is log2(n) stages of n/2 butterflies
//! `(a, b) ← (a + b, a − b)`: n·log2(n) additions/subtractions.
//!
//! The fast path follows FFHT (Andoni et al.): the first 4 stages happen
//! inside one AVX-512 register (16 lanes), the next 4 across 16 registers
//! held at once, then stages are merged 2–4 at a time over groups of
//! registers in strided passes, with the array cut recursively into
//! L1- and L2-sized blocks (see `blocked.rs` for the loop nest and its
//! constants, `simd.rs` for the in-register work).
//!
//! The stages are applied in the same (ascending) order as in the textbook
//! loop and every output is one IEEE addition of the same two operands, so
//! [`fwht`] returns exactly the bits of [`fwht_reference`].

mod blocked;
mod simd;

use simd::{LANE_BITS, LANES};

/// Lengths below this are transformed by the scalar loop (one register
/// holds 16 floats).
const MIN_VECTOR_LEN: usize = LANES;

/// In-place unnormalised Walsh–Hadamard transform x ← H_n·x,
/// (H_n·x)_i = Σ_j (−1)^popcount(i & j)·x_j. O(n log n): n·log2(n)
/// additions, no allocation.
///
/// Every power-of-two length is supported (1 ≤ n ≤ 2^30 and beyond; the
/// test suite covers every length 1 … 2^20 and 2^22).
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
    // SAFETY: n = 2^k ≥ 16, and the kernels touch exactly x[0..n].
    unsafe { blocked::transform(x.as_mut_ptr(), n.trailing_zeros()) };
}

/// Transform each row of `data`, viewed as consecutive rows of length `n`:
/// every row r ← H_n·r. O(rows·n log n), no allocation; rows shorter than
/// 16 floats are packed several to a register.
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
        // SAFETY: the row has exactly n = 2^k ≥ 16 floats.
        unsafe { blocked::transform(row.as_mut_ptr(), k) };
    }
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
