// Package email sends boards' announcements to mailing-list addresses
// (the association's Sympa or Mailman list, or any address), as jobs of
// the same delivery queue as the other destinations: one message per
// announcement per address, plain text with an HTML alternative, over
// SMTP with STARTTLS or TLS and authentication. MIME and SMTP are
// github.com/wneessen/go-mail's.
//
// The SMTP password is a secret: kept in the store, never shown by the
// API, never logged.
//
// Its table is made by the store's registry; it reads boards through its
// Boards interface and decides nothing of what is sent where.
package email

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/textproto"
	"slices"
	"strings"
	"syscall"
	"time"

	gomail "github.com/wneessen/go-mail"

	"crieur/board"
	"crieur/board/locale"
	"crieur/federation/delivery"
	"crieur/federation/outbound"
)

// KindSend is the job kind of one message to one address.
const KindSend = "email.send"

// SMTP is how a board's mail leaves: its server and sender.
type SMTP struct {
	Host string `json:"host"`
	Port int    `json:"port"`
	// Security is "starttls" (port 587, the default), "tls" (implicit,
	// port 465) or "none" (a local relay only).
	Security string `json:"security"`
	Username string `json:"username,omitempty"`
	Password string `json:"-"`
	From     string `json:"from"`
}

// List is one address announcements are mailed to.
type List struct {
	Name string `json:"name"`
	To   string `json:"to"`
	// Kinds limits what is sent (outages and calls to the users' list);
	// empty: every kind.
	Kinds []board.Kind `json:"kinds,omitempty"`
	// ListUnsubscribe is passed through as the List-Unsubscribe header
	// (<mailto:…>, <https://…>), so mail clients show "Unsubscribe".
	ListUnsubscribe string `json:"list_unsubscribe,omitempty"`
}

// Setup is a board's e-mail destination.
type Setup struct {
	SMTP  SMTP   `json:"smtp"`
	Lists []List `json:"lists"`
}

// Links gives public URLs of boards and announcements.
type Links interface {
	AnnouncementURL(board string, id int64) string
	BoardURL(board string) string
	// WithdrawURL is the private link that withdraws a sign-up.
	WithdrawURL(board string, id int64, token string) string
}

// Enqueuer puts a job on the delivery queue.
type Enqueuer interface {
	Enqueue(ctx context.Context, jobs ...delivery.Job) error
}

// Destination mails boards' announcements.
type Destination struct {
	db     *sql.DB
	boards Boards
	links  Links
	// dial options for tests (a server's certificate); production uses
	// the system's roots.
	options []gomail.Option
	timeout time.Duration
	// dial is outbound's guarded dialer: an SMTP host a publisher typed
	// reaches no private address unless the operator allowed them.
	dial gomail.DialContextFunc
	// queue takes the mails to web registrants (TellVia), retried like
	// every delivery.
	queue Enqueuer
	log   *slog.Logger
}

// Boards is what the destination reads of the board store.
type Boards interface {
	BoardByName(ctx context.Context, name string) (board.Board, error)
	Announcement(ctx context.Context, boardID, id int64) (board.Announcement, error)
}

// New is the e-mail destination on db (the board store's file, whose
// registry made its table). allowPrivate is the operator's
// allow_private_addresses: without it no SMTP host may be a private or
// loopback address.
func New(db *sql.DB, boards Boards, links Links, timeout time.Duration, allowPrivate bool, options ...gomail.Option) *Destination {
	return &Destination{db: db, boards: boards, links: links, options: options, timeout: timeout, log: slog.New(slog.DiscardHandler),
		dial: outbound.NewDialer(allowPrivate).DialContext}
}

// TellVia makes the destination mail web registrants what concerns them
// (board.PersonNotifier), through q.
func (d *Destination) TellVia(q Enqueuer, log *slog.Logger) { d.queue, d.log = q, log }

// ErrNoSetup is a board that mails nothing.
var ErrNoSetup = errors.New("no e-mail set-up")

// Setup returns a board's set-up, password included.
func (d *Destination) Setup(ctx context.Context, boardID int64) (Setup, error) {
	var raw, password string
	err := d.db.QueryRowContext(ctx, `SELECT setup, password FROM email_setups WHERE board_id = ?`, boardID).Scan(&raw, &password)
	if errors.Is(err, sql.ErrNoRows) {
		return Setup{}, ErrNoSetup
	}
	if err != nil {
		return Setup{}, err
	}
	var s Setup
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		return s, fmt.Errorf("e-mail set-up of board %d: %w", boardID, err)
	}
	s.SMTP.Password = password
	return s, nil
}

