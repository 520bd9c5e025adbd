package store

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"
)

// A step changes the schema from its version-1 to its version, in one
// transaction with the version's update: SQL, or Go when the change needs
// to look first (a column an earlier release may or may not have made).
type step struct {
	version int
	what    string
	up      func(ctx context.Context, tx *sql.Tx) error
}

// exec is a step made of SQL statements only.
func exec(stmts ...string) func(context.Context, *sql.Tx) error {
	return func(ctx context.Context, tx *sql.Tx) error {
		for _, s := range stmts {
			if _, err := tx.ExecContext(ctx, s); err != nil {
				return err
			}
		}
		return nil
	}
}

// steps is the one registry of every table Crieur keeps, the board
// store's and its destinations' and queue's alike, in order. PRAGMA
// user_version counts those applied. Append only: a released step never
// changes, and the version of each is its place here.
var steps = []step{
	// 1: the first schema (CREATE IF NOT EXISTS: a store made before the
	// versions were counted has these tables already), then pinned
	// announcements (the actor's featured collection).
	{1, "the first tables; pinned announcements", exec(append(baseSchema,
		`ALTER TABLE announcements ADD COLUMN pinned_at BIGINT`)...)},
	// 2: a reply is known by its object's id (what Update and Delete name),
	// the Create's id kept aside.
	{2, "a reply's object id", exec(`ALTER TABLE interactions ADD COLUMN object_id TEXT NOT NULL DEFAULT ''`)},
	{3, "index of replies by object id", exec(`CREATE INDEX IF NOT EXISTS interactions_object ON interactions(object_id) WHERE object_id <> ''`)},
	// 4: deliveries still to make to one destination (a room's order).
	{4, "index of deliveries waiting per destination", exec(`CREATE INDEX IF NOT EXISTS deliveries_waiting ON deliveries(target, state) WHERE state IN ('pending', 'retrying')`)},
	// 5, 6: tags in a table of their own, so ?tag= is an exact, indexed
	// look-up (a LIKE over the JSON list took _ and % as wildcards and
	// read every row).
	{5, "tags in a table of their own", exec(`CREATE TABLE IF NOT EXISTS announcement_tags (
		board_id BIGINT NOT NULL,
		tag TEXT NOT NULL,
		announcement_id BIGINT NOT NULL REFERENCES announcements(id),
		PRIMARY KEY (board_id, tag, announcement_id))`)},
	{6, "the tags of existing announcements", exec(`INSERT OR IGNORE INTO announcement_tags (board_id, tag, announcement_id)
		SELECT a.board_id, LOWER(j.value), a.id FROM announcements a, json_each(a.tags) j`)},
	// 7, 8: when a token was last used, and until when it is valid.
	{7, "when a token was last used", exec(`ALTER TABLE tokens ADD COLUMN last_used_at BIGINT`)},
	{8, "token expiry", exec(`ALTER TABLE tokens ADD COLUMN expires_at BIGINT`)},
	// 9: blocked domains and accounts, per board or server-wide (NULL).
	{9, "blocked domains and accounts", exec(`CREATE TABLE IF NOT EXISTS blocks (
		id INTEGER PRIMARY KEY,
		board_id BIGINT REFERENCES boards(id),
		domain TEXT NOT NULL,
		actor TEXT NOT NULL,
		created_at BIGINT NOT NULL)`)},
	// 10: answers to calls for volunteers, one per person and role.
	{10, "sign-ups", exec(`CREATE TABLE IF NOT EXISTS signups (
		id INTEGER PRIMARY KEY,
		board_id BIGINT NOT NULL REFERENCES boards(id),
		announcement_id BIGINT NOT NULL REFERENCES announcements(id),
		role TEXT NOT NULL,
		person_kind TEXT NOT NULL,
		person TEXT NOT NULL,
		name TEXT NOT NULL,
		contact TEXT NOT NULL,
		state TEXT NOT NULL,
		withdraw_hash TEXT NOT NULL,
		created_at BIGINT NOT NULL,
		updated_at BIGINT NOT NULL,
		UNIQUE (announcement_id, role, person_kind, person))`)},
	{11, "index of sign-ups per role", exec(`CREATE INDEX IF NOT EXISTS signups_role ON signups(announcement_id, role, state)`)},
	// 12: a board's language: its pages' default (en, fr).
	{12, "a board's language", exec(`ALTER TABLE boards ADD COLUMN language TEXT NOT NULL DEFAULT ''`)},
	// 13: a board's time zone (IANA name) for its calendars.
	{13, "a board's time zone", exec(`ALTER TABLE boards ADD COLUMN time_zone TEXT NOT NULL DEFAULT ''`)},
	// 14-17: drafts, scheduled publication and expiry; the index serves
	// the scheduler's "what is due next".
	{14, "announcement status", exec(`ALTER TABLE announcements ADD COLUMN status TEXT NOT NULL DEFAULT 'published'`)},
	{15, "scheduled publication", exec(`ALTER TABLE announcements ADD COLUMN publish_at BIGINT`)},
	{16, "expiry", exec(`ALTER TABLE announcements ADD COLUMN expires_at BIGINT`)},
	{17, "index of what falls due", exec(`CREATE INDEX IF NOT EXISTS announcements_due ON announcements(status, publish_at, expires_at)`)},
	// 18: pictures uploaded to a board (the files are in the media folder).
	{18, "uploaded pictures", exec(`CREATE TABLE IF NOT EXISTS media (
		board_id BIGINT NOT NULL REFERENCES boards(id),
		name TEXT NOT NULL,
		media_type TEXT NOT NULL,
		width INTEGER NOT NULL,
		height INTEGER NOT NULL,
		blurhash TEXT NOT NULL,
		size INTEGER NOT NULL,
		created_at BIGINT NOT NULL,
		PRIMARY KEY (board_id, name))`)},
	// 19-21: who may publish. A token's role (publisher or editor); a
	// board's rule that a second publisher approves each publication; who
	// asked for an announcement awaiting that approval.
	{19, "a token's role", exec(`ALTER TABLE tokens ADD COLUMN role TEXT NOT NULL DEFAULT 'publisher'`)},
	{20, "a board's second-publisher approval", exec(`ALTER TABLE boards ADD COLUMN approval INTEGER NOT NULL DEFAULT 0`)},
	{21, "who asked for a publication", exec(`ALTER TABLE announcements ADD COLUMN requested_by BIGINT`)},
	// 22: an edit the editor wants announced where messages cannot be
	// edited (a Mattermost channel, a mailing list): a short follow-up.
	{22, "follow-ups of edits", exec(`ALTER TABLE outbox ADD COLUMN follow_up INTEGER NOT NULL DEFAULT 0`)},
	// 23: the least time between two refreshes of an announcement (a
	// campaign's progress: not one Update per gift).
	{23, "spaced refreshes", exec(`ALTER TABLE outbox ADD COLUMN min_gap_ms BIGINT NOT NULL DEFAULT 0`)},
	// 24: the destinations' and the queue's tables, which their packages
	// used to make themselves at start outside the count (CREATE IF NOT
	// EXISTS: a store of release 23 has them already), and the Matrix
	// account's owns_token, which such a store may or may not have.
	{24, "the queue's, Matrix's, Mattermost's, e-mail's and the health probe's tables", func(ctx context.Context, tx *sql.Tx) error {
		if err := exec(destinationTables...)(ctx, tx); err != nil {
			return err
		}
		return addColumn(ctx, tx, "matrix_accounts", "owns_token", "INTEGER NOT NULL DEFAULT 0")
	}},
	// 25: every answer to a call, once per origin (a Matrix event id, an
	// activity id, a form's key), and what became of it.
	{25, "the ledger of answers", exec(`CREATE TABLE IF NOT EXISTS answers (
		origin TEXT PRIMARY KEY,
		board_id INTEGER NOT NULL,
		announcement_id INTEGER NOT NULL,
		person_kind TEXT NOT NULL,
		person TEXT NOT NULL,
		roles TEXT NOT NULL,
		given_at BIGINT NOT NULL,
		outcome TEXT NOT NULL,
		recorded_at BIGINT NOT NULL
	)`, `CREATE INDEX IF NOT EXISTS answers_person ON answers(announcement_id, person_kind, person, given_at)`)},
	// 26: the ledger says why (a refusal's reason, who withdrew), who by
	// name (one refused has no sign-up to name them) and what an answer
	// did to each role, for the editors' history of a person.
	{26, "why and what in the ledger of answers", func(ctx context.Context, tx *sql.Tx) error {
		if err := addColumn(ctx, tx, "answers", "why", "TEXT NOT NULL DEFAULT ''"); err != nil {
			return err
		}
		if err := addColumn(ctx, tx, "answers", "person_name", "TEXT NOT NULL DEFAULT ''"); err != nil {
			return err
		}
		return addColumn(ctx, tx, "answers", "result", "TEXT NOT NULL DEFAULT '{}'")
	}},
	// 27: the language a person answered in, which what they are told
	// later (moved up, cancelled, reminded) is written in.
	{27, "the language of a sign-up", func(ctx context.Context, tx *sql.Tx) error {
		return addColumn(ctx, tx, "signups", "lang", "TEXT NOT NULL DEFAULT ''")
	}},
	// 28: what a Matrix poll asks as sent (a hash of its question and
	// answers), so that an edit of the call edits the poll when, and only
	// when, it changes them.
	{28, "what a Matrix poll asks", func(ctx context.Context, tx *sql.Tx) error {
		return addColumn(ctx, tx, "matrix_polls", "asks", "TEXT NOT NULL DEFAULT ''")
	}},
	// 29: whether a board's Matrix polls show their results before they
	// end (disclosed) or only at the end (undisclosed).
	{29, "Matrix poll results shown or kept to the end", func(ctx context.Context, tx *sql.Tx) error {
		return addColumn(ctx, tx, "matrix_accounts", "poll_results", "TEXT NOT NULL DEFAULT 'disclosed'")
	}},
	// 30: an announcement's outbox entries found by announcement: every
	// delivery asks where it stands among the others about the same post
	// (DeliveryOrder), which scanned the whole deliveries table without it.
	{30, "index of the outbox by announcement", exec(`CREATE INDEX IF NOT EXISTS outbox_announcement ON outbox(announcement_id)`)},
	// 31: the server's own secrets (what signs the public forms' keys),
	// made on first use and kept with the data they protect.
	{31, "the server's secrets", exec(`CREATE TABLE IF NOT EXISTS secrets (name TEXT PRIMARY KEY, value BLOB NOT NULL)`)},
	// 32: which release last wrote the store, so an older one refusing it
	// can say which to run.
	{32, "which release wrote the store", exec(`CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)`)},
	// 33: when an outbox entry's deliveries were written down. A board's
	// entries are fanned out in order (FanOutWaits): two fan-outs run by
	// two workers at once let a refresh's Update reach an inbox before
	// the Create had a row to wait for, and the Create was then dropped
	// as superseded. What was handed out before this release counts as
	// fanned out.
	{33, "outbox entries fanned out in order", exec(
		`ALTER TABLE outbox ADD COLUMN fanned_out_at BIGINT`,
		`UPDATE outbox SET fanned_out_at = dispatched_at WHERE dispatched_at IS NOT NULL`,
		`CREATE INDEX IF NOT EXISTS outbox_unfanned ON outbox(board_id, id) WHERE fanned_out_at IS NULL`)},
	// 34: the signatures the inboxes accepted, while their Date is still
	// acceptable, kept across restarts: a request captured before an
	// upgrade is not taken again after it.
	{34, "signatures already received", exec(
		`CREATE TABLE IF NOT EXISTS seen_signatures (digest BLOB PRIMARY KEY, until BIGINT NOT NULL) WITHOUT ROWID`,
		`CREATE INDEX IF NOT EXISTS seen_signatures_until ON seen_signatures(until)`)},
	// 35: the posts of a Mattermost message sent in several, each once
	// though the job is tried again.
	{35, "Mattermost messages in several posts", exec(
		`CREATE TABLE IF NOT EXISTS mattermost_parts (job_id TEXT NOT NULL, part INTEGER NOT NULL, PRIMARY KEY (job_id, part)) WITHOUT ROWID`)},
	// 36: what an edit changed, for follow-ups that say it.
	{36, "what an edit changed", exec(`ALTER TABLE outbox ADD COLUMN changes TEXT NOT NULL DEFAULT ''`)},
	// 37: when a delivery being retried is tried again, for the
	// dashboard (a destination may have said when: Retry-After).
	{37, "when a retried delivery goes again", exec(`ALTER TABLE deliveries ADD COLUMN next_attempt_at BIGINT`)},
	// 38: end-to-end encryption in Matrix rooms. Keys belong to a device,
	// so the bot's device is kept with its account, with whether it holds
	// keys (or why not) and what the set-up made of its cross-signing (the
	// master key the operator verifies, or why there is none). The olm and megolm state itself is in
	// mautrix's own tables (crypto_*, counted by crypto_version, and the
	// room state it reads, mx_*, by mx_version), made by the Matrix
	// bridge when it starts: they are mautrix's schema, upgraded by
	// mautrix, in this same file so that backups hold them.
	{38, "the Matrix bot's device and cross-signing", exec(
		`ALTER TABLE matrix_accounts ADD COLUMN device_id TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE matrix_accounts ADD COLUMN master_key TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE matrix_accounts ADD COLUMN cross_signing TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE matrix_accounts ADD COLUMN encryption TEXT NOT NULL DEFAULT ''`)},
	// 39: a board's own look: the accent its publishers chose (#rrggbb,
	// '' for one derived from its name) and its logo (an uploaded
	// picture's name, '' for none).
	{39, "a board's accent colour and logo", exec(
		`ALTER TABLE boards ADD COLUMN accent TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE boards ADD COLUMN logo TEXT NOT NULL DEFAULT ''`)},
	// 40: the services an association runs (its mail, its cloud), each
	// with a short page whose state comes from the outage notices that
	// name it by its slug.
	{40, "the services a board presents", exec(`CREATE TABLE IF NOT EXISTS hosted_services (
		board_id BIGINT NOT NULL REFERENCES boards(id),
		slug TEXT NOT NULL,
		name TEXT NOT NULL,
		description TEXT NOT NULL DEFAULT '',
		address TEXT NOT NULL DEFAULT '',
		logo TEXT NOT NULL DEFAULT '',
		position INTEGER NOT NULL DEFAULT 0,
		created_at BIGINT NOT NULL,
		updated_at BIGINT NOT NULL,
		PRIMARY KEY (board_id, slug))`)},
	// 41: ActivityPub relays a board subscribes to: where its posts go
	// once the relay accepts, and the Follow's id, which the relay's
	// Accept or Reject names and the Undo repeats.
	{41, "ActivityPub relays", exec(`CREATE TABLE IF NOT EXISTS relays (
		id INTEGER PRIMARY KEY,
		board_id BIGINT NOT NULL REFERENCES boards(id),
		url TEXT NOT NULL,
		inbox TEXT NOT NULL,
		actor TEXT NOT NULL DEFAULT '',
		follow_id TEXT NOT NULL UNIQUE,
		state TEXT NOT NULL,
		created_at BIGINT NOT NULL,
		updated_at BIGINT NOT NULL,
		UNIQUE (board_id, url))`)},
	// 42: Discourse forums (issue 26). A board's forum, its API key a
	// secret like the other destinations'; the topic each announcement
	// became on a forum (keyed by the forum too: a new forum gets new
	// topics); and every effect done, keyed by its origin (the outbox
	// entry's version and verb), so that a retry, a restart or a duplicate
	// job does nothing twice.
	{42, "Discourse forums, their topics and the effects done", exec(
		`CREATE TABLE IF NOT EXISTS discourse_setups (
			board_id BIGINT PRIMARY KEY,
			url TEXT NOT NULL,
			api_key TEXT NOT NULL,
			username TEXT NOT NULL,
			category TEXT NOT NULL,
			category_id BIGINT NOT NULL DEFAULT 0,
			on_delete TEXT NOT NULL DEFAULT 'unlist',
			replies INTEGER NOT NULL DEFAULT 0,
			tags_off INTEGER NOT NULL DEFAULT 0)`,
		`CREATE TABLE IF NOT EXISTS discourse_topics (
			announcement_id BIGINT NOT NULL,
			forum TEXT NOT NULL,
			board_id BIGINT NOT NULL,
			topic_id BIGINT NOT NULL,
			post_id BIGINT NOT NULL,
			title_suffix TEXT NOT NULL DEFAULT '',
			created_at BIGINT NOT NULL,
			PRIMARY KEY (announcement_id, forum))`,
		`CREATE TABLE IF NOT EXISTS discourse_effects (
			announcement_id BIGINT NOT NULL,
			forum TEXT NOT NULL,
			origin TEXT NOT NULL,
			done_at BIGINT NOT NULL,
			PRIMARY KEY (announcement_id, forum, origin))`)},
	// 43: the store's version, which the database raises itself on every
	// write to what the public pages and documents show, whoever writes
	// (the server, a delivery worker, the CLI): the page cache keeps a
	// rendering while it stays the same (issue 27). Deliveries, the
	// queue, sessions and the destinations' bookkeeping are left out:
	// a fan-out must not empty the cache it is read beside.
	{43, "the version of what the public pages show", exec(publicVersionSQL()...)},
	// 44: what a room's message shows as last sent (a hash), so that a
	// refresh that changes nothing there (a vote for a full role, which
	// goes out again for the fediverse voter's server) edits nothing.
	{44, "what a Matrix message shows", func(ctx context.Context, tx *sql.Tx) error {
		return addColumn(ctx, tx, "matrix_events", "shown", "TEXT NOT NULL DEFAULT ''")
	}},
	// 45: the profile (the actor) each board's followers were last sent,
	// by its hash, so that a change from anywhere (the editor, the API,
	// the CLI on the data folder, serve stopped) reaches them once.
	{45, "the profile followers were sent", exec(`CREATE TABLE IF NOT EXISTS profiles_sent (
		board_id BIGINT PRIMARY KEY REFERENCES boards(id) ON DELETE CASCADE,
		hash TEXT NOT NULL,
		sent_at BIGINT NOT NULL)`)},
}

