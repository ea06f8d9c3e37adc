#!/usr/bin/env python3
"""Checks that a model saved by `embryo finetune` loads in transformers as AlbertForSequenceClassification
and gives embryo's logits on the task's first evaluation split.

Usage: python3 Scripts/check-classifier-roundtrip.py MODEL_DIR TASK_DIR [--max-len 128]
MODEL_DIR is a model-seedN folder of `embryo finetune --checkpoint` (it holds logits-<split>.tsv).
"""
import argparse, csv, glob, os, sys

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

PAIRS = [("sentence1", "sentence2"), ("#1 String", "#2 String"), ("question", "sentence"), ("sentence", None)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("task")
    ap.add_argument("--max-len", type=int, default=128)
    args = ap.parse_args()
    logits_file = glob.glob(os.path.join(args.model, "logits-*.tsv"))[0]
    split = os.path.basename(logits_file)[len("logits-"):-len(".tsv")]
    with open(os.path.join(args.task, f"{split}.tsv"), newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    header, rows = rows[0], [r for r in rows[1:] if r]
    a_col, b_col = next((a, b) for a, b in PAIRS if a in header and (b is None or b in header))
    a = [r[header.index(a_col)] for r in rows]
    b = [r[header.index(b_col)] for r in rows] if b_col else None
    expected = [[float(x) for x in line.split("\t")[1:]] for line in open(logits_file) if line.strip()]
    tok = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForSequenceClassification.from_pretrained(args.model).eval()
    worst, agree = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(a), 64):
            enc = tok(a[i:i + 64], b[i:i + 64] if b else None, truncation="longest_first", max_length=args.max_len,
                      padding=True, return_tensors="pt")
            out = model(**enc).logits
            ref = torch.tensor(expected[i:i + 64])
            worst = max(worst, (out - ref).abs().max().item())
            agree += (out.argmax(-1) == ref.argmax(-1)).sum().item() if out.shape[-1] > 1 else len(ref)
    print(f"{split}: {len(a)} examples, max |logit difference| {worst:.2e}, same prediction on {agree}/{len(a)}")
    sys.exit(0 if worst < 1e-3 else 1)


if __name__ == "__main__":
    main()
