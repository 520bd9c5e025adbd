package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"

	"crieur/board"
)

// relayCmd manages a board's ActivityPub relays through the admin API:
// add (sends the Follow), list (with each relay's answer), remove (sends
// the Undo). A relay is named by the address it was added with.
func relayCmd(ctx context.Context, args []string, stdout io.Writer, env []string) error {
	const usage = "usage: crieur relay add BOARD URL | crieur relay list BOARD | crieur relay remove BOARD URL|ID   (URL: the relay's inbox, https://relay.example/inbox, or its actor)"
	if len(args) == 0 {
		return errors.New(usage)
	}
	verb := args[0]
	boardName, rest, err := leadingArg(args[1:], "the BOARD", usage)
	if err != nil {
		return err
	}
	var target string
	if verb != "list" {
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			return errors.New(usage)
		}
		target, rest = rest[0], rest[1:]
	}
	fs := flag.NewFlagSet("relay "+verb, flag.ContinueOnError)
	fs.SetOutput(stdout)
	server := fs.String("server", "http://127.0.0.1:8080", "Crieur server URL (or CRIEUR_SERVER)")
	if err := fs.Parse(rest); err != nil {
		return err
	}
	token, err := apiToken(fs, env, server)
	if err != nil {
		return err
	}
	base := "/api/v1/boards/" + url.PathEscape(boardName) + "/relays"
	list := func() ([]board.Relay, error) {
		_, resp, err := callAPI(ctx, *server, token, http.MethodGet, base, nil, nil)
		if err != nil {
			return nil, err
		}
		var out struct {
			Relays []board.Relay `json:"relays"`
		}
		if err := json.Unmarshal(resp, &out); err != nil {
			return nil, fmt.Errorf("unexpected answer: %w", err)
		}
		return out.Relays, nil
	}
	switch verb {
	case "add":
		body, _ := json.Marshal(map[string]string{"url": target})
		_, resp, err := callAPI(ctx, *server, token, http.MethodPost, base, body, nil)
		if err != nil {
			return fmt.Errorf("add relay %s: %w", target, err)
		}
		var r board.Relay
		_ = json.Unmarshal(resp, &r)
		fmt.Fprintf(stdout, "relay %d: follow sent to %s; %s until the relay answers (crieur relay list %s)\n", r.ID, r.Inbox, r.State, boardName)
	case "list":
		rs, err := list()
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tRELAY\tSTATE\tSINCE")
		for _, r := range rs {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", r.ID, r.URL, r.State, r.UpdatedAt.Local().Format("2006-01-02 15:04"))
		}
		return tw.Flush()
	case "remove":
		id, ok := board.ParseID(target)
		if !ok {
			rs, err := list()
			if err != nil {
				return err
			}
			for _, r := range rs {
				if r.URL == target || r.Inbox == target || r.Actor == target {
					id, ok = r.ID, true
				}
			}
			if !ok {
				return fmt.Errorf("board %s has no relay %s (crieur relay list %s)", boardName, target, boardName)
			}
		}
		if _, _, err := callAPI(ctx, *server, token, http.MethodDelete, fmt.Sprintf("%s/%d", base, id), nil, nil); err != nil {
			return fmt.Errorf("remove relay %s: %w", target, err)
		}
		fmt.Fprintf(stdout, "relay %d removed; the relay was sent the undo of the follow\n", id)
	default:
		return errors.New(usage)
	}
	return nil
}
