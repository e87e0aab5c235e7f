"""``python -m repro ...``: the same command line as the ``repro`` script (:mod:`repro.cli`)."""

import sys

from repro.cli import main

if __name__ == "__main__":  # guarded: pytest's --doctest-modules imports this module
    sys.exit(main())
