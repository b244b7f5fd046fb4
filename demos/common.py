"""What every command shares: --seed, --backend, --out, and a progress bar."""

from __future__ import annotations

import contextlib
import errno
import functools
import importlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import click

import tinygrad_seq as ts

T = TypeVar("T")


class IntRange(click.IntRange):
    """click's IntRange, named for what it takes: a value that is no number reads "'abc' is
    not a valid integer." (click's own "... integer range." asks for a range), and the help
    shows INTEGER beside the bounds."""

    name = "integer"


class FloatRange(click.FloatRange):
    """click's FloatRange, named for what it takes (see IntRange)."""

    name = "number"


def seed_option(f: Callable) -> Callable:
    return click.option(
        "--seed",
        type=IntRange(min=0),
        default=0,
        show_default=True,
        help="Random seed (data and weights).",
    )(f)


BACKEND_ENV = "TINYGRAD_SEQ_BACKEND"


class BackendChoice(click.Choice):
    """numpy or cupy; a bad value that came from $TINYGRAD_SEQ_BACKEND (no --backend given)
    is named as the environment variable's, not as an option the user never passed."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None):
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter:
            source = ctx.get_parameter_source(param.name) if ctx and param else None
            from_env = source is click.core.ParameterSource.DEFAULT and value == os.environ.get(
                BACKEND_ENV
            )
            if not from_env:
                raise
            choices = ", ".join(repr(c) for c in self.choices)
            raise click.UsageError(
                f"environment variable {BACKEND_ENV}={value!r} is not one of {choices}; "
                f"set it to one of them, unset it, or pass --backend",
                ctx,
            ) from None


def backend_option(f: Callable) -> Callable:
    return click.option(
        "--backend",
        type=BackendChoice(["numpy", "cupy"]),
        default=lambda: os.environ.get(BACKEND_ENV, "numpy"),
        show_default="numpy, or $TINYGRAD_SEQ_BACKEND",
        help="Array backend to run on.",
    )(f)


def _named_folder(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """--out's value, unless it is empty (which would scatter the outputs into the current
    folder: pass "." to mean that)."""
    if value == "":
        raise click.BadParameter("'' names no folder; pass one such as tour-out, or '.'")
    return value


def out_option(default: str, help_: str = "Output folder.") -> Callable:
    def wrap(f: Callable) -> Callable:
        return click.option(
            "--out",
            type=click.Path(file_okay=False),
            default=default,
            show_default=True,
            help=help_,
            callback=_named_folder,
        )(f)

    return wrap


def common_options(f: Callable) -> Callable:
    """--seed and --backend; the wrapped command gets them applied (seeded, backend set)."""

    @seed_option
    @backend_option
    @functools.wraps(f)
    def wrapper(*args: Any, seed: int, backend: str, **kwargs: Any) -> Any:
        try:
            setup(seed, backend)
        except RuntimeError as e:  # an unusable backend: say where the name came from
            ctx = click.get_current_context(silent=True)
            source = ctx.get_parameter_source("backend") if ctx else None
            if source is not click.core.ParameterSource.DEFAULT or BACKEND_ENV not in os.environ:
                raise
            first = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise RuntimeError(f"environment variable {BACKEND_ENV}={backend!r}: {first}") from e
        return f(*args, seed=seed, backend=backend, **kwargs)

    return wrapper


def setup(seed: int, backend: str) -> None:
    """Seed the engine and switch the backend (a clear error if it is unusable here)."""
    ts.backend.set_backend(backend)
    ts.manual_seed(seed)


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[str]:
    """Run the block with BLAS on one thread; yield what was done (for the summary).

    The demos' matrices are small: on a 2-core machine shared with other work, BLAS threads
    spin and wait far longer than they compute (a 32×32 matmul ran 10-50× slower with two
    threads under load). Uses threadpoolctl when it is installed, else leaves BLAS alone.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield "unchanged (threadpoolctl not installed)"
        return
    # threadpoolctl limits the libraries loaded when the block starts: the engine's MKL
    # (loaded at its first large product) is loaded first, or it would keep every core
    ts._mkl.library()
    with threadpool_limits(limits=1, user_api="blas"):
        yield "1 (threadpoolctl)"


