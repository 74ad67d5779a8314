//! `idim`: the command-line trainer, a thin layer over the `intrinsic_dim` library.
//!
//! With no subcommand, `idim` runs the default sweep (`idim sweep --resume`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use intrinsic_dim::checkpoint::Checkpoint;
use intrinsic_dim::data::{self, DataConfig};
use intrinsic_dim::nn::Arch;
use intrinsic_dim::simd::SimdPath;
use intrinsic_dim::train::optim::OptimizerKind;
use intrinsic_dim::train::progress::Console;
use intrinsic_dim::train::results::{self, Baseline};
use intrinsic_dim::train::{
    LrSchedule, Metric, ProjSpec, TrainConfig, analysis, check_output_path, restore, subspace,
    sweep, toy,
};

/// Measure the intrinsic dimension of learning problems by training in random subspaces.
///
/// With no subcommand, runs the default sweep (fc, Fastfood, on the bundled
/// MNIST; results under runs/default) and prints d_int90.
#[derive(Parser)]
#[command(name = "idim", version, about)]
struct Cli {
    /// Worker threads of the thread pool every command runs on (default: all cores).
    #[arg(long, global = true, value_name = "N")]
    threads: Option<usize>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Print the crate version, the SIMD path of this build and the thread count.
    Info,
    /// Train one network, in a random subspace (--proj dense|sparse|fastfood --dim d) or in
    /// full space (--proj none), and report loss, accuracy and speed per epoch.
    Train(TrainCmd),
    /// Sweep d: train the full-space baseline and each d of --dims with --seeds seeds; report d_int90.
    Sweep(SweepCmd),
    /// Merge results files (e.g. the shards of a sweep) into one table, summary.json and accuracy.svg.
    Report(ReportCmd),
    /// Rebuild a checkpoint's network from its seeds and check its test accuracy.
    Eval(EvalCmd),
    /// Write the full θ_D of a checkpoint as raw little-endian f32, with a JSON layout sidecar.
    Export(ExportCmd),
    /// The toy problem of intrinsic dimension 10: θ ∈ R^1000, 10 group sums to match.
    Toy(ToyCmd),
    /// Time the three projections over a grid of (D, d), fit slopes, write an SVG plot.
    BenchProjections(intrinsic_dim::projection::scaling::BenchArgs),
}

/// Dataset flags shared by train, sweep and eval.
#[derive(Args, Clone)]
struct DataArgs {
    /// Directory with the four MNIST IDX files (default: the bundled datasets/mnist).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Directory for decompressed copies of the dataset files.
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Shuffle the pixels of every image with the fixed permutation of this seed.
    #[arg(long, value_name = "SEED")]
    shuffle_pixels: Option<u64>,
    /// Replace this fraction (0..=1) of the training labels by random labels.
    #[arg(long, allow_negative_numbers = true, value_name = "FRACTION")]
    shuffle_labels: Option<f32>,
    /// Train on the first N training examples only.
    #[arg(long, value_name = "N")]
    subset: Option<usize>,
    /// Hold out N training examples as a validation split.
    #[arg(long, value_name = "N", default_value_t = 0)]
    validation: usize,
}

impl DataArgs {
    fn config(&self, label_seed: u64) -> Result<DataConfig> {
        let mut c = DataConfig::mnist_default();
        if let Some(d) = &self.data_dir {
            c.dir = d.clone();
        }
        c.cache_dir = self.cache_dir.clone();
        c.pixel_shuffle_seed = self.shuffle_pixels;
        if let Some(f) = self.shuffle_labels {
            if !(0.0..=1.0).contains(&f) {
                bail!("invalid --shuffle-labels: {f} must be a fraction between 0 and 1");
            }
            c.label_noise = f;
        }
        c.label_seed = label_seed;
        if self.subset == Some(0) {
            bail!("invalid --subset: 0 leaves no training examples; pass N ≥ 1");
        }
        c.train_subset = self.subset;
        c.validation = self.validation;
        Ok(c)
    }

