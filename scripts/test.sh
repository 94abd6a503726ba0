#!/usr/bin/env bash
# The whole test run: starts Redis and PostgreSQL on private ports, type-checks every
# project, runs vitest over every project, then stops the servers.
# Extra arguments go to vitest (for example a file filter).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash scripts/services.sh start
trap 'bash scripts/services.sh stop' EXIT
# shellcheck disable=SC1091
source .services/env

pnpm exec tsc -b
pnpm exec vitest run --reporter=default --reporter=json --outputFile.json=.vitest-report.json "$@"
