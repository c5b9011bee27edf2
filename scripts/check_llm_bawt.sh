#!/usr/bin/env bash
# The real-platform check: the platform's (llm-bawt's) own clients against
# `botsettings serve` on 127.0.0.1:8642, with the platform's bots.yaml migrated.
# Not part of the test suite: it needs the platform's code. See README, "Checked
# against llm-bawt".
#
#   scripts/check_llm_bawt.sh PLATFORM_CHECKOUT BOTS_YAML
#
# PLATFORM_CHECKOUT: a checkout of llm-bawt with its virtualenv in .venv
#   (uv venv .venv && VIRTUAL_ENV=.venv uv pip install -e '.[service]' pytest);
# BOTS_YAML: its bots.yaml (the last one it had: `git show da881c2^:src/llm_bawt/bots.yaml`).
#
# Port 8642 must be free. The service runs on a fresh embedded PostgreSQL in a
# temporary directory, removed at the end. Exits non-zero if any step fails.
set -euo pipefail

PLATFORM=$(cd "$1" && pwd)
BOTS_YAML=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
HERE=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
export BOTSETTINGS_DATA_DIR="$WORK/data"
unset DATABASE_URL BOTSETTINGS_BOTS_YAML BOTSETTINGS_USER_BOTS_YAML
# The platform's clients read their settings from this file only (no user config).
: > "$WORK/llm-bawt.env"
export LLM_BAWT_ENV_FILE="$WORK/llm-bawt.env"

cd "$HERE"
SERVE_PID=""
cleanup() {
  if [ -n "$SERVE_PID" ]; then kill -TERM "$SERVE_PID" 2>/dev/null || true; wait "$SERVE_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== botsettings $(git rev-parse --short HEAD), llm-bawt $(git -C "$PLATFORM" rev-parse HEAD)"
echo "== migrate the platform's bots.yaml"
uv run botsettings migrate --from-bots-yaml "$BOTS_YAML" --reason "llm-bawt check" | tail -n 12

echo "== serve on 127.0.0.1:8642"
uv run botsettings serve --port 8642 > "$WORK/serve.log" 2>&1 &
SERVE_PID=$!
for _ in $(seq 1 120); do
  if curl -fsS http://127.0.0.1:8642/health > /dev/null 2>&1; then break; fi
  sleep 0.5
done
curl -fsS http://127.0.0.1:8642/health; echo

echo "== declare the platform's test key"
uv run botsettings keys define test_cli_integration_key --type str --reason "llm-bawt check"

echo "== the platform's bootstrap and profile calls"
status=0
"$PLATFORM/.venv/bin/python" "$HERE/scripts/llm_bawt_client_check.py" || status=1

echo "== the platform's own CLI tests (TestLLMSettings)"
cd "$PLATFORM"
PATH="$PLATFORM/.venv/bin:$PATH" "$PLATFORM/.venv/bin/pytest" tests/test_cli_commands.py -m service \
  -k TestLLMSettings -p no:cacheprovider -q -rA || status=1
echo "== $([ "$status" = 0 ] && echo "every check passed" || echo "some checks FAILED")"
exit "$status"
