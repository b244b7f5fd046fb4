"""Keep freed memory for reuse, as PyTorch's caching allocator does.

An autograd graph allocates many temporaries and frees them all at the end of each
backward. With glibc's default settings the freed heap is handed back to the OS (and
arrays over 128 KiB get fresh mmaps), so the next iteration pays a page fault for every
4 KiB it touches again: thousands per step of an LSTM or Transformer block. Raising the
trim and mmap thresholds keeps that memory in the process for the next iteration.

Applied once at import on glibc systems; set TINYGRAD_SEQ_MALLOC_TUNING=0 to leave malloc
alone. Elsewhere (macOS, musl, Windows) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
TRIM_THRESHOLD = 1 << 30  # keep up to 1 GiB of freed heap for reuse
MMAP_THRESHOLD = 32 << 20  # serve arrays up to 32 MiB (glibc's maximum) from the heap

applied = False


def tune() -> bool:
    """Apply the thresholds; True if glibc accepted them."""
    global applied
    if os.environ.get("TINYGRAD_SEQ_MALLOC_TUNING", "1") == "0":
        return False
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        ok = libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
        ok = libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and ok
    except (OSError, AttributeError):
        return False
    applied = ok
    return ok
