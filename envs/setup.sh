#!/usr/bin/env bash
# Create (or update) the project's virtual environment from a plain Python 3.11.
# Idempotent: reinstalls only when envs/requirements.txt or pyproject.toml change.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${MTSAR2SAR_VENV:-$root/.venv}"
python="${PYTHON:-$(command -v python3.11 || command -v python3)}"
want="$(cat "$root/envs/requirements.txt" "$root/pyproject.toml" | sha256sum | cut -d' ' -f1)"
stamp="$venv/.mtsar2sar-setup"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
"$python" -c 'import sys; assert sys.version_info[:2] >= (3, 11), "mtsar2sar needs Python >= 3.11"'
echo "setting up $venv (first run: a few minutes)" >&2
"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip
"$venv/bin/pip" install --quiet -r "$root/envs/requirements.txt"
"$venv/bin/pip" install --quiet --no-deps deepdespeckling==0.8
"$venv/bin/pip" install --quiet --no-deps -e "$root"
echo "$want" > "$stamp"
