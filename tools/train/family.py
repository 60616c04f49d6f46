#!/usr/bin/env python3
"""Trains the lab's model family: 4 sizes x {Llama, Qwen3}, one tokenizer, one corpus, one token budget.

Runs on a GPU machine with PyTorch, Hugging Face transformers and tokenizers (the device image has them):

    python3 tools/train/family.py --corpus .carry/corpus --out /tmp/family [--tokens 60e6] [--smoke]

Input: train.txt / heldout.txt (one document per line), written by tools/data/build.py and xz-compressed.
Output (under --out): tokenizer/ (tokenizer.json + tokenizer_config.json), models/<name>/ in the Hugging Face
layout (config.json, model.safetensors in float16, tokenizer files, generation_config.json), report.json
(per model: N, training tokens, final train loss, held-out token perplexity @ 256, a greedy sample).

Deterministic: fixed seeds for the tokenizer sample, the batches and the initialisation. The classes are
transformers' own LlamaForCausalLM and Qwen3ForCausalLM, so the checkpoints are ordinary HF checkpoints.
"""
from __future__ import annotations

import argparse
import json
import lzma
import math
import multiprocessing as mp
import os
import time
from pathlib import Path

VOCAB = 2048
CONTEXT = 256
EOS = "<|endoftext|>"

# (name suffix, hidden, layers, heads, kv heads, head_dim, intermediate). N (non-embedding) from ~74K to ~2.4M.
SIZES = [
    ("xs", 64, 2, 4, 2, 16, 128),
    ("s", 96, 3, 4, 2, 24, 256),
    ("m", 128, 4, 4, 2, 32, 384),
    ("l", 256, 4, 8, 4, 32, 512),
]
LR = {"xs": 4e-3, "s": 3e-3, "m": 3e-3, "l": 2e-3}


def read_lines(path: Path) -> list[str]:
    opener = lzma.open if path.suffix == ".xz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def find(corpus: Path, stem: str) -> Path:
    for p in (corpus / f"{stem}.txt.xz", corpus / f"{stem}.txt"):
        if p.exists():
            return p
    raise FileNotFoundError(f"{stem}.txt(.xz) not in {corpus}")


# ---------------------------------------------------------------- tokenizer

def train_tokenizer(docs: list[str], out: Path) -> None:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=[EOS], min_frequency=2,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    sample = docs[: min(len(docs), 60_000)]  # docs are pre-shuffled (seeded) by build.py
    tok.train_from_iterator(sample, trainer=trainer)
    assert tok.get_vocab_size() == VOCAB, tok.get_vocab_size()
    assert tok.token_to_id(EOS) == 0
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=EOS, eos_token=EOS, unk_token=None,
                                   model_max_length=CONTEXT, clean_up_tokenization_spaces=False)
    fast.save_pretrained(out)


def encode(docs: list[str], tokdir: Path):
    import numpy as np
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokdir / "tokenizer.json"))
    ids = [0]
    for i in range(0, len(docs), 4096):
        for enc in tok.encode_batch(docs[i : i + 4096], add_special_tokens=False):
            ids.extend(enc.ids)
            ids.append(0)  # documents are separated by <|endoftext|>
    return np.asarray(ids, dtype=np.uint16)


# ---------------------------------------------------------------- models

def make_config(arch: str, size: tuple) -> dict:
    name, d, L, H, KV, hd, ffn = size
    cfg = {
        "vocab_size": VOCAB, "hidden_size": d, "intermediate_size": ffn, "num_hidden_layers": L,
        "num_attention_heads": H, "num_key_value_heads": KV, "head_dim": hd, "hidden_act": "silu",
        "max_position_embeddings": CONTEXT, "tie_word_embeddings": True, "bos_token_id": 0, "eos_token_id": 0,
        "attention_bias": False, "initializer_range": 0.02, "use_cache": True,
        # provenance: the lab evaluates a model on the task suite its config.json records (src/eval/tasks.ts)
        "quantlab": {"task_suite": "dict", "trained_on": "the lab's dictionary corpus (tools/train/family.py); evaluate with the dictionary tasks"},
    }
    if arch == "llama":
        # Llama-3-style frequency scaling, so the bundled Llamas exercise that code path for real.
        cfg.update(model_type="llama", architectures=["LlamaForCausalLM"], rms_norm_eps=1e-5, rope_theta=10000.0,
                   mlp_bias=False, rope_scaling={"rope_type": "llama3", "factor": 4.0, "low_freq_factor": 1.0,
                                                 "high_freq_factor": 4.0, "original_max_position_embeddings": 64})
    else:
        cfg.update(model_type="qwen3", architectures=["Qwen3ForCausalLM"], rms_norm_eps=1e-6, rope_theta=1000000.0,
                   rope_scaling=None, use_sliding_window=False, sliding_window=None, max_window_layers=L)
    return cfg


def build_model(cfg: dict, seed: int):
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    torch.manual_seed(seed)
    config = AutoConfig.for_model(**cfg)
    return AutoModelForCausalLM.from_config(config, torch_dtype=torch.float32)


def non_embedding_params(model) -> int:
    return sum(p.numel() for n, p in model.named_parameters() if "embed_tokens" not in n and "lm_head" not in n)


