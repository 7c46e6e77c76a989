"""numpy peer for bench/spinal: the same random token x hidden matrices (a counter hash both sides compute
bit-identically), column-centred in float64, singular values by numpy.linalg.svd(compute_uv=False) (LAPACK gesdd).
Usage: python3 bench/spinal_numpy.py N D FIRST COUNT OUT.f64 -> one JSON line; OUT.f64 holds the K = min(N-1, D)
singular values of boundaries FIRST .. FIRST+COUNT-1."""
import json, sys, time

import numpy as np


def states(n, d, seed):
    h = (np.arange(n * d, dtype=np.uint32) + np.uint32(seed * 1000003)) * np.uint32(0x9E3779B1)
    h ^= h >> np.uint32(16)
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> np.uint32(13)
    h *= np.uint32(0xC2B2AE35)
    h ^= h >> np.uint32(16)
    return (h.astype(np.float64) / 2**32 - 0.5).astype(np.float32).reshape(n, d)


def main():
    n, d, first, count, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    K = min(n - 1, d)
    seconds = 0.0
    with open(out, "wb") as f:
        for l in range(first, first + count):
            x = states(n, d, l).astype(np.float64)
            x -= x.mean(0)
            t = time.perf_counter()
            s = np.linalg.svd(x, compute_uv=False)
            seconds += time.perf_counter() - t
            f.write(s[:K].astype(np.float64).tobytes())
    print(json.dumps({"seconds": seconds, "numpy": np.__version__}))


if __name__ == "__main__":
    main()
