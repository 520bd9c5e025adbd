package matrix

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"crieur/board"
	"crieur/board/cut"
	"crieur/board/locale"
	"crieur/board/markdown"
	"crieur/federation/delivery"
)

// KindSend is the job kind of one room message, edit or redaction.
const KindSend = "matrix.send"

// Links gives the public URL of an announcement, for the message's link.
type Links interface {
	AnnouncementURL(board string, id int64) string
}

// Bridge connects boards to their Matrix rooms.
type Bridge struct {
	store  *Store
	boards Boards
	links  Links
	queue  Queue
	http   *http.Client
	log    *slog.Logger

	render  *markdown.Renderer
	signups Signups
	media   MediaFiles

	mu        sync.Mutex
	roomIDs   map[string]id.RoomID // alias -> room id, per homeserver+alias
	joined    map[string]bool      // board/room the bot is known to be in
	syncs     map[int64]syncLoopHandle
	runCtx    context.Context
	hurriedAt map[string]time.Time // room -> when its waiting messages were last made due
	// sent remembers the events the homeserver just took, so that the
	// ones it dropped around a kick are sent again on return (lost.go).
	sent *sentLog
	// membershipEvery is how often the sync loop compares the rooms the
	// bot is in with the configured ones (checkMembership).
	membershipEvery time.Duration
	// polls holds a lock per call and room, taken around all that
	// follows its poll (posting, editing, ending it): two jobs of a call
	// handled at once (its message, and a refresh after a sign-up) would
	// both find no poll, or the poll unedited, and both send it; a
	// homeserver answers a transaction id it is still processing with a
	// new event, so the room would get two polls.
	polls sync.Map // "announcement room" -> *sync.Mutex

	cryptoMu sync.Mutex
	crypto   *cryptoStores // mautrix's stores, once made
	sessMu   sync.Mutex
	sessions map[int64]*session // board -> its client and olm machine
	opening  sync.Map           // board -> *sync.Mutex, held while its session is made
}

// Signups takes poll answers as sign-ups (board.Service).
type Signups interface {
	SetAnswer(ctx context.Context, b board.Board, annID int64, p board.Person, roles []string, o board.Origin) (board.SignupResult, error)
}

// Service is what the bridge asks of the board service: poll responses
// become sign-ups, and pictures are read to be posted.
type Service interface {
	Signups
	MediaFiles
}

// Queue is the part of the delivery queue the bridge uses: it sends
// waiting messages at once after the operator fixed the set-up or the bot
// was invited back (Hurry), and takes the sends of what a homeserver
// dropped (Enqueue, lost.go).
type Queue interface {
	Hurry(ctx context.Context, kind, target string) (int, error)
	Enqueue(ctx context.Context, jobs ...delivery.Job) error
}

// Boards is what the bridge reads and keeps of the board store.
type Boards interface {
	BoardByName(ctx context.Context, name string) (board.Board, error)
	BoardByID(ctx context.Context, id int64) (board.Board, error)
	Announcement(ctx context.Context, boardID, id int64) (board.Announcement, error)
	AddInteraction(ctx context.Context, boardID, announcementID int64, in board.Interaction) error
	EditInteraction(ctx context.Context, actor, objectID, content string) (bool, error)
	ForgetInteraction(ctx context.Context, id string) error
	// EarlierUndelivered and CreateUndelivered keep a room's messages
	// in order.
	EarlierUndelivered(ctx context.Context, boardID, announcementID int64, target string) (bool, error)
	CreateUndelivered(ctx context.Context, announcementID int64, target string) (bool, error)
}

// NewBridge returns a bridge; client (outbound.NewClient: homeservers are
// named by API users, so every request goes through the SSRF guard) makes
// every homeserver request. queue (nil in tests) is where the bridge's
// sends wait.
func NewBridge(store *Store, boards Boards, svc Service, links Links, queue Queue, client *http.Client, log *slog.Logger) *Bridge {
	b := &Bridge{
		store: store, boards: boards, links: links, queue: queue, log: log,
		http:    client,
		render:  markdown.New(),
		roomIDs: map[string]id.RoomID{}, joined: map[string]bool{}, syncs: map[int64]syncLoopHandle{},
		hurriedAt: map[string]time.Time{}, sessions: map[int64]*session{}, membershipEvery: 5 * time.Minute,
		sent: newSentLog(),
	}
	if svc != nil {
		b.signups, b.media = svc, svc
	}
	return b
}

