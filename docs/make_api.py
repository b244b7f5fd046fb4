"""Write docs/api.md, the API reference, from the code's own signatures and docstrings.

    python docs/make_api.py            # rewrite docs/api.md
    python docs/make_api.py --check    # exit 1 if docs/api.md is out of date

The sections below say which public names go where; every name a module makes public
(its `__all__`, or for a module without one the functions and classes defined in it) must
be placed in exactly one section, so a new public name cannot be left out of the
reference. Standard library only (inspect); the output depends on the code alone: no
memory addresses, machine paths or dict orders of this run.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import re
import sys
import types
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "api.md"
COMMAND = "python docs/make_api.py"
WIDTH = 88  # a signature longer than this is written one parameter a line

# Parameters that exist only to turn a PyTorch habit into a clear error (dim=, keepdim=,
# flatten(1), load(a, b)): left out of the printed signatures, as the docstrings say.
ERROR_ONLY = ("misnamed", "misnamed_axes", "rest")

# How the reader writes each module's names.
PREFIX = {
    "tinygrad_seq": "ts",
    "tinygrad_seq.functional": "ts.F",
}


@dataclass(frozen=True)
class Section:
    title: str
    module: str  # the module the names are read from
    names: tuple[str, ...]
    intro: str = ""


def _s(title: str, module: str, names: str, intro: str = "") -> Section:
    return Section(title, module, tuple(names.split()), intro)


SECTIONS = (
    _s(
        "Tensor",
        "tinygrad_seq",
        "Tensor",
        "`import tinygrad_seq as ts`. Operators broadcast as NumPy's do, with a Tensor or a "
        "number on either side; a reduction over every axis gives a 0-d tensor.",
    ),
    _s(
        "Creating and combining tensors",
        "tinygrad_seq",
        "zeros ones zeros_like ones_like randn arange cat stack split chunk where maximum",
    ),
    _s(
        "Dtypes, random state and sampling",
        "tinygrad_seq",
        "get_default_dtype set_default_dtype manual_seed get_rng_state set_rng_state multinomial",
    ),
    _s(
        "Recording, scopes and anomalies",
        "tinygrad_seq",
        "no_grad enable_grad is_grad_enabled scope detect_anomaly AnomalyError Function",
    ),
    _s("Gradient checking", "tinygrad_seq", "gradcheck GradcheckError"),
    _s(
        "Backends: ts.backend",
        "tinygrad_seq.backend",
        "BACKENDS set_backend get_backend using available unavailable_reason module array_module",
        "The environment variable `TINYGRAD_SEQ_BACKEND` sets the backend at import.",
    ),
    _s(
        "Functions of tensors: ts.F",
        "tinygrad_seq.functional",
        "softmax log_softmax logsumexp one_hot cross_entropy nll_loss mse_loss l1_loss "
        "binary_cross_entropy_with_logits layer_norm dropout embedding causal_mask "
        "padding_mask relu sigmoid tanh gelu rnn_step sample_logits",
        "`ts.F` is `ts.functional`.",
    ),
    _s(
        "The recorded graph: ts.graph",
        "tinygrad_seq.graph",
        "trace Graph Node scope record_grad_norms step_of",
    ),
    _s(
        "Modules: ts.nn",
        "tinygrad_seq.nn",
        "Module Parameter Sequential",
        "Weights follow the seed's names and shapes; inputs are batch-first; calling a "
        "module runs its `forward`.",
    ),
    _s("Layers: ts.nn", "tinygrad_seq.nn", "Linear Embedding MLP LayerNorm"),
    _s("Recurrent networks: ts.nn", "tinygrad_seq.nn", "RNNCell RNN LSTMCell LSTM GRUCell GRU"),
    _s(
        "Attention: ts.nn",
        "tinygrad_seq.nn",
        "AdditiveAttention MultiplicativeAttention ScaledDotProductAttention MultiHeadAttention",
    ),
    _s(
        "Transformer and sequence to sequence: ts.nn",
        "tinygrad_seq.nn",
        "sinusoidal_positions PositionalEncoding TransformerEncoderLayer "
        "TransformerDecoderLayer Transformer Seq2Seq",
    ),
    _s(
        "Optimizers and schedules: ts.optim",
        "tinygrad_seq.optim",
        "Optimizer SGD Adam AdamW clip_grad_norm clip_grad_value LRScheduler StepLR ExponentialLR "
        "CosineAnnealingLR LambdaLR",
    ),
    _s(
        "Checkpoints",
        "tinygrad_seq",
        "save_checkpoint load_checkpoint",
        "A model's weights, its optimizer's and schedule's state, the random generator's and "
        "values of your own in one .npz file, to resume training exactly.",
    ),
    _s(
        "Gradient derivations: ts.symbolic",
        "tinygrad_seq.symbolic",
        "derive check check_identity Derivation CheckResult MODELS",
        "Imports SymPy (on first use of `ts.symbolic`).",
    ),
    _s(
        "ts.symbolic.rnn",
        "tinygrad_seq.symbolic.rnn",
        "tanh_derivative step_jacobian seed_elementwise_reading bptt_product "
        "bptt_wrong_order bptt_parameter_gradients worked_example vanishing_bound derive check",
    ),
    _s(
        "ts.symbolic.lstm",
        "tinygrad_seq.symbolic.lstm",
        "sigmoid_derivative cell_path full_jacobian two_steps two_steps_cell_path_only "
        "parameter_gradients derive check",
    ),
    _s(
        "ts.symbolic.gru",
        "tinygrad_seq.symbolic.gru",
        "direct_term step_jacobian direct_term_only parameter_gradients derive check",
    ),
    _s(
        "ts.symbolic.attention",
        "tinygrad_seq.symbolic.attention",
        "softmax_jacobian softmax_wrong_sign softmax_cross_entropy additive_score_gradients "
        "multiplicative_score_gradients scaled_dot_product_gradients multi_head_gradients "
        "derive check",
    ),
    _s(
        "ts.symbolic.transformer",
        "tinygrad_seq.symbolic.transformer",
        "residual_jacobian layer_norm_gradients derive check",
    ),
    _s(
        "Toy tasks: ts.data",
        "tinygrad_seq.data",
        "PAD BOS EOS UNK Vocab bag_of_words ngram_windows pad_or_truncate SequenceData "
        "PairData order_task ORDER_ANIMALS delay_task agreement_task agreement_clause "
        "AGREEMENT_SUBJECTS AGREEMENT_VERBS AGREEMENT_PRONOUNS translation_task "
        "TRANSLATION_DICTIONARY reverse_task copy_task as_generator",
    ),
    _s(
        "Training loops: ts.train",
        "tinygrad_seq.train",
        "SequenceClassifier BagOfWordsClassifier TrainResult accuracy train_classifier "
        "run_order_task run_delay_task",
    ),
    _s(
        "Training loops: ts.train_seq2seq",
        "tinygrad_seq.train_seq2seq",
        "PairResult batches train_pairs train_step teacher_forced_loss accuracy_by_length "
        "antidiagonal_weight run_reversal compare_attention",
    ),
    _s(
        "Graph pictures: ts.viz",
        "tinygrad_seq.viz",
        "render_graph renderer_for graph_render.graph_to_dot graph_render.RendererMissing "
        "graph_render.FORMATS",
        "Graphviz is imported when a function here is called.",
    ),
    _s(
        "Plots: ts.viz.plots",
        "tinygrad_seq.viz.plots",
        "new_figure save heatmap complexity_figure fixed_size_figure vanishing_figure "
        "memory_figure agreement_figure gru_vs_lstm_figure bottleneck_figure alignments_figure "
        "bptt_norms_figure derivations_figure transformer_figure",
        "matplotlib is imported when a function here is called.",
    ),
)

# Tensor's members shown in tables rather than one entry each: the operators, as Python
# writes them, each with the special method whose docstring says what it does.
OPERATORS = (
    ("x + y", "__add__"),
    ("x - y", "__sub__"),
    ("x * y", "__mul__"),
    ("x / y", "__truediv__"),
    ("x ** y", "__pow__"),
    ("x @ y", "__matmul__"),
    ("-x", "__neg__"),
    ("abs(x)", "__abs__"),
    ("x += y, -=, *=, /=, **=", "__iadd__"),
    ("x[index]", "__getitem__"),
    ("x[index] = value", "__setitem__"),
    ("x < y, <=, >, >=, ==, !=", "__lt__"),
    ("a & b, a | b, a ^ b", "__and__"),
    ("~a", "__invert__"),
    ("len(x)", "__len__"),
    ("iter(x)", "__iter__"),
    ("bool(x)", "__bool__"),
    ("float(x), int(x)", "__float__"),
    ('f"{x:.4f}"', "__format__"),
    ("np.asarray(x)", "__array__"),
    ("copy.copy(x)", "__copy__"),
    ("copy.deepcopy(x), pickle", "__reduce_ex__"),
)


# ------------------------------------------------------------------ public names
def _split(module_name: str, name: str) -> tuple[str, str]:
    """A section's name, "graph_render.FORMATS" relative to its module, as (module, name)."""
    head, _, leaf = name.rpartition(".")
    return (f"{module_name}.{head}" if head else module_name), leaf


