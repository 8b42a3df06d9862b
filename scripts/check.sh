#!/usr/bin/env bash
# The quality gates, in order of speed; any failure fails the test command.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin

echo "== ruff lint";    "$bin/ruff" check .
echo "== ruff format";  "$bin/ruff" format --check .
echo "== mypy";         "$bin/mypy"
echo "== import contracts"; "$bin/lint-imports"
echo "== pytest"
set +e
"$bin/pytest" "$@"
rc=$?
set -e
# pytest exits 5 when it collected nothing: that is a failure here, never a pass.
if [ $rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi
exit $rc
