#!/usr/bin/env python3
"""Fits the polynomial behind embryo's exact GELU (Sources/EmbryoCore/Kernels/Activation.swift).

The lower tail of the normal distribution is Phi(-|x|) = 0.5 erfc(z) with z = |x| / sqrt(2). Written as
    erfc(z) = t f(t) exp(-z^2),   t = 1 / (1 + z / 2) in (0, 1],
f is smooth and bounded on [0, 1] (f(0) = 1 / (2 sqrt(pi)), f(1) = 1), so one polynomial in t gives the tail
to a relative precision that holds far into it, and exp(-x^2 / 2) is shared with the density phi(x) that the
GELU's derivative needs: one exp per element, forward and backward. This script fits f by least squares in
the Chebyshev basis on 4,000 Chebyshev nodes, converts it to powers of t for Horner's rule, and prints the
coefficients with the relative error of f in double and of the float32 Horner evaluation.
Needs numpy and scipy.  Usage:  python3 Scripts/fit-normal-tail.py [--degree 10]
"""
import argparse

import numpy as np
from scipy.special import erfcx


def f(t):
    z = 2 * (1 / t - 1)
    return erfcx(z) / t


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--degree", type=int, default=10)
    deg = ap.parse_args().degree
    nodes = np.clip(0.5 - 0.5 * np.cos(np.linspace(0, np.pi, 4000)), 1e-12, 1)
    cheb = np.polynomial.chebyshev.Chebyshev.fit(nodes, f(nodes), deg, domain=[0, 1])
    coef = cheb.convert(kind=np.polynomial.Polynomial, domain=[0, 1], window=[0, 1]).coef
    t = np.linspace(1e-7, 1, 100001)
    exact = f(t)
    print(f"degree {deg}: max relative error of the fit {np.max(np.abs(cheb(t) / exact - 1)):.2e} (double)")
    acc = np.float32(coef[-1])
    t32 = t.astype(np.float32)
    for k in range(deg - 1, -1, -1):
        acc = (acc * t32 + np.float32(coef[k])).astype(np.float32)
    print(f"float32 Horner: max relative error {np.max(np.abs(acc / exact - 1)):.2e}")
    print("coefficients of t^0 ... t^%d:" % deg)
    for k, c in enumerate(coef):
        print(f"  t^{k}: {c:.9g}")


if __name__ == "__main__":
    main()
