"""PyTorch peer for bench/score's Qwen2.5-0.5B-shaped checkpoint: Qwen2's forward written from transformers'
modeling code (RMSNorm, rotary positions, grouped-query attention with q/k/v biases, SwiGLU, tied LM head) in
float32 from the bf16 safetensors, and the same per-token statistics PrefLens computes in its graph, over the same
token sequences, batches sorted by length and right-padded under the same token budget, on the same threads.
Usage: python3 bench/torch_qwen2.py MODEL_DIR JOBS.json THREADS BUDGET -> one JSON line."""
import json, os, re, struct, sys, time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from torch_score import batches, response_logp, stats  # noqa: E402


def peak_mb():
    """VmHWM: this process's own peak (getrusage's ru_maxrss carries the parent's across fork and exec)."""
    with open("/proc/self/status") as f:
        return int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1)) / 1024


def load(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
        out = {}
        for k, v in header.items():
            if k == "__metadata__":
                continue
            s, e = v["data_offsets"]
            f.seek(base + s)
            raw = bytearray(f.read(e - s))
            dt = {"BF16": torch.bfloat16, "F16": torch.float16, "F32": torch.float32}[v["dtype"]]
            out[k] = torch.frombuffer(raw, dtype=dt).reshape(v["shape"]).float()
    return out


def forward(W, c, ids):
    B, T = ids.shape
    H, K = c["num_attention_heads"], c["num_key_value_heads"]
    D = c["hidden_size"]
    hd = c.get("head_dim", D // H)
    eps = c["rms_norm_eps"]
    inv = 1.0 / (c["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    pos = torch.arange(T).float()
    emb = torch.cat([torch.outer(pos, inv)] * 2, -1)
    cos, sin = emb.cos()[None, None], emb.sin()[None, None]

    def rms(x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w

    def rot(x):
        x1, x2 = x[..., : hd // 2], x[..., hd // 2 :]
        return x * cos + torch.cat([-x2, x1], -1) * sin

    mask = torch.full((T, T), float("-inf")).triu(1)
    x = W["model.embed_tokens.weight"][ids]
    for l in range(c["num_hidden_layers"]):
        p = f"model.layers.{l}."
        h = rms(x, W[p + "input_layernorm.weight"])
        q = F.linear(h, W[p + "self_attn.q_proj.weight"], W[p + "self_attn.q_proj.bias"]).view(B, T, H, hd).transpose(1, 2)
        k = F.linear(h, W[p + "self_attn.k_proj.weight"], W[p + "self_attn.k_proj.bias"]).view(B, T, K, hd).transpose(1, 2)
        v = F.linear(h, W[p + "self_attn.v_proj.weight"], W[p + "self_attn.v_proj.bias"]).view(B, T, K, hd).transpose(1, 2)
        q, k = rot(q), rot(k)
        k = k.repeat_interleave(H // K, dim=1)
        v = v.repeat_interleave(H // K, dim=1)
        s = (q @ k.transpose(-1, -2)) * hd**-0.5 + mask
        o = (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(B, T, H * hd)
        x = x + F.linear(o, W[p + "self_attn.o_proj.weight"])
        h = rms(x, W[p + "post_attention_layernorm.weight"])
        x = x + F.linear(F.silu(F.linear(h, W[p + "mlp.gate_proj.weight"])) * F.linear(h, W[p + "mlp.up_proj.weight"]), W[p + "mlp.down_proj.weight"])
    x = rms(x, W["model.norm.weight"])
    return F.linear(x, W["model.embed_tokens.weight"])


def main():
    model_dir, jobs_path, threads, budget = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    c = json.load(open(f"{model_dir}/config.json"))
    t0 = time.perf_counter()
    W = load(f"{model_dir}/model.safetensors")
    load_s = time.perf_counter() - t0
    load_peak = peak_mb()
    jobs = json.load(open(jobs_path))
    total, sum_logp = 0, 0.0
    with torch.inference_mode():
        forward(W, c, torch.tensor([jobs[0]["ids"][:16]]))  # warm-up
        t0 = time.perf_counter()
        for batch, ids, _mask, targets in batches(jobs, budget):
            tok, *_ = stats(forward(W, c, ids), targets)
            lp, n = response_logp(tok, jobs, batch)
            sum_logp += lp
            total += n
        s = time.perf_counter() - t0
    peak = peak_mb()
    print(json.dumps({"tokens": total, "seconds": s, "tok_s": total / s, "sum_logp": sum_logp, "load_s": load_s, "load_peak_mb": load_peak, "peak_mb": peak,
                      "torch": torch.__version__, "blas": os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")}))


if __name__ == "__main__":
    main()
