"""``python -m engine`` runs the daemon."""

import sys

from engine.cli import main

sys.exit(main())
