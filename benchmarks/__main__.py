"""``python -m benchmarks``: run the speed suite (see runner.py)."""

import sys

from .runner import OutFolderError, main

try:
    sys.exit(main())
except OutFolderError as e:  # an --out folder that cannot be written: one line, as the CLI says
    where = f" {e.filename!r}" if e.filename else ""
    print(f"python -m benchmarks: error: cannot use{where}: {e.strerror or e}", file=sys.stderr)
    sys.exit(2)
