//! Networks with hand-written forward and backward passes on one flat θ_D.
//!
//! In the spirit of llm.c: no autograd. Each layer is a `*_forward` /
//! `*_backward` pair side by side in its own file ([`dense`], [`conv`],
//! [`pool`], [`activation`], [`loss`]); a model ([`mlp`], [`lenet`]) is a
//! list of [`LayerSpec`]s, and [`Network`] runs any such list. Adding an
//! architecture is one new file returning its layer list (plus an [`Arch`]
//! variant naming it).
//!
//! **Parameters** live in one flat `&[f32]` θ_D and gradients in one flat
//! `&mut [f32]` of the same layout: every parameterised layer owns its weight
//! tensor followed by its bias, in layer order, with no gaps
//! ([`Network::layout`]). Only weights carry L2 decay.
//!
//! **Loss** over a batch of B examples with labels y_e:
//!
//! ```text
//! L(θ) = (1/B) Σ_e CE(f(x_e; θ), y_e) + (l2/2) Σ_{θ_i in a weight} θ_i²
//! ∇L   = (1/B) Σ_e ∇CE_e + l2 · θ  (weights only)
//! ```
//!
//! **Determinism.** A batch is split into chunks of a fixed size per
//! architecture ([`Network::chunk_size`]), which never depends on the number
//! of threads. Chunks run in parallel under rayon, each on its own workspace
//! (activations, im2col buffers, a full-length gradient) allocated once in
//! [`Network::new`]; inside a chunk every product is a single-threaded SGEMM.
//! Chunk gradients are then summed element by element in chunk order, so
//! the gradient is bitwise identical whatever the thread count. No step
//! allocates.
//!
//! **MLPs run batch-wide** instead: one workspace of `max_batch` rows, each
//! dense layer a single product over the whole batch with the row-parallel
//! SGEMM (rayon over row blocks of the output — for the weight gradient
//! dW = dYᵀ·X these are blocks of output units — with every element summed
//! over the batch in one fixed k order), the weight gradients written
//! straight into `grad`, so there is no per-chunk gradient and no
//! reduction. The chunks then only split the softmax cross-entropy, whose
//! per-chunk sums are added in chunk order. Bitwise thread-independent too.

pub mod activation;
pub mod conv;
pub mod dense;
pub mod lenet;
pub mod loss;
pub mod mlp;
pub mod pool;

use rayon::prelude::*;

use crate::rng;
use conv::ConvShape;

/// Side of the (square, single-channel) input image: 28 for MNIST.
pub const INPUT_SIDE: usize = 28;
/// Input values per example: 28·28 = 784.
pub const INPUT_LEN: usize = INPUT_SIDE * INPUT_SIDE;
/// Number of classes: 10.
pub const NUM_CLASSES: usize = 10;

/// Errors from building a network.
#[derive(Debug, thiserror::Error)]
pub enum NnError {
    /// An architecture string that [`Arch::parse`] does not understand.
    #[error(
        "unknown architecture {spec:?}: {reason}; use \"fc\", \"lenet\", \"mlp:WIDTHxDEPTH\" (e.g. mlp:200x2) or \"mlp:W1,W2,...\" (e.g. mlp:50,50)"
    )]
    BadArch {
        /// The string given.
        spec: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A hidden layer of width 0.
    #[error("hidden layer {index} of the MLP has width 0; every hidden width must be at least 1")]
    ZeroWidth {
        /// Which hidden layer (0-based).
        index: usize,
    },
    /// `max_batch` of 0.
    #[error("max_batch is 0; give the largest batch size the network will see (at least 1)")]
    ZeroBatch,
}

/// One named tensor in the flat parameter vector θ_D.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamTensor {
    /// `layer.weight` or `layer.bias`.
    pub name: String,
    /// Shape, row-major: dense `[out, in]`, conv `[K, C, k, k]`, bias `[out]`.
    pub shape: Vec<usize>,
    /// First index in θ_D.
    pub offset: usize,
    /// Number of values (product of `shape`).
    pub len: usize,
    /// Whether L2 decay applies (weights yes, biases no).
    pub decay: bool,
}

