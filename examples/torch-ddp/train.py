"""Train a GPT-2 on gptlab token shards with PyTorch DistributedDataParallel and write a checkpoint gptlab loads.

    torchrun --standalone --nproc_per_node 2 examples/torch-ddp/train.py --data runs/shards --out runs/ddp

--data is a directory written by `gptlab-train data prepare` (manifest.json + raw little-endian uint16/uint32
shards, the format of nanoGPT's train.bin); --out becomes a Hugging Face GPT-2 directory (config.json +
model.safetensors, plus tokenizer.json when the shard directory has one) that `gptlab-train eval`,
`gptlab-playground serve` and transformers' GPT2LMHeadModel all read. The parameter names and layouts are
GPT-2's own (Conv1D weights are [in, out]; the LM head is tied to wte), so saving is a plain dump.
Backend: gloo on CPU (CI), nccl when CUDA is present.
"""
import argparse
import bisect
import json
import math
import os
import shutil
import struct
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel as DDP


# ---------------------------------------------------------------------------------------------- data

class Split:
    """One split of a gptlab shard directory: the shards memory-mapped, read as one token stream."""

    def __init__(self, data_dir, manifest, split):
        dtype = {"uint16": np.dtype("<u2"), "uint32": np.dtype("<u4")}[manifest["dtype"]]
        self.shards = []
        self.starts = []
        total = 0
        for s in manifest["splits"][split]["shards"]:
            path = os.path.join(data_dir, s["file"])
            size = os.path.getsize(path)
            if size != s["tokens"] * dtype.itemsize:
                raise SystemExit(f"{path}: {size} bytes, the manifest says {s['tokens'] * dtype.itemsize}")
            self.shards.append(np.memmap(path, dtype=dtype, mode="r"))
            self.starts.append(total)
            total += s["tokens"]
        self.tokens = total

    def read(self, start, length):
        """Tokens [start, start + length) as int64, across shard boundaries."""
        out = np.empty(length, dtype=np.int64)
        i = bisect.bisect_right(self.starts, start) - 1
        o = 0
        while o < length:
            off = start + o - self.starts[i]
            take = min(length - o, len(self.shards[i]) - off)
            out[o:o + take] = self.shards[i][off:off + take]
            o += take
            i += 1
        return out


def batch(split, batch_size, block, gen):
    """Random windows of block + 1 tokens: inputs and next-token targets."""
    starts = torch.randint(0, split.tokens - block, (batch_size,), generator=gen).tolist()
    rows = torch.from_numpy(np.stack([split.read(s, block + 1) for s in starts]))
    return rows[:, :-1], rows[:, 1:]


# --------------------------------------------------------------------------------------------- model

class Conv1D(nn.Module):
    """GPT-2's linear layer: weight [in, out]."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_in, n_out))
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x):
        return torch.addmm(self.bias, x.reshape(-1, x.shape[-1]), self.weight).reshape(*x.shape[:-1], -1)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.n_head = c["n_head"]
        self.c_attn = Conv1D(c["n_embd"], 3 * c["n_embd"])
        self.c_proj = Conv1D(c["n_embd"], c["n_embd"])

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(C // self.n_head)
        mask = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
        att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
        return self.c_proj((att @ v).transpose(1, 2).reshape(B, T, C))


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c_fc = Conv1D(c["n_embd"], 4 * c["n_embd"])
        self.c_proj = Conv1D(4 * c["n_embd"], c["n_embd"])

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))  # gelu_new


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.ln_1 = nn.LayerNorm(c["n_embd"], eps=c["layer_norm_epsilon"])
        self.attn = Attention(c)
        self.ln_2 = nn.LayerNorm(c["n_embd"], eps=c["layer_norm_epsilon"])
        self.mlp = MLP(c)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT2(nn.Module):
    """Parameter names are Hugging Face GPT-2's (without the "transformer." prefix, which gptlab accepts)."""

    def __init__(self, c):
        super().__init__()
        self.wte = nn.Embedding(c["vocab_size"], c["n_embd"])
        self.wpe = nn.Embedding(c["n_positions"], c["n_embd"])
        self.h = nn.ModuleList(Block(c) for _ in range(c["n_layer"]))
        self.ln_f = nn.LayerNorm(c["n_embd"], eps=c["layer_norm_epsilon"])
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):  # GPT-2: residual projections scaled by 1/sqrt(2·layers)
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * c["n_layer"]))
            elif name.endswith(".weight") and p.dim() == 2:
                nn.init.normal_(p, 0.0, 0.02)

    def forward(self, ids):
        pos = torch.arange(ids.shape[1], device=ids.device)
        x = self.wte(ids) + self.wpe(pos)
        for block in self.h:
            x = block(x)
        return self.ln_f(x) @ self.wte.weight.t()  # tied LM head


# ------------------------------------------------------------------------------------------ checkpoint

