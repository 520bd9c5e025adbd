#!/bin/sh
# Writes board/store/testdata/store-66863a9.db: a store made by the release
# at commit 66863a9 (before the schema was counted), for the upgrade tests.
# Run from the repository's root; needs go, git and sqlite3.
set -eu
commit=66863a9
root=$(pwd)
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; git -C "$root" worktree remove --force "$work/src" 2>/dev/null || true; rm -rf "$work"' EXIT
pid=
git worktree add -q "$work/src" "$commit"
(cd "$work/src" && go build -tags goolm -o "$work/crieur" ./cmd/crieur)
port=18977
export CRIEUR_LISTEN=127.0.0.1:$port CRIEUR_PUBLIC_URL=http://127.0.0.1:$port CRIEUR_DATA_DIR=$work/data CRIEUR_ALLOW_PRIVATE_ADDRESSES=true
"$work/crieur" serve >"$work/out" 2>"$work/log" &
pid=$!
for _ in $(seq 100); do grep -q '^crieur_' "$work/out" && break; sleep 0.1; done
CRIEUR_TOKEN=$(grep '^crieur_' "$work/out")
CRIEUR_SERVER=http://127.0.0.1:$port
export CRIEUR_TOKEN CRIEUR_SERVER
echo "Plain news for the upgrade test." | "$work/crieur" post --title "Plain news" --tag asso -
echo "Come along." | "$work/crieur" post --kind event --title "General assembly" \
	--start 2027-01-16T14:00:00+01:00 --end 2027-01-16T17:00:00+01:00 --place "Room 101" -
echo "Mail is down." | "$work/crieur" post --kind outage --title "Mail outage" --service mail --from 2026-11-25T08:00:00Z -
echo "Help us." | "$work/crieur" post --kind call --title "Volunteers wanted" --contact bureau@example.org --role cook:2 -
kill "$pid"
wait "$pid" || true
out=board/store/testdata/store-$commit.db
rm -f "$out"
sqlite3 "$work/data/crieur.db" "UPDATE boards SET private_key_pem = 'scrubbed', public_key_pem = 'scrubbed'; VACUUM INTO '$root/$out';"
# Small pages: a few KB instead of a page of 4 KB per table and index.
sqlite3 "$out" "PRAGMA page_size = 512; VACUUM;"
ls -l "$out"
