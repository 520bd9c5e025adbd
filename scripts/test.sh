#!/usr/bin/env bash
# Runs Crieur's whole test suite on a Debian machine with Go: installs what
# the tests need (Node.js and npm for the Fedify peers, redis-server, Chromium, Mailpit,
# the peers' packages, staticcheck), then checks formatting, go vet, staticcheck and go test -race.
# Benchmarks have their own command: scripts/bench.sh.
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

echo "== fuzz (each target 2 s, CRIEUR_FUZZTIME for longer; the seeds already ran above as tests) [${SECONDS}s]"
# The targets are found in the sources: "go test -list" would build every
# package's tests once more just to name them.
go list -f '{{.ImportPath}} {{.Dir}}' ./... | while read -r pkg dir; do
  for target in $(cat "$dir"/*_test.go 2>/dev/null | sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p'); do
    corpus="$dir/testdata/fuzz/$target"
    inputs() { (ls "$corpus" 2>/dev/null || true) | wc -l; } # the folder may not exist yet
    before=$(inputs)
    if ! out=$(go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "${CRIEUR_FUZZTIME:-2s}" 2>&1); then
      # Go 1.26's fuzz coordinator can report its own -fuzztime deadline as
      # a failure (golang/go#75804, fixed in 1.27). A real failure always
      # writes its input; with no new input it is that race, not our code.
      if grep -q 'context deadline exceeded' <<<"$out" && [ "$(inputs)" -eq "$before" ]; then
        echo "fuzzed $target ($pkg): stopped by Go's fuzztime race (golang/go#75804), no failing input"
        continue
      fi
      echo "fuzzing $target in $pkg found a failure (the input is saved under testdata/fuzz):"; echo "$out" | tail -30; exit 1
    fi
    echo "fuzzed $target ($pkg)"
  done
done
echo "== done [${SECONDS}s]"
