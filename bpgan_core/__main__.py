"""``python -m bpgan_core`` runs the bpgan command."""
import sys

from .cli import main

sys.exit(main())
