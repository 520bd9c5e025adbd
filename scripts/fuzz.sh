#!/usr/bin/env bash
# Fuzzes every Fuzz target beyond its seed corpus (the seeds already run as
# ordinary tests in ./scripts/test.sh). Each target runs CRIEUR_FUZZTIME
# (default 30s); a failing input is saved under the package's testdata/fuzz.
set -euo pipefail
cd "$(dirname "$0")/.."
# Matrix encryption uses mautrix's pure-Go olm, built only with the goolm
# tag (README: Building).
export GOFLAGS="-tags=goolm"

# The targets are found in the sources: "go test -list" would build every
# package's tests once more just to name them.
go list -f '{{.ImportPath}} {{.Dir}}' ./... | while read -r pkg dir; do
  for target in $(cat "$dir"/*_test.go 2>/dev/null | sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p'); do
    corpus="$dir/testdata/fuzz/$target"
    inputs() { (ls "$corpus" 2>/dev/null || true) | wc -l; } # the folder may not exist yet
    before=$(inputs)
    if ! out=$(go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "${CRIEUR_FUZZTIME:-30s}" 2>&1); then
      # Go 1.26's fuzz coordinator can report its own -fuzztime deadline as
      # a failure (golang/go#75804, fixed in 1.27). A real failure always
      # writes its input; with no new input it is that race, not our code.
      if grep -q 'context deadline exceeded' <<<"$out" && [ "$(inputs)" -eq "$before" ]; then
        echo "fuzzed $target ($pkg): stopped by Go's fuzztime race (golang/go#75804), no failing input"
        continue
      fi
      echo "fuzzing $target in $pkg found a failure (the input is saved under testdata/fuzz):"; echo "$out" | tail -30; exit 1
    fi
    echo "fuzzed $target ($pkg) [${SECONDS}s]"
  done
done
echo "== done [${SECONDS}s]"
