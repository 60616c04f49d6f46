#!/usr/bin/env python3
"""Times the reference GPTQ (tools/golden/gptq_reference.py, the published algorithm in PyTorch, fp32) on the
GPU, per layer, for the benchmark beside the lab's WGSL GPTQ. Hessian from 8192 random tokens; 4-bit, G=128,
act-order off, the reference's damp 0.01. Prints JSON lines.

    python3 tools/golden/gptq_time.py [--shapes 1024x1024,4096x4096,11008x4096]
"""
import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
import gptq_reference as ref  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shapes", default="1024x1024,4096x4096,11008x4096")
    ap.add_argument("--tokens", type=int, default=8192)
    a = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    dev = torch.device("cuda")
    for spec in a.shapes.split(","):
        rows, cols = map(int, spec.split("x"))
        g = torch.Generator(device=dev).manual_seed(0)
        W = torch.randn(rows, cols, device=dev, generator=g) * 0.02
        acc = ref.HessianAccumulator(cols)
        acc.H = acc.H.to(dev)
        X = torch.randn(a.tokens // 2048, 2048, cols, device=dev, generator=g)
        acc.add_batch(X)
        H = acc.H
        times = []
        for rep in range(3):
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            ref.gptq(W, H, bits=4, groupsize=128, sym=True, actorder=False, percdamp=0.01)
            torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
        print(json.dumps({"impl": "pytorch-reference", "device": torch.cuda.get_device_name(0), "rows": rows, "cols": cols,
                          "seconds": sorted(times)[1], "all": times}), flush=True)


if __name__ == "__main__":
    main()
