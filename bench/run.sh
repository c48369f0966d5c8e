#!/usr/bin/env bash
# The Xinfang benchmark (see bench/README.md): builds the release binary, then hands over to
# bench/bench.py, which seeds a fresh database, serves it and measures. Every argument is
# passed on, e.g. `bench/run.sh --cases 10000 --duration 5` or `bench/run.sh --sqlite`;
# bench.py checks for oha (needed by every operation but `register`) before it starts.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ " $* " != *" --sqlite "* ]]; then
    for tool in psql createdb dropdb pgbench; do
        command -v "$tool" >/dev/null || {
            echo "$tool is missing: install the PostgreSQL client tools (apt-get install postgresql-client)" >&2
            exit 1
        }
    done
fi
if [[ -z "${BENCH_SKIP_BUILD:-}" ]]; then
    cargo build --release -p xinfang
fi
exec python3 bench/bench.py "$@"
