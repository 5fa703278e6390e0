#!/usr/bin/env bash
# Parse --name value options into shell variables (sourced, not run), ESPnet style:
#
#     stage=1            # first stage to run       <- an option: a top-level
#     nj=4               # parallel jobs               assignment with a comment
#     . utils/parse_options.sh                       <- parses "$@" in place
#
# The options are the `name=value  # help` lines (the comment is required) of the
# sourcing script that come before this file is sourced. --foo-bar and --foo_bar both set foo_bar;
# --name=value works too; an unknown option prints the valid ones and exits 2;
# --help/-h prints $help_message and the option table (defaults, help) and exits 0.
# Parsing stops at the first argument that does not start with --; the rest stays
# in "$@".
# Written for this project (ESPnet's Kaldi utils are not in the pip wheel).
# shellcheck disable=SC2034,SC2154

_opt_script=${_opt_script:-$0}
_opt_lines=$(awk '/(^|[[:space:]])(\.|source)[[:space:]]+[^[:space:]]*utils\/parse_options\.sh/ {exit}
                  /^[a-zA-Z_][a-zA-Z0-9_]*=.*[[:space:]]#[[:space:]]/ {print}' "${_opt_script}")
_opt_names=$(printf '%s\n' "${_opt_lines}" | sed -n 's/^\([a-zA-Z_][a-zA-Z0-9_]*\)=.*/\1/p' | sort -u | tr '\n' ' ')

_opt_usage() {
    [ -n "${help_message:-}" ] && printf '%s\n\n' "${help_message}"
    echo "Options (current value in brackets):"
    local line name help
    while IFS= read -r line; do
        name=${line%%=*}
        help=""
        [[ "${line}" == *"# "* ]] && help=${line#*# }
        printf '  --%-22s %s [%s]\n' "${name}" "${help}" "${!name}"
    done <<< "${_opt_lines}"
}

while [ $# -gt 0 ]; do
    case "$1" in
        --help|-h)
            _opt_usage
            exit 0
            ;;
        --*=*)
            _opt_name=${1%%=*}
            set -- "${_opt_name}" "${1#*=}" "${@:2}"
            ;;
        --*)
            _opt_name=${1#--}; _opt_name=${_opt_name//-/_}
            if [[ " ${_opt_names} " != *" ${_opt_name} "* ]]; then
                echo "$0: unknown option '$1'." >&2
                echo "Valid options: $(for n in ${_opt_names}; do printf -- '--%s ' "$n"; done)" >&2
                echo "Run '$0 --help' for their meaning and defaults." >&2
                exit 2
            fi
            if [ $# -lt 2 ]; then
                echo "$0: option '$1' needs a value" >&2
                exit 2
            fi
            printf -v "${_opt_name}" '%s' "$2"
            shift 2
            ;;
        *)
            break
            ;;
    esac
done
unset _opt_name
