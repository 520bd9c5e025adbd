package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"crieur/board"
	"crieur/board/api"
	"crieur/board/api/client"
	"crieur/board/locale"
	"crieur/board/markdown"
	"crieur/board/media"
	"crieur/board/store"
	"crieur/cmd/crieur/app"
	"crieur/config"
)

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func envValue(env []string, name string) string {
	for _, kv := range env {
		if v, ok := cutEnv(kv, name); ok {
			return v
		}
	}
	return ""
}

func parseTimeFlag(name, v string) (*time.Time, error) {
	if v == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return nil, fmt.Errorf("--%s: %q is not an RFC 3339 time like 2026-12-05T14:00:00+01:00", name, v)
	}
	return &t, nil
}

// post publishes an announcement through the admin API, so the CLI obeys
// the same validation and idempotency as every other editor.
func post(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer, env []string) error {
	fs := flag.NewFlagSet("post", flag.ContinueOnError)
	fs.SetOutput(stdout) // --help and mistakes are read where the command answers
	server := fs.String("server", "http://127.0.0.1:8080", "Crieur server URL (or CRIEUR_SERVER)")
	boardName := fs.String("board", "news", "board to post on (or CRIEUR_BOARD)")
	kind := fs.String("kind", "news", "news, event, call, outage, campaign or training")
	title := fs.String("title", "", "title (required)")
	cw := fs.String("cw", "", "content warning")
	lang := fs.String("lang", "", "language tag, e.g. fr")
	idem := fs.String("idempotency-key", "", "makes retrying this command safe: the same key never posts twice")
	var tags, roles, images, alts stringList
	fs.Var(&tags, "tag", "hashtag (repeatable)")
	fs.Var(&images, "image", "a picture to show with it: JPEG, PNG, GIF or WebP file (repeatable, at most 4)")
	fs.Var(&alts, "alt", "the description of each --image, in the same order, for people who cannot see it")
	decorative := fs.Bool("decorative", false, "the pictures without an --alt are decorative (they need no description)")
	start := fs.String("start", "", "event start (RFC 3339)")
	end := fs.String("end", "", "event end (RFC 3339)")
	place := fs.String("place", "", "event place")
	eventURL := fs.String("url", "", "event link")
	fs.Var(&roles, "role", "call for volunteers: NAME:PLACES (repeatable)")
	deadline := fs.String("deadline", "", "call: answer before; campaign: until (RFC 3339)")
	contact := fs.String("contact", "", "call: how to answer")
	goal := fs.Float64("goal", 0, "campaign: the amount asked")
	currency := fs.String("currency", "EUR", "campaign: ISO 4217 currency code")
	raisedSoFar := fs.Float64("raised", 0, "campaign: raised so far")
	link := fs.String("link", "", "campaign: where to give (https://…)")
	taxNote := fs.String("tax-note", "", "campaign: e.g. '66 % deductible in France'")
	per := fs.String("per", "", "campaign: week or month to count recurring income (a Liberapay link counts per week by itself)")
	stillWelcome := fs.Bool("still-welcome", false, "campaign: keep asking to give once it ended")
	seats := fs.Int("seats", 0, "training: how many people can come")
	waitlist := fs.Bool("waitlist", false, "call or training: keep a waiting list when full")
	level := fs.String("level", "", "training: the level, e.g. beginners")
	bring := fs.String("bring", "", "training: what to bring, e.g. a laptop")
	online := fs.String("online", "", "training: the link to join online (https://…)")
	reminder := fs.Bool("reminder", false, "training: post a reminder the day before (and a direct note to registrants on the fediverse)")
	service := fs.String("service", "", "outage: the service")
	from := fs.String("from", "", "outage: start (RFC 3339)")
	until := fs.String("until", "", "outage: expected end (RFC 3339)")
	pin := fs.Bool("pin", false, "pin it: shown first on the board and on its fediverse profile")
	draft := fs.Bool("draft", false, "save it as a draft: sent nowhere until 'crieur edit --publish ID'")
	publishAt := fs.String("publish-at", "", "publish it at this time (RFC 3339) instead of now")
	expiresAt := fs.String("expires-at", "", "take it down at this time (RFC 3339): off the board and feeds, followers told it is over")
	preview := fs.Bool("preview", false, "show how the web page, Mastodon and Matrix will show it, and post nothing")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: crieur post [options] [FILE|-]\nThe body is Markdown from FILE or standard input. The token comes from CRIEUR_TOKEN.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	token, err := apiToken(fs, env, server)
	if err != nil {
		return err
	}
	body, err := readBody(fs.Arg(0), stdin)
	if err != nil {
		return err
	}
	d := board.Draft{Kind: board.Kind(*kind), Title: *title, Body: string(body), Tags: tags, ContentWarning: *cw, Language: *lang, KeepDraft: *draft}
	if d.PublishAt, err = parseTimeFlag("publish-at", *publishAt); err != nil {
		return err
	}
	if d.ExpiresAt, err = parseTimeFlag("expires-at", *expiresAt); err != nil {
		return err
	}
	// A detail of another kind would be dropped without a word: refuse it
	// before anything is posted.
	for _, k := range []struct {
		kind  board.Kind
		flags []string
	}{{board.KindEvent, []string{"start", "end", "place", "url"}}, {board.KindCall, []string{"role", "contact"}}, {board.KindOutage, []string{"service", "from", "until"}},
		{board.KindCampaign, []string{"goal", "raised", "link", "tax-note", "per", "still-welcome"}}, {board.KindTraining, []string{"seats", "level", "bring", "online", "reminder"}}} {
		for _, f := range k.flags {
			if k.kind != d.Kind && flagSet(fs, f) && !(k.kind == board.KindEvent && d.Kind == board.KindTraining) {
				if k.kind == board.KindEvent { // a training has a time and a place too
					return fmt.Errorf("--%s is for --kind event or training, but the kind is %s: add --kind event or --kind training (nothing was posted)", f, d.Kind)
				}
				return fmt.Errorf("--%s is for --kind %s, but the kind is %s: add --kind %s (nothing was posted)", f, k.kind, d.Kind, k.kind)
			}
		}
	}
	if flagSet(fs, "deadline") && d.Kind != board.KindCall && d.Kind != board.KindCampaign {
		return fmt.Errorf("--deadline is for --kind call or campaign, but the kind is %s (nothing was posted)", d.Kind)
	}
	if flagSet(fs, "waitlist") && d.Kind != board.KindCall && d.Kind != board.KindTraining {
		return fmt.Errorf("--waitlist is for --kind call or training, but the kind is %s (nothing was posted)", d.Kind)
	}
	switch d.Kind {
	case board.KindEvent, board.KindTraining:
		st, err := parseTimeFlag("start", *start)
		if err != nil {
			return err
		}
		en, err := parseTimeFlag("end", *end)
		if err != nil {
			return err
		}
		d.Event = &board.Event{End: en, Place: *place, URL: *eventURL}
		if st != nil {
			d.Event.Start = *st
		}
		if d.Kind == board.KindTraining {
			d.Training = &board.Training{Seats: *seats, Waitlist: *waitlist, Level: *level, Bring: *bring, Online: *online, Reminder: *reminder}
		}
	case board.KindCall:
		dl, err := parseTimeFlag("deadline", *deadline)
		if err != nil {
			return err
		}
		d.Call = &board.Call{Deadline: dl, Contact: *contact, Waitlist: *waitlist}
		for _, r := range roles {
			name, n, ok := strings.Cut(r, ":")
			places, err := strconv.Atoi(n)
			if !ok || err != nil {
				return fmt.Errorf("--role %q: write NAME:PLACES, e.g. cook:2", r)
			}
			d.Call.Roles = append(d.Call.Roles, board.Role{Name: name, Places: places})
		}
	case board.KindCampaign:
		dl, err := parseTimeFlag("deadline", *deadline)
		if err != nil {
			return err
		}
		d.Campaign = &board.Campaign{Goal: *goal, Currency: *currency, Raised: *raisedSoFar, Deadline: dl, Link: *link, TaxNote: *taxNote, Per: *per, StillWelcome: *stillWelcome}
	case board.KindOutage:
		fr, err := parseTimeFlag("from", *from)
		if err != nil {
			return err
		}
		un, err := parseTimeFlag("until", *until)
		if err != nil {
			return err
		}
		d.Outage = &board.Outage{Service: *service, Until: un}
		if fr != nil {
			d.Outage.From = *fr
		}
	}
	if len(alts) > len(images) {
		return fmt.Errorf("%d --alt for %d --image: give one description per picture, in the same order (nothing was posted)", len(alts), len(images))
	}
	if len(alts) < len(images) && !*decorative {
		return fmt.Errorf("--image %s has no --alt: describe it for people who cannot see it, or add --decorative (nothing was posted)", images[len(alts)])
	}
	for i, path := range images {
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("--image: %w", err)
		}
		id, err := uploadPicture(ctx, *server, token, *boardName, path, data)
		if err != nil {
			return fmt.Errorf("--image %s: %w (nothing was posted)", path, err)
		}
		im := board.Image{ID: id, Decorative: i >= len(alts)}
		if i < len(alts) {
			im.Alt = alts[i]
		}
		d.Images = append(d.Images, im)
	}
	payload, err := json.Marshal(d)
	if err != nil {
		return err
	}
	if *preview {
		return showPreview(ctx, stdout, *server, token, "/api/v1/boards/"+*boardName+"/preview", payload)
	}
	headers := map[string]string{}
	if *idem != "" {
		headers["Idempotency-Key"] = *idem
	}
	resp, respBody, err := callAPI(ctx, *server, token, http.MethodPost, "/api/v1/boards/"+*boardName+"/announcements", payload, headers)
	if err != nil {
		return fmt.Errorf("server refused the announcement: %w", err)
	}
	var a board.Announcement
	if err := json.Unmarshal(respBody, &a); err != nil {
		return fmt.Errorf("unexpected answer: %w", err)
	}
	verb := "posted"
	switch {
	case resp.Header.Get("Idempotent-Replayed") == "true":
		verb = "already posted"
	case a.Status == board.StatusDraft:
		verb = "saved draft (sent nowhere yet)"
	case a.Status == board.StatusScheduled:
		verb = "scheduled for " + a.PublishAt.Format(time.RFC3339)
	case a.Status == board.StatusPending:
		verb = "asked to publish (another publisher of the board approves it before it goes out)"
	}
	fmt.Fprintf(stdout, "%s announcement %d on %s: %s\n", verb, a.ID, a.Board, a.Title)
	for _, w := range a.Warnings {
		fmt.Fprintf(stdout, "note: %s\n", w)
	}
	if *pin {
		if _, _, err := callAPI(ctx, *server, token, http.MethodPut, fmt.Sprintf("/api/v1/boards/%s/announcements/%d/pin", *boardName, a.ID), nil, nil); err != nil {
			return fmt.Errorf("posted, but could not pin it: %w", err)
		}
		fmt.Fprintf(stdout, "pinned announcement %d\n", a.ID)
	}
	return nil
}

