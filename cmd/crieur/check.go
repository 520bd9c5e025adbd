package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"crieur/board/locale"
	"crieur/board/store"
	"crieur/config"
	"crieur/federation/discourse"
	"crieur/federation/matrix"
)

// checkCmd looks at a deployment the way a fediverse server and an
// operator would, from the machine itself, and says in one line per check
// what makes a board followable or not. Exit status 1 when one fails.
func checkCmd(ctx context.Context, args []string, stdout io.Writer, env []string) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stdout) // --help and mistakes are read where the command answers
	var timeFrom stringList
	fs.Var(&timeFrom, "time-from", "a server whose clock to compare with (its Date header); default: the hosts of the boards' followers")
	keys := fs.String("keys", "", "the key folder of crieur deliver workers, to check it is private")
	backups := fs.String("backups", "", "the folder crieur backup writes to: each backup must be private and whole, the newest at most a week old")
	cfg, err := loadConfig(fs, args, env)
	if err != nil {
		return err
	}
	c := &checker{out: stdout, http: &http.Client{Timeout: 10 * time.Second}}
	db, err := openDB(cfg, false)
	if err != nil {
		return err
	}
	defer db.Close()
	// A check reads; it never migrates the store (an older binary's
	// check must not upgrade, nor a newer one's change, what serve runs).
	st, err := store.Existing(ctx, db)
	if err != nil {
		c.fail("%v", err)
	}
	c.https(cfg)
	var hosts []string
	if st != nil {
		hosts = c.publicDocuments(ctx, cfg, st)
	} else {
		c.skip("the boards' WebFinger and actors: the store is not at this release's schema")
	}
	c.clock(ctx, timeFrom, hosts)
	c.redis(ctx, cfg)
	c.private("the data folder "+cfg.DataDir, cfg.DataDir, "it holds the boards' private keys")
	if cfg.TLSKey != "" {
		c.private("the TLS key "+cfg.TLSKey, cfg.TLSKey, "whoever reads it can pose as this server")
	}
	if *keys != "" {
		c.keyFiles(*keys)
	}
	if *backups != "" {
		c.backups(*backups, time.Now())
	}
	if st != nil {
		c.matrix(ctx, st, db)
		c.discourse(ctx, st, db)
		c.campaigns(ctx, st)
	}
	if c.failed > 0 {
		return fmt.Errorf("%d %s failed", c.failed, map[bool]string{true: "check", false: "checks"}[c.failed == 1])
	}
	fmt.Fprintln(stdout, "every check passed")
	return nil
}

type checker struct {
	out    io.Writer
	http   *http.Client
	failed int
}

func (c *checker) ok(format string, a ...any) { fmt.Fprintf(c.out, "ok    "+format+"\n", a...) }
func (c *checker) skip(format string, a ...any) {
	fmt.Fprintf(c.out, "skip  "+format+"\n", a...)
}
func (c *checker) fail(format string, a ...any) {
	c.failed++
	fmt.Fprintf(c.out, "FAIL  "+format+"\n", a...)
}

// https: Mastodon follows only https actors with a certificate it trusts.
func (c *checker) https(cfg config.Config) {
	if !strings.HasPrefix(cfg.PublicURL, "https://") {
		c.fail("public_url is %s: Mastodon follows only https actors; put a TLS proxy in front, set tls = \"auto\" (Let's Encrypt), or set tls_cert and tls_key", cfg.PublicURL)
		return
	}
	resp, err := c.http.Get(cfg.PublicURL + "/.well-known/nodeinfo")
	if err != nil {
		c.fail("%s does not answer over https with a certificate this machine trusts: %v (is public_url the address peers reach?)", cfg.PublicURL, err)
		return
	}
	resp.Body.Close()
	c.ok("%s answers over https with a valid certificate", cfg.PublicURL)
}

