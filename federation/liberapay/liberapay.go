// Package liberapay reads the totals of donation campaigns whose link is
// a Liberapay page, from the page's public JSON, and hands them to the
// board: the campaign's progress then follows the platform without an
// editor typing it.
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
	"strconv"
	"strings"
	"time"

	"crieur/board"
)

// Campaigns is what the poller needs of the board: the running
// campaigns, and a way to record a total (board.Service and its store).
type Campaigns interface {
	RunningCampaigns(ctx context.Context) ([]board.Announcement, error)
	BoardByName(ctx context.Context, name string) (board.Board, error)
}

// Recorder records a campaign's total (board.Service).
type Recorder interface {
	SetRaised(ctx context.Context, actor board.Actor, b board.Board, id int64, raised float64) (board.Announcement, error)
}

// Poller reads Liberapay totals every Every.
type Poller struct {
	Base      string // https://liberapay.com
	Every     time.Duration
	Campaigns Campaigns
	Recorder  Recorder
	HTTP      *http.Client
	Log       *slog.Logger
}

// public is the part of a Liberapay account's public.json Crieur reads:
// what it receives, as an amount string and a currency.
type public struct {
	Receiving *struct {
		Amount   string `json:"amount"`
		Currency string `json:"currency"`
	} `json:"receiving"`
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

// Once reads every Liberapay campaign's total once.
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
		amount, err := p.receiving(ctx, account, a.Campaign.Currency)
		if err != nil {
			p.Log.WarnContext(ctx, "liberapay: read total", "board", a.Board, "announcement", a.ID, "account", account, "err", err)
			continue
		}
		if amount == a.Campaign.Raised {
			continue
		}
		b, err := p.Campaigns.BoardByName(ctx, a.Board)
		if err == nil {
			_, err = p.Recorder.SetRaised(ctx, board.System, b, a.ID, amount)
		}
		if err != nil {
			p.Log.WarnContext(ctx, "liberapay: record total", "announcement", a.ID, "err", err)
		}
	}
}

// account is the Liberapay account a campaign links to, if it does.
func (p *Poller) account(c *board.Campaign) (string, bool) {
	if c == nil {
		return "", false
	}
	rest, ok := strings.CutPrefix(c.Link, strings.TrimSuffix(p.Base, "/")+"/")
	if !ok {
		return "", false
	}
	name, _, _ := strings.Cut(rest, "/")
	if name == "" || strings.ContainsAny(name, "?#") {
		return "", false
	}
	return name, true
}

func (p *Poller) receiving(ctx context.Context, account, currency string) (float64, error) {
	u := strings.TrimSuffix(p.Base, "/") + "/" + url.PathEscape(account) + "/public.json"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := p.HTTP.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s answered %s", u, resp.Status)
	}
	var pub public
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&pub); err != nil {
		return 0, fmt.Errorf("%s: %w", u, err)
	}
	if pub.Receiving == nil {
		return 0, fmt.Errorf("%s hides what it receives", u)
	}
	if pub.Receiving.Currency != currency {
		return 0, fmt.Errorf("%s receives %s, the campaign counts %s", u, pub.Receiving.Currency, currency)
	}
	return strconv.ParseFloat(pub.Receiving.Amount, 64)
}
