#!/usr/bin/env bash
# The test command (what CI runs): set up .venv if needed, then run the default test selection (unit
# tests and the paper's claims on its own tables) and the slow tests (the smoke pipeline through the
# CLI: caching, resume after a kill, bit-identity under torchrun, the committed reports rebuilt).
# Plain `pytest` leaves the slow tests out (pyproject's addopts) for a quick edit-test loop. Extra
# arguments go to pytest; a `-m` given there replaces this selection, as in pytest.
source "$(dirname "$0")/env.sh"
python -m pytest -m "not (smoke or cpu or gpu or paper)" "$@"
