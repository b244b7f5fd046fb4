"""tinygrad_seq/_gc.py: the cycle collector's young-generation threshold at import."""

import os
import subprocess
import sys

import pytest

from tinygrad_seq import _gc

CODE = (
    "import gc; {pre}import tinygrad_seq, tinygrad_seq._gc as g; "
    "print(gc.get_threshold()[0], g.applied)"
)


def _import_and_report(pre: str = "", **env: str) -> tuple[int, bool]:
    out = subprocess.run(
        [sys.executable, "-c", CODE.format(pre=pre)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return int(out[0]), out[1] == "True"


def test_import_raises_the_young_generation_threshold():
    assert _import_and_report() == (_gc.GEN0_THRESHOLD, True)


def test_the_environment_variable_leaves_the_collector_alone():
    default = subprocess.run(
        [sys.executable, "-c", "import gc; print(gc.get_threshold()[0])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    threshold, applied = _import_and_report(TINYGRAD_SEQ_GC_TUNING="0")
    assert (threshold, applied) == (int(default), False)


@pytest.mark.parametrize("preset", [0, 10 * _gc.GEN0_THRESHOLD])
def test_a_switched_off_or_higher_threshold_is_kept(preset):
    threshold, applied = _import_and_report(pre=f"gc.set_threshold({preset}); ")
    assert (threshold, applied) == (preset, False)
