#!/usr/bin/env bash
# Browser tests of the web UI (make test-ui). Builds the UI and a binary that
# embeds it, seeds a small DataVault store with `tracehound demo --no-serve`,
# serves it on free loopback ports, creates an admin and a viewer, and runs
# the Playwright (playwright-core + Debian chromium) tests with node's test
# runner. Screenshots go to $E2E_SCREENSHOTS (default web/ui/e2e/screenshots),
# the performance figures to $E2E_SCREENSHOTS/perf.json. Everything it starts
# is stopped on exit; each step is bounded in time.
#
#   E2E_SCALE (0.002) and E2E_DAYS (4)   size of the seeded store
#   TRACEHOUND_BIN                       use this binary instead of building one
#   CHROMIUM                             browser (default /usr/bin/chromium)
set -euo pipefail

ui=$(cd "$(dirname "$0")/.." && pwd)
root=$(cd "$ui/../.." && pwd)
shots=${E2E_SCREENSHOTS:-$ui/e2e/screenshots}
scale=${E2E_SCALE:-0.002}
days=${E2E_DAYS:-4}
work=$(mktemp -d "${TMPDIR:-/tmp}/tracehound-e2e.XXXXXX")
server_pid=

cleanup() {
	status=$?
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		kill "$server_pid" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.2; done
		kill -9 "$server_pid" 2>/dev/null || true
	fi
	if [ "$status" != 0 ] && [ -f "$work/serve.log" ]; then
		echo "== server log (last 40 lines)" >&2
		tail -40 "$work/serve.log" >&2
	fi
	rm -rf "$work"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '== %s\n' "$*"; }
t0=$(date +%s)

command -v "${CHROMIUM:-/usr/bin/chromium}" >/dev/null || { echo "run.sh: no browser at ${CHROMIUM:-/usr/bin/chromium}; install Debian's chromium (apt-get install --no-install-recommends chromium)" >&2; exit 1; }

cd "$ui"
if [ ! -d node_modules/playwright-core ] || [ ! -d node_modules/vite ]; then
	step "npm ci"
	timeout 300 npm ci --no-audit --no-fund
fi

bin=${TRACEHOUND_BIN:-}
if [ -z "$bin" ]; then
	step "build the UI and the binary"
	timeout 300 npm run build --silent
	(cd "$root" && timeout 600 go build -o "$work/tracehound" ./cmd/tracehound)
	bin=$work/tracehound
fi

# Three free loopback ports (API, OTLP/HTTP, OTLP/gRPC), for the demo
# and then for serve.
read -r api_port otlp_http otlp_grpc <<<"$(node -e '
const net = require("node:net");
const ports = [];
const next = () => { const s = net.createServer(); s.listen(0, "127.0.0.1", () => { ports.push(s.address().port); s.close(() => ports.length < 3 ? next() : console.log(ports.join(" "))); }); };
next();')"
export TRACEHOUND_LISTEN=127.0.0.1:$api_port TRACEHOUND_OTLP_HTTP=127.0.0.1:$otlp_http TRACEHOUND_OTLP_GRPC=127.0.0.1:$otlp_grpc
data=$work/data

step "seed the DataVault scenario (scale $scale, $days days)"
s0=$(date +%s)
timeout 300 "$bin" demo --no-serve --data "$data" --scale "$scale" --days "$days" >"$work/demo.log" 2>&1 || { cat "$work/demo.log" >&2; exit 1; }
seed_s=$(( $(date +%s) - s0 ))
grep -E '^Seeded' "$work/demo.log" || true

step "users"
admin_pw="e2e-admin-$RANDOM$RANDOM"
viewer_pw="e2e-viewer-$RANDOM$RANDOM"
printf '%s\n' "$admin_pw" | timeout 60 "$bin" --data "$data" users add e2e --role admin --password - >/dev/null
printf '%s\n' "$viewer_pw" | timeout 60 "$bin" --data "$data" users add e2e-viewer --role viewer --password - >/dev/null

step "serve on 127.0.0.1:$api_port"
"$bin" --data "$data" serve >"$work/serve.log" 2>&1 &
server_pid=$!
base=http://127.0.0.1:$api_port
for _ in $(seq 120); do
	if curl -fsS "$base/readyz" >/dev/null 2>&1; then break; fi
	kill -0 "$server_pid" 2>/dev/null || { echo "run.sh: the server exited" >&2; exit 1; }
	sleep 0.5
done
curl -fsS "$base/readyz" >/dev/null
if ! curl -fsS "$base/" | grep -q '<div id="app">'; then
	echo "run.sh: $base/ does not serve the built UI: the binary lacks it (run make ui before building, and pass web.Handler() as api.Options.UI)" >&2
	exit 1
fi

step "browser tests"
mkdir -p "$shots"
export E2E_BASE_URL=$base E2E_USER=e2e E2E_PASSWORD=$admin_pw E2E_VIEWER_USER=e2e-viewer E2E_VIEWER_PASSWORD=$viewer_pw
export E2E_SCREENSHOTS=$shots E2E_RESULTS=$shots/perf.json
e0=$(date +%s)
timeout 900 node --test --test-concurrency=1 --test-reporter=spec e2e/scenario.test.mjs e2e/perf.test.mjs
echo "e2e: seed ${seed_s}s, browser tests $(( $(date +%s) - e0 ))s, total $(( $(date +%s) - t0 ))s; screenshots in $shots"