// CheckMembershipEvery sets how often the bot's rooms are compared with
// the configured ones (5 minutes unless set); before Run.
func (b *Bridge) CheckMembershipEvery(d time.Duration) {
	if d > 0 {
		b.membershipEvery = d
	}
}

func (b *Bridge) client(a Account) (*mautrix.Client, error) { return newClient(a, b.http) }

// newClient is a mautrix client for an account over httpClient.
func newClient(a Account, httpClient *http.Client) (*mautrix.Client, error) {
	cli, err := mautrix.NewClient(a.Homeserver, id.UserID(a.UserID), a.AccessToken)
	if err != nil {
		return nil, delivery.Permanent(fmt.Errorf("matrix client: %w", err))
	}
	cli.Client = httpClient
	// The delivery queue retries, with backoff and records; mautrix must not.
	cli.DefaultHTTPRetries = 0
	cli.Log = zerologNop
	return cli, nil
}

type sendPayload struct {
	Board          string     `json:"board"`
	AnnouncementID int64      `json:"announcement"`
	Verb           board.Verb `json:"verb"`
	Version        int        `json:"version"`
	Room           string     `json:"room"`
	Outbox         int64      `json:"outbox,omitempty"`
	// Retake marks the sends of a message again after a homeserver
	// dropped some (lost.go): fresh transaction ids, which the homeserver
	// does not answer with the dropped events.
	Retake string `json:"retake,omitempty"`
}

// Expand implements delivery.Expander: one job per configured room.
func (b *Bridge) Expand(ctx context.Context, e board.OutboxEntry) ([]delivery.Job, error) {
	if e.Verb == board.VerbPin || e.Verb == board.VerbUnpin {
		return nil, nil // the fediverse's featured list; rooms have none
	}
	acct, err := b.store.Account(ctx, e.BoardID)
	if errors.Is(err, ErrNoAccount) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	bd, err := b.boards.BoardByID(ctx, e.BoardID)
	if err != nil {
		return nil, err
	}
	var jobs []delivery.Job
	for _, room := range acct.Rooms {
		p, _ := json.Marshal(sendPayload{Board: bd.Name, AnnouncementID: e.AnnouncementID, Verb: e.Verb, Version: e.Version, Room: room, Outbox: e.ID})
		jobs = append(jobs, delivery.Job{ID: fmt.Sprintf("mx:%d:%s", e.ID, room), Kind: KindSend, OutboxID: e.ID, Target: room, Payload: p})
	}
	return jobs, nil
}

// shownHash stands for what a message shows: an edit's new content, or
// the message itself.
func shownHash(c *event.MessageEventContent) string {
	if c.NewContent != nil {
		c = c.NewContent
	}
	raw, _ := json.Marshal(c)
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:12])
}

// txnID is stable per announcement, room and version, so a retried send
// is deduplicated by the homeserver instead of posted twice.
func txnID(p sendPayload, what string) string {
	if p.Retake != "" {
		what += "~" + p.Retake
	}
	return fmt.Sprintf("crieur-%d-%s-%s", p.AnnouncementID, roomHash(p.Room), what)
}

// roomHash names a configured room in a transaction id without its name.
func roomHash(room string) string {
	sum := sha256.Sum256([]byte(room))
	return hex.EncodeToString(sum[:6])
}

