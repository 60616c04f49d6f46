#!/usr/bin/env python3
"""Writes public/models/index.json (the lab's list of bundled models) and public/models/MODELS.md from the
training report (tools/train/report.json, copied from the GPU run) and the shipped files' checksums.

    python3 tools/train/write_index.py
"""
import hashlib
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "public" / "models"
DEFAULT = "qwen3-dict-74k"

report = json.loads((ROOT / "tools" / "train" / "report.json").read_text())
models = sorted(report["models"], key=lambda m: (m["arch"], m["n_params_non_embedding"]))
index = {"default": DEFAULT, "models": [
    {"name": m["name"], "arch": m["arch"], "n_params_non_embedding": m["n_params_non_embedding"],
     "n_params": m["n_params"], "layers": m["layers"], "hidden": m["hidden"], "default": m["name"] == DEFAULT,
     "files": sorted(p.name for p in (MODELS / m["name"]).iterdir())}
    for m in models]}
(MODELS / "index.json").write_text(json.dumps(index, indent=1) + "\n")

rows = []
for m in models:
    st = MODELS / m["name"] / "model.safetensors"
    sha = hashlib.sha256(st.read_bytes()).hexdigest()
    rows.append(f"| {m['name']} | {'Qwen3ForCausalLM' if m['arch'] == 'qwen3' else 'LlamaForCausalLM'} | {m['layers']} | "
                f"{m['hidden']} | {m['heads']} / {m['kv_heads']} | {m['head_dim']} | {m['intermediate']} | "
                f"{m['n_params_non_embedding']:,} | {m['n_params']:,} | {m['train_tokens'] / 1e6:.0f}M | "
                f"{m['heldout_token_ppl_256']:.2f} | `{sha[:16]}` |")
samples = "\n".join(f"- **{m['name']}** — `A poodle is a kind of` → `{m['samples']['A poodle is a kind of'].strip()}`; "
                    f"`dog (noun):` → `{m['samples']['dog (noun):'].strip()[:90]}`" for m in models)
(MODELS / "MODELS.md").write_text(f"""# The lab's model family

Eight small, really trained decoder-only models: four sizes of Hugging Face `Qwen3ForCausalLM` and four of
`LlamaForCausalLM` (with Llama-3 rope scaling), trained from scratch with transformers' own classes on the same
data, tokenizer and token budget. Sizes span {models[-1]['n_params_non_embedding'] / models[0]['n_params_non_embedding']:.0f}x
in N (non-embedding parameters, as the study counts them). `{DEFAULT}` is the lab's bundled default.

| model | class | layers | width | heads / KV | head dim | MLP | N (non-embedding) | all params | training tokens | held-out token PPL @ {report['context']} | sha256 (model.safetensors) |
|---|---|---|---|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

Held-out perplexity falls monotonically with N within each family: a real scaling curve.

- **Data**: WordNet 3.0 glosses and relations (Debian `wordnet-base`, WordNet 3.0 licence) written as plain
  sentences ("A poodle is a kind of dog."), and the Collaborative International Dictionary of English (Debian
  `dict-gcide`, GPL-3+): {report['train_tokens_available'] / 1e6:.1f}M training tokens; 5% of entries held out by a hash of
  their key. Built by `python3 tools/data/build.py` (see public/data/DATA.md).
- **Tokenizer**: byte-level BPE, {report['vocab']} tokens, trained on the training split with Hugging Face `tokenizers`
  (`tokenizer.json`); `<|endoftext|>` (id 0) separates documents and starts every sequence.
- **Training**: context {report['context']}, batch 128 x {report['context']} tokens, AdamW (0.9, 0.95, wd 0.1), warm-up then
  cosine decay, bf16 autocast, one fixed seed; stored as float16 safetensors. One command on a GPU machine:
  `python3 tools/train/family.py --corpus .carry/corpus --out /tmp/family` (~3 min on an H100 for all eight;
  the whole run with goldens: `bash tools/device/train_family.sh`).
- **Licence of the weights**: derived from GPL-3+ (GCIDE) and WordNet-licensed text; distributed under GPL-3.0-or-later.

Greedy samples (the largest are the most coherent):

{samples}
""")
print(f"wrote {MODELS / 'index.json'} and MODELS.md for {len(models)} models")