def save_safetensors(tensors, path):
    """The safetensors format by hand (torch 1.13 predates the package): u64 header length, JSON header, raw
    little-endian F32 bytes; the header is padded with spaces to a multiple of 8 as the reference writer does."""
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in tensors.items():
        raw = t.detach().to(torch.float32).contiguous().cpu().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def save_checkpoint(model, c, eos, data_dir, out):
    os.makedirs(out, exist_ok=True)
    config = {
        "architectures": ["GPT2LMHeadModel"],
        "model_type": "gpt2",
        "vocab_size": c["vocab_size"],
        "n_positions": c["n_positions"],
        "n_ctx": c["n_positions"],
        "n_embd": c["n_embd"],
        "n_layer": c["n_layer"],
        "n_head": c["n_head"],
        "n_inner": None,
        "activation_function": "gelu_new",
        "layer_norm_epsilon": c["layer_norm_epsilon"],
        "embd_pdrop": 0.0,
        "attn_pdrop": 0.0,
        "resid_pdrop": 0.0,
        "scale_attn_weights": True,
        "scale_attn_by_inverse_layer_idx": False,
        "reorder_and_upcast_attn": False,
        "tie_word_embeddings": True,
        "bos_token_id": eos,
        "eos_token_id": eos,
    }
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    save_safetensors(dict(model.state_dict()), os.path.join(out, "model.safetensors"))
    tok = os.path.join(data_dir, "tokenizer.json")
    if os.path.exists(tok):
        shutil.copyfile(tok, os.path.join(out, "tokenizer.json"))


# --------------------------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="gptlab shard directory (manifest.json)")
    ap.add_argument("--out", required=True, help="checkpoint directory to write")
    ap.add_argument("--n-layer", type=int, default=2)
    ap.add_argument("--n-head", type=int, default=2)
    ap.add_argument("--n-embd", type=int, default=64)
    ap.add_argument("--block-size", type=int, default=32)
    ap.add_argument("--batch-size", type=int, default=8, help="sequences per process and step")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--score-out", help="write the trained model's log-probs of the first validation window (JSON)")
    a = ap.parse_args()

    backend = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend)
    rank, world = dist.get_rank(), dist.get_world_size()
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if backend == "nccl" else "cpu")

    with open(os.path.join(a.data, "manifest.json")) as f:
        manifest = json.load(f)
    if manifest.get("format") != "gptlab-token-shards":
        raise SystemExit(f"{a.data}/manifest.json: not a gptlab token shard manifest")
    train = Split(a.data, manifest, "train")
    if train.tokens <= a.block_size + 1:
        raise SystemExit(f"the train split has {train.tokens} tokens, fewer than --block-size + 2")
    c = {"vocab_size": manifest["vocabSize"], "n_positions": a.block_size, "n_embd": a.n_embd, "n_layer": a.n_layer,
         "n_head": a.n_head, "layer_norm_epsilon": 1e-5}

    torch.manual_seed(a.seed)  # the same initial weights everywhere (DDP also broadcasts rank 0's)
    model = GPT2(c).to(device)
    ddp = DDP(model, device_ids=[device.index] if backend == "nccl" else None)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    rest = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay}, {"params": rest, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.95))
    gen = torch.Generator().manual_seed(a.seed * 1000 + rank)  # each process its own windows
    t0 = time.time()
    for step in range(1, a.steps + 1):
        x, y = batch(train, a.batch_size, a.block_size, gen)
        logits = ddp(x.to(device))
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.to(device).reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()  # DDP all-reduces (averages) the gradients here
        torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip)
        opt.step()
        mean = loss.detach().clone()
        dist.all_reduce(mean)
        if rank == 0:
            print(json.dumps({"step": step, "loss": round(mean.item() / world, 6), "s": round(time.time() - t0, 2)}), flush=True)

    # every process must hold the same weights after DDP training
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    lo, hi = flat.clone(), flat.clone()
    dist.all_reduce(lo, op=dist.ReduceOp.MIN)
    dist.all_reduce(hi, op=dist.ReduceOp.MAX)
    in_sync = bool(torch.equal(lo, hi))
    if rank == 0:
        print(json.dumps({"ranks": world, "in_sync": in_sync}), flush=True)
        save_checkpoint(model, c, manifest["eosId"], a.data, a.out)
        if a.score_out:
            split = Split(a.data, manifest, "val") if manifest["splits"]["val"]["tokens"] > a.block_size else train
            ids = torch.from_numpy(split.read(0, a.block_size + 1))
            model.eval()
            with torch.no_grad():
                lp = model(ids[None, :-1].to(device)).log_softmax(-1)[0]
                picked = lp.gather(1, ids[1:, None].to(device))[:, 0]
            with open(a.score_out, "w") as f:
                json.dump({"ids": ids.tolist(), "logprobs": picked.double().cpu().tolist()}, f)
        print(json.dumps({"saved": a.out}), flush=True)
    dist.destroy_process_group()
    if not in_sync:
        raise SystemExit("processes ended with different weights")


if __name__ == "__main__":
    main()