// parseTxnID reads what txnID wrote: the announcement, the room's hash and
// what was sent ("create", "poll", "v3"…), a retake's mark left out.
func parseTxnID(txn string) (announcementID int64, hash, what string, ok bool) {
	parts := strings.SplitN(txn, "-", 4)
	if len(parts) != 4 || parts[0] != "crieur" {
		return 0, "", "", false
	}
	parts[3], _, _ = strings.Cut(parts[3], "~")
	id, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || id <= 0 {
		return 0, "", "", false
	}
	return id, parts[2], parts[3], true
}

// Handle implements delivery.Handler for KindSend.
func (b *Bridge) Handle(ctx context.Context, job delivery.Job) error {
	var p sendPayload
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		return delivery.Permanent(fmt.Errorf("bad matrix job: %w", err))
	}
	bd, err := b.boards.BoardByName(ctx, p.Board)
	if err != nil {
		return delivery.Permanent(err)
	}
	acct, err := b.store.Account(ctx, bd.ID)
	if err != nil {
		return delivery.Permanent(fmt.Errorf("board %s: %w", bd.Name, err))
	}
	if !slices.Contains(acct.Rooms, p.Room) {
		// Taken out of the set-up while this waited: the operator's word,
		// not a failure to retry for two days.
		return delivery.Permanent(fmt.Errorf("%s is no longer one of the board's rooms (PUT /api/v1/boards/%s/matrix)", p.Room, bd.Name))
	}
	a, err := b.boards.Announcement(ctx, bd.ID, p.AnnouncementID)
	if err != nil {
		return delivery.Permanent(err)
	}
	sess, err := b.sessionFor(ctx, acct)
	if err != nil {
		return err
	}
	err = b.send(ctx, sess, acct, bd, a, p)
	var wait *delivery.WaitError
	if errors.As(err, &wait) {
		return err
	}
	status := "ok"
	if err != nil {
		err = b.explain(acct, p.Room, err)
		status = err.Error()
		b.log.WarnContext(ctx, "matrix: cannot post", "board", bd.Name, "room", p.Room, "err", err)
	}
	if serr := b.store.SetRoomStatus(ctx, bd.ID, p.Room, status); serr != nil {
		b.log.ErrorContext(ctx, "matrix: record room status", "err", serr)
	}
	return err
}

