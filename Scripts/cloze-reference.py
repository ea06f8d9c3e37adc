#!/usr/bin/env python3
"""Count-based references for the mlm probe's mask prediction, per part of speech.

For each word of a world's probe.conllu (the sentences the mlm probe masks), predicts the masked word from
counts over the world's train.txt, with no model:
  context   the most frequent filler of the same left and right words, backing off from three words on
            each side to two, one and none (the unigram);
  given-pos the same with the gold part of speech given, i.e. the most frequent filler of that tag in the
            (left word, right word) context, or after the left word alone;
  head      with the gold part of speech and the gold head given: the most frequent filler of that tag
            attached to the same head word on the same side in train.heads (the world's trees of
            train.txt), which is where the world's selectional classes live (a verb chooses the class of
            its subject and object, an adjective's noun chooses it); given-pos where that is unseen;
  deps      with the gold part of speech and the gold dependents given: the filler of that tag that best
            governs the same dependents (nouns, names, verbs, adjectives, auxiliaries, "not") on the same sides, by the
            product over those dependents of its add-half share of their heads in train.heads; head where
            the word has no content dependent;
and prints each accuracy beside the model's mask prediction at the last snapshot of a run, if one is given.
The probe counts a word right when all its pieces come back; these references predict whole words, and a
word's part of speech is the one it has in probe.conllu (so candidates are words the probe sentences hold),
both of which make them generous.

  Scripts/cloze-reference.py --world RUN/world [--run RUN] [--tags NOUN,VERB,...] [--max-sentences N]
"""
import argparse
import collections
import itertools
import json
import math
import re
import sys


CONTENT = {"NOUN", "PROPN", "VERB", "ADJ", "AUX", "PART"}


def words(line):
    # the world's text is plain ASCII words and punctuation marks
    return re.findall(r"[A-Za-z']+|[0-9]+|[^\sA-Za-z0-9]", line.lower())


def read_probe(path):
    sentences, tag_of = [], collections.defaultdict(collections.Counter)
    for block in open(path, encoding="utf-8").read().split("\n\n"):
        rows = [l.split("\t") for l in block.split("\n") if l and not l.startswith("#")]
        rows = [r for r in rows if r[0].isdigit()]
        if rows:
            sentences.append([(r[1].lower(), r[3], int(r[6])) for r in rows])
            for r in rows:
                tag_of[r[1].lower()][r[3]] += 1
    return sentences, {w: c.most_common(1)[0][0] for w, c in tag_of.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--world", required=True, help="a world folder (train.txt, probe.conllu)")
    ap.add_argument("--run", help="a run whose probes/metrics.jsonl has the mlm probe")
    ap.add_argument("--tags", default="NOUN,VERB,ADJ,ADV,PROPN,DET,AUX,ADP,PRON,PUNCT")
    ap.add_argument("--max-sentences", type=int, default=1000, help="as the probe's (default 1000)")
    a = ap.parse_args()
    probe, tag_of = read_probe(a.world + "/probe.conllu")
    probe = probe[: a.max_sentences]
    K = 3
    window = [collections.defaultdict(collections.Counter) for _ in range(K + 1)]
    left = collections.defaultdict(collections.Counter)
    both = collections.defaultdict(collections.Counter)
    attached = collections.defaultdict(collections.Counter)
    governs = collections.defaultdict(collections.Counter)
    unaligned = 0
    with open(a.world + "/train.txt", encoding="utf-8") as f, open(a.world + "/train.heads", encoding="utf-8") as h:
        for line, heads in itertools.zip_longest(f, h):
            if line is None or heads is None:
                sys.exit(f"{a.world}: train.txt and train.heads have different numbers of lines")
            s = words(line)
            if not s:
                continue
            hs = [int(x) for x in heads.split()]
            if len(hs) != len(s):
                unaligned += 1
            else:
                for i, head in enumerate(hs):
                    if head > 0:
                        attached[(s[head - 1], head - 1 < i)][s[i]] += 1
                        governs[(s[i], head - 1 < i)][s[head - 1]] += 1
            p = ["<s>"] * K + s + ["</s>"] * K
            for i in range(K, len(p) - K):
                for k in range(K + 1):
                    window[k][(tuple(p[i - k:i]), tuple(p[i + 1:i + 1 + k]))][p[i]] += 1
                left[p[i - 1]][p[i]] += 1
                both[(p[i - 1], p[i + 1])][p[i]] += 1

    def first_of(counter, tag):
        for w, _ in counter.most_common():
            if tag_of.get(w) == tag:
                return w
        return None

    if unaligned:
        print(f"note: {unaligned} lines of train.txt split into other words than train.heads; left out of head")
    tally = collections.defaultdict(lambda: [0, 0, 0, 0, 0])
    for s in probe:
        p = [("<s>", "", 0)] * K + s + [("</s>", "", 0)] * K
        for i in range(K, len(p) - K):
            word, tag, head = p[i]
            ctx = [w for w, _, _ in p]
            guess = None
            for k in range(K, -1, -1):
                c = window[k].get((tuple(ctx[i - k:i]), tuple(ctx[i + 1:i + 1 + k])))
                if c:
                    guess = c.most_common(1)[0][0]
                    break
            given = first_of(both.get((ctx[i - 1], ctx[i + 1]), collections.Counter()), tag)
            given = given or first_of(left.get(ctx[i - 1], collections.Counter()), tag)
            by_head = None
            if head > 0:
                h = head - 1 + K
                by_head = first_of(attached.get((p[h][0], h < i), collections.Counter()), tag)
            deps = [governs.get((p[j][0], i < j)) for j in range(K, len(p) - K)
                    if p[j][2] > 0 and p[j][2] - 1 + K == i and p[j][1] in CONTENT]
            deps = [d for d in deps if d]
            by_deps = None
            if deps:
                pool = set().union(*deps)
                norms = [sum(d.values()) + 0.5 * len(pool) for d in deps]
                score = {c: sum(math.log((d[c] + 0.5) / z) for d, z in zip(deps, norms))
                         for c in pool if tag_of.get(c) == tag}
                by_deps = max(sorted(score), key=score.get) if score else None
            t = tally[tag]
            t[0] += 1
            t[1] += guess == word
            t[2] += given == word
            t[3] += (by_head or given) == word
            t[4] += (by_deps or by_head or given) == word

    model = {}
    if a.run:
        rows = [json.loads(l) for l in open(a.run + "/probes/metrics.jsonl", encoding="utf-8")]
        rows = [r for r in rows if r["probe"] == "mlm" and r["key"].startswith("mask_prediction/upos/")]
        if rows:
            last = max(r["step"] for r in rows)
            model = {r["key"].split("/")[-1]: r["value"] for r in rows if r["step"] == last and r["value"] is not None}
            print(f"model: {a.run}, step {last}")
    print("| UPOS | words | context | given-pos | head | deps | model |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for tag in a.tags.split(","):
        n, c, g, hd, dp = tally.get(tag, [0, 0, 0, 0, 0])
        if n == 0:
            continue
        m = f"{model[tag]:.3f}" if tag in model else "–"
        print(f"| {tag} | {n} | {c / n:.3f} | {g / n:.3f} | {hd / n:.3f} | {dp / n:.3f} | {m} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