    /// The dataset label written into results rows.
    fn label(&self) -> String {
        let mut s = match &self.data_dir {
            Some(d) => format!("mnist@{}", d.display()).replace(',', ";"),
            None => "mnist".to_string(),
        };
        if let Some(p) = self.shuffle_pixels {
            s.push_str(&format!("/pixels={p}"));
        }
        if let Some(f) = self.shuffle_labels {
            s.push_str(&format!("/labels={f}"));
        }
        if let Some(n) = self.subset {
            s.push_str(&format!("/subset={n}"));
        }
        if self.validation > 0 {
            s.push_str(&format!("/validation={}", self.validation));
        }
        s
    }

    fn load(&self, label_seed: u64) -> Result<data::Dataset> {
        let cfg = self.config(label_seed)?;
        data::load(&cfg)
            .with_context(|| format!("cannot load the dataset from {}", cfg.dir.display()))
    }
}

/// Model and optimisation flags shared by train and sweep (defaults differ per command).
#[derive(Args, Clone)]
struct ModelArgs {
    /// Network: fc (784-200-200-10), lenet, or mlp:W1,W2,… (hidden widths).
    #[arg(long, value_name = "MODEL")]
    model: Option<String>,
    /// Projection: fastfood, sparse, dense, or none (full-space training).
    #[arg(long, value_name = "KIND")]
    proj: Option<String>,
    /// Optimiser: adam or sgd.
    #[arg(long, value_name = "NAME")]
    optimizer: Option<String>,
    /// Learning rate.
    #[arg(long, allow_negative_numbers = true)]
    lr: Option<f32>,
    /// Adam β1.
    #[arg(long, allow_negative_numbers = true, default_value_t = 0.9)]
    beta1: f32,
    /// Adam β2.
    #[arg(long, allow_negative_numbers = true, default_value_t = 0.999)]
    beta2: f32,
    /// SGD momentum.
    #[arg(long, allow_negative_numbers = true, default_value_t = 0.9)]
    momentum: f32,
    /// L2 weight decay on weights: the loss gains (l2/2)·Σw².
    #[arg(long, allow_negative_numbers = true)]
    l2: Option<f32>,
    /// Mini-batch size.
    #[arg(long)]
    batch: Option<usize>,
    /// Epochs per run.
    #[arg(long)]
    epochs: Option<usize>,
    /// Seed of θ_0 (the initialisation).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Seed of the projection P.
    #[arg(long, default_value_t = 0)]
    proj_seed: u64,
    /// Seed of the per-epoch shuffling (and of label noise).
    #[arg(long, default_value_t = 0)]
    data_seed: u64,
    /// Accuracy that d_int90 uses: test (generalisation, the default) or train
    /// (memorisation: the training split is evaluated after every epoch).
    #[arg(long, default_value = "test")]
    metric: String,
    /// Learning-rate schedule: constant (the default) or cosine (decays to ≈ 0 over the run).
    #[arg(long, default_value = "constant")]
    schedule: String,
}

impl ModelArgs {
    fn apply(&self, mut c: TrainConfig) -> Result<TrainConfig> {
        if let Some(m) = &self.model {
            c.arch = Arch::parse(m).with_context(|| {
                format!("invalid --model {m:?}: use fc, lenet or mlp:W1,W2,… (e.g. mlp:200,200)")
            })?;
        }
        if let Some(p) = &self.proj {
            c.proj = ProjSpec::parse(p)?;
        }
        let opt = self.optimizer.as_deref().unwrap_or(match c.optimizer {
            OptimizerKind::Adam { .. } => "adam",
            OptimizerKind::Sgd { .. } => "sgd",
        });
        c.optimizer = match opt {
            "adam" => OptimizerKind::Adam {
                beta1: self.beta1,
                beta2: self.beta2,
                eps: 1e-8,
            },
            "sgd" => OptimizerKind::Sgd {
                momentum: self.momentum,
            },
            o => bail!("invalid --optimizer {o:?}: use adam or sgd"),
        };
        if let Some(v) = self.lr {
            c.lr = v;
        }
        if let Some(v) = self.l2 {
            c.l2 = v;
        }
        if let Some(v) = self.batch {
            c.batch = v;
        }
        if let Some(v) = self.epochs {
            c.epochs = v;
        }
        c.seed = self.seed;
        c.proj_seed = self.proj_seed;
        c.data_seed = self.data_seed;
        c.metric = Metric::parse(&self.metric)?;
        c.schedule = LrSchedule::parse(&self.schedule)?;
        Ok(c)
    }
}

