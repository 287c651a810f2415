"""Command line for the Huginn PyTorch reference (run with Debian's /usr/bin/python3).

  cli.py score    --checkpoint DIR --ids 1,2,3 --steps N [--state-init zero|random] [--seed S]
                  [--dtype float32|float64] [--mode full|decode] [--prefill K]
  cli.py generate --checkpoint DIR --ids 1,2,3 --steps N --max-tokens M [--no-cache] [--dtype ...]
  cli.py bench    --checkpoint DIR --steps N --prompt-len L --decode-tokens M [--dtype ...]

Each prints one JSON object on stdout; errors print one line on stderr and exit with code 2.
"""
import argparse
import json
import os
import resource
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads OpenMP: spinning threads hurt on 2 cores
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402

from huginn import Huginn, KVCache  # noqa: E402
from safetensors_io import CheckpointError  # noqa: E402

STOP_TOKEN_NAMES = {"<|begin_text|>", "<|end_text|>", "<|end_turn|>"}
DTYPES = {"float32": torch.float32, "float64": torch.float64}


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit code 2
        raise UsageError(message)


def parse_ids(text, vocab):
    try:
        ids = [int(t) for t in text.split(",") if t.strip() != ""]
    except ValueError:
        raise UsageError(f"--ids must be comma-separated integers, got {text!r}") from None
    if not ids:
        raise UsageError("--ids is empty")
    bad = [i for i in ids if not 0 <= i < vocab]
    if bad:
        raise UsageError(f"token id {bad[0]} is outside the vocabulary [0, {vocab})")
    return torch.tensor([ids], dtype=torch.long)


def compact(rows):
    # 9 significant digits round-trip a float32 exactly and keep the JSON short
    return [[float(f"{v:.9g}") for v in row] for row in rows.tolist()]


def stop_ids(model, folder):
    cfg, stop = model.cfg, set()
    stop.update(i for i in (cfg.bos_token_id, cfg.eos_token_id) if i is not None)
    try:  # also the end-of-turn token, like the official generation code
        with open(os.path.join(folder, "tokenizer.json")) as f:
            stop.update(t["id"] for t in json.load(f).get("added_tokens", []) if t["content"] in STOP_TOKEN_NAMES)
    except (OSError, ValueError, KeyError):
        pass
    return stop


def greedy(logits, vocab):
    return int(logits[0, -1, :vocab].argmax())  # padded vocabulary rows are never produced


def cmd_score(a, model):
    ids = parse_ids(a.ids, model.cfg.vocab_size)
    T = ids.shape[1]
    init = dict(init_scale=1.0 if a.state_init == "random" else 0.0, seed=torch.Generator().manual_seed(a.seed))
    if a.mode == "full":
        logits = model(ids, a.steps, **init)[0]
    else:  # prefill K tokens, then one token at a time through the KV cache
        K = a.prefill
        if not 1 <= K <= T:
            raise UsageError(f"--prefill must be in 1..{T}")
        cache = KVCache()
        parts = [model(ids[:, :K], a.steps, cache, **init)[0]]
        parts += [model(ids[:, t:t + 1], a.steps, cache, **init)[0] for t in range(K, T)]
        logits = torch.cat(parts, dim=0)
    return {"logits": compact(logits)}


def cmd_generate(a, model, folder):
    ids = parse_ids(a.ids, model.cfg.vocab_size)
    stop, out, cache = stop_ids(model, folder), [], None if a.no_cache else KVCache()
    V, limit = model.cfg.vocab_size, model.cfg.block_size
    logits = model(ids, a.steps, cache)  # zero state init
    seq = ids[0].tolist()
    while len(out) < a.max_tokens:
        nxt = greedy(logits, V)
        out.append(nxt)
        seq.append(nxt)
        if nxt in stop or len(seq) >= limit:
            break
        if cache is not None:
            logits = model(torch.tensor([[nxt]]), a.steps, cache)
        else:  # recompute everything: checks the cache against the plain forward
            logits = model(torch.tensor([seq]), a.steps)
    return {"ids": out}


def cmd_bench(a, model):
    cfg = model.cfg
    if a.prompt_len < 1 or a.decode_tokens < 0 or a.prompt_len + a.decode_tokens > cfg.block_size:
        raise UsageError(f"need 1 <= prompt-len and prompt-len + decode-tokens <= block_size {cfg.block_size}")
    prompt = torch.randint(0, cfg.vocab_size, (1, a.prompt_len), generator=torch.Generator().manual_seed(0))
    model(prompt[:, :1], a.steps, KVCache())  # warm-up (allocator, thread pool)
    cache = KVCache()
    t0 = time.perf_counter()
    logits = model(prompt, a.steps, cache)
    t1 = time.perf_counter()
    for _ in range(a.decode_tokens):
        logits = model(torch.tensor([[greedy(logits, cfg.vocab_size)]]), a.steps, cache)
    t2 = time.perf_counter()
    return {
        "prefill_tok_s": a.prompt_len / (t1 - t0),
        "decode_tok_s": a.decode_tokens / (t2 - t1) if a.decode_tokens else None,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # ru_maxrss is in KiB on Linux
        "steps": a.steps, "prompt_len": a.prompt_len, "decode_tokens": a.decode_tokens,
        "dtype": a.dtype, "threads": torch.get_num_threads(),
    }


def build_parser():
    p = Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=Parser)
    for name in ("score", "generate", "bench"):
        s = sub.add_parser(name)
        s.add_argument("--checkpoint", required=True)
        s.add_argument("--steps", type=int, default=None, help="recurrence iterations (default: mean_recurrence)")
        s.add_argument("--dtype", choices=list(DTYPES), default="float32")
        if name != "bench":
            s.add_argument("--ids", required=True)
    s = sub.choices["score"]
    s.add_argument("--state-init", choices=["zero", "random"], default="zero")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--mode", choices=["full", "decode"], default="full")
    s.add_argument("--prefill", type=int, default=1)
    s = sub.choices["generate"]
    s.add_argument("--max-tokens", type=int, default=16)
    s.add_argument("--no-cache", action="store_true")
    s = sub.choices["bench"]
    s.add_argument("--prompt-len", type=int, default=64)
    s.add_argument("--decode-tokens", type=int, default=32)
    return p


def main(argv=None):
    # Benchmarks pass RC_TORCH_THREADS to compare at the engine's thread count.
    torch.set_num_threads(int(os.environ.get("RC_TORCH_THREADS", "2")))
    try:
        a = build_parser().parse_args(argv)
        if a.steps is not None and a.steps < 0:
            raise UsageError("--steps must be >= 0")
        model = Huginn.from_checkpoint(a.checkpoint, DTYPES[a.dtype])
        with torch.inference_mode():
            if a.cmd == "score":
                result = cmd_score(a, model)
            elif a.cmd == "generate":
                result = cmd_generate(a, model, a.checkpoint)
            else:
                result = cmd_bench(a, model)
    except (UsageError, CheckpointError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(result, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
