#!/usr/bin/env python3
"""The peer of the lab's generation timings: Hugging Face transformers (PyTorch, bf16) on the same checkpoint and
GPU. Decode tokens/s of `generate` (greedy, NEW tokens after a PROMPT-token prompt, all NEW generated) with its
default cache and with cache_implementation="static"; prefill time of a PREFILL-token prompt (one forward pass).
Medians of REPS runs after a warm-up. Prints one JSON object.

    python3 tools/golden/hf_speed.py --model DIR [--prompt 8] [--new 128] [--prefill 512] [--reps 3]
"""
import argparse
import json
import statistics
import time

import torch


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--prompt", type=int, default=8)
    ap.add_argument("--new", type=int, default=128)
    ap.add_argument("--prefill", type=int, default=512)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    from transformers import AutoModelForCausalLM
    t0 = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.bfloat16).cuda().eval()
    torch.cuda.synchronize()
    out = {"runtime": f"transformers (torch {torch.__version__}, bf16)", "device": torch.cuda.get_device_name(0), "model": a.model,
           "load_seconds": time.perf_counter() - t0}
    g = torch.Generator().manual_seed(0)
    vocab = model.config.vocab_size
    prompt = torch.randint(1000, min(vocab, 1256), (1, a.prompt), generator=g).cuda()

    def decode(cache: str | None) -> float:
        kw = {"cache_implementation": cache} if cache else {}
        rates = []
        for r in range(a.reps + 1):
            torch.cuda.synchronize()
            t = time.perf_counter()
            model.generate(prompt, max_new_tokens=a.new, min_new_tokens=a.new, do_sample=False, pad_token_id=0, **kw)
            torch.cuda.synchronize()
            if r:  # the first is the warm-up (and, for the static cache, its compilation of the cache)
                rates.append(a.new / (time.perf_counter() - t))
        return statistics.median(rates)

    with torch.no_grad():
        out["decode_tokens_per_second"] = decode(None)
        out["decode_tokens_per_second_static_cache"] = decode("static")
        x = torch.randint(1000, min(vocab, 1256), (1, a.prefill), generator=g).cuda()
        ms = []
        for r in range(a.reps + 1):
            torch.cuda.synchronize()
            t = time.perf_counter()
            model(x, logits_to_keep=1)
            torch.cuda.synchronize()
            if r:
                ms.append(1000 * (time.perf_counter() - t))
        out["prefill_tokens"] = a.prefill
        out["prefill_ms"] = statistics.median(ms)
    out["gpu_peak_bytes"] = torch.cuda.max_memory_allocated()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