def resolve(module_name: str, name: str) -> tuple[str, object]:
    """(the name as the reader writes it, the object) of a section's name."""
    module_name, leaf = _split(module_name, name)
    return f"{prefix_of(module_name)}.{leaf}", getattr(importlib.import_module(module_name), leaf)


def prefix_of(module_name: str) -> str:
    """How the reader writes a module: ts, ts.F, ts.nn, ts.viz.plots, ..."""
    return PREFIX.get(module_name, module_name.replace("tinygrad_seq", "ts", 1))


def module_public(module: types.ModuleType) -> list[str]:
    """A module's public names: its `__all__` (submodules left out), or else the functions
    and classes defined in it whose names do not start with an underscore."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [
            n
            for n, v in vars(module).items()
            if not n.startswith("_")
            and (inspect.isfunction(v) or inspect.isclass(v))
            and v.__module__ == module.__name__
        ]
    return [n for n in names if not isinstance(getattr(module, n), types.ModuleType)]


def check_placement() -> None:
    """Each module's public names placed once, and nothing placed that is not public."""
    placed: dict[str, list[str]] = {}
    placed_callables = set()  # a function re-exported (ts.viz.render_graph) counts once
    for section in SECTIONS:
        for name in section.names:
            module_name, leaf = _split(section.module, name)
            placed.setdefault(module_name, []).append(leaf)
            obj = resolve(section.module, name)[1]
            if callable(obj):
                placed_callables.add(id(obj))
    problems = []
    for module_name, names in sorted(placed.items()):
        public = set(module_public(importlib.import_module(module_name)))
        if module_name == "tinygrad_seq":
            public.discard("F")  # the functional module, under its short name
        twice = sorted({n for n in names if names.count(n) > 1})
        module = importlib.import_module(module_name)
        missing = sorted(
            n
            for n in public - set(names)
            if not (callable(getattr(module, n)) and id(getattr(module, n)) in placed_callables)
        )
        extra = sorted(set(names) - public)
        for what, found in (("placed twice", twice), ("not placed", missing)):
            if found:
                problems.append(f"{module_name}: {what}: {', '.join(found)}")
        if extra:
            problems.append(f"{module_name}: not public: {', '.join(extra)}")
    if problems:
        problems.insert(0, "make_api.py: SECTIONS is out of step with the code:")
        raise SystemExit("\n".join(problems))


