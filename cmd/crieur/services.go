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

// serviceCmd manages a board's services (what its services pages present)
// through the admin API: list, set (add or change one by its slug),
// remove.
func serviceCmd(ctx context.Context, args []string, stdout io.Writer, env []string) error {
	const usage = "usage: crieur service list [--board NAME] | crieur service set SLUG --name NAME [--description TEXT] [--address URL] [--logo PICTURE] [--position N] [--board NAME] | crieur service remove SLUG [--board NAME]"
	if len(args) == 0 {
		return errors.New(usage)
	}
	verb, rest := args[0], args[1:]
	var slug string
	if verb == "set" || verb == "remove" {
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			return errors.New(usage)
		}
		slug, rest = rest[0], rest[1:]
	}
	fs := flag.NewFlagSet("service "+verb, flag.ContinueOnError)
	fs.SetOutput(stdout) // --help and mistakes are read where the command answers
	api := addAPIFlags(fs)
	name := fs.String("name", "", "the service's name, as members know it (set)")
	description := fs.String("description", "", "one short paragraph (set)")
	address := fs.String("address", "", "where members use it, https://… (set)")
	logo := fs.String("logo", "", "a picture uploaded to the board, by name (set)")
	position := fs.Int("position", 0, "its place in the list, smallest first (set)")
	if err := fs.Parse(rest); err != nil {
		return err
	}
	token, err := apiToken(fs, env, api.server)
	if err != nil {
		return err
	}
	base := "/api/v1/boards/" + url.PathEscape(*api.board) + "/services"
	switch verb {
	case "list":
		_, body, err := callAPI(ctx, *api.server, token, http.MethodGet, base, nil, nil)
		if err != nil {
			return fmt.Errorf("services of %s: %w", *api.board, err)
		}
		var list []board.HostedService
		if err := json.Unmarshal(body, &list); err != nil {
			return fmt.Errorf("unexpected answer: %w", err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SLUG\tNAME\tPOSITION\tADDRESS")
		for _, h := range list {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", h.Slug, h.Name, h.Position, h.Address)
		}
		return tw.Flush()
	case "set":
		body, _ := json.Marshal(map[string]any{"name": *name, "description": *description, "address": *address, "logo": *logo, "position": *position})
		resp, _, err := callAPI(ctx, *api.server, token, http.MethodPut, base+"/"+url.PathEscape(slug), body, nil)
		if err != nil {
			return fmt.Errorf("set service %s: %w", slug, err)
		}
		done := "changed"
		if resp.StatusCode == http.StatusCreated {
			done = "added"
		}
		fmt.Fprintf(stdout, "service %s %s on %s\n", slug, done, *api.board)
	case "remove":
		if _, _, err := callAPI(ctx, *api.server, token, http.MethodDelete, base+"/"+url.PathEscape(slug), nil, nil); err != nil {
			return fmt.Errorf("remove service %s: %w", slug, err)
		}
		fmt.Fprintf(stdout, "service %s removed from %s (its outage notices stay)\n", slug, *api.board)
	default:
		return errors.New(usage)
	}
	return nil
}