func (b *Bridge) send(ctx context.Context, s *session, acct Account, bd board.Board, a board.Announcement, p sendPayload) error {
	cli := s.cli
	orig, posted, err := b.store.EventID(ctx, a.ID, p.Room)
	if err != nil {
		return err
	}
	if (p.Verb == board.VerbCreate || p.Verb == board.VerbUpdate) && !posted && a.DeletedAt == nil {
		// A room shows messages in the order they arrive: an earlier
		// announcement still waiting (the homeserver was down) goes first.
		if err := b.waitForEarlier(ctx, bd, a, p.Room); err != nil {
			return err
		}
	}
	if (p.Verb == board.VerbUpdate || p.Verb == board.VerbRefresh) && !posted && a.DeletedAt == nil {
		// Its own message may be on its way (sent, its event id not yet
		// recorded): an edit posted now would repeat the Create's
		// transaction, which the homeserver answers with that first
		// message, and new counts would be dropped as "not posted yet";
		// either way the change would be lost. They go once the Create is
		// done (or dead: then the edit posts the message).
		onItsWay, err := b.boards.CreateUndelivered(ctx, a.ID, p.Room)
		if err != nil {
			return err
		}
		if onItsWay {
			return &delivery.WaitError{Reason: "its first message is still on its way to " + p.Room, After: orderWait}
		}
	}
	roomID, err := b.ensureJoined(ctx, cli, acct, p.Room)
	if err != nil {
		return err
	}
	msgtype := event.MessageType(acct.MsgType)
	switch p.Verb {
	case board.VerbRefresh:
		// New counts of a call: an edit of the message, if it is there
		// (a message still to be posted will carry them).
		if !posted || a.DeletedAt != nil {
			return nil
		}
		content, _, err := Render(locale.Of(bd, a), a, b.links.AnnouncementURL(bd.Name, a.ID), msgtype, orig, b.render.HTML)
		if err != nil {
			return delivery.Permanent(err)
		}
		if err := b.sendMessage(ctx, s, a, p, roomID, content, txnID(p, fmt.Sprintf("r%d", p.Outbox)), true); err != nil {
			return err
		}
		return b.ensurePoll(ctx, s, bd, a, p, roomID, acct.PollResults)
	case board.VerbCreate, board.VerbUpdate:
		if a.DeletedAt != nil {
			return nil // deleted before it could be sent: nothing to show
		}
		if p.Verb == board.VerbCreate && posted {
			// Already there (a retry after the send succeeded); its
			// pictures and poll may still be missing.
			if err := b.syncImages(ctx, s, acct, bd, a, p, roomID); err != nil {
				return err
			}
			return b.ensurePoll(ctx, s, bd, a, p, roomID, acct.PollResults)
		}
		var edit id.EventID
		txn := txnID(p, "create")
		if posted {
			edit = orig
			txn = txnID(p, fmt.Sprintf("v%d", p.Version))
		}
		// An edit of a message never posted (the room was added later, or
		// the Create is still failing) posts the current version instead.
		content, at, err := Render(locale.Of(bd, a), a, b.links.AnnouncementURL(bd.Name, a.ID), msgtype, edit, b.render.HTML)
		if err != nil {
			return delivery.Permanent(err)
		}
		if at != cut.Whole {
			b.log.InfoContext(ctx, "matrix: text cut to fit a Matrix event, with a link to the whole", "board", bd.Name, "announcement", a.ID, "room", p.Room, "cut_at", at.String())
		}
		if err := b.sendMessage(ctx, s, a, p, roomID, content, txn, posted); err != nil {
			return err
		}
		if err := b.syncImages(ctx, s, acct, bd, a, p, roomID); err != nil {
			return err
		}
		return b.ensurePoll(ctx, s, bd, a, p, roomID, acct.PollResults)
	case board.VerbDelete:
		if !posted {
			return nil
		}
		// Edits are events of their own, readable after the original is
		// redacted: every event Crieur sent for it goes, the poll too (it
		// would stay open to answers for a call that is gone).
		edits, err := b.store.Edits(ctx, a.ID, p.Room)
		if err != nil {
			return err
		}
		events := append([]id.EventID{orig}, edits...)
		// The reason a client shows in place of the message, in the
		// announcement's language.
		reason := locale.Of(bd, a).T("post.deleted_reason")
		if poll, has, err := b.store.Poll(ctx, a.ID, p.Room); err != nil {
			return err
		} else if has {
			events = append(events, poll)
		}
		for _, ev := range events {
			sum := sha256.Sum256([]byte(ev))
			err := b.redact(ctx, cli, roomID, ev, reason, txnID(p, "delete-"+hex.EncodeToString(sum[:6])))
			if err != nil && !errors.Is(err, mautrix.MNotFound) {
				return err
			}
		}
		return b.redactImages(ctx, s, a, p, roomID, reason)
	}
	return delivery.Permanent(fmt.Errorf("unknown verb %q", p.Verb))
}

// sendMessage posts an announcement's message, or edits it (posted). An
// edit that changes nothing the room shows is not sent: a refresh after a
// vote for a full role (refused; the counts go out again for the
// fediverse voter's server), an edit of what Matrix does not show, or a
// retake after a kick whose last edit did arrive. Each edit would mark the
// message edited again for its readers.
func (b *Bridge) sendMessage(ctx context.Context, s *session, a board.Announcement, p sendPayload, roomID id.RoomID, content *event.MessageEventContent, txn string, posted bool) error {
	shown := shownHash(content)
	if posted {
		last, err := b.store.Shown(ctx, a.ID, p.Room)
		if err != nil {
			return err
		}
		if shown == last {
			return nil
		}
	}
	resp, err := b.sendEvent(ctx, s, roomID, event.EventMessage, content, txn)
	if err != nil {
		return err
	}
	if posted {
		err = b.store.SaveEdit(ctx, a.ID, p.Room, resp.EventID)
	} else {
		err = b.store.SaveEventID(ctx, a.ID, p.Room, roomID, resp.EventID)
	}
	if err != nil {
		return err
	}
	return b.store.SetShown(ctx, a.ID, p.Room, shown)
}

