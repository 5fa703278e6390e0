#!/usr/bin/env bash
# Split a Kaldi-style file (one "key ..." line per utterance) into N contiguous, sorted
# parts: OUT_DIR/1/NAME ... OUT_DIR/N/NAME (NAME = the input's file name). N is
# lowered to the number of lines when the file is shorter; the number of parts is
# printed. Written for this project (ESPnet's Kaldi split_scp.pl is not in the wheel;
# espnet2.bin.split_scps deals lines round-robin into 0-based parts and refuses N=1).
#
# Usage: utils/split_scp.sh FILE OUT_DIR N
set -euo pipefail
[ $# -eq 3 ] || { sed -n '2,8p' "$0" >&2; exit 2; }
file=$1 out=$2 n=$3
[ -f "${file}" ] || { echo "$0: ${file}: no such file" >&2; exit 1; }
[[ "${n}" =~ ^[1-9][0-9]*$ ]] || { echo "$0: N must be a positive integer, got '${n}'" >&2; exit 2; }
lines=$(wc -l < "${file}")
[ "${lines}" -gt 0 ] || { echo "$0: ${file} is empty" >&2; exit 1; }
[ "${n}" -le "${lines}" ] || n=${lines}
name=$(basename "${file}")
rm -rf "${out}"
for ((j = 1; j <= n; j++)); do mkdir -p "${out}/${j}"; done
awk -v n="${n}" -v lines="${lines}" -v out="${out}" -v name="${name}" '
    { part = int((NR - 1) * n / lines) + 1; print > (out "/" part "/" name) }' "${file}"
echo "${n}"
