#!/usr/bin/env python3
"""Full-depth correctness of the lab at a real shape, against Hugging Face transformers on the same files
(tools/device/realsize.sh runs it on the GPU machine). Prints one JSON object.

  --model DIR          the float checkpoint (quantlab synth); transformers reads it in fp32
  --lab-logits FILE    the lab's logits of the same tokens (quantlab logits --out: tensors "logits", "tokens")
  --lab-ppl X          the lab's token perplexity (quantlab eval --tasks ppl --suite real --ppl-windows W)
  --windows W          the windows it used (S = min(2048, context), WikiText-2 tokenized whole)
  --wikitext FILE      the text
  --q4 DIR             the lab's GPTQ export of --model
  --lab-q4-logits FILE the lab's logits of the same tokens on the GPTQ export (packed forward pass)

Checks: logits max |lab - hf| / max |hf| and the share of positions with the same argmax; perplexity relative
difference; the GPTQ export dequantized independently here (numpy, from qweight / qzeros / scales / g_idx, the
GPTQModel layout) into the fp32 model, whose logits are compared with the lab's packed forward pass; whether
transformers' own GPTQ loader is installed, and if so its logits too.
"""
import argparse
import json
import math
import sys
import time

import numpy as np
import torch
from safetensors.numpy import load_file


def compare(lab: np.ndarray, ref: np.ndarray) -> dict:
    lab, ref = lab.astype(np.float64), ref.astype(np.float64)
    err = np.abs(lab - ref)
    return {
        "max_abs_err": float(err.max()),
        "rel_err": float(err.max() / np.abs(ref).max()),
        "rel_err_per_position_max": float((err.max(axis=1) / np.abs(ref).max(axis=1)).max()),
        "argmax_agree": float((lab.argmax(axis=1) == ref.argmax(axis=1)).mean()),
        "positions": int(ref.shape[0]),
    }


def hf_logits(model, tokens: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        ids = torch.from_numpy(tokens.astype(np.int64))[None].to(model.device)
        return model(ids).logits[0].float().cpu().numpy()


def unpack(words: np.ndarray, bits: int, count: int, axis: int) -> np.ndarray:
    """Codes packed `32 // bits` per int32 along `axis` (GPTQModel: low bits first). 2, 4, 8 bits."""
    per = 32 // bits
    w = words.astype(np.uint32)
    shifts = (np.arange(per, dtype=np.uint32) * bits)
    if axis == 0:
        codes = (w[:, None, :] >> shifts[None, :, None]) & ((1 << bits) - 1)
        return codes.reshape(-1, w.shape[1])[:count]
    codes = (w[:, :, None] >> shifts[None, None, :]) & ((1 << bits) - 1)
    return codes.reshape(w.shape[0], -1)[:, :count]


def dequantize(t: dict, base: str, bits: int, fmt: str) -> np.ndarray:
    qweight, qzeros = t[f"{base}.qweight"], t[f"{base}.qzeros"]
    scales, g_idx = t[f"{base}.scales"].astype(np.float32), t[f"{base}.g_idx"].astype(np.int64)
    K, N = g_idx.shape[0], scales.shape[1]
    q = unpack(qweight, bits, K, axis=0).astype(np.float32)                     # [K, N]
    z = unpack(qzeros, bits, N, axis=1).astype(np.float32) + (1 if fmt == "gptq" else 0)  # [groups, N]
    return (scales[g_idx] * (q - z[g_idx])).T                                      # [N, K]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--lab-logits", required=True)
    ap.add_argument("--lab-ppl", type=float)
    ap.add_argument("--windows", type=int, default=4)
    ap.add_argument("--wikitext")
    ap.add_argument("--q4")
    ap.add_argument("--lab-q4-logits")
    a = ap.parse_args()
    from transformers import AutoModelForCausalLM
    out: dict = {"model": a.model, "device": torch.cuda.get_device_name(0)}
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    t0 = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.float32).cuda().eval()
    out["hf_load_seconds"] = time.perf_counter() - t0
    lab = load_file(a.lab_logits)
    tokens = lab["tokens"]
    out["float"] = compare(lab["logits"], hf_logits(model, tokens))
    print(json.dumps({"float": out["float"]}), file=sys.stderr, flush=True)

    if a.lab_ppl is not None and a.wikitext:
        from tokenizers import Tokenizer
        tok = Tokenizer.from_file(f"{a.model}/tokenizer.json")
        ids = tok.encode(open(a.wikitext, encoding="utf-8").read(), add_special_tokens=True).ids
        S = min(2048, model.config.max_position_embeddings)
        nll, count = 0.0, 0
        with torch.no_grad():
            for w in range(a.windows):
                x = torch.tensor(ids[w * S:(w + 1) * S], device="cuda")[None]
                logp = torch.log_softmax(model(x).logits[0].double(), dim=-1)
                nll -= logp[torch.arange(S - 1), x[0, 1:]].sum().item()
                count += S - 1
        ppl = math.exp(nll / count)
        out["perplexity"] = {"hf": ppl, "lab": a.lab_ppl, "rel_diff": abs(a.lab_ppl - ppl) / ppl, "windows": a.windows, "seq_len": S, "text_tokens": len(ids)}
        print(json.dumps({"perplexity": out["perplexity"]}), file=sys.stderr, flush=True)

    if a.q4 and a.lab_q4_logits:
        cfg = json.load(open(f"{a.q4}/config.json"))["quantization_config"]
        # the packed tensors as numpy; torch reads the file (numpy has no bfloat16 for the copied embedding)
        import glob
        from safetensors.torch import load_file as load_torch
        t = {}
        for f in sorted(glob.glob(f"{a.q4}/*.safetensors")):
            t.update({k: v.numpy() for k, v in load_torch(f).items() if k.rsplit(".", 1)[-1] in ("qweight", "qzeros", "scales", "g_idx")})
        replaced = 0
        with torch.no_grad():
            for name, mod in model.named_modules():
                if f"{name}.qweight" in t:
                    w = dequantize(t, name, cfg["bits"], cfg.get("checkpoint_format", "gptq"))
                    mod.weight.copy_(torch.from_numpy(w))
                    replaced += 1
        lab_q = load_file(a.lab_q4_logits)
        out["gptq"] = {"layers_dequantized": replaced, "bits": cfg["bits"], "group_size": cfg["group_size"], "desc_act": cfg["desc_act"],
                       **compare(lab_q["logits"], hf_logits(model, lab_q["tokens"]))}
        print(json.dumps({"gptq": out["gptq"]}), file=sys.stderr, flush=True)
        del model
        torch.cuda.empty_cache()
        # transformers' own GPTQ path needs a GPTQ kernel package (gptqmodel / auto-gptq via optimum)
        import importlib.util
        have = [m for m in ("gptqmodel", "auto_gptq", "optimum") if importlib.util.find_spec(m)]
        out["transformers_gptq_loader"] = {"packages": have}
        if have:
            try:
                qm = AutoModelForCausalLM.from_pretrained(a.q4, device_map="cuda").eval()
                out["transformers_gptq_loader"].update(compare(lab_q["logits"], hf_logits(qm, lab_q["tokens"])))
            except Exception as e:  # reported, not fatal: the numpy dequantization above is the check
                out["transformers_gptq_loader"]["error"] = f"{type(e).__name__}: {e}"[:400]
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
