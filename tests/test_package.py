"""The package layout: viz/, demos/ and benchmarks/ live beside tinygrad_seq/ and install
under it; imported straight from the checkout (from the repository root, as after
`pip install .` there), the package must find them all the same."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# The checkout on sys.path with nothing else that knows where viz/ is: an editable
# install's import hook is removed first.
SCRIPT = """
import sys
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
sys.path.insert(0, {root!r})
import tinygrad_seq.viz, tinygrad_seq.demos.cli, tinygrad_seq.benchmarks.workloads
print(tinygrad_seq.__file__, tinygrad_seq.viz.__file__, tinygrad_seq.benchmarks.__file__)
"""


@pytest.mark.numpy_only
def test_the_checkout_imports_viz_demos_and_benchmarks_as_subpackages():
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(root=str(ROOT))],
        capture_output=True,
        text=True,
        cwd=ROOT.parent,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    package, viz, benchmarks = (Path(p) for p in out.stdout.split())
    assert package == ROOT / "tinygrad_seq" / "__init__.py"
    assert viz == ROOT / "viz" / "__init__.py"
    assert benchmarks == ROOT / "benchmarks" / "__init__.py"


def test_the_package_namespace_holds_the_public_names_only():
    # DESIGN: __init__.py holds "the public names below, nothing else" (helpers it imports
    # are private: no `os`, `importlib` or `annotations` beside `ts.Tensor`)
    import types

    import tinygrad_seq as ts

    extra = {
        name
        for name, value in vars(ts).items()
        if not name.startswith("_")
        and not (isinstance(value, types.ModuleType) and value.__name__.startswith("tinygrad_seq."))
    } - set(ts.__all__)
    assert not extra


def test_dir_offers_the_lazy_subpackages_before_they_are_imported():
    # tab completion (IPython, Jupyter) lists dir(ts): ts.nn must be there before first use
    script = (
        "import sys, tinygrad_seq as ts; listed = dir(ts); "
        "print(sorted(listed) == listed, 'tinygrad_seq.nn' in sys.modules, *listed)"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert out.returncode == 0, out.stderr
    is_sorted, nn_imported, *listed = out.stdout.split()
    assert is_sorted == "True" and nn_imported == "False"
    assert {"nn", "optim", "viz", "symbolic", "Tensor", "no_grad"} <= set(listed)
