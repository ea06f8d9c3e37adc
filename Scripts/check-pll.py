#!/usr/bin/env python3
"""Checks embryo's pseudo-log-likelihoods against transformers: loads a checkpoint in AlbertForMaskedLM or
BertForMaskedLM, scores every sentence of a minimal-pairs file or folder (BLiMP's layout) both ways,
masking as the definitions say ("original": each piece alone, Salazar et al. 2020; "word-l2r": the piece
and the later pieces of its word, Kauf & Ivanova 2023), and compares with `embryo pairs --scores`. Prints
the largest difference per variant. With --expected FILE it also writes transformers' scores (sentence,
pll_original, pll_word_l2r) as JSON Lines, the fixture Tests/EmbryoLabTests/Fixtures/pll/ holds.
Usage: swift build -c release && python3 Scripts/check-pll.py CHECKPOINT PAIRS [--expected FILE]
Needs torch and transformers (pip install torch transformers); never needed by CI.
"""
import json, os, subprocess, sys, tempfile

import torch
from transformers import AutoModelForMaskedLM, AutoTokenizer

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
EMBRYO = os.path.join(ROOT, ".build", "release", "embryo")


def sentences(path):
    files = [os.path.join(path, f) for f in sorted(os.listdir(path)) if f.endswith(".jsonl")] if os.path.isdir(path) else [path]
    seen, out = set(), []
    for f in files:
        for line in open(f, encoding="utf-8"):
            if not line.strip():
                continue
            o = json.loads(line)
            for s in (o["sentence_good"], o["sentence_bad"]):
                if s not in seen:
                    seen.add(s)
                    out.append(s)
    return out


def pll(model, tok, text, l2r):
    enc = tok(text)
    ids, words = enc["input_ids"], enc.word_ids()
    rows, targets = [], []
    for p in range(1, len(ids) - 1):
        masked = list(ids)
        masked[p] = tok.mask_token_id
        if l2r:
            q = p + 1
            while q < len(ids) - 1 and words[q] == words[p]:
                masked[q] = tok.mask_token_id
                q += 1
        rows.append(masked)
        targets.append((p, ids[p]))
    with torch.no_grad():
        logits = model(input_ids=torch.tensor(rows)).logits.double()
    lp = torch.log_softmax(logits, dim=-1)
    return [lp[r, p, t].item() for r, (p, t) in enumerate(targets)]


def main():
    args = sys.argv[1:]
    expected = None
    if "--expected" in args:
        i = args.index("--expected")
        expected = args[i + 1]
        del args[i : i + 2]
    ckpt, pairs = args
    tok = AutoTokenizer.from_pretrained(ckpt)  # the checkpoint's vocab.txt and tokenizer_config.json
    model = AutoModelForMaskedLM.from_pretrained(ckpt).eval()
    ours = {}
    with tempfile.TemporaryDirectory() as tmp:
        scores = os.path.join(tmp, "scores.jsonl")
        subprocess.run([EMBRYO, "pairs", "--checkpoint", ckpt, "--pairs", pairs, "--scores", scores], check=True,
                       stdout=subprocess.DEVNULL)
        for line in open(scores):
            o = json.loads(line)
            ours[o["sentence"]] = o
    worst = {"original": 0.0, "word_l2r": 0.0}
    rows = []
    for s in sentences(pairs):
        ref = {"original": sum(pll(model, tok, s, False)), "word_l2r": sum(pll(model, tok, s, True))}
        rows.append({"sentence": s, "pll_original": ref["original"], "pll_word_l2r": ref["word_l2r"]})
        if s in ours:
            for v in worst:
                worst[v] = max(worst[v], abs(ours[s]["pll_" + v] - ref[v]))
    print(f"{len(rows)} sentences; largest difference from transformers: original {worst['original']:.2e} nats, "
          f"word-l2r {worst['word_l2r']:.2e} nats")
    if expected:
        with open(expected, "w") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
