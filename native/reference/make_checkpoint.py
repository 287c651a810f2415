"""Write a randomly initialised Huginn checkpoint folder in the official huginn-0125 layout:
config.json, model.safetensors (or shards + index), tokenizer.json, tokenizer_config.json.

  /usr/bin/python3 native/reference/make_checkpoint.py --out /tmp/ck [--n-embd 64 --n-heads 4 ...]
"""
import argparse
import glob
import json
import math
import os
import re
import sys
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402

from huginn import Huginn, HuginnConfig  # noqa: E402
from safetensors_io import CheckpointError, save_checkpoint  # noqa: E402

# added tokens, in this order from id vocab_size - 16 (ids vocab_size - 9 .. - 1 are <|reserved_k|>)
SPECIAL_TOKENS = ["<|begin_text|>", "<|end_text|>", "<|end_turn|>", "<|pad|>",
                  "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>"]
N_TOP = 16  # size of the special block at the top of the vocab


def make_config(a):
    h, P, L, C = a.n_embd, a.prelude, a.core, a.coda
    std = math.sqrt(2 / (5 * h))
    depth = P + C + L * a.mean_recurrence
    return {
        "architectures": ["RavenForCausalLM"],
        "model_type": "huginn_raven",
        "bias": a.bias,
        "block_class_name": "SandwichBlock",
        "block_size": a.block_size,
        "bos_token_id": a.vocab - N_TOP,
        "eos_token_id": a.vocab - N_TOP + 1,
        "pad_token_id": a.vocab - N_TOP + 3,
        "effective_expected_depth": depth,
        "head_dim": h // a.n_heads,
        "init_orthogonal": False,
        "init_strategy": "takase",
        "init_values": {"std": std, "out_proj": std / math.sqrt(2 * depth), "embedding": std,
                        "embed_scale": math.sqrt(h)},
        "injection_type": "linear",
        "intermediate_size": a.intermediate,
        "mean_backprop_depth": max(1, a.mean_recurrence // 4),
        "mean_recurrence": a.mean_recurrence,
        "mlp_class_name": "GatedMLP",
        "n_embd": h,
        "n_heads": a.n_heads,
        "n_layers": P + L + C,
        "n_layers_in_coda": C,
        "n_layers_in_prelude": P,
        "n_layers_in_recurrent_block": L,
        "nonlin_name": "SiLU",
        "norm_class_name": "RMSNorm_llama",
        "norm_eps": 1e-6,
        "num_key_value_heads": a.n_heads,
        "padded_vocab_size": a.vocab,
        "padding_multiple": 1,
        "qk_bias": not a.no_qk_bias,
        "rope_base": int(a.rope_base) if float(a.rope_base).is_integer() else a.rope_base,
        "sampling_scheme": "poisson-lognormal-filling",
        "state_init": "like-init",
        "test_time_noise": 0,
        "test_time_noise_type": "none",
        "tie_embeddings": not a.no_tie,
        "torch_dtype": {"f32": "float32", "bf16": "bfloat16", "f16": "float16"}[a.dtype],
        "vocab_size": a.vocab,
    }


def bytes_to_unicode():
    # GPT-2's map from each byte to a printable unicode character (printable latin-1 maps to itself)
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    out, extra = {}, 0
    for b in range(256):
        if b in keep:
            out[b] = chr(b)
        else:
            out[b] = chr(256 + extra)
            extra += 1
    return out


def tiny_corpus():
    # a small programmatic code/maths text, only to learn a few plausible merges
    lines = []
    for i in range(40):
        lines.append(f"def f{i}(x, y):\n    return x * {i} + y - {i * 7 % 13}\n")
        lines.append(f"{i * 37 % 100} + {i * 53 % 100} = {(i * 37 % 100) + (i * 53 % 100)}\n")
        lines.append(f"for i in range({i}):\n    print(self.value[i])\n")
    return "".join(lines)


def learn_merges(text, n):
    # naive byte-level BPE training; this pattern equals GPT-2's regex on ASCII text without apostrophes
    b2u = bytes_to_unicode()
    words = Counter(tuple(b2u[b] for b in w.encode()) for w in
                    re.findall(r" ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+", text))
    merges = []
    while len(merges) < n:
        pairs = Counter()
        for w, c in words.items():
            for p in zip(w, w[1:]):
                pairs[p] += c
        if not pairs:
            break
        best = max(pairs, key=lambda p: (pairs[p], p))  # ties broken by the pair itself: deterministic
        if pairs[best] < 2:
            break
        merges.append(best)
        new_words = Counter()
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            new_words[tuple(out)] += c
        words = new_words
    return merges


def make_tokenizer(V):
    """HF tokenizer.json: ids 0..255 = the 256 bytes (GPT-2 characters, id = byte value), then
    learned merges, then <|reserved_k|> fillers so that every id < V has a token, and the
    special block at V-16.. (SPECIAL_TOKENS, then reserved)."""
    if V < 256 + N_TOP:
        raise ValueError(f"--vocab must be at least {256 + N_TOP}")
    b2u = bytes_to_unicode()
    vocab = {b2u[b]: b for b in range(256)}
    merges = learn_merges(tiny_corpus(), min(V - N_TOP - 256, 200))
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))  # the same string can come from two different merges
    specials = {}
    k = 0
    for i in range(len(vocab), V):
        j = i - (V - N_TOP)
        if 0 <= j < len(SPECIAL_TOKENS):
            specials[i] = SPECIAL_TOKENS[j]
        else:
            specials[i], k = f"<|reserved_{k}|>", k + 1
    vocab.update({s: i for i, s in specials.items()})
    byte_level = {"add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True} for i, s in specials.items()],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", **byte_level},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", **byte_level},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  "ignore_merges": False, "vocab": vocab, "merges": [f"{a} {b}" for a, b in merges]},
    }