impl ParamTensor {
    /// fan_in of a weight: the product of its shape after the first axis
    /// (in for dense, C·k² for conv). O(rank).
    pub fn fan_in(&self) -> usize {
        self.shape[1..].iter().product()
    }
}

/// A network architecture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arch {
    /// 784 → hidden… → 10 with ReLU after each hidden layer.
    Mlp {
        /// Hidden widths, input side first; may be empty (a linear model).
        hidden: Vec<usize>,
    },
    /// LeNet-5 (see [`lenet`]).
    LeNet,
}

impl Arch {
    /// The paper's fc network: 784-200-200-10, D = 199,210.
    pub fn fc() -> Arch {
        Arch::Mlp {
            hidden: vec![200, 200],
        }
    }

    /// The paper's LeNet, D = 44,426.
    pub fn lenet() -> Arch {
        Arch::LeNet
    }

    /// Parse `fc`, `lenet`, `mlp:WIDTHxDEPTH` (DEPTH hidden layers of WIDTH,
    /// e.g. `mlp:200x2` = fc; `mlp:100x0` is a linear model) or
    /// `mlp:W1,W2,…` (e.g. `mlp:50,50`). Case-insensitive. O(len).
    pub fn parse(s: &str) -> Result<Arch, NnError> {
        let t = s.trim().to_ascii_lowercase();
        let bad = |reason: &str| NnError::BadArch {
            spec: s.to_string(),
            reason: reason.to_string(),
        };
        let num = |w: &str| -> Result<usize, NnError> {
            w.trim()
                .parse::<usize>()
                .map_err(|_| bad(&format!("{w:?} is not a whole number")))
        };
        match t.as_str() {
            "fc" => return Ok(Arch::fc()),
            "lenet" => return Ok(Arch::lenet()),
            _ => {}
        }
        let Some(rest) = t.strip_prefix("mlp:") else {
            return Err(bad("not a known model name"));
        };
        let hidden = if let Some((w, d)) = rest.split_once('x') {
            vec![num(w)?; num(d)?]
        } else {
            rest.split(',').map(num).collect::<Result<Vec<_>, _>>()?
        };
        if let Some(index) = hidden.iter().position(|&w| w == 0) {
            return Err(NnError::ZeroWidth { index });
        }
        Ok(Arch::Mlp { hidden })
    }

    /// A name that [`Arch::parse`] maps back to `self`: `fc`, `lenet`,
    /// `mlp:WxL` for equal widths, otherwise `mlp:W1,W2,…`. O(depth).
    pub fn name(&self) -> String {
        match self {
            Arch::LeNet => "lenet".into(),
            Arch::Mlp { hidden } if *hidden == [200, 200] => "fc".into(),
            Arch::Mlp { hidden } if hidden.len() >= 2 && hidden.iter().all(|&w| w == hidden[0]) => {
                format!("mlp:{}x{}", hidden[0], hidden.len())
            }
            Arch::Mlp { hidden } if hidden.is_empty() => "mlp:1x0".into(),
            Arch::Mlp { hidden } => {
                let w: Vec<String> = hidden.iter().map(|w| w.to_string()).collect();
                format!("mlp:{}", w.join(","))
            }
        }
    }

    /// The layer list and chunk size of this architecture.
    fn build(&self) -> Result<(Vec<LayerSpec>, usize), NnError> {
        match self {
            Arch::Mlp { hidden } => {
                if let Some(index) = hidden.iter().position(|&w| w == 0) {
                    return Err(NnError::ZeroWidth { index });
                }
                Ok((mlp::layers(INPUT_LEN, hidden, NUM_CLASSES), mlp::CHUNK))
            }
            Arch::LeNet => Ok((lenet::layers(INPUT_SIDE, NUM_CLASSES), lenet::CHUNK)),
        }
    }
}

