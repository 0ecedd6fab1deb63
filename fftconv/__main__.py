"""``python -m fftconv``: the ``fftconv`` command."""

import sys

from .cli import main

sys.exit(main())