def write_checkpoint(a):
    config, tokenizer = make_config(a), make_tokenizer(a.vocab)  # both validate the arguments first
    model = Huginn(HuginnConfig.from_dict(config)).takase_init_(seed=a.seed, bias_std=0.1)
    tensors = {n: t.detach().numpy() for n, t in model.state_dict().items()}
    if not a.no_tie:
        del tensors["lm_head.weight"]  # tied: stored once, as transformer.wte.weight
    os.makedirs(a.out, exist_ok=True)
    for old in glob.glob(os.path.join(a.out, "model*.safetensors*")):
        os.remove(old)  # stale shards from an earlier run would shadow or confuse the new weights
    files = save_checkpoint(tensors, a.out, dtype=a.dtype.upper(), shards=a.shards)
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(a.out, "tokenizer.json"), "w") as f:
        json.dump(tokenizer, f, indent=1, ensure_ascii=False)
    with open(os.path.join(a.out, "tokenizer_config.json"), "w") as f:
        json.dump({"bos_token": SPECIAL_TOKENS[0], "eos_token": SPECIAL_TOKENS[1], "pad_token": SPECIAL_TOKENS[3],
                   "clean_up_tokenization_spaces": False, "model_max_length": a.block_size}, f, indent=1)
    return files


def parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--n-embd", type=int, default=64)
    p.add_argument("--n-heads", type=int, default=4)
    p.add_argument("--prelude", type=int, default=1)
    p.add_argument("--core", type=int, default=2)
    p.add_argument("--coda", type=int, default=1)
    p.add_argument("--intermediate", type=int, default=128)
    p.add_argument("--vocab", type=int, default=512)
    p.add_argument("--block-size", type=int, default=256)
    p.add_argument("--mean-recurrence", type=int, default=4)
    p.add_argument("--rope-base", type=float, default=50000.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dtype", choices=["f32", "bf16", "f16"], default="f32")
    p.add_argument("--shards", type=int, default=1)
    p.add_argument("--no-tie", action="store_true", help="store a separate lm_head.weight")
    p.add_argument("--no-qk-bias", action="store_true")
    p.add_argument("--bias", action="store_true", help="adapter bias")
    return p


def main(argv=None):
    a = parser().parse_args(argv)
    torch.set_num_threads(2)
    try:
        files = write_checkpoint(a)
    except (ValueError, OSError, CheckpointError) as e:
        print(f"make_checkpoint: {e}", file=sys.stderr)
        return 2
    print(json.dumps({"out": a.out, "files": files}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
