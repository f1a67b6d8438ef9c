# Sourced by scripts/serve and scripts/test: make sure .venv exists with
# DeskLink installed (plus the extras named in $DESKLINK_EXTRAS).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

APT_UPDATED=0
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing system packages: ${missing[*]}"
  if [ "$APT_UPDATED" -eq 0 ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

PYTHON="${PYTHON:-python3}"
# A .venv left half-made (an interrupted first run) has no pip: make it again.
if [ -x .venv/bin/python ] && ! .venv/bin/python -m pip --version >/dev/null 2>&1; then
  rm -rf .venv
fi
if [ ! -x .venv/bin/python ]; then
  if ! "$PYTHON" -m venv --help >/dev/null 2>&1 || ! "$PYTHON" -c "import ensurepip" >/dev/null 2>&1; then
    apt_install python3-venv
  fi
  "$PYTHON" -m venv .venv
fi
stamp=".venv/.desklink-installed"
# constraints.txt pins every dependency to the versions tested together (a
# new release of a library or of mypy must not break a fresh clone's CI);
# refresh it on purpose with `.venv/bin/pip freeze --exclude-editable`.
want="$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)-${DESKLINK_EXTRAS:-none}"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  if [ -n "${DESKLINK_EXTRAS:-}" ]; then
    .venv/bin/python -m pip install -q -c constraints.txt -e ".[${DESKLINK_EXTRAS}]"
  else
    .venv/bin/python -m pip install -q -c constraints.txt -e .
  fi
  echo "$want" > "$stamp"
fi
