#!/usr/bin/env python3
"""Checks that embryo's checkpoints and transformers' are interchangeable, in both directions.

  embryo -> transformers: `embryo init` writes a checkpoint; AlbertForPreTraining.from_pretrained must load
      it with no missing, unexpected or mismatched tensors and give the same hidden states and logits as
      `embryo infer` on the same ids (with padding and token types).
  transformers -> embryo: save_pretrained writes a random model (biases and LayerNorms perturbed so they
      matter); `embryo infer` must load it and give transformers' outputs.
Both for shared (ALBERT) and unshared layers, and for BERT (BertForPreTraining, exact GELU; transformers'
BertForMaskedLM and BertModel files too, which lack heads). Needs: pip install torch transformers safetensors.
  python3 Scripts/check-hf-roundtrip.py [--embryo .build/release/embryo]
"""
import argparse, os, subprocess, sys, tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import numpy as np
import torch
from safetensors.numpy import load_file
from transformers import (AlbertConfig, AlbertForPreTraining, BertConfig, BertForMaskedLM, BertForPreTraining,
                          BertModel)

TOL = 1e-4


def inputs(vocab):
    g = np.random.default_rng(0)
    ids = g.integers(5, vocab, size=(3, 20))
    ids[:, 0], ids[:, -1] = 2, 3
    mask = np.ones_like(ids)
    mask[2, 14:] = 0
    ids[2, 14:] = 0
    tt = np.zeros_like(ids)
    tt[:, 10:] = 1
    return ids, tt, mask


def hf_outputs(d, ids, tt, mask, cls=AlbertForPreTraining):
    model, info = cls.from_pretrained(d, output_loading_info=True, attn_implementation="eager")
    bad = {k: v for k, v in info.items() if v and k in ("missing_keys", "unexpected_keys", "mismatched_keys")}
    if bad:
        sys.exit(f"FAIL {d}: transformers reports {bad}")
    model.eval()
    t = lambda a: torch.from_numpy(a).long()
    with torch.no_grad():
        out = model(input_ids=t(ids), token_type_ids=t(tt), attention_mask=t(mask), output_hidden_states=True)
    res = {f"hidden_states.{i}": h.numpy() for i, h in enumerate(out.hidden_states)}
    for name, key in (("prediction_logits", "prediction_logits"), ("prediction_logits", "logits"),
                      ("sop_logits", "sop_logits"), ("seq_relationship_logits", "seq_relationship_logits"),
                      ("pooled", "pooler_output")):
        if getattr(out, key, None) is not None:
            res[name] = out[key].numpy()
    return res


def embryo_outputs(exe, d, ids, tt, mask, work):
    paths = {}
    for name, a in (("ids", ids), ("tt", tt), ("mask", mask)):
        paths[name] = os.path.join(work, f"{name}.txt")
        np.savetxt(paths[name], a, fmt="%d")
    out = os.path.join(work, "out.safetensors")
    subprocess.run([exe, "infer", "--checkpoint", d, "--ids", paths["ids"], "--token-type-ids", paths["tt"],
                    "--attention-mask", paths["mask"], "--out", out], check=True, stdout=subprocess.DEVNULL)
    return load_file(out)


def compare(label, ref, got):
    if set(ref) - set(got):
        print(f"FAIL {label}: embryo wrote no {sorted(set(ref) - set(got))}")
        return False
    worst = max(float(np.abs(ref[k] - got[k]).max()) for k in ref)
    status = "ok" if worst <= TOL else "FAIL"
    print(f"{status:4} {label}: {len(ref)} tensors, max |diff| {worst:.2e}")
    return worst <= TOL


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--embryo", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".build", "release", "embryo"))
    args = ap.parse_args()
    torch.manual_seed(0)
    ok = True
    with tempfile.TemporaryDirectory() as work:
        ids, tt, mask = inputs(300)
        for kind, extra in (("shared", []), ("unshared", ["--unshared"])):
            d = os.path.join(work, f"embryo-{kind}")
            subprocess.run([args.embryo, "init", "--config", "tiny", "--vocab-size", "300", "--seed", "3", "--out", d] + extra,
                           check=True, stdout=subprocess.DEVNULL)
            ok &= compare(f"embryo -> transformers ({kind})", hf_outputs(d, ids, tt, mask),
                          embryo_outputs(args.embryo, d, ids, tt, mask, work))
        for kind, groups in (("shared", 1), ("unshared", 4)):
            cfg = AlbertConfig(vocab_size=300, embedding_size=64, hidden_size=128, num_hidden_layers=4,
                               num_hidden_groups=groups, inner_group_num=1, num_attention_heads=2, intermediate_size=512,
                               hidden_act="gelu_new", max_position_embeddings=512, type_vocab_size=2,
                               layer_norm_eps=1e-12, initializer_range=0.02, hidden_dropout_prob=0.0,
                               attention_probs_dropout_prob=0.0, classifier_dropout_prob=0.0)
            model = AlbertForPreTraining(cfg).eval()
            with torch.no_grad():
                for n, p in model.named_parameters():
                    if n.endswith("bias") or "LayerNorm" in n:
                        p.add_(0.05 * torch.randn_like(p))
            d = os.path.join(work, f"hf-{kind}")
            model.save_pretrained(d)
            ok &= compare(f"transformers -> embryo ({kind})", hf_outputs(d, ids, tt, mask),
                          embryo_outputs(args.embryo, d, ids, tt, mask, work))
        # BERT: embryo's preset both ways, then the three classes transformers saves differently
        d = os.path.join(work, "embryo-bert")
        subprocess.run([args.embryo, "init", "--config", "bert-tiny", "--vocab-size", "300", "--seed", "3", "--out", d],
                       check=True, stdout=subprocess.DEVNULL)
        ok &= compare("embryo -> transformers (BERT)", hf_outputs(d, ids, tt, mask, BertForPreTraining),
                      embryo_outputs(args.embryo, d, ids, tt, mask, work))
        cfg = BertConfig(vocab_size=300, hidden_size=128, num_hidden_layers=3, num_attention_heads=2,
                         intermediate_size=512, hidden_act="gelu", max_position_embeddings=512, type_vocab_size=2,
                         layer_norm_eps=1e-12, initializer_range=0.02, hidden_dropout_prob=0.0,
                         attention_probs_dropout_prob=0.0)
        for cls in (BertForPreTraining, BertForMaskedLM, BertModel):
            model = cls(cfg).eval()
            with torch.no_grad():
                for n, p in model.named_parameters():
                    if n.endswith("bias") or "LayerNorm" in n:
                        p.add_(0.05 * torch.randn_like(p))
                    if "intermediate.dense.weight" in n:
                        p.mul_(15)  # GELU inputs of a few units, where the exact GELU differs from gelu_new
            d = os.path.join(work, f"hf-{cls.__name__}")
            model.save_pretrained(d)
            ok &= compare(f"transformers -> embryo ({cls.__name__})", hf_outputs(d, ids, tt, mask, cls),
                          embryo_outputs(args.embryo, d, ids, tt, mask, work))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
