#!/usr/bin/env python3
"""OpenBLAS (numpy's) SGEMM on the shapes of benches/kernels/gemm.rs.

Prints GFLOP/s (2·M·N·K per second, median of repeated timings) for
C = A·B with row-major float32 A (M×K) and B (K×N), the same operation as
`sgemm/ours_1t` and `sgemm/ours_all`. Run it right before or after
`cargo bench --bench kernels -- sgemm/` so that both see the same machine:

    OPENBLAS_NUM_THREADS=1 python3 scripts/openblas_sgemm.py   # one thread
    OPENBLAS_NUM_THREADS=2 python3 scripts/openblas_sgemm.py   # two threads
"""

import os
import sys
import time

try:
    import numpy as np
except ImportError:
    sys.exit("openblas_sgemm.py: numpy is not installed; `pip install numpy` first")

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


def main() -> None:
    rng = np.random.default_rng(0)
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "(unset: all cores)")
    print(f"numpy {np.__version__}, OPENBLAS_NUM_THREADS={threads}")
    for m, k, n in SHAPES:
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        c = np.empty((m, n), dtype=np.float32)
        flops = 2.0 * m * n * k
        # Batches long enough (≥ 20 ms) to time, one warm-up batch, 15 timed.
        reps = max(1, int(2e-2 * 100e9 / flops))
        np.matmul(a, b, out=c)
        samples = []
        for _ in range(16):
            t = time.perf_counter()
            for _ in range(reps):
                np.matmul(a, b, out=c)
            samples.append((time.perf_counter() - t) / reps)
        samples = sorted(samples[1:])
        med = samples[len(samples) // 2]
        print(f"{m}x{k}x{n}\t{flops / med / 1e9:.1f} GFLOP/s\t(median of {len(samples)} batches of {reps})")


if __name__ == "__main__":
    main()
