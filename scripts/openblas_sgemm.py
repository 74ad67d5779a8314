#!/usr/bin/env python3
"""OpenBLAS (numpy's) SGEMM on the shapes of benches/kernels/gemm.rs, alone
or interleaved with our SGEMM's Criterion benchmark.

GFLOP/s is 2·M·N·K per second for C = A·B with row-major float32 A (M×K)
and B (K×N), the operation `sgemm/ours_1t` and `sgemm/ours_all` time.

    python3 scripts/openblas_sgemm.py --threads 1             # OpenBLAS alone
    python3 scripts/openblas_sgemm.py --threads 2 --rounds 4  # interleaved

With --rounds R, every round times each shape back to back, first ours
(`cargo bench --bench kernels -- sgemm/ours_{1t,all}/<shape>$`, Criterion's
point estimate, the middle figure it prints, and `sgemm/matrixmultiply_{1t,all}/<shape>`
in the same Criterion run, with MATMUL_NUM_THREADS set to the thread count) then OpenBLAS, and prints per shape the median of each, the
median of the R per-round ratios and the ratio of the best rounds (other
tenants only ever slow a run down, so each side's best round is its speed on
a quiet machine). This machine's speed drifts by tens of per cent
within minutes; pairing each shape's two timings and taking the median ratio
keeps most of that drift out of the comparison. Needs numpy (`pip install
numpy`); run from the repository root.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time

SHAPES = [
    (128, 784, 200),
    (128, 200, 200),
    (128, 200, 10),
    (784, 128, 200),
    (200, 128, 200),
    (128, 200, 784),
    (512, 512, 512),
    (1024, 1024, 1024),
]


def openblas(np, rng, m, k, n, seconds):
    """Median GFLOP/s of batches (about 20 ms each at 100 GFLOP/s) of numpy.matmul over `seconds`."""
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    c = np.empty((m, n), dtype=np.float32)
    flops = 2.0 * m * n * k
    reps = max(1, int(2e-2 * 100e9 / flops))
    np.matmul(a, b, out=c)  # warm-up
    samples = []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds or len(samples) < 5:
        t = time.perf_counter()
        for _ in range(reps):
            np.matmul(a, b, out=c)
        samples.append((time.perf_counter() - t) / reps)
    return flops / statistics.median(samples) / 1e9


def criterion(threads, m, k, n):
    """Criterion's point estimate in GFLOP/s (its elem/s are FLOP/s) for one
    shape, ours and matrixmultiply's, from one run on `threads` threads."""
    suffix = "1t" if threads == 1 else "all"
    run = subprocess.run(
        ["cargo", "bench", "--bench", "kernels", "--",
         f"^sgemm/(ours|matrixmultiply)_{suffix}/{m}x{k}x{n}$",
         "--warm-up-time", "0.5", "--measurement-time", "1.5"],
        capture_output=True, text=True,
        env={**os.environ, "MATMUL_NUM_THREADS": str(threads)},
    )
    if run.returncode != 0:
        sys.exit(f"openblas_sgemm.py: cargo bench failed:\n{run.stderr}")
    found = {}
    for name, value, unit in re.findall(
        r"^sgemm/(\w+)/\S+\s+time:.*?\n\s+thrpt:\s+\[\S+ +\S+ +(\S+) +([KMG]?)elem/s",
        run.stdout, re.M,
    ):
        found[name] = float(value) * {"G": 1.0, "M": 1e-3, "K": 1e-6, "": 1e-9}[unit]
    wants = [f"ours_{suffix}", f"matrixmultiply_{suffix}"]
    for want in wants:
        if want not in found:
            sys.exit(f"openblas_sgemm.py: no throughput for {want}/{m}x{k}x{n} in cargo bench output")
    return found[wants[0]], found[wants[1]]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, choices=[1, 2], required=True,
                   help="threads of OpenBLAS and matrixmultiply; ours runs sgemm/ours_1t (1) "
                        "or sgemm/ours_all (2)")
    p.add_argument("--rounds", type=int, default=0,
                   help="interleave with our Criterion benchmark for this many rounds (0: OpenBLAS alone)")
    p.add_argument("--seconds", type=float, default=1.5, help="OpenBLAS timing per shape and round")
    args = p.parse_args()
    # OpenBLAS reads its thread count when numpy is first imported.
    os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
    try:
        import numpy as np
    except ImportError:
        sys.exit("openblas_sgemm.py: numpy is not installed; `pip install numpy` first")
    rng = np.random.default_rng(0)
    print(f"numpy {np.__version__}, OPENBLAS_NUM_THREADS={args.threads}")
    if args.rounds == 0:
        for m, k, n in SHAPES:
            print(f"{m}x{k}x{n}\t{openblas(np, rng, m, k, n, args.seconds):.1f} GFLOP/s")
        return
    res = {s: [] for s in SHAPES}
    for r in range(args.rounds):
        for s in SHAPES:
            o, mm = criterion(args.threads, *s)
            res[s].append((o, mm, openblas(np, rng, *s, args.seconds)))
        got = " ".join(f"{'x'.join(map(str, sh))}:" + "/".join(
            f"{v:.1f}" for v in res[sh][-1]) for sh in SHAPES)
        print(f"round {r + 1} of {args.rounds} (ours/matrixmultiply/OpenBLAS): {got}", file=sys.stderr)
    med = statistics.median
    print("shape\tours\tOpenBLAS\tours/OpenBLAS: median of rounds (range), of best rounds"
          "\tmatrixmultiply\tours/matrixmultiply: the same")

    def ratio(ours, other):
        r = [o / b for o, b in zip(ours, other)]
        return f"{med(r):.3f} ({min(r):.2f}–{max(r):.2f}), {max(ours) / max(other):.3f}"

    for (m, k, n), rows in res.items():
        o, mm, ob = ([r[i] for r in rows] for i in range(3))
        print(f"{m}x{k}x{n}\t{med(o):.1f}\t{med(ob):.1f}\t{ratio(o, ob)}"
              f"\t{med(mm):.1f}\t{ratio(o, mm)}")


if __name__ == "__main__":
    main()