// Save stores a board's set-up; an empty password keeps the one it had.
func (d *Destination) Save(ctx context.Context, boardID int64, s Setup) error {
	if s.SMTP.Password == "" {
		if old, err := d.Setup(ctx, boardID); err == nil {
			s.SMTP.Password = old.SMTP.Password
		}
	}
	raw, err := json.Marshal(s) // Password is json:"-": it has a column of its own
	if err != nil {
		return err
	}
	_, err = d.db.ExecContext(ctx, `INSERT INTO email_setups (board_id, setup, password) VALUES (?, ?, ?)
		ON CONFLICT (board_id) DO UPDATE SET setup = excluded.setup, password = excluded.password`, boardID, string(raw), s.SMTP.Password)
	return err
}

// Delete removes a board's set-up.
func (d *Destination) Delete(ctx context.Context, boardID int64) error {
	_, err := d.db.ExecContext(ctx, `DELETE FROM email_setups WHERE board_id = ?`, boardID)
	return err
}

// Check says what is wrong with a set-up, field by field, and fills in
// the defaults (port by security).
func Check(s *Setup) board.Problems {
	errs := board.Problems{}
	s.SMTP.Host = strings.TrimSpace(s.SMTP.Host)
	if s.SMTP.Host == "" || strings.ContainsAny(s.SMTP.Host, " /:") {
		errs["smtp.host"] = board.Problemf("problem.smtp_host")
	}
	switch s.SMTP.Security {
	case "", "starttls":
		s.SMTP.Security = "starttls"
		if s.SMTP.Port == 0 {
			s.SMTP.Port = 587
		}
	case "tls":
		if s.SMTP.Port == 0 {
			s.SMTP.Port = 465
		}
	case "none":
		if s.SMTP.Port == 0 {
			s.SMTP.Port = 25
		}
		if s.SMTP.Username != "" {
			// The password would cross the network in clear: Crieur's
			// SMTP client (go-mail's auto-discovery) offers PLAIN and
			// LOGIN only over TLS, so every send failed later with "the
			// exchange failed" (a trial). Said when the set-up is saved.
			errs["smtp.security"] = board.Problemf("problem.smtp_auth_in_clear")
		}
	default:
		errs["smtp.security"] = board.Problemf("problem.smtp_security")
	}
	if s.SMTP.Port < 1 || s.SMTP.Port > 65535 {
		errs["smtp.port"] = board.Problemf("problem.smtp_port")
	}
	if _, err := mail.ParseAddress(s.SMTP.From); err != nil {
		errs["smtp.from"] = board.Problemf("problem.smtp_from")
	}
	seen := map[string]bool{}
	for i, l := range s.Lists {
		key := fmt.Sprintf("lists[%d]", i)
		if l.Name == "" || len(l.Name) > 40 || strings.ContainsAny(l.Name, " /:@") {
			errs[key+".name"] = board.Problemf("problem.list_name")
		} else if seen[l.Name] {
			errs[key+".name"] = board.Problemf("problem.twice", l.Name)
		}
		seen[l.Name] = true
		if _, err := mail.ParseAddress(l.To); err != nil {
			errs[key+".to"] = board.Problemf("problem.list_to")
		}
		for _, k := range l.Kinds {
			if !slices.Contains(board.Kinds(), k) {
				errs[key+".kinds"] = board.Problemf("problem.unknown_kind", string(k))
			}
		}
		if u := l.ListUnsubscribe; u != "" && (!strings.HasPrefix(u, "<") || !strings.HasSuffix(u, ">") || strings.ContainsAny(u, "\r\n")) {
			errs[key+".list_unsubscribe"] = board.Problemf("problem.list_unsubscribe")
		}
	}
	return errs
}

type sendPayload struct {
	Board          string   `json:"board"`
	AnnouncementID int64    `json:"announcement"`
	List           string   `json:"list"`
	Version        int      `json:"version"`
	FollowUp       bool     `json:"follow_up,omitempty"`
	Changes        []string `json:"changes,omitempty"`
	// Notice, instead of a list, is a mail to one web registrant.
	Notice *personNotice `json:"notice,omitempty"`
}

