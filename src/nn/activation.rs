//! Rectified linear unit, element-wise.
//!
//! ```text
//! forward   y = max(x, 0)
//! backward  dx = dy · [y > 0]        (the subgradient at x = 0 is taken as 0)
//! ```
//!
//! The backward pass reads the layer's *output*: y > 0 exactly when x > 0.

/// y ← max(x, 0) element-wise over `y.len()` values. O(n).
///
/// # Panics
/// If `x` is shorter than `y`.
#[inline(never)]
pub fn relu_forward(x: &[f32], y: &mut [f32]) {
    let x = &x[..y.len()];
    for (o, &v) in y.iter_mut().zip(x) {
        *o = v.max(0.0);
    }
}

/// dx ← dy · [y > 0] element-wise over `dx.len()` values. O(n).
///
/// # Panics
/// If `y` or `dy` is shorter than `dx`.
#[inline(never)]
pub fn relu_backward(y: &[f32], dy: &[f32], dx: &mut [f32]) {
    let n = dx.len();
    let (y, dy) = (&y[..n], &dy[..n]);
    for ((d, &o), &g) in dx.iter_mut().zip(y).zip(dy) {
        *d = if o > 0.0 { g } else { 0.0 };
    }
}
