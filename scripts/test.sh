#!/usr/bin/env bash
# The test command: set up .venv if needed, then run the default test selection (unit tests, the
# smoke pipeline and the paper's claims on its own tables). Extra arguments go to pytest.
source "$(dirname "$0")/env.sh"
python -m pytest "$@"
