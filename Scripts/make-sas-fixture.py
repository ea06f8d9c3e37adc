#!/usr/bin/env python3
"""Regenerates the committed fixture of the syntactic-attention regulariser (Chen et al. 2024) from
PyTorch + transformers: the loss of AlbertForPreTraining plus LAMBDA times, over gold arcs, the largest
attention weight (over layers and heads) from dependent to head plus the largest from head to dependent,
written independently of embryo's code from the definition, and every parameter's gradient of that total.

It reuses the model and inputs of Tests/EmbryoCoreTests/Fixtures/albert-<kind>/ (made by make-fixtures.py)
and writes Tests/EmbryoCoreTests/Fixtures/sas-<kind>/expected.safetensors with
    gold_heads (B, T; -1 = no arc), lambda, term (the sum without lambda), loss, grad.<name>.
Usage:  python3 Scripts/make-sas-fixture.py
"""
import os, sys

import torch
import transformers
from safetensors.torch import load_file, save_file
from transformers import AlbertForPreTraining

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "EmbryoCoreTests", "Fixtures")
LAMBDA = 0.5


def gold_heads(mask):
    """A projective chain-and-star tree per sequence over its attended positions 1..n-2 ([CLS] and the last
    [SEP] without arcs): position 1 is the root, every other position's head is the previous one or the
    root, alternating, so arcs point both left and a long way back."""
    B, T = mask.shape
    heads = torch.full((B, T), -1, dtype=torch.long)
    for b in range(B):
        n = int(mask[b].sum())
        for t in range(2, n - 1):
            heads[b, t] = t - 1 if t % 2 == 0 else 1
    return heads


def make(kind):
    src = os.path.join(FIXTURES, f"albert-{kind}")
    expected = load_file(os.path.join(src, "expected.safetensors"))
    batch = {k[len("input."):]: v.long() for k, v in expected.items() if k.startswith("input.")}
    model = AlbertForPreTraining.from_pretrained(src, attn_implementation="eager")
    model.eval()
    heads = gold_heads(batch["attention_mask"])
    out = model(**batch, output_attentions=True)
    att = torch.stack(out.attentions)  # (L, B, NH, T, T): query rows, key columns
    term = torch.zeros(())
    for b, t in (heads >= 0).nonzero().tolist():
        j = int(heads[b, t])
        term = term + att[:, b, :, t, j].max() + att[:, b, :, j, t].max()
    loss = out.loss + LAMBDA * term
    loss.backward()
    t = {"gold_heads": heads.float(), "lambda": torch.tensor([LAMBDA]), "term": term.reshape(1),
         "loss": loss.reshape(1)}
    for n, p in model.named_parameters():
        t[f"grad.{n}"] = p.grad
    t = {k: v.detach().contiguous().float() for k, v in t.items()}
    d = os.path.join(FIXTURES, f"sas-{kind}")
    os.makedirs(d, exist_ok=True)
    meta = {"fixture_version": "1", "torch": torch.__version__, "transformers": transformers.__version__}
    save_file(t, os.path.join(d, "expected.safetensors"), metadata=meta)
    print(f"{d}: term {term.item():.6f}, arcs {(heads >= 0).sum().item()}", file=sys.stderr)


if __name__ == "__main__":
    torch.set_num_threads(1)
    make("shared")
    make("unshared")