// publicTables are the tables whose rows a public page, feed or
// ActivityPub document shows or counts. A table only ever written in the
// same transaction as one of these (an announcement's tags, its outbox
// rows and pictures; the ledger of answers beside its sign-ups) needs no
// trigger of its own: every trigger costs each write and every new
// connection's reading of the schema.
var publicTables = []string{"announcements", "boards", "followers", "hosted_services", "signups", "interactions", "blocks"}

func publicVersionSQL() []string {
	stmts := []string{
		`CREATE TABLE IF NOT EXISTS public_version (id INTEGER PRIMARY KEY CHECK (id = 1), n BIGINT NOT NULL)`,
		`INSERT OR IGNORE INTO public_version (id, n) VALUES (1, 0)`,
	}
	for _, t := range publicTables {
		for _, op := range []string{"INSERT", "UPDATE", "DELETE"} {
			stmts = append(stmts, fmt.Sprintf(`CREATE TRIGGER IF NOT EXISTS public_version_%s_%s AFTER %s ON %s BEGIN UPDATE public_version SET n = n + 1 WHERE id = 1; END`,
				t, strings.ToLower(op), op, t))
		}
	}
	return stmts
}

// Known is the schema version this release writes.
func Known() int { return len(steps) }

// NewerSchemaError is a store written by a later release: this one would
// not know what its tables mean, and could show what the later one keeps
// private (a newer status, a newer rule), so it does not start.
type NewerSchemaError struct {
	Found, Known int
	WrittenBy    string // the release that wrote it, when it said
}

