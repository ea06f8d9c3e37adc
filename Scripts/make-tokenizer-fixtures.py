#!/usr/bin/env python3
"""Regenerates the tokenizer fixtures: a committed corpus and hard-case text, vocabularies learned from
the corpus by `embryo vocab` (uncased and cased), and goldens from HF `tokenizers` on those vocabularies.

    Tests/EmbryoTextTests/Fixtures/tokenizer/corpus.txt        English prose + many scripts (vocab training)
    Tests/EmbryoTextTests/Fixtures/tokenizer/hard-cases.txt    tabs, \\r\\n, controls, NFC/NFD accents, CJK,
                                                               emoji, a 150-character word, punctuation runs,
                                                               special tokens, empty and very long lines
    Tests/EmbryoTextTests/Fixtures/tokenizer/{uncased,cased}/vocab.txt, tokenizer_config.json
    Tests/EmbryoTextTests/Fixtures/tokenizer/{uncased,cased}/golden-<text>.jsonl
        one JSON object per input line (lines split on "\\n" only): ids, offsets (Unicode scalars), word ids

Goldens come from tokenizers' WordPiece + BertNormalizer + BertPreTokenizer with the special tokens
added, exactly what BertTokenizerFast builds from a vocab.txt; the script also checks that
transformers' AutoTokenizer, loading the directory embryo wrote, gives the same ids. Needs: pip install tokenizers transformers, and a
release build of embryo.   python3 Scripts/make-tokenizer-fixtures.py
"""
import json, os, subprocess, sys, unicodedata

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "Tests", "EmbryoTextTests", "Fixtures", "tokenizer")
EMBRYO = os.path.join(ROOT, ".build", "release", "embryo")
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

PROSE = """\
Researchers who study how language models acquire knowledge pretrain a model from random weights,
keep snapshots along the way, and measure on every snapshot what it knows. The embryo of a model
learns function words first: determiners, conjunctions, prepositions and pronouns. Nouns, adjectives,
proper nouns and verbs in their -ing form come later. Knowledge of the world fluctuates and often
peaks before the end of pretraining. Sentence-order prediction asks whether two segments appear in
their original order; masked language modelling hides fifteen percent of the tokens and asks the
model to recover them. The capital of France is Paris. Marie Curie was born in Warsaw and worked in
Paris. Albert Einstein was born in Ulm, lived in Bern, Berlin and Princeton, and spoke German.
Tokenization splits words into subword pieces; unknown words are broken into smaller pieces or
replaced by the unknown token. Caf\u00e9 owners in Montr\u00e9al serve cr\u00e8me br\u00fbl\u00e9e and na\u00efve r\u00e9sum\u00e9s.
Die Stra\u00dfe in M\u00fcnchen ist sch\u00f6n. \u00bfD\u00f3nde est\u00e1 la estaci\u00f3n? \u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac \u03ba\u03b5\u03af\u03bc\u03b5\u03bd\u03b1 \u03ba\u03b1\u03b9 \u03a3\u03af\u03c3\u03c5\u03c6\u03bf\u03c2.
\u0420\u0443\u0441\u0441\u043a\u0438\u0439 \u0442\u0435\u043a\u0441\u0442 \u0434\u043b\u044f \u043f\u0440\u043e\u0432\u0435\u0440\u043a\u0438. \u4e2d\u6587\u5b57\u7b26\u6d4b\u8bd5\u3002\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3002\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8. \u0627\u0644\u0639\u0631\u0628\u064a\u0629 \u05e2\u05d1\u05e8\u05d9\u05ea \u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22 \u0939\u093f\u0928\u094d\u0926\u0940.
Emoji appear too: \U0001F600 \U0001F44D \u2764\ufe0f. Numbers such as 3.14, 1,000,000 and 50% are common.
"""


