#!/usr/bin/env python3
"""Crosscoder training speed: `embryo crosscode` against the same model in PyTorch, same shapes, same run.

Writes a synthetic activation store in embryo's layout (float16 rows per snapshot), times `embryo crosscode`
on it (batches read from disk), then the same crosscoder in PyTorch (ReLU code over concatenated
snapshots, per-snapshot decoders, decoder-norm-weighted L1, autograd, torch.optim.Adam) on batches drawn
from an in-memory tensor. Prints one JSON line. Needs a release build and `pip install torch numpy`.

With --store DIR both train on that real activation store (embryo reads it from disk, PyTorch holds it in
memory): embryo then profits from the codes' sparsity once L0 falls below 10% of the features, which a
dense PyTorch implementation does not; without it the data is Gaussian noise (dense codes throughout).

Usage: python3 Scripts/bench-crosscoder-vs-pytorch.py [--store DIR] [--snapshots 17] [--d 128]
                                                     [--features 1024] [--batch 512] [--steps 200] [--threads 2]
"""
import argparse, json, os, re, subprocess, tempfile, time

import numpy as np
import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
EMBRYO = os.path.join(ROOT, ".build", "release", "embryo")


def write_store(path, S, d, rows):
    os.makedirs(path, exist_ok=True)
    rng = np.random.default_rng(0)
    snaps = []
    for s in range(S):
        name = f"step-{s:06d}.f16"
        rng.standard_normal((rows, d), dtype=np.float32).astype("<f2").tofile(os.path.join(path, name))
        snaps.append({"step": s, "file": name, "scale": 1.0})
    np.zeros(rows, dtype="<i4").tofile(os.path.join(path, "tokens.i32"))
    np.zeros(rows * 2, dtype="<i4").tofile(os.path.join(path, "where.i32"))
    with open(os.path.join(path, "words.tsv"), "w") as f:
        f.write("-1\t_\t_\n" * rows)
    with open(os.path.join(path, "sentences.txt"), "w") as f:
        f.write("synthetic\n")
    manifest = {"format": "embryo-activations", "version": 1, "layer": 0, "d": d, "rows": rows, "sentences": 1,
                "dtype": "f16", "snapshots": snaps, "checkpoints": "-", "text": "synthetic", "vocab_fnv1a64": "-"}
    with open(os.path.join(path, "store.json"), "w") as f:
        json.dump(manifest, f)


def load_store(path):
    m = json.load(open(os.path.join(path, "store.json")))
    blocks = [np.fromfile(os.path.join(path, s["file"]), dtype="<f2").reshape(m["rows"], m["d"]).astype(np.float32)
              * s["scale"] for s in m["snapshots"]]
    return torch.from_numpy(np.concatenate(blocks, axis=1)), len(blocks), m["d"]


def torch_rate(S, d, F, B, steps, threads, l1=0.5, data=None):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    if data is None:
        data = torch.randn(20000, S * d)
    w_dec = torch.nn.Parameter(torch.randn(F, S * d) * 0.01)
    w_enc = torch.nn.Parameter(w_dec.detach().t().clone())
    b_enc = torch.nn.Parameter(torch.zeros(F))
    b_dec = torch.nn.Parameter(torch.zeros(S * d))
    opt = torch.optim.Adam([w_enc, b_enc, w_dec, b_dec], lr=1e-3)

    def step():
        x = data[torch.randint(0, data.shape[0], (B,))]
        f = torch.relu(x @ w_enc + b_enc)
        xhat = f @ w_dec + b_dec
        norms = w_dec.view(F, S, d).norm(dim=-1).sum(-1)
        loss = ((xhat - x) ** 2).sum(-1).mean() + l1 * (f * norms).sum(-1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(5):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return steps * B / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", default=None)
    ap.add_argument("--snapshots", type=int, default=17)
    ap.add_argument("--d", type=int, default=128)
    ap.add_argument("--features", type=int, default=1024)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    data = None
    if a.store:
        data, a.snapshots, a.d = load_store(a.store)
    with tempfile.TemporaryDirectory() as tmp:
        store = a.store or os.path.join(tmp, "store")
        if not a.store:
            write_store(store, a.snapshots, a.d, 20000)
        r = subprocess.run([EMBRYO, "crosscode", "--activations", store, "--steps", str(a.steps),
                            "--batch-size", str(a.batch), "--features", str(a.features), "--threads", str(a.threads),
                            "--out", os.path.join(tmp, "cc")], capture_output=True, text=True, check=True)
        embryo = float(re.findall(r"(\d+) tokens/s\n", r.stderr)[-1])
    pt = torch_rate(a.snapshots, a.d, a.features, a.batch, a.steps, a.threads, data=data)
    print(json.dumps({"data": a.store or "gaussian", "steps": a.steps, "snapshots": a.snapshots, "d": a.d, "features": a.features, "batch": a.batch,
                      "threads": a.threads, "embryo_tokens_per_s": round(embryo), "pytorch_tokens_per_s": round(pt),
                      "ratio": round(embryo / pt, 2), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
