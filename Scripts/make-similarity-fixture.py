#!/usr/bin/env python3
"""Writes Tests/EmbryoLabTests/Fixtures/similarity.json: random float32 matrices and their linear CKA and
SVCCA computed directly with numpy (CKA through n x n Gram matrices and the centring matrix; SVCCA through
an SVD of each centred side, kept to 99% of its variance, then the singular values of Qx'Qy from QR), as
the oracle for embryo's Similarity (which works in feature space through OpenBLAS and Jacobi)."""
import json
import os

import numpy as np

rng = np.random.default_rng(20261202)
n = 150


def cka(x, y):
    h = np.eye(n) - np.ones((n, n)) / n
    k, l = x @ x.T, y @ y.T
    hkh, hlh = h @ k @ h, h @ l @ h
    return float(np.sum(hkh * hlh) / np.sqrt(np.sum(hkh * hkh) * np.sum(hlh * hlh)))


def svcca(x, y, keep=0.99):
    def reduce(a):
        a = a - a.mean(axis=0)
        u, s, _ = np.linalg.svd(a, full_matrices=False)
        share = np.cumsum(s**2) / np.sum(s**2)
        k = int(np.searchsorted(share, keep) + 1)
        return u[:, :k] * s[:k]

    qx, _ = np.linalg.qr(reduce(x))
    qy, _ = np.linalg.qr(reduce(y))
    r = np.linalg.svd(qx.T @ qy, compute_uv=False)
    return float(np.mean(np.clip(r[: min(qx.shape[1], qy.shape[1])], 0, 1)))


x = rng.standard_normal((n, 12)).astype(np.float32) * np.linspace(3, 0.2, 12).astype(np.float32)
q, _ = np.linalg.qr(rng.standard_normal((12, 12)))
cases = {
    "rotated": (x @ q.astype(np.float32)).astype(np.float32),
    "nonlinear": (np.tanh(x @ rng.standard_normal((12, 9)).astype(np.float32) / 3)
                  + 0.1 * rng.standard_normal((n, 9))).astype(np.float32),
    "independent": rng.standard_normal((n, 10)).astype(np.float32),
}
def floats(a):
    """float32 values printed with 9 significant digits (enough to read back the same float32)."""
    return [float("%.9g" % v) for v in a.flatten()]


out = {"n": n, "x": floats(x), "dx": 12, "cases": []}
for name, y in cases.items():
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    out["cases"].append({
        "name": name, "dy": int(y.shape[1]), "y": floats(y),
        "linear_cka": cka(x64, y64), "svcca": svcca(x64, y64),
    })
path = os.path.join(os.path.dirname(__file__), "..", "Tests", "EmbryoLabTests", "Fixtures", "similarity.json")
with open(path, "w") as f:
    json.dump(out, f)
for c in out["cases"]:
    print(c["name"], c["linear_cka"], c["svcca"])