def hard_cases():
    nfd = lambda s: unicodedata.normalize("NFD", s)
    accents = "Caf\u00e9 na\u00efve r\u00e9sum\u00e9 fa\u00e7ade \u00c5ngstr\u00f6m Cr\u00e8me Br\u00fbl\u00e9e"
    lines = [
        "Hello, World! This is a simple sentence.",
        "tab\tseparated\tvalues\tand\t\ttwo tabs",
        "windows line ending\r",
        "\r",
        "bell\x07char nul\x00byte escape\x1b[0m zero\u200bwidth soft\u00adhyphen bom\ufeffmark del\x7fchar",
        "replacement \ufffd char and private \ue000 use",
        accents,
        nfd(accents),
        "UPPER lower MiXeD \u00c9COLE \u00dcBER",
        "\u4e2d\u6587\u5b57\u7b26\u6d4b\u8bd5\uff0c\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3001\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8\u3002\u4e2dx\u6587y",
        "compat \uf900\uf901 ideographs and ext-b \U00020000\U0002a6d6",
        "emoji \U0001F600 \U0001F44D\U0001F3FD family \U0001F468\u200d\U0001F469\u200d\U0001F467 flag \U0001F1EB\U0001F1F7 heart \u2764\ufe0f",
        "newer emoji \U0001F972 \U0001FAE0 \U0001FAE8",
        "a" * 150,
        "supercalifragilistic" * 5 + " after",
        "x" * 100 + " " + "y" * 101,
        "wait...what?!?! (yes) [no] {maybe} --- ''quotes'' \u00abguillemets\u00bb \u201elow\u201c \u2014 dash \u2026 ellipsis",
        "#hashtag @user email@example.com http://x.y/z?q=1&r=2 $5 50% 3.14 1,000,000 C++ a_b a-b",
        "The capital of France is [MASK] .",
        "[CLS] sentence one [SEP] sentence two [SEP]",
        "[mask] lower-case is not special, [UNK] and [PAD] are",
        "glued[MASK]tokens and [MASK][MASK] twice and [MAS] partial",
        "",
        "   ",
        "\t",
        "Greek \u03a3\u038a\u03a3\u03a5\u03a6\u039f\u03a3 \u03a3\u03af\u03c3\u03c5\u03c6\u03bf\u03c2 final sigma",
        "Turkish \u0130stanbul \u0131\u0131 dotted",
        "German Stra\u00dfe STRASSE ligature \ufb01ne \u210c full-width \uff21\uff22\uff23\uff11\uff12\uff13",
        "Arabic \u0627\u0644\u0639\u0631\u0628\u064a\u0629 Hebrew \u05e2\u05d1\u05e8\u05d9\u05ea Thai \u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22 Devanagari \u0939\u093f\u0928\u094d\u0926\u0940",
        "spaces\u00a0nbsp em\u2003space ideographic\u3000space thin\u2009space",
        "separators line\u2028para\u2029next\u0085nel",
        "vertical\x0btab form\x0cfeed",
        "combining alone \u0301 and e\u0301\u0302 stacked and \u20dd enclosing",
        "Korean jamo \u1100\u1161 vs syllable \uac00",
        " ".join(PROSE.split()) * 30,
    ]
    return lines


def hf_tokenizer(vocab, lower):
    from tokenizers import Tokenizer, normalizers, pre_tokenizers
    from tokenizers.models import WordPiece
    tok = Tokenizer(WordPiece.from_file(vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None,
                                                lowercase=lower)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.add_special_tokens(SPECIALS)
    return tok


def lines_of(path):
    with open(path, "rb") as f:
        return [l.decode("utf-8") for l in f.read().split(b"\n")]


def main():
    import tokenizers, transformers
    from transformers import AutoTokenizer
    os.makedirs(OUT, exist_ok=True)
    texts = {"corpus": PROSE, "hard-cases": "\n".join(hard_cases()) + "\n"}
    for name, text in texts.items():
        with open(os.path.join(OUT, f"{name}.txt"), "wb") as f:
            f.write(text.encode("utf-8"))
    # the training corpus: prose and the hard cases, so the vocabulary covers many scripts
    train = os.path.join(OUT, "corpus.txt")
    for kind, extra in (("uncased", []), ("cased", ["--cased"])):
        d = os.path.join(OUT, kind)
        os.makedirs(d, exist_ok=True)
        vocab = os.path.join(d, "vocab.txt")
        subprocess.run([EMBRYO, "vocab", "--corpus", train, "--corpus", os.path.join(OUT, "hard-cases.txt"),
                        "--size", "700", "--out", vocab] + extra, check=True, stdout=subprocess.DEVNULL)
        lower = kind == "uncased"
        tok = hf_tokenizer(vocab, lower)
        fast = AutoTokenizer.from_pretrained(d)  # vocab.txt + the tokenizer_config.json embryo wrote
        for name in texts:
            rows = []
            for line in lines_of(os.path.join(OUT, f"{name}.txt")):
                e = tok.encode(line, add_special_tokens=False)
                ids = fast(line, add_special_tokens=False)["input_ids"]
                if ids != e.ids:
                    print(f"note: transformers' tokenizer differs from tokenizers on {line[:40]!r}", file=sys.stderr)
                rows.append(json.dumps({"ids": e.ids, "offsets": [list(o) for o in e.offsets],
                                        "words": e.word_ids}, ensure_ascii=False))
            with open(os.path.join(d, f"golden-{name}.jsonl"), "w", encoding="utf-8") as f:
                f.write("\n".join(rows) + "\n")
        print(f"{d}: {sum(1 for _ in open(vocab, encoding='utf-8'))} tokens", file=sys.stderr)
    with open(os.path.join(OUT, "VERSION"), "w") as f:
        f.write(f"fixture_version 1\ntokenizers {tokenizers.__version__}\ntransformers {transformers.__version__}\n")


if __name__ == "__main__":
    main()
