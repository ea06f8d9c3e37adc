#!/usr/bin/env python3
"""Tokenizer speed: `embryo vocab` on a generated corpus, then `embryo tokenize --bench` and HF tokenizers
(single thread: RAYON_NUM_THREADS=1, encode_batch over blocks of lines, offsets included) on the same
file and vocabulary. Checks both produce the same number of tokens and prints the ratio.

The corpus is English-like text from a seeded generator: 80k pseudo-words with Zipf frequencies,
capitals, punctuation, some accented letters, blank lines between documents.
  python3 Scripts/bench-tokenizer-vs-hf.py [--mb 50] [--vocab-size 30000]
Needs: pip install tokenizers, and a release build of embryo.
"""
import argparse, json, os, random, subprocess, sys, tempfile, time

os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
EMBRYO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".build", "release", "embryo")


def corpus(path, mb, seed=1):
    rnd = random.Random(seed)
    syll = ["ka", "ri", "to", "men", "sa", "lo", "ve", "qu", "an", "der", "ing", "tion", "pre", "con", "st", "ble",
            "er", "ou", "ph", "th", "ch", "al", "is", "un", "re", "ex"]
    words = sorted({"".join(rnd.choice(syll) for _ in range(rnd.randint(1, 4))) for _ in range(80000)})
    rnd.shuffle(words)
    weights = [1 / (i + 1) ** 1.05 for i in range(len(words))]
    size, out = 0, open(path, "w", encoding="utf-8")
    while size < mb * 1_000_000:
        sample = rnd.choices(words, weights=weights, k=200_000)
        lines, i = [], 0
        while i < len(sample):
            n = rnd.randint(5, 25)
            ws = sample[i:i + n]
            i += n
            if rnd.random() < 0.3:
                ws[0] = ws[0].capitalize()
            if rnd.random() < 0.05:
                ws[-1] += rnd.choice("éüñøç")
            line = " ".join(ws)
            if rnd.random() < 0.3:
                line = line.replace(" ", ", ", 1)
            lines.append(line + rnd.choice(".....?!") + ("\n" if rnd.random() < 0.05 else ""))
        text = "\n".join(lines) + "\n"
        out.write(text)
        size += len(text.encode())
    out.close()
    return size


def hf(vocab, path):
    from tokenizers import Tokenizer, normalizers, pre_tokenizers
    from tokenizers.models import WordPiece
    tok = Tokenizer(WordPiece.from_file(vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.add_special_tokens(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    t0 = time.perf_counter()
    data = open(path, "rb").read()
    lines = data.decode("utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    n = 0
    for i in range(0, len(lines), 10000):
        for e in tok.encode_batch(lines[i:i + 10000], add_special_tokens=False):
            n += len(e.ids)
    s = time.perf_counter() - t0
    return {"impl": "hf-tokenizers", "tokens": n, "seconds": round(s, 3), "tokens_per_s": round(n / s, 1),
            "mb_per_s": round(len(data) / s / 1e6, 3)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=50)
    ap.add_argument("--vocab-size", type=int, default=30000)
    args = ap.parse_args()
    import tokenizers
    with tempfile.TemporaryDirectory() as d:
        text, vocab = os.path.join(d, "corpus.txt"), os.path.join(d, "tok", "vocab.txt")
        size = corpus(text, args.mb)
        t0 = time.perf_counter()
        subprocess.run([EMBRYO, "vocab", "--corpus", text, "--size", str(args.vocab_size), "--out", vocab], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print(f"embryo vocab: {size / 1e6:.1f} MB corpus, {args.vocab_size} tokens in {time.perf_counter() - t0:.1f} s")
        e = json.loads(subprocess.run([EMBRYO, "tokenize", "--vocab", vocab, "--input", text, "--bench"], check=True,
                                      capture_output=True, text=True).stdout)
        h = hf(vocab, text)
        print(json.dumps(e))
        print(json.dumps(h) + f"  (tokenizers {tokenizers.__version__}, 1 thread)")
        same = "same token count" if e["tokens"] == h["tokens"] else f"TOKEN COUNTS DIFFER ({e['tokens']} vs {h['tokens']})"
        print(f"embryo / HF tokenizers: {e['mb_per_s'] / h['mb_per_s']:.2f}x MB/s, {same}")
        sys.exit(0 if e["tokens"] == h["tokens"] else 1)


if __name__ == "__main__":
    main()
