//! The report analyses: bootstrap intervals of d_int90 against bounds computed
//! by hand, d_int90 by epoch from per-epoch curves (checked bit for bit against
//! a shorter real run), the training-accuracy metric on a real memorisation
//! run, the new CSV columns (and legacy files), and the Markdown report.

mod results_support;

use intrinsic_dim::data::{self, DataConfig, Dataset};
use intrinsic_dim::nn::Arch;
use intrinsic_dim::train::analysis::{self, at_epoch, bootstrap, for_metric};
use intrinsic_dim::train::progress::Silent;
use intrinsic_dim::train::results::{Baseline, LEGACY_CSV_HEADER, Row, summarise};
use intrinsic_dim::train::subspace::train;
use intrinsic_dim::train::sweep::row_of;
use intrinsic_dim::train::{Metric, ProjSpec, TrainConfig};
use results_support::row;

/// The first crossing of `t` by the points (d, a), linearly interpolated:
/// written out here independently of `results::crossing`.
fn naive_crossing(points: &[(usize, f64)], t: f64) -> f64 {
    for i in 0..points.len() {
        if points[i].1 >= t {
            if i == 0 {
                return points[0].0 as f64;
            }
            let (d0, a0) = points[i - 1];
            let (d1, a1) = points[i];
            return d0 as f64 + (t - a0) / (a1 - a0) * (d1 - d0) as f64;
        }
    }
    f64::INFINITY
}

#[test]
fn bootstrap_collapses_when_every_seed_agrees() {
    let mut rows = vec![row("none", 199_210, 0, 0.98), row("none", 199_210, 1, 0.98)];
    for (d, a) in [(100, 0.6), (200, 0.8), (300, 0.9), (400, 0.95)] {
        for s in 0..3 {
            rows.push(row("fastfood", d, s, a));
        }
    }
    let g = &summarise(&rows, Baseline::Measured)[0];
    let expect = naive_crossing(
        &[(100, 0.6), (200, 0.8), (300, 0.9), (400, 0.95)],
        0.9 * 0.98,
    );
    let iv = bootstrap(g, None, 500, 3).unwrap();
    assert_eq!(iv.reached, 500);
    for v in [iv.mean, iv.lo, iv.hi] {
        assert!((v - expect).abs() < 1e-9, "{v} vs {expect}");
    }
    assert!(iv.sd < 1e-9);
}

#[test]
fn bootstrap_interval_lies_between_the_min_and_max_curves() {
    // Increasing accuracies in d with a spread over three seeds. Every
    // resampled mean lies between the per-d minimum and maximum, and these
    // curves are increasing, so every replicate's crossing lies between the
    // crossing of the max curve (earliest) and of the min curve (latest).
    let accs = [
        (100, [0.50, 0.55, 0.62]),
        (200, [0.78, 0.84, 0.88]),
        (300, [0.86, 0.90, 0.93]),
        (400, [0.91, 0.94, 0.96]),
        (500, [0.95, 0.96, 0.97]),
    ];
    let mut rows = Vec::new();
    for (d, a) in accs {
        for (s, &x) in a.iter().enumerate() {
            rows.push(row("fastfood", d, s as u64, x));
        }
    }
    let g = &summarise(&rows, Baseline::Global(1.0))[0];
    let min: Vec<(usize, f64)> = accs.iter().map(|(d, a)| (*d, a[0])).collect();
    let max: Vec<(usize, f64)> = accs.iter().map(|(d, a)| (*d, a[2])).collect();
    let (early, late) = (naive_crossing(&max, 0.9), naive_crossing(&min, 0.9));
    let iv = bootstrap(g, Some(1.0), 2000, 7).unwrap();
    assert_eq!(iv.reached, 2000);
    assert!(
        early <= iv.lo && iv.lo < iv.hi && iv.hi <= late,
        "{early} {iv:?} {late}"
    );
    assert!(iv.lo <= iv.mean && iv.mean <= iv.hi && iv.sd > 0.0);
    // The point estimate (mean curve) lies inside the interval.
    let mean: Vec<(usize, f64)> = accs
        .iter()
        .map(|(d, a)| (*d, a.iter().sum::<f64>() / 3.0))
        .collect();
    let p = naive_crossing(&mean, 0.9);
    assert!(iv.lo <= p && p <= iv.hi);
    // Same seed, same interval; another seed, a (slightly) different one.
    assert_eq!(bootstrap(g, Some(1.0), 2000, 7).unwrap(), iv);
    assert_ne!(bootstrap(g, Some(1.0), 2000, 8).unwrap(), iv);
}

