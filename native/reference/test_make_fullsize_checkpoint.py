"""Checks of make_fullsize_checkpoint.py on a small shape (seconds; the full size is 7 GB):
  OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 native/reference/test_make_fullsize_checkpoint.py

The small checkpoint goes through the same streaming code as the full one (with chunks smaller
than a tensor's rows), loads strictly with the reference's reader, has the key set of the
reference model with huginn-0125's layers, and its full-size plan has huginn-0125's shapes.
"""
import contextlib
import io
import json
import math
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import numpy as np  # noqa: E402
import torch  # noqa: E402

import make_fullsize_checkpoint as mfc  # noqa: E402
from huginn import Huginn, HuginnConfig  # noqa: E402
from safetensors_io import Checkpoint, f32_to_bf16  # noqa: E402

TMP = tempfile.mkdtemp(prefix="huginn-fullsize-test-")

# huginn-0125's tensors, by the suffix after the block prefix (h 5280, 55 heads of 96, MLP 17920, V 65536)
FULL_SHAPES = {
    "transformer.wte.weight": (65536, 5280),
    "transformer.adapter.weight": (5280, 10560),
    "transformer.ln_f.weight": (5280,),
    "attn.Wqkv.weight": (15840, 5280),
    "attn.qk_bias": (2, 1, 55, 96),
    "attn.proj.weight": (5280, 5280),
    "mlp.fc.weight": (35840, 5280),
    "mlp.proj.weight": (5280, 17920),
    "norm_1.weight": (5280,), "norm_2.weight": (5280,), "norm_3.weight": (5280,), "norm_4.weight": (5280,),
}


def generate(name, *args):
    out = os.path.join(TMP, name)
    with contextlib.redirect_stdout(io.StringIO()) as stdout:
        assert mfc.main(["--out", out, "--tiny", "--quiet", *args]) == 0
    return out, json.loads(stdout.getvalue())


def read_json(path):
    with open(path) as f:
        return json.load(f)


class FullsizeCheckpointTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # 1000 values per chunk: every matrix is written in many chunks that cut its rows
        cls.folder, cls.result = generate("tiny", "--chunk-elems", "1000")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(TMP, ignore_errors=True)

    def test_layout_and_index(self):
        files = sorted(os.listdir(self.folder))
        shards = [f"model-0000{k}-of-00004.safetensors" for k in (1, 2, 3, 4)]
        self.assertEqual(files, sorted(shards + ["model.safetensors.index.json", "config.json",
                                                 "tokenizer.json", "tokenizer_config.json"]))
        index = read_json(os.path.join(self.folder, "model.safetensors.index.json"))
        self.assertEqual(sorted(set(index["weight_map"].values())), shards)
        ck = Checkpoint(self.folder)
        self.assertEqual(set(ck.keys()), set(index["weight_map"]))
        self.assertTrue(all(ck.dtype(n) == "BF16" for n in ck.keys()))
        data = sum(math.prod(ck.shape(n)) * 2 for n in ck.keys())
        self.assertEqual(index["metadata"]["total_size"], data)
        self.assertEqual(self.result["bytes"], data)

    def test_config_is_huginn_0125_at_full_size(self):
        cfg = mfc.full_config(mfc.HUGINN_0125)
        expected = {"n_embd": 5280, "n_heads": 55, "num_key_value_heads": 55, "head_dim": 96,
                    "n_layers_in_prelude": 2, "n_layers_in_recurrent_block": 4, "n_layers_in_coda": 2,
                    "n_layers": 8, "intermediate_size": 17920, "vocab_size": 65536, "padded_vocab_size": 65536,
                    "block_size": 4096, "mean_recurrence": 32, "mean_backprop_depth": 8, "rope_base": 50000,
                    "norm_eps": 1e-6, "qk_bias": True, "bias": False, "tie_embeddings": True,
                    "effective_expected_depth": 132, "torch_dtype": "bfloat16"}
        self.assertEqual({k: cfg[k] for k in expected}, expected)
        self.assertAlmostEqual(cfg["init_values"]["std"], math.sqrt(2 / (5 * 5280)))
        self.assertAlmostEqual(cfg["init_values"]["embed_scale"], math.sqrt(5280))
        tiny = read_json(os.path.join(self.folder, "config.json"))
        self.assertEqual(tiny, mfc.full_config(mfc.TINY))
        same = [k for k in cfg if k not in ("n_embd", "n_heads", "num_key_value_heads", "intermediate_size", "vocab_size", "padded_vocab_size",
                                            "block_size", "init_values", "bos_token_id", "eos_token_id", "pad_token_id")]
        self.assertEqual({k: tiny[k] for k in same}, {k: cfg[k] for k in same})

    def test_full_size_plan_has_huginn_0125_shapes(self):
        full = mfc.tensor_plan(mfc.full_config(mfc.HUGINN_0125), 0.1)
        tiny = mfc.tensor_plan(mfc.full_config(mfc.TINY), 0.1)
        self.assertEqual([n for n, _, _ in full], [n for n, _, _ in tiny])  # the same key set, only widths scale
        for name, shape, _ in full:
            suffix = name if name.count(".") < 3 else name.split(".", 3)[3]
            self.assertEqual(shape, FULL_SHAPES[suffix], name)
        params = sum(math.prod(s) for _, s, _ in full)
        self.assertEqual(params, 3_564_976_800)  # 7.13 GB in BF16
        self.assertEqual(len(full), 3 + 8 * 9)
        groups = mfc.assign_shards(full, 4)
        sizes = [sum(math.prod(s) for (_, s, _), g in zip(full, groups) if g == k) for k in range(4)]
        self.assertTrue(all(abs(s / params - 0.25) < 0.05 for s in sizes), sizes)

    def test_key_set_and_shapes_are_the_reference_models(self):
        cfg = HuginnConfig.from_folder(self.folder)
        expected = {n: tuple(t.shape) for n, t in Huginn(cfg).state_dict().items() if n != "lm_head.weight"}
        ck = Checkpoint(self.folder)
        self.assertEqual({n: tuple(ck.shape(n)) for n in ck.keys()}, expected)  # tied: lm_head not stored

    def test_loads_strictly_and_runs(self):
        model = Huginn.from_checkpoint(self.folder, torch.float32)
        self.assertEqual(model.cfg.head_dim, 96)
        with torch.no_grad():
            logits = model(torch.tensor([[1, 2, 3, 1000]]), steps=2)
        self.assertEqual(tuple(logits.shape), (1, 4, 1024))
        self.assertTrue(torch.isfinite(logits).all())

    def test_init_stds(self):
        cfg = HuginnConfig.from_folder(self.folder)
        ck = Checkpoint(self.folder)
        out_std = cfg.std / math.sqrt(2 * cfg.effective_depth)
        for name in ck.keys():
            x = ck.get(name).astype(np.float64)
            if "norm" in name or "ln_f" in name:
                self.assertTrue((x == 1).all(), name)
            elif name.endswith("qk_bias"):
                self.assertAlmostEqual(x.std(), 0.1, delta=0.01, msg=name)
            else:
                want = out_std if name.endswith(("attn.proj.weight", "mlp.proj.weight")) else cfg.std
                self.assertAlmostEqual(abs(x.mean()) / want, 0, delta=0.02, msg=name)
                self.assertAlmostEqual(x.std() / want, 1, delta=0.02, msg=name)

    def test_chunking_and_seed(self):
        whole, _ = generate("whole", "--chunk-elems", str(1 << 24))
        other, _ = generate("other-seed", "--seed", "1")
        for fn in sorted(f for f in os.listdir(self.folder) if f.endswith(".safetensors")):
            with open(os.path.join(self.folder, fn), "rb") as a, open(os.path.join(whole, fn), "rb") as b:
                self.assertEqual(a.read(), b.read(), fn)  # the chunk size changes nothing
        a, b = Checkpoint(self.folder), Checkpoint(other)
        name = "transformer.core_block.0.mlp.fc.weight"
        self.assertFalse(np.array_equal(a.get(name), b.get(name)))
        self.assertFalse(np.array_equal(a.get(name), a.get(name.replace("core_block.0", "core_block.1"))))

    def test_bf16_rounding_equals_the_readers(self):
        x = np.random.default_rng(0).standard_normal(10_000).astype(np.float32)
        x = np.concatenate([x, np.float32([0, -0.0, 1, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 3.0e38, 1e-40])])
        self.assertTrue(np.array_equal(mfc.to_bf16_inplace(x.copy()), f32_to_bf16(x)))

    def test_tokenizer_covers_the_vocab(self):
        cfg = read_json(os.path.join(self.folder, "config.json"))
        tok = read_json(os.path.join(self.folder, "tokenizer.json"))
        ids = set(tok["model"]["vocab"].values()) | {t["id"] for t in tok["added_tokens"]}
        self.assertEqual(ids, set(range(cfg["vocab_size"])))
        names = {t["id"]: t["content"] for t in tok["added_tokens"]}
        self.assertEqual(names[cfg["bos_token_id"]], "<|begin_text|>")
        self.assertEqual(names[cfg["eos_token_id"]], "<|end_text|>")
        tc = read_json(os.path.join(self.folder, "tokenizer_config.json"))
        self.assertEqual(tc["model_max_length"], cfg["block_size"])

    def test_bad_shape_is_refused(self):
        with contextlib.redirect_stderr(io.StringIO()) as err:
            self.assertEqual(mfc.main(["--out", os.path.join(TMP, "bad"), "--tiny", "--n-heads", "5", "--quiet"]), 2)
        self.assertIn("n_heads", err.getvalue())


if __name__ == "__main__":
    torch.set_num_threads(2)
    unittest.main()
