#!/usr/bin/env bash
# Environment of the recipe: the virtual environment made by tools/setup.sh.
# shellcheck disable=SC2034
# MAIN_ROOT: the repository (override it for a copy of the recipe elsewhere)
MAIN_ROOT=${MAIN_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}
if [ -f "${MAIN_ROOT}/tools/venv/bin/activate" ]; then
    # shellcheck disable=SC1091
    . "${MAIN_ROOT}/tools/venv/bin/activate"
elif ! python3 -c 'import espnet2_punser' 2>/dev/null; then
    echo "path.sh: ${MAIN_ROOT}/tools/venv does not exist; run tools/setup.sh first" >&2
    # shellcheck disable=SC2317  # exit when run, return when sourced
    return 1 2>/dev/null || exit 1
fi
export PYTHONUNBUFFERED=1
export PYTHONIOENCODING=UTF-8
export LC_ALL=C.UTF-8
# NOTE: offline nodes: keep nltk (imported by some ESPnet modules) from downloading
export NLTK_DATA=${NLTK_DATA:-${MAIN_ROOT}/tools/nltk_data}
python=python3