#[test]
fn unreached_replicates_widen_the_interval_to_infinity() {
    // At the largest d one seed of three misses the threshold, and a
    // replicate crosses only if it never draws that seed: (2/3)³ = 8/27 of
    // them do, 19/27 never cross.
    let mut rows = Vec::new();
    for (d, a) in [(100, [0.5, 0.5, 0.5]), (200, [0.95, 0.95, 0.5])] {
        for (s, &x) in a.iter().enumerate() {
            rows.push(row("fastfood", d, s as u64, x));
        }
    }
    let g = &summarise(&rows, Baseline::Global(1.0))[0];
    let iv = bootstrap(g, Some(1.0), 3000, 1).unwrap();
    let frac = 1.0 - iv.reached as f64 / 3000.0;
    assert!((frac - 19.0 / 27.0).abs() < 0.03, "{frac}");
    assert!(iv.hi.is_infinite() && iv.lo.is_finite());
}

#[test]
fn new_columns_round_trip_and_legacy_rows_parse() {
    let mut r = row("fastfood", 300, 2, 0.875);
    r.train_accuracy = Some(0.9125);
    r.curve = vec![0.5, 0.75, 0.875];
    assert_eq!(Row::parse_csv(&r.csv_line()).unwrap(), r);
    assert!(r.json().contains("\"curve\": [0.5, 0.75, 0.875]"));
    // The key separates memorisation runs from test-metric runs.
    let mut t = r.clone();
    t.train_accuracy = None;
    assert_ne!(r.key(), t.key());
    // A 20-field legacy line: no training accuracy, no curve.
    let legacy: String = t.csv_line().rsplitn(3, ',').nth(2).unwrap().into();
    assert_eq!(
        legacy.split(',').count(),
        LEGACY_CSV_HEADER.split(',').count()
    );
    let back = Row::parse_csv(&legacy).unwrap();
    assert_eq!((back.train_accuracy, back.curve.len()), (None, 0));
    assert_eq!(back.test_accuracy, t.test_accuracy);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("old.csv");
    std::fs::write(&p, format!("{LEGACY_CSV_HEADER}\n{legacy}\n")).unwrap();
    assert_eq!(
        intrinsic_dim::train::results::read_csv(&p).unwrap()[0],
        back
    );
}

fn subset(n: usize, label_noise: f32) -> Dataset {
    let mut c = DataConfig::mnist_default();
    c.train_subset = Some(n);
    c.label_noise = label_noise;
    data::load(&c).expect("bundled MNIST")
}

fn small_config(epochs: usize) -> TrainConfig {
    let mut c = TrainConfig::default_subspace();
    c.arch = Arch::parse("mlp:32").unwrap();
    c.dim = 200;
    c.batch = 50;
    c.epochs = epochs;
    c.seed = 4;
    c.proj_seed = 5;
    c.data_seed = 6;
    c
}

#[test]
fn a_curve_entry_is_bit_for_bit_the_shorter_run() {
    let data = subset(400, 0.0);
    let long = row_of(&train(&small_config(3), &data, &mut Silent).unwrap(), "s");
    let short = row_of(&train(&small_config(2), &data, &mut Silent).unwrap(), "s");
    assert_eq!(long.curve.len(), 3);
    assert_eq!(long.curve[2], long.test_accuracy);
    let cut = &at_epoch(std::slice::from_ref(&long), 2)[0];
    assert_eq!(cut.test_accuracy.to_bits(), short.test_accuracy.to_bits());
    assert_eq!((cut.test_correct, cut.epochs), (short.test_correct, 2));
    assert_eq!(cut.key(), short.key());
    assert!(at_epoch(std::slice::from_ref(&long), 4).is_empty());
}

