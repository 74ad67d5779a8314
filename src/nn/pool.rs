//! 2×2 max-pooling with stride 2 on a stack of planes.
//!
//! ```text
//! forward   y[p][i][j] = max(x[p][2i][2j], x[p][2i][2j+1], x[p][2i+1][2j], x[p][2i+1][2j+1])
//! backward  dx[p][argmax] = dy[p][i][j], every other input of the window gets 0
//! ```
//!
//! **Ties**: the gradient goes to the *first* maximum in row-major order
//! within the window ((0,0), (0,1), (1,0), (1,1)) — the comparison is a
//! strict `>`, so a later equal value never replaces an earlier one. The
//! forward pass records that choice (0..=3) so the backward pass needs no
//! comparisons. A plane is any contiguous h×w block, so the layer does not
//! care whether planes are ordered by channel or by example.

/// Forward over `planes` planes of h×w (h, w even): `y` is planes×(h/2)×(w/2),
/// `arg` records which of the four inputs won (row-major index in the window).
/// O(planes·h·w).
///
/// # Panics
/// If h or w is odd or a slice is shorter than its shape.
#[inline(never)]
pub fn maxpool_forward(
    planes: usize,
    h: usize,
    w: usize,
    x: &[f32],
    y: &mut [f32],
    arg: &mut [u8],
) {
    assert!(
        h.is_multiple_of(2) && w.is_multiple_of(2),
        "maxpool_forward: odd plane {h}×{w}"
    );
    let (oh, ow) = (h / 2, w / 2);
    assert!(
        x.len() >= planes * h * w && y.len() >= planes * oh * ow && arg.len() >= planes * oh * ow
    );
    for p in 0..planes {
        let xp = &x[p * h * w..(p + 1) * h * w];
        let yp = &mut y[p * oh * ow..(p + 1) * oh * ow];
        let ap = &mut arg[p * oh * ow..(p + 1) * oh * ow];
        for i in 0..oh {
            let r0 = &xp[2 * i * w..(2 * i + 1) * w];
            let r1 = &xp[(2 * i + 1) * w..(2 * i + 2) * w];
            for j in 0..ow {
                let cand = [r0[2 * j], r0[2 * j + 1], r1[2 * j], r1[2 * j + 1]];
                let mut best = cand[0];
                let mut k = 0u8;
                for (q, &v) in cand.iter().enumerate().skip(1) {
                    if v > best {
                        best = v;
                        k = q as u8;
                    }
                }
                yp[i * ow + j] = best;
                ap[i * ow + j] = k;
            }
        }
    }
}

/// Backward of [`maxpool_forward`]: dx (planes×h×w) is overwritten, each
/// window's gradient going to the input recorded in `arg`. O(planes·h·w).
///
/// # Panics
/// If h or w is odd or a slice is shorter than its shape.
#[inline(never)]
pub fn maxpool_backward(planes: usize, h: usize, w: usize, dy: &[f32], arg: &[u8], dx: &mut [f32]) {
    assert!(
        h.is_multiple_of(2) && w.is_multiple_of(2),
        "maxpool_backward: odd plane {h}×{w}"
    );
    let (oh, ow) = (h / 2, w / 2);
    assert!(
        dx.len() >= planes * h * w && dy.len() >= planes * oh * ow && arg.len() >= planes * oh * ow
    );
    for p in 0..planes {
        let dxp = &mut dx[p * h * w..(p + 1) * h * w];
        let dyp = &dy[p * oh * ow..(p + 1) * oh * ow];
        let ap = &arg[p * oh * ow..(p + 1) * oh * ow];
        for i in 0..oh {
            for j in 0..ow {
                let g = dyp[i * ow + j];
                let k = ap[i * ow + j] as usize;
                let base = 2 * i * w + 2 * j;
                let pos = [base, base + 1, base + w, base + w + 1];
                for (q, &at) in pos.iter().enumerate() {
                    dxp[at] = if q == k { g } else { 0.0 };
                }
            }
        }
    }
}