def documented_callables() -> list[tuple[str, object]]:
    """(name as the reader writes it, object) for every function, class and method the
    reference documents (operators included): what must have a docstring."""
    out = []
    for section in SECTIONS:
        for name in section.names:
            qualified, obj = resolve(section.module, name)
            if not callable(obj):
                continue
            out.append((qualified, obj))
            if inspect.isclass(obj):
                out += [(f"{qualified}.{m}", f) for m, f, _ in members(obj)]
                if obj.__name__ == "Tensor":
                    out += [(f"ts.Tensor.{d}", getattr(obj, d)) for _, d in OPERATORS]
    return out


# ------------------------------------------------------------------ classes
def _own_vars(cls: type) -> dict[str, object]:
    """The attributes a class defines itself, with those of the private bases it stands on
    (`_Attention` under AdditiveAttention: their `forward` is the public class's own call,
    documented nowhere else), each at its first definition's place, the class's own
    definition winning."""
    chain = [cls]
    for base in cls.__mro__[1:]:
        if not base.__name__.startswith("_"):
            break
        chain.append(base)
    found: dict[str, object] = {}
    for klass in reversed(chain):
        found.update(vars(klass))
    return found


def members(cls: type) -> list[tuple[str, object, str]]:
    """(name, function, kind) for the public methods and properties a class defines itself
    or takes from a private base (not those of a public base, documented there), in source
    order; kind is "method", "bound" (a function that takes no self), "property" or
    "attribute" (a documented slot)."""
    out = []
    for name, value in _own_vars(cls).items():
        if name.startswith("_") or _is_pytorch_hint(value):
            continue
        if isinstance(value, property):
            out.append((name, value.fget, "property"))
        elif isinstance(value, types.MemberDescriptorType):
            if _doc(value):
                out.append((name, value, "attribute"))
        elif isinstance(value, classmethod | staticmethod):
            out.append((name, value.__func__, "method"))
        elif inspect.isfunction(value):
            out.append((name, value, "method"))
        elif hasattr(value, "__get__") and callable(getattr(value, "on_model", None)):
            out.append((name, value.on_model, "method"))  # Module.load: model or class
        elif hasattr(value, "__get__") and _doc(value):  # Function.apply: read on the class
            bound = value.__get__(None, cls)
            if callable(bound):
                out.append((name, bound, "bound"))
    return out


