//! The `idim` binary: bad flags exit non-zero with a clear message, no panic
//! and no partial files; the train → eval → export pipeline; `idim toy`;
//! `idim report` over shard files.

use std::path::Path;
use std::process::{Command, Output};

fn idim(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_idim"))
        .args(args)
        .current_dir(cwd)
        .env("IDIM_NO_PROGRESS", "1")
        .output()
        .expect("the idim binary runs")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Runs `args`, expects failure with `needle` in stderr, no panic, and an
/// unchanged (empty) working directory.
fn fails(args: &[&str], needle: &str) {
    let dir = tempfile::tempdir().unwrap();
    let o = idim(args, dir.path());
    let (out, err) = text(&o);
    assert!(!o.status.success(), "{args:?} succeeded: {out}");
    assert!(
        err.contains(needle),
        "{args:?}: stderr should mention {needle:?}, got: {err}"
    );
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "{args:?} left files behind: {left:?}");
}

#[test]
fn bad_flags_are_clear_errors() {
    fails(&["train", "--dim", "0"], "d = 0");
    fails(&["train", "--dim", "300000"], "D = 199210");
    fails(
        &["train", "--model", "resnet"],
        "invalid --model \"resnet\"",
    );
    fails(&["train", "--model", "mlp:0"], "--model");
    fails(&["train", "--lr", "0"], "--lr");
    fails(&["train", "--lr", "-1"], "--lr");
    fails(&["train", "--lr", "abc"], "--lr");
    fails(&["train", "--batch", "0"], "--batch");
    fails(&["train", "--epochs", "0"], "--epochs");
    fails(&["train", "--proj", "gaussian"], "unknown projection");
    fails(&["train", "--optimizer", "lbfgs"], "--optimizer");
    fails(&["train", "--beta2", "1.5"], "--beta2");
    fails(&["train", "--l2", "-1"], "--l2");
    fails(&["train", "--shuffle-labels", "2"], "--shuffle-labels");
    fails(&["train", "--subset", "0"], "--subset");
    fails(&["--threads", "0", "info"], "--threads");
    fails(&["sweep", "--dims", "1:x"], "--dims");
    fails(&["sweep", "--dims", "100:50:10"], "start > stop");
    fails(&["sweep", "--dims", "10,300000"], "exceeds D = 199210");
    fails(&["sweep", "--baseline", "2"], "--baseline");
    fails(&["sweep", "--shard", "3/3"], "--shard");
    fails(&["sweep", "--seeds", "0"], "--seeds");
    fails(&["sweep", "--proj", "none"], "--proj none");
    fails(&["sweep", "--resume", "--fresh"], "--fresh");
    fails(&["toy", "--max-dim", "0"], "--max-dim");
    fails(&["frobnicate"], "unrecognized subcommand");
    fails(&["eval", "no-such.idim"], "no-such.idim");
    fails(&["report", "no-such.csv"], "no-such.csv");
}

#[test]
fn unreadable_dataset_is_an_error_naming_it() {
    fails(
        &["train", "--data-dir", "/no/such/mnist", "--epochs", "1"],
        "/no/such/mnist",
    );
}

#[test]
fn unwritable_outputs_fail_early_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let o = idim(
        &[
            "train",
            "--save",
            "missing/dir/net.idim",
            "--subset",
            "100",
            "--epochs",
            "1",
        ],
        dir.path(),
    );
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(err.contains("missing/dir/net.idim"), "{err}");
    assert!(
        !err.contains("epoch 1"),
        "the error must come before training: {err}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    // --out under a regular file cannot be created.
    std::fs::write(dir.path().join("file"), b"x").unwrap();
    let o = idim(
        &[
            "sweep", "--out", "file/sub", "--dims", "10", "--subset", "100", "--epochs", "1",
        ],
        dir.path(),
    );
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(err.contains("file/sub"), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn train_save_eval_export_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let o = idim(
        &[
            "train", "--model", "mlp:32", "--proj", "fastfood", "--dim", "100", "--subset", "500",
            "--epochs", "1", "--save", "net.idim",
        ],
        dir.path(),
    );
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    assert!(
        out.contains("examples/s") && out.contains("time split"),
        "{out}"
    );
    assert!(err.contains("epoch 1/1"), "{err}");
    let ck = dir.path().join("net.idim");
    // header 14 + 6 ("mlp:32") + 66, θ_d 400, checksum 8
    assert_eq!(std::fs::metadata(&ck).unwrap().len(), 14 + 6 + 66 + 400 + 8);
    let o = idim(&["eval", "net.idim"], dir.path());
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    assert!(out.contains("bit for bit"), "{out}");
    let o = idim(&["export", "net.idim", "--out", "theta.bin"], dir.path());
    assert!(o.status.success(), "{:?}", text(&o));
    let n = 784 * 32 + 32 + 32 * 10 + 10;
    assert_eq!(
        std::fs::metadata(dir.path().join("theta.bin"))
            .unwrap()
            .len(),
        4 * n as u64
    );
    let json = std::fs::read_to_string(dir.path().join("theta.bin.json")).unwrap();
    assert!(json.contains(&format!("\"params\": {n}")), "{json}");
    // A corrupted checkpoint is a clear error.
    let mut b = std::fs::read(&ck).unwrap();
    let k = b.len() - 30;
    b[k] ^= 4;
    std::fs::write(dir.path().join("bad.idim"), &b).unwrap();
    let o = idim(&["eval", "bad.idim"], dir.path());
    let (_, err) = text(&o);
    assert!(!o.status.success() && err.contains("checksum"), "{err}");
    assert!(!err.contains("panicked"));
    // Export to an unwritable place fails and writes nothing.
    let o = idim(
        &["export", "net.idim", "--out", "nowhere/theta.bin"],
        dir.path(),
    );
    assert!(!o.status.success());
    assert!(!dir.path().join("nowhere").exists());
}

#[test]
fn toy_reports_intrinsic_dimension_ten() {
    let dir = tempfile::tempdir().unwrap();
    let o = idim(&["toy"], dir.path());
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("intrinsic dimension: 10"), "{out}");
}

#[test]
fn sweep_shards_and_report_merge() {
    let dir = tempfile::tempdir().unwrap();
    for shard in ["0/2", "1/2"] {
        let o = idim(
            &[
                "sweep", "--model", "mlp:16", "--dims", "5,50", "--subset", "300", "--epochs", "1",
                "--out", "res", "--shard", shard,
            ],
            dir.path(),
        );
        let (out, err) = text(&o);
        assert!(o.status.success(), "{out}\n{err}");
    }
    let o = idim(
        &[
            "report",
            "res/results.shard-0-of-2.csv",
            "res/results.shard-1-of-2.csv",
            "--out",
            "merged",
        ],
        dir.path(),
    );
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("d_int90 (measured baseline"), "{out}");
    assert!(out.contains("d_int90 (global baseline 1"), "{out}");
    let svg = std::fs::read_to_string(dir.path().join("merged/accuracy.svg")).unwrap();
    assert!(svg.contains("<svg"));
    let json = std::fs::read_to_string(dir.path().join("merged/summary.json")).unwrap();
    assert!(json.contains("\"runs\": 3"), "{json}");
}