def progress(items: Iterable[T], label: str, total: int | None = None) -> Iterator[T]:
    """Iterate with a progress bar on stderr (hidden when stderr is not a terminal)."""
    from tqdm.auto import tqdm

    yield from tqdm(items, desc=label, total=total, leave=False, dynamic_ncols=True, disable=None)


def output_file(path: str | os.PathLike, option: str) -> Path:
    """The file an option names, checked before any work: its folder made if missing, and
    a one-line usage error if it cannot be written there."""
    if not str(path):  # Path("") is ".", the working folder
        raise click.BadParameter("an empty path: give a file name", param_hint=option)
    p = Path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        # a file where a folder of the path should be: name it (mkdir says "File exists")
        try:
            blocking = next((a for a in p.parents if a.exists() and not a.is_dir()), None)
        except OSError:  # (a part too long to look at, or unreadable: mkdir's reason)
            blocking = None
        reason = f"{str(blocking)!r} is a file, not a folder" if blocking else e.strerror
        raise click.BadParameter(
            f"cannot make the folder of {str(p)!r}: {reason}", param_hint=option
        ) from None
    if p.is_dir():
        raise click.BadParameter(f"{str(p)!r} is a folder, not a file", param_hint=option)
    existed = p.exists()
    try:
        with open(p, "a"):  # appending changes nothing; the work comes after the check
            pass
    except OSError as e:
        raise click.BadParameter(
            f"cannot write to {str(p)!r}: {e.strerror}", param_hint=option
        ) from None
    if not existed:
        p.unlink()
    return p


def ensure_dir(path: str | os.PathLike) -> Path:
    p = Path(path)
    p.mkdir(parents=True, exist_ok=True)
    return p


def write_atomic(path: str | os.PathLike, text: str) -> None:
    """Write `text` to a file beside `path`, then rename it over `path`: a run cut short, or
    a reader, finds the old file or the new one, never half of one."""
    p = Path(path)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, p)
    except OSError as e:  # name the file asked for, not the hidden one beside it
        tmp.unlink(missing_ok=True)
        if p.is_dir():
            raise IsADirectoryError(errno.EISDIR, "a folder is in the way", str(p)) from None
        raise type(e)(e.errno, e.strerror, str(p)) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json(path: str | os.PathLike, data: Any) -> None:
    """Write JSON with NumPy numbers turned into Python ones (atomically)."""

    def default(o: Any) -> Any:
        import numpy as np

        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
        raise TypeError(f"not JSON serialisable: {type(o).__name__}")

    write_atomic(path, json.dumps(data, indent=2, default=default) + "\n")


# ----------------------------------------------------------------------------- the demos

SIZES = ("tiny", "quick", "full")  # tiny: the tests; quick: `--quick` (~2 min tour); full


class Skip(Exception):
    """A demo cannot run here (a part it needs is missing); the message says which."""


def require(module: str, *names: str) -> Any:
    """Import `module` and return it (or its attribute when one name is given).

    Raises `Skip` naming what is missing, so a demo whose model is not built yet degrades
    to "skipped: ..." in the summary instead of crashing the tour.
    """
    try:
        mod = importlib.import_module(module)
    except ImportError as e:
        raise Skip(f"needs {module} ({e})") from None
    found = []
    for name in names:
        obj = mod
        for part in name.split("."):
            if not hasattr(obj, part):
                raise Skip(f"needs {module}.{name}, which is not there yet")
            obj = getattr(obj, part)
        found.append(obj)
    if not names:
        return mod
    return found[0] if len(found) == 1 else tuple(found)


def nn_class(name: str, submodule: str) -> Any:
    """`ts.nn.<name>`, or `tinygrad_seq.nn.<submodule>.<name>` before it is exported; else Skip."""
    import tinygrad_seq.nn as nn

    if hasattr(nn, name):
        return getattr(nn, name)
    return require(f"tinygrad_seq.nn.{submodule}", name)


