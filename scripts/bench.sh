#!/usr/bin/env bash
# Runs Crieur's benchmarks and prints their figures (they assert nothing).
# Needs what the test command installs (redis-server); see README, Measured.
set -euo pipefail
cd "$(dirname "$0")/.."
# Matrix encryption uses mautrix's pure-Go olm, built only with the goolm
# tag (README: Building).
export GOFLAGS="-tags=goolm"

command -v redis-server >/dev/null 2>&1 || { echo "redis-server is needed: run ./scripts/test.sh once, or apt-get install redis-server"; exit 1; }

echo "== delivery throughput through Redis (crieur-bench)"
timeout 900 go run ./cmd/crieur-bench
echo "== delivery throughput with the embedded queue"
timeout 300 go run ./cmd/crieur-bench -queue embedded -concurrency 16 -part throughput -runs 3
echo "== go test benchmarks"
go test -run '^$' -bench . -benchtime 5x -count 3 ./federation/delivery/
echo "== public GETs against a static Go handler serving the same bytes (each its own process)"
go test ./cmd/crieur -run '^$' -bench PublicGETs -benchtime 1x
echo "== board page latency idle and during a fan-out (with /metrics scraped at 10/s)"
go test ./cmd/crieur -run '^$' -bench BoardPageDuringFanOut -benchtime 1x -count 5
echo "== 1,000 sign-ups arriving within a second (web form), counts reaching a follower"
go test ./cmd/crieur -run '^$' -bench ThousandSignUps -benchtime 1x -count 3
echo "== public pages and feeds of a board with 10,000 announcements"
go test ./federation/activitypub -run '^$' -bench PublicPagesAt10000 -benchtime 1x
