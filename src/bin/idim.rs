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
}

fn main() {
    let cli = Cli::parse();
    match cli.command {
        Command::Info => {
            println!("intrinsic-dim {}", env!("CARGO_PKG_VERSION"));
            println!("simd path:      {}", SimdPath::of_build().name());
            println!("rayon threads:  {}", rayon::current_num_threads());
        }
    }
}
