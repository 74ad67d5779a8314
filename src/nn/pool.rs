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
            let yr = &mut yp[i * ow..(i + 1) * ow];
            let ar = &mut ap[i * ow..(i + 1) * ow];
            // Branch-free selects in window order: a later value wins only
            // if strictly greater (the first maximum keeps the gradient).
            for (((o, a), p0), p1) in yr
                .iter_mut()
                .zip(ar.iter_mut())
                .zip(r0.chunks_exact(2))
                .zip(r1.chunks_exact(2))
            {
                let mut best = p0[0];
                let mut k = 0u8;
                if p0[1] > best {
                    best = p0[1];
                    k = 1;
                }
                if p1[0] > best {
                    best = p1[0];
                    k = 2;
                }
                if p1[1] > best {
                    best = p1[1];
                    k = 3;
                }
                *o = best;
                *a = k;
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
            let (r0, r1) = dxp[2 * i * w..(2 * i + 2) * w].split_at_mut(w);
            let dr = &dyp[i * ow..(i + 1) * ow];
            let ar = &ap[i * ow..(i + 1) * ow];
            for (((&g, &k), q0), q1) in dr
                .iter()
                .zip(ar)
                .zip(r0.chunks_exact_mut(2))
                .zip(r1.chunks_exact_mut(2))
            {
                q0[0] = if k == 0 { g } else { 0.0 };
                q0[1] = if k == 1 { g } else { 0.0 };
                q1[0] = if k == 2 { g } else { 0.0 };
                q1[1] = if k == 3 { g } else { 0.0 };
            }
        }
    }
}
