#!/usr/bin/env bash
# Runs Crieur's benchmarks and prints their figures (they assert nothing).
# Needs what the test command installs (redis-server); see README, Measured.
set -euo pipefail
cd "$(dirname "$0")/.."
# Matrix encryption uses mautrix's pure-Go olm, built only with the goolm
# tag (README: Building).
export GOFLAGS="-tags=goolm"

command -v redis-server >/dev/null 2>&1 || { echo "redis-server is needed: run ./scripts/test.sh once, or apt-get install redis-server"; exit 1; }

echo "== delivery throughput through Redis and with the embedded queue, in turns; a slow and a failing host (crieur-bench)"
timeout 900 go run ./cmd/crieur-bench -queue both
echo "== go test benchmarks"
go test -run '^$' -bench . -benchtime 5x -count 3 ./federation/delivery/
# GoToSocial 0.19.2 beside Crieur's public GETs (the issue's yardstick),
# built from the module proxy's copy of its source, which has the web/
# templates its pages are rendered with; its dependencies (its forks
# included) come from the proxy too. The copy's vendor/ holds only
# modules.txt (module zips leave vendored code out), so it goes. It
# builds only with Go older than 1.25 (two of its dependencies read the
# runtime's internals, by version): the go command fetches Go 1.24.6 from
# the module proxy for it (GOTOOLCHAIN). Several
# minutes of compiling, once per run; CRIEUR_BENCH_GOTOSOCIAL set
# beforehand skips it.
if [ -z "${CRIEUR_BENCH_GOTOSOCIAL:-}" ]; then
  gts=$(mktemp -d)
  trap 'rm -rf "$gts"' EXIT
  echo "== building GoToSocial 0.19.2 for the side-by-side figures (in $gts)"
  src=$(GOFLAGS= go mod download -json github.com/superseriousbusiness/gotosocial@v0.19.2 | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  cp -r "$src" "$gts/src" && chmod -R u+w "$gts/src" && rm -rf "$gts/src/vendor"
  (cd "$gts/src" && CGO_ENABLED=0 GOWORK=off GOTOOLCHAIN=go1.24.6 GOFLAGS=-mod=mod go build -o "$gts/gotosocial" ./cmd/gotosocial)
  ln -s "$gts/src/web" "$gts/web"
  export CRIEUR_BENCH_GOTOSOCIAL="$gts"
fi
echo "== public GETs against a static Go handler serving the same bytes, and GoToSocial (each its own process)"
go test ./cmd/crieur -run '^$' -bench PublicGETs -benchtime 1x -timeout 30m
echo "== board page latency idle and during a fan-out (with /metrics scraped at 10/s)"
go test ./cmd/crieur -run '^$' -bench BoardPageDuringFanOut -benchtime 1x -count 5
echo "== 1,000 sign-ups arriving within a second (web form), counts reaching a follower"
go test ./cmd/crieur -run '^$' -bench ThousandSignUps -benchtime 1x -count 3
echo "== public pages and feeds of a board with 10,000 announcements"
go test ./federation/activitypub -run '^$' -bench PublicPagesAt10000 -benchtime 1x
