// Package liberapay reads what the Liberapay accounts of donation
// campaigns receive, from each account's public JSON, and hands it to the
// board: recurring income per week, its patrons and its goal, which the
// campaign then shows without an editor typing it.
//
// It must not change a campaign itself: the board service records the
// total, as it would an editor's.
package liberapay

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"crieur/board"
)

// Campaigns is what the poller needs of the board: the running
// campaigns, and their boards.
type Campaigns interface {
	RunningCampaigns(ctx context.Context) ([]board.Announcement, error)
	BoardByName(ctx context.Context, name string) (board.Board, error)
}

// Recorder records what an account receives, or why it could not be read
// (board.Service).
type Recorder interface {
	SetIncome(ctx context.Context, actor board.Actor, b board.Board, id int64, in board.Income) (board.Announcement, error)
	SetSourceProblem(ctx context.Context, b board.Board, id int64, p *board.SourceProblem) error
}

// Poller reads Liberapay accounts every Every.
type Poller struct {
	Base      string // https://liberapay.com
	Every     time.Duration
	Campaigns Campaigns
	Recorder  Recorder
	HTTP      *http.Client
	Log       *slog.Logger
}

// money is an amount as Liberapay writes it in JSON: a decimal string and
// an ISO 4217 currency (liberapay/main.py registers Money's encoder as
// {'amount': str(m.amount), 'currency': m.currency}).
type money struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

// public is the part of an account's public.json Crieur reads, as
// Participant.to_dict(details=True) writes it (liberapay/models/
// participant.py): npatrons, goal (absent when the account takes no
// donations, null when it has no goal) and receiving (null when the owner
// hides it). Amounts are per week: Liberapay converts every tip to its
// weekly amount (monthly = 12/52) and shows the sum as "/week".
type public struct {
	NPatrons  int    `json:"npatrons"`
	Goal      *money `json:"goal"`
	Receiving *money `json:"receiving"`
}

// Catalogue keys of what an account's answer can make impossible, shown
// to the editors (board.Campaign.SourceProblem).
const (
	problemHidden   = "editor.source_hidden"
	problemCurrency = "editor.source_currency"
	problemMissing  = "editor.source_missing"
)

// Follows reports whether link is a Liberapay account's page under base:
// such a campaign counts recurring income (board.Options.Recurring).
func Follows(base string) func(link string) bool {
	p := &Poller{Base: base}
	return func(link string) bool {
		_, ok := p.account(&board.Campaign{Link: link})
		return ok
	}
}

// Run polls until ctx ends.
func (p *Poller) Run(ctx context.Context) {
	if p.Every <= 0 || p.Base == "" {
		return
	}
	t := time.NewTicker(p.Every)
	defer t.Stop()
	for {
		p.Once(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Once reads every Liberapay campaign's account once.
func (p *Poller) Once(ctx context.Context) {
	list, err := p.Campaigns.RunningCampaigns(ctx)
	if err != nil {
		p.Log.WarnContext(ctx, "liberapay: list campaigns", "err", err)
		return
	}
	for _, a := range list {
		account, ok := p.account(a.Campaign)
		if !ok || a.Campaign.Over(time.Now()) {
			continue
		}
		in, problem, err := p.read(ctx, account, a.Campaign.Currency)
		if err != nil {
			p.Log.WarnContext(ctx, "liberapay: read account", "board", a.Board, "announcement", a.ID, "account", account, "err", err)
			continue
		}
		b, err := p.Campaigns.BoardByName(ctx, a.Board)
		if err != nil {
			p.Log.WarnContext(ctx, "liberapay: board", "announcement", a.ID, "err", err)
			continue
		}
		if !reflect.DeepEqual(problem, a.Campaign.SourceProblem) {
			if problem != nil {
				p.Log.WarnContext(ctx, "liberapay: account cannot be followed", "board", a.Board, "announcement", a.ID, "account", account, "why", problem.Key)
			}
			if err := p.Recorder.SetSourceProblem(ctx, b, a.ID, problem); err != nil {
				p.Log.WarnContext(ctx, "liberapay: record problem", "announcement", a.ID, "err", err)
			}
		}
		if problem != nil {
			continue
		}
		if _, err := p.Recorder.SetIncome(ctx, board.System, b, a.ID, in); err != nil {
			p.Log.WarnContext(ctx, "liberapay: record income", "announcement", a.ID, "err", err)
		}
	}
}

// account is the Liberapay account a campaign links to, if it does: a
// page under the base's host or one of its language subdomains
// (fr.liberapay.com, www.liberapay.com), over http or https, as people
// copy it from their browser.
func (p *Poller) account(c *board.Campaign) (string, bool) {
	if c == nil {
		return "", false
	}
	base, err := url.Parse(p.Base)
	if err != nil || base.Host == "" {
		return "", false
	}
	u, err := url.Parse(c.Link)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", false
	}
	if host := strings.ToLower(u.Host); host != base.Host && !strings.HasSuffix(host, "."+base.Host) {
		return "", false
	}
	rest, ok := strings.CutPrefix(u.EscapedPath(), strings.TrimSuffix(base.EscapedPath(), "/")+"/")
	if !ok {
		return "", false
	}
	name, _, _ := strings.Cut(rest, "/")
	if name == "" {
		return "", false
	}
	return name, true
}

// read asks Liberapay what account receives. An answer Crieur cannot use
// (no such account, hidden, another currency) is a problem for the
// editors; err is for what may pass (the network, a 5xx).
func (p *Poller) read(ctx context.Context, account, currency string) (board.Income, *board.SourceProblem, error) {
	u := strings.TrimSuffix(p.Base, "/") + "/" + url.PathEscape(account) + "/public.json"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return board.Income{}, nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := p.HTTP.Do(req)
	if err != nil {
		return board.Income{}, nil, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return board.Income{}, &board.SourceProblem{Key: problemMissing, Args: []string{account}}, nil
	case resp.StatusCode != http.StatusOK:
		return board.Income{}, nil, fmt.Errorf("%s answered %s", u, resp.Status)
	}
	var pub public
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&pub); err != nil {
		return board.Income{}, nil, fmt.Errorf("%s: %w", u, err)
	}
	if pub.Receiving == nil {
		return board.Income{}, &board.SourceProblem{Key: problemHidden, Args: []string{account}}, nil
	}
	if pub.Receiving.Currency != currency {
		return board.Income{}, &board.SourceProblem{Key: problemCurrency, Args: []string{account, pub.Receiving.Currency, currency}}, nil
	}
	weekly, err := strconv.ParseFloat(pub.Receiving.Amount, 64)
	if err != nil {
		return board.Income{}, nil, fmt.Errorf("%s: receiving: %w", u, err)
	}
	in := board.Income{Weekly: weekly, Currency: currency, Patrons: pub.NPatrons}
	if g := pub.Goal; g != nil && g.Currency == currency {
		if in.Goal, err = strconv.ParseFloat(g.Amount, 64); err != nil {
			return board.Income{}, nil, fmt.Errorf("%s: goal: %w", u, err)
		}
	}
	return in, nil, nil
}