// Expand implements delivery.Expander: a new announcement goes to every
// list that takes its kind; an edit only when the editor asked for a
// follow-up; a deletion sends nothing (mail cannot be taken back).
func (d *Destination) Expand(ctx context.Context, e board.OutboxEntry) ([]delivery.Job, error) {
	if !e.ForWriteOnce() {
		return nil, nil
	}
	s, err := d.Setup(ctx, e.BoardID)
	if errors.Is(err, ErrNoSetup) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	a, err := d.boards.Announcement(ctx, e.BoardID, e.AnnouncementID)
	if err != nil {
		return nil, err
	}
	var jobs []delivery.Job
	for _, l := range s.Lists {
		if len(l.Kinds) > 0 && !slices.Contains(l.Kinds, a.Kind) {
			continue
		}
		p, _ := json.Marshal(sendPayload{Board: a.Board, AnnouncementID: a.ID, List: l.Name, Version: e.Version, FollowUp: e.Verb == board.VerbUpdate, Changes: e.Changes})
		jobs = append(jobs, delivery.Job{ID: fmt.Sprintf("mail:%d:%s", e.ID, l.Name), Kind: KindSend, OutboxID: e.ID, Target: "email:" + l.Name, Payload: p})
	}
	return jobs, nil
}

// Handle implements delivery.Handler for KindSend.
func (d *Destination) Handle(ctx context.Context, job delivery.Job) error {
	var p sendPayload
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		return delivery.Permanent(fmt.Errorf("bad e-mail job: %w", err))
	}
	bd, err := d.boards.BoardByName(ctx, p.Board)
	if err != nil {
		return delivery.Permanent(err)
	}
	s, err := d.Setup(ctx, bd.ID)
	if err != nil {
		return delivery.Permanent(err)
	}
	a, err := d.boards.Announcement(ctx, bd.ID, p.AnnouncementID)
	if err != nil {
		return delivery.Permanent(err)
	}
	if a.DeletedAt != nil {
		return nil
	}
	if p.Notice != nil {
		m, err := d.noticeMessage(bd, a, s.SMTP, *p.Notice)
		if err != nil {
			return delivery.Permanent(err)
		}
		return d.send(ctx, s.SMTP, m)
	}
	l, ok := list(s, p.List)
	if !ok {
		return delivery.Permanent(fmt.Errorf("list %q was removed from the board's set-up", p.List))
	}
	m, err := d.message(bd, a, s.SMTP, l, p)
	if err != nil {
		return delivery.Permanent(err)
	}
	return d.send(ctx, s.SMTP, m)
}

func list(s Setup, name string) (List, bool) {
	for _, l := range s.Lists {
		if l.Name == name {
			return l, true
		}
	}
	return List{}, false
}

// message builds the MIME message. Its Message-ID is the same for every
// try of one version to one list, so a message sent twice (a retry after
// a lost answer) is one message to the list's archive and to mail clients.
func (d *Destination) message(bd board.Board, a board.Announcement, smtp SMTP, l List, p sendPayload) (*gomail.Msg, error) {
	m := gomail.NewMsg()
	if err := m.From(smtp.From); err != nil {
		return nil, fmt.Errorf("from: %w", err)
	}
	if err := m.To(l.To); err != nil {
		return nil, fmt.Errorf("to: %w", err)
	}
	link := d.links.AnnouncementURL(bd.Name, a.ID)
	lc := locale.Of(bd, a)
	subject := lc.T("mail.subject", lc.KindLabel(a), a.Title)
	if p.FollowUp {
		subject = lc.T("post."+board.FollowUpOf(a, p.Changes), subject)
	}
	m.Subject(subject)
	m.SetDate()
	from, _ := mail.ParseAddress(smtp.From)
	domain := from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s/%d/%d/%s/%v", bd.Name, a.ID, p.Version, l.Name, p.FollowUp)))
	m.SetMessageIDWithValue("crieur." + hex.EncodeToString(sum[:12]) + "@" + domain)
	lang := a.Language // the text's; the labels' when it has none
	if lang == "" {
		lang = lc.Lang()
	}
	m.SetGenHeader(gomail.HeaderContentLang, lang)
	if l.ListUnsubscribe != "" {
		m.SetGenHeaderPreformatted(gomail.HeaderListUnsubscribe, l.ListUnsubscribe)
	}
	m.SetUserAgent("Crieur")
	text, html := Render(bd, a, link, p.FollowUp, p.Changes)
	m.SetBodyString(gomail.TypeTextPlain, text)
	m.AddAlternativeString(gomail.TypeTextHTML, html)
	return m, nil
}

