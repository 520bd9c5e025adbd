package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	"crieur/board"
	"crieur/board/locale"
)

// apiFlags are the flags the commands acting on one announcement of a
// running server share.
type apiFlags struct {
	server, board *string
}

func addAPIFlags(fs *flag.FlagSet) apiFlags {
	return apiFlags{
		server: fs.String("server", "http://127.0.0.1:8080", "Crieur server URL (or CRIEUR_SERVER)"),
		board:  fs.String("board", "news", "board of the announcement (or CRIEUR_BOARD)"),
	}
}

// target reads the announcement number and the token once the flags are
// parsed.
func (f apiFlags) target(fs *flag.FlagSet, env []string, example string) (id int64, token string, err error) {
	id, err = strconv.ParseInt(fs.Arg(0), 10, 64)
	if err != nil || id <= 0 {
		fs.Usage()
		return 0, "", fmt.Errorf("give the announcement's number, e.g. %s", example)
	}
	token, err = apiToken(fs, env, f.server)
	return id, token, err
}

func (f apiFlags) path(id int64) string {
	return fmt.Sprintf("/api/v1/boards/%s/announcements/%d", *f.board, id)
}

// current fetches the announcement as it is now.
func (f apiFlags) current(ctx context.Context, token string, id int64) (board.Announcement, error) {
	var a board.Announcement
	_, body, err := callAPI(ctx, *f.server, token, http.MethodGet, f.path(id), nil, nil)
	if err != nil {
		return a, fmt.Errorf("announcement %d on %s: %w", id, *f.board, err)
	}
	return a, json.Unmarshal(body, &a)
}

// readBody reads an announcement's Markdown from the file src, or from
// stdin for "" or "-"; a little over the longest body the server takes,
// so an oversized one is refused by the server with its own message.
func readBody(src string, stdin io.Reader) ([]byte, error) {
	in := stdin
	if src != "" && src != "-" {
		f, err := os.Open(src)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		in = f
	}
	body, err := io.ReadAll(io.LimitReader(in, board.MaxBody*4+1))
	if err != nil {
		return nil, fmt.Errorf("read the text: %w", err)
	}
	return body, nil
}

