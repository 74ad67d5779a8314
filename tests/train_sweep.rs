//! The d sweep: parsing of --dims and --shard, the d_int90 arithmetic on
//! hand-computed cases, the results files, a real (small) sweep whose
//! d_int90 falls in a stated bracket, resuming, and sharding (the union of
//! the shards equals the unsharded sweep bit for bit).

mod results_support;

use std::path::PathBuf;

use intrinsic_dim::data::{self, DataConfig, Dataset};
use intrinsic_dim::nn::Arch;
use intrinsic_dim::projection::ProjectionKind;
use intrinsic_dim::train::progress::Console;
use intrinsic_dim::train::results::{self, Baseline, DimStat, Row, crossing, summarise};
use intrinsic_dim::train::sweep::{self, SweepConfig, merge_files, parse_dims, parse_shard};
use intrinsic_dim::train::toy::{TOY_BIG, toy_loss, toy_sweep};
use intrinsic_dim::train::{ProjSpec, TrainConfig};
use results_support::row;

#[test]
fn dims_lists_and_ranges_parse() {
    assert_eq!(parse_dims("100,200,300").unwrap(), vec![100, 200, 300]);
    assert_eq!(
        parse_dims("100:500:100").unwrap(),
        vec![100, 200, 300, 400, 500]
    );
    assert_eq!(parse_dims("100:450:100").unwrap(), vec![100, 200, 300, 400]);
    assert_eq!(parse_dims("700, 5,1:3:1,3").unwrap(), vec![1, 2, 3, 5, 700]);
    for bad in [
        "",
        "0",
        "a",
        "1:2",
        "5:1:1",
        "1:10:0",
        "1,,2",
        "-3",
        "1:1000000000:1",
    ] {
        let e = parse_dims(bad).unwrap_err().to_string();
        assert!(e.contains("--dims"), "{bad:?}: {e}");
    }
}

#[test]
fn shards_parse() {
    assert_eq!(parse_shard("0/4").unwrap(), (0, 4));
    assert_eq!(parse_shard("3/4").unwrap(), (3, 4));
    for bad in ["4/4", "1/0", "x/2", "1", "-1/2"] {
        assert!(parse_shard(bad).is_err(), "{bad}");
    }
}

fn stat(dim: usize, mean: f64) -> DimStat {
    DimStat {
        dim,
        runs: 1,
        mean,
        min: mean,
        max: mean,
        seconds: 1.0,
        accs: vec![mean],
    }
}

#[test]
fn crossing_picks_the_smallest_d_and_interpolates_linearly() {
    let s = [
        stat(100, 0.5),
        stat(200, 0.8),
        stat(300, 0.95),
        stat(400, 0.85),
        stat(500, 0.99),
    ];
    let c = crossing(&s, 0.9);
    assert_eq!(c.dim, Some(300));
    assert_eq!(c.bracket, Some((200, 300)));
    // 200 + (0.9 − 0.8)/(0.95 − 0.8)·100 = 266.67
    assert!((c.interpolated.unwrap() - (200.0 + 100.0 * 0.1 / 0.15)).abs() < 1e-9);
    let c = crossing(&s, 0.4);
    assert_eq!((c.dim, c.interpolated), (Some(100), None));
    let c = crossing(&s, 0.995);
    assert_eq!((c.dim, c.interpolated), (None, None));
}

#[test]
fn summary_reports_both_baselines_and_d_int100() {
    let mut rows = vec![row("none", 199_210, 0, 0.98)];
    for (d, a) in [
        (100, 0.70),
        (200, 0.85),
        (300, 0.90),
        (400, 0.93),
        (500, 0.975),
        (600, 0.985),
    ] {
        rows.push(row("fastfood", d, 0, a));
        rows.push(row("fastfood", d, 1, a + 0.002));
    }
    rows.push(rows[3].clone()); // a duplicate counts once
    let g = &summarise(&rows, Baseline::Measured)[0];
    assert_eq!(g.baseline(), Some(0.98));
    assert_eq!(g.stats.len(), 6);
    assert_eq!(g.stats[1].runs, 2);
    // measured: threshold 0.882 → first mean ≥ it is d = 300 (0.901)
    let m = g.measured90.as_ref().unwrap();
    assert_eq!(m.dim, Some(300));
    assert!((m.threshold - 0.882).abs() < 1e-12);
    // global 1.0: threshold 0.9 → d = 300 (0.901 ≥ 0.9)
    assert_eq!(g.global90.dim, Some(300));
    // d_int100: first mean ≥ 0.98 is d = 600 (0.986)
    assert_eq!(g.measured100.as_ref().unwrap().dim, Some(600));
    let text = results::render_table(g);
    assert!(text.contains("measured baseline") && text.contains("global baseline 1"));
    let json = results::summary_json(std::slice::from_ref(g), rows.len());
    assert!(json.contains("\"d_int90_measured\": {\"threshold\": 0.882"));
    // A global headline of 0.95 moves the threshold to 0.855 → d = 300 still, 200 misses (0.851).
    let g = &summarise(&rows, Baseline::Global(0.95))[0];
    assert_eq!(g.global90.dim, Some(300));
    assert!((g.global90.threshold - 0.855).abs() < 1e-12);
    assert_eq!(Baseline::parse("measured").unwrap(), Baseline::Measured);
    assert_eq!(Baseline::parse("1.0").unwrap(), Baseline::Global(1.0));
    assert!(Baseline::parse("1.5").is_err() && Baseline::parse("x").is_err());
}

