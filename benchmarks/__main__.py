"""``python -m benchmarks``: run the speed suite (see runner.py)."""

import sys

from .runner import main

sys.exit(main())
