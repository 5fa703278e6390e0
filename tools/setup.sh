#!/usr/bin/env bash
# Set up the PUNSER environment: a virtual environment inside the repository
# (tools/venv) with espnet2_punser installed in editable mode, plus its test extra.
#
# Usage: tools/setup.sh [--python PYTHON] [--no-test-extra]
#
# Safe to re-run: an existing venv is reused, and pip only installs what is missing.
# The recipe's path.sh activates tools/venv.
set -euo pipefail

python=${PYTHON:-python3}
extra="[test]"
while [ $# -gt 0 ]; do
    case "$1" in
        --python) python=$2; shift 2 ;;
        --no-test-extra) extra=""; shift ;;
        -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "$0: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
done

tools_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(dirname "${tools_dir}")
venv="${tools_dir}/venv"

log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') (setup.sh) $*"; }

if ! "${python}" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
    echo "$0: ${python} is older than Python 3.10; pass --python PYTHON" >&2
    exit 1
fi

if [ ! -x "${venv}/bin/python" ]; then
    log "creating virtual environment ${venv}"
    "${python}" -m venv "${venv}"
else
    log "reusing virtual environment ${venv}"
fi

log "installing espnet2_punser${extra} (espnet==202511, torch==2.9.1, torchaudio==2.9.1) in editable mode"
"${venv}/bin/python" -m pip install --upgrade-strategy only-if-needed -e "${repo_dir}${extra}"

"${venv}/bin/python" - <<'PY'
import espnet, torch, torchaudio, espnet2_punser
print(f"ok: espnet {espnet.__version__}, torch {torch.__version__}, "
      f"torchaudio {torchaudio.__version__}, espnet2_punser {espnet2_punser.__version__}")
PY
log "done; activate with: . ${venv}/bin/activate  (the recipe's path.sh does this)"