#[derive(Args)]
struct TrainCmd {
    #[command(flatten)]
    model: ModelArgs,
    /// Subspace dimension d (1 ≤ d ≤ D).
    #[arg(long, default_value_t = 750)]
    dim: usize,
    /// Save a compressed checkpoint (seeds + θ_d, ≈ 4·d bytes) to FILE.
    #[arg(long, value_name = "FILE")]
    save: Option<PathBuf>,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Args)]
struct SweepCmd {
    #[command(flatten)]
    model: ModelArgs,
    /// Subspace dimensions: a list (100,200,300), a range start:stop:step (100:1500:100), or both.
    #[arg(long, default_value = sweep::DEFAULT_DIMS)]
    dims: String,
    /// Seeds per d.
    #[arg(long, default_value_t = 1)]
    seeds: usize,
    /// Full-space baseline runs (0: none).
    #[arg(long, default_value_t = 1)]
    baseline_seeds: usize,
    /// Learning rate of the full-space baseline.
    #[arg(long, allow_negative_numbers = true, default_value_t = sweep::DEFAULT_BASELINE_LR)]
    baseline_lr: f32,
    /// Headline baseline for d_int90: `measured` (default) or a fixed accuracy such as 1.0
    /// (the paper's "global" baseline). Both are always printed.
    #[arg(long, default_value = "measured")]
    baseline: String,
    /// Output directory for results.csv, results.jsonl, summary.json and accuracy.svg.
    #[arg(long, value_name = "DIR", default_value = "runs/sweep")]
    out: PathBuf,
    /// Continue an interrupted sweep: skip the configurations already in the results file.
    #[arg(long)]
    resume: bool,
    /// Discard existing results in --out and start over.
    #[arg(long)]
    fresh: bool,
    /// Run only shard i of n (every n-th configuration starting at i, 0 ≤ i < n).
    #[arg(long, value_name = "i/n")]
    shard: Option<String>,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Args)]
struct ReportCmd {
    /// Results CSV files (results.csv or results.shard-*.csv).
    #[arg(required = true, value_name = "FILES")]
    files: Vec<PathBuf>,
    /// Headline baseline: `measured` or a fixed accuracy such as 1.0.
    #[arg(long, default_value = "measured")]
    baseline: String,
    /// Directory for summary.json and accuracy.svg (default: that of the first file).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Accuracy to analyse: test, or train (runs swept with --metric train).
    #[arg(long, default_value = "test")]
    metric: String,
    /// Print Markdown tables (with bootstrap intervals over seeds) instead of the plain table.
    #[arg(long)]
    markdown: bool,
    /// Also plot d_int90 against D across the models (dint-vs-D.svg).
    #[arg(long)]
    plot_dint: bool,
    /// Also list d_int90 for runs cut to each of these epoch counts (from the
    /// per-epoch curves) and plot it (dint-vs-epochs.svg), e.g. 1,2,5,10.
    #[arg(long, value_name = "LIST")]
    by_epoch: Option<String>,
}

#[derive(Args)]
struct EvalCmd {
    /// A checkpoint written by `idim train --save`.
    file: PathBuf,
    /// Directory with the MNIST IDX files (default: the bundled datasets/mnist).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Directory for decompressed copies of the dataset files.
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
}

