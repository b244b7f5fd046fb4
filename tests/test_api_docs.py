"""docs/api.md, the API reference, is generated from the code (docs/make_api.py): it must
be in step with the code, and every name it documents must have a docstring whose first
line is a one-line summary."""

from __future__ import annotations

import importlib.util
import inspect
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.numpy_only


@pytest.fixture(scope="module")
def make_api():
    spec = importlib.util.spec_from_file_location("make_api", ROOT / "docs" / "make_api.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_api"] = module  # (its dataclass looks its module up there)
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules["make_api"]


def test_api_md_is_up_to_date(make_api):
    written = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    assert written == make_api.render(), (
        "docs/api.md is out of date with the code's signatures and docstrings: "
        f"regenerate it with `{make_api.COMMAND}`"
    )


def test_every_public_name_is_placed_in_a_section(make_api, monkeypatch):
    make_api.check_placement()  # passes now; a new public name left out must fail it
    monkeypatch.setattr(make_api, "SECTIONS", make_api.SECTIONS[1:])  # Tensor dropped
    with pytest.raises(SystemExit, match="not placed: Tensor"):
        make_api.check_placement()


def test_the_reference_has_no_addresses_or_machine_paths(make_api):
    text = make_api.render()
    assert " at 0x" not in text
    assert str(ROOT) not in text and "site-packages" not in text
    assert "## Contents" in text and "### `ts.nn.LSTM`" in text
    assert "#### `Tensor.backward`" in text
    assert "misnamed" not in text  # PyTorch-habit catchers stay out of the signatures


def test_every_documented_name_has_a_one_line_summary(make_api):
    # DESIGN: "docstrings with a one-line summary": the first line says what the name is or
    # does on its own (a blank line, or nothing, after it), so tables, help() and editors'
    # hovers show a whole sentence rather than half of one
    missing, run_on = [], []
    for name, obj in make_api.documented_callables():
        doc = make_api._doc(obj)
        if not doc or not doc.strip():
            missing.append(name)
            continue
        lines = inspect.cleandoc(doc).splitlines()
        if len(lines) > 1 and lines[1].strip():
            run_on.append(f"{name}: {lines[0]!r}")
    assert not missing, "no docstring: " + ", ".join(missing)
    assert not run_on, "first line runs on into the next:\n" + "\n".join(run_on)


def test_a_class_built_on_a_private_base_documents_the_calls_it_takes_from_it(make_api):
    # AdditiveAttention's forward (its call, attn(query, keys, values, mask)), attend and
    # last_attention are written once in the private _Attention: the reference shows them
    # under each public class, where the class's own definitions win (project_keys, scores)
    text = make_api.render()
    for cls in ("AdditiveAttention", "MultiplicativeAttention", "ScaledDotProductAttention"):
        section = text.split(f"### `ts.nn.{cls}`")[1].split("\n### ")[0]
        for member in ("project_keys", "scores", "attend", "forward"):
            assert f"#### `{cls}.{member}`" in section, (cls, member)
        assert "| `last_attention` |" in section
        assert "_Attention" not in section
    section = text.split("### `ts.nn.AdditiveAttention`")[1].split("\n### ")[0]
    assert "U_a h_i^enc for every key" in section  # its own project_keys, not the base's
    # a public base's members stay documented under that base alone
    linear = text.split("### `ts.nn.Linear`")[1].split("\n### ")[0]
    assert "Linear.state_dict" not in linear and "Linear.forward" in linear


def test_a_private_base_lends_its_members_only_to_the_public_classes_just_above_it(make_api):
    # the rule, on classes of its own: Middle documents what it takes from _Root (a method,
    # and a static method shown with all its parameters, as there is no self to drop); Leaf,
    # built on the public Middle, documents only what it defines itself
    class _Root:
        def shared(self, x):
            """Shared by whoever stands on the root."""

        @staticmethod
        def tool(a, b):
            """A static method: its first parameter is no self."""

    class Middle(_Root):
        def own(self, y):
            """Middle's own."""

    class Leaf(Middle):
        def leaf(self, z):
            """Leaf's own."""

    assert [name for name, _, _ in make_api.members(Middle)] == ["shared", "tool", "own"]
    assert [name for name, _, _ in make_api.members(Leaf)] == ["leaf"]
    out: list[str] = []
    make_api.render_entry("Middle", Middle, out)
    text = "\n".join(out)
    assert "tool(a, b)" in text and "shared(x)" in text
