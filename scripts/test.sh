#!/usr/bin/env bash
# Runs Crieur's whole test suite on a Debian machine with Go: installs what
# the tests need (Node.js and npm for the Fedify peers, redis-server, Chromium's headless shell, Mailpit,
# the peers' packages, staticcheck; Dendrite and Activity-Relay built from
# source), then checks formatting, go vet, staticcheck and go test -race.
# Benchmarks have their own command, scripts/bench.sh; fuzzing beyond the
# seed corpora (which run here as tests) has its own too, scripts/fuzz.sh.
# Each phase prints the seconds since the start.
set -euo pipefail
cd "$(dirname "$0")/.."
# Matrix encryption uses mautrix's pure-Go olm, built only with the goolm
# tag (README: Building); every go command below carries it. Dendrite
# builds from its own module with GOFLAGS= on purpose.
#
# -race implies checkptr, which checks each unsafe.Pointer conversion and
# arithmetic at run time; modernc's SQLite (C translated to Go) does both in
# nearly every statement, and those checks took 15-20 % of the end-to-end
# tests' processor time (a profile of that test binary). They are left to modernc's own test suite: its
# packages keep the race detector, drop checkptr (-d=checkptr=0); Crieur's
# own code and every other package keep both. One set of flags for vet,
# staticcheck and the tests, so they compile each package once.
export GOFLAGS="-tags=goolm -gcflags=modernc.org/...=-d=checkptr=0"

# gcc is needed at once (the race detector builds with cgo); Node.js, npm,
# redis-server and Chromium only by the peers' packages and the tests, so
# they install in the background while the compilers work (the full
# Chromium alone took 47 s to install on a fresh machine).
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if ! command -v gcc >/dev/null 2>&1; then
  echo "installing gcc from Debian's packages"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq gcc >/dev/null
fi
missing=()
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server) # tests start their own
# The browser tests (chromedp) run Chromium's headless-only build: less
# processor time than the full browser, and fewer packages to install.
command -v chromium-headless-shell >/dev/null 2>&1 || missing+=(chromium-headless-shell)

