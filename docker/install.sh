#!/bin/sh
# Install afasbot from the current directory (a source tree with constraints.txt) into a new
# virtual environment VENV, with exactly the runtime dependencies pinned in constraints.txt.
# One list of steps for two users: the image's build stage (Dockerfile) and the test that
# repeats it in a fresh venv (tests/container/test_image.py).
#
# Usage: sh docker/install.sh VENV   (PYTHON: the interpreter, default python3)
#
# The venv gets no pip of its own: pip runs from PYTHON and installs into it (--python), so
# the image carries no installer. Wheels only (--only-binary): the slim image has no compiler,
# and no dependency is built from source. `pip check` and verify_pins.py fail the build on a
# missing, clashing or unpinned package.
set -eu
venv=${1:?usage: docker/install.sh VENV}
python=${PYTHON:-python3}

"$python" -m venv --without-pip "$venv"
"$python" -m pip --python "$venv/bin/python" install --no-input --only-binary :all: \
    --constraint constraints.txt .
"$python" -m pip --python "$venv/bin/python" check
"$venv/bin/python" docker/verify_pins.py
