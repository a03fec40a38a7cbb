"""``python -m bpgan_core.bench``: the bench command without the ``bpgan`` CLI."""

import sys

from bpgan_core.bench.cli import main

sys.exit(main())
