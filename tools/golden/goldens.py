#!/usr/bin/env python3
"""Golden outputs from established implementations, for the lab's tests. Runs where PyTorch, transformers,
safetensors, tokenizers and statsmodels are installed (the GPU machine's image has them):

    python3 tools/golden/goldens.py --models /tmp/family/models --default qwen3-dict-74k --out tests/fixtures

Writes (all small, committed under tests/fixtures/):
  tiny/<arch>/           random-weight tiny Qwen3 (f32), Llama (GQA, llama3 rope scaling, untied, bf16, sharded),
                         Qwen2 (q/k/v bias, f16), Phi-3 (fused qkv_proj / gate_up_proj, f32) and Phi-3 with
                         longrope (a sequence past original_max_position_embeddings and one within, a sliding
                         window) checkpoints in the HF layout, + logits.safetensors
                         (--only tiny --archs phi3,phi3-longrope writes some of them)
  logits/<model>.safetensors   transformers' logits of every trained model on fixed token ids
  eval/<model>.json      per-item log-likelihoods, greedy flags, cloze ranks, greedy generations, perplexity
                         sums of the default model, computed the lm-evaluation-harness way
  gptq/*.safetensors     W, H and the reference GPTQ's codes/scales/zeros/g_idx for several settings
  fit/                   synthetic study-grid results and statsmodels OLS fits of them, with prediction intervals
"""
from __future__ import annotations

import argparse
import json
import math
import random
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
import gptq_reference as ref  # noqa: E402


def save_st(path: Path, tensors: dict, meta: dict | None = None) -> None:
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path),
              metadata={k: json.dumps(v) for k, v in (meta or {}).items()})


def load_model(path: Path):
    from transformers import AutoModelForCausalLM

    try:
        m = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    except TypeError:
        m = AutoModelForCausalLM.from_pretrained(path, torch_dtype=torch.float32)
    return m.float().eval()


# ---------------------------------------------------------------- logits