// uploadPicture sends a picture to the board and returns its id.
func uploadPicture(ctx context.Context, server, token, boardName, path string, data []byte) (string, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", filepath.Base(path))
	if err != nil {
		return "", err
	}
	if _, err := fw.Write(data); err != nil {
		return "", err
	}
	if err := mw.Close(); err != nil {
		return "", err
	}
	_, out, err := callAPI(ctx, server, token, http.MethodPost, "/api/v1/boards/"+boardName+"/media", body.Bytes(), map[string]string{"Content-Type": mw.FormDataContentType()})
	if err != nil {
		return "", err
	}
	var up struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(out, &up); err != nil || up.ID == "" {
		return "", fmt.Errorf("unexpected answer: %s", out)
	}
	return up.ID, nil
}

// showPreview prints what each destination would show of a draft.
func showPreview(ctx context.Context, stdout io.Writer, server, token, path string, payload []byte) error {
	_, body, err := callAPI(ctx, server, token, http.MethodPost, path, payload, nil)
	if err != nil {
		return fmt.Errorf("preview: %w", err)
	}
	var out struct {
		Announcement board.Announcement `json:"announcement"`
		Previews     []board.Preview    `json:"previews"`
		Warnings     []string           `json:"warnings"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return fmt.Errorf("unexpected answer: %w", err)
	}
	fmt.Fprintf(stdout, "Preview (nothing was posted): %s\n", out.Announcement.Title)
	for _, p := range out.Previews {
		fmt.Fprintf(stdout, "\n== %s ==\n", p.Channel)
		if p.Warning != "" {
			fmt.Fprintf(stdout, "[content warning: %s]\n", p.Warning)
		}
		if p.Text != "" {
			fmt.Fprintln(stdout, p.Text)
		} else {
			fmt.Fprintln(stdout, p.HTML)
		}
	}
	for _, w := range out.Warnings {
		fmt.Fprintf(stdout, "note: %s\n", w)
	}
	return nil
}

// apiToken reads the admin token from CRIEUR_TOKEN, and lets
// CRIEUR_SERVER stand for --server and CRIEUR_BOARD for --board when the
// flag is not given: an association whose board is not "news" sets it
// once rather than on every command (a trial's every command failed with
// "no board news"). A --board meaning "every board" when left out (token
// create, deliveries) keeps that meaning.
func apiToken(fs *flag.FlagSet, env []string, server *string) (string, error) {
	token := envValue(env, "CRIEUR_TOKEN")
	if token == "" {
		return "", errors.New("set CRIEUR_TOKEN to an admin token (crieur token create makes one)")
	}
	if v := envValue(env, "CRIEUR_SERVER"); v != "" && !flagSet(fs, "server") {
		*server = v
	}
	if f := fs.Lookup("board"); f != nil && f.DefValue != "" && !flagSet(fs, "board") {
		if v := envValue(env, "CRIEUR_BOARD"); v != "" {
			if err := f.Value.Set(v); err != nil {
				return "", fmt.Errorf("CRIEUR_BOARD: %w", err)
			}
		}
	}
	return token, nil
}

// callAPI calls the admin API of server with token (the shared client);
// an answer of 300 or more is an error that says what the server said,
// field by field.
func callAPI(ctx context.Context, server, token, method, path string, body []byte, headers map[string]string) (*http.Response, []byte, error) {
	var b any
	if body != nil {
		b = body
	}
	return client.New(server, token).Do(ctx, method, path, b, headers)
}

// pinCmd pins an announcement (or with --unpin stops pinning it).
func pinCmd(ctx context.Context, args []string, stdout io.Writer, env []string) error {
	fs := flag.NewFlagSet("pin", flag.ContinueOnError)
	fs.SetOutput(stdout) // --help and mistakes are read where the command answers
	api := addAPIFlags(fs)
	unpin := fs.Bool("unpin", false, "stop pinning it")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: crieur pin [--unpin] [--board NAME] ID\nPinned announcements show first on the board and on its fediverse profile. The token comes from CRIEUR_TOKEN.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	id, token, err := api.target(fs, env, "crieur pin 12")
	if err != nil {
		return err
	}
	method, done := http.MethodPut, "pinned"
	if *unpin {
		method, done = http.MethodDelete, "unpinned"
	}
	if _, _, err := callAPI(ctx, *api.server, token, method, api.path(id)+"/pin", nil, nil); err != nil {
		return fmt.Errorf("%s announcement %d: %w", strings.TrimSuffix(done, "ned"), id, err)
	}
	fmt.Fprintf(stdout, "%s announcement %d on %s\n", done, id, *api.board)
	return nil
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// openDB opens the data directory's database. Unless create, it must
// exist already: a mistyped --data must not answer from a fresh, empty one.
func openDB(cfg config.Config, create bool) (*sql.DB, error) {
	path := cfg.DatabasePath()
	if _, err := os.Stat(path); !create && errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no Crieur database at %s: check --data (data_dir); 'crieur serve' or 'crieur board create' makes one", path)
	}
	return store.OpenDB(path)
}

// openService opens the store of the data directory and the service on
// it, for the commands an operator runs on the server itself.
func openService(ctx context.Context, fs *flag.FlagSet, args []string, env []string, create bool) (*board.Service, *store.Store, func(), error) {
	cfg, err := loadConfig(fs, args, env)
	if err != nil {
		return nil, nil, nil, err
	}
	return openServiceWith(ctx, cfg, create)
}

// openServiceWith is openService for a command that reads the
// configuration itself (board create: keys_dir).
func openServiceWith(ctx context.Context, cfg config.Config, create bool) (*board.Service, *store.Store, func(), error) {
	db, err := openDB(cfg, create)
	if err != nil {
		return nil, nil, nil, err
	}
	// A command run on a store an earlier release wrote upgrades it as
	// serve would: copied first, so the way back is there too.
	if _, err := store.Upgrade(ctx, db, store.CopyOptions{Dir: cfg.BackupsDir(), Keep: cfg.UpgradeCopies}, nil); err != nil {
		db.Close()
		return nil, nil, nil, board.DiagnoseStorage(err, cfg.DataDir)
	}
	st, err := store.New(ctx, db)
	if err != nil {
		db.Close()
		return nil, nil, nil, err
	}
	// Pictures: a board's logo set from here goes through the same
	// pipeline as an upload to the server.
	svc := board.NewService(board.Options{Store: st, Markup: markdown.New(), Notices: locale.Notices{}, TimeZone: cfg.Timezone,
		Pictures: media.Dir(cfg.MediaDir())})
	return svc, st, func() { db.Close() }, nil
}

// leadingArg splits off the argument a command takes before its flags (a
// board's name): Go's flag parsing stops at the first word that is not a
// flag, so flags given before it would be read as the name, or the name
// as a stray word. A flag first is named in the error.
func leadingArg(args []string, what, usage string) (arg string, rest []string, err error) {
	if len(args) == 0 {
		return "", nil, errors.New(usage)
	}
	if strings.HasPrefix(args[0], "-") {
		return "", nil, fmt.Errorf("%s comes first, then the flags (%s came before it)\n%s", what, args[0], usage)
	}
	return args[0], args[1:], nil
}

func boardCmd(ctx context.Context, args []string, stdout io.Writer, env []string) error {
	if len(args) == 0 {
		return errors.New("usage: crieur board create NAME | crieur board set NAME | crieur board list")
	}
	fs := flag.NewFlagSet("board "+args[0], flag.ContinueOnError)
	fs.SetOutput(stdout) // --help and mistakes are read where the command answers
	switch args[0] {
	case "create", "set":
		display := fs.String("display-name", "", "name shown to followers")
		summary := fs.String("summary", "", "a line about the board, shown on its page and profile")
		lang := fs.String("language", "", "default language of its pages: en or fr")
		zone := fs.String("time-zone", "", "IANA zone its events are in, such as Europe/Paris (default: timezone in the config)")
		approval := fs.Bool("approval", false, "a second publisher approves each publication (--approval=false: one is enough)")
		accent := fs.String("accent", "", "the board's colour, #rrggbb, dark enough for white text on it (WCAG AA, 4.5:1); '' for one derived from its name")
		logoPath := fs.String("logo", "", "a picture file (JPEG, PNG, GIF, WebP) for its avatar, favicon and link previews; '' to remove it")
		name, rest, err := leadingArg(args[1:], "the board's NAME", fmt.Sprintf("usage: crieur board %s NAME [--display-name TEXT] [--summary TEXT] [--language en|fr] [--time-zone ZONE] [--approval] [--accent '#rrggbb'] [--logo FILE]", args[0]))
		if err != nil {
			return err
		}
		if !board.ValidName(name) {
			return fmt.Errorf("board name %q: use 1-30 characters of a-z, 0-9 and _", name)
		}
		cfg, err := loadConfig(fs, rest, env)
		if err != nil {
			return err
		}
		svc, st, done, err := openServiceWith(ctx, cfg, args[0] == "create")
		if err != nil {
			return err
		}
		defer done()
		settings := func(b board.Board) board.Board {
			if flagSet(fs, "display-name") {
				b.DisplayName = *display
			}
			if flagSet(fs, "summary") {
				b.Summary = *summary
			}
			if flagSet(fs, "language") {
				b.Language = *lang
			}
			if flagSet(fs, "time-zone") {
				b.TimeZone = *zone
			}
			if flagSet(fs, "approval") {
				b.Approval = *approval
			}
			if flagSet(fs, "accent") {
				b.AccentColour = *accent
			}
			return b
		}
		var logo []byte
		if flagSet(fs, "logo") && *logoPath != "" {
			if logo, err = os.ReadFile(*logoPath); err != nil {
				return fmt.Errorf("logo: %w", err)
			}
			// Read before anything is made or changed: a file that is not
			// a picture leaves no half-made board.
			if _, err := media.Process(logo); err != nil {
				return fmt.Errorf("logo %s: %w", *logoPath, err)
			}
		}
		var b board.Board
		if args[0] == "create" {
			// Refused settings must not leave a half-made board behind.
			if _, err := board.CheckBoard(settings(board.Board{Name: name, DisplayName: name})); err != nil {
				return err
			}
			var created bool
			if b, created, err = svc.EnsureBoard(ctx, name, *display); err != nil {
				return err
			}
			if !created {
				return fmt.Errorf("board %q already exists; change it with crieur board set", b.Name)
			}
		} else if b, err = st.BoardByName(ctx, name); err != nil {
			return fmt.Errorf("board %q: %w", name, err)
		}
		b = settings(b)
		if flagSet(fs, "logo") {
			b.Logo = ""
			if logo != nil {
				im, err := svc.Upload(ctx, b, logo)
				if err != nil {
					return fmt.Errorf("logo %s: %w", *logoPath, err)
				}
				b.Logo = im.ID
			}
		}
		if _, err := svc.SetBoard(ctx, b); err != nil {
			return err
		}
		if args[0] == "create" {
			fmt.Fprintf(stdout, "created board %s\n", b.Name)
			if err := exportNewKey(ctx, cfg.KeysDir, st, stdout); err != nil {
				return err
			}
		} else {
			fmt.Fprintf(stdout, "updated board %s\n", b.Name)
		}
		// Approval changes how every publication goes out: say which way.
		if flagSet(fs, "approval") && b.Approval {
			fmt.Fprintln(stdout, "approval is on: a second publisher of the board approves each publication and each edit before readers see it")
		} else if flagSet(fs, "approval") {
			fmt.Fprintln(stdout, "approval is off: a publisher's publications and edits go out at once")
		}
		return nil
	case "key":
		if _, _, err := leadingArg(args[1:], "the board's NAME", "usage: crieur board key NAME > NAME.pem"); err != nil {
			return err
		}
		_, st, done, err := openService(ctx, fs, args[2:], env, false)
		if err != nil {
			return err
		}
		defer done()
		b, err := st.BoardByName(ctx, args[1])
		if err != nil {
			return fmt.Errorf("board %q: %w", args[1], err)
		}
		_, err = io.WriteString(stdout, b.PrivateKeyPEM)
		return err
	case "list":
		_, st, done, err := openService(ctx, fs, args[1:], env, false)
		if err != nil {
			return err
		}
		defer done()
		boards, err := st.Boards(ctx)
		if err != nil {
			return err
		}
		for _, b := range boards {
			fmt.Fprintf(stdout, "%s\t%s\n", b.Name, b.DisplayName)
		}
		return nil
	}
	return fmt.Errorf("unknown board command %q", args[0])
}

// exportNewKey writes the boards' keys into keys_dir, when set, so crieur
// deliver can sign for a board created while serve runs (serve writes them
// at its start).
func exportNewKey(ctx context.Context, dir string, st *store.Store, stdout io.Writer) error {
	if dir == "" {
		return nil
	}
	if err := app.ExportKeys(ctx, st, dir, slog.New(slog.DiscardHandler)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "its key is in %s for crieur deliver\n", dir)
	return nil
}

func tokenCmd(ctx context.Context, args []string, stdout io.Writer, env []string) error {
	const usage = "usage: crieur token create [--board NAME] [--label TEXT] [--expires 90d] | crieur token list | crieur token revoke ID"
	if len(args) == 0 {
		return errors.New(usage)
	}
	switch args[0] {
	case "create":
		fs := flag.NewFlagSet("token create", flag.ContinueOnError)
		fs.SetOutput(stdout) // --help and mistakes are read where the command answers
		boardName := fs.String("board", "", "limit the token to one board (default: every board)")
		label := fs.String("label", "", "a note saying who holds the token")
		expiresIn := fs.String("expires", "", "lifetime, e.g. 90d or 720h (default: until revoked)")
		role := fs.String("role", board.RolePublisher, "publisher (writes and publishes) or editor (writes drafts a publisher publishes)")
		_, st, done, err := openService(ctx, fs, args[1:], env, false)
		if err != nil {
			return err
		}
		defer done()
		var boardID *int64
		if *boardName != "" {
			b, err := st.BoardByName(ctx, *boardName)
			if err != nil {
				return fmt.Errorf("board %q: %w", *boardName, err)
			}
			boardID = &b.ID
		}
		var expires *time.Time
		if *expiresIn != "" {
			d, err := api.ParseLifetime(*expiresIn)
			if err != nil {
				return fmt.Errorf("--expires %w", err)
			}
			t := time.Now().Add(d)
			expires = &t
		}
		tok, _, err := st.CreateTokenUntil(ctx, boardID, *label, expires, *role)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, tok)
		return nil
	case "list":
		fs := flag.NewFlagSet("token list", flag.ContinueOnError)
		fs.SetOutput(stdout) // --help and mistakes are read where the command answers
		_, st, done, err := openService(ctx, fs, args[1:], env, false)
		if err != nil {
			return err
		}
		defer done()
		list, err := st.Tokens(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tBOARD\tROLE\tLABEL\tCREATED\tLAST USED\tEXPIRES")
		day := func(t *time.Time, none string) string {
			if t == nil {
				return none
			}
			return t.Local().Format("2006-01-02 15:04")
		}
		for _, t := range list {
			b := t.Board
			if b == "" {
				b = "(all)"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, b, t.Role, t.Label, day(&t.CreatedAt, ""), day(t.LastUsedAt, "never"), day(t.ExpiresAt, "never"))
		}
		return tw.Flush()
	case "revoke":
		// The id comes first, the flags (--data, --config) after it.
		var id int64
		ok := len(args) > 1
		if ok {
			id, ok = board.ParseID(args[1])
		}
		if !ok {
			return errors.New("usage: crieur token revoke ID (crieur token list shows the ids)")
		}
		fs := flag.NewFlagSet("token revoke", flag.ContinueOnError)
		fs.SetOutput(stdout) // --help and mistakes are read where the command answers
		_, st, done, err := openService(ctx, fs, args[2:], env, false)
		if err != nil {
			return err
		}
		defer done()
		if err := st.RevokeToken(ctx, id); err != nil {
			return fmt.Errorf("revoke token %d: %w", id, err)
		}
		fmt.Fprintf(stdout, "revoked token %d; its editor sessions are ended\n", id)
		return nil
	}
	return errors.New(usage)
}

// blockCmd manages blocks and followers through the admin API, so that
// the server tells removed followers (a Reject): add, list, remove, and
// unfollow (remove one follower).
func blockCmd(ctx context.Context, args []string, stdout io.Writer, env []string) error {
	const usage = "usage: crieur block add DOMAIN|ACCOUNT_URL [--board NAME] | crieur block list [--board NAME] | crieur block remove ID [--board NAME] | crieur block unfollow ACCOUNT_URL --board NAME"
	if len(args) == 0 {
		return errors.New(usage)
	}
	verb, rest := args[0], args[1:]
	var target string
	if verb != "list" {
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			return errors.New(usage)
		}
		target, rest = rest[0], rest[1:]
	}
	fs := flag.NewFlagSet("block "+verb, flag.ContinueOnError)
	fs.SetOutput(stdout) // --help and mistakes are read where the command answers
	server := fs.String("server", "http://127.0.0.1:8080", "Crieur server URL (or CRIEUR_SERVER)")
	boardName := fs.String("board", "", "one board (default: every board; needs an admin token)")
	if err := fs.Parse(rest); err != nil {
		return err
	}
	token, err := apiToken(fs, env, server)
	if err != nil {
		return err
	}
	base := "/api/v1/blocks"
	if *boardName != "" {
		base = "/api/v1/boards/" + url.PathEscape(*boardName) + "/blocks"
	}
	switch verb {
	case "add":
		body, _ := json.Marshal(map[string]string{"target": target})
		_, resp, err := callAPI(ctx, *server, token, http.MethodPost, base, body, nil)
		if err != nil {
			return fmt.Errorf("block %s: %w", target, err)
		}
		var out struct {
			Block            board.Block      `json:"block"`
			RemovedFollowers []board.Follower `json:"removed_followers"`
		}
		_ = json.Unmarshal(resp, &out)
		fmt.Fprintf(stdout, "blocked %s (block %d); %d follower(s) removed and told\n", target, out.Block.ID, len(out.RemovedFollowers))
	case "list":
		_, resp, err := callAPI(ctx, *server, token, http.MethodGet, base, nil, nil)
		if err != nil {
			return err
		}
		var list []board.Block
		if err := json.Unmarshal(resp, &list); err != nil {
			return fmt.Errorf("unexpected answer: %w", err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tBOARD\tBLOCKED\tSINCE")
		for _, k := range list {
			b, what := k.Board, k.Domain
			if b == "" {
				b = "(all)"
			}
			if what == "" {
				what = k.Actor
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", k.ID, b, what, k.CreatedAt.Local().Format("2006-01-02 15:04"))
		}
		return tw.Flush()
	case "remove":
		id, ok := board.ParseID(target)
		if !ok {
			return errors.New("usage: crieur block remove ID (crieur block list shows the ids)")
		}
		if _, _, err := callAPI(ctx, *server, token, http.MethodDelete, fmt.Sprintf("%s/%d", base, id), nil, nil); err != nil {
			return fmt.Errorf("remove block %d: %w", id, err)
		}
		fmt.Fprintf(stdout, "block %d lifted\n", id)
	case "unfollow":
		if *boardName == "" {
			return errors.New("crieur block unfollow needs --board NAME")
		}
		path := "/api/v1/boards/" + url.PathEscape(*boardName) + "/followers?actor=" + url.QueryEscape(target)
		if _, _, err := callAPI(ctx, *server, token, http.MethodDelete, path, nil, nil); err != nil {
			return fmt.Errorf("remove follower %s: %w", target, err)
		}
		fmt.Fprintf(stdout, "%s no longer follows %s (its server was told)\n", target, *boardName)
	default:
		return errors.New(usage)
	}
	return nil
}
