package email

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/mail"
	"strings"

	gomail "github.com/wneessen/go-mail"

	"crieur/board"
	"crieur/board/locale"
	"crieur/federation/delivery"
)

// personNotice is a mail to one web registrant, as queued: the address
// and the withdraw link's key travel with the job (the store keeps only
// the key's hash), never into a log line.
type personNotice struct {
	What      board.Told `json:"what"`
	To        string     `json:"to"`
	Name      string     `json:"name,omitempty"`
	Lang      string     `json:"lang,omitempty"`
	Confirmed []string   `json:"confirmed,omitempty"`
	Waiting   []string   `json:"waiting,omitempty"`
	Token     string     `json:"token,omitempty"`
	Key       string     `json:"key"`
}

// Tell implements board.PersonNotifier for web registrants who left an
// e-mail address as their contact (a phone number, or nothing, gets no
// mail): their sign-up confirmed with a one-click withdraw link, a place
// freed up for them, the training cancelled or back on, the reminder. It
// goes through the board's SMTP settings, in the language they signed up
// in; a board without them mails nobody.
func (d *Destination) Tell(ctx context.Context, b board.Board, a board.Announcement, n board.Notice) {
	if n.Person.Kind != board.PersonWeb || d.queue == nil {
		return
	}
	addr, err := mail.ParseAddress(n.Person.Contact)
	if err != nil || !strings.Contains(addr.Address, "@") {
		return
	}
	if _, err := d.Setup(ctx, b.ID); err != nil {
		if !errors.Is(err, ErrNoSetup) {
			d.log.ErrorContext(ctx, "e-mail: read the set-up", "board", b.Name, "err", err)
		}
		return
	}
	pn := personNotice{What: n.What, To: addr.Address, Name: n.Person.Name, Lang: n.Person.Lang,
		Confirmed: n.Confirmed, Waiting: n.Waiting, Token: n.WithdrawToken, Key: n.Key}
	p, err := json.Marshal(sendPayload{Board: b.Name, AnnouncementID: a.ID, Notice: &pn})
	if err != nil {
		return
	}
	// One job per person, notice and key: told again (a restart before
	// the reminder was marked) it is the same job, and one mail.
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s/%d/%s/%s/%s", b.Name, a.ID, addr.Address, n.What, n.Key)))
	job := delivery.Job{ID: "mailto:" + hex.EncodeToString(sum[:12]), Kind: KindSend, Target: "email:registrant", Payload: p}
	if err := d.queue.Enqueue(ctx, job); err != nil {
		d.log.ErrorContext(ctx, "e-mail: queue a registrant's mail", "board", b.Name, "announcement", a.ID, "err", err)
	}
}

// noticeMessage is the mail of one notice, in the registrant's language
// (the announcement's when they signed up in one the catalogue lacks).
func (d *Destination) noticeMessage(bd board.Board, a board.Announcement, smtp SMTP, n personNotice) (*gomail.Msg, error) {
	l := locale.Of(bd, a)
	if n.Lang != "" && locale.Supported(n.Lang) {
		l = locale.For(n.Lang).InZone(bd.Location())
	}
	link := d.links.AnnouncementURL(bd.Name, a.ID)
	lines := l.NoticeLines(a, board.Notice{What: n.What, Confirmed: n.Confirmed, Waiting: n.Waiting})
	if len(lines) == 0 {
		return nil, fmt.Errorf("no mail for %q", n.What)
	}
	withdraw := ""
	if n.Token != "" {
		withdraw = d.links.WithdrawURL(bd.Name, a.ID, n.Token)
	}
	m := gomail.NewMsg()
	if err := m.From(smtp.From); err != nil {
		return nil, fmt.Errorf("from: %w", err)
	}
	if err := m.AddToFormat(n.Name, n.To); err != nil {
		return nil, fmt.Errorf("to: %w", err)
	}
	m.Subject(l.T("mail.notice_subject", a.Title))
	m.SetDate()
	from, _ := mail.ParseAddress(smtp.From)
	domain := from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s/%d/%s/%s/%s", bd.Name, a.ID, n.To, n.What, n.Key)))
	m.SetMessageIDWithValue("crieur.notice." + hex.EncodeToString(sum[:12]) + "@" + domain)
	m.SetGenHeader(gomail.HeaderContentLang, l.Lang())
	m.SetUserAgent("Crieur")
	var t, h strings.Builder
	for _, line := range lines {
		t.WriteString(line + "\n")
		fmt.Fprintf(&h, "<p>%s</p>", html.EscapeString(line))
	}
	fmt.Fprintf(&t, "\n%s %s\n", l.Colon(l.T("post.read_on_board")), link)
	fmt.Fprintf(&h, `<p><a href="%s">%s</a></p>`, html.EscapeString(link), html.EscapeString(l.T("post.read_on_board")))
	if withdraw != "" {
		fmt.Fprintf(&t, "\n%s\n", l.T("vote.withdraw", withdraw))
		fmt.Fprintf(&h, `<p>%s <a href="%s">%s</a>.</p>`, html.EscapeString(l.T("dm.changed_mind")), html.EscapeString(withdraw), html.EscapeString(l.T("dm.withdraw_here")))
	}
	text, htmlPart := footer(l, &t, &h, bd)
	m.SetBodyString(gomail.TypeTextPlain, text)
	m.AddAlternativeString(gomail.TypeTextHTML, htmlPart)
	return m, nil
}