#[test]
fn csv_rows_round_trip_and_a_torn_last_line_is_skipped() {
    let r = row("fastfood", 750, 2, 0.9061);
    assert_eq!(Row::parse_csv(&r.csv_line()).unwrap(), r);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("results.csv");
    let body = format!(
        "{}\n{}\n{}",
        results::CSV_HEADER,
        r.csv_line(),
        &r.csv_line()[..20]
    );
    std::fs::write(&p, body).unwrap();
    assert_eq!(results::read_csv(&p).unwrap(), vec![r.clone()]);
    std::fs::write(
        &p,
        format!("{}\nfc,broken\n{}\n", results::CSV_HEADER, r.csv_line()),
    )
    .unwrap();
    let e = results::read_csv(&p).unwrap_err().to_string();
    assert!(e.contains("line 2"), "{e}");
    std::fs::write(&p, "a,b\n").unwrap();
    assert!(results::read_csv(&p).is_err());
}

#[test]
fn toy_problem_has_intrinsic_dimension_ten() {
    // Independent check of the loss: θ = 0 gives Σ (g+1)² = 385; θ with every
    // group summing to g+1 gives 0.
    assert_eq!(toy_loss(&vec![0.0; TOY_BIG]), 385.0);
    let solved: Vec<f32> = (0..TOY_BIG)
        .map(|i| ((i / 100) + 1) as f32 / 100.0)
        .collect();
    assert!(toy_loss(&solved) < 1e-8);
    let dims: Vec<usize> = (1..=20).collect();
    for seed in 0..4 {
        let out = toy_sweep(ProjectionKind::Dense, &dims, seed, seed + 10).unwrap();
        assert_eq!(out.intrinsic_dim, Some(10), "seed {seed}: {:?}", out.rows);
        assert!(
            !out.rows[8].solved && out.rows[8].performance < 0.5,
            "d = 9 must fail"
        );
        assert!(
            out.rows[9..].iter().all(|r| r.solved),
            "every d ≥ 10 solves it"
        );
    }
}

fn small_data() -> Dataset {
    let mut c = DataConfig::mnist_default();
    c.train_subset = Some(1000);
    data::load(&c).expect("bundled MNIST")
}

fn small_sweep(out: PathBuf, shard: (usize, usize), resume: bool) -> SweepConfig {
    let mut t = TrainConfig::default_subspace();
    t.arch = Arch::parse("mlp:32").unwrap();
    t.proj = ProjSpec::Kind(ProjectionKind::Fastfood);
    t.epochs = 3;
    t.batch = 50;
    t.lr = 2e-2;
    SweepConfig {
        template: t,
        baseline_lr: 3e-3,
        baseline_seeds: 1,
        dims: vec![3, 30, 300, 3000],
        seeds: 1,
        baseline: Baseline::Measured,
        out_dir: out,
        resume,
        fresh: false,
        shard,
        dataset: "mnist/subset=1000".into(),
    }
}

#[test]
fn small_sweep_finds_d_int90_in_its_bracket_resumes_and_shards() {
    let data = small_data();
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full");
    let sc = small_sweep(full.clone(), (0, 1), false);
    let mut console = Console::new(false);
    let out = sweep::run_sweep(&sc, &data, &mut console).unwrap();
    assert_eq!(out.trained, 5);
    assert_eq!(out.rows.len(), 5);
    for f in &out.files {
        assert!(f.exists(), "{}", f.display());
    }
    let g = &out.groups[0];
    let b = g.baseline().unwrap();
    // mlp:32 on 1,000 examples for 3 epochs: the baseline is far above chance.
    assert!(b > 0.75, "baseline {b}");
    // Stated bracket: d = 3 cannot reach 90 % of the baseline (a 3-parameter
    // model of MNIST), d = 3000 of D = 25,450 does; so d_int90 ∈ {30, 300, 3000}.
    let m = g.measured90.as_ref().unwrap();
    assert!(
        g.stats[0].mean < 0.9 * b,
        "d = 3 reached {}",
        g.stats[0].mean
    );
    assert!(
        matches!(m.dim, Some(30 | 300 | 3000)),
        "d_int90 = {:?} ({:?})",
        m.dim,
        g.stats
    );
    assert!(
        g.stats[3].mean >= 0.9 * b,
        "d = 3000 only reached {}",
        g.stats[3].mean
    );

    // Without --resume an existing results file is an error, not an overwrite.
    let e = sweep::run_sweep(&sc, &data, &mut console)
        .unwrap_err()
        .to_string();
    assert!(e.contains("--resume"), "{e}");
    // --resume skips everything already done.
    let again = sweep::run_sweep(
        &small_sweep(full.clone(), (0, 1), true),
        &data,
        &mut console,
    )
    .unwrap();
    assert_eq!((again.trained, again.skipped), (0, 5));
    assert_eq!(again.rows.len(), 5);

    // Two shards together reproduce the unsharded sweep bit for bit.
    let sharded = dir.path().join("sharded");
    let a = sweep::run_sweep(
        &small_sweep(sharded.clone(), (0, 2), false),
        &data,
        &mut console,
    )
    .unwrap();
    let b2 = sweep::run_sweep(
        &small_sweep(sharded.clone(), (1, 2), false),
        &data,
        &mut console,
    )
    .unwrap();
    assert_eq!(a.trained + b2.trained, 5);
    assert_eq!((a.trained, b2.trained), (3, 2));
    let merged = merge_files(&[
        sharded.join("results.shard-0-of-2.csv"),
        sharded.join("results.shard-1-of-2.csv"),
    ])
    .unwrap();
    assert_eq!(merged.len(), 5);
    for r in &out.rows {
        let m = merged
            .iter()
            .find(|m| m.key() == r.key())
            .expect("every run is in a shard");
        assert_eq!(m.test_correct, r.test_correct, "{}", r.key());
        assert_eq!(m.test_accuracy.to_bits(), r.test_accuracy.to_bits());
    }
}
