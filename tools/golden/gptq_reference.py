"""The GPTQ reference algorithm (Frantar et al. 2022), written from the published algorithm and the
IST-DASLab gptq.py / GPTQModel conventions, in PyTorch. Used only to produce golden fixtures that the
lab's WGSL GPTQ is tested against (tests/quant/gptq.golden.test.ts).

Conventions kept exactly, because the lab must reproduce them bit for bit:
- Hessian: H = 2/n * sum over *sequences* (not tokens) of X^T X, as a running average per add_batch call.
- Quantizer: per-row min/max over the group, clamped to include 0; sym -> zero = (maxq+1)/2 and
  xmin = -xmax where xmin < 0; scale = (xmax - xmin)/maxq; asym zero = round(-xmin/scale); all-zero rows
  get [-1, 1]. torch.round is round-half-to-even.
- Dead columns (H_ii = 0): H_ii := 1 and W[:, i] := 0 before anything else.
- Act-order: columns sorted by descending diag(H) (torch.argsort, stable=False on the GPU, so ties are
  broken here with stable=True to make the fixture reproducible); groups follow the permuted order unless
  static_groups, where group params are computed up front on the original column order.
- Group parameters for dynamic groups are found on W (the block's state before its in-block updates),
  not on W1: the reference does this, and so must we.
- damp = percdamp * mean(diag(H)); cholesky -> cholesky_inverse -> cholesky(upper) gives Hinv.
- Block size 128, lazy batch update of the trailing columns.
"""
from __future__ import annotations

import math

import torch


class HessianAccumulator:
    def __init__(self, columns: int, dtype=torch.float32):
        self.H = torch.zeros(columns, columns, dtype=dtype)
        self.nsamples = 0

    def add_batch(self, inp: torch.Tensor) -> None:
        """inp: [batch, seq, columns] (or [seq, columns] = one sequence)."""
        if inp.dim() == 2:
            inp = inp.unsqueeze(0)
        tmp = inp.shape[0]
        x = inp.reshape(-1, inp.shape[-1]).t().to(self.H.dtype)
        self.H *= self.nsamples / (self.nsamples + tmp)
        self.nsamples += tmp
        x = math.sqrt(2 / self.nsamples) * x
        self.H += x.matmul(x.t())


def find_params(x: torch.Tensor, bits: int, sym: bool) -> tuple[torch.Tensor, torch.Tensor]:
    maxq = 2**bits - 1
    tmp = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
    xmin = torch.minimum(x.min(1).values, tmp)
    xmax = torch.maximum(x.max(1).values, tmp)
    if sym:
        xmax = torch.maximum(torch.abs(xmin), xmax)
        neg = xmin < 0
        if torch.any(neg):
            xmin[neg] = -xmax[neg]
    both = (xmin == 0) & (xmax == 0)
    xmin[both] = -1
    xmax[both] = +1
    scale = (xmax - xmin) / maxq
    if sym:
        zero = torch.full_like(scale, (maxq + 1) / 2)
    else:
        zero = torch.round(-xmin / scale)
    return scale, zero


def quantize_codes(x: torch.Tensor, scale: torch.Tensor, zero: torch.Tensor, maxq: int) -> torch.Tensor:
    return torch.clamp(torch.round(x / scale) + zero, 0, maxq)


def gptq(W: torch.Tensor, H: torch.Tensor, bits: int, groupsize: int, sym: bool, actorder: bool,
         static_groups: bool = False, percdamp: float = 0.01, blocksize: int = 128) -> dict:
    W = W.clone().float()
    H = H.clone().float()
    rows, columns = W.shape
    maxq = 2**bits - 1
    G = columns if groupsize == -1 else groupsize
    dead = torch.diag(H) == 0
    H[dead, dead] = 1
    W[:, dead] = 0

    groups = []
    if static_groups:
        for i in range(0, columns, G):
            groups.append(find_params(W[:, i : i + G], bits, sym))
    perm = torch.arange(columns, device=W.device)
    if actorder:
        perm = torch.argsort(torch.diag(H), descending=True, stable=True)
        W = W[:, perm]
        H = H[perm][:, perm]
    invperm = torch.argsort(perm)

    Losses = torch.zeros_like(W)
    Q = torch.zeros_like(W)  # integer codes, in the permuted order during the loop
    damp = percdamp * torch.mean(torch.diag(H))
    idx = torch.arange(columns, device=W.device)
    H[idx, idx] += damp
    L = torch.linalg.cholesky(H)
    Hinv = torch.linalg.cholesky(torch.cholesky_inverse(L), upper=True)

    scale, zero = find_params(W, bits, sym)  # per-channel params (used when groupsize == -1)
    scales, zeros = [], []
    if groupsize == -1:
        scales.append(scale)
        zeros.append(zero)
    for i1 in range(0, columns, blocksize):
        i2 = min(i1 + blocksize, columns)
        count = i2 - i1
        W1 = W[:, i1:i2].clone()
        Q1 = torch.zeros_like(W1)
        Err1 = torch.zeros_like(W1)
        Losses1 = torch.zeros_like(W1)
        Hinv1 = Hinv[i1:i2, i1:i2]
        for i in range(count):
            w = W1[:, i]
            d = Hinv1[i, i]
            if groupsize != -1:
                if not static_groups:
                    if (i1 + i) % groupsize == 0:
                        scale, zero = find_params(W[:, i1 + i : i1 + i + groupsize], bits, sym)
                        scales.append(scale)
                        zeros.append(zero)
                else:
                    col = int(perm[i1 + i])
                    scale, zero = groups[col // groupsize]
            q = quantize_codes(w.unsqueeze(1), scale.unsqueeze(1), zero.unsqueeze(1), maxq).flatten()
            deq = scale * (q - zero)
            Q1[:, i] = q
            Losses1[:, i] = (w - deq) ** 2 / d**2
            err1 = (w - deq) / d
            W1[:, i:] -= err1.unsqueeze(1).matmul(Hinv1[i, i:].unsqueeze(0))
            Err1[:, i] = err1
        Q[:, i1:i2] = Q1
        Losses[:, i1:i2] = Losses1 / 2
        W[:, i2:] -= Err1.matmul(Hinv[i1:i2, i2:])

    Q = Q[:, invperm]
    if static_groups:
        scales = [s for s, _ in groups]
        zeros = [z for _, z in groups]
        g_idx = torch.arange(columns, device=W.device) // G
    elif groupsize == -1:
        g_idx = torch.zeros(columns, dtype=torch.long, device=W.device)
    else:
        g_idx = (torch.arange(columns, device=W.device) // G)[invperm]
    return {
        "codes": Q.to(torch.uint8),
        "scales": torch.stack(scales),  # [ngroups, rows]
        "zeros": torch.stack(zeros),
        "g_idx": g_idx.to(torch.int32),
        "perm": perm.to(torch.int32),
        "loss": float(Losses.sum()),
        "damp": float(damp),
    }


def dequantize(res: dict) -> torch.Tensor:
    s = res["scales"][res["g_idx"].long()].t()
    z = res["zeros"][res["g_idx"].long()].t()
    return s * (res["codes"].float() - z)