def heldout_ppl(model, held, device) -> tuple[float, int]:
    """Token perplexity @ CONTEXT: non-overlapping windows, tail dropped, mean NLL over predicted tokens."""
    import torch

    n = (len(held) // CONTEXT) * CONTEXT
    x = torch.from_numpy(held[:n].astype("int64")).view(-1, CONTEXT).to(device)
    nll, count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for i in range(0, x.shape[0], 64):
            b = x[i : i + 64]
            logits = model(b).logits.float()
            lp = torch.log_softmax(logits[:, :-1], -1).gather(-1, b[:, 1:, None])[..., 0]
            nll -= lp.sum().item()
            count += lp.numel()
    return math.exp(nll / count), count


def train_one(job: dict) -> dict:
    import numpy as np
    import torch

    arch, size, out, tokens, device = job["arch"], tuple(job["size"]), Path(job["out"]), job["tokens"], job["device"]
    torch.backends.cuda.matmul.allow_tf32 = True
    cfg = make_config(arch, size)
    model = build_model(cfg, seed=1234).to(device)
    n_ne = non_embedding_params(model)
    train = np.load(job["train"], mmap_mode="r")
    held = np.load(job["heldout"])
    batch = 128
    steps = max(1, int(tokens // (batch * CONTEXT)))
    lr = LR[size[0]]
    warm = min(200, steps // 10 + 1)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.1, fused=True)
    gen = np.random.default_rng(job["seed"])
    t0 = time.time()
    losses = []
    model.train()
    for step in range(steps):
        cur = lr * min(1.0, (step + 1) / warm) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / steps)))
        for g in opt.param_groups:
            g["lr"] = cur
        starts = gen.integers(0, len(train) - CONTEXT - 1, size=batch)
        xb = torch.from_numpy(np.stack([train[s : s + CONTEXT] for s in starts]).astype("int64")).to(device, non_blocking=True)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = model(xb, labels=xb).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 50 == 0 or step == steps - 1:
            losses.append((step, loss.item()))
    train_s = time.time() - t0
    # Ship float16 weights; measure what ships: reload the f16 weights into f32 for the reported numbers.
    model = model.half().float()
    ppl, n_tok = heldout_ppl(model, held, device)
    name = job["name"]
    mdir = out / "models" / name
    model.half().save_pretrained(mdir, safe_serialization=True)
    from transformers import AutoTokenizer, GenerationConfig

    tok = AutoTokenizer.from_pretrained(out / "tokenizer")
    tok.save_pretrained(mdir)
    GenerationConfig(bos_token_id=0, eos_token_id=0, pad_token_id=0, do_sample=False, max_new_tokens=64).save_pretrained(mdir)
    model = model.float().eval()
    samples = {}
    for prompt in ["dog (noun):", "A poodle is a kind of", "Water (n):"]:
        ids = torch.tensor([[0] + tok.encode(prompt, add_special_tokens=False)], device=device)
        with torch.no_grad():
            g = model.generate(ids, max_new_tokens=40, do_sample=False, pad_token_id=0, eos_token_id=0)
        samples[prompt] = tok.decode(g[0, ids.shape[1]:], skip_special_tokens=False)
    return {"name": name, "arch": arch, "hidden": size[1], "layers": size[2], "heads": size[3], "kv_heads": size[4],
            "head_dim": size[5], "intermediate": size[6], "n_params_non_embedding": n_ne,
            "n_params": sum(p.numel() for p in model.parameters()), "train_tokens": steps * batch * CONTEXT,
            "steps": steps, "lr": lr, "train_seconds": round(train_s, 1), "loss_curve": losses,
            "heldout_token_ppl_256": ppl, "heldout_tokens": n_tok, "samples": samples}


def human(n: int) -> str:
    return f"{n / 1e6:.1f}m" if n >= 1e6 else f"{round(n / 1e3)}k"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--tokens", type=float, default=60e6)
    ap.add_argument("--smoke", action="store_true", help="one tiny model, few steps: checks the pipeline")
    ap.add_argument("--parallel", type=int, default=8)
    args = ap.parse_args()
    import numpy as np

    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    train_docs = read_lines(find(args.corpus, "train"))
    held_docs = read_lines(find(args.corpus, "heldout"))
    tokdir = args.out / "tokenizer"
    if not (tokdir / "tokenizer.json").exists():
        train_tokenizer(train_docs, tokdir)
    print(f"tokenizer ready {time.time() - t0:.0f}s", flush=True)
    cache = args.out / "cache"
    cache.mkdir(exist_ok=True)
    if not (cache / "train.npy").exists():
        np.save(cache / "train.npy", encode(train_docs, tokdir))
        np.save(cache / "heldout.npy", encode(held_docs, tokdir))
    ntrain = len(np.load(cache / "train.npy", mmap_mode="r"))
    print(f"encoded: {ntrain} train tokens, {len(train_docs)} docs; {time.time() - t0:.0f}s", flush=True)

    jobs = []
    for arch in ("qwen3", "llama"):
        for i, size in enumerate(SIZES):
            if args.smoke and (arch, size[0]) not in (("qwen3", "xs"), ("llama", "xs")):
                continue
            cfg = make_config(arch, size)
            n_ne = non_embedding_params(build_model(cfg, 0))
            jobs.append({"arch": arch, "size": size, "name": f"{arch}-dict-{human(n_ne)}", "out": str(args.out),
                         "tokens": 2e6 if args.smoke else args.tokens, "device": "cuda",
                         "train": str(cache / "train.npy"), "heldout": str(cache / "heldout.npy"), "seed": 100 + i})
    ctx = mp.get_context("spawn")
    with ctx.Pool(min(args.parallel, len(jobs))) as pool:
        results = pool.map(train_one, jobs)
    for r in results:
        print(f"{r['name']}: N={r['n_params_non_embedding']} ppl={r['heldout_token_ppl_256']:.2f} "
              f"loss={r['loss_curve'][-1][1]:.3f} {r['train_seconds']}s | {r['samples']['A poodle is a kind of']!r}", flush=True)
    report = {"vocab": VOCAB, "context": CONTEXT, "train_tokens_available": ntrain, "models": results,
              "seconds": round(time.time() - t0, 1)}
    (args.out / "report.json").write_text(json.dumps(report, indent=1))
    print(f"done {time.time() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")
    main()