#[derive(Args)]
struct ExportCmd {
    /// A checkpoint written by `idim train --save`.
    file: PathBuf,
    /// Output file for θ_D (raw little-endian f32); the layout goes to OUT.json.
    #[arg(long, value_name = "OUT")]
    out: PathBuf,
}

#[derive(Args)]
struct ToyCmd {
    /// Sweep d = 1 … MAX.
    #[arg(long, default_value_t = 20)]
    max_dim: usize,
    /// Projection: dense (default), sparse or fastfood.
    #[arg(long, default_value = "dense")]
    proj: String,
    /// Seed of θ_0.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Seed of P.
    #[arg(long, default_value_t = 0)]
    proj_seed: u64,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("idim: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(n) = cli.threads {
        if n == 0 {
            bail!("invalid --threads: 0; pass at least 1");
        }
        builder = builder.num_threads(n);
    }
    // The command's own stack: the main thread's 8 MiB, not a worker's 2 MiB.
    let pool = builder
        .stack_size(8 << 20)
        .build()
        .context("cannot start the thread pool")?;
    // The command runs on a worker of the pool, so that each of the many
    // fork-joins of a training step starts from a worker (a deque push that
    // the other worker steals) instead of injecting a job from outside and
    // parking this thread until it ends (measured: fc's full-space epoch
    // 10–15 % faster, its Fastfood projections per step much cheaper).
    pool.install(|| dispatch(cli))
}

fn dispatch(cli: Cli) -> Result<()> {
    match cli.command {
        None => {
            eprintln!(
                "idim: no subcommand: running the default sweep (see `idim --help`; results under runs/default)"
            );
            let cmd = SweepCmd::try_parse_defaults()?;
            cmd_sweep(cmd)
        }
        Some(Command::Info) => {
            println!("intrinsic-dim {}", env!("CARGO_PKG_VERSION"));
            println!("simd path:      {}", SimdPath::of_build().name());
            println!("rayon threads:  {}", rayon::current_num_threads());
            println!(
                "l2 cache:       {} KiB per core",
                intrinsic_dim::simd::l2_cache_bytes() >> 10
            );
            Ok(())
        }
        Some(Command::Train(c)) => cmd_train(c),
        Some(Command::Sweep(c)) => cmd_sweep(c),
        Some(Command::Report(c)) => cmd_report(c),
        Some(Command::Eval(c)) => cmd_eval(c),
        Some(Command::Export(c)) => cmd_export(c),
        Some(Command::Toy(c)) => cmd_toy(c),
        Some(Command::BenchProjections(args)) => intrinsic_dim::projection::scaling::cli(&args),
    }
}

impl SweepCmd {
    /// The default sweep: `idim sweep --resume --out runs/default`.
    fn try_parse_defaults() -> Result<SweepCmd> {
        #[derive(Parser)]
        struct Wrap {
            #[command(flatten)]
            s: SweepCmd,
        }
        let w = Wrap::try_parse_from(["idim", "--resume", "--out", "runs/default"])
            .context("internal: default sweep flags")?;
        Ok(w.s)
    }
}

