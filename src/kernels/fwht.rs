//! Fast Walsh–Hadamard transform, in place and unnormalised.
//!
//! H_1 = [1], H_2n = [[H_n, H_n], [H_n, −H_n]] (Sylvester), so H_n has ±1
//! entries, H_n·H_n = n·I and ‖H_n·x‖² = n·‖x‖². The transform costs
//! n·log2(n) additions/subtractions.

/// In-place unnormalised Walsh–Hadamard transform x ← H_n·x. O(n log n).
///
/// # Panics
/// If `x.len()` is not a power of two (length 1 is allowed: H_1 = [1]).
pub fn fwht(x: &mut [f32]) {
    fwht_reference(x);
}

/// Transform each row of `data`, viewed as rows of length `n`. O(rows·n log n).
///
/// # Panics
/// If `n` is not a power of two or `data.len()` is not a multiple of `n`.
pub fn fwht_rows(data: &mut [f32], n: usize) {
    assert!(
        n.is_power_of_two(),
        "fwht_rows: row length {n} is not a power of two"
    );
    assert!(
        data.len() % n == 0,
        "fwht_rows: {} is not a multiple of {n}",
        data.len()
    );
    for row in data.chunks_exact_mut(n) {
        fwht(row);
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
