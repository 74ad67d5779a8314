//! First-order optimisers on a flat parameter vector (θ_D in full-space
//! training, θ_d in a subspace). State buffers are allocated once in
//! [`Optimizer::new`]; a step allocates nothing and is one vectorised pass
//! (wide `f32x16`, AVX-512 with `target-cpu=native`) over the parameters,
//! split into fixed blocks across rayon threads for large n (element-wise,
//! so the result does not depend on the thread count).
//!
//! ```text
//! SGD, momentum μ:   v ← μ·v + g;   θ ← θ − lr·v                     (PyTorch's form; v₀ = 0)
//! Adam (β1, β2, ε), step t = 1, 2, …:
//!   m ← β1·m + (1−β1)·g;   v ← β2·v + (1−β2)·g²
//!   θ ← θ − (lr / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + ε)                (Kingma & Ba, bias-corrected)
//! ```

use rayon::prelude::*;
use wide::f32x16;

/// Which optimiser, with its hyper-parameters (the learning rate is separate).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OptimizerKind {
    /// Stochastic gradient descent with (heavy-ball) momentum; 0 for plain SGD.
    Sgd {
        /// Momentum μ ∈ [0, 1).
        momentum: f32,
    },
    /// Adam with bias correction.
    Adam {
        /// Decay of the first moment (default 0.9).
        beta1: f32,
        /// Decay of the second moment (default 0.999; the paper used 0.99).
        beta2: f32,
        /// Added to the denominator (default 1e-8).
        eps: f32,
    },
}

impl OptimizerKind {
    /// Adam with β1 = 0.9, β2 = 0.999, ε = 1e-8.
    pub fn adam() -> OptimizerKind {
        OptimizerKind::Adam {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }
}

/// An optimiser with its state for `n` parameters.
pub struct Optimizer {
    kind: OptimizerKind,
    lr: f32,
    /// SGD: velocity; Adam: first moment.
    m: Vec<f32>,
    /// Adam: second moment (empty for SGD).
    v: Vec<f32>,
    /// Steps taken since the last reset.
    t: u64,
}

const W: usize = 16;

/// Parameters per rayon task in a step. The update is element-wise, so the
/// split cannot change any bit; below two blocks the step runs inline.
const PAR_BLOCK: usize = 32 * 1024;

impl Optimizer {
    /// An optimiser for `n` parameters with learning rate `lr`, zero state. O(n) memory.
    pub fn new(kind: OptimizerKind, lr: f32, n: usize) -> Optimizer {
        let v = match kind {
            OptimizerKind::Adam { .. } => vec![0.0; n],
            OptimizerKind::Sgd { .. } => Vec::new(),
        };
        Optimizer {
            kind,
            lr,
            m: vec![0.0; n],
            v,
            t: 0,
        }
    }

    /// The kind and hyper-parameters.
    pub fn kind(&self) -> OptimizerKind {
        self.kind
    }

    /// The learning rate.
    pub fn lr(&self) -> f32 {
        self.lr
    }

    /// Change the learning rate (e.g. for a schedule); the state is kept.
    pub fn set_lr(&mut self, lr: f32) {
        self.lr = lr;
    }

    /// Steps taken since creation or the last [`Optimizer::reset`].
    pub fn steps(&self) -> u64 {
        self.t
    }

    /// Zero the state (moments, velocity, step count). O(n).
    pub fn reset(&mut self) {
        self.m.fill(0.0);
        self.v.fill(0.0);
        self.t = 0;
    }

