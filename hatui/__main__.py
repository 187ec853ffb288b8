"""``python -m hatui``."""

from __future__ import annotations

import sys

from hatui.cli import main

sys.exit(main())