fn cmd_train(c: TrainCmd) -> Result<()> {
    let mut cfg = c.model.apply(TrainConfig::default_subspace())?;
    cfg.dim = c.dim;
    cfg.validate()?;
    if let Some(p) = &c.save {
        check_output_path(p)?;
    }
    let data = c.data.load(cfg.data_seed)?;
    let mut console = Console::new(true);
    let result = subspace::train(&cfg, &data, &mut console)?;
    console.finish();
    let last = result.last();
    let epochs = result.epochs.len() as f64;
    println!(
        "{}: D = {}, d = {}, {} training and {} test examples, batch {}, {}",
        intrinsic_dim::train::progress::run_label(&cfg, result.small_dim),
        result.big_dim,
        result.small_dim,
        result.train_examples,
        result.test_examples,
        cfg.batch,
        cfg.optimizer_name()
    );
    println!(
        "final test accuracy {:.2} % ({} / {}), test loss {:.4}, train loss {:.4}",
        100.0 * last.test_accuracy,
        last.test_correct,
        result.test_examples,
        last.test_loss,
        last.train_loss
    );
    println!(
        "time per epoch {:.3} s (training only), {:.0} examples/s; total {:.1} s",
        result.timing.train_total().as_secs_f64() / epochs,
        result.examples_per_sec(),
        result.seconds
    );
    println!("time split: {}", result.timing.summary());
    if let Some(p) = &c.save {
        let ck = restore::checkpoint_of(&result, c.data.shuffle_pixels);
        ck.save(p)?;
        println!(
            "saved checkpoint {} ({} bytes: seeds + θ_d; θ_D would be {} bytes)",
            p.display(),
            ck.encoded_len(),
            4 * result.big_dim
        );
    }
    Ok(())
}

fn cmd_sweep(c: SweepCmd) -> Result<()> {
    let mut template = c.model.apply(sweep::default_template())?;
    if template.proj == ProjSpec::None {
        bail!(
            "invalid --proj none for a sweep: the sweep trains the baseline itself; pass dense, sparse or fastfood"
        );
    }
    template.dim = 1;
    let sc = sweep::SweepConfig {
        template,
        baseline_lr: c.baseline_lr,
        baseline_seeds: c.baseline_seeds,
        dims: sweep::parse_dims(&c.dims)?,
        seeds: c.seeds,
        baseline: Baseline::parse(&c.baseline)?,
        out_dir: c.out.clone(),
        resume: c.resume,
        fresh: c.fresh,
        shard: match &c.shard {
            Some(s) => sweep::parse_shard(s)?,
            None => (0, 1),
        },
        dataset: c.data.label(),
    };
    sweep::validate(&sc)?;
    let data = c.data.load(sc.template.data_seed)?;
    let mut console = Console::new(false);
    let out = sweep::run_sweep(&sc, &data, &mut console)?;
    println!(
        "{} runs trained, {} already done; {} rows in {}",
        out.trained,
        out.skipped,
        out.rows.len(),
        out.files[0].display()
    );
    for g in &out.groups {
        println!();
        print!("{}", results::render_table(g));
    }
    println!();
    for f in &out.files {
        println!("wrote {}", f.display());
    }
    Ok(())
}

fn cmd_report(c: ReportCmd) -> Result<()> {
    let baseline = Baseline::parse(&c.baseline)?;
    let metric = Metric::parse(&c.metric)?;
    let by_epoch = match &c.by_epoch {
        Some(list) => Some(
            sweep::parse_dims(list)
                .context("invalid --by-epoch: give epoch counts like 1,2,5,10")?,
        ),
        None => None,
    };
    if by_epoch.is_some() && metric == Metric::Train {
        bail!(
            "--by-epoch reads the per-epoch test accuracies; it cannot be combined with --metric train"
        );
    }
    let rows = analysis::for_metric(&sweep::merge_files(&c.files)?, metric);
    if rows.is_empty() {
        bail!(
            "no runs with a {} accuracy in these files; for --metric train the sweep must have run with --metric train",
            c.metric
        );
    }
    let groups = results::summarise(&rows, baseline);
    let global = baseline.global();
    if c.markdown {
        print!("{}", analysis::markdown(&rows, global, &c.metric));
    } else {
        for g in &groups {
            print!("{}", results::render_table(g));
            println!();
        }
    }
    let dir = match &c.out {
        Some(d) => d.clone(),
        None => c.files[0]
            .parent()
            .map(|p| p.to_path_buf())
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from(".")),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut files = sweep::write_summary(&dir, "summary", &rows, &groups, metric)?;
    let mut write_chart = |name: &str, chart: intrinsic_dim::plot::Chart| -> Result<()> {
        let p = dir.join(name);
        intrinsic_dim::fsutil::write_atomic(&p, chart.to_svg().as_bytes())
            .with_context(|| format!("cannot write {}", p.display()))?;
        files.push(p);
        Ok(())
    };
    if c.plot_dint {
        write_chart("dint-vs-D.svg", analysis::dint_vs_big_dim_chart(&groups))?;
    }
    if let Some(epochs) = by_epoch {
        let (table, chart) = analysis::by_epoch(&rows, &epochs, global);
        println!("\n{table}");
        write_chart("dint-vs-epochs.svg", chart)?;
    }
    for f in files {
        eprintln!("wrote {}", f.display());
    }
    Ok(())
}