def _is_pytorch_hint(value) -> bool:
    if type(value).__name__ == "_PyTorchName":
        return True
    doc = getattr(value, "__doc__", None) or ""
    return inspect.isfunction(value) and doc.startswith("PyTorch's name for")


def pytorch_hints(cls: type) -> tuple[list[str], list[str]]:
    """Tensor's attributes that only say what to write instead of a PyTorch name: the
    names, and PyTorch's in-place methods (a trailing underscore) among them."""
    hints = sorted(n for n, v in vars(cls).items() if _is_pytorch_hint(v))
    return [n for n in hints if not n.endswith("_")], [n for n in hints if n.endswith("_")]


# ------------------------------------------------------------------ text
def _annotation(a) -> str:
    if isinstance(a, str):
        return a
    if getattr(a, "__forward_arg__", None) is not None:
        return a.__forward_arg__
    return inspect.formatannotation(a).replace("tinygrad_seq.tensor.", "")


def signature(obj, name: str, drop_first: bool = False) -> str:
    """`name(param: annotation = default, ...) -> return`, one parameter a line if long."""
    sig = inspect.signature(obj)
    params = list(sig.parameters.values())
    if drop_first and params:
        params = params[1:]
    parts, star_done = [], False
    for i, p in enumerate(params):
        if p.name in ERROR_ONLY and p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.kind == p.KEYWORD_ONLY and not star_done:
            parts.append("*")
        if p.kind in (p.VAR_POSITIONAL, p.KEYWORD_ONLY):
            star_done = True
        text = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "") + p.name
        if p.annotation is not p.empty:
            text += f": {_annotation(p.annotation)}"
        if p.default is not p.empty:
            text += f" = {p.default!r}" if p.annotation is not p.empty else f"={p.default!r}"
        parts.append(text)
        following = params[i + 1].kind if i + 1 < len(params) else None
        if p.kind == p.POSITIONAL_ONLY and following != p.POSITIONAL_ONLY:
            parts.append("/")
    ret = ""
    if sig.return_annotation is not sig.empty and not inspect.isclass(obj):
        ret = f" -> {_annotation(sig.return_annotation)}"
    one_line = f"{name}({', '.join(parts)}){ret}"
    if len(one_line) <= WIDTH:
        return one_line
    return f"{name}(\n" + "".join(f"    {part},\n" for part in parts) + f"){ret}"


_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)


def _escape(text: str) -> str:
    """Markdown-escape prose (outside code spans): HTML's <, emphasis's * and a _ that
    could open emphasis, backslashes."""
    out, last = [], 0
    for m in _CODE_SPAN.finditer(text):
        out.append(_escape_plain(text[last : m.start()]))
        out.append(m.group(0))
        last = m.end()
    out.append(_escape_plain(text[last:]))
    return "".join(out)


def _escape_plain(text: str) -> str:
    text = text.replace("\\", "\\\\").replace("<", "&lt;").replace("*", "\\*")
    # a _ can open emphasis only after a non-letter (W_hh, h_{t-1}, clip_grad_norm_ cannot)
    return re.sub(r"(?<![^\W_])_", r"\\_", text)


def _doc(obj) -> str | None:
    """obj's own docstring (not one inherited from object); a slot's from its class's
    `__slots__` dict, as inspect.getdoc reads it."""
    if isinstance(obj, types.MemberDescriptorType):
        return inspect.getdoc(obj)
    return getattr(obj, "__doc__", None)


def docstring(obj) -> str:
    """The docstring as Markdown: prose escaped a paragraph at a time (a code span may run
    over a line break), indented blocks kept as code."""
    doc = _doc(obj)
    if not doc:
        return ""
    lines = inspect.cleandoc(doc).splitlines()
    out: list[str] = []
    paragraph: list[str] = []
    in_code = False

    def flush() -> None:
        if paragraph:
            out.append(_escape("\n".join(paragraph)))
            paragraph.clear()

    for i, line in enumerate(lines):
        if line.startswith("    ") and (in_code or i == 0 or not lines[i - 1].strip()):
            if not in_code:
                flush()
                out.append("```python")
                in_code = True
            out.append(line[4:])
            continue
        if in_code and line.strip():
            while out[-1] == "":
                out.pop()
            out += ["```", ""]
            in_code = False
        if in_code:  # a blank line inside the block
            out.append("")
        elif line.strip():
            paragraph.append(line)
        else:
            flush()
            out.append("")
    flush()
    if in_code:
        while out[-1] == "":
            out.pop()
        out.append("```")
    return "\n".join(out).strip()


