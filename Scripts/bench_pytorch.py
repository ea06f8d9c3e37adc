#!/usr/bin/env python3
"""PyTorch side of Scripts/bench-vs-pytorch: transformers' AlbertForPreTraining on the shapes `embryo bench`
uses, timed the same way, printed as one JSON line with the same keys.

Random init (no download), random ids in 5..V with [CLS] first, round(0.15 * seq) labelled positions per
row (80% replaced by [MASK]), random SOP labels. A training step is zero_grad + forward (MLM + SOP loss)
+ backward + clip_grad_norm_(1.0) + LAMB (google-research/albert semantics: no bias correction; LayerNorm
and biases get neither weight decay nor the trust ratio). Inference: eval mode, inference_mode, full
MLM logits at every position. Medians over --steps after --warmup.
  python3 Scripts/bench_pytorch.py --config tiny --threads 2
"""
import argparse, json, os, resource, statistics, sys, time

PRESETS = {
    "tiny": dict(vocab_size=8192, embedding_size=64, hidden_size=128, num_hidden_layers=2, num_attention_heads=2,
                 intermediate_size=512),
    "small": dict(vocab_size=16384, embedding_size=128, hidden_size=256, num_hidden_layers=6, num_attention_heads=4,
                  intermediate_size=1024),
    "base": dict(vocab_size=30000, embedding_size=128, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                 intermediate_size=3072),
}
EXCLUDE = ("LayerNorm", "layer_norm", "bias")


def lamb(torch, model, lr):
    state = {}
    named = list(model.named_parameters())

    @torch.no_grad()
    def step():
        for name, p in named:
            m, v = state.setdefault(name, (torch.zeros_like(p), torch.zeros_like(p)))
            m.mul_(0.9).add_(p.grad, alpha=0.1)
            v.mul_(0.999).addcmul_(p.grad, p.grad, value=0.001)
            u = m / (v.sqrt() + 1e-6)
            if not any(k in name for k in EXCLUDE):
                u.add_(p, alpha=0.01)
                wn, un = p.norm(), u.norm()
                u.mul_(torch.where((wn > 0) & (un > 0), wn / un, torch.ones_like(wn)))
            p.add_(u, alpha=-lr)
    return step


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", choices=PRESETS, default="tiny")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=None)
    ap.add_argument("--seq-len", type=int, default=128)
    args = ap.parse_args()
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import torch
    import transformers
    from transformers import AlbertConfig, AlbertForPreTraining
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = PRESETS[args.config]
    B = args.batch_size or (8 if args.config == "base" else 32)
    T, V = args.seq_len, cfg["vocab_size"]
    model = AlbertForPreTraining(AlbertConfig(**cfg, hidden_act="gelu_new", max_position_embeddings=512,
                                              hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                                              classifier_dropout_prob=0.0))
    g = torch.Generator().manual_seed(1)
    per_row = round(0.15 * T)
    batches = []
    for _ in range(4):
        ids = torch.randint(5, V, (B, T), generator=g)
        ids[:, 0] = 2
        labels = torch.full((B, T), -100)
        for b in range(B):
            pos = 1 + torch.randperm(T - 1, generator=g)[:per_row]
            labels[b, pos] = ids[b, pos]
            keep = torch.rand(per_row, generator=g) >= 0.8
            ids[b, pos[~keep]] = 4
        tt = torch.zeros_like(ids)
        tt[:, T // 2:] = 1
        batches.append(dict(input_ids=ids, token_type_ids=tt, attention_mask=torch.ones_like(ids), labels=labels,
                            sentence_order_label=torch.randint(0, 2, (B,), generator=g)))
    model.train()
    opt_step = lamb(torch, model, 1e-3)
    train_t, losses = [], []
    for i in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        model.zero_grad(set_to_none=True)
        loss = model(**batches[i % 4]).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt_step()
        dt = time.perf_counter() - t0
        losses.append(loss.item())
        if i >= args.warmup:
            train_t.append(dt)
    model.eval()
    infer_t = []
    with torch.inference_mode():
        for i in range(args.warmup + args.steps):
            b = {k: batches[i % 4][k] for k in ("input_ids", "token_type_ids", "attention_mask")}
            t0 = time.perf_counter()
            model(**b)
            dt = time.perf_counter() - t0
            if i >= args.warmup:
                infer_t.append(dt)
    tr, inf = statistics.median(train_t), statistics.median(infer_t)
    print(json.dumps({"config": args.config, "threads": args.threads, "batch": B, "seq": T, "impl": "pytorch",
                      "torch": torch.__version__, "transformers": transformers.__version__,
                      "train_ms_per_step": round(tr * 1000, 3), "train_tokens_per_s": round(B * T / tr, 1),
                      "infer_ms_per_batch": round(inf * 1000, 3), "infer_tokens_per_s": round(B * T / inf, 1),
                      "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                      "loss_first_last": [round(losses[0], 3), round(losses[-1], 3)]}))


if __name__ == "__main__":
    main()
