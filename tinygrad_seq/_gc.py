"""Run Python's cycle collector less often: an autograd graph has no cycles to find.

Every op makes a few small Python objects (a Tensor, a Function, a tuple of parents), and a
forward pass makes thousands of them: a 1000-step RNN about 17,000. With Python's default
threshold, a young-generation collection runs every 700 new objects and walks all of them,
although the engine builds graphs without reference cycles (tests/test_memory.py checks
it with the collector off), so reference counting frees every graph after its backward
and the collector never finds anything there. Raising the young-generation threshold
leaves a whole graph's life between two collections: about 5 % fewer instructions on the
RNN and elementwise-chain benchmarks (W4, W5). Cycles made elsewhere are still collected,
after at most `GEN0_THRESHOLD` new objects instead of 700.

Applied once at import; set TINYGRAD_SEQ_GC_TUNING=0 to leave the collector alone. A
threshold already higher (or 0: collection switched off) is kept.
"""

from __future__ import annotations

import gc
import os

GEN0_THRESHOLD = 50_000

applied = False


def tune() -> bool:
    """Raise the young-generation threshold; True if it was raised."""
    global applied
    if os.environ.get("TINYGRAD_SEQ_GC_TUNING", "1") == "0":
        return False
    gen0, gen1, gen2 = gc.get_threshold()
    if gen0 == 0 or gen0 >= GEN0_THRESHOLD:
        return False
    gc.set_threshold(GEN0_THRESHOLD, gen1, gen2)
    applied = True
    return True