/// One step of a model: what a model file returns, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LayerSpec {
    /// Dense layer ([`dense`]) with weight `[out, inp]` and bias `[out]`.
    Dense {
        /// Tensor name prefix.
        name: String,
        /// Input features.
        inp: usize,
        /// Output features.
        out: usize,
    },
    /// Valid convolution ([`conv`]) on CNHW activations, weight `[K, C, k, k]`, bias `[K]`.
    Conv {
        /// Tensor name prefix.
        name: String,
        /// Its shape.
        shape: ConvShape,
    },
    /// ReLU on `len` values per example ([`activation`]).
    Relu {
        /// Values per example.
        len: usize,
    },
    /// 2×2 max-pool on `c` planes of h×w per example ([`pool`]).
    MaxPool {
        /// Channels.
        c: usize,
        /// Plane height (even).
        h: usize,
        /// Plane width (even).
        w: usize,
    },
    /// CNHW → n×(c·hw) ([`conv::flatten_forward`]).
    Flatten {
        /// Channels.
        c: usize,
        /// Values per plane.
        hw: usize,
    },
}

impl LayerSpec {
    fn in_len(&self) -> usize {
        match self {
            LayerSpec::Dense { inp, .. } => *inp,
            LayerSpec::Conv { shape, .. } => shape.in_len(),
            LayerSpec::Relu { len } => *len,
            LayerSpec::MaxPool { c, h, w } => c * h * w,
            LayerSpec::Flatten { c, hw } => c * hw,
        }
    }
    fn out_len(&self) -> usize {
        match self {
            LayerSpec::Dense { out, .. } => *out,
            LayerSpec::Conv { shape, .. } => shape.out_len(),
            LayerSpec::Relu { len } => *len,
            LayerSpec::MaxPool { c, h, w } => c * (h / 2) * (w / 2),
            LayerSpec::Flatten { c, hw } => c * hw,
        }
    }
}

/// A layer with the positions of its weight and bias in θ_D.
#[derive(Clone, Debug)]
struct Layer {
    spec: LayerSpec,
    /// Offset of the weight (then the bias right after it); 0 for unparameterised layers.
    w_off: usize,
    w_len: usize,
    b_len: usize,
}

/// Per-chunk buffers, allocated once.
struct Workspace {
    /// `acts[i]`: output of layer i, chunk × out_len(i).
    acts: Vec<Vec<f32>>,
    /// `dacts[i]`: gradient w.r.t. the output of layer i.
    dacts: Vec<Vec<f32>>,
    /// im2col buffer per layer (empty unless conv).
    cols: Vec<Vec<f32>>,
    /// Max-pool winners per layer (empty unless max-pool).
    args: Vec<Vec<u8>>,
    /// This chunk's share of the batch gradient, length D.
    grad: Vec<f32>,
    /// Σ CE over the chunk.
    loss: f64,
    /// Correct predictions in the chunk.
    correct: usize,
}

/// Values of θ_D handled per task in the parallel gradient reduction.
const REDUCE_BLOCK: usize = 8192;

/// A network: its layers, its θ_D layout and its per-chunk workspaces.
pub struct Network {
    arch: Arch,
    layers: Vec<Layer>,
    layout: Vec<ParamTensor>,
    num_params: usize,
    max_batch: usize,
    chunk: usize,
    /// Batch-wide mode (MLPs): one workspace of max_batch rows, every
    /// layer over the whole batch with the row-parallel SGEMM, weight
    /// gradients written straight into `grad` (no chunk reduction).
    wide: bool,
    ws: Vec<Workspace>,
    partials: Vec<f64>,
    /// Per-chunk (Σ CE, correct) of the batch-wide loss.
    chunk_stats: Vec<(f64, usize)>,
}

