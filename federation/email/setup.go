package email

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"crieur/board"
)

// EditorSetup is the editor's view of a board's mailing lists
// (board.DestinationSetup).
type EditorSetup struct{ D *Destination }

func (EditorSetup) Key() string   { return "email" }
func (EditorSetup) Title() string { return "setup.email" }

func (e EditorSetup) current(ctx context.Context, b board.Board) (Setup, error) {
	s, err := e.D.Setup(ctx, b.ID)
	if errors.Is(err, ErrNoSetup) {
		return Setup{}, nil
	}
	return s, err
}

// Items lists the addresses mailed.
func (e EditorSetup) Items(ctx context.Context, b board.Board) ([]board.SetupItem, error) {
	s, err := e.current(ctx, b)
	var out []board.SetupItem
	for _, l := range s.Lists {
		sum := board.Problemf("setup.list_all", l.To)
		if len(l.Kinds) > 0 {
			kinds := make([]string, len(l.Kinds))
			for i, k := range l.Kinds {
				kinds[i] = string(k)
			}
			sum = board.Problemf("setup.list_only", l.To, strings.Join(kinds, ", "))
		}
		out = append(out, board.SetupItem{Name: l.Name, Summary: sum})
	}
	return out, err
}

// Forms are the sending server's settings and a list to add or change.
func (e EditorSetup) Forms(ctx context.Context, b board.Board) ([]board.SetupForm, error) {
	s, err := e.current(ctx, b)
	if err != nil {
		return nil, err
	}
	port := ""
	if s.SMTP.Port != 0 {
		port = strconv.Itoa(s.SMTP.Port)
	}
	return []board.SetupForm{
		{ID: "smtp", Title: "setup.smtp_form", Help: "setup.smtp_help",
			Fields: []board.SetupField{
				{Name: "host", Label: "setup.host", Help: "setup.host_help", Type: "text", Value: s.SMTP.Host},
				{Name: "port", Label: "setup.port", Help: "setup.port_help", Type: "number", Value: port},
				{Name: "security", Label: "setup.security", Help: "setup.security_help", Type: "text", Value: s.SMTP.Security},
				{Name: "username", Label: "setup.username", Type: "text", Value: s.SMTP.Username},
				{Name: "password", Label: "setup.password", Help: "setup.password_help", Type: "password", Set: s.SMTP.Password != ""},
				{Name: "from", Label: "setup.from", Help: "setup.from_help", Type: "text", Value: s.SMTP.From},
			}},
		{ID: "list", Title: "setup.list_form", Fields: []board.SetupField{
			{Name: "name", Label: "setup.name", Help: "setup.list_name_help", Type: "text"},
			{Name: "to", Label: "setup.to", Help: "setup.to_help", Type: "email"},
			{Name: "kinds", Label: "setup.kinds", Help: "setup.kinds_help", Type: "text"},
			{Name: "list_unsubscribe", Label: "setup.unsubscribe", Help: "setup.unsubscribe_help", Type: "text"},
		}},
	}, nil
}

// Submit saves the server's settings or one list.
func (e EditorSetup) Submit(ctx context.Context, b board.Board, form string, v url.Values) (board.Problems, error) {
	s, err := e.current(ctx, b)
	if err != nil {
		return nil, err
	}
	field := func(k string) string { return strings.TrimSpace(v.Get(k)) }
	switch form {
	case "smtp":
		s.SMTP.Host, s.SMTP.Security, s.SMTP.Username, s.SMTP.From = field("host"), field("security"), field("username"), field("from")
		s.SMTP.Port = 0
		if p := field("port"); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil {
				return board.Problems{"port": board.Problemf("problem.smtp_port")}, nil
			}
			s.SMTP.Port = n
		}
		if p := v.Get("password"); p != "" {
			s.SMTP.Password = p
		}
	case "list":
		l := List{Name: field("name"), To: field("to"), ListUnsubscribe: field("list_unsubscribe")}
		for _, k := range strings.FieldsFunc(field("kinds"), func(r rune) bool { return r == ',' || r == ' ' }) {
			l.Kinds = append(l.Kinds, board.Kind(k))
		}
		var lists []List
		for _, o := range s.Lists {
			if o.Name != l.Name {
				lists = append(lists, o)
			}
		}
		s.Lists = append(lists, l)
	default:
		return nil, fmt.Errorf("unknown form %q", form)
	}
	if errs := Check(&s); len(errs) > 0 {
		out := board.Problems{}
		for k, msg := range errs {
			if form == "list" && strings.HasPrefix(k, "smtp.") {
				out["form"] = board.Problemf("problem.smtp_first")
				continue
			}
			if i := strings.LastIndexByte(k, '.'); i >= 0 {
				k = k[i+1:]
			}
			out[k] = msg
		}
		return out, nil
	}
	return nil, e.D.Save(ctx, b.ID, s)
}

// Remove drops a list.
func (e EditorSetup) Remove(ctx context.Context, b board.Board, name string) error {
	s, err := e.current(ctx, b)
	if err != nil {
		return err
	}
	var lists []List
	for _, o := range s.Lists {
		if o.Name != name {
			lists = append(lists, o)
		}
	}
	s.Lists = lists
	return e.D.Save(ctx, b.ID, s)
}

// SendTest mails a test message.
func (e EditorSetup) SendTest(ctx context.Context, b board.Board, name string) error {
	return e.D.SendTest(ctx, b, name)
}
