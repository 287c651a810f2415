"""Huginn ("raven") recurrent-depth language model: the PyTorch reference.

Written top to bottom from the paper (arXiv 2502.05171) and the huginn-0125 release, as
docs/architecture.md#forward-pass describes them:
  e = prelude(wte[ids] * embed_scale)                       # P sandwich blocks
  s = s0;  repeat r times: s = core(adapter([s, e]))        # L_core blocks per iteration
  logits = lm_head(ln_f(coda(ln_f(s))))                     # C blocks, ln_f used twice
Module attribute names follow the official code, so state_dict() keys are the checkpoint names.
"""
import json
import math
import os
from dataclasses import dataclass, field, fields

import torch
import torch.nn as nn
import torch.nn.functional as F

from safetensors_io import Checkpoint, CheckpointError


REQUIRED_FIELDS = ("n_embd", "n_heads", "n_layers_in_prelude", "n_layers_in_recurrent_block",
                   "n_layers_in_coda", "intermediate_size", "vocab_size", "block_size")


@dataclass
class HuginnConfig:
    # shape fields have no default: config.json must give them
    n_embd: int
    n_heads: int
    n_layers_in_prelude: int
    n_layers_in_recurrent_block: int
    n_layers_in_coda: int
    intermediate_size: int
    vocab_size: int
    block_size: int
    num_key_value_heads: int = None   # None -> n_heads (huginn-0125 has no GQA)
    padded_vocab_size: int = None     # None -> vocab_size
    n_layers: int = None              # None -> P + L_core + C
    mean_recurrence: int = 32
    mean_backprop_depth: int = 8
    rope_base: float = 50000.0
    norm_eps: float = 1e-6
    tie_embeddings: bool = True
    bias: bool = False                # only the adapter has a bias (as in the official code)
    qk_bias: bool = True
    bos_token_id: int = None
    eos_token_id: int = None
    pad_token_id: int = None
    init_values: dict = None          # {"std", "embed_scale", ...}; derived from n_embd when absent
    test_time_noise: float = 0.0
    extra: dict = field(default_factory=dict)  # every other config.json field, kept verbatim

    def __post_init__(self):
        self.num_key_value_heads = self.num_key_value_heads or self.n_heads
        self.padded_vocab_size = self.padded_vocab_size or self.vocab_size
        depth = self.n_layers_in_prelude + self.n_layers_in_recurrent_block + self.n_layers_in_coda
        self.n_layers = self.n_layers or depth
        iv = self.init_values or {}
        self.std = float(iv.get("std", math.sqrt(2 / (5 * self.n_embd))))
        self.embed_scale = float(iv.get("embed_scale", math.sqrt(self.n_embd)))
        self.head_dim = self.n_embd // self.n_heads
        problems = [msg for bad, msg in [
            (self.n_embd % self.n_heads or self.head_dim % 2, "n_embd / n_heads must be an even integer"),
            (self.n_heads % self.num_key_value_heads, "n_heads must be a multiple of num_key_value_heads"),
            (self.qk_bias and self.num_key_value_heads != self.n_heads, "qk_bias needs num_key_value_heads == n_heads"),
            (self.n_layers != depth, f"n_layers {self.n_layers} != prelude + recurrent_block + coda ({depth})"),
            (self.padded_vocab_size < self.vocab_size, "padded_vocab_size < vocab_size"),
            (self.extra.get("head_dim", self.head_dim) != self.head_dim, "head_dim != n_embd / n_heads"),
            (self.test_time_noise, "test_time_noise != 0 is not supported"),
        ] if bad]
        if problems:
            raise CheckpointError("config.json: " + "; ".join(problems))

    @property
    def effective_depth(self):  # P + C + L_core * mean_recurrence (used by the takase init)
        return self.n_layers_in_prelude + self.n_layers_in_coda + self.n_layers_in_recurrent_block * self.mean_recurrence

    @classmethod
    def from_dict(cls, d):
        known = {f.name for f in fields(cls)} - {"extra"}
        missing = [k for k in REQUIRED_FIELDS if k not in d]
        if missing:
            raise CheckpointError(f"config.json: missing field {missing[0]}")
        return cls(**{k: v for k, v in d.items() if k in known},
                   extra={k: v for k, v in d.items() if k not in known})

    @classmethod
    def from_folder(cls, folder):
        if not os.path.isdir(folder):
            raise CheckpointError(f"{folder}: no such checkpoint folder")
        path = os.path.join(folder, "config.json")
        try:
            with open(path) as f:
                return cls.from_dict(json.load(f))
        except (OSError, ValueError, TypeError) as e:
            raise CheckpointError(f"{path}: {e}") from None


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        # y = x / sqrt(mean(x^2) + eps) * weight, normalised in float32 like the official RMSNorm_llama
        # (in float64 when the whole reference runs in float64, so nothing is rounded to float32 there)
        xf = x if x.dtype == torch.float64 else x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).type_as(x) * self.weight