func (e *NewerSchemaError) Error() string {
	by := "a newer Crieur"
	if e.WrittenBy != "" {
		by = "crieur " + e.WrittenBy
	}
	// The way back is the copy the upgrade took (README, "Upgrading and
	// rolling back"): whoever reads this is often rolling back.
	return fmt.Sprintf("this data was written by %s (schema %d; this release knows up to %d): run that release or a later one, "+
		"or, to roll back, restore the copy the upgrade took before it: the newest backups/crieur-schema%d-*.db in the data folder, "+
		"copied over crieur.db while Crieur is stopped (README: Upgrading and rolling back)", by, e.Found, e.Known, e.Known)
}

// OlderSchemaError is a store this release would migrate, met by a command
// that must not change it (crieur check).
type OlderSchemaError struct{ Found, Known int }

func (e *OlderSchemaError) Error() string {
	return fmt.Sprintf("the store is at schema %d and this release at %d: back it up (crieur backup), then start crieur serve once to migrate it", e.Found, e.Known)
}

// Schema says where db stands: nil when it is this release's schema, an
// *OlderSchemaError or a *NewerSchemaError otherwise. It changes nothing.
func Schema(ctx context.Context, db *sql.DB) error {
	done, err := Version(ctx, db)
	if err != nil {
		return err
	}
	switch {
	case done > len(steps):
		return &NewerSchemaError{Found: done, Known: len(steps), WrittenBy: writtenBy(ctx, db)}
	case done < len(steps):
		return &OlderSchemaError{Found: done, Known: len(steps)}
	}
	return nil
}