// publicDocuments follows what a server does to follow @board@host:
// WebFinger, then the actor, whose ids must be under public_url. It
// returns the followers' hosts it knows of, for the clock check.
func (c *checker) publicDocuments(ctx context.Context, cfg config.Config, store *store.Store) []string {
	boards, err := store.Boards(ctx)
	if err != nil || len(boards) == 0 {
		c.fail("the store has no board (%v)", err)
		return nil
	}
	// NodeInfo first: it says which address the running server believes
	// is its own.
	var ni struct{ Links []struct{ Rel, Href string } }
	if err := c.getJSON(ctx, cfg.PublicURL+"/.well-known/nodeinfo", "application/json", &ni); err != nil || len(ni.Links) == 0 {
		c.fail("NodeInfo does not answer at %s/.well-known/nodeinfo (%v): is crieur serve running there?", cfg.PublicURL, err)
		return nil
	}
	if href := ni.Links[0].Href; !strings.HasPrefix(href, cfg.PublicURL+"/") {
		c.fail("the server at %s says its address is %s: crieur serve runs with another public_url than this one; ids are made from it, so set the one address peers reach, the same everywhere", cfg.PublicURL, strings.TrimSuffix(href, "/nodeinfo/2.1"))
		return nil
	}
	c.ok("NodeInfo answers at %s", ni.Links[0].Href)
	u, _ := url.Parse(cfg.PublicURL)
	var hosts []string
	for _, b := range boards {
		want := cfg.PublicURL + "/boards/" + b.Name
		handle := b.Name + "@" + u.Host
		var wf struct {
			Links []struct{ Rel, Type, Href string }
		}
		if err := c.getJSON(ctx, cfg.PublicURL+"/.well-known/webfinger?resource=acct:"+url.QueryEscape(handle), "application/jrd+json", &wf); err != nil {
			c.fail("WebFinger for @%s: %v", handle, err)
			continue
		}
		self := ""
		for _, l := range wf.Links {
			if l.Rel == "self" {
				self = l.Href
			}
		}
		if self != want {
			c.fail("WebFinger for @%s names %q, not %s: the server runs with another public_url than this one (it is in every id: set the same in both, the address peers reach)", handle, self, want)
			continue
		}
		var actor struct {
			ID, Inbox string
			PublicKey struct{ ID string } `json:"publicKey"`
		}
		if err := c.getJSON(ctx, want, "application/activity+json", &actor); err != nil {
			c.fail("the actor of @%s: %v", handle, err)
			continue
		}
		if actor.ID != want || !strings.HasPrefix(actor.Inbox, want) || !strings.HasPrefix(actor.PublicKey.ID, want) {
			c.fail("the actor of @%s says id %q, inbox %q, key %q: all must be under %s", handle, actor.ID, actor.Inbox, actor.PublicKey.ID, want)
			continue
		}
		c.ok("@%s: WebFinger and the actor answer with the right ids", handle)
		followers, err := store.Followers(ctx, b.ID)
		if err == nil {
			for _, f := range followers {
				if fu, err := url.Parse(f.DeliveryInbox()); err == nil && len(hosts) < 3 && !slices.Contains(hosts, fu.Scheme+"://"+fu.Host) {
					hosts = append(hosts, fu.Scheme+"://"+fu.Host)
				}
			}
		}
	}
	return hosts
}

func (c *checker) getJSON(ctx context.Context, u, accept string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", accept)
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answers %s", u, resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out); err != nil {
		return fmt.Errorf("%s: %w", u, err)
	}
	return nil
}

// clock compares this machine's clock with servers it signs requests
// for: HTTP signatures are refused when the clocks differ by minutes.
func (c *checker) clock(ctx context.Context, from, followerHosts []string) {
	refs := from
	if len(refs) == 0 {
		refs = followerHosts
	}
	if len(refs) == 0 {
		c.skip("the clock: no follower yet to compare with; run crieur check --time-from https://a-server-you-trust")
		return
	}
	for _, ref := range refs {
		req, err := http.NewRequestWithContext(ctx, http.MethodHead, ref, nil)
		if err != nil {
			c.fail("the clock: %v", err)
			continue
		}
		sent := time.Now()
		resp, err := c.http.Do(req)
		if err != nil {
			c.skip("the clock: %s does not answer (%v)", ref, err)
			continue
		}
		resp.Body.Close()
		theirs, err := http.ParseTime(resp.Header.Get("Date"))
		if err != nil {
			c.skip("the clock: %s sends no Date", ref)
			continue
		}
		// Date has whole seconds: the middle of its second against the
		// middle of the exchange.
		theirs = theirs.Add(500 * time.Millisecond)
		ours := sent.Add(time.Since(sent) / 2)
		skew := ours.Sub(theirs).Round(time.Second)
		switch {
		case skew > time.Minute:
			c.fail("this machine's clock is %s ahead of %s's: servers refuse signatures dated that far off; keep it in time (systemd-timesyncd, chrony)", skew, ref)
		case skew < -time.Minute:
			c.fail("this machine's clock is %s behind %s's: servers refuse signatures dated that far off; keep it in time (systemd-timesyncd, chrony)", -skew, ref)
		default:
			c.ok("the clock is within %s of %s's", max(skew, -skew, time.Second), ref)
		}
	}
}

// redis: the queue lives in Redis; without its append-only file a restart
// loses every queued delivery.
func (c *checker) redis(ctx context.Context, cfg config.Config) {
	if cfg.RedisURL == "" {
		c.skip("Redis: not used (the queue is in the store)")
		return
	}
	opt, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		c.fail("redis_url: %v", err)
		return
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	vals, err := rdb.ConfigGet(ctx, "appendonly").Result()
	if err != nil {
		if perr := rdb.Ping(ctx).Err(); perr != nil {
			c.fail("Redis at %s does not answer: %v", opt.Addr, perr)
		} else {
			c.skip("Redis at %s: its settings cannot be read (%v); make sure it runs with appendonly yes", opt.Addr, err)
		}
		return
	}
	if vals["appendonly"] != "yes" {
		c.fail("Redis at %s runs with appendonly %s: a restart of Redis loses the queued deliveries; set appendonly yes", opt.Addr, vals["appendonly"])
		return
	}
	c.ok("Redis at %s keeps an append-only file", opt.Addr)
}

