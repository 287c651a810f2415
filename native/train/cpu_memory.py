"""Keep the memory PyTorch frees inside the process (glibc malloc only).

glibc hands a freed block larger than its mmap threshold back to the kernel (and trims the top of
the heap), so the next tensor of that size page-faults every page back in. On this project's
machine (a VM) a fresh 50 MB tensor took 85 ms to zero where a reused one took 0.6 ms, and a
training step allocates and frees large tensors by the dozen (attention scores, activations of
the MLP, their gradients). The price is a resident size that stays at the step's peak, which
training reaches on every step anyway. What it gained: native/train/EXPERIMENTS.md, "Trainer
speed".
"""
import ctypes
import ctypes.util

_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3  # from glibc's malloc.h
_KEEP = 2 ** 31 - 1  # the largest value mallopt takes (an int): never mmap, never trim


def keep_freed_memory():
    """Set glibc's malloc never to return memory to the kernel from here on. True where it took
    effect, False on a C library without mallopt (macOS, musl), where nothing changes."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return all(mallopt(k, v) == 1 for k, v in (
        (_M_MMAP_THRESHOLD, _KEEP), (_M_TRIM_THRESHOLD, _KEEP),
        (_M_TOP_PAD, 100 << 20)))  # and grow the heap 100 MB at a time, not a block at a time
