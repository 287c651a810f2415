"""Write a synthetic checkpoint with huginn-0125's exact shape, streamed tensor by tensor.

  /usr/bin/python3 native/reference/make_fullsize_checkpoint.py --out DIR [--seed S]
  /usr/bin/python3 native/reference/make_fullsize_checkpoint.py --out DIR --tiny     # same layers, small widths
  /usr/bin/python3 native/reference/make_fullsize_checkpoint.py --out DIR --n-embd 192 --n-heads 2 ...

The folder is laid out as the release: config.json (make_checkpoint.make_config at huginn-0125's
values: n_embd 5280, 55 heads of 96, no GQA, 2/4/2 layers, intermediate 17920, vocab 65536,
block_size 4096, mean_recurrence 32, qk_bias, tied embeddings stored once as transformer.wte),
BF16 weights in 4 safetensors shards plus model.safetensors.index.json (7.13 GB at full size),
tokenizer.json and tokenizer_config.json (make_checkpoint's byte-level BPE, padded to the vocab).

Weights follow the "takase" init of the reference (Huginn.takase_init_): normal(0, std) with
std = sqrt(2 / (5 h)), attn.proj and mlp.proj normal(0, std / sqrt(2 * effective_depth)), norms 1,
qk_bias normal(0, 0.1) as in make_checkpoint's test checkpoints (0 in training; --qk-bias-std 0).
Each tensor is drawn from its own generator (seeded by --seed and its name) in chunks of
--chunk-elems float32 values, rounded to BF16 and written straight into its shard, so the peak
memory is a few chunks (~0.4 GiB with torch imported), whatever the model size.
"""
import argparse
import json
import math
import os
import struct
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402

import make_checkpoint  # noqa: E402
from huginn import HuginnConfig  # noqa: E402
from safetensors_io import INDEX_FILE, CheckpointError  # noqa: E402

# huginn-0125 (native/reference/make_checkpoint.py arguments; /work/shared/huginn-spec.md)
HUGINN_0125 = {"n_embd": 5280, "n_heads": 55, "prelude": 2, "core": 4, "coda": 2, "intermediate": 17920,
               "vocab": 65536, "block_size": 4096, "mean_recurrence": 32, "rope_base": 50000}
# the same layers and head size at widths a test builds in seconds
TINY = {**HUGINN_0125, "n_embd": 192, "n_heads": 2, "intermediate": 640, "vocab": 1024, "block_size": 256}
SHAPE_FIELDS = ("n_embd", "n_heads", "intermediate", "vocab", "block_size")
BF16_BYTES = 2


def full_config(shape):
    """config.json for `shape` (HUGINN_0125 or overrides), made by make_checkpoint.make_config."""
    argv = ["--out", "-", "--dtype", "bf16"]
    for key in ("n_embd", "n_heads", "prelude", "core", "coda", "intermediate", "vocab", "block_size",
                "mean_recurrence", "rope_base"):
        argv += ["--" + key.replace("_", "-"), str(shape[key])]
    return make_checkpoint.make_config(make_checkpoint.parser().parse_args(argv))


def tensor_plan(config, qk_bias_std):
    """[(name, shape, std)] of every stored tensor, sorted by name; std None = all ones (norms)."""
    cfg = HuginnConfig.from_dict(config)  # validates the shape, gives std and effective depth
    h, hd, H, kv = cfg.n_embd, cfg.head_dim, cfg.n_heads, cfg.num_key_value_heads
    out_std = cfg.std / math.sqrt(2 * cfg.effective_depth)
    plan = [("transformer.wte.weight", (cfg.padded_vocab_size, h), cfg.std),
            ("transformer.adapter.weight", (h, 2 * h), cfg.std),
            ("transformer.ln_f.weight", (h,), None)]
    if cfg.bias:
        plan.append(("transformer.adapter.bias", (h,), qk_bias_std))
    if not cfg.tie_embeddings:
        plan.append(("lm_head.weight", (cfg.padded_vocab_size, h), cfg.std))
    for group, n in (("prelude", cfg.n_layers_in_prelude), ("core_block", cfg.n_layers_in_recurrent_block),
                     ("coda", cfg.n_layers_in_coda)):
        for i in range(n):
            p = f"transformer.{group}.{i}."
            plan += [(p + f"norm_{k}.weight", (h,), None) for k in (1, 2, 3, 4)]
            plan += [(p + "attn.Wqkv.weight", ((H + 2 * kv) * hd, h), cfg.std),
                     (p + "attn.proj.weight", (h, h), out_std),
                     (p + "mlp.fc.weight", (2 * cfg.intermediate_size, h), cfg.std),
                     (p + "mlp.proj.weight", (h, cfg.intermediate_size), out_std)]
            if cfg.qk_bias:
                plan.append((p + "attn.qk_bias", (2, 1, H, hd), qk_bias_std))
    return sorted(plan)