fn cmd_eval(c: EvalCmd) -> Result<()> {
    let ck = Checkpoint::load(&c.file)?;
    let data_args = DataArgs {
        data_dir: c.data_dir,
        cache_dir: c.cache_dir,
        shuffle_pixels: ck.pixel_shuffle_seed,
        shuffle_labels: None,
        subset: None,
        validation: 0,
    };
    let data = data_args.load(0)?;
    let out = restore::evaluate_checkpoint(&ck, &data)?;
    println!(
        "{} {} d = {} (D = {}), θ_0 seed {}, P seed {}",
        ck.arch.name(),
        ck.proj.name(),
        ck.small_dim,
        ck.big_dim,
        ck.seed,
        ck.proj_seed
    );
    println!(
        "test accuracy {:.2} % ({} / {}), test loss {:.4}",
        100.0 * out.accuracy,
        out.correct,
        out.examples,
        out.loss
    );
    println!(
        "recorded at training time: {:.2} % ({} / {})",
        100.0 * ck.test_accuracy,
        ck.test_correct,
        ck.test_examples
    );
    if !out.matches_recorded {
        bail!(
            "the rebuilt network's test accuracy {} differs from the recorded {} (different dataset, or a build with different numerics)",
            out.accuracy,
            ck.test_accuracy
        );
    }
    println!("matches the recorded accuracy bit for bit");
    Ok(())
}

fn cmd_export(c: ExportCmd) -> Result<()> {
    let ck = Checkpoint::load(&c.file)?;
    check_output_path(&c.out)?;
    let sidecar = restore::export(&ck, &c.out)?;
    println!(
        "wrote {} ({} parameters, {} bytes, little-endian f32) and {}",
        c.out.display(),
        ck.big_dim,
        4 * ck.big_dim,
        sidecar.display()
    );
    Ok(())
}

fn cmd_toy(c: ToyCmd) -> Result<()> {
    let kind = match ProjSpec::parse(&c.proj)? {
        ProjSpec::Kind(k) => k,
        ProjSpec::None => {
            bail!("invalid --proj none for the toy problem: use dense, sparse or fastfood")
        }
    };
    if c.max_dim == 0 || c.max_dim > toy::TOY_BIG {
        bail!(
            "invalid --max-dim {}: must be between 1 and 1000",
            c.max_dim
        );
    }
    let dims: Vec<usize> = (1..=c.max_dim).collect();
    let out = toy::toy_sweep(kind, &dims, c.seed, c.proj_seed)?;
    println!(
        "toy problem: θ ∈ R^1000, loss = Σ_g (sum of group g − (g+1))², 10 groups of 100; {} projection",
        c.proj
    );
    println!("solved = performance e^(−loss) ≥ {}", toy::SOLVED);
    println!("   d          loss   performance  solved");
    for r in &out.rows {
        println!(
            "{:>4}  {:>12.4e}  {:>12.6}  {}",
            r.dim,
            r.loss,
            r.performance,
            if r.solved { "yes" } else { "no" }
        );
    }
    match out.intrinsic_dim {
        Some(d) => println!("intrinsic dimension: {d}"),
        None => println!("intrinsic dimension: not reached for d ≤ {}", c.max_dim),
    }
    Ok(())
}
