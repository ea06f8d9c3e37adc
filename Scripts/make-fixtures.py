#!/usr/bin/env python3
"""Regenerates embryo's committed parity fixtures from PyTorch + transformers (no download).

For a tiny AlbertForPreTraining with shared layers (num_hidden_groups=1) and one with unshared layers
(num_hidden_groups=num_hidden_layers), built from an explicit AlbertConfig with a fixed seed, it writes
    Tests/EmbryoCoreTests/Fixtures/albert-<kind>/config.json, model.safetensors   (save_pretrained)
    Tests/EmbryoCoreTests/Fixtures/albert-<kind>/expected.safetensors
expected.safetensors holds the inputs (as F32), every hidden state, the full MLM logits, SOP logits,
both losses, every parameter gradient ("grad.<name>"), and the parameters after 3 steps of the
reference LAMB below ("lamb3.<name>") and of torch.optim.AdamW ("adamw3.<name>"), each step with
gradient clipping to global norm 1.0. Usage:  python3 Scripts/make-fixtures.py
"""
import json, os, sys

import torch
import transformers
from safetensors.torch import save_file
from transformers import AlbertConfig, AlbertForPreTraining

FIXTURE_VERSION = 1
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "EmbryoCoreTests", "Fixtures")
NO_DECAY = ("LayerNorm", "layer_norm", "bias")
LR = 1e-2


def config(groups):
    # every field set: AlbertConfig's defaults are the xxlarge model
    return AlbertConfig(vocab_size=96, embedding_size=16, hidden_size=32, num_hidden_layers=3,
                        num_hidden_groups=groups, inner_group_num=1, num_attention_heads=4, intermediate_size=64,
                        hidden_act="gelu_new", max_position_embeddings=24, type_vocab_size=2, layer_norm_eps=1e-12,
                        initializer_range=0.02, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                        classifier_dropout_prob=0.0, pad_token_id=0, bos_token_id=2, eos_token_id=3,
                        attn_implementation="eager")


def inputs():
    g = torch.Generator().manual_seed(7)
    B, T = 3, 12
    ids = torch.randint(5, 96, (B, T), generator=g)
    ids[:, 0] = 2
    ids[:, -1] = 3
    ids[2, 8:] = 0  # padding: [PAD] ids, mask 0
    ids[2, 7] = 3
    ids[0, 3] = 0  # an attended [PAD]: nn.Embedding(padding_idx=0) gives its row no lookup gradient
    mask = torch.ones(B, T, dtype=torch.long)
    mask[2, 8:] = 0
    tt = torch.zeros(B, T, dtype=torch.long)
    tt[:, 6:] = 1
    tt[2, 8:] = 0
    labels = torch.full((B, T), -100, dtype=torch.long)
    for b, t in [(0, 2), (0, 5), (0, 9), (1, 1), (1, 4), (1, 7), (1, 10), (2, 3), (2, 6)]:
        labels[b, t] = ids[b, t]
        ids[b, t] = 4 if (b + t) % 3 else ids[b, t]  # [MASK] at most picks, some kept as themselves
    labels[1, 4] = 17  # a label that differs from both the input and [MASK]
    sop = torch.tensor([0, 1, 1])
    return dict(input_ids=ids, attention_mask=mask, token_type_ids=tt, labels=labels, sentence_order_label=sop)


def lamb_step(params, state, b1=0.9, b2=0.999, eps=1e-6, wd=0.01):
    """google-research/albert lamb_optimizer.py: no bias correction; LayerNorm and biases get neither
    weight decay nor the trust ratio."""
    with torch.no_grad():
        for name, p in params:
            m, v = state.setdefault(name, (torch.zeros_like(p), torch.zeros_like(p)))
            m.mul_(b1).add_(p.grad, alpha=1 - b1)
            v.mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
            u = m / (v.sqrt() + eps)
            if not any(k in name for k in NO_DECAY):
                u = u + wd * p
                wn, un = p.norm(), u.norm()
                u = u * (wn / un if (wn > 0 and un > 0) else 1.0)
            p.add_(u, alpha=-LR)


def build(groups, seed):
    torch.manual_seed(seed)
    model = AlbertForPreTraining(config(groups)).eval()
    with torch.no_grad():  # HF zero-inits biases and sets LayerNorm to 1/0: perturb them so parity sees them
        for n, p in model.named_parameters():
            if n.endswith("bias") or "LayerNorm" in n:
                p.add_(0.05 * torch.randn_like(p))
    return model


def train_three(model, batch, opt_name):
    named = list(model.named_parameters())
    if opt_name == "adamw":
        decay = [p for n, p in named if not any(k in n for k in NO_DECAY)]
        other = [p for n, p in named if any(k in n for k in NO_DECAY)]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": other, "weight_decay": 0.0}],
                                lr=LR, eps=1e-6)
    state = {}
    for _ in range(3):
        model.zero_grad(set_to_none=True)
        model(**batch).loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        if opt_name == "adamw":
            opt.step()
        else:
            lamb_step(named, state)
    return {n: p.detach().clone() for n, p in named}


def make(kind, groups, seed):
    d = os.path.join(OUT, f"albert-{kind}")
    os.makedirs(d, exist_ok=True)
    model = build(groups, seed)
    model.save_pretrained(d)
    batch = inputs()
    out = model(**batch, output_hidden_states=True)
    m = model.predictions
    logits = out.prediction_logits
    mlm = torch.nn.functional.cross_entropy(logits.view(-1, 96), batch["labels"].view(-1))
    sop = torch.nn.functional.cross_entropy(out.sop_logits, batch["sentence_order_label"])
    out.loss.backward()
    t = {f"input.{k}": v.float() for k, v in batch.items()}
    t.update({f"hidden.{i}": h for i, h in enumerate(out.hidden_states)})
    t.update({"prediction_logits": logits, "sop_logits": out.sop_logits,
              "loss": out.loss.reshape(1), "mlm_loss": mlm.reshape(1), "sop_loss": sop.reshape(1)})
    for n, p in model.named_parameters():
        t[f"grad.{n}"] = p.grad
    for opt_name in ("lamb", "adamw"):
        fresh = build(groups, seed)
        for n, p in train_three(fresh, batch, opt_name).items():
            t[f"{opt_name}3.{n}"] = p
    t = {k: v.detach().contiguous().float() for k, v in t.items()}
    meta = {"fixture_version": str(FIXTURE_VERSION), "torch": torch.__version__,
            "transformers": transformers.__version__, "lr": str(LR), "seed": str(seed)}
    save_file(t, os.path.join(d, "expected.safetensors"), metadata=meta)
    print(f"{d}: {len(t)} tensors, loss {out.loss.item():.6f}", file=sys.stderr)


if __name__ == "__main__":
    torch.set_num_threads(1)
    make("shared", 1, 1234)
    make("unshared", 3, 4321)