// editCmd changes an announcement's title, text, tags, content warning or
// language; followers and rooms get the edit. Only the options given
// change.
func editCmd(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer, env []string) error {
	fs := flag.NewFlagSet("edit", flag.ContinueOnError)
	fs.SetOutput(stdout) // --help and mistakes are read where the command answers
	api := addAPIFlags(fs)
	title := fs.String("title", "", "new title")
	cw := fs.String("cw", "", "new content warning (empty: none)")
	lang := fs.String("lang", "", "new language tag, e.g. fr")
	var tags stringList
	fs.Var(&tags, "tag", "hashtag (repeatable; replaces all of them)")
	noTags := fs.Bool("no-tags", false, "remove every hashtag")
	publish := fs.Bool("publish", false, "publish a draft (now, or at --publish-at)")
	publishAt := fs.String("publish-at", "", "a draft's publication time (RFC 3339)")
	expiresAt := fs.String("expires-at", "", "take it down at this time (RFC 3339)")
	noExpiry := fs.Bool("no-expiry", false, "keep it up: remove its take-down time")
	preview := fs.Bool("preview", false, "show how the changed announcement will look, and change nothing")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: crieur edit [--board NAME] [options] ID [FILE|-]\nChanges only what the options give; a new text comes from FILE or - (standard input). The token comes from CRIEUR_TOKEN.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	id, token, err := api.target(fs, env, "crieur edit --title 'New title' 12")
	if err != nil {
		return err
	}
	patch := map[string]any{}
	if flagSet(fs, "title") {
		patch["title"] = *title
	}
	if flagSet(fs, "cw") {
		patch["content_warning"] = *cw
	}
	if flagSet(fs, "lang") {
		patch["language"] = *lang
	}
	if len(tags) > 0 {
		patch["tags"] = []string(tags)
	} else if *noTags {
		patch["tags"] = []string{}
	}
	if *publish {
		patch["draft"] = false
	}
	for _, f := range []struct {
		name, key string
		value     *string
	}{{"publish-at", "publish_at", publishAt}, {"expires-at", "expires_at", expiresAt}} {
		if flagSet(fs, f.name) {
			t, err := parseTimeFlag(f.name, *f.value)
			if err != nil {
				return err
			}
			patch[f.key] = t
		}
	}
	if *noExpiry {
		patch["expires_at"] = nil
	}
	if src := fs.Arg(1); src != "" {
		body, err := readBody(src, stdin)
		if err != nil {
			return err
		}
		patch["body"] = string(body)
	}
	if len(patch) == 0 {
		fs.Usage()
		return errors.New("nothing to change: give --title, --cw, --lang, --tag, --publish, --publish-at, --expires-at or a new text")
	}
	payload, _ := json.Marshal(patch)
	if *preview {
		return showPreview(ctx, stdout, *api.server, token, api.path(id)+"/preview", payload)
	}
	before, err := api.current(ctx, token, id)
	if err != nil {
		return err
	}
	_, body, err := callAPI(ctx, *api.server, token, http.MethodPatch, api.path(id), payload, nil)
	if err != nil {
		return fmt.Errorf("edit announcement %d: %w", id, err)
	}
	var a board.Announcement
	if err := json.Unmarshal(body, &a); err != nil {
		return fmt.Errorf("unexpected answer: %w", err)
	}
	switch {
	case a.PendingEdit != nil:
		fmt.Fprintf(stdout, "your edit of announcement %d waits for another publisher of %s to approve it; readers see the published text until then\n", id, a.Board)
	case a.Status == board.StatusPending:
		fmt.Fprintf(stdout, "asked to publish announcement %d on %s: another publisher of the board approves it before it goes out\n", id, a.Board)
	case a.UpdatedAt.Equal(before.UpdatedAt):
		fmt.Fprintf(stdout, "no change: announcement %d is already like that\n", id)
		return nil
	case a.Status != before.Status && a.Status == board.StatusPublished:
		fmt.Fprintf(stdout, "published announcement %d on %s: %s\n", id, a.Board, a.Title)
	case a.Status != before.Status && a.Status == board.StatusScheduled:
		fmt.Fprintf(stdout, "scheduled announcement %d for %s: %s\n", id, a.PublishAt.Format(time.RFC3339), a.Title)
	case a.Status == board.StatusDraft || a.Status == board.StatusScheduled:
		fmt.Fprintf(stdout, "saved announcement %d (%s, sent nowhere yet): %s\n", id, a.Status, a.Title)
	case a.Version == before.Version:
		fmt.Fprintf(stdout, "saved announcement %d: readers see no change, so nothing was sent\n", id)
	default:
		fmt.Fprintf(stdout, "updated announcement %d on %s: %s (version %d)\n", id, a.Board, a.Title, a.Version)
	}
	for _, w := range a.Warnings {
		fmt.Fprintf(stdout, "note: %s\n", w)
	}
	return nil
}

// deleteCmd deletes an announcement everywhere. It names what it is about
// to delete and wants --yes: a deletion reaches every follower and room
// and cannot be taken back.
func deleteCmd(ctx context.Context, args []string, stdout io.Writer, env []string) error {
	fs := flag.NewFlagSet("delete", flag.ContinueOnError)
	fs.SetOutput(stdout) // --help and mistakes are read where the command answers
	api := addAPIFlags(fs)
	yes := fs.Bool("yes", false, "confirm: delete it from the board, followers' servers and rooms")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: crieur delete [--board NAME] --yes ID\nThe token comes from CRIEUR_TOKEN.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	id, token, err := api.target(fs, env, "crieur delete --yes 12")
	if err != nil {
		return err
	}
	a, err := api.current(ctx, token, id)
	if err != nil {
		return err
	}
	if !*yes {
		return fmt.Errorf("this deletes “%s” (announcement %d on %s) from the board, followers' servers and rooms; run again with --yes to do it", a.Title, id, *api.board)
	}
	if _, _, err := callAPI(ctx, *api.server, token, http.MethodDelete, api.path(id), nil, nil); err != nil {
		return fmt.Errorf("delete announcement %d: %w", id, err)
	}
	fmt.Fprintf(stdout, "deleted announcement %d on %s: %s\n", id, *api.board, a.Title)
	return nil
}

