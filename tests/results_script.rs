//! `scripts/results.sh --quick`: the tiny version of every RESULTS.md part
//! (300 training examples, 1–3 epochs, two d values) runs end to end with
//! the `idim` binary of this build, writes each part's tables and figures,
//! and `--assemble` splices the tables into a RESULTS.md between its markers.
//! This keeps the script that produces RESULTS.md from rotting.

use std::path::Path;
use std::process::Command;

const PARTS: [&str; 7] = [
    "paper",
    "projections",
    "width-depth",
    "labels",
    "compression",
    "schedule",
    "speed",
];

fn script(out: &Path, md: &Path, figures: &Path, args: &[&str]) -> std::process::Output {
    let root = env!("CARGO_MANIFEST_DIR");
    Command::new("bash")
        .arg(Path::new(root).join("scripts/results.sh"))
        .args(args)
        .env("IDIM", env!("CARGO_BIN_EXE_idim"))
        .env("OUT", out)
        .env("RESULTS_MD", md)
        .env("FIGURES", figures)
        .env("RAYON_NUM_THREADS", "2")
        .output()
        .expect("bash runs")
}

#[test]
fn quick_results_run_every_part_and_assemble() {
    let tmp = tempfile::tempdir().unwrap();
    let (out, figures) = (tmp.path().join("out"), tmp.path().join("figures"));
    let md = tmp.path().join("RESULTS.md");
    let mut template = String::from("# Results\n");
    for p in PARTS {
        template.push_str(&format!(
            "\n## {p}\n<!-- results:{p} -->\nstale\n<!-- /results:{p} -->\nprose after {p}\n"
        ));
    }
    std::fs::write(&md, &template).unwrap();

    let run = script(&out, &md, &figures, &["--quick", "all"]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "results.sh --quick failed:\n{stderr}");
    // Every command is printed before it runs.
    assert!(
        stderr.contains("+ idim sweep --resume --out $OUT/paper/fc"),
        "{stderr}"
    );

    let part = |p: &str| std::fs::read_to_string(out.join(p).join(format!("{p}.md"))).unwrap();
    for (p, first_column) in [
        ("paper", "| fc | mnist/subset=300 | fastfood | 199210 |"),
        (
            "paper",
            "| lenet | mnist/pixels=1/subset=300 | fastfood | 44426 |",
        ),
        ("projections", "| fc | mnist/subset=300 | dense | 199210 |"),
        ("projections", "| fc | mnist/subset=300 | sparse | 199210 |"),
        (
            "width-depth",
            "| mlp:400x2 | mnist/subset=300 | fastfood | 478410 |",
        ),
        (
            "width-depth",
            "| mlp:200x3 | mnist/subset=300 | fastfood | 239410 |",
        ),
        (
            "labels",
            "| fc | mnist/labels=1/subset=300 | fastfood | 199210 |",
        ),
        ("schedule", "| 3 |"),
        ("speed", "| fc | dense | 750 |"),
        ("speed", "| lenet | fastfood | 290 |"),
    ] {
        assert!(
            part(p).contains(first_column),
            "{p}.md lacks {first_column:?}:\n{}",
            part(p)
        );
    }
    assert!(part("labels").contains("baseline (train)"));
    assert!(out.join("width-depth/dint-vs-D.svg").exists());
    assert!(out.join("schedule/dint-vs-epochs.svg").exists());

    // Compression: each checkpoint is ≈ 4·d bytes and `idim eval` reproduces
    // the accuracy recorded at training time.
    let comp = part("compression");
    let lines: Vec<&str> = comp.lines().skip(2).collect();
    assert_eq!(lines.len(), 3, "{comp}");
    for l in lines {
        let f: Vec<&str> = l.split('|').map(str::trim).collect();
        let (d, bytes): (usize, usize) = (f[3].parse().unwrap(), f[5].parse().unwrap());
        assert!(bytes >= 4 * d && bytes < 4 * d + 200, "{l}");
        assert_eq!(f[8], f[9], "eval differs from training: {l}");
        assert!(f[8].ends_with('%'), "{l}");
    }

    let run = script(&out, &md, &figures, &["--assemble"]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let assembled = std::fs::read_to_string(&md).unwrap();
    assert!(!assembled.contains("stale"));
    for p in PARTS {
        assert!(assembled.contains(&format!("prose after {p}")));
        assert!(figures.join(p).join(format!("{p}.md")).exists());
    }
    assert!(assembled.contains("| fc | mnist/subset=300 | fastfood | 199210 |"));
    assert!(figures.join("paper/lenet/accuracy.svg").exists());
    assert!(figures.join("paper/lenet/results.csv").exists());

    // A second assembly is a fixed point (the markers survive).
    let run = script(&out, &md, &figures, &["--assemble"]);
    assert!(run.status.success());
    assert_eq!(std::fs::read_to_string(&md).unwrap(), assembled);

    let bad = script(&out, &md, &figures, &["--quick", "nonsense"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown argument 'nonsense'"));
}
