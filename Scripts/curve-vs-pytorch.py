#!/usr/bin/env python3
"""Training-dynamics oracle: retrain an embryo run in transformers and compare the loss curves.

Starts transformers' AlbertForPreTraining from the run's step-0 checkpoint and trains it on the run's own
batches (written by `embryo batches`), with the run's optimizer (LAMB as google-research/albert's
lamb_optimizer.py, or torch.optim.AdamW), its linear warmup/decay schedule and global-norm clipping at 1.
Prints both loss curves step by step and their difference. The run must log every step
(`embryo pretrain --log-every 1`) for a step-by-step comparison; otherwise the logged steps are compared.

Usage: Scripts/curve-vs-pytorch.py --run runs/oracle [--steps 300] [--embryo .build/release/embryo]
Needs: pip install torch transformers safetensors
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

import torch
from safetensors.torch import load_file
from transformers import AlbertForPreTraining

NO_DECAY = ("LayerNorm", "bias")


def lamb_step(named, state, lr, b1=0.9, b2=0.999, eps=1e-6, wd=0.01):
    # no bias correction; LayerNorm weights and biases get neither decay nor the trust ratio
    with torch.no_grad():
        for name, p in named:
            if p.grad is None:
                continue
            m, v = state.setdefault(name, (torch.zeros_like(p), torch.zeros_like(p)))
            m.mul_(b1).add_(p.grad, alpha=1 - b1)
            v.mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
            u = m / (v.sqrt() + eps)
            if not any(k in name for k in NO_DECAY):
                u = u + wd * p
                wn, un = p.norm(), u.norm()
                if wn > 0 and un > 0:
                    u = u * (wn / un)
            p.add_(u, alpha=-lr)


def schedule(step, peak, warmup, total):
    # embryo's LinearSchedule: step counts updates from 1
    if warmup > 0 and step <= warmup:
        return peak * step / warmup
    return peak * max(0, total - step + 1) / max(1, total - warmup)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", required=True, help="embryo run directory")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--embryo", default=".build/release/embryo")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", help="also write both curves to this JSON file")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    run = json.load(open(os.path.join(args.run, "run.json")))
    cfg = run["config"]
    steps = min(args.steps, cfg["steps"])
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "batches.safetensors")
        subprocess.run([args.embryo, "batches", "--run", args.run, "--range", f"1-{steps}", "--out", path],
                       check=True, stdout=subprocess.DEVNULL)
        batches = load_file(path)

    model = AlbertForPreTraining.from_pretrained(os.path.join(args.run, "checkpoints", "step-000000"))
    model.eval()  # embryo trains without dropout; eval() turns every dropout off, gradients still flow
    named = [(n, p) for n, p in model.named_parameters()]
    adamw = None
    if cfg["optimizer"] == "adamw":
        decay = [p for n, p in named if not any(k in n for k in NO_DECAY)]
        rest = [p for n, p in named if any(k in n for k in NO_DECAY)]
        adamw = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": rest, "weight_decay": 0.0}],
                                  lr=cfg["lr"], betas=(0.9, 0.999), eps=1e-6)
    state = {}

    embryo = {}
    for line in open(os.path.join(args.run, "train_log.jsonl")):
        row = json.loads(line)
        if "loss" in row:
            embryo[row["step"]] = row

    torch_curve = []
    for s in range(1, steps + 1):
        i = s - 1
        out = model(input_ids=batches["input_ids"][i], token_type_ids=batches["token_type_ids"][i],
                    attention_mask=batches["attention_mask"][i], labels=batches["labels"][i],
                    sentence_order_label=batches["sentence_order_label"][i])
        model.zero_grad(set_to_none=True)
        out.loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        lr = schedule(s, cfg["lr"], cfg["warmup"], cfg["steps"])
        if adamw is not None:
            for g in adamw.param_groups:
                g["lr"] = lr
            adamw.step()
        else:
            lamb_step(named, state, lr)
        torch_curve.append((s, out.loss.item(), norm.item()))

    print(f"{'step':>5} {'embryo':>9} {'torch':>9} {'diff':>9}   {'embryo |g|':>10} {'torch |g|':>10}")
    diffs = []
    rows = []
    for s, loss, norm in torch_curve:
        e = embryo.get(s)
        if e is None:
            continue
        d = e["loss"] - loss
        diffs.append(d)
        rows.append({"step": s, "embryo_loss": e["loss"], "torch_loss": loss, "diff": d,
                     "embryo_grad_norm": e["grad_norm"], "torch_grad_norm": norm})
        print(f"{s:5d} {e['loss']:9.4f} {loss:9.4f} {d:+9.4f}   {e['grad_norm']:10.4f} {norm:10.4f}")
    if not diffs:
        sys.exit("no common steps: was the run logged (train_log.jsonl)?")
    n = len(diffs)
    mean = sum(diffs) / n
    mean_abs = sum(abs(d) for d in diffs) / n
    max_abs = max(abs(d) for d in diffs)
    # trend: least-squares slope of the difference against step, and the mean difference per quarter
    xs = [r["step"] for r in rows]
    mx = sum(xs) / n
    slope = sum((x - mx) * (d - mean) for x, d in zip(xs, diffs)) / max(1e-12, sum((x - mx) ** 2 for x in xs))
    quarters = [diffs[k * n // 4:(k + 1) * n // 4] for k in range(4)]
    q = ", ".join(f"{sum(c) / max(1, len(c)):+.4f}" for c in quarters)
    print(f"steps compared: {n}; difference embryo - torch: mean {mean:+.4f}, mean |d| {mean_abs:.4f}, "
          f"max |d| {max_abs:.4f}; slope {slope * 100:+.5f} per 100 steps; mean per quarter: {q}")
    print(f"final loss: embryo {rows[-1]['embryo_loss']:.4f}, torch {rows[-1]['torch_loss']:.4f}")
    if args.json:
        json.dump({"rows": rows, "mean": mean, "mean_abs": mean_abs, "max_abs": max_abs, "slope": slope},
                  open(args.json, "w"), indent=1)


if __name__ == "__main__":
    main()