def rope_table(head_dim, length, theta):
    # exactly the official precompute_freqs_cis, in float32: angle(p, i) = p * theta^(-2i/head_dim)
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    angles = torch.outer(torch.arange(length, dtype=torch.float32), inv_freq)
    return torch.cos(angles), torch.sin(angles)  # each [length, head_dim / 2]


def apply_rope(x, cos, sin):
    # interleaved ("complex") layout: pairs (0,1), (2,3), ... are rotated; x is [B, S, heads, D]
    x0, x1 = x.unflatten(-1, (-1, 2)).unbind(-1)
    cos, sin = cos[:, None, :], sin[:, None, :]  # [S, 1, D/2] broadcasts over batch and heads
    return torch.stack([x0 * cos - x1 * sin, x1 * cos + x0 * sin], dim=-1).flatten(-2)


class KVCache:
    """Keys and values per block index: prelude 0..P-1, core P + k*L_core + j, coda -1, -2, ...
    `pos` is the number of tokens already processed (the RoPE offset of the next chunk)."""

    def __init__(self):
        self.kv, self.pos = {}, 0

    def update(self, idx, k, v):  # k, v: [B, kv_heads, S, D]; returns all keys/values of this index
        if idx in self.kv:
            k = torch.cat([self.kv[idx][0], k], dim=2)
            v = torch.cat([self.kv[idx][1], v], dim=2)
        self.kv[idx] = (k, v)
        return k, v


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.n_head, self.n_kv, self.hd = cfg.n_heads, cfg.num_key_value_heads, cfg.head_dim
        self.Wqkv = nn.Linear(cfg.n_embd, (self.n_head + 2 * self.n_kv) * self.hd, bias=False)  # rows q, k, v
        self.qk_bias = nn.Parameter(torch.zeros(2, 1, self.n_head, self.hd)) if cfg.qk_bias else None
        self.proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=False)

    def forward(self, x, rope, idx, cache=None, mask=None):
        B, S, _ = x.shape
        q, k, v = self.Wqkv(x).split([self.n_head * self.hd, self.n_kv * self.hd, self.n_kv * self.hd], dim=-1)
        q, k, v = q.view(B, S, self.n_head, self.hd), k.view(B, S, self.n_kv, self.hd), v.view(B, S, self.n_kv, self.hd)
        if self.qk_bias is not None:  # per head and dim, added before RoPE
            q, k = q + self.qk_bias[0], k + self.qk_bias[1]
        q, k = apply_rope(q, *rope), apply_rope(k, *rope)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # [B, heads, S, D]
        if cache is not None:
            k, v = cache.update(idx, k, v)
        if self.n_kv != self.n_head:  # GQA (not used by huginn-0125): share each kv head
            k, v = k.repeat_interleave(self.n_head // self.n_kv, 1), v.repeat_interleave(self.n_head // self.n_kv, 1)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(self.hd)  # [B, H, S, T]
        T = k.shape[2]
        if mask is not None:  # a trainer's own mask [B or 1, 1, S, T] (True = may attend)
            att = att.masked_fill(~mask, float("-inf"))
        elif S > 1:  # causal, aligned bottom right: new token j (position T-S+j) sees keys 0..T-S+j
            causal = torch.ones(S, T, dtype=torch.bool, device=x.device).tril(diagonal=T - S)
            att = att.masked_fill(~causal, float("-inf"))
        y = att.softmax(dim=-1) @ v
        return self.proj(y.transpose(1, 2).reshape(B, S, self.n_head * self.hd))


class GatedMLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.fc = nn.Linear(cfg.n_embd, 2 * cfg.intermediate_size, bias=False)  # rows: gate, then up
        self.proj = nn.Linear(cfg.intermediate_size, cfg.n_embd, bias=False)

    def forward(self, x):
        gate, up = self.fc(x).chunk(2, dim=-1)
        return self.proj(F.silu(gate) * up)


class SandwichBlock(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.norm_1, self.norm_2 = RMSNorm(cfg.n_embd, cfg.norm_eps), RMSNorm(cfg.n_embd, cfg.norm_eps)
        self.norm_3, self.norm_4 = RMSNorm(cfg.n_embd, cfg.norm_eps), RMSNorm(cfg.n_embd, cfg.norm_eps)
        self.attn, self.mlp = CausalSelfAttention(cfg), GatedMLP(cfg)

    def forward(self, x, rope, idx, cache=None, mask=None):
        # the residual is added before norm_2 / norm_4, and each sub-layer's output is normalised
        x = self.norm_2(self.attn(self.norm_1(x), rope, idx, cache, mask) + x)
        return self.norm_4(self.mlp(self.norm_3(x)) + x)


class Huginn(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        h, blocks = cfg.n_embd, lambda n: nn.ModuleList(SandwichBlock(cfg) for _ in range(n))
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(cfg.padded_vocab_size, h),
            prelude=blocks(cfg.n_layers_in_prelude),
            adapter=nn.Linear(2 * h, h, bias=cfg.bias),
            core_block=blocks(cfg.n_layers_in_recurrent_block),
            coda=blocks(cfg.n_layers_in_coda),
            ln_f=RMSNorm(h, cfg.norm_eps),
        ))
        self.lm_head = nn.Linear(h, cfg.padded_vocab_size, bias=False)
        if cfg.tie_embeddings:
            self.lm_head.weight = self.transformer.wte.weight
        # RoPE table (cos, sin) in float32; not persistent, so it stays out of state_dict()
        cos, sin = rope_table(cfg.head_dim, cfg.block_size, cfg.rope_base)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)

    # ---- the forward pass, in pieces a trainer can recombine ----
    def rope(self, pos, T):
        if pos + T > self.cfg.block_size:
            raise ValueError(f"positions up to {pos + T} exceed block_size {self.cfg.block_size}")
        return self.rope_cos[pos:pos + T], self.rope_sin[pos:pos + T]

    def prelude_forward(self, ids, rope, cache=None, mask=None):
        e = self.transformer.wte(ids) * self.cfg.embed_scale
        for i, block in enumerate(self.transformer.prelude):  # block indices 0..P-1
            e = block(e, rope, i, cache, mask)
        return e

    def init_state(self, e, init_scale=0.0, seed=0):
        """s0 = trunc_normal(0, std, cut at +-3 std) * embed_scale, std = init_values.std * init_scale;
        init_scale = 0 gives s0 = 0 (deterministic). seed: an int or a torch.Generator."""
        std = self.cfg.std * init_scale
        if std == 0:
            return torch.zeros_like(e)
        g = seed if isinstance(seed, torch.Generator) else torch.Generator().manual_seed(int(seed or 0))
        # inverse-CDF sampling, as torch.nn.init.trunc_normal_ does, but with our own generator
        lo, hi = [(1 + math.erf(c / math.sqrt(2))) / 2 for c in (-3.0, 3.0)]
        u = torch.empty(e.shape, dtype=torch.float64).uniform_(2 * lo - 1, 2 * hi - 1, generator=g)
        s = (torch.erfinv(u) * (std * math.sqrt(2))).clamp(-3 * std, 3 * std)
        return (s * self.cfg.embed_scale).to(e.dtype)

    def iterate(self, s, e, steps, rope, cache=None, first_step=0, mask=None):
        """`steps` iterations of the recurrent core, numbered from first_step (for cache indices).
        Truncated backprop: `with torch.no_grad(): s = m.iterate(s, e, n, rope)`, then
        `s = m.iterate(s, e, k, rope, first_step=n)` with gradients (they still reach e)."""
        P, L = self.cfg.n_layers_in_prelude, self.cfg.n_layers_in_recurrent_block
        for step in range(first_step, first_step + steps):
            s = self.transformer.adapter(torch.cat([s, e], dim=-1))  # state first, prelude output second
            for j, block in enumerate(self.transformer.core_block):
                s = block(s, rope, P + step * L + j, cache, mask)
        return s

    def coda_forward(self, s, rope, cache=None, mask=None, at=None):
        """Logits [B, T, V]; with at (bool [B, T]) only those positions' logits, [N, V] in
        row-major order (a trainer whose loss sees few positions skips the LM head elsewhere)."""
        s = self.transformer.ln_f(s)  # first use of ln_f
        for i, block in enumerate(self.transformer.coda):  # block indices -1, -2, ...
            s = block(s, rope, -(i + 1), cache, mask)
        if at is not None:
            s = s[at]
        return self.lm_head(self.transformer.ln_f(s)).float()  # second use of ln_f; float32 logits

    def forward(self, ids, steps=None, cache=None, init_scale=0.0, seed=0):
        """ids [B, T] (or [T]): new tokens after the cache.pos cached ones. Returns float32 logits [B, T, V]."""
        ids = ids[None] if ids.dim() == 1 else ids
        steps = self.cfg.mean_recurrence if steps is None else steps
        rope = self.rope(cache.pos if cache is not None else 0, ids.shape[1])
        e = self.prelude_forward(ids, rope, cache)
        s = self.iterate(self.init_state(e, init_scale, seed), e, steps, rope, cache)
        logits = self.coda_forward(s, rope, cache)
        if cache is not None:
            cache.pos += ids.shape[1]
        return logits

    # ---- weights ----
    @torch.no_grad()
    def takase_init_(self, seed=0, bias_std=0.0):
        """The paper's "takase" init: normal(0, std) everywhere, output projections (attn.proj,
        mlp.proj) with std / sqrt(2 * effective_depth), norms 1; qk_bias and adapter bias are
        normal(0, bias_std) (0 = zeros, as in training; > 0 exercises them in test checkpoints)."""
        g = torch.Generator().manual_seed(seed)
        out_std = self.cfg.std / math.sqrt(2 * self.cfg.effective_depth)
        for name, p in self.named_parameters():  # fixed order; a tied lm_head is visited once (as wte)
            if "norm" in name or "ln_f" in name:
                p.fill_(1.0)
            elif name.endswith("bias"):
                p.normal_(0.0, bias_std, generator=g) if bias_std > 0 else p.zero_()
            else:
                p.normal_(0.0, out_std if name.endswith(("attn.proj.weight", "mlp.proj.weight")) else self.cfg.std, generator=g)
        return self

    @classmethod
    def from_checkpoint(cls, folder, dtype=torch.float32):
        """Load config.json + safetensors (single or sharded, F32/F16/BF16) strictly; weights become `dtype`.
        A tied model uses lm_head.weight when the checkpoint has one, else wte."""
        cfg = HuginnConfig.from_folder(folder)
        ck = Checkpoint(folder)
        model = cls(cfg)
        names = set(ck.keys()) - {"freqs_cis"}  # the official RoPE buffer: recomputed instead
        if cfg.tie_embeddings and "lm_head.weight" in names:
            model.lm_head.weight = nn.Parameter(torch.empty_like(model.lm_head.weight))
        model.to(dtype)
        params = model.state_dict(keep_vars=True)
        missing = [n for n in params if n not in names and not (n == "lm_head.weight" and cfg.tie_embeddings)]
        if missing:
            raise CheckpointError(f"{folder}: missing tensor {missing[0]}" + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
        unexpected = sorted(names - set(params))
        if unexpected:
            raise CheckpointError(f"{folder}: unexpected tensor {unexpected[0]} (config.json does not call for it)")
        with torch.no_grad():
            for n in sorted(names):
                if tuple(ck.shape(n)) != tuple(params[n].shape):
                    raise CheckpointError(f"{folder}: tensor {n} has shape {list(ck.shape(n))}, "
                                          f"config.json implies {list(params[n].shape)}")
                params[n].copy_(torch.from_numpy(ck.get(n).copy()))
        return model.eval()
