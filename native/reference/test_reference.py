"""Tests of the Python reference, run by `npm run test:python` (part of `npm test`); alone:
  OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 native/reference/test_reference.py

Checks the model against an independent naive numpy float64 forward written from
docs/architecture.md, full forward vs prefill + one-token decode through the KV cache, cached vs
uncached greedy generation, single vs sharded files, F16/BF16 storage, strict loading errors, the
safetensors byte layout, and the CLI's output and error contract.
"""
import contextlib
import io
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # read when OpenMP loads: set before torch
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import numpy as np  # noqa: E402
import torch  # noqa: E402

import make_checkpoint  # noqa: E402
from huginn import Huginn, KVCache, apply_rope, rope_table  # noqa: E402
from safetensors_io import Checkpoint, CheckpointError, SafetensorsFile, f32_to_bf16, save_checkpoint, save_file  # noqa: E402

TMP = tempfile.mkdtemp(prefix="huginn-ref-test-")


def setUpModule():
    torch.set_num_threads(2)


def tearDownModule():
    shutil.rmtree(TMP, ignore_errors=True)


IDS = [5, 17, 300, 2, 99, 45, 45, 7, 260, 1, 0, 511]


def make(name, *args):
    out = os.path.join(TMP, name)
    if not os.path.isdir(out):
        argv = ["--out", out, "--prelude", "2", "--core", "2", "--coda", "2", "--seed", "3", *args]
        with contextlib.redirect_stdout(io.StringIO()):
            assert make_checkpoint.main(argv) == 0
    return out


def load(folder, dtype=torch.float64):
    return Huginn.from_checkpoint(folder, dtype)


def read_json(path):
    with open(path) as f:
        return json.load(f)


def rel(a, b):
    a, b = (x.detach().double().numpy() if torch.is_tensor(x) else np.asarray(x, np.float64) for x in (a, b))
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