// resolveCmd marks an outage over now; the page, feeds, followers and
// rooms then say "Resolved" with the time.
func resolveCmd(ctx context.Context, args []string, stdout io.Writer, env []string) error {
	fs := flag.NewFlagSet("resolve", flag.ContinueOnError)
	fs.SetOutput(stdout) // --help and mistakes are read where the command answers
	api := addAPIFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: crieur resolve [--board NAME] ID\nMarks an outage notice resolved now. The token comes from CRIEUR_TOKEN.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	id, token, err := api.target(fs, env, "crieur resolve 12")
	if err != nil {
		return err
	}
	_, body, err := callAPI(ctx, *api.server, token, http.MethodPut, api.path(id)+"/resolved", nil, nil)
	if err != nil {
		return fmt.Errorf("resolve announcement %d: %w", id, err)
	}
	var a board.Announcement
	if err := json.Unmarshal(body, &a); err != nil {
		return fmt.Errorf("unexpected answer: %w", err)
	}
	fmt.Fprintf(stdout, "marked announcement %d on %s resolved: %s\n", id, a.Board, a.Title)
	return nil
}

// cancelCmd cancels a training or a planned outage, or with --undo calls
// the cancellation off.
func cancelCmd(ctx context.Context, args []string, stdout io.Writer, env []string) error {
	fs := flag.NewFlagSet("cancel", flag.ContinueOnError)
	fs.SetOutput(stdout) // --help and mistakes are read where the command answers
	api := addAPIFlags(fs)
	undo := fs.Bool("undo", false, "it takes place after all (a training opens its registration again)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: crieur cancel [--undo] [--board NAME] ID\nCancels a training, or an outage that has not begun (a maintenance called off): the page, followers and rooms say so; a training's registrants on the fediverse are told, and no reminder goes out.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	id, token, err := api.target(fs, env, "crieur cancel 12")
	if err != nil {
		return err
	}
	method, did := http.MethodPut, "cancelled"
	if *undo {
		method, did = http.MethodDelete, "no longer cancelled"
	}
	_, body, err := callAPI(ctx, *api.server, token, method, api.path(id)+"/cancelled", nil, nil)
	if err != nil {
		return fmt.Errorf("announcement %d: %w", id, err)
	}
	var a board.Announcement
	if err := json.Unmarshal(body, &a); err != nil {
		return fmt.Errorf("unexpected answer: %w", err)
	}
	fmt.Fprintf(stdout, "%s: %s\n", a.Title, did)
	return nil
}

// raisedCmd records what a donation campaign has raised so far.
func raisedCmd(ctx context.Context, args []string, stdout io.Writer, env []string) error {
	fs := flag.NewFlagSet("raised", flag.ContinueOnError)
	fs.SetOutput(stdout) // --help and mistakes are read where the command answers
	api := addAPIFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: crieur raised [--board NAME] ID AMOUNT\nRecords the total a campaign has raised; the page shows it at once, followers and rooms within a few minutes.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	id, token, err := api.target(fs, env, "crieur raised 12 1240")
	if err != nil {
		return err
	}
	amount, err := board.ParseAmount(fs.Arg(1))
	if err != nil || amount < 0 {
		return fmt.Errorf("give the total raised so far as a number, e.g. crieur raised %d 1240", id)
	}
	body, _ := json.Marshal(map[string]float64{"raised": amount})
	_, answer, err := callAPI(ctx, *api.server, token, http.MethodPut, api.path(id)+"/raised", body, nil)
	if err != nil {
		return fmt.Errorf("campaign %d: %w", id, err)
	}
	var a board.Announcement
	if err := json.Unmarshal(answer, &a); err != nil {
		return fmt.Errorf("unexpected answer: %w", err)
	}
	fmt.Fprintf(stdout, "%s: %s\n", a.Title, locale.For("en").Progress(a).Value)
	return nil
}
