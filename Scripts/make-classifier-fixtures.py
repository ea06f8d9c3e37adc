#!/usr/bin/env python3
"""Regenerates embryo's sequence-classification parity fixtures from PyTorch + transformers (no download).

For a tiny AlbertForSequenceClassification with 3 labels and shared layers (cross-entropy) and one with
1 label and unshared layers (regression, mean squared error), built from an explicit AlbertConfig with a
fixed seed and perturbed biases/LayerNorms, on sentence-pair inputs with token types and padding, writes
    Tests/EmbryoCoreTests/Fixtures/classifier-<kind>/config.json, model.safetensors   (save_pretrained)
    Tests/EmbryoCoreTests/Fixtures/classifier-<kind>/expected.safetensors
expected.safetensors: the inputs (as F32), labels, logits, the loss and every parameter's gradient
("grad.<name>"). Usage:  python3 Scripts/make-classifier-fixtures.py
"""
import os, sys

import torch
import transformers
from safetensors.torch import save_file
from transformers import AlbertConfig, AlbertForSequenceClassification

FIXTURE_VERSION = 1
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "EmbryoCoreTests", "Fixtures")


def config(groups, labels):
    return AlbertConfig(vocab_size=96, embedding_size=16, hidden_size=32, num_hidden_layers=3,
                        num_hidden_groups=groups, inner_group_num=1, num_attention_heads=4, intermediate_size=64,
                        hidden_act="gelu_new", max_position_embeddings=24, type_vocab_size=2, layer_norm_eps=1e-12,
                        initializer_range=0.02, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                        classifier_dropout_prob=0.0, pad_token_id=0, bos_token_id=2, eos_token_id=3,
                        num_labels=labels, attn_implementation="eager",
                        problem_type="regression" if labels == 1 else "single_label_classification")


def inputs(labels):
    g = torch.Generator().manual_seed(11)
    B, T = 4, 14
    ids = torch.randint(5, 96, (B, T), generator=g)
    ids[:, 0] = 2  # [CLS] A [SEP] B [SEP]
    ids[:, 6] = 3
    ids[:, -1] = 3
    tt = torch.zeros(B, T, dtype=torch.long)
    tt[:, 7:] = 1
    mask = torch.ones(B, T, dtype=torch.long)
    ids[3, 10:] = 0  # padding
    ids[3, 9] = 3
    mask[3, 10:] = 0
    tt[3, 10:] = 0
    y = torch.tensor([0, 2, 1, 2]) if labels > 1 else torch.tensor([0.5, 3.25, -1.0, 4.75])
    return dict(input_ids=ids, attention_mask=mask, token_type_ids=tt, labels=y)


def make(kind, groups, labels, seed):
    d = os.path.join(OUT, f"classifier-{kind}")
    os.makedirs(d, exist_ok=True)
    torch.manual_seed(seed)
    model = AlbertForSequenceClassification(config(groups, labels)).eval()
    with torch.no_grad():
        for n, p in model.named_parameters():
            if n.endswith("bias") or "LayerNorm" in n:
                p.add_(0.05 * torch.randn_like(p))
            if n == "classifier.weight":
                p.mul_(20)  # logits far enough from zero that the loss has real gradients
    model.save_pretrained(d)
    batch = inputs(labels)
    out = model(**batch)
    out.loss.backward()
    t = {f"input.{k}": v.float() for k, v in batch.items()}
    t.update({"logits": out.logits, "loss": out.loss.reshape(1)})
    for n, p in model.named_parameters():
        t[f"grad.{n}"] = p.grad
    t = {k: v.detach().contiguous().float() for k, v in t.items()}
    meta = {"fixture_version": str(FIXTURE_VERSION), "torch": torch.__version__,
            "transformers": transformers.__version__, "seed": str(seed)}
    save_file(t, os.path.join(d, "expected.safetensors"), metadata=meta)
    print(f"{d}: {len(t)} tensors, loss {out.loss.item():.6f}", file=sys.stderr)


if __name__ == "__main__":
    torch.set_num_threads(1)
    make("classification", 1, 3, 2024)
    make("regression", 3, 1, 4202)
