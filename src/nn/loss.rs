//! Softmax cross-entropy fused with its gradient.
//!
//! For logits z (one row per example, C classes) and label y:
//!
//! ```text
//! loss = logsumexp(z) − z_y = m + ln Σ_c exp(z_c − m) − z_y      (m = max_c z_c: no overflow)
//! dz_c = scale · (softmax(z)_c − [c = y])
//! ```
//!
//! `scale` is 1/B for a mean over a batch of B examples, which lets each
//! chunk of a batch write its share of the batch gradient directly.

/// Loss and (optionally) gradient for `n` rows of `classes` logits.
/// Returns (Σ_rows loss in f64, number of rows whose first maximal logit is
/// the label). `dlogits`, when given, is overwritten with `scale·(p − onehot)`.
/// O(n·classes).
///
/// # Panics
/// If a slice is shorter than its shape or a label is ≥ `classes`.
#[inline(never)]
pub fn softmax_ce(
    n: usize,
    classes: usize,
    logits: &[f32],
    labels: &[u8],
    scale: f32,
    mut dlogits: Option<&mut [f32]>,
) -> (f64, usize) {
    assert!(logits.len() >= n * classes && labels.len() >= n);
    let mut total = 0.0f64;
    let mut correct = 0usize;
    for e in 0..n {
        let z = &logits[e * classes..(e + 1) * classes];
        let y = labels[e] as usize;
        assert!(y < classes, "softmax_ce: label {y} ≥ {classes} classes");
        let mut m = z[0];
        let mut arg = 0;
        for (c, &v) in z.iter().enumerate().skip(1) {
            if v > m {
                m = v;
                arg = c;
            }
        }
        if arg == y {
            correct += 1;
        }
        let sum: f32 = z.iter().map(|&v| (v - m).exp()).sum();
        let lse = m + sum.ln();
        total += (lse - z[y]) as f64;
        if let Some(d) = dlogits.as_deref_mut() {
            let d = &mut d[e * classes..(e + 1) * classes];
            let inv = scale / sum;
            for (c, (o, &v)) in d.iter_mut().zip(z).enumerate() {
                let p = (v - m).exp() * inv;
                *o = if c == y { p - scale } else { p };
            }
        }
    }
    (total, correct)
}
