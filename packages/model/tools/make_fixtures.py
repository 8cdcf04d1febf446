#!/usr/bin/python3
"""Generates the committed reference fixtures of @gptlab/model's tests.

Run from anywhere with Debian's Python (python3-torch):

    /usr/bin/python3 packages/model/tools/make_fixtures.py [--peer /work/shared/peers/pytorch]

It uses the PyTorch GPT-2 reference (gpt_ref.py, Hugging Face GPT-2 names and layout) to write small random
checkpoints and their log-probabilities; the TypeScript tests load the checkpoints and must reproduce them.
The tests never run Python. Outputs (test/fixtures/, well under 1 MB in all):

  tiny/        F32, vocab 512, 2 layers, 4 heads, width 64, 64 positions, weights std 0.2 (non-trivial logits)
  tiny-f16/    F16 weights, the layout of the Hugging Face hub's gpt2 files: no "transformer." prefix and the
               causal-mask buffers "h.N.attn.bias" present
  tiny-bf16/   BF16 weights with an explicit "lm_head.weight" (equal to wte, tied)
  tiny-postln/ F32, GPT-1 post-LayerNorm blocks, no final LayerNorm ("post_ln": true in config.json); its
               reference is an independent float64 NumPy forward written here (gpt_ref.py is pre-LN only)
  reference.json  per checkpoint: token sequences, the log-prob of each next token, full log-prob rows at a
               few positions, greedy continuations (KV-cached, with log-probs) and a beam search result
"""

import argparse
import json
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(os.path.join(HERE, "..", "test", "fixtures"))


def write_raw_safetensors(path, entries, metadata=None):
    """entries: {name: (dtype_code, shape, raw_bytes)}. Sorted names, contiguous, header padded to 8."""
    header, blobs, offset = {}, [], 0
    for name in sorted(entries):
        code, shape, raw = entries[name]
        header[name] = {"dtype": code, "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((-len(h)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def to_bf16_raw(a):
    import torch

    t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).to(torch.bfloat16)
    return t.view(torch.int16).numpy().astype("<i2").tobytes()


def rows(lp, positions):
    return {str(p): [round(float(x), 7) for x in lp[p]] for p in positions}


def sequences(vocab, lengths, seed):
    rng = np.random.default_rng(seed)
    return [[int(x) for x in rng.integers(0, vocab, n)] for n in lengths]


