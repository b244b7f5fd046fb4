"""``python -m benchmarks``: run the speed suite (see runner.py)."""

import sys

from .runner import OutFolderError, main

# the name it was run by: "python -m benchmarks" in a checkout, the installed package's
# "python -m tinygrad_seq.benchmarks" elsewhere
PROG = f"python -m {__spec__.parent}" if __spec__ else "python -m benchmarks"

try:
    sys.exit(main(prog=PROG))
except OutFolderError as e:  # an --out folder that cannot be written: one line, as the CLI says
    where = f" {e.filename!r}" if e.filename else ""
    print(f"{PROG}: error: cannot use{where}: {e.strerror or e}", file=sys.stderr)
    sys.exit(2)