#[test]
fn the_train_metric_measures_memorisation_of_shuffled_labels() {
    // 200 examples with every label random: a full-space MLP memorises them
    // (training accuracy far above the 10 % of chance after 30 epochs) while
    // its test accuracy stays near chance. 200 random labels cannot be
    // memorised by luck: P(≥ 60 correct of 200 at p = 0.1) < 1e-18.
    let data = subset(200, 1.0);
    let mut c = small_config(30);
    c.proj = ProjSpec::None;
    c.lr = 3e-3;
    c.metric = Metric::Train;
    let r = row_of(
        &train(&c, &data, &mut Silent).unwrap(),
        "mnist/labels=1/subset=200",
    );
    let train_acc = r.train_accuracy.expect("--metric train records it");
    assert!(train_acc > 0.6, "train accuracy {train_acc}");
    assert!(r.test_accuracy < 0.25, "test accuracy {}", r.test_accuracy);
    let view = for_metric(std::slice::from_ref(&r), Metric::Train);
    assert_eq!(view[0].test_accuracy, train_acc);
    assert_eq!(view[0].test_examples, 200);
    // A test-metric row has no training accuracy and drops out of the view.
    let mut t = r.clone();
    t.train_accuracy = None;
    assert!(for_metric(&[t], Metric::Train).is_empty());
}

#[test]
fn markdown_report_lists_both_estimates_with_intervals() {
    let mut rows = vec![row("none", 199_210, 0, 0.98), row("none", 199_210, 1, 0.97)];
    for (d, a) in [(100, [0.6, 0.62]), (200, [0.86, 0.9]), (300, [0.93, 0.95])] {
        for (s, &x) in a.iter().enumerate() {
            rows.push(row("fastfood", d, s as u64, x));
        }
    }
    let md = analysis::markdown(&rows, 1.0, "test");
    let line = md.lines().nth(2).unwrap();
    assert!(
        line.starts_with("| fc | mnist | fastfood | 199210 | 97.50 % (2 runs) |"),
        "{line}"
    );
    // Global: mean curve 0.61, 0.88, 0.94 crosses 0.9 at 200 + 100·0.02/0.06.
    let g = 200.0 + 100.0 * (0.9 - 0.88) / (0.94 - 0.88);
    assert!(line.contains(&format!("**{g:.0}**")), "{line}");
    assert!(line.contains("95 %"), "{line}");
    assert!(md.contains("<details>"));
    let (table, chart) = analysis::by_epoch(&rows, &[1, 2], 1.0);
    assert_eq!(table.lines().count(), 4);
    assert!(table.contains("| fc | mnist | fastfood | 2 |"), "{table}");
    // Epoch 1 (curves 0.1 lower): the measured line (0.9 · 87.5 %) is
    // crossed, the global 90 % line is not.
    let line = |name: &str| {
        chart
            .series
            .iter()
            .find(|s| s.label.ends_with(name))
            .map_or(0, |s| s.points.len())
    };
    assert_eq!(
        (line("measured baseline"), line("global baseline 1")),
        (2, 1)
    );
}

#[test]
fn appending_to_a_legacy_file_upgrades_its_header() {
    use intrinsic_dim::train::results::{Appender, CSV_HEADER, read_csv};
    let dir = tempfile::tempdir().unwrap();
    let (csv, jsonl) = (dir.path().join("r.csv"), dir.path().join("r.jsonl"));
    let old = row("fastfood", 100, 0, 0.5);
    let legacy: String = old.csv_line().rsplitn(3, ',').nth(2).unwrap().into();
    std::fs::write(&csv, format!("{LEGACY_CSV_HEADER}\n{legacy}\n")).unwrap();
    let new = row("fastfood", 200, 0, 0.75);
    Appender::open(&csv, &jsonl, false)
        .unwrap()
        .append(&new)
        .unwrap();
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(text.lines().next(), Some(CSV_HEADER));
    assert_eq!(text.lines().nth(1), Some(legacy.as_str()));
    let rows = read_csv(&csv).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1], new);
    assert_eq!((rows[0].dim, rows[0].curve.len()), (100, 0));
}