def torch_reference(gr, d, seqs, prompt, n_greedy, n_beam):
    import torch

    model, cfg, _ = gr.load_checkpoint(d)
    out = {"sequences": []}
    for ids in seqs:
        lp = gr.logprobs(model, ids).double().numpy()
        T = len(ids)
        out["sequences"].append(
            {
                "ids": ids,
                "next_token_logprobs": [round(float(lp[t, ids[t + 1]]), 7) for t in range(T - 1)],
                "rows": rows(lp, sorted({0, T // 2, T - 1})),
            }
        )
    g_ids, g_lps, _ = gr.greedy(model, prompt, n_greedy)
    out["greedy"] = {"prompt": prompt, "ids": g_ids, "logprobs": [round(x, 7) for x in g_lps]}
    b_ids, b_score, allb = gr.beam(model, prompt, n_beam, 4)
    out["beam"] = {
        "prompt": prompt,
        "num_beams": 4,
        "n": n_beam,
        "beams": [{"ids": s, "score": round(x, 7)} for s, x in allb],
    }
    with torch.no_grad():
        logits, _ = model(torch.tensor([seqs[0]]))
    out["max_abs_logit"] = float(logits.abs().max())
    return out


def numpy_postln_logprobs(P, cfg, ids):
    """GPT-1 (OpenAI GPT) blocks in float64: n = ln_1(x + attn(x)); h = ln_2(n + mlp(n)); no final LN."""
    P = {k: np.asarray(v, dtype=np.float64) for k, v in P.items()}
    ids = np.asarray(ids)
    T, C, H = len(ids), cfg.n_embd, cfg.n_head
    D = C // H
    eps = cfg.layer_norm_epsilon

    def ln(x, pre):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + eps) * P[pre + ".weight"] + P[pre + ".bias"]

    def gelu(x):
        return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x**3)))

    x = P["transformer.wte.weight"][ids] + P["transformer.wpe.weight"][np.arange(T)]
    for i in range(cfg.n_layer):
        pre = f"transformer.h.{i}."
        qkv = x @ P[pre + "attn.c_attn.weight"] + P[pre + "attn.c_attn.bias"]
        q, k, v = qkv[:, :C], qkv[:, C : 2 * C], qkv[:, 2 * C :]
        y = np.zeros((T, C))
        for h in range(H):
            sl = slice(h * D, (h + 1) * D)
            s = q[:, sl] @ k[:, sl].T / np.sqrt(D)
            s = np.where(np.tril(np.ones((T, T), dtype=bool)), s, -np.inf)
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            y[:, sl] = s @ v[:, sl]
        x = ln(x + y @ P[pre + "attn.c_proj.weight"] + P[pre + "attn.c_proj.bias"], pre + "ln_1")
        m = gelu(x @ P[pre + "mlp.c_fc.weight"] + P[pre + "mlp.c_fc.bias"])
        x = ln(x + m @ P[pre + "mlp.c_proj.weight"] + P[pre + "mlp.c_proj.bias"], pre + "ln_2")
    logits = x @ P["transformer.wte.weight"].T
    m = logits.max(-1, keepdims=True)
    return logits - (m + np.log(np.exp(logits - m).sum(-1, keepdims=True)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--peer", default=os.environ.get("GPT_REF_DIR", "/work/shared/peers/pytorch"))
    ap.add_argument("--out", default=OUT)
    a = ap.parse_args()
    sys.path.insert(0, a.peer)
    import torch

    import gpt_ref as gr

    torch.set_num_threads(2)
    os.makedirs(a.out, exist_ok=True)
    ref = {"generator": "packages/model/tools/make_fixtures.py (gpt_ref.py, torch " + torch.__version__ + ")"}

    # 1. F32 checkpoint in the layout gpt_ref writes (transformer.* names, no lm_head).
    d = os.path.join(a.out, "tiny")
    cfg = gr.GPTConfig(vocab_size=512, n_positions=64, n_embd=64, n_layer=2, n_head=4)
    gr.make_checkpoint(d, cfg, seed=1, std=0.2)
    seqs = sequences(512, [16, 33, 64], seed=11)
    ref["tiny"] = torch_reference(gr, d, seqs, [1, 2, 3], 16, 8)

    # 2./3. A smaller model stored in F16 (hub layout) and BF16 (with lm_head.weight).
    small = gr.GPTConfig(vocab_size=256, n_positions=32, n_embd=32, n_layer=2, n_head=2)
    params = gr.init_params_numpy(small, seed=2, std=0.2)
    seqs_small = sequences(256, [12, 32], seed=12)

    d = os.path.join(a.out, "tiny-f16")
    os.makedirs(d, exist_ok=True)
    entries = {}
    for name, arr in params.items():
        entries[name[len("transformer.") :]] = ("F16", arr.shape, arr.astype("<f2").tobytes())
    mask = np.tril(np.ones((small.n_positions, small.n_positions), dtype=np.float32))[None, None]
    for i in range(small.n_layer):
        entries[f"h.{i}.attn.bias"] = ("F16", mask.shape, mask.astype("<f2").tobytes())
    write_raw_safetensors(os.path.join(d, "model.safetensors"), entries, {"format": "pt"})
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(small.to_hf_dict(), f, indent=2)
    ref["tiny-f16"] = torch_reference(gr, d, seqs_small, [5, 6], 8, 4)

    d = os.path.join(a.out, "tiny-bf16")
    os.makedirs(d, exist_ok=True)
    entries = {name: ("BF16", arr.shape, to_bf16_raw(arr)) for name, arr in params.items()}
    wte = params["transformer.wte.weight"]
    entries["lm_head.weight"] = ("BF16", wte.shape, to_bf16_raw(wte))
    write_raw_safetensors(os.path.join(d, "model.safetensors"), entries)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(small.to_hf_dict(), f, indent=2)
    ref["tiny-bf16"] = torch_reference(gr, d, seqs_small, [5, 6], 8, 4)

    # 4. GPT-1 style post-LN checkpoint (no ln_f), reference from the float64 NumPy forward above.
    d = os.path.join(a.out, "tiny-postln")
    os.makedirs(d, exist_ok=True)
    pcfg = gr.GPTConfig(vocab_size=256, n_positions=32, n_embd=32, n_layer=2, n_head=4)
    pparams = gr.init_params_numpy(pcfg, seed=3, std=0.2)
    del pparams["transformer.ln_f.weight"], pparams["transformer.ln_f.bias"]
    gr.save_safetensors(os.path.join(d, "model.safetensors"), pparams, metadata={"format": "pt"})
    hf = pcfg.to_hf_dict()
    hf["post_ln"] = True
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(hf, f, indent=2)
    loaded, _ = gr.load_safetensors(os.path.join(d, "model.safetensors"))
    pref = {"sequences": []}
    for ids in sequences(256, [9, 32], seed=13):
        lp = numpy_postln_logprobs(loaded, pcfg, ids)
        T = len(ids)
        pref["sequences"].append(
            {
                "ids": ids,
                "next_token_logprobs": [round(float(lp[t, ids[t + 1]]), 7) for t in range(T - 1)],
                "rows": rows(lp, sorted({0, T // 2, T - 1})),
            }
        )
    ref["tiny-postln"] = pref

    with open(os.path.join(a.out, "reference.json"), "w") as f:
        json.dump(ref, f, separators=(",", ":"))
        f.write("\n")
    total = 0
    for root, _, files in os.walk(a.out):
        for fn in files:
            total += os.path.getsize(os.path.join(root, fn))
    print(json.dumps({"out": a.out, "bytes": total, "max_abs_logit_tiny": ref["tiny"]["max_abs_logit"]}))


if __name__ == "__main__":
    main()
