#!/usr/bin/env python3
"""Every Unicode code point through embryo's tokenizer and HF tokenizers, uncased and cased.

A vocabulary holding every code point (plain and "##") makes the ids spell out exactly what each
tokenizer did with the character: dropped, split off, lower-cased, decomposed. Each line is "a<c> <c>"
so both word-initial and continuation use are covered. Prints the code points whose ids differ.
Needs: pip install tokenizers, and a release build of embryo.   python3 Scripts/check-unicode-sweep.py
"""
import os, subprocess, sys, tempfile
from tokenizers import Tokenizer, normalizers, pre_tokenizers
from tokenizers.models import WordPiece

EMBRYO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".build", "release", "embryo")
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def main():
    cps = [c for c in range(0x110000) if not (0xD800 <= c <= 0xDFFF) and c not in (0x0A, 0x0D)]
    failed = False
    with tempfile.TemporaryDirectory() as d:
        vocab, text = os.path.join(d, "vocab.txt"), os.path.join(d, "lines.txt")
        with open(vocab, "w", encoding="utf-8", newline="\n") as f:
            f.write("\n".join(SPECIALS + [chr(c) for c in cps] + ["##" + chr(c) for c in cps]) + "\n")
        lines = ["a" + chr(c) + " " + chr(c) for c in cps]
        with open(text, "w", encoding="utf-8", newline="\n") as f:
            f.write("\n".join(lines) + "\n")
        for lower in (True, False):
            tok = Tokenizer(WordPiece.from_file(vocab, unk_token="[UNK]", max_input_chars_per_word=100))
            tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True,
                                                        strip_accents=None, lowercase=lower)
            tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
            tok.add_special_tokens(SPECIALS)
            hf = [e.ids for e in tok.encode_batch(lines, add_special_tokens=False)]
            out = subprocess.run([EMBRYO, "tokenize", "--vocab", vocab, "--uncased" if lower else "--cased",
                                  "--input", text], capture_output=True, text=True, check=True).stdout.split("\n")
            bad = [c for c, h, e in zip(cps, hf, out) if [int(x) for x in e.split()] != h]
            print(f"{'uncased' if lower else 'cased'}: {len(cps)} code points, {len(bad)} differ: "
                  + " ".join(f"U+{c:04X}" for c in bad[:20]))
            failed |= len(bad) > 1
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