impl Network {
    /// Build `arch` with workspaces for batches of up to `max_batch`
    /// examples. Memory O(⌈max_batch/chunk⌉·(D + chunk·activations)).
    pub fn new(arch: &Arch, max_batch: usize) -> Result<Network, NnError> {
        if max_batch == 0 {
            return Err(NnError::ZeroBatch);
        }
        let (specs, chunk) = arch.build()?;
        let mut layers = Vec::with_capacity(specs.len());
        let mut layout = Vec::new();
        let mut off = 0;
        for spec in specs {
            let (name, wshape, bias) = match &spec {
                LayerSpec::Dense { name, inp, out } => (name.clone(), vec![*out, *inp], *out),
                LayerSpec::Conv { name, shape: s } => {
                    (name.clone(), vec![s.out_c, s.in_c, s.k, s.k], s.out_c)
                }
                _ => {
                    layers.push(Layer {
                        spec,
                        w_off: 0,
                        w_len: 0,
                        b_len: 0,
                    });
                    continue;
                }
            };
            let w_len: usize = wshape.iter().product();
            layout.push(ParamTensor {
                name: format!("{name}.weight"),
                shape: wshape,
                offset: off,
                len: w_len,
                decay: true,
            });
            layout.push(ParamTensor {
                name: format!("{name}.bias"),
                shape: vec![bias],
                offset: off + w_len,
                len: bias,
                decay: false,
            });
            layers.push(Layer {
                spec,
                w_off: off,
                w_len,
                b_len: bias,
            });
            off += w_len + bias;
        }
        let num_params = off;
        let chunk = chunk.min(max_batch);
        let nchunks = max_batch.div_ceil(chunk);
        let wide = matches!(arch, Arch::Mlp { .. });
        // Rows per workspace and number of workspaces.
        let (rows, nws) = if wide {
            (max_batch, 1)
        } else {
            (chunk, nchunks)
        };
        let ws = (0..nws)
            .map(|_| Workspace {
                acts: layers
                    .iter()
                    .map(|l| vec![0.0; rows * l.spec.out_len()])
                    .collect(),
                dacts: layers
                    .iter()
                    .map(|l| vec![0.0; rows * l.spec.out_len()])
                    .collect(),
                cols: layers
                    .iter()
                    .map(|l| match &l.spec {
                        LayerSpec::Conv { shape, .. } => vec![0.0; shape.col_len(rows)],
                        _ => Vec::new(),
                    })
                    .collect(),
                args: layers
                    .iter()
                    .map(|l| match &l.spec {
                        LayerSpec::MaxPool { .. } => vec![0u8; rows * l.spec.out_len()],
                        _ => Vec::new(),
                    })
                    .collect(),
                grad: if wide {
                    Vec::new()
                } else {
                    vec![0.0; num_params]
                },
                loss: 0.0,
                correct: 0,
            })
            .collect();
        Ok(Network {
            arch: arch.clone(),
            layers,
            layout,
            num_params,
            max_batch,
            chunk,
            wide,
            ws,
            partials: vec![0.0; num_params.div_ceil(REDUCE_BLOCK)],
            chunk_stats: vec![(0.0, 0); nchunks],
        })
    }

    /// The architecture this network was built from.
    pub fn arch(&self) -> &Arch {
        &self.arch
    }

    /// D, the length of θ_D.
    pub fn num_params(&self) -> usize {
        self.num_params
    }

    /// The tensors of θ_D in order: each layer's weight then bias, covering
    /// 0..D without gaps or overlaps.
    pub fn layout(&self) -> &[ParamTensor] {
        &self.layout
    }

    /// Input values per example (784).
    pub fn input_len(&self) -> usize {
        self.layers[0].spec.in_len()
    }

    /// Number of classes (10).
    pub fn num_classes(&self) -> usize {
        self.layers.last().map_or(0, |l| l.spec.out_len())
    }

    /// The largest batch `loss_grad` accepts.
    pub fn max_batch(&self) -> usize {
        self.max_batch
    }

    /// Examples per chunk: the fixed unit of parallel work and of the
    /// gradient sum's order.
    pub fn chunk_size(&self) -> usize {
        self.chunk
    }

    /// θ_0: He-normal weights N(0, 2/fan_in) from
    /// `rng::stream(seed, Stream::Init, tensor index)`, zero biases. O(D).
    ///
    /// # Panics
    /// If `theta.len() != D`.
    pub fn init(&self, seed: u64, theta: &mut [f32]) {
        assert_eq!(
            theta.len(),
            self.num_params,
            "init: theta has the wrong length"
        );
        for (i, t) in self.layout.iter().enumerate() {
            let dst = &mut theta[t.offset..t.offset + t.len];
            if t.decay {
                let std = (2.0 / t.fan_in() as f64).sqrt();
                let mut r = rng::stream(seed, rng::Stream::Init, i as u64);
                rng::fill_normal(&mut r, std, dst);
            } else {
                dst.fill(0.0);
            }
        }
    }

