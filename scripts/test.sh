#!/usr/bin/env bash
# Runs Crieur's whole test suite on a Debian machine with Go: installs what
# the tests need (Node.js and npm for the Fedify peers, redis-server, Chromium, Mailpit,
# the peers' packages, staticcheck), then checks formatting, go vet, staticcheck and go test -race.
# Benchmarks have their own command, scripts/bench.sh; fuzzing beyond the
# seed corpora (which run here as tests) has its own too, scripts/fuzz.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v gcc >/dev/null 2>&1 || missing+=(gcc) # the race detector needs cgo
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server) # tests start their own
command -v chromium >/dev/null 2>&1 || missing+=(chromium) # browser tests (chromedp)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} from Debian's packages"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

echo "== npm ci (Fedify test peers: 1.5 on this Node, 2.x on the Node 22 its packages ship) [${SECONDS}s]"
(cd cmd/crieur/testdata/fedify-peer && npm ci --no-audit --no-fund --loglevel=error)
(cd cmd/crieur/testdata/fedify2-peer && npm ci --no-audit --no-fund --loglevel=error)
(cd cmd/crieur/testdata/axe && npm ci --no-audit --no-fund --loglevel=error) # accessibility checks in the browser tests
(cd cmd/crieur/testdata/ical && npm ci --no-audit --no-fund --loglevel=error) # a second iCalendar reader, zones from the file

echo "== mailpit (a real SMTP server with STARTTLS and auth, for the e-mail tests) [${SECONDS}s]"
tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
GOBIN="$tools" go install github.com/axllent/mailpit@v1.33.1
export CRIEUR_TEST_MAILPIT="$tools/mailpit"

echo "== gofmt [${SECONDS}s]"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './cmd/crieur/testdata/*'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "== go vet [${SECONDS}s]"
go vet ./...

echo "== staticcheck [${SECONDS}s]"
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

echo "== go test -race [${SECONDS}s]"
# -parallel 3: the end-to-end tests marked parallel mostly wait for a
# time to come (schedules, retries, coalescing), so three overlap well on two cores.
go test -race -count=1 -parallel 3 -timeout 15m ./...

echo "== done [${SECONDS}s]"