tools=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tools"' EXIT # background builds end with the script
# The packages' install writes its status to apt.rc when it ends;
# packagesReady waits for it (the npm job, a subshell, cannot wait for a
# sibling's process).
if [ ${#missing[@]} -gt 0 ]; then
  echo "== ${missing[*]} install from Debian's packages in the background [${SECONDS}s]"
  ( ( $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" ) >"$tools/apt.log" 2>&1
    echo $? >"$tools/apt.rc.tmp"; mv "$tools/apt.rc.tmp" "$tools/apt.rc" ) &
else
  echo 0 >"$tools/apt.rc"
fi
packagesReady() {
  while [ ! -f "$tools/apt.rc" ]; do sleep 1; done
  if [ "$(cat "$tools/apt.rc")" != 0 ]; then
    echo "installing ${missing[*]} failed:"; cat "$tools/apt.log"; return 1
  fi
}
# Mailpit (a real SMTP server with STARTTLS and auth, for the e-mail tests)
# and staticcheck build while npm downloads the peers' packages.
echo "== mailpit and staticcheck build in the background [${SECONDS}s]"
go mod download >/dev/null 2>&1 & # Crieur's modules, fetched side by side rather than one by one as vet needs them
( (GOBIN="$tools" go install github.com/axllent/mailpit@v1.33.1 && GOBIN="$tools" go install honnef.co/go/tools/cmd/staticcheck@v0.8.2) >"$tools/install.log" 2>&1; echo $? >"$tools/install.rc") &
installing=$!

# Dendrite (the Matrix homeserver of the Matrix tests) builds from its own
# module in the background too; the tests wait for it when they need it.
echo "== dendrite and activity-relay build in the background [${SECONDS}s]"
export CRIEUR_TEST_DENDRITE="$tools/dendrite"
mkdir -p "$CRIEUR_TEST_DENDRITE"
# Its SQLite (mattn/go-sqlite3's C) is compiled with -O1: gcc takes 18 s
# of processor time over it where the default -O2 -g takes 52 s.
# No symbol table nor debugging information in its binaries (-s): less
# for the linker to write.
( cd cmd/crieur/testdata/dendrite && GOBIN="$CRIEUR_TEST_DENDRITE" CGO_ENABLED=1 CGO_CFLAGS=-O1 GOWORK=off GOFLAGS=-ldflags=-s go install tool >"$CRIEUR_TEST_DENDRITE/build.log" 2>&1
  echo $? >"$CRIEUR_TEST_DENDRITE/.done" ) &

# Activity-Relay (the relay server of the relay acceptance test) builds
# the same way, without cgo.
export CRIEUR_TEST_ACTIVITY_RELAY="$tools/activity-relay"
mkdir -p "$CRIEUR_TEST_ACTIVITY_RELAY"
( cd cmd/crieur/testdata/activity-relay && GOBIN="$CRIEUR_TEST_ACTIVITY_RELAY" CGO_ENABLED=0 GOWORK=off GOFLAGS=-ldflags=-s go install tool >"$CRIEUR_TEST_ACTIVITY_RELAY/build.log" 2>&1
  echo $? >"$CRIEUR_TEST_ACTIVITY_RELAY/.done" ) &

# The peers' npm packages download in the background as well: network
# time, while the processors compile.
echo "== npm ci in the background (Fedify test peers: 1.5 on this Node, 2.x on the Node 22 its packages ship) [${SECONDS}s]"
( set -e
  packagesReady # node and npm
  (cd cmd/crieur/testdata/fedify-peer && npm ci --no-audit --no-fund --loglevel=error)
  (cd cmd/crieur/testdata/fedify2-peer && npm ci --no-audit --no-fund --loglevel=error)
  (cd cmd/crieur/testdata/axe && npm ci --no-audit --no-fund --loglevel=error) # accessibility checks in the browser tests
  (cd cmd/crieur/testdata/ical && npm ci --no-audit --no-fund --loglevel=error) # a second iCalendar reader, zones from the file
) >"$tools/npm.log" 2>&1 &
npm=$!

echo "== gofmt [${SECONDS}s]"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './cmd/crieur/testdata/*'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

# -race everywhere: vet, staticcheck and the tests then compile the same
# packages once, where a plain vet would compile everything a second time.
echo "== go vet [${SECONDS}s]"
go vet -race ./...

# The npm job waited for the packages' install: after it, Chromium and
# redis-server are there too.
if ! wait "$npm"; then
  echo "npm ci failed:"; cat "$tools/npm.log"; exit 1
fi
wait "$installing"
if [ "$(cat "$tools/install.rc")" != 0 ]; then
  echo "installing mailpit and staticcheck failed:"; cat "$tools/install.log"; exit 1
fi
export CRIEUR_TEST_MAILPIT="$tools/mailpit"

# staticcheck reads what vet compiled; it runs beside the tests, which
# leave the processors idle while they wait for their peers.
echo "== staticcheck (beside the tests) [${SECONDS}s]"
(GOFLAGS="-race $GOFLAGS" "$tools/staticcheck" ./... >"$tools/staticcheck.log" 2>&1; echo $? >"$tools/staticcheck.rc") &
checking=$!

# The browser tests leave a screenshot of every page type, at 390 and
# 1280 px, in both languages: kept after the run to look at.
export CRIEUR_SCREENSHOTS="$PWD/test-artifacts/screenshots"
rm -rf "$CRIEUR_SCREENSHOTS" && mkdir -p "$CRIEUR_SCREENSHOTS"
echo "== go test -race [${SECONDS}s] (screenshots in $CRIEUR_SCREENSHOTS)"
# -parallel 4: the end-to-end tests run side by side, four at a time;
# most of their time is spent waiting (for a peer, a schedule, a retry),
# so four overlap well on two cores.
status=0
# -vet=off: go vet ran over every package above; go test would run a
# subset of it again on each.
go test -race -vet=off -count=1 -parallel 4 -timeout 15m ./... || status=$?

wait "$checking" || true # its status is in staticcheck.rc; a run that died says so below
echo "== staticcheck said [${SECONDS}s]"
cat "$tools/staticcheck.log" 2>/dev/null || true
if [ "$(cat "$tools/staticcheck.rc" 2>/dev/null)" != 0 ]; then
  echo "staticcheck found problems (or did not finish)"; status=1
fi
echo "== done [${SECONDS}s]"
exit "$status"