def naive_forward(folder, ids, steps):
    """The forward pass (docs/architecture.md#forward-pass), written independently: numpy float64,
    complex-number RoPE, attention one query at a time over the keys it may see. Zero state init."""
    cfg = read_json(os.path.join(folder, "config.json"))
    ck = Checkpoint(folder)
    W = {n: ck.get(n).astype(np.float64) for n in ck.keys()}
    h, H = cfg["n_embd"], cfg["n_heads"]
    D, T = h // H, len(ids)
    rms = lambda x, w: x / np.sqrt((x * x).mean(-1, keepdims=True) + cfg["norm_eps"]) * w  # noqa: E731
    inv = 1.0 / (np.float32(cfg["rope_base"]) ** (np.arange(0, D, 2, dtype=np.float32) / np.float32(D)))
    rot = np.exp(1j * np.outer(np.arange(T, dtype=np.float32), inv).astype(np.float64))  # [T, D/2]

    def rope(x):  # x [T, H, D]: pair (2i, 2i+1) is the complex number x[2i] + i x[2i+1]
        z = (x[..., 0::2] + 1j * x[..., 1::2]) * rot[:, None, :]
        return np.stack([z.real, z.imag], -1).reshape(x.shape)

    def block(x, p):
        qkv = rms(x, W[p + "norm_1.weight"]) @ W[p + "attn.Wqkv.weight"].T
        q, k, v = (qkv[:, i * h:(i + 1) * h].reshape(T, H, D) for i in range(3))
        if cfg["qk_bias"]:
            q, k = q + W[p + "attn.qk_bias"][0, 0], k + W[p + "attn.qk_bias"][1, 0]
        q, k = rope(q), rope(k)
        y = np.zeros((T, H, D))
        for t in range(T):
            for hd in range(H):
                s = k[:t + 1, hd] @ q[t, hd] / math.sqrt(D)
                w = np.exp(s - s.max())
                y[t, hd] = (w / w.sum()) @ v[:t + 1, hd]
        x = rms(y.reshape(T, h) @ W[p + "attn.proj.weight"].T + x, W[p + "norm_2.weight"])
        fc = rms(x, W[p + "norm_3.weight"]) @ W[p + "mlp.fc.weight"].T
        g, u = fc[:, :fc.shape[1] // 2], fc[:, fc.shape[1] // 2:]
        m = (g / (1 + np.exp(-g)) * u) @ W[p + "mlp.proj.weight"].T
        return rms(m + x, W[p + "norm_4.weight"])

    e = W["transformer.wte.weight"][ids] * math.sqrt(h)
    for i in range(cfg["n_layers_in_prelude"]):
        e = block(e, f"transformer.prelude.{i}.")
    s = np.zeros_like(e)
    for _ in range(steps):
        s = np.concatenate([s, e], -1) @ W["transformer.adapter.weight"].T + W.get("transformer.adapter.bias", 0)
        for j in range(cfg["n_layers_in_recurrent_block"]):
            s = block(s, f"transformer.core_block.{j}.")
    s = rms(s, W["transformer.ln_f.weight"])
    for i in range(cfg["n_layers_in_coda"]):
        s = block(s, f"transformer.coda.{i}.")
    s = rms(s, W["transformer.ln_f.weight"])
    return s @ W.get("lm_head.weight", W["transformer.wte.weight"]).T


def cli(*args):
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    return subprocess.run([sys.executable, os.path.join(HERE, "cli.py"), *args], capture_output=True, text=True, env=env)


class ModelTests(unittest.TestCase):
    def test_matches_naive_spec_forward(self):
        for name, extra in [("base", []), ("untied-bias", ["--no-tie", "--bias"]), ("noqk", ["--no-qk-bias"])]:
            folder = make(name, *extra)
            got = load(folder)(torch.tensor(IDS), steps=3)[0]
            err = rel(got, naive_forward(folder, IDS, 3))
            self.assertLess(err, 1e-6, name)
            print(f"[{name}: max rel err {err:.1e}]", end=" ", file=sys.stderr)

    def test_full_vs_prefill_decode_float64(self):
        model, ids = load(make("base")), torch.tensor([IDS])
        with torch.no_grad():
            full = model(ids, steps=5)[0]
            for K in (1, 5, len(IDS)):
                cache = KVCache()
                parts = [model(ids[:, :K], 5, cache)[0]] + [model(ids[:, t:t + 1], 5, cache)[0] for t in range(K, len(IDS))]
                err = rel(torch.cat(parts), full)
                self.assertLess(err, 1e-5, f"prefill {K}")
                print(f"[prefill {K}: {err:.1e}]", end=" ", file=sys.stderr)
                self.assertEqual(cache.pos, len(IDS))
                self.assertEqual(len(cache.kv), 2 + 5 * 2 + 2)  # P + steps * L_core + C cache indices
                self.assertEqual(sorted(cache.kv)[:2], [-2, -1])
            cache = KVCache()  # two chunks of several tokens: exercises the bottom-right aligned mask
            parts = [model(ids[:, :4], 5, cache)[0], model(ids[:, 4:], 5, cache)[0]]
            self.assertLess(rel(torch.cat(parts), full), 1e-5)

    def test_zero_and_random_state_init(self):
        model = load(make("base"))
        e = torch.zeros(1, 300, model.cfg.n_embd, dtype=torch.float64)
        self.assertTrue((model.init_state(e, 0.0) == 0).all())
        a, b = model.init_state(e, 1.0, seed=7), model.init_state(e, 1.0, seed=7)
        self.assertTrue(torch.equal(a, b))
        bound = 3 * model.cfg.std * model.cfg.embed_scale
        self.assertLessEqual(a.abs().max().item(), bound + 1e-12)
        self.assertAlmostEqual(a.std().item() / (model.cfg.std * model.cfg.embed_scale), 0.986, delta=0.03)
        ids = torch.tensor(IDS)
        self.assertFalse(torch.equal(model(ids, 2, init_scale=1.0, seed=1), model(ids, 2)))

    def test_split_recurrence_for_truncated_backprop(self):
        model = load(make("base"), torch.float32).train()
        ids = torch.tensor([IDS])
        rope = model.rope(0, ids.shape[1])
        e = model.prelude_forward(ids, rope)
        s0 = model.init_state(e)
        whole = model.iterate(s0, e, 5, rope)
        with torch.no_grad():
            s = model.iterate(s0, e, 3, rope)
        s = model.iterate(s, e, 2, rope, first_step=3)
        self.assertTrue(torch.allclose(s, whole, rtol=1e-5, atol=1e-6))
        model.coda_forward(s, rope).logsumexp(-1).mean().backward()
        self.assertIsNotNone(model.transformer.prelude[0].attn.Wqkv.weight.grad)  # gradient reaches e
        self.assertIsNotNone(model.transformer.core_block[1].mlp.proj.weight.grad)

    def test_rope_is_complex_rotation(self):
        cos, sin = rope_table(8, 5, 50000)
        x = torch.randn(1, 5, 2, 8, dtype=torch.float64)
        z = torch.view_as_complex(x.unflatten(-1, (-1, 2)).contiguous())
        ref = torch.view_as_real(z * torch.complex(cos.double(), sin.double())[:, None, :]).flatten(-2)
        self.assertLess(rel(apply_rope(x, cos.double(), sin.double()), ref), 1e-7)
        self.assertAlmostEqual(float(torch.atan2(sin[3, 1], cos[3, 1])), 3 * 50000 ** (-2 / 8), places=6)


class CheckpointTests(unittest.TestCase):
    def test_state_dict_keys_are_official_names(self):
        folder = make("base")
        model = load(folder)
        self.assertEqual(set(model.state_dict()) - {"lm_head.weight"}, set(Checkpoint(folder).keys()))
        for n in ("transformer.wte.weight", "transformer.prelude.1.norm_4.weight", "transformer.core_block.0.attn.qk_bias",
                  "transformer.coda.1.mlp.fc.weight", "transformer.adapter.weight", "transformer.ln_f.weight"):
            self.assertIn(n, model.state_dict())

    def test_sharded_and_16bit_storage(self):
        single, sharded = make("base"), make("sharded", "--shards", "3")
        self.assertEqual(sorted(os.listdir(sharded))[:4], ["config.json", "model-00001-of-00003.safetensors",
                                                           "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors"])
        index = read_json(os.path.join(sharded, "model.safetensors.index.json"))
        self.assertEqual(len(set(index["weight_map"].values())), 3)
        ref = load(single)(torch.tensor(IDS), 3)
        self.assertTrue(torch.equal(load(sharded)(torch.tensor(IDS), 3), ref))
        a = Checkpoint(single)
        for dt, torch_dt in (("bf16", torch.bfloat16), ("f16", torch.float16)):
            folder = make(dt, "--dtype", dt, "--shards", "2")
            b = Checkpoint(folder)
            for n in a.keys():  # stored values are the float32 weights rounded (round-to-nearest-even)
                self.assertEqual(b.dtype(n), dt.upper())
                want = torch.from_numpy(a.get(n).copy()).to(torch_dt).float().numpy()
                self.assertTrue(np.array_equal(b.get(n), want), n)
            self.assertLess(rel(load(folder)(torch.tensor(IDS), 3), ref), 0.05)

    def test_strict_loading(self):
        src = make("base")
        tensors = {n: Checkpoint(src).get(n).copy() for n in Checkpoint(src).keys()}
        bad = os.path.join(TMP, "bad")
        for change, message in [("drop", "missing tensor transformer.core_block.1.attn.Wqkv.weight"),
                                ("shape", "tensor transformer.coda.0.mlp.proj.weight has shape [64, 127]"),
                                ("extra", "unexpected tensor transformer.extra")]:
            t = dict(tensors)
            if change == "drop":
                del t["transformer.core_block.1.attn.Wqkv.weight"]
            elif change == "shape":
                t["transformer.coda.0.mlp.proj.weight"] = t["transformer.coda.0.mlp.proj.weight"][:, :127]
            else:
                t["transformer.extra"] = np.zeros(3, np.float32)
            shutil.rmtree(bad, ignore_errors=True)
            save_checkpoint(t, bad)
            shutil.copy(os.path.join(src, "config.json"), bad)
            with self.assertRaises(CheckpointError) as cm:
                load(bad)
            self.assertIn(message, str(cm.exception))
        t = dict(tensors, freqs_cis=np.zeros((4, 2), np.float32))  # the official buffer is ignored
        shutil.rmtree(bad)
        save_checkpoint(t, bad)
        shutil.copy(os.path.join(src, "config.json"), bad)
        load(bad)

    def test_safetensors_layout(self):
        path = os.path.join(TMP, "one.safetensors")
        x = np.array([[1.0, -2.5, 3.140625], [1e-3, 65504.0, -0.0]], np.float32)
        save_file({"b": x, "a": np.arange(3, dtype=np.int64)}, path, dtype="BF16", metadata={"k": "v"})
        with open(path, "rb") as f:
            raw = f.read()
        (n,) = struct.unpack("<Q", raw[:8])
        self.assertEqual((8 + n) % 8, 0)
        header = json.loads(raw[8:8 + n])
        self.assertEqual(header["__metadata__"], {"k": "v"})
        self.assertEqual(header["a"], {"dtype": "I64", "shape": [3], "data_offsets": [0, 24]})
        self.assertEqual(header["b"], {"dtype": "BF16", "shape": [2, 3], "data_offsets": [24, 36]})
        f = SafetensorsFile(path)
        self.assertTrue(np.array_equal(f.get("b"), torch.from_numpy(x).bfloat16().float().numpy()))
        self.assertTrue(np.array_equal(f32_to_bf16(x), torch.from_numpy(x).bfloat16().view(torch.int16).numpy().view(np.uint16)))
        self.assertEqual(f.get("a").tolist(), [0, 1, 2])
        self.assertEqual(f.metadata, {"k": "v"})


class CliTests(unittest.TestCase):
    def test_score_modes_agree(self):
        folder, ids = make("base"), ",".join(map(str, IDS))
        full = json.loads(cli("score", "--checkpoint", folder, "--ids", ids, "--steps", "4").stdout)["logits"]
        dec = json.loads(cli("score", "--checkpoint", folder, "--ids", ids, "--steps", "4", "--mode", "decode",
                             "--prefill", "3", "--dtype", "float64").stdout)["logits"]
        self.assertEqual(np.shape(full), (len(IDS), 512))
        self.assertLess(rel(dec, full), 1e-5)
        rnd = [json.loads(cli("score", "--checkpoint", folder, "--ids", ids, "--steps", "4", "--state-init", "random",
                              "--seed", "5").stdout)["logits"] for _ in range(2)]
        self.assertEqual(rnd[0], rnd[1])
        self.assertGreater(rel(rnd[0], full), 1e-4)

    def test_generate_cached_equals_uncached(self):
        for name in ("base", "untied-bias"):
            folder = make(name, *(["--no-tie", "--bias"] if name != "base" else []))
            args = ["generate", "--checkpoint", folder, "--ids", "1,2,3,4", "--steps", "4", "--max-tokens", "24"]
            cached, uncached = cli(*args), cli(*args, "--no-cache")
            self.assertEqual(cached.returncode, 0, cached.stderr)
            self.assertEqual(json.loads(cached.stdout), json.loads(uncached.stdout))
            self.assertGreater(len(json.loads(cached.stdout)["ids"]), 0)

    def test_bench_and_errors(self):
        folder = make("base")
        out = json.loads(cli("bench", "--checkpoint", folder, "--steps", "2", "--prompt-len", "16", "--decode-tokens", "4").stdout)
        self.assertEqual(set(out) >= {"prefill_tok_s", "decode_tok_s", "peak_rss_mb"}, True)
        for args in (["score", "--checkpoint", os.path.join(TMP, "nope"), "--ids", "1", "--steps", "1"],
                     ["score", "--checkpoint", folder, "--ids", "1,x", "--steps", "1"],
                     ["score", "--checkpoint", folder, "--ids", "1,512", "--steps", "1"],
                     ["score", "--checkpoint", folder, "--ids", "1", "--bogus"],
                     ["generate", "--checkpoint", folder]):
            r = cli(*args)
            self.assertEqual(r.returncode, 2, args)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
            self.assertEqual(r.stdout, "")


if __name__ == "__main__":
    unittest.main(verbosity=2)