// ensurePoll posts a call's poll in the room once, after its message:
// the roles are the answers (their names are the ids, so that an answer
// keeps its meaning if roles are reordered), one or several per person.
// Element and other clients show it natively; responses are sign-ups.
func (b *Bridge) ensurePoll(ctx context.Context, s *session, bd board.Board, a board.Announcement, p sendPayload, roomID id.RoomID, results string) error {
	if !a.TakesSignups() || b.signups == nil {
		return nil
	}
	lock, _ := b.polls.LoadOrStore(fmt.Sprint(a.ID, " ", p.Room), &sync.Mutex{})
	lock.(*sync.Mutex).Lock()
	defer lock.(*sync.Mutex).Unlock()
	poll, done, err := b.store.Poll(ctx, a.ID, p.Room)
	if err != nil {
		return err
	}
	txn := txnID(p, "poll")
	if done {
		reopened, err := b.endPollIfClosed(ctx, s, bd, a, p, roomID, poll)
		if err != nil {
			return err
		}
		if !reopened {
			if p.Verb == board.VerbUpdate && a.SignupsOpen(time.Now()) {
				return b.editPoll(ctx, s, bd, a, p, roomID, poll, results)
			}
			return nil
		}
		// A fresh poll, after the ended one: a transaction of its own (the
		// first poll's would be answered with the ended poll), the same
		// for every retry of this reopening.
		sum := sha256.Sum256([]byte(poll))
		txn = txnID(p, "poll-"+hex.EncodeToString(sum[:6]))
	}
	if !a.SignupsOpen(time.Now()) && (a.Call.Closed || a.Cancelled() || a.Status == board.StatusExpired) {
		return nil // closed before its poll went out: none to show
	}
	content, asks := pollStart(locale.Of(bd, a), a, results)
	resp, err := b.sendEvent(ctx, s, roomID, event.EventUnstablePollStart, content, txn)
	if err != nil {
		return err
	}
	return b.store.SavePoll(ctx, bd.ID, a.ID, p.Room, roomID, resp.EventID, asks)
}

// pollStart is the poll of a call as MSC3381 has it (the unstable names
// Element sends and renders), and a hash of what it asks: its question
// (the title) and its answers (the roles).
func pollStart(l locale.Locale, a board.Announcement, results string) (content map[string]any, asks string) {
	answers := make([]map[string]any, 0, len(a.Call.Roles))
	question := l.T("poll.sign_up", a.Title)
	if a.Kind == board.KindTraining {
		question = l.T("poll.register", a.Title)
	}
	// Where people answer, they read who sees it: a poll answer is a room
	// event every member can read, whatever the client shows.
	if results == PollsUndisclosed {
		question += " " + l.T("poll.results_at_end")
	} else {
		question += " " + l.T("poll.seen_by_room")
	}
	lines := []string{question}
	for i, r := range a.Call.Roles {
		// The answer's id is the role, which a vote names; its text is
		// what the reader sees, in the announcement's language.
		answers = append(answers, map[string]any{"id": r.Name, "org.matrix.msc1767.text": l.Role(r.Name)})
		lines = append(lines, fmt.Sprintf("%d. %s", i+1, l.Role(r.Name)))
	}
	maxSel := 1
	if a.Call.Multiple {
		maxSel = len(answers)
	}
	content = map[string]any{
		"org.matrix.msc3381.poll.start": map[string]any{
			"kind":           "org.matrix.msc3381.poll." + cmp.Or(results, PollsDisclosed),
			"max_selections": maxSel,
			"question":       map[string]any{"org.matrix.msc1767.text": neutralise(question)},
			"answers":        answers,
		},
		// Clients without polls show this text.
		"org.matrix.msc1767.text": neutralise(strings.Join(lines, "\n")),
		"m.mentions":              map[string]any{},
	}
	sum := sha256.Sum256([]byte(fmt.Sprint(strings.Join(lines, "\n"), maxSel, results)))
	return content, hex.EncodeToString(sum[:12])
}