def logits_of(model, seqs: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    T = max(len(s) for s in seqs)
    V = model.config.vocab_size
    tokens = torch.zeros(len(seqs), T, dtype=torch.int32)
    out = torch.zeros(len(seqs), T, V)
    with torch.no_grad():
        for b, s in enumerate(seqs):  # one sequence at a time: no padding semantics involved
            tokens[b, : len(s)] = torch.tensor(s)
            out[b, : len(s)] = model(torch.tensor([s])).logits[0].float()
    return tokens, out


def tiny_fixtures(out: Path, archs: set[str] | None = None) -> None:
    from transformers import AutoConfig, AutoModelForCausalLM

    specs = {
        "qwen3": dict(model_type="qwen3", vocab_size=256, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, head_dim=16, max_position_embeddings=64,
                      rope_theta=1000000.0, rms_norm_eps=1e-6, tie_word_embeddings=True, initializer_range=0.1,
                      attention_bias=False, use_sliding_window=False, bos_token_id=None, eos_token_id=0),
        "llama": dict(model_type="llama", vocab_size=256, hidden_size=48, intermediate_size=96, num_hidden_layers=3,
                      num_attention_heads=6, num_key_value_heads=2, head_dim=8, max_position_embeddings=64,
                      rope_theta=500000.0, rms_norm_eps=1e-5, tie_word_embeddings=False, initializer_range=0.1,
                      rope_scaling={"rope_type": "llama3", "factor": 4.0, "low_freq_factor": 1.0,
                                    "high_freq_factor": 4.0, "original_max_position_embeddings": 16},
                      bos_token_id=1, eos_token_id=2),
        "qwen2": dict(model_type="qwen2", vocab_size=256, hidden_size=32, intermediate_size=80, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=1, max_position_embeddings=64, rope_theta=10000.0,
                      rms_norm_eps=1e-6, tie_word_embeddings=False, initializer_range=0.1, use_sliding_window=False,
                      bos_token_id=None, eos_token_id=0),
        "phi3": dict(model_type="phi3", vocab_size=256, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                     num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                     original_max_position_embeddings=64, rope_theta=10000.0, rms_norm_eps=1e-5,
                     tie_word_embeddings=False, initializer_range=0.1, sliding_window=None, bos_token_id=1,
                     eos_token_id=2, pad_token_id=0),
        # longrope with factor 128 / 32 = 4: the 40-token sequence takes the long factors, the 20-token one the
        # short ones; the sliding window (48) masks nothing within 48 tokens, the context the lab runs it at
        "phi3-longrope": dict(model_type="phi3", vocab_size=256, hidden_size=64, intermediate_size=96,
                              num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                              max_position_embeddings=128, original_max_position_embeddings=32, rope_theta=10000.0,
                              rope_scaling={"rope_type": "longrope",
                                            "short_factor": [1.0, 1.1, 1.3, 1.6, 2.0, 2.5, 3.1, 3.8],
                                            "long_factor": [1.0, 1.4, 2.2, 3.5, 5.0, 7.5, 11.0, 16.0]},
                              rms_norm_eps=1e-5, tie_word_embeddings=False, initializer_range=0.1, sliding_window=48,
                              bos_token_id=1, eos_token_id=2, pad_token_id=0),
    }
    dtypes = {"qwen3": torch.float32, "llama": torch.bfloat16, "qwen2": torch.float16, "phi3": torch.float32,
              "phi3-longrope": torch.float32}
    rng = random.Random(7)
    seqs = [[rng.randrange(256) for _ in range(20)], [rng.randrange(256) for _ in range(13)]]
    long_seqs = [[rng.randrange(256) for _ in range(40)], [rng.randrange(256) for _ in range(20)]]
    for arch, spec in specs.items():
        if archs is not None and arch not in archs:
            continue
        torch.manual_seed(11)
        spec = dict(spec)
        model_type = spec.pop("model_type")
        model = AutoModelForCausalLM.from_config(AutoConfig.for_model(model_type, **spec)).float().eval()
        with torch.no_grad():  # non-trivial norms and biases, so that a loader that skips them fails
            for n, p in model.named_parameters():
                if "norm" in n:
                    p.copy_(1 + 0.2 * torch.randn_like(p))
                elif n.endswith(".bias"):
                    p.copy_(0.2 * torch.randn_like(p))
        d = out / "tiny" / arch
        model = model.to(dtypes[arch])
        shard = {"max_shard_size": "40KB"} if arch == "llama" else {}
        model.save_pretrained(d, safe_serialization=True, **shard)
        model = model.float()  # the golden is the stored (rounded) weights, computed in float32
        arch_seqs = long_seqs if arch == "phi3-longrope" else seqs
        tokens, logits = logits_of(model, arch_seqs)
        save_st(d / "logits.safetensors", {"tokens": tokens, "logits": logits},
                {"lengths": [len(s) for s in arch_seqs], "transformers": __import__("transformers").__version__})
        print(f"tiny {arch}: {sum(p.numel() for p in model.parameters())} params, dtype {dtypes[arch]}", flush=True)


def encode(tok, s: str) -> list[int]:
    return tok.encode(s, add_special_tokens=False)


def model_logits(models: Path, out: Path) -> None:
    from transformers import AutoTokenizer

    for mdir in sorted(p for p in models.iterdir() if (p / "config.json").exists()):
        tok = AutoTokenizer.from_pretrained(mdir)
        model = load_model(mdir)
        # One real sentence per model (random token ids are covered by the tiny fixtures): keeps the files small.
        seqs = [[0] + encode(tok, "dog (noun): a member of the genus")]
        tokens, logits = logits_of(model, seqs)
        save_st(out / "logits" / f"{mdir.name}.safetensors", {"tokens": tokens, "logits": logits},
                {"lengths": [len(s) for s in seqs]})
        print(f"logits {mdir.name}: {list(logits.shape)}", flush=True)


# ---------------------------------------------------------------- evaluation goldens (lm-eval conventions)

def encode_pair(tok, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """lm-evaluation-harness HFLM._encode_pair: trailing spaces of the context move to the continuation;
    the continuation's tokens are those of (context + continuation) past the context's tokens."""
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces > 0:
        continuation = context[-n_spaces:] + continuation
        context = context[:-n_spaces]
    whole = encode(tok, context + continuation)
    ctx = encode(tok, context)
    return ctx, whole[len(ctx):]


def loglik(model, bos: list[int], ctx: list[int], cont: list[int], max_len: int) -> tuple[float, bool]:
    seq = (bos + ctx + cont)[-(max_len + 1):]
    inp = torch.tensor([seq[:-1]])
    with torch.no_grad():
        lp = torch.log_softmax(model(inp).logits[0].float(), -1)
    n = len(cont)
    rows = lp[-n:]
    tgt = torch.tensor(cont)
    ll = rows.gather(1, tgt[:, None]).sum().item()
    greedy = bool((rows.argmax(-1) == tgt).all())
    return ll, greedy


def eval_goldens(models: Path, name: str, data: Path, out: Path) -> None:
    from transformers import AutoTokenizer

    mdir = models / name
    tok = AutoTokenizer.from_pretrained(mdir)
    model = load_model(mdir)
    max_len = model.config.max_position_embeddings
    bos = [0]
    res: dict = {"model": name, "bos": bos, "max_length": max_len}
    inputs: dict = {}  # the items scored, pinned beside the golden (the task files may be rebuilt)

    items = [json.loads(x) for x in (data / "tasks" / "dict_define_mc.jsonl").read_text().splitlines()[:30]]
    inputs["dict_define_mc"] = items
    mc = []
    for it in items:
        lls, greedy, ntok = [], [], []
        for ch in it["choices"]:
            ctx, cont = encode_pair(tok, it["context"], " " + ch)
            ll, g = loglik(model, bos, ctx, cont, max_len)
            lls.append(ll), greedy.append(g), ntok.append(len(cont))
        norm = [ll / len(ch) for ll, ch in zip(lls, it["choices"])]
        mc.append({"id": it["id"], "loglik": lls, "is_greedy": greedy, "n_tokens": ntok,
                   "acc": float(int(np.argmax(lls)) == it["gold"]), "acc_norm": float(int(np.argmax(norm)) == it["gold"])})
    res["dict_define_mc"] = mc

    items = [json.loads(x) for x in (data / "tasks" / "dict_kindof_cloze.jsonl").read_text().splitlines()[:80]]
    cloze = []
    for it in items:
        ids = encode(tok, " " + it["target"])
        if len(ids) != 1:
            continue
        ctx = bos + encode(tok, it["prompt"])
        with torch.no_grad():
            lp = torch.log_softmax(model(torch.tensor([ctx])).logits[0, -1].float(), -1)
        rank = int((lp > lp[ids[0]]).sum())
        cloze.append({"id": it["id"], "target_id": ids[0], "rank": rank, "logprob": float(lp[ids[0]])})
    res["dict_kindof_cloze"] = cloze
    inputs["dict_kindof_cloze"] = [it for it in items if it["id"] in {c["id"] for c in cloze}]

    items = [json.loads(x) for x in (data / "tasks" / "dict_kindof_em.jsonl").read_text().splitlines()[:16]]
    inputs["dict_kindof_em"] = items
    gen = []
    for it in items:
        ids = bos + encode(tok, it["prompt"])
        new = []
        with torch.no_grad():
            for _ in range(8):
                nxt = int(model(torch.tensor([ids + new])).logits[0, -1].argmax())
                new.append(nxt)
                text = tok.decode(new)
                if nxt == 0 or "." in text or "\n" in text:
                    break
        gen.append({"id": it["id"], "tokens": new, "text": tok.decode(new)})
    res["dict_kindof_em"] = gen

    text = (data / "heldout_dict.txt").read_text()
    ids = encode(tok, text)
    S = max_len
    windows = [ids[i * S : (i + 1) * S] for i in range(4)]
    nll, count = 0.0, 0
    with torch.no_grad():
        for w in windows:
            lp = torch.log_softmax(model(torch.tensor([w])).logits[0].float(), -1)
            nll -= lp[:-1].gather(1, torch.tensor(w[1:])[:, None]).sum().item()
            count += len(w) - 1
    res["ppl_heldout_dict"] = {"windows": 4, "seqlen": S, "nll_sum": nll, "tokens": count,
                               "total_tokens_in_text": len(ids)}
    (out / "eval").mkdir(parents=True, exist_ok=True)
    (out / "eval" / f"{name}.json").write_text(json.dumps(res, indent=1))
    (out / "eval" / f"{name}.items.json").write_text(json.dumps(inputs, indent=1, ensure_ascii=False))
    print(f"eval goldens {name}: mc {len(mc)} cloze {len(cloze)} gen {len(gen)}", flush=True)


# ---------------------------------------------------------------- GPTQ reference fixtures

def gptq_fixtures(models: Path, layer_model: str, data: Path, out: Path) -> None:
    from transformers import AutoTokenizer

    mdir = models / layer_model
    tok = AutoTokenizer.from_pretrained(mdir)
    model = load_model(mdir)
    ids = encode(tok, (data / "calib_dict.txt").read_text()[:400_000])
    rng = random.Random(5)
    S = model.config.max_position_embeddings
    starts = [rng.randrange(len(ids) - S) for _ in range(32)]
    batches = [torch.tensor([ids[s : s + S]]) for s in starts]

    captured: dict[str, list] = {"down": [], "q": []}
    layers = model.model.layers
    h1 = layers[1].mlp.down_proj.register_forward_hook(lambda m, i, o: captured["down"].append(i[0].detach()))
    h2 = layers[0].self_attn.q_proj.register_forward_hook(lambda m, i, o: captured["q"].append(i[0].detach()))
    with torch.no_grad():
        for b in batches:
            model(b)
    h1.remove(), h2.remove()

    cases = {
        "down_proj": (layers[1].mlp.down_proj.weight.detach().float(), captured["down"], []),
        "q_proj_dead": (layers[0].self_attn.q_proj.weight.detach().float(), captured["q"], [5, 17]),
    }
    settings = {
        "down_proj": [
            dict(bits=4, groupsize=128, sym=True, actorder=False),
            dict(bits=4, groupsize=128, sym=True, actorder=True),
            dict(bits=3, groupsize=32, sym=False, actorder=True),
            dict(bits=2, groupsize=64, sym=False, actorder=True, static_groups=True),
            dict(bits=8, groupsize=-1, sym=True, actorder=False),
            dict(bits=3, groupsize=128, sym=False, actorder=False),
        ],
        "q_proj_dead": [dict(bits=4, groupsize=64, sym=False, actorder=True)],
    }
    for name, (W, acts, dead) in cases.items():
        acc = ref.HessianAccumulator(W.shape[1])
        for a in acts:
            a = a.clone()
            a[..., dead] = 0
            acc.add_batch(a)
        tensors = {"W": W, "H": acc.H}
        meta = {"settings": settings[name], "nsamples": acc.nsamples, "percdamp": 0.01, "blocksize": 128,
                "source": f"{layer_model}", "results": []}
        for k, st in enumerate(settings[name]):
            r = ref.gptq(W, acc.H, percdamp=0.01, **st)
            for key in ("codes", "scales", "zeros", "g_idx", "perm"):
                tensors[f"{k}.{key}"] = r[key]
            recon = ref.dequantize(r)
            meta["results"].append({"loss": r["loss"], "damp": r["damp"],
                                    "weight_mse": float(((recon - W) ** 2).mean())})
        save_st(out / "gptq" / f"{name}.safetensors", tensors, meta)
        print(f"gptq {name}: W {list(W.shape)} losses {[round(x['loss'], 4) for x in meta['results']]}", flush=True)


# ---------------------------------------------------------------- statsmodels OLS fits

PUBLISHED = {  # Qwen3 fits of the study (science.md): A, alpha, beta, gamma, delta
    "KM": (2.08e3, -0.315, -0.964, -0.040, 0.064),
    "KA": (7.37e3, -0.409, -0.982, -0.023, 0.069),
    "KR": (1.27e4, -0.405, -1.356, -0.034, 0.087),
}
CHANCE = {"KM": 0.0, "KA": 0.25, "KR": 0.2}
QWEN3_N = [440467456, 1409410048, 3633511936, 6946075648, 13212482560, 31206298624]
# (N, B, C_b, G) where the fixtures record statsmodels' prediction intervals: in the grid, and far outside it
PROBES = [(6946075648, 4, 32, 64), (31206298624, 3, 128, 128), (70e9, 2, 8, 1024), (1e8, 8, 1024, 32)]


def fit_fixtures(out: Path) -> None:
    import statsmodels.api as sm

    rng = np.random.default_rng(2025)
    rows = []
    for level, (A, a, b, c, d) in PUBLISHED.items():
        for N in QWEN3_N:
            grid = [(B, C, G) for B in (3, 4) for C in (8, 32, 128, 1024) for G in (32, 64, 128, 1024)]
            grid += [(8, 128, 128), (2, 128, 128), (2, 1024, 32)]
            for B, C, G in grid:
                y = A * N**a * math.log2(B) ** b * math.log2(C) ** c * G**d * math.exp(rng.normal(0, 0.08))
                acc_adj = math.exp(-y)
                ch = CHANCE[level]
                rows.append({"model": f"synthetic-{N}", "family": "synthetic", "n_params": N, "bits": B,
                             "group_size": G, "calib_size": C, "level": level, "task": f"synthetic_{level}",
                             "acc": ch + (1 - ch) * acc_adj, "acc_chance": ch})
    (out / "fit").mkdir(parents=True, exist_ok=True)
    with (out / "fit" / "synthetic_rows.jsonl").open("w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")

    formulas = {"f(N,B)": ["N", "B"], "f(N,B,G)": ["N", "B", "G"], "f(N,B,C_b)": ["N", "B", "C"],
                "f(N,B,C_b,G)": ["N", "B", "C", "G"]}
    fits = []
    for level in ("KM", "KA", "KR"):
        sub = [r for r in rows if r["level"] == level]
        adj = np.array([(r["acc"] - r["acc_chance"]) / (1 - r["acc_chance"]) for r in sub])
        keep = adj > 0.01
        cols = {"N": np.log([r["n_params"] for r in sub]), "B": np.log(np.log2([r["bits"] for r in sub])),
                "C": np.log(np.log2([r["calib_size"] for r in sub])), "G": np.log([r["group_size"] for r in sub])}
        y = np.log(-np.log(np.clip(adj, 1e-300, None)))
        for fname, fac in formulas.items():
            X = sm.add_constant(np.column_stack([cols[k][keep] for k in fac]))
            res = sm.OLS(y[keep], X).fit()
            n, p = int(keep.sum()), len(fac)
            pred = np.exp(-np.exp(res.fittedvalues))
            act = adj[keep]
            r2o = 1 - ((act - pred) ** 2).sum() / ((act - act.mean()) ** 2).sum()
            names = ["lnA"] + [{"N": "alpha", "B": "beta", "C": "gamma", "G": "delta"}[k] for k in fac]
            ci = res.conf_int(0.05)
            # predictions with 95% intervals (mean and one new observation) at configurations in and far outside
            # the grid, in the regression's space y = ln(-ln Acc_adj)
            probes = []
            for N, B, C, G in PROBES:
                x0 = {"N": math.log(N), "B": math.log(math.log2(B)), "C": math.log(math.log2(C)), "G": math.log(G)}
                sf = res.get_prediction(np.array([[1.0] + [x0[k] for k in fac]])).summary_frame(alpha=0.05)
                probes.append({"n_params": N, "bits": B, "calib_size": C, "group_size": G, "mean": float(sf["mean"].iloc[0]),
                               "mean_ci": [float(sf["mean_ci_lower"].iloc[0]), float(sf["mean_ci_upper"].iloc[0])],
                               "obs_ci": [float(sf["obs_ci_lower"].iloc[0]), float(sf["obs_ci_upper"].iloc[0])]})
            fits.append({"level": level, "formula": fname, "n": n, "n_dropped": int((~keep).sum()),
                         "coef": {nm: {"est": float(res.params[i]), "se": float(res.bse[i]), "t": float(res.tvalues[i]),
                                       "p": float(res.pvalues[i]), "ci": [float(ci[i][0]), float(ci[i][1])]}
                                  for i, nm in enumerate(names)},
                         "r2_log": float(res.rsquared), "adj_r2_log": float(res.rsquared_adj),
                         "adj_r2_orig": float(1 - (1 - r2o) * (n - 1) / (n - p - 1)),
                         "mae_fit": float(np.abs(act - pred).mean()), "predictions": probes, "statsmodels": sm.__version__})
    (out / "fit" / "statsmodels_fits.json").write_text(json.dumps(fits, indent=1))
    print(f"fit fixtures: {len(rows)} rows, {len(fits)} fits", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", type=Path, required=True)
    ap.add_argument("--default", required=True)
    ap.add_argument("--gptq-model", required=True)
    ap.add_argument("--data", type=Path, default=Path("public/data"))
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--only", default="tiny,logits,eval,gptq,fit")
    ap.add_argument("--archs", default=None, help="with tiny: only these tiny checkpoints (comma-separated)")
    a = ap.parse_args()
    torch.set_num_threads(8)
    only = set(a.only.split(","))
    if "fit" in only:
        fit_fixtures(a.out)
    if "tiny" in only:
        tiny_fixtures(a.out, set(a.archs.split(",")) if a.archs else None)
    if "logits" in only:
        model_logits(a.models, a.out)
    if "eval" in only:
        eval_goldens(a.models, a.default, a.data, a.out)
    if "gptq" in only:
        gptq_fixtures(a.models, a.gptq_model, a.data, a.out)


if __name__ == "__main__":
    main()