// writtenBy is the release a store says last wrote it ("" if it does not).
func writtenBy(ctx context.Context, db *sql.DB) string {
	var v string
	_ = db.QueryRowContext(ctx, `SELECT value FROM meta WHERE name = 'written_by'`).Scan(&v)
	return v
}

// Stamp records release as the one writing db (after Migrate).
func Stamp(ctx context.Context, db *sql.DB, release string) error {
	if _, err := db.ExecContext(ctx, `INSERT INTO meta (name, value) VALUES ('written_by', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value`, release); err != nil {
		return fmt.Errorf("record the release writing the store: %w", err)
	}
	return nil
}

// Version is db's schema version.
func Version(ctx context.Context, db *sql.DB) (int, error) {
	var v int
	if err := db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// Migrate brings db to the schema this release knows, one step per
// transaction, each logged; it refuses a newer schema. log may be nil.
func Migrate(ctx context.Context, db *sql.DB, log *slog.Logger) error {
	done, err := Version(ctx, db)
	if err != nil {
		return err
	}
	if done > len(steps) {
		return &NewerSchemaError{Found: done, Known: len(steps), WrittenBy: writtenBy(ctx, db)}
	}
	for _, st := range steps[done:] {
		if err := apply(ctx, db, st); err != nil {
			return err
		}
		if log != nil {
			log.InfoContext(ctx, "store migrated", "schema", st.version, "change", st.what)
		}
	}
	return nil
}

func apply(ctx context.Context, db *sql.DB, st step) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := st.up(ctx, tx); err != nil {
		return fmt.Errorf("migrate store to version %d (%s): %w", st.version, st.what, err)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, st.version)); err != nil {
		return fmt.Errorf("migrate store to version %d: %w", st.version, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate store to version %d: %w", st.version, err)
	}
	return nil
}