// editPoll makes an open poll follow an edit of its call that changed
// what it asks (the title, the roles): an edit of the poll start, as
// Element edits a poll (m.replace with the whole poll in m.new_content).
// An edit that leaves them alone leaves the poll alone. The caller holds
// the poll's lock (ensurePoll).
func (b *Bridge) editPoll(ctx context.Context, s *session, bd board.Board, a board.Announcement, p sendPayload, roomID id.RoomID, poll id.EventID, results string) error {
	sent, err := b.store.PollAsks(ctx, a.ID, p.Room)
	if err != nil {
		return err
	}
	start, asks := pollStart(locale.Of(bd, a), a, results)
	if sent == asks {
		return nil
	}
	if sent == "" {
		// A poll sent before Crieur kept what it asked: from now on.
		return b.store.SetPollAsks(ctx, a.ID, p.Room, asks)
	}
	content := map[string]any{
		"m.new_content":                 start,
		"m.relates_to":                  map[string]any{"rel_type": "m.replace", "event_id": poll},
		"org.matrix.msc3381.poll.start": start["org.matrix.msc3381.poll.start"],
		"org.matrix.msc1767.text":       "* " + start["org.matrix.msc1767.text"].(string),
		"m.mentions":                    map[string]any{},
	}
	if _, err := b.sendEvent(ctx, s, roomID, event.EventUnstablePollStart, content, txnID(p, "pedit-"+asks)); err != nil {
		return err
	}
	return b.store.SetPollAsks(ctx, a.ID, p.Room, asks)
}

// endPollIfClosed ends a call's poll once the call is closed (by an
// editor, a deadline or every place taken), with the results as text; a
// call opened again gets a new poll at its next message.
func (b *Bridge) endPollIfClosed(ctx context.Context, s *session, bd board.Board, a board.Announcement, p sendPayload, roomID id.RoomID, poll id.EventID) (reopened bool, err error) {
	ended, err := b.store.PollEnded(ctx, a.ID, p.Room)
	if err != nil {
		return false, err
	}
	if a.SignupsOpen(time.Now()) {
		if ended {
			return true, b.store.SetPollEnded(ctx, a.ID, p.Room, false)
		}
		return false, nil
	}
	if ended {
		return false, nil
	}
	var results []string
	l := locale.Of(bd, a)
	for _, r := range a.Call.Roles {
		results = append(results, l.T("poll.result", l.Role(r.Name), a.Call.Taken[r.Name], r.Places))
	}
	content := map[string]any{
		"m.relates_to":                map[string]any{"rel_type": "m.reference", "event_id": poll},
		"org.matrix.msc3381.poll.end": map[string]any{},
		"org.matrix.msc1767.text":     neutralise(pollEndText(l, a, results)),
	}
	if _, err := b.sendEvent(ctx, s, roomID, event.EventUnstablePollEnd, content, txnID(p, "pollend-"+string(poll))); err != nil {
		return false, err
	}
	return false, b.store.SetPollEnded(ctx, a.ID, p.Room, true)
}

// pollEndText is what a client without polls shows when a poll ends.
func pollEndText(l locale.Locale, a board.Announcement, results []string) string {
	switch {
	case a.Cancelled():
		return l.T("poll.cancelled", a.Title)
	case a.Kind == board.KindTraining:
		return l.T("poll.training_closed", a.Title) + " " + strings.Join(results, ", ")
	}
	return l.T("poll.closed", a.Title) + " " + strings.Join(results, ", ")
}

// orderWait is how soon a message waiting for an earlier one looks again.
const orderWait = 2 * time.Second