// private: secrets must not be readable by other users of the machine.
func (c *checker) private(what, path, why string) {
	st, err := os.Stat(path)
	if err != nil {
		c.fail("%s: %v", what, err)
		return
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		c.fail("%s can be read by other users (%04o): %s; chmod go-rwx %s", what, perm, why, path)
		return
	}
	c.ok("%s is private", what)
}

// backupWeek is the oldest the newest backup may be: a backup a week is
// the least a board's keys, followers and sign-ups deserve.
const backupWeek = 8 * 24 * time.Hour

// backups: each backup holds the boards' private keys and tokens, so it is
// private like the data folder; each reads through whole, as restore would
// read it; and the newest is recent.
func (c *checker) backups(dir string, now time.Time) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.tar.gz"))
	if len(files) == 0 {
		c.fail("the backup folder %s has no backup: crieur backup %s/crieur-$(date +%%F).tar.gz", dir, dir)
		return
	}
	var newest string
	var newestAt time.Time
	for _, f := range files {
		c.private("the backup "+f, f, "it holds the boards' private keys and the destinations' secrets (the Matrix token, the SMTP password, the webhook URLs, the Discourse API keys)")
		if err := walkBackup(f, func(string, bool, io.Reader) error { return nil }); err != nil {
			c.fail("the backup %s cannot be restored: %v", f, err)
			continue
		}
		if st, err := os.Stat(f); err == nil && st.ModTime().After(newestAt) {
			newest, newestAt = f, st.ModTime()
		}
	}
	if newest == "" {
		return
	}
	days := int(now.Sub(newestAt).Hours() / 24)
	if now.Sub(newestAt) > backupWeek {
		c.fail("the newest whole backup, %s, is %d days old: take one now (crieur backup) and every week", newest, days)
		return
	}
	c.ok("the newest backup, %s, reads through whole and is %d days old", newest, days)
}

func (c *checker) keyFiles(dir string) {
	files, err := filepath.Glob(filepath.Join(dir, "*.pem"))
	if err != nil || len(files) == 0 {
		c.fail("the key folder %s has no .pem file (crieur board key NAME > %s/NAME.pem)", dir, dir)
		return
	}
	for _, f := range files {
		c.private("the key file "+f, f, "it signs in the board's name")
	}
}

func (c *checker) matrix(ctx context.Context, store *store.Store, db *sql.DB) {
	mstore := matrix.NewStore(db)
	boards, _ := store.Boards(ctx)
	for _, b := range boards {
		line, err := matrix.CheckSetup(ctx, mstore, b.ID, c.http)
		switch {
		case errors.Is(err, matrix.ErrNoSetup):
			c.skip("Matrix for %s: not set up", b.Name)
		case err != nil:
			c.fail("Matrix for %s: %v", b.Name, err)
		default:
			c.ok("Matrix for %s: %s", b.Name, line)
		}
	}
}

// discourse says, for each board with a forum, whether the key is
// accepted and where topics go, posting nothing and saving nothing.
func (c *checker) discourse(ctx context.Context, store *store.Store, db *sql.DB) {
	boards, _ := store.Boards(ctx)
	for _, b := range boards {
		found, err := discourse.Probe(ctx, db, b.ID, c.http)
		switch {
		case errors.Is(err, discourse.ErrNoSetup):
			c.skip("Discourse for %s: not set up", b.Name)
		case err != nil:
			c.fail("Discourse for %s: %v", b.Name, err)
		default:
			tags := "with tags"
			if !found.Tags {
				tags = "without tags (the forum does not let this user tag topics)"
			}
			c.ok("Discourse for %s: posts as %s in %s (%s), %s", b.Name, found.User, found.Category, found.CategoryURL, tags)
		}
	}
}

// campaigns says which running campaigns cannot follow the donation
// platform they link to, and why, in the words of the editor's page.
func (c *checker) campaigns(ctx context.Context, st *store.Store) {
	list, err := st.RunningCampaigns(ctx)
	if err != nil {
		c.fail("the campaigns: %v", err)
		return
	}
	following := 0
	for _, a := range list {
		p := a.Campaign.SourceProblem
		if p == nil {
			if a.Campaign.Recurring() {
				following++
			}
			continue
		}
		args := make([]any, len(p.Args))
		for i, v := range p.Args {
			args[i] = v
		}
		c.fail("campaign %d on %s (%q, edit page /edit/%s/%d): %s", a.ID, a.Board, a.Title, a.Board, a.ID, locale.For("en").T(p.Key, args...))
	}
	if following > 0 {
		c.ok("%d recurring %s read without a problem", following, map[bool]string{true: "campaign", false: "campaigns"}[following == 1])
	}
}