def log_slope(x: Iterable[float], y: Iterable[float]) -> float:
    """The least-squares slope of log y against log x (the exponent k of y ~ x^k)."""
    import numpy as np

    lx, ly = np.log(np.asarray(list(x), float)), np.log(np.asarray(list(y), float))
    return float(np.polyfit(lx, ly, 1)[0])


@dataclass
class DemoContext:
    """What a demo's `run(ctx)` gets: where to write, how big to be, the seed, a cache.

    `cache` is shared by the demos of one tour, so a model trained by one demo can be
    looked at by the next without training it twice (a demo run alone trains its own).
    """

    out: Path
    size: str = "quick"
    seed: int = 0
    backend: str = "numpy"
    cache: dict = field(default_factory=dict)

    def pick(self, *, tiny: T, quick: T, full: T) -> T:
        """The value for this run's size."""
        return {"tiny": tiny, "quick": quick, "full": full}[self.size]

    def figure(self, name: str) -> Path:
        """Where a figure called `name` goes (out/img/name), the folder made."""
        return ensure_dir(self.out / "img") / name

    def progress(self, items: Iterable[T], label: str, total: int | None = None) -> Iterator[T]:
        return progress(items, label, total)

    def training_bar(self, steps: int, label: str):
        """A progress bar for a training run, and the `callback(step, loss)` that moves it.

        Use as ``with ctx.training_bar(steps, "LSTM") as callback: train(..., callback)``.
        """
        return _TrainingBar(steps, label)

    def peek(self, key: tuple) -> Any:
        """What `cached(key, ...)` made earlier in this tour, or None."""
        return self.cache.get((self.size, self.seed, self.backend, *key))

    def cached(self, key: tuple, make: Callable[[], T]) -> T:
        """`make()` once per key (key includes the size and seed) for this tour."""
        full_key = (self.size, self.seed, self.backend, *key)
        if full_key not in self.cache:
            self.cache[full_key] = make()
        return self.cache[full_key]


class _TrainingBar:
    def __init__(self, steps: int, label: str) -> None:
        self.steps, self.label = steps, label

    def __enter__(self) -> Callable[[int, float], None]:
        from tqdm.auto import tqdm

        self.bar = tqdm(
            total=self.steps, desc=self.label, leave=False, dynamic_ncols=True, disable=None
        )

        def callback(step: int, loss: float) -> None:
            self.bar.update(1)
            if step % 10 == 0:
                self.bar.set_postfix(loss=f"{loss:.3f}", refresh=False)

        return callback

    def __exit__(self, *exc: object) -> None:
        self.bar.close()


def size_options(f: Callable) -> Callable:
    """--quick, and a hidden --size (tiny|quick|full) that the tests use."""
    f = click.option(
        "--size",
        type=click.Choice(SIZES),
        default=None,
        hidden=True,
        help="Run size (tiny is for the tests); overrides --quick.",
    )(f)
    return click.option(
        "--quick",
        is_flag=True,
        help="Small sizes and short runs: seconds to a minute a demo (`tour --quick`, "
        "every demo: about a minute on 2 CPU cores).",
    )(f)


def resolve_size(quick: bool, size: str | None) -> str:
    if size is not None:
        return size
    return "quick" if quick else "full"


def demo_command(name: str) -> click.Command:
    """The click subcommand that runs one demo of the tour (same options, same outputs)."""
    from . import tour as tour_module

    spec = tour_module.DEMOS[name]

    @click.command(
        name=name,
        help=f"{spec.title}. Writes OUT/img/, OUT/summary.json, "
        "OUT/index.html (merged with what OUT already holds).",
    )
    @common_options
    @out_option("tour-out", "Output folder (figures, summary.json, index.html).")
    @size_options
    def command(seed: int, backend: str, out: str, quick: bool, size: str | None) -> None:
        tour_module.run_and_report([name], out, resolve_size(quick, size), seed, backend)

    if name == "derivations":  # it draws no data or weights, only the points it checks at
        seed = next(p for p in command.params if p.name == "seed")
        seed.help = "Random seed: the point at which each identity is checked numerically."
        quick = next(p for p in command.params if p.name == "quick")
        quick.help = (
            "Accepted as by every demo, but the derivations are the same either way: "
            "--quick only marks the run as quick in summary.json."
        )
    return command