// send delivers one message. A refusal of the message or the address
// (5xx) will not change by retrying; a connection problem or a 4xx
// ("try again later") will.
func (d *Destination) send(ctx context.Context, s SMTP, m *gomail.Msg) error {
	dial := d.dial
	if s.Security == "tls" {
		// go-mail wraps TLS itself only around its own dialer: with the
		// guarded one, implicit TLS is done here.
		dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := d.dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			tc := tls.Client(conn, &tls.Config{ServerName: s.Host, MinVersion: tls.VersionTLS12})
			if err := tc.HandshakeContext(ctx); err != nil {
				conn.Close()
				return nil, err
			}
			return tc, nil
		}
	}
	opts := append([]gomail.Option{gomail.WithPort(s.Port), gomail.WithTimeout(d.timeout), gomail.WithDialContextFunc(dial)}, d.options...)
	switch s.Security {
	case "tls":
		// Implicit TLS on the port given (465 by default), done by dial
		// above; go-mail then finds the connection encrypted by itself
		// (with WithSSL and a dialer of ours it would take it for plain
		// text and refuse to log in).
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	case "none":
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if s.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover), gomail.WithUsername(s.Username), gomail.WithPassword(s.Password))
	}
	c, err := gomail.NewClient(s.Host, opts...)
	if err != nil {
		return delivery.Permanent(fmt.Errorf("SMTP %s: %w", s.Host, err))
	}
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		// A 5xx answer to the sender, the address or the message will not
		// change by retrying; anything else (no connection, 4xx) may.
		var se *gomail.SendError
		permanent := errors.As(err, &se) && se.ErrorCode() >= 500
		d.log.InfoContext(ctx, "e-mail: SMTP failed", "host", s.Host, "port", s.Port, "err", redact(err.Error(), s.Password))
		msg := smtpError(s, err)
		if permanent || errors.Is(err, outbound.ErrForbiddenAddress) {
			return delivery.Permanent(msg)
		}
		return msg
	}
	return nil
}

// SendTest mails a short test message to one list and returns the exact
// error, for the "send a test message" button.
func (d *Destination) SendTest(ctx context.Context, b board.Board, name string) error {
	s, err := d.Setup(ctx, b.ID)
	if err != nil {
		return err
	}
	l, ok := list(s, name)
	if !ok {
		return fmt.Errorf("this board has no list called %q", name)
	}
	m := gomail.NewMsg()
	if err := m.From(s.SMTP.From); err != nil {
		return err
	}
	if err := m.To(l.To); err != nil {
		return err
	}
	lc := locale.OfBoard(b) // the list's readers read the board's language
	m.Subject(lc.T("test.subject", b.DisplayName))
	m.SetDate()
	m.SetMessageID()
	m.SetGenHeader(gomail.HeaderContentLang, lc.Lang())
	m.SetBodyString(gomail.TypeTextPlain, lc.T("test.mail", b.DisplayName)+"\n\n"+d.links.BoardURL(b.Name)+"\n")
	return d.send(ctx, s.SMTP, m)
}

// smtpError says what went wrong in words of Crieur's own and the SMTP
// reply code, never the remote's text: the error reaches whoever pressed
// "send a test message" and the deliveries list, and a host aimed at a
// service that is not a mail server would otherwise have its answer
// (a banner, an error page) read back through Crieur. The log line has it.
func smtpError(s SMTP, err error) error {
	where := fmt.Sprintf("SMTP %s:%d", s.Host, s.Port)
	var se *gomail.SendError
	var te *textproto.Error
	var ne net.Error
	switch {
	case errors.Is(err, outbound.ErrForbiddenAddress):
		return fmt.Errorf("%s: refused: private address (not a public Internet address; the operator can allow private addresses in the configuration file)", where)
	case errors.As(err, &se) && se.ErrorCode() > 0:
		return fmt.Errorf("%s: the server refused it while %s (reply %d)", where, se.Reason, se.ErrorCode())
	case errors.As(err, &se):
		return fmt.Errorf("%s: the server refused it while %s", where, se.Reason)
	case errors.As(err, &te):
		return fmt.Errorf("%s: the server answered with reply %d", where, te.Code)
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("%s: no answer in time", where)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("%s: nothing listens there (connection refused)", where)
	default:
		return fmt.Errorf("%s: the exchange failed (not an SMTP server, a TLS problem, or the connection dropped; Crieur's log says more)", where)
	}
}

// redact keeps the password out of an error, however the library words it.
func redact(msg, password string) string {
	if password == "" {
		return msg
	}
	return strings.ReplaceAll(msg, password, "(password)")
}