    /// Mean cross-entropy over the batch plus (l2/2)·Σ_weights θ², and its
    /// gradient written to `grad` (overwritten); see the module docs.
    /// `x` is B×784 row-major, B = `labels.len()` ≤ max_batch.
    /// O(B·FLOP per example + D·⌈B/chunk⌉), O(B·FLOP + D) for an MLP.
    ///
    /// # Panics
    /// If B = 0 or B > max_batch, `x.len() != B·784`, `theta` or `grad` is
    /// not of length D, or a label is ≥ 10.
    pub fn loss_grad(
        &mut self,
        theta: &[f32],
        x: &[f32],
        labels: &[u8],
        l2: f32,
        grad: &mut [f32],
    ) -> f32 {
        let b = labels.len();
        assert!(
            b > 0 && b <= self.max_batch,
            "loss_grad: batch {b} not in 1..={}",
            self.max_batch
        );
        assert_eq!(
            x.len(),
            b * self.input_len(),
            "loss_grad: x has the wrong length"
        );
        assert_eq!(
            theta.len(),
            self.num_params,
            "loss_grad: theta has the wrong length"
        );
        assert_eq!(
            grad.len(),
            self.num_params,
            "loss_grad: grad has the wrong length"
        );
        let nc = b.div_ceil(self.chunk);
        let chunk = self.chunk;
        let in_len = self.input_len();
        let layers = &self.layers;
        let scale = 1.0 / b as f32;
        if self.wide {
            let ws = &mut self.ws[0];
            forward(layers, theta, x, b, ws);
            let last = layers.len() - 1;
            let classes = layers[last].spec.out_len();
            chunked_loss(
                chunk,
                classes,
                &ws.acts[last][..b * classes],
                labels,
                scale,
                Some(&mut ws.dacts[last][..b * classes]),
                &mut self.chunk_stats[..nc],
            );
            backward(layers, theta, x, b, ws, grad);
            ws.loss = self.chunk_stats[..nc].iter().map(|s| s.0).sum();
            return self.finish_grad(theta, l2, grad, 0, b);
        }
        self.ws[..nc]
            .par_iter_mut()
            .enumerate()
            .for_each(|(c, ws)| {
                let start = c * chunk;
                let n = chunk.min(b - start);
                let xc = &x[start * in_len..(start + n) * in_len];
                forward(layers, theta, xc, n, ws);
                let last = layers.len() - 1;
                let classes = layers[last].spec.out_len();
                let (loss, correct) = loss::softmax_ce(
                    n,
                    classes,
                    &ws.acts[last],
                    &labels[start..start + n],
                    scale,
                    Some(&mut ws.dacts[last]),
                );
                ws.loss = loss;
                ws.correct = correct;
                let mut g = std::mem::take(&mut ws.grad);
                backward(layers, theta, xc, n, ws, &mut g);
                ws.grad = g;
            });
        self.finish_grad(theta, l2, grad, nc, b)
    }

    /// grad ← Σ_{c<nc} ws[c].grad (c ascending; with nc = 0 grad already
    /// holds the data gradient) + l2·θ on weights; returns the mean CE over
    /// the `b` examples plus the L2 term. O(D·max(nc, 1)).
    fn finish_grad(
        &mut self,
        theta: &[f32],
        l2: f32,
        grad: &mut [f32],
        nc: usize,
        b: usize,
    ) -> f32 {
        let ws = &self.ws[..nc];
        let layout = &self.layout;
        grad.par_chunks_mut(REDUCE_BLOCK)
            .zip(self.partials.par_iter_mut())
            .enumerate()
            .for_each(|(bi, (g, part))| {
                let s = bi * REDUCE_BLOCK;
                let e = s + g.len();
                if let Some((first, rest)) = ws.split_first() {
                    g.copy_from_slice(&first.grad[s..e]);
                    for w in rest {
                        for (o, &v) in g.iter_mut().zip(&w.grad[s..e]) {
                            *o += v;
                        }
                    }
                }
                let mut acc = 0.0f64;
                if l2 != 0.0 {
                    for t in layout.iter().filter(|t| t.decay) {
                        let (lo, hi) = (t.offset.max(s), (t.offset + t.len).min(e));
                        if lo >= hi {
                            continue;
                        }
                        acc += decay_add(l2, &theta[lo..hi], &mut g[lo - s..hi - s]);
                    }
                }
                *part = acc;
            });
        let ce: f64 = if nc == 0 {
            self.ws[0].loss
        } else {
            ws.iter().map(|w| w.loss).sum()
        };
        let sq: f64 = self.partials.iter().sum();
        (ce / b as f64 + 0.5 * l2 as f64 * sq) as f32
    }