def summary(obj) -> str:
    """The first line of the docstring, escaped for a table cell."""
    doc = inspect.cleandoc(_doc(obj) or "")
    return _escape(doc.splitlines()[0] if doc else "").replace("|", "\\|")


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.strip().lower().replace("`", "")
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _repr(value) -> str:
    """repr, with a module written as the reader writes it (not where it lies on disk)."""
    if isinstance(value, types.ModuleType):
        return prefix_of(value.__name__)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_repr(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _value(value) -> str:
    text = _repr(value)
    if len(text) > WIDTH - 10:
        text = text[: WIDTH - 14] + " ..."
    return text


# ------------------------------------------------------------------ rendering
def render_entry(qualified: str, obj, out: list[str]) -> None:
    name = qualified.rpartition(".")[2]
    out.append(f"### `{qualified}`")
    out.append("")
    if inspect.isclass(obj):
        if issubclass(obj, BaseException):
            out += ["```python", f"class {name}({obj.__bases__[0].__name__})", "```"]
        else:
            out += ["```python", "class " + signature(obj, name), "```"]
    elif callable(obj):  # a function (or one wrapped, as by functools.cache)
        out += ["```python", signature(obj, name), "```"]
    else:
        out += ["```python", f"{name} = {_value(obj)}", "```"]
    text = docstring(obj) if callable(obj) else ""
    if text:
        out += ["", text]
    out.append("")
    if not inspect.isclass(obj):
        return
    found = members(obj)
    fields = [(n, f) for n, f, kind in found if kind == "attribute"]
    fields += [(n, f) for n, f, kind in found if kind == "property"]
    if fields:
        out += ["| Attribute | |", "|---|---|"]
        out += [f"| `{n}` | {summary(f)} |" for n, f in fields]
        out.append("")
    if obj.__name__ == "Tensor":
        render_tensor_extras(obj, out)
    for member, fn, kind in found:
        if kind not in ("method", "bound"):
            continue
        out.append(f"#### `{name}.{member}`")
        out.append("")
        out += [
            "```python",
            signature(fn, member, drop_first=kind == "method" and _takes_self(obj, member)),
            "```",
        ]
        text = docstring(fn)
        if text:
            out += ["", text]
        out.append("")


def _takes_self(cls: type, member: str) -> bool:
    return not isinstance(_own_vars(cls)[member], staticmethod)


def render_tensor_extras(cls: type, out: list[str]) -> None:
    out += ["| Operator | |", "|---|---|"]
    for syntax, dunder in OPERATORS:
        syntax = syntax.replace("|", "\\|")  # (a table cell ends at |, in code too)
        out.append(f"| `{syntax}` | {summary(getattr(cls, dunder))} |")
    out.append("")
    names, in_place = pytorch_hints(cls)
    listed = ", ".join(f"`{n}`" for n in names)
    listed_in_place = ", ".join(f"`{n}`" for n in in_place)
    out += [
        f"PyTorch's names that this engine spells otherwise ({listed}) raise an "
        "`AttributeError` (or, called, a `TypeError`) that says what to write instead; so "
        f"do PyTorch's in-place methods ({listed_in_place}).",
        "",
    ]


def render() -> str:
    check_placement()
    out = [
        "# API reference",
        "",
        "Every public name of `tinygrad_seq` (`import tinygrad_seq as ts`), with its "
        "signature and docstring. Generated from the code by `docs/make_api.py`: do not edit "
        f"by hand; after changing a signature or a docstring, run `{COMMAND}`.",
        "",
        "## Contents",
        "",
    ]
    body: list[str] = []
    for section in SECTIONS:
        entries = [resolve(section.module, name) for name in section.names]
        links = ", ".join(f"[`{q.rpartition('.')[2]}`](#{slug(q)})" for q, _ in entries)
        out.append(f"- [{section.title}](#{slug(section.title)}): {links}")
        body += [f"## {section.title}", ""]
        if section.intro:
            body += [section.intro, ""]
        for qualified, obj in entries:
            render_entry(qualified, obj, body)
    out.append("")
    text = "\n".join(out + body).rstrip() + "\n"
    bad = re.search(r".{0,60}( at 0x[0-9a-f]+|" + re.escape(str(ROOT)) + ")", text)
    if bad:
        raise SystemExit(f"make_api.py: an address or a machine path: {bad.group(0)}")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/api.md is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != text:
            print(f"docs/api.md is out of date: run `{COMMAND}`", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
