"""Sequential: layers applied one after another, y = f_n(… f_2(f_1(x)))."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

from .module import Module, _ModelOrClassMethod


class Sequential(Module):
    """Layers applied in order: `Sequential(f_1, …, f_n)(x)` is f_n(… f_1(x)).

    Each layer is a Module (registered as "0", "1", … by its position, so the weights
    are named "0.W", "2.b", as PyTorch's) or a plain function of one tensor, such as
    `ts.Tensor.tanh` or `ts.F.relu` (PyTorch takes Modules only, but ts.nn has no
    activation modules; a function has no weights and keeps its position's number):
    `Sequential(Linear(4, 8), ts.Tensor.tanh, Linear(8, 2))`. `seq[i]` is a layer,
    `seq[i:j]` a Sequential of those same layers, `len(seq)` how many;
    `seq.append(layer)` adds one at the end.

    `seq.save(path)` writes the weights; `seq.load(path)` reads them into a Sequential
    built with the same layers (every name and shape checked). `Sequential.load(path)`
    cannot build one, since the file does not hold the layers (a function cannot be
    written to it): it says so. A model whose constructor takes plain sizes and builds
    a Sequential inside saves and rebuilds as any other.
    """

    def __init__(self, *layers: Module | Callable[[Any], Any]) -> None:
        super().__init__()
        for i, layer in enumerate(layers):
            _check_layer(layer, i)
            setattr(self, str(i), layer)  # (after "training": the walk finds "0", "1", …)
        self._count = len(layers)

    def append(self, layer: Module | Callable[[Any], Any]) -> Sequential:
        """Add `layer` after the last one (at position len(seq), its weights named by it).

        Returns this Sequential, as PyTorch's. Checked as the constructor's layers."""
        _check_layer(layer, self._count)
        if layer is self:  # (its parameters would be walked forever)
            raise ValueError(
                f"Sequential: layer {self._count} is this Sequential itself; a Sequential "
                "cannot contain itself. Append its layers, or a copy"
            )
        setattr(self, str(self._count), layer)
        self._count += 1
        return self

    def _layers(self) -> list[Module | Callable[[Any], Any]]:
        return [self.__dict__[str(i)] for i in range(self._count)]

    def forward(self, x: Any) -> Any:
        """x through every layer in turn; shapes as the layers take and give them."""
        for layer in self._layers():
            x = layer(x)
        return x

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Module | Callable[[Any], Any]]:
        return iter(self._layers())

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return Sequential(*self._layers()[index])
        if isinstance(index, bool) or not hasattr(index, "__index__"):
            raise TypeError(
                f"Sequential: a layer is picked by an int position (or a slice), got "
                f"{type(index).__name__} {index!r}"
            )
        i = index.__index__()
        if not -self._count <= i < self._count:
            raise IndexError(
                f"Sequential: layer {i} is out of range for a Sequential of {self._count} "
                f"layers (positions -{self._count}..{self._count - 1})"
            )
        return self.__dict__[str(i % self._count)]

    def __repr__(self) -> str:  # each layer by position, a function by its name
        lines = ["Sequential("]
        for i, layer in enumerate(self._layers()):
            if isinstance(layer, Module):
                shapes = ", ".join(f"{n} {tuple(p.shape)}" for n, p in layer.named_parameters())
                lines.append(f"  {i}: {type(layer).__name__}" + (f"  {shapes}" if shapes else ""))
            else:
                lines.append(f"  {i}: {getattr(layer, '__qualname__', None) or repr(layer)}")
        lines.append(f")  # {self.num_parameters():,} parameters")
        return "\n".join(lines)

    def _cannot_build(cls, path: str | os.PathLike | None = None, *rest: Any) -> Module:
        if isinstance(path, Module):  # Sequential.load(seq, path): the method called unbound
            return path._load_into(*rest)
        raise TypeError(
            "Sequential.load(path) cannot build a Sequential: a saved file holds its "
            "weights, not its layers (a function cannot be written to one). Build the same "
            "Sequential(...) and read the weights into it: seq.load(path)"
        )

    load = _ModelOrClassMethod(
        Module._load_into,
        _cannot_build,
        """Read weights saved by `save` into this Sequential; returns it.

        `seq.load(path)`: every name and shape is checked first, each weight cast to the
        dtype of the one it replaces. `Sequential.load(path)` is a TypeError: the file does
        not say what the layers are; build them, then load into them.""",
    )


def _check_layer(layer: Any, i: int) -> None:
    """A TypeError unless `layer` can be a Sequential's layer `i`: a Module or a function
    of one value (not a class, which would be called to build a layer from the input;
    nor a method of a Module, whose weights would not be registered)."""
    if isinstance(layer, Module):
        return
    if isinstance(layer, type):
        raise TypeError(
            f"Sequential: layer {i} is the class {layer.__name__}, not a layer: build it "
            f"first, e.g. {layer.__name__}(...)"
        )
    if not callable(layer):
        raise TypeError(
            f"Sequential: layer {i} must be a Module or a function of one tensor (such as "
            f"ts.Tensor.tanh), got {type(layer).__name__}"
        )
    owner = getattr(layer, "__self__", None)
    if isinstance(owner, Module):
        raise TypeError(
            f"Sequential: layer {i} is a method of a {type(owner).__name__} "
            f"({getattr(layer, '__name__', 'method')}): its weights would not be registered "
            "(parameters(), optimizers, save). Pass the module itself, or make a Module "
            "whose forward calls it"
        )