// addColumn adds a column to a table an earlier release may have made
// without it.
func addColumn(ctx context.Context, tx *sql.Tx, table, column, decl string) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?`, table, column).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, fmt.Sprintf(`ALTER TABLE %s ADD COLUMN %s %s`, table, column, decl))
	return err
}

// baseSchema is the first schema, as it was before versions were counted.
var baseSchema = []string{
	`CREATE TABLE IF NOT EXISTS boards (
		id INTEGER PRIMARY KEY,
		name TEXT NOT NULL UNIQUE,
		display_name TEXT NOT NULL,
		summary TEXT NOT NULL DEFAULT '',
		private_key_pem TEXT NOT NULL,
		public_key_pem TEXT NOT NULL,
		created_at BIGINT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS tokens (
		id INTEGER PRIMARY KEY,
		hash TEXT NOT NULL UNIQUE,
		board_id BIGINT REFERENCES boards(id),
		label TEXT NOT NULL DEFAULT '',
		created_at BIGINT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS announcements (
		id INTEGER PRIMARY KEY,
		board_id BIGINT NOT NULL REFERENCES boards(id),
		kind TEXT NOT NULL,
		title TEXT NOT NULL,
		body TEXT NOT NULL,
		body_html TEXT NOT NULL,
		tags TEXT NOT NULL,
		content_warning TEXT NOT NULL,
		language TEXT NOT NULL,
		details TEXT NOT NULL,
		version INTEGER NOT NULL,
		created_at BIGINT NOT NULL,
		updated_at BIGINT NOT NULL,
		deleted_at BIGINT)`,
	`CREATE INDEX IF NOT EXISTS announcements_board ON announcements(board_id, id)`,
	`CREATE TABLE IF NOT EXISTS outbox (
		id INTEGER PRIMARY KEY,
		board_id BIGINT NOT NULL REFERENCES boards(id),
		announcement_id BIGINT NOT NULL REFERENCES announcements(id),
		verb TEXT NOT NULL,
		version INTEGER NOT NULL,
		created_at BIGINT NOT NULL,
		dispatched_at BIGINT)`,
	`CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(dispatched_at, id)`,
	`CREATE TABLE IF NOT EXISTS idempotency_keys (
		board_id BIGINT NOT NULL REFERENCES boards(id),
		idem_key TEXT NOT NULL,
		request_hash TEXT NOT NULL,
		announcement_id BIGINT NOT NULL REFERENCES announcements(id),
		created_at BIGINT NOT NULL,
		PRIMARY KEY (board_id, idem_key))`,
	`CREATE TABLE IF NOT EXISTS followers (
		board_id BIGINT NOT NULL REFERENCES boards(id),
		actor_id TEXT NOT NULL,
		inbox TEXT NOT NULL,
		shared_inbox TEXT NOT NULL,
		created_at BIGINT NOT NULL,
		PRIMARY KEY (board_id, actor_id))`,
	`CREATE TABLE IF NOT EXISTS deliveries (
		outbox_id BIGINT NOT NULL,
		target TEXT NOT NULL,
		state TEXT NOT NULL,
		attempts INTEGER NOT NULL,
		last_error TEXT NOT NULL,
		updated_at BIGINT NOT NULL,
		PRIMARY KEY (outbox_id, target))`,
	`CREATE TABLE IF NOT EXISTS sessions (
		hash TEXT PRIMARY KEY,
		token_id BIGINT NOT NULL REFERENCES tokens(id) ON DELETE CASCADE,
		expires_at BIGINT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS interactions (
		id INTEGER PRIMARY KEY,
		board_id BIGINT NOT NULL REFERENCES boards(id),
		announcement_id BIGINT NOT NULL REFERENCES announcements(id),
		kind TEXT NOT NULL,
		actor TEXT NOT NULL,
		activity_id TEXT NOT NULL UNIQUE,
		content TEXT NOT NULL,
		created_at BIGINT NOT NULL)`,
}

// destinationTables are the tables of the delivery queue, the Matrix,
// Mattermost and e-mail destinations and the readiness probe, as their
// packages made them up to release 23.
var destinationTables = []string{
	`CREATE TABLE IF NOT EXISTS queue_jobs (
		seq INTEGER PRIMARY KEY,
		id TEXT NOT NULL UNIQUE,
		kind TEXT NOT NULL,
		outbox_id BIGINT NOT NULL,
		target TEXT NOT NULL,
		payload BLOB NOT NULL,
		state TEXT NOT NULL,
		attempts INTEGER NOT NULL,
		run_at BIGINT NOT NULL,
		leased_until BIGINT NOT NULL,
		last_error TEXT NOT NULL,
		created_at BIGINT NOT NULL,
		updated_at BIGINT NOT NULL)`,
	`CREATE INDEX IF NOT EXISTS queue_jobs_due ON queue_jobs(state, run_at)`,
	`CREATE TABLE IF NOT EXISTS matrix_accounts (
		board_id BIGINT PRIMARY KEY,
		homeserver TEXT NOT NULL,
		user_id TEXT NOT NULL,
		access_token TEXT NOT NULL,
		rooms TEXT NOT NULL,
		msgtype TEXT NOT NULL,
		allowed_inviters TEXT NOT NULL,
		next_batch TEXT NOT NULL DEFAULT '',
		filter_id TEXT NOT NULL DEFAULT '',
		updated_at BIGINT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS matrix_events (
		announcement_id BIGINT NOT NULL,
		room TEXT NOT NULL,
		room_id TEXT NOT NULL,
		event_id TEXT NOT NULL,
		PRIMARY KEY (announcement_id, room))`,
	`CREATE INDEX IF NOT EXISTS matrix_events_event ON matrix_events(event_id)`,
	// Every edit Crieur sent, so a deletion redacts them all: redacting
	// the original leaves its m.replace events readable.
	`CREATE TABLE IF NOT EXISTS matrix_edits (
		announcement_id BIGINT NOT NULL,
		room TEXT NOT NULL,
		event_id TEXT NOT NULL,
		PRIMARY KEY (announcement_id, room, event_id))`,
	// Rooms the bot was kicked or banned from: the room's decision,
	// respected until a new invite or a new set-up.
	`CREATE TABLE IF NOT EXISTS matrix_removed (
		board_id BIGINT NOT NULL,
		room TEXT NOT NULL,
		reason TEXT NOT NULL,
		PRIMARY KEY (board_id, room))`,
	// The poll of a call for volunteers in each room, whose responses
	// are sign-ups.
	`CREATE TABLE IF NOT EXISTS matrix_polls (
		announcement_id BIGINT NOT NULL,
		board_id BIGINT NOT NULL,
		room TEXT NOT NULL,
		room_id TEXT NOT NULL,
		event_id TEXT NOT NULL,
		ended INTEGER NOT NULL DEFAULT 0,
		PRIMARY KEY (announcement_id, room))`,
	`CREATE INDEX IF NOT EXISTS matrix_polls_event ON matrix_polls(event_id)`,
	// Each picture posted with an announcement (key: the picture and
	// its description), to take it back when it goes.
	`CREATE TABLE IF NOT EXISTS matrix_images (
		announcement_id BIGINT NOT NULL,
		room TEXT NOT NULL,
		image_key TEXT NOT NULL,
		event_id TEXT NOT NULL,
		PRIMARY KEY (announcement_id, room, image_key))`,
	// Pictures already in a homeserver's media repository.
	`CREATE TABLE IF NOT EXISTS matrix_media (
		homeserver TEXT NOT NULL,
		name TEXT NOT NULL,
		mxc TEXT NOT NULL,
		PRIMARY KEY (homeserver, name))`,
	`CREATE TABLE IF NOT EXISTS matrix_room_status (
		board_id BIGINT NOT NULL,
		room TEXT NOT NULL,
		status TEXT NOT NULL,
		updated_at BIGINT NOT NULL,
		PRIMARY KEY (board_id, room))`,
	`CREATE TABLE IF NOT EXISTS mattermost_hooks (
		board_id BIGINT NOT NULL,
		name TEXT NOT NULL,
		url TEXT NOT NULL,
		channel TEXT NOT NULL DEFAULT '',
		username TEXT NOT NULL DEFAULT '',
		icon_url TEXT NOT NULL DEFAULT '',
		PRIMARY KEY (board_id, name))`,
	`CREATE TABLE IF NOT EXISTS email_setups (
		board_id BIGINT PRIMARY KEY,
		setup TEXT NOT NULL,
		password TEXT NOT NULL DEFAULT '')`,
	// What the readiness probe writes to know the store takes writes.
	`CREATE TABLE IF NOT EXISTS health (id INTEGER PRIMARY KEY, checked_at BIGINT NOT NULL)`,
}
