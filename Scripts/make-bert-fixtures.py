#!/usr/bin/env python3
"""Regenerates embryo's BERT parity fixtures from PyTorch + transformers (no download).

Tiny BERTs (hidden_act "gelu", the exact GELU) built from an explicit BertConfig with fixed seeds, their
biases and LayerNorms perturbed, their feed-forward inputs scaled so that the GELU sees values of a few
units (where the exact GELU and gelu_new differ) and their word embeddings so that MLM logits span several
units (the two GELUs then give logits more than 1e-3 apart, beyond the parity tolerance). For each class transformers saves differently, writes
    Tests/EmbryoCoreTests/Fixtures/bert-<kind>/config.json, model.safetensors   (save_pretrained)
    Tests/EmbryoCoreTests/Fixtures/bert-<kind>/expected.safetensors
  pretraining     BertForPreTraining: every hidden state, MLM and next-sentence logits, both losses and
                  every parameter gradient ("grad.<name>")
  maskedlm        BertForMaskedLM (no pooler, no next-sentence head): hidden states and MLM logits
  model           BertModel (names without "bert.", no heads): hidden states and the pooler output
  classification  BertForSequenceClassification, 3 labels: logits, the loss and every gradient
The inputs are stored as F32 ("input.<name>"). Usage:  python3 Scripts/make-bert-fixtures.py
"""
import os, sys

import torch
import transformers
from safetensors.torch import save_file
from transformers import BertConfig, BertForMaskedLM, BertForPreTraining, BertForSequenceClassification, BertModel

FIXTURE_VERSION = 1
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "EmbryoCoreTests", "Fixtures")
V = 96


def config(labels=2):
    # every field set: no dropout (eval mode anyway), eager attention as the engine computes it
    return BertConfig(vocab_size=V, hidden_size=32, num_hidden_layers=3, num_attention_heads=4,
                      intermediate_size=64, hidden_act="gelu", max_position_embeddings=24, type_vocab_size=2,
                      layer_norm_eps=1e-12, initializer_range=0.02, hidden_dropout_prob=0.0,
                      attention_probs_dropout_prob=0.0, classifier_dropout=0.0, pad_token_id=0,
                      position_embedding_type="absolute", num_labels=labels, attn_implementation="eager",
                      problem_type="single_label_classification")


def inputs():
    g = torch.Generator().manual_seed(5)
    B, T = 3, 14
    ids = torch.randint(5, V, (B, T), generator=g)
    ids[:, 0] = 2  # [CLS] A [SEP] B [SEP]
    ids[:, 6] = 3
    ids[:, -1] = 3
    tt = torch.zeros(B, T, dtype=torch.long)
    tt[:, 7:] = 1
    mask = torch.ones(B, T, dtype=torch.long)
    ids[2, 10:] = 0  # padding
    ids[2, 9] = 3
    mask[2, 10:] = 0
    tt[2, 10:] = 0
    ids[0, 3] = 0  # an attended [PAD]: its embedding row gets no gradient (padding_idx)
    labels = torch.full((B, T), -100, dtype=torch.long)
    for b, t in [(0, 2), (0, 5), (0, 9), (1, 1), (1, 4), (1, 8), (1, 11), (2, 3), (2, 7)]:
        labels[b, t] = ids[b, t]
        ids[b, t] = 4 if (b + t) % 3 else ids[b, t]  # [MASK] at most picks, some kept as themselves
    labels[1, 4] = 17
    return dict(input_ids=ids, attention_mask=mask, token_type_ids=tt), labels


def build(cls, seed, **kw):
    torch.manual_seed(seed)
    model = cls(config(**kw)).eval()
    with torch.no_grad():
        for n, p in model.named_parameters():
            if n.endswith("bias") or "LayerNorm" in n:
                p.add_(0.05 * torch.randn_like(p))
            if "intermediate.dense.weight" in n or "transform.dense.weight" in n:
                p.mul_(15)  # GELU inputs of a few units, where gelu and gelu_new differ by up to 5e-4
            if "word_embeddings" in n:
                p.mul_(20)  # MLM logits of several units (the decoder is the word embeddings)
            if n in ("classifier.weight", "cls.seq_relationship.weight"):
                p.mul_(20)  # logits far enough from zero that the loss has real gradients
    return model


def save(kind, model, tensors, seed):
    d = os.path.join(OUT, f"bert-{kind}")
    os.makedirs(d, exist_ok=True)
    model.save_pretrained(d)
    t = {k: v.detach().contiguous().float() for k, v in tensors.items()}
    meta = {"fixture_version": str(FIXTURE_VERSION), "torch": torch.__version__,
            "transformers": transformers.__version__, "seed": str(seed)}
    save_file(t, os.path.join(d, "expected.safetensors"), metadata=meta)
    print(f"{d}: {len(t)} tensors", file=sys.stderr)


def grads(model):
    return {f"grad.{n}": p.grad for n, p in model.named_parameters()}


def pretraining(seed=31):
    model = build(BertForPreTraining, seed)
    x, labels = inputs()
    nsp = torch.tensor([0, 1, 0])
    out = model(**x, labels=labels, next_sentence_label=nsp, output_hidden_states=True)
    out.loss.backward()
    mlm = torch.nn.functional.cross_entropy(out.prediction_logits.view(-1, V), labels.view(-1))
    nsl = torch.nn.functional.cross_entropy(out.seq_relationship_logits, nsp)
    t = {f"input.{k}": v for k, v in x.items()}
    t.update({"input.labels": labels, "input.next_sentence_label": nsp})
    t.update({f"hidden.{i}": h for i, h in enumerate(out.hidden_states)})
    t.update({"prediction_logits": out.prediction_logits, "seq_relationship_logits": out.seq_relationship_logits,
              "loss": out.loss.reshape(1), "mlm_loss": mlm.reshape(1), "nsp_loss": nsl.reshape(1)})
    t.update(grads(model))
    save("pretraining", model, t, seed)


def encoder_only(kind, cls, seed):
    """A class saved with fewer heads: its hidden states and whichever of MLM logits and pooler output it has."""
    model = build(cls, seed)
    x, _ = inputs()
    with torch.no_grad():
        out = model(**x, output_hidden_states=True)
    t = {f"input.{k}": v for k, v in x.items()}
    t.update({f"hidden.{i}": h for i, h in enumerate(out.hidden_states)})
    if cls is BertForMaskedLM:
        t["prediction_logits"] = out.logits
    else:
        t["pooler_output"] = out.pooler_output
    save(kind, model, t, seed)


def classification(seed=34):
    model = build(BertForSequenceClassification, seed, labels=3)
    x, _ = inputs()
    y = torch.tensor([0, 2, 1])
    out = model(**x, labels=y)
    out.loss.backward()
    t = {f"input.{k}": v for k, v in x.items()}
    t.update({"input.labels": y, "logits": out.logits, "loss": out.loss.reshape(1)})
    t.update(grads(model))
    save("classification", model, t, seed)


if __name__ == "__main__":
    torch.set_num_threads(1)
    pretraining()
    encoder_only("maskedlm", BertForMaskedLM, 32)
    encoder_only("model", BertModel, 33)
    classification()
