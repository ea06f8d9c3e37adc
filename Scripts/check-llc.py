#!/usr/bin/env python3
"""Checks embryo's local learning coefficient against devinterp's sampler, snapshot by snapshot.

For each snapshot, `embryo llc-sweep` estimates the LLC with one cell of settings and records the
training step of every minibatch of every chain; `embryo batches` writes those steps' batches; then
transformers' AlbertForPreTraining (BertForPreTraining for a BERT run), loaded from the same checkpoint, is sampled by devinterp's SGMCMC
optimizer (sgld or rmsprop_sgld) with the same step size, localisation, inverse temperature, chains,
burn-in, draws and minibatches, and its estimate is formed the same way: n_beta times the mean loss of
the draws minus the loss at w* on the same minibatches, a chain at a time. The noise differs (torch's
generator), so the two estimates agree in distribution: the table gives both with their standard
errors over chains, the difference in combined standard errors, and the wall-time ratio.

  Scripts/check-llc.py --run DIR --steps 64,400,1600 [--eps 1e-4] [--gamma 1000] [--nbeta X]
      [--chains 4] [--draws 100] [--burnin 30] [--batch 16] [--seed 1] [--sampler sgld|rmsprop-sgld]
      [--threads 2] [--embryo BIN]

Needs: pip install torch transformers safetensors devinterp (never needed by the build or the tests).
"""
import argparse, json, os, subprocess, sys, tempfile, time

import torch
from safetensors.torch import load_file
from transformers import AutoModelForPreTraining
from devinterp.optim.sgmcmc import SGMCMC


def embryo_cell(args, ckpt, out):
    """One llc-sweep cell on the checkpoint: its sweep.jsonl row."""
    cmd = [args.embryo, "llc-sweep", "--checkpoint", ckpt, "--eps", str(args.eps), "--gamma", str(args.gamma),
           "--llc-chains", str(args.chains), "--llc-draws", str(args.draws), "--llc-burnin", str(args.burnin),
           "--llc-batch", str(args.batch), "--llc-seed", str(args.seed), "--llc-sampler", args.sampler,
           "--threads", str(args.threads), "--out", out]
    if args.nbeta:
        cmd += ["--nbeta", str(args.nbeta)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(out, "sweep.jsonl")) as f:
        return json.loads(f.readline())["cell"]


def batches(args, steps, out):
    """The run's training batches of `steps` (distinct, any order): {step: dict of tensors}."""
    wanted = sorted(set(s for chain in steps for s in chain))
    path = os.path.join(out, "batches.safetensors")
    subprocess.run([args.embryo, "batches", "--run", args.run, "--range", ",".join(map(str, wanted)),
                    "--out", path], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t = load_file(path)
    order_key = "sentence_order_label" if "sentence_order_label" in t else "next_sentence_label"
    b = args.batch
    return {s: {"input_ids": t["input_ids"][i, :b], "token_type_ids": t["token_type_ids"][i, :b],
                "attention_mask": t["attention_mask"][i, :b], "labels": t["labels"][i, :b],
                "sentence_order_label": t[order_key][i, :b]} for i, s in enumerate(wanted)}


def devinterp_estimate(args, ckpt, steps, data, nbeta):
    """devinterp's sampler on transformers' model: (per-chain estimates, seconds)."""
    model = AutoModelForPreTraining.from_pretrained(ckpt).eval()
    center = {k: v.detach().clone() for k, v in model.state_dict().items()}
    make = SGMCMC.sgld if args.sampler == "sgld" else SGMCMC.rmsprop_sgld
    estimates, t0 = [], time.time()
    for c, chain in enumerate(steps):
        model.load_state_dict(center)
        with torch.no_grad():
            at_center = [model(**data[s]).loss.item() for s in chain[args.burnin:]]
        opt = make(model.parameters(), lr=args.eps, localization=args.gamma, nbeta=nbeta)
        gen = torch.Generator().manual_seed(args.seed * 1000 + c)
        trace = []
        for t, s in enumerate(chain):
            opt.zero_grad()
            loss = model(**data[s]).loss
            loss.backward()
            if t >= args.burnin:
                trace.append(loss.item())
            opt.step(noise_generator=gen)
        estimates.append(nbeta * (sum(trace) / len(trace) - sum(at_center) / len(at_center)))
    return estimates, time.time() - t0


def mean_se(xs):
    if len(xs) < 2:
        sys.exit(f"check-llc: {len(xs)} chain(s) left after divergence: give more --chains or gentler settings")
    m = sum(xs) / len(xs)
    v = sum((x - m) ** 2 for x in xs) / (len(xs) - 1)
    return m, (v / len(xs)) ** 0.5


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--steps", required=True, help="snapshot steps, comma-separated")
    ap.add_argument("--eps", type=float, default=1e-4)
    ap.add_argument("--gamma", type=float, default=1000)
    ap.add_argument("--nbeta", type=float, default=None)
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--draws", type=int, default=100)
    ap.add_argument("--burnin", type=int, default=30)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--sampler", choices=["sgld", "rmsprop-sgld"], default="sgld")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--embryo", default=".build/release/embryo")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"settings: {args.sampler}, eps {args.eps}, gamma {args.gamma}, chains {args.chains}, draws {args.draws}, "
          f"burn-in {args.burnin}, batch {args.batch}, seed {args.seed}, {args.threads} threads")
    print("| step | embryo LLC | devinterp LLC | difference / combined s.e. | agree (< 2) | wall time devinterp / embryo |")
    print("| ---: | ---: | ---: | ---: | :-: | ---: |")
    with tempfile.TemporaryDirectory() as tmp:
        for step in (int(s) for s in args.steps.split(",")):
            ckpt = os.path.join(args.run, "checkpoints", f"step-{step:06d}")
            out = os.path.join(tmp, f"cell-{step}")
            cell = embryo_cell(args, ckpt, out)
            e = [c["estimate"] for c in cell["estimate"]["chains"] if c.get("estimate") is not None]
            em, ese = mean_se(e)
            nbeta = cell["estimate"]["nbeta"]
            data = batches(args, cell["steps"], out)
            d, seconds = devinterp_estimate(args, ckpt, cell["steps"], data, nbeta)
            dm, dse = mean_se(d)
            z = abs(em - dm) / max((ese ** 2 + dse ** 2) ** 0.5, 1e-12)
            print(f"| {step} | {em:.3f} ± {ese:.3f} | {dm:.3f} ± {dse:.3f} | {z:.2f} | {'yes' if z < 2 else 'no'} "
                  f"| {seconds / cell['seconds']:.2f} |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
