"""The error a module's `__getattr__` raises for a name it lacks but can say what to write
instead of (PyTorch's `nn.ModuleList`, `optim.clip_grad_norm_`), in whichever form the
name was asked for."""

from __future__ import annotations

import sys


def missing_name(module: str, message: str) -> Exception:
    """The error for a name that `module` lacks, saying `message`: an AttributeError (so
    `hasattr` is False and `getattr(module, name, None)` None), or, asked for by
    `from module import name`, an ImportError.

    CPython's IMPORT_FROM turns any AttributeError that a module's __getattr__ raises into
    its own "cannot import name" (an error cannot be both: the two classes' layouts
    conflict), so the hint would be lost there. Call it from the module's __getattr__: the
    frame above that is the code that asked, and its current instruction says how."""
    try:
        import opcode  # (the error path only: nothing to import for a working program)

        asker = sys._getframe(2)  # (0: this function, 1: the module's __getattr__)
        importing = asker.f_code.co_code[asker.f_lasti] == opcode.opmap["IMPORT_FROM"]
    except (AttributeError, IndexError, KeyError, ValueError):  # (an interpreter without
        importing = False  # frames or that opcode: the AttributeError alone)
    if importing:
        return ImportError(message, name=module)
    return AttributeError(message)
