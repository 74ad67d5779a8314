//! `idim`: the command-line trainer, a thin layer over the `intrinsic_dim` library.

use clap::{Parser, Subcommand};
use intrinsic_dim::simd::SimdPath;

/// Measure the intrinsic dimension of learning problems by training in random subspaces.
#[derive(Parser)]
#[command(name = "idim", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the crate version, the SIMD path of this build and the thread count.
    Info,
    /// Time the three projections over a grid of (D, d), fit slopes, write an SVG plot.
    BenchProjections(intrinsic_dim::projection::scaling::BenchArgs),
}

fn main() {
    let cli = Cli::parse();
    match cli.command {
        Command::Info => {
            println!("intrinsic-dim {}", env!("CARGO_PKG_VERSION"));
            println!("simd path:      {}", SimdPath::of_build().name());
            println!("rayon threads:  {}", rayon::current_num_threads());
        }
        Command::BenchProjections(args) => {
            if let Err(e) = intrinsic_dim::projection::scaling::cli(&args) {
                eprintln!("error: {e:#}");
                std::process::exit(1);
            }
        }
    }
}
