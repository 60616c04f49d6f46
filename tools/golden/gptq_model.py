#!/usr/bin/env python3
"""The PyTorch GPTQ reference (gptq_reference.py) over a whole model, sequential as GPTQModel and the lab run it:
layer by layer, and within a layer the groups [q, k, v] -> [o] -> [gate, up] -> [down], each group's Hessian from
inputs computed with everything before it already quantized; then the layer's outputs, from its quantized
weights, are the next layer's inputs. fp32 throughout (TF32 off), on the GPU. Prints one JSON object with the
wall time and its phases (forward passes + Hessians, solves).

    python3 tools/golden/gptq_model.py --model DIR [--calib 128] [--seqlen 2048] [--bits 4] [--group 128] [--act-order]

The calibration tokens are random ids (the time does not depend on them), drawn with a fixed seed.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
import gptq_reference as ref  # noqa: E402

GROUPS = [["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"], ["self_attn.o_proj"], ["mlp.gate_proj", "mlp.up_proj"], ["mlp.down_proj"]]


class Catch(Exception):
    pass


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--calib", type=int, default=128)
    ap.add_argument("--seqlen", type=int, default=2048)
    ap.add_argument("--bits", type=int, default=4)
    ap.add_argument("--group", type=int, default=128)
    ap.add_argument("--act-order", action="store_true")
    ap.add_argument("--batch", type=int, default=8, help="calibration sequences per forward pass")
    a = ap.parse_args()
    from transformers import AutoModelForCausalLM
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    model = AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.float32).cuda().eval()
    layers = model.model.layers
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(1000, 1256, (a.calib, a.seqlen), generator=g).cuda()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    # the inputs of layer 0 and the keyword arguments the model passes its layers (mask, rope, positions)
    inps, kw = [], {}
    real0 = layers[0]

    class Catcher(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.attention_type = getattr(real0, "attention_type", "full_attention")

        def forward(self, x, *args, **kwargs):
            inps.append(x)
            kw.update(kwargs)
            raise Catch

    layers[0] = Catcher()
    with torch.no_grad():
        for b in range(0, a.calib, a.batch):
            try:
                model(ids[b:b + a.batch])
            except Catch:
                pass
    layers[0] = real0
    kw.pop("past_key_values", None)
    kw["use_cache"] = False
    fwd = solve = 0.0
    with torch.no_grad():
        for layer in layers:
            for group in GROUPS:
                mods = {n: layer.get_submodule(n) for n in group}
                acc = {n: ref.HessianAccumulator(m.in_features) for n, m in mods.items()}
                for h in acc.values():
                    h.H = h.H.cuda()
                hooks = [m.register_forward_hook(lambda mod, i, o, n=n: acc[n].add_batch(i[0].detach())) for n, m in mods.items()]
                torch.cuda.synchronize()
                t1 = time.perf_counter()
                for x in inps:
                    layer(x, **kw)
                torch.cuda.synchronize()
                fwd += time.perf_counter() - t1
                for h in hooks:
                    h.remove()
                t1 = time.perf_counter()
                for n, m in mods.items():
                    res = ref.gptq(m.weight.data, acc[n].H, bits=a.bits, groupsize=a.group, sym=True, actorder=a.act_order, percdamp=0.05)
                    m.weight.data = ref.dequantize(res).to(m.weight.dtype)
                torch.cuda.synchronize()
                solve += time.perf_counter() - t1
            t1 = time.perf_counter()
            outs = []
            for x in inps:
                y = layer(x, **kw)
                outs.append(y[0] if isinstance(y, tuple) else y)
            inps = outs
            torch.cuda.synchronize()
            fwd += time.perf_counter() - t1
    total = time.perf_counter() - t0
    print(json.dumps({"impl": "pytorch-reference (tools/golden/gptq_reference.py), fp32, sequential", "device": torch.cuda.get_device_name(0),
                      "model": a.model, "calib": a.calib, "seqlen": a.seqlen, "bits": a.bits, "group": a.group, "act_order": a.act_order,
                      "seconds": total, "forward_and_hessian_seconds": fwd, "solve_seconds": solve}, indent=1))


if __name__ == "__main__":
    main()