    /// One update of `params` from `grad`; see the module docs. O(n).
    ///
    /// # Panics
    /// If `params` or `grad` does not have the length given to [`Optimizer::new`].
    pub fn step(&mut self, params: &mut [f32], grad: &[f32]) {
        let n = self.m.len();
        assert_eq!(
            params.len(),
            n,
            "Optimizer::step: params has the wrong length"
        );
        assert_eq!(grad.len(), n, "Optimizer::step: grad has the wrong length");
        self.t += 1;
        let parallel = n >= 2 * PAR_BLOCK;
        match self.kind {
            OptimizerKind::Sgd { momentum } => {
                let lr = self.lr;
                if parallel {
                    params
                        .par_chunks_mut(PAR_BLOCK)
                        .zip(grad.par_chunks(PAR_BLOCK))
                        .zip(self.m.par_chunks_mut(PAR_BLOCK))
                        .for_each(|((p, g), m)| sgd(p, g, m, lr, momentum));
                } else {
                    sgd(params, grad, &mut self.m, lr, momentum);
                }
            }
            OptimizerKind::Adam { beta1, beta2, eps } => {
                let t = self.t.min(i32::MAX as u64) as i32;
                let bc1 = 1.0 - (beta1 as f64).powi(t);
                let bc2 = 1.0 - (beta2 as f64).powi(t);
                let step = (self.lr as f64 / bc1) as f32;
                let inv_sqrt_bc2 = (1.0 / bc2.sqrt()) as f32;
                let h = [beta1, beta2, eps, step, inv_sqrt_bc2];
                if parallel {
                    params
                        .par_chunks_mut(PAR_BLOCK)
                        .zip(grad.par_chunks(PAR_BLOCK))
                        .zip(self.m.par_chunks_mut(PAR_BLOCK))
                        .zip(self.v.par_chunks_mut(PAR_BLOCK))
                        .for_each(|(((p, g), m), v)| adam(p, g, m, v, h));
                } else {
                    adam(params, grad, &mut self.m, &mut self.v, h);
                }
            }
        }
    }
}

fn sgd(p: &mut [f32], g: &[f32], v: &mut [f32], lr: f32, mu: f32) {
    let split = p.len() / W * W;
    let (lr16, mu16) = (f32x16::splat(lr), f32x16::splat(mu));
    for ((pc, gc), vc) in p[..split]
        .chunks_exact_mut(W)
        .zip(g[..split].chunks_exact(W))
        .zip(v[..split].chunks_exact_mut(W))
    {
        let gv = f32x16::from(<[f32; W]>::try_from(gc).unwrap());
        let vv = f32x16::from(<[f32; W]>::try_from(&*vc).unwrap()).mul_add(mu16, gv);
        let pv = f32x16::from(<[f32; W]>::try_from(&*pc).unwrap()) - lr16 * vv;
        vc.copy_from_slice(&vv.to_array());
        pc.copy_from_slice(&pv.to_array());
    }
    for i in split..p.len() {
        v[i] = v[i].mul_add(mu, g[i]);
        p[i] -= lr * v[i];
    }
}

/// `h` = [β1, β2, ε, lr/(1−β1ᵗ), 1/√(1−β2ᵗ)].
fn adam(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], h: [f32; 5]) {
    let [b1, b2, eps, step, isb] = h;
    let split = p.len() / W * W;
    let s = f32x16::splat;
    let (b1v, c1v, b2v, c2v, epsv, stepv, isbv) = (
        s(b1),
        s(1.0 - b1),
        s(b2),
        s(1.0 - b2),
        s(eps),
        s(step),
        s(isb),
    );
    let load = |x: &[f32]| f32x16::from(<[f32; W]>::try_from(x).unwrap());
    for (((pc, gc), mc), vc) in p[..split]
        .chunks_exact_mut(W)
        .zip(g[..split].chunks_exact(W))
        .zip(m[..split].chunks_exact_mut(W))
        .zip(v[..split].chunks_exact_mut(W))
    {
        let gv = load(gc);
        let mv = b1v * load(mc) + c1v * gv;
        let vv = b2v * load(vc) + c2v * gv * gv;
        let pv = load(pc) - stepv * mv / (vv.sqrt() * isbv + epsv);
        mc.copy_from_slice(&mv.to_array());
        vc.copy_from_slice(&vv.to_array());
        pc.copy_from_slice(&pv.to_array());
    }
    for i in split..p.len() {
        let gi = g[i];
        m[i] = b1 * m[i] + (1.0 - b1) * gi;
        v[i] = b2 * v[i] + (1.0 - b2) * gi * gi;
        p[i] -= step * m[i] / (v[i].sqrt() * isb + eps);
    }
}
