"""Hand-written safetensors reader/writer (numpy only).

File layout: 8-byte little-endian u64 N, then N bytes of JSON header, then the raw data block.
Header: {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
         "__metadata__": {"str": "str"}}  (offsets are relative to the start of the data block).
A sharded checkpoint is a folder with `model.safetensors.index.json`:
  {"metadata": {"total_size": bytes}, "weight_map": {"tensor name": "model-00001-of-00002.safetensors"}}
"""
import json
import math
import os
import struct

import numpy as np

# stored dtype -> numpy dtype of the raw bytes (bf16 has no numpy type: kept as uint16 bits)
RAW_DTYPES = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16, "BF16": np.uint16,
    "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8,
    "U8": np.uint8, "BOOL": np.bool_,
}
SINGLE_FILE = "model.safetensors"
INDEX_FILE = "model.safetensors.index.json"


class CheckpointError(Exception):
    """A checkpoint that cannot be read as asked; the message names the file and tensor."""


def bf16_to_f32(bits):
    # a bf16 number is the top 16 bits of the float32 with the same value
    return (np.asarray(bits, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


def f32_to_bf16(x):
    # round to nearest, ties to even, on the 16 bits that are dropped
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return u.astype(np.uint16)


class SafetensorsFile:
    """One .safetensors file; tensors are memory-mapped on demand (nothing is read up front)."""

    def __init__(self, path):
        self.path = path
        try:
            size = os.path.getsize(path)
            with open(path, "rb") as f:
                raw_len = f.read(8)
                if len(raw_len) != 8:
                    raise CheckpointError(f"{path}: too short for a safetensors file")
                (n,) = struct.unpack("<Q", raw_len)
                if n > size - 8:
                    raise CheckpointError(f"{path}: header length {n} exceeds the file size {size}")
                header = json.loads(f.read(n).decode("utf-8"))
        except (OSError, ValueError, UnicodeDecodeError) as e:
            raise CheckpointError(f"{path}: cannot read safetensors header: {e}") from None
        if not isinstance(header, dict):
            raise CheckpointError(f"{path}: header is not a JSON object")
        self.metadata = header.pop("__metadata__", None) or {}
        self.data_start = 8 + n
        data_size = size - self.data_start
        self.entries = {}
        for name, e in header.items():
            try:
                dtype, shape, (begin, end) = e["dtype"], [int(d) for d in e["shape"]], e["data_offsets"]
            except (KeyError, TypeError, ValueError):
                raise CheckpointError(f"{path}: malformed header entry for tensor {name}") from None
            if dtype not in RAW_DTYPES:
                raise CheckpointError(f"{path}: tensor {name} has unsupported dtype {dtype}")
            nbytes = math.prod(shape) * np.dtype(RAW_DTYPES[dtype]).itemsize
            if not (0 <= begin <= end <= data_size) or end - begin != nbytes:
                raise CheckpointError(f"{path}: tensor {name} has bad data_offsets {[begin, end]} "
                                      f"for {dtype}{shape} (data block is {data_size} bytes)")
            self.entries[name] = (dtype, tuple(shape), begin)

    def keys(self):
        return list(self.entries)

    def raw(self, name):
        """The stored values as a read-only memmap (BF16 as uint16 bit patterns)."""
        dtype, shape, begin = self.entries[name]
        np_dtype = np.dtype(RAW_DTYPES[dtype])
        if math.prod(shape) == 0:
            return np.zeros(shape, np_dtype)
        return np.memmap(self.path, dtype=np_dtype, mode="r", offset=self.data_start + begin, shape=shape)

    def get(self, name):
        """The tensor as numpy: F16/BF16 converted to float32, other dtypes as stored."""
        dtype = self.entries[name][0]
        raw = self.raw(name)
        if dtype == "BF16":
            return bf16_to_f32(raw)
        if dtype == "F16":
            return raw.astype(np.float32)
        return raw


class Checkpoint:
    """All tensors of a checkpoint: a folder holding model.safetensors or a sharded index, or one file."""

    def __init__(self, path):
        self.files = {}  # tensor name -> SafetensorsFile
        if os.path.isfile(path):
            self._add(SafetensorsFile(path))
        elif not os.path.isdir(path):
            raise CheckpointError(f"{path}: no such checkpoint folder")
        elif os.path.isfile(os.path.join(path, SINGLE_FILE)):
            self._add(SafetensorsFile(os.path.join(path, SINGLE_FILE)))
        elif os.path.isfile(os.path.join(path, INDEX_FILE)):
            index_path = os.path.join(path, INDEX_FILE)
            try:
                with open(index_path) as f:
                    weight_map = json.load(f)["weight_map"]
            except (OSError, ValueError, KeyError) as e:
                raise CheckpointError(f"{index_path}: cannot read weight_map: {e}") from None
            shards = {fn: SafetensorsFile(os.path.join(path, fn)) for fn in sorted(set(weight_map.values()))}
            for name, fn in weight_map.items():
                if name not in shards[fn].entries:
                    raise CheckpointError(f"{index_path}: tensor {name} is mapped to {fn}, which lacks it")
                self.files[name] = shards[fn]
        else:
            raise CheckpointError(f"{path}: neither {SINGLE_FILE} nor {INDEX_FILE} found")

    def _add(self, sf):
        for name in sf.keys():
            self.files[name] = sf

    def keys(self):
        return list(self.files)

    def __contains__(self, name):
        return name in self.files

    def dtype(self, name):
        return self.files[name].entries[name][0]

    def shape(self, name):
        return self.files[name].entries[name][1]

    def get(self, name):
        return self.files[name].get(name)


def _encode(x, dtype):
    x = np.asarray(x)
    if dtype == "BF16":
        return f32_to_bf16(x.astype(np.float32))
    return np.ascontiguousarray(x, dtype=RAW_DTYPES[dtype])


def save_file(tensors, path, dtype="F32", metadata=None):
    """Write {name: array} to one file; floating arrays are stored as `dtype` (F32, F16 or BF16)."""
    entries, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        x = np.asarray(tensors[name])
        d = dtype if np.issubdtype(x.dtype, np.floating) else \
            {v: k for k, v in RAW_DTYPES.items() if k != "BF16"}[x.dtype.type]
        blob = _encode(x, d).tobytes()
        entries[name] = {"dtype": d, "shape": list(x.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    header = {"__metadata__": dict(metadata or {"format": "pt"}), **entries}
    hbytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hbytes += b" " * (-len(hbytes) % 8)  # pad with spaces so the data block is 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hbytes)))
        f.write(hbytes)
        for blob in blobs:
            f.write(blob)
    return offset


def save_checkpoint(tensors, folder, dtype="F32", shards=1, metadata=None):
    """Write model.safetensors, or `shards` files model-0000i-of-0000N.safetensors plus the index json.
    Tensors are split in name order into groups of about equal byte size. Returns the file names."""
    os.makedirs(folder, exist_ok=True)
    if shards <= 1:
        save_file(tensors, os.path.join(folder, SINGLE_FILE), dtype, metadata)
        return [SINGLE_FILE]
    names = sorted(tensors)
    if shards > len(names):
        raise ValueError(f"cannot split {len(names)} tensors into {shards} shards")
    sizes = [np.asarray(tensors[n]).size for n in names]
    total, cum, group = sum(sizes), 0, []
    for s in sizes:  # shard of a tensor = where its middle falls in the cumulative size
        group.append(min(shards - 1, int((cum + s / 2) * shards / max(total, 1))))
        cum += s
    if len(set(group)) != shards:  # a huge tensor swallowed a shard: fall back to equal counts
        group = [i * shards // len(names) for i in range(len(names))]
    files, weight_map, total_size = [], {}, 0
    for k in range(shards):
        fn = f"model-{k + 1:05d}-of-{shards:05d}.safetensors"
        part = {n: tensors[n] for n, g in zip(names, group) if g == k}
        total_size += save_file(part, os.path.join(folder, fn), dtype, metadata)
        weight_map.update({n: fn for n in part})
        files.append(fn)
    with open(os.path.join(folder, INDEX_FILE), "w") as f:
        json.dump({"metadata": {"total_size": total_size}, "weight_map": weight_map}, f, indent=2)
    return files + [INDEX_FILE]
