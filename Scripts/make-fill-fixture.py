#!/usr/bin/env python3
"""Regenerates the fill-mask fixture: a small checkpoint embryo pretrains on its built-in world, and the
predictions of transformers' fill-mask pipeline on that checkpoint directory (no download).

Writes Tests/EmbryoLabTests/Fixtures/fill/checkpoint/ (config.json, model.safetensors, vocab.txt,
tokenizer_config.json), texts.txt (one text per line) and expected.tsv (text_index, mask_index, rank,
token, probability with 6 decimals), the format of `embryo fill`.
Usage: swift build -c release && python3 Scripts/make-fill-fixture.py
"""
import os, shutil, subprocess, sys, tempfile

import transformers
from transformers import AlbertConfig, pipeline

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "Tests", "EmbryoLabTests", "Fixtures", "fill")
EMBRYO = os.path.join(ROOT, ".build", "release", "embryo")
TOP_K = 5
TEXTS = [
    "she [MASK] a teacher .",
    "[MASK] lives in the city .",
    "The [MASK] [MASK] quickly .",
    "he said that [MASK] would come to the house .",
    "Where did they [MASK] ?",
    "[MASK]",
]


def run(*args):
    subprocess.run([EMBRYO, *args], check=True, stdout=subprocess.DEVNULL)


def main():
    if not os.path.exists(EMBRYO):
        sys.exit("build embryo first: swift build -c release")
    with tempfile.TemporaryDirectory() as tmp:
        run("world", "--out", f"{tmp}/w", "--tokens", "60000", "--task-examples", "10")
        cfg = AlbertConfig(vocab_size=100, embedding_size=16, hidden_size=32, num_hidden_layers=2,
                           num_hidden_groups=1, inner_group_num=1, num_attention_heads=2, intermediate_size=64,
                           hidden_act="gelu_new", max_position_embeddings=64, type_vocab_size=2,
                           layer_norm_eps=1e-12, initializer_range=0.02)
        cfg.to_json_file(f"{tmp}/micro.json")
        run("pretrain", "--corpus", f"{tmp}/w/train.txt", "--config", f"{tmp}/micro.json", "--vocab-size", "400",
            "--steps", "400", "--batch-size", "16", "--seq-len", "64", "--save-every", "400", "--lr", "1e-2", "--no-log-steps",
            "--threads", "1", "--out", f"{tmp}/run")
        src = f"{tmp}/run/checkpoints/step-000400"
        dst = os.path.join(OUT, "checkpoint")
        shutil.rmtree(OUT, ignore_errors=True)
        os.makedirs(dst)
        for name in os.listdir(src):
            if name != "trainer_state.json":
                shutil.copy(os.path.join(src, name), dst)
    fill = pipeline("fill-mask", model=dst, tokenizer=dst, top_k=TOP_K)
    lines = []
    for ti, text in enumerate(TEXTS):
        result = fill(text)
        per_mask = result if isinstance(result[0], list) else [result]
        for mi, preds in enumerate(per_mask):
            for rank, p in enumerate(preds, 1):
                lines.append(f"{ti}\t{mi}\t{rank}\t{p['token_str']}\t{p['score']:.6f}")
    with open(os.path.join(OUT, "texts.txt"), "w") as f:
        f.write("".join(t + "\n" for t in TEXTS))
    with open(os.path.join(OUT, "expected.tsv"), "w") as f:
        f.write("".join(l + "\n" for l in lines))
    print(f"wrote {OUT} ({len(lines)} predictions; transformers {transformers.__version__})")


if __name__ == "__main__":
    main()