// waitForEarlier returns a WaitError while an earlier announcement of the
// board waits to be posted in room, and makes that one due now (at most
// every ten seconds, so a homeserver still down is not hammered).
func (b *Bridge) waitForEarlier(ctx context.Context, bd board.Board, a board.Announcement, room string) error {
	waiting, err := b.boards.EarlierUndelivered(ctx, bd.ID, a.ID, room)
	if err != nil || !waiting {
		return err
	}
	key := fmt.Sprintf("%d/%s", bd.ID, room)
	b.mu.Lock()
	due := time.Since(b.hurriedAt[key]) > 10*time.Second
	if due {
		b.hurriedAt[key] = time.Now()
	}
	b.mu.Unlock()
	if due {
		b.hurry(ctx, []string{room})
	}
	return &delivery.WaitError{Reason: "an earlier announcement waits to be posted in " + room, After: orderWait}
}

// Check implements board.Checker: it tells the editor when the room
// message will be cut to fit Matrix's event size limit.
func (b *Bridge) Check(ctx context.Context, bd board.Board, a board.Announcement) []board.Problem {
	if _, err := b.store.Account(ctx, bd.ID); err != nil {
		return nil
	}
	_, at, err := Render(locale.Of(bd, a), a, b.links.AnnouncementURL(bd.Name, a.ID), event.MsgNotice, "", b.render.HTML)
	if err != nil || at == cut.Whole {
		return nil
	}
	return []board.Problem{board.Problemf("editor.matrix_cut", board.Problemf("cut."+at.String()))}
}

// Preview implements board.Previewer: the message the board's rooms
// will get, as a client renders it (formatted_body) and as clients without
// HTML show it (body).
func (b *Bridge) Preview(ctx context.Context, bd board.Board, a board.Announcement) (board.Preview, bool) {
	acct, err := b.store.Account(ctx, bd.ID)
	if err != nil {
		return board.Preview{}, false
	}
	content, _, err := Render(locale.Of(bd, a), a, b.links.AnnouncementURL(bd.Name, a.ID), event.MessageType(acct.MsgType), "", b.render.HTML)
	if err != nil {
		return board.Preview{}, false
	}
	return board.Preview{Channel: "editor.channel_matrix", HTML: content.FormattedBody, Text: content.Body}, true
}

// ensureJoined resolves a room alias and joins the room once per process.
func (b *Bridge) ensureJoined(ctx context.Context, cli *mautrix.Client, acct Account, room string) (id.RoomID, error) {
	key := fmt.Sprintf("%d/%s/%s", acct.BoardID, acct.UserID, room)
	b.mu.Lock()
	roomID, known := b.roomIDs[acct.Homeserver+" "+room]
	joined := b.joined[key]
	b.mu.Unlock()
	if joined && known {
		return roomID, nil
	}
	if reason, err := b.store.Removed(ctx, acct.BoardID, room); err != nil {
		return "", err
	} else if reason != "" {
		return "", delivery.Local(fmt.Errorf("%s; Crieur posts there again once the bot is invited back or the set-up is saved again (PUT /api/v1/boards/BOARD/matrix)", reason))
	}
	return b.join(ctx, cli, acct, room)
}

// join resolves a room alias and joins the room, whatever removals were
// recorded (the set-up, which clears them, joins through here).
func (b *Bridge) join(ctx context.Context, cli *mautrix.Client, acct Account, room string) (id.RoomID, error) {
	key := fmt.Sprintf("%d/%s/%s", acct.BoardID, acct.UserID, room)
	target := room
	if strings.HasPrefix(room, "#") {
		// Resolve first: a join by an unknown alias fails with a vague
		// server error on some homeservers.
		res, err := cli.ResolveAlias(ctx, id.RoomAlias(room))
		if errors.Is(err, mautrix.MNotFound) {
			return "", delivery.Local(fmt.Errorf("no such room: the alias %s does not exist; check the room's address: %w", room, err))
		}
		if err != nil {
			return "", err
		}
		target = res.RoomID.String()
	}
	resp, err := cli.JoinRoom(ctx, target, nil)
	if err != nil {
		return "", err
	}
	b.mu.Lock()
	b.roomIDs[acct.Homeserver+" "+room] = resp.RoomID
	b.joined[key] = true
	b.mu.Unlock()
	return resp.RoomID, nil
}