    /// Forward only: (Σ cross-entropy over the examples, number classified
    /// correctly by their first maximal logit). Any number of examples: they
    /// are processed in rounds of at most max_batch. O(B·FLOP per example).
    ///
    /// # Panics
    /// If `x.len() != labels.len()·784`, `theta` is not of length D or a label is ≥ 10.
    pub fn evaluate(&mut self, theta: &[f32], x: &[f32], labels: &[u8]) -> (f64, usize) {
        let in_len = self.input_len();
        assert_eq!(
            x.len(),
            labels.len() * in_len,
            "evaluate: x has the wrong length"
        );
        assert_eq!(
            theta.len(),
            self.num_params,
            "evaluate: theta has the wrong length"
        );
        let chunk = self.chunk;
        let layers = &self.layers;
        let mut total = 0.0f64;
        let mut correct = 0usize;
        let round = if self.wide {
            self.max_batch
        } else {
            self.ws.len() * chunk
        };
        let mut start = 0;
        while start < labels.len() {
            let b = round.min(labels.len() - start);
            let nc = b.div_ceil(chunk);
            if self.wide {
                let ws = &mut self.ws[0];
                forward(
                    layers,
                    theta,
                    &x[start * in_len..(start + b) * in_len],
                    b,
                    ws,
                );
                let last = layers.len() - 1;
                let classes = layers[last].spec.out_len();
                chunked_loss(
                    chunk,
                    classes,
                    &ws.acts[last][..b * classes],
                    &labels[start..start + b],
                    1.0,
                    None,
                    &mut self.chunk_stats[..nc],
                );
                for s in &self.chunk_stats[..nc] {
                    total += s.0;
                    correct += s.1;
                }
                start += b;
                continue;
            }
            self.ws[..nc]
                .par_iter_mut()
                .enumerate()
                .for_each(|(c, ws)| {
                    let s = start + c * chunk;
                    let n = chunk.min(start + b - s);
                    forward(layers, theta, &x[s * in_len..(s + n) * in_len], n, ws);
                    let last = layers.len() - 1;
                    let (l, k) = loss::softmax_ce(
                        n,
                        layers[last].spec.out_len(),
                        &ws.acts[last],
                        &labels[s..s + n],
                        1.0,
                        None,
                    );
                    ws.loss = l;
                    ws.correct = k;
                });
            for w in &self.ws[..nc] {
                total += w.loss;
                correct += w.correct;
            }
            start += b;
        }
        (total, correct)
    }
}

/// Forward pass of `n` examples through all layers into `ws.acts`.
#[inline(never)]
fn forward(layers: &[Layer], theta: &[f32], x: &[f32], n: usize, ws: &mut Workspace) {
    for (i, l) in layers.iter().enumerate() {
        let (before, after) = ws.acts.split_at_mut(i);
        let input: &[f32] = if i == 0 { x } else { &before[i - 1] };
        let input = &input[..n * l.spec.in_len()];
        let output = &mut after[0][..n * l.spec.out_len()];
        let w = &theta[l.w_off..l.w_off + l.w_len];
        let b = &theta[l.w_off + l.w_len..l.w_off + l.w_len + l.b_len];
        match &l.spec {
            LayerSpec::Dense { inp, out, .. } => {
                dense::dense_forward(n, *inp, *out, input, w, b, output)
            }
            LayerSpec::Conv { shape, .. } => {
                conv::conv_forward(shape, n, input, w, b, &mut ws.cols[i], output)
            }
            LayerSpec::Relu { .. } => activation::relu_forward(input, output),
            LayerSpec::MaxPool { c, h, w } => {
                pool::maxpool_forward(c * n, *h, *w, input, output, &mut ws.args[i])
            }
            LayerSpec::Flatten { c, hw } => conv::flatten_forward(n, *c, *hw, input, output),
        }
    }
}

