"""``python -m engine`` runs the daemon."""

import sys

from engine.programs.haengine import main

sys.exit(main())
