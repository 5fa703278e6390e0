#!/usr/bin/env bash
# Download the XEUS weights (espnet/xeus on Hugging Face: model/config.yaml and
# model/xeus_checkpoint_new.pth, 2.3 GB, licence CC-BY-NC-SA-4.0) into DIR and print
# the db.sh line to use them. Needs network access to huggingface.co.
#
# Usage: local/download_xeus.sh [DIR (default: downloads/xeus)] [REVISION (default: main)]
set -euo pipefail
. ./path.sh
dir=${1:-downloads/xeus}
revision=${2:-main}
mkdir -p "${dir}"
"${python}" - "${dir}" "${revision}" <<'PY'
import sys
from huggingface_hub import hf_hub_download
dest, rev = sys.argv[1], sys.argv[2]
for name in ("model/config.yaml", "model/xeus_checkpoint_new.pth"):
    path = hf_hub_download("espnet/xeus", name, revision=rev, local_dir=dest)
    print(f"downloaded {path}", file=sys.stderr)
PY
echo "Set in db.sh:  XEUS_DIR=$(cd "${dir}" && pwd)"