func (b *Bridge) forgetRooms(boardID int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	prefix := fmt.Sprintf("%d/", boardID)
	for k := range b.joined {
		if strings.HasPrefix(k, prefix) {
			delete(b.joined, k)
		}
	}
}

// explain turns homeserver errors into messages an operator can act on,
// and says which are worth retrying. Permission and token problems are
// retried: once the operator fixes them the pending messages go out. They
// are our set-up's fault, not the room's (LocalError), so they do not park
// the room.
func (b *Bridge) explain(acct Account, room string, err error) error {
	var perm *delivery.PermanentError
	var local *delivery.LocalError
	if errors.As(err, &perm) || errors.As(err, &local) {
		return err
	}
	status, retryAfter := 0, time.Duration(0)
	var herr mautrix.HTTPError
	if errors.As(err, &herr) && herr.Response != nil {
		status = herr.Response.StatusCode
		if herr.RespError != nil {
			if ms, ok := herr.RespError.ExtraData["retry_after_ms"].(float64); ok && ms > 0 {
				// Capped before converting: a huge number overflows a Duration.
				retryAfter = time.Duration(min(ms, float64(7*24*time.Hour/time.Millisecond))) * time.Millisecond
			}
		}
	}
	err = remoteSafe(err)
	switch {
	case errors.Is(err, mautrix.MUnknownToken), errors.Is(err, mautrix.MMissingToken):
		b.forgetRooms(acct.BoardID)
		return delivery.Local(fmt.Errorf("the homeserver rejected the access token of %s (bad or revoked token): set a new token or password with PUT /api/v1/boards/BOARD/matrix: %w", acct.UserID, err))
	case errors.Is(err, mautrix.MLimitExceeded):
		if retryAfter <= 0 {
			retryAfter = 5 * time.Second
		}
		return &delivery.RetryAfterError{Err: fmt.Errorf("rate limited by the homeserver in %s: %w", room, err), After: retryAfter}
	case errors.Is(err, mautrix.MForbidden):
		b.forgetRooms(acct.BoardID)
		return delivery.Local(fmt.Errorf("%s may not post in %s (not invited, or its power level is too low): invite the bot or raise its power level: %w", acct.UserID, room, err))
	case errors.Is(err, mautrix.MNotFound):
		return delivery.Local(fmt.Errorf("room %s not found: check the room id or alias: %w", room, err))
	case status >= 400 && status < 500 && status != http.StatusRequestTimeout:
		return delivery.Permanent(fmt.Errorf("the homeserver refused the message for %s: %w", room, err))
	}
	return fmt.Errorf("homeserver unreachable or failing (%s): %w", room, err)
}

// safeError is a homeserver's error reduced to its Matrix error code and
// message. Homeserver URLs are chosen by API users, so the body of
// whatever answers there must not come back to them (an SSRF oracle).
type safeError struct {
	msg   string
	cause error // the Matrix error, for errors.Is on its code
}

func (e *safeError) Error() string { return e.msg }
func (e *safeError) Unwrap() error { return e.cause }

// remoteSafe returns err without any response body: a Matrix error keeps
// its code and (bounded) message; anything else only its HTTP status.
// Network errors name no remote content and are kept.
func remoteSafe(err error) error {
	var herr mautrix.HTTPError
	if !errors.As(err, &herr) || herr.WrappedError != nil || herr.Response == nil {
		return err
	}
	code := herr.Response.StatusCode
	if re := herr.RespError; re != nil && strings.HasPrefix(re.ErrCode, "M_") {
		msg := re.Err
		if len(msg) > 200 {
			msg = strings.ToValidUTF8(msg[:200], "") + "…"
		}
		return &safeError{msg: fmt.Sprintf("%s (HTTP %d): %s", re.ErrCode, code, msg), cause: *re}
	}
	return &safeError{msg: fmt.Sprintf("HTTP %d %s (not a Matrix answer)", code, http.StatusText(code))}
}
