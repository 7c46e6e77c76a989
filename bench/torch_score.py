"""PyTorch peer for bench/score: the same GPT-2 forward and the same per-token statistics that PrefLens computes
inside the ONNX graph (log-softmax, target log-prob, entropy, rank, top-k mass and entropy), over the same
token sequences, batches sorted by length and right-padded under the same token budget, on the same threads.
Reads HF GPT-2 weights from model.safetensors (parsed here: Debian has no safetensors package).
Usage: python3 bench/torch_score.py MODEL_DIR JOBS.json THREADS BUDGET -> one JSON line."""
import json, math, struct, sys, time

import torch
import torch.nn.functional as F


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        s, e = v["data_offsets"]
        out[k.removeprefix("transformer.")] = torch.frombuffer(bytearray(data[s:e]), dtype=torch.float32).reshape(v["shape"])
    return out


def forward(W, cfg, ids, mask):
    B, T = ids.shape
    D, H = cfg["n_embd"], cfg["n_head"]
    Dh = D // H
    eps = cfg.get("layer_norm_epsilon", 1e-5)
    x = W["wte.weight"][ids] + W["wpe.weight"][:T]
    allowed = torch.tril(torch.ones(T, T, dtype=torch.bool))[None, None] & mask[:, None, None, :].bool()
    for l in range(cfg["n_layer"]):
        p = f"h.{l}."
        a = F.layer_norm(x, (D,), W[p + "ln_1.weight"], W[p + "ln_1.bias"], eps)
        qkv = a @ W[p + "attn.c_attn.weight"] + W[p + "attn.c_attn.bias"]
        q, k, v = (t.view(B, T, H, Dh).transpose(1, 2) for t in qkv.split(D, dim=-1))
        s = (q @ k.transpose(-1, -2)) / math.sqrt(Dh)
        s = s.masked_fill(~allowed, -1e9)
        o = (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(B, T, D)
        x = x + o @ W[p + "attn.c_proj.weight"] + W[p + "attn.c_proj.bias"]
        h = F.layer_norm(x, (D,), W[p + "ln_2.weight"], W[p + "ln_2.bias"], eps) @ W[p + "mlp.c_fc.weight"] + W[p + "mlp.c_fc.bias"]
        h = F.gelu(h, approximate="tanh")
        x = x + h @ W[p + "mlp.c_proj.weight"] + W[p + "mlp.c_proj.bias"]
    x = F.layer_norm(x, (D,), W["ln_f.weight"], W["ln_f.bias"], eps)
    return x @ W["wte.weight"].T


def stats(logits, targets, k=10):
    lsm = torch.log_softmax(logits, -1)
    tok = lsm.gather(-1, targets[..., None])
    entropy = -(lsm.exp() * lsm).sum(-1)
    rank = (lsm > tok).sum(-1) + 1
    topv, topi = lsm.topk(k, -1)
    tp = topv.exp()
    mass = tp.sum(-1)
    topk_entropy = mass.log() - (tp * topv).sum(-1) / mass
    return tok.squeeze(-1), entropy, rank, mass, topk_entropy, topi


def batches(jobs, budget):
    """PrefLens' batching (scorer.ts runJobs): longest first, right-padded, at most 32 rows and `budget` tokens.
    Yields (job indices, ids [B, T], mask [B, T], targets [B, T])."""
    order = sorted(range(len(jobs)), key=lambda j: -len(jobs[j]["ids"]))
    i = 0
    while i < len(order):
        T = len(jobs[order[i]]["ids"])
        B = 1
        while i + B < len(order) and B < 32 and (B + 1) * T <= budget:
            B += 1
        batch = order[i : i + B]
        i += B
        ids = torch.zeros(B, T, dtype=torch.long)
        mask = torch.zeros(B, T, dtype=torch.long)
        targets = torch.zeros(B, T, dtype=torch.long)
        for b, j in enumerate(batch):
            s = torch.tensor(jobs[j]["ids"])
            ids[b, : len(s)] = s
            mask[b, : len(s)] = 1
            targets[b, : len(s) - 1] = s[1:]
        yield batch, ids, mask, targets


def response_logp(tok, jobs, batch):
    """Σ logp over each job's response positions, and the tokens of the batch."""
    total, n_tokens = 0.0, 0
    for b, j in enumerate(batch):
        n, r0 = len(jobs[j]["ids"]), jobs[j]["respStart"]
        total += float(tok[b, r0 - 1 : n - 1].double().sum())
        n_tokens += n
    return total, n_tokens


def main():
    model_dir, jobs_path, threads, budget = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    cfg = json.load(open(f"{model_dir}/config.json"))
    W = load_safetensors(f"{model_dir}/model.safetensors")
    jobs = json.load(open(jobs_path))
    total_tokens = 0
    sum_logp = 0.0
    t0 = time.perf_counter()
    with torch.inference_mode():
        for batch, ids, mask, targets in batches(jobs, budget):
            tok, *_ = stats(forward(W, cfg, ids, mask), targets)
            lp, n = response_logp(tok, jobs, batch)
            sum_logp += lp
            total_tokens += n
    s = time.perf_counter() - t0
    import os
    blas = os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")
    print(json.dumps({"tokens": total_tokens, "seconds": s, "tok_s": total_tokens / s, "sum_logp": sum_logp, "threads": threads,
                      "torch": torch.__version__, "blas": blas}))


if __name__ == "__main__":
    main()