/// Backward pass from `ws.dacts[last]` (set by the loss) down to the first
/// layer, writing parameter gradients into `grad` (length D, overwritten).
#[inline(never)]
fn backward(
    layers: &[Layer],
    theta: &[f32],
    x: &[f32],
    n: usize,
    ws: &mut Workspace,
    grad: &mut [f32],
) {
    for (i, l) in layers.iter().enumerate().rev() {
        let input: &[f32] = if i == 0 { x } else { &ws.acts[i - 1] };
        let input = &input[..n * l.spec.in_len()];
        let output = &ws.acts[i][..n * l.spec.out_len()];
        let (dbefore, dafter) = ws.dacts.split_at_mut(i);
        let dy = &dafter[0][..n * l.spec.out_len()];
        let dx = if i == 0 {
            None
        } else {
            Some(&mut dbefore[i - 1][..n * l.spec.in_len()])
        };
        let w = &theta[l.w_off..l.w_off + l.w_len];
        let (dw, db) = grad[l.w_off..l.w_off + l.w_len + l.b_len].split_at_mut(l.w_len);
        match &l.spec {
            LayerSpec::Dense { inp, out, .. } => {
                dense::dense_backward(n, *inp, *out, input, w, dy, dw, db, dx)
            }
            LayerSpec::Conv { shape, .. } => {
                conv::conv_backward(shape, n, &mut ws.cols[i], w, dy, dw, db, dx)
            }
            LayerSpec::Relu { .. } => {
                if let Some(dx) = dx {
                    activation::relu_backward(output, dy, dx);
                }
            }
            LayerSpec::MaxPool { c, h, w } => {
                if let Some(dx) = dx {
                    pool::maxpool_backward(c * n, *h, *w, dy, &ws.args[i], dx);
                }
            }
            LayerSpec::Flatten { c, hw } => {
                if let Some(dx) = dx {
                    conv::flatten_backward(n, *c, *hw, dy, dx);
                }
            }
        }
    }
}

/// Softmax cross-entropy of `b = labels.len()` rows in chunks of `chunk`
/// rows under rayon: `stats[c]` ← (Σ CE, correct) of chunk c, and
/// `dlogits` (if given) ← `scale`·∇CE row by row. Every value depends only
/// on its own row, so the result does not depend on the thread count.
/// O(b·classes).
fn chunked_loss(
    chunk: usize,
    classes: usize,
    logits: &[f32],
    labels: &[u8],
    scale: f32,
    dlogits: Option<&mut [f32]>,
    stats: &mut [(f64, usize)],
) {
    let rows = chunk * classes;
    match dlogits {
        Some(d) => logits
            .par_chunks(rows)
            .zip(d.par_chunks_mut(rows))
            .zip(labels.par_chunks(chunk))
            .zip(stats.par_iter_mut())
            .for_each(|(((z, d), y), st)| {
                *st = loss::softmax_ce(y.len(), classes, z, y, scale, Some(d));
            }),
        None => logits
            .par_chunks(rows)
            .zip(labels.par_chunks(chunk))
            .zip(stats.par_iter_mut())
            .for_each(|((z, y), st)| {
                *st = loss::softmax_ce(y.len(), classes, z, y, scale, None);
            }),
    }
}

/// g ← g + l2·θ element-wise; returns Σ θ² accumulated in f64 over eight
/// interleaved lanes (lane j takes the elements ≡ j mod 8, the lanes are
/// then added in order), a fixed order so the result depends only on the
/// data. Vectorises. O(len).
#[inline]
fn decay_add(l2: f32, theta: &[f32], g: &mut [f32]) -> f64 {
    let mut lanes = [0.0f64; 8];
    let (th8, th_rest) = theta.as_chunks::<8>();
    let (g8, g_rest) = g.as_chunks_mut::<8>();
    for (tv, gv) in th8.iter().zip(g8) {
        for j in 0..8 {
            gv[j] += l2 * tv[j];
            lanes[j] += (tv[j] as f64) * (tv[j] as f64);
        }
    }
    for (j, (o, &th)) in g_rest.iter_mut().zip(th_rest).enumerate() {
        *o += l2 * th;
        lanes[j] += (th as f64) * (th as f64);
    }
    lanes.iter().sum()
}
