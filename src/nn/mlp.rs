//! Multi-layer perceptron: 784 → hidden[0] → … → hidden[L−1] → 10, ReLU
//! after every hidden layer, logits out. `fc` (the paper's MNIST FC
//! network) is hidden = [200, 200]: D = (784·200 + 200) + (200·200 + 200) +
//! (200·10 + 10) = 199,210.

use super::LayerSpec;

/// Examples per chunk of a batch (fixed, independent of the thread count:
/// it fixes the order of the gradient sum). 64 keeps each per-chunk GEMM
/// tall enough to fill the micro-kernel while a batch of 128 still gives
/// one chunk per core.
pub const CHUNK: usize = 64;

/// The layer sequence; dense layers are named `fc1`, `fc2`, …
pub fn layers(input: usize, hidden: &[usize], classes: usize) -> Vec<LayerSpec> {
    let mut v = Vec::new();
    let mut prev = input;
    for (i, &h) in hidden.iter().enumerate() {
        v.push(LayerSpec::Dense {
            name: format!("fc{}", i + 1),
            inp: prev,
            out: h,
        });
        v.push(LayerSpec::Relu { len: h });
        prev = h;
    }
    v.push(LayerSpec::Dense {
        name: format!("fc{}", hidden.len() + 1),
        inp: prev,
        out: classes,
    });
    v
}
