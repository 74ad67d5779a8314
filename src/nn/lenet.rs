//! LeNet-5 as in the paper's code, on 28×28×1 inputs with valid convolutions:
//!
//! ```text
//! conv1 6@5×5 → ReLU → maxpool 2   28×28 → 24×24 → 12×12
//! conv2 16@5×5 → ReLU → maxpool 2  12×12 → 8×8 → 4×4
//! flatten 16·4·4 = 256 → fc1 256-120 → ReLU → fc2 120-84 → ReLU → fc3 84-10
//! D = (6·25 + 6) + (16·150 + 16) + (256·120 + 120) + (120·84 + 84) + (84·10 + 10) = 44,426
//! ```

use super::LayerSpec;
use super::conv::ConvShape;

/// Examples per chunk of a batch (fixed, independent of the thread count).
/// Small enough that a chunk's im2col buffers (≈ 96 KB per example) stay
/// in the 2 MB L2 cache.
pub const CHUNK: usize = 16;

/// The layer sequence for `side`×`side` single-channel inputs (side = 28).
pub fn layers(side: usize, classes: usize) -> Vec<LayerSpec> {
    let c1 = ConvShape {
        in_c: 1,
        in_h: side,
        in_w: side,
        out_c: 6,
        k: 5,
    };
    let p1 = c1.out_h();
    let c2 = ConvShape {
        in_c: 6,
        in_h: p1 / 2,
        in_w: p1 / 2,
        out_c: 16,
        k: 5,
    };
    let p2 = c2.out_h();
    let flat = 16 * (p2 / 2) * (p2 / 2);
    vec![
        LayerSpec::Conv {
            name: "conv1".into(),
            shape: c1,
        },
        LayerSpec::Relu { len: c1.out_len() },
        LayerSpec::MaxPool { c: 6, h: p1, w: p1 },
        LayerSpec::Conv {
            name: "conv2".into(),
            shape: c2,
        },
        LayerSpec::Relu { len: c2.out_len() },
        LayerSpec::MaxPool {
            c: 16,
            h: p2,
            w: p2,
        },
        LayerSpec::Flatten {
            c: 16,
            hw: (p2 / 2) * (p2 / 2),
        },
        LayerSpec::Dense {
            name: "fc1".into(),
            inp: flat,
            out: 120,
        },
        LayerSpec::Relu { len: 120 },
        LayerSpec::Dense {
            name: "fc2".into(),
            inp: 120,
            out: 84,
        },
        LayerSpec::Relu { len: 84 },
        LayerSpec::Dense {
            name: "fc3".into(),
            inp: 84,
            out: classes,
        },
    ]
}