def assign_shards(plan, shards):
    """Shard index of each tensor: where its middle falls in the cumulative size (as save_checkpoint)."""
    sizes = [math.prod(shape) for _, shape, _ in plan]
    total, cum, group = sum(sizes), 0, []
    for s in sizes:
        group.append(min(shards - 1, int((cum + s / 2) * shards / max(total, 1))))
        cum += s
    if len(set(group)) != shards:
        group = [i * shards // len(plan) for i in range(len(plan))]
    return group


def to_bf16_inplace(x):
    """float32 -> BF16 bits, rounding to nearest even like safetensors_io.f32_to_bf16, in 32-bit
    arithmetic on x's own buffer (that one widens to 64 bits and is 15x slower). x is overwritten."""
    u = x.view(np.uint32)
    u += (u >> 16) & 1
    u += 0x7FFF
    u >>= 16
    return u.astype(np.uint16)


def write_tensor(f, name, shape, std, seed, chunk, buf):
    """Streams one tensor's BF16 bytes into f; returns the bytes written."""
    n, done = math.prod(shape), 0
    rng = np.random.Generator(np.random.SFC64(np.random.SeedSequence([seed, zlib.crc32(name.encode())])))
    while done < n:
        x = buf[:min(chunk, n - done)]
        if std is None:
            x.fill(1.0)
        else:
            rng.standard_normal(out=x, dtype=np.float32)
            x *= np.float32(std)
        f.write(to_bf16_inplace(x).data)
        done += x.size
    return n * BF16_BYTES


def write_shard(path, items, seed, chunk, log):
    """One safetensors file: the header (offsets known from the shapes), then each tensor streamed."""
    entries, offset = {}, 0
    for name, shape, _ in items:
        nbytes = math.prod(shape) * BF16_BYTES
        entries[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    header = json.dumps({"__metadata__": {"format": "pt"}, **entries}, separators=(",", ":")).encode("utf-8")
    header += b" " * (-len(header) % 8)  # the data block starts 8-byte aligned, as save_file does
    buf = np.empty(chunk, np.float32)
    tmp = path + ".partial"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(header)))
        f.write(header)
        for name, shape, std in items:
            t0 = time.time()
            write_tensor(f, name, shape, std, seed, chunk, buf)
            if math.prod(shape) >= 1 << 26:
                log(f"  {name} {list(shape)}: {time.time() - t0:.1f} s")
    os.replace(tmp, path)
    return offset


def write_checkpoint(out, shape, seed=0, shards=4, qk_bias_std=0.1, chunk=1 << 24, log=lambda s: None):
    config = full_config(shape)
    plan = tensor_plan(config, qk_bias_std)
    tokenizer = make_checkpoint.make_tokenizer(shape["vocab"])
    if not 1 <= shards <= len(plan):
        raise ValueError(f"--shards must be in 1..{len(plan)}")
    os.makedirs(out, exist_ok=True)
    for old in os.listdir(out):
        if old.startswith("model") and ".safetensors" in old:
            os.remove(os.path.join(out, old))  # stale shards would shadow or confuse the new ones
    group = assign_shards(plan, shards)
    files, weight_map, total = [], {}, 0
    for k in range(shards):
        fn = f"model-{k + 1:05d}-of-{shards:05d}.safetensors"
        items = [t for t, g in zip(plan, group) if g == k]
        log(f"{fn}: {len(items)} tensors")
        total += write_shard(os.path.join(out, fn), items, seed, chunk, log)
        weight_map.update({name: fn for name, _, _ in items})
        files.append(fn)
    with open(os.path.join(out, INDEX_FILE), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(out, "tokenizer.json"), "w") as f:
        json.dump(tokenizer, f, indent=1, ensure_ascii=False)
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump({"bos_token": make_checkpoint.SPECIAL_TOKENS[0], "eos_token": make_checkpoint.SPECIAL_TOKENS[1],
                   "pad_token": make_checkpoint.SPECIAL_TOKENS[3], "clean_up_tokenization_spaces": False,
                   "model_max_length": shape["block_size"]}, f, indent=1)
    return {"out": out, "files": files + [INDEX_FILE], "parameters": sum(math.prod(s) for _, s, _ in plan),
            "bytes": total}


def parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tiny", action="store_true", help=f"widths {', '.join(f'{k} {TINY[k]}' for k in SHAPE_FIELDS)}")
    for key in SHAPE_FIELDS:
        p.add_argument("--" + key.replace("_", "-"), type=int, default=None, help=f"default {HUGINN_0125[key]}")
    p.add_argument("--shards", type=int, default=4)
    p.add_argument("--qk-bias-std", type=float, default=0.1)
    p.add_argument("--chunk-elems", type=int, default=1 << 24, help="float32 values generated at a time")
    p.add_argument("--quiet", action="store_true")
    return p


def main(argv=None):
    a = parser().parse_args(argv)
    shape = dict(TINY if a.tiny else HUGINN_0125)
    shape.update({k: getattr(a, k) for k in SHAPE_FIELDS if getattr(a, k) is not None})
    log = (lambda s: None) if a.quiet else (lambda s: print(s, file=sys.stderr, flush=True))
    t0 = time.time()
    try:
        if a.chunk_elems < 1:
            raise ValueError("--chunk-elems must be positive")
        result = write_checkpoint(a.out, shape, a.seed, a.shards, a.qk_bias_std, a.chunk_elems, log)
    except (ValueError, OSError, CheckpointError) as e:  # CheckpointError: a config the reference refuses
        print(f"make_fullsize_checkpoint: {e}", file=sys.stderr)
        return 2
    result["seconds"] = round(time.time() - t0, 1)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
