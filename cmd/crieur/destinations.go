package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
)

// secretArg reads a secret given as "-" from the first line of stdin, so
// it stays out of the shell's history and the process list.
func secretArg(v string, stdin io.Reader) (string, error) {
	if v != "-" {
		return v, nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimSpace(line), nil
}

// destinationCmd runs `crieur mattermost …` and `crieur email …`: they set
// up a board's destinations through the admin API of a running server.
func destinationCmd(ctx context.Context, kind string, args []string, stdin io.Reader, stdout io.Writer, env []string) error {
	usage := map[string]string{
		"mattermost": "usage: crieur mattermost list | set NAME --url URL|- [--channel C] [--username U] [--icon-url URL] | remove NAME | test NAME  [--board B] [--server URL]",
		"email": "usage: crieur email show | smtp --host H [--port P] [--security starttls|tls|none] [--username U] [--password -] --from ADDR" +
			" | list NAME --to ADDR [--kinds outage,call] [--list-unsubscribe '<mailto:…>'] | remove NAME | test NAME  [--board B] [--server URL]",
	}[kind]
	if len(args) == 0 {
		return errors.New(usage)
	}
	verb, name := args[0], ""
	args = args[1:]
	if verb != "list" && verb != "show" && verb != "smtp" || kind == "email" && verb == "list" {
		var err error
		if name, args, err = leadingArg(args, "the name", usage); err != nil {
			return err
		}
	}
	fs := flag.NewFlagSet(kind+" "+verb, flag.ContinueOnError)
	fs.SetOutput(stdout) // --help and mistakes are read where the command answers
	api := addAPIFlags(fs)
	s := map[string]*string{}
	for _, f := range []string{"url", "channel", "username", "icon-url", "host", "security", "password", "from", "to", "kinds", "list-unsubscribe"} {
		s[f] = fs.String(f, "", f)
	}
	port := fs.Int("port", 0, "SMTP port (default by --security: 587, 465, 25)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	token, err := apiToken(fs, env, api.server)
	if err != nil {
		return err
	}
	base := "/api/v1/boards/" + *api.board + "/" + kind
	call := func(method, path string, in, out any) error {
		var body []byte
		if in != nil {
			body, _ = json.Marshal(in)
		}
		_, answer, err := callAPI(ctx, *api.server, token, method, path, body, nil)
		if err != nil {
			return err
		}
		if out != nil {
			return json.Unmarshal(answer, out)
		}
		return nil
	}
	if verb == "test" {
		field := map[string]string{"mattermost": "hook", "email": "list"}[kind]
		var res struct {
			Sent  bool   `json:"sent"`
			Error string `json:"error"`
		}
		body, _ := json.Marshal(map[string]string{field: name})
		resp, answer, err := callAPI(ctx, *api.server, token, http.MethodPost, base+"/test", body, nil)
		if err != nil && (resp == nil || resp.StatusCode != http.StatusBadGateway) {
			return err
		}
		_ = json.Unmarshal(answer, &res)
		if !res.Sent {
			return fmt.Errorf("the test message to %s was not sent: %s", name, res.Error)
		}
		fmt.Fprintf(stdout, "test message sent to %s\n", name)
		return nil
	}
	if kind == "mattermost" {
		var cur struct {
			Hooks []map[string]any `json:"hooks"`
		}
		if err := call(http.MethodGet, base, nil, &cur); err != nil {
			return err
		}
		switch verb {
		case "list":
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tCHANNEL\tUSERNAME\tURL")
			for _, h := range cur.Hooks {
				fmt.Fprintf(tw, "%v\t%v\t%v\t%s\n", h["name"], orDash(h["channel"]), orDash(h["username"]), map[bool]string{true: "set", false: "missing"}[h["url_set"] == true])
			}
			return tw.Flush()
		case "set", "remove":
			var hooks []map[string]any
			for _, h := range cur.Hooks {
				if h["name"] != name {
					hooks = append(hooks, map[string]any{"name": h["name"], "channel": h["channel"], "username": h["username"], "icon_url": h["icon_url"]})
				}
			}
			if verb == "set" {
				u, err := secretArg(*s["url"], stdin)
				if err != nil {
					return err
				}
				hooks = append(hooks, map[string]any{"name": name, "url": u, "channel": *s["channel"], "username": *s["username"], "icon_url": *s["icon-url"]})
			}
			if err := call(http.MethodPut, base, map[string]any{"hooks": hooks}, nil); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s hook %s on %s\n", map[string]string{"set": "saved", "remove": "removed"}[verb], name, *api.board)
			return nil
		}
		return errors.New(usage)
	}
	// e-mail: read the set-up (none yet is an empty one), change it, save.
	var cur map[string]any
	if err := call(http.MethodGet, base, nil, &cur); err != nil {
		if !strings.Contains(err.Error(), "(404)") {
			return err
		}
		cur = map[string]any{"smtp": map[string]any{}, "lists": []any{}}
	}
	smtp, _ := cur["smtp"].(map[string]any)
	lists, _ := cur["lists"].([]any)
	switch verb {
	case "show":
		fmt.Fprintf(stdout, "SMTP: %v:%v (%v) as %v, from %v, password %s\n", smtp["host"], smtp["port"], smtp["security"], orDash(smtp["username"]), smtp["from"],
			map[bool]string{true: "set", false: "not set"}[cur["password_set"] == true])
		for _, l := range lists {
			m, _ := l.(map[string]any)
			fmt.Fprintf(stdout, "list %v: %v, kinds %v\n", m["name"], m["to"], orDash(m["kinds"]))
		}
		return nil
	case "smtp":
		for flagName, key := range map[string]string{"host": "host", "security": "security", "username": "username", "from": "from"} {
			if flagSet(fs, flagName) {
				smtp[key] = *s[flagName]
			}
		}
		if flagSet(fs, "port") {
			smtp["port"] = *port
		}
		smtp["password"] = ""
		if flagSet(fs, "password") {
			if smtp["password"], err = secretArg(*s["password"], stdin); err != nil {
				return err
			}
		}
	case "list", "remove":
		var kept []any
		for _, l := range lists {
			if m, _ := l.(map[string]any); m["name"] != name {
				kept = append(kept, l)
			}
		}
		if verb == "list" {
			l := map[string]any{"name": name, "to": *s["to"], "list_unsubscribe": *s["list-unsubscribe"]}
			if *s["kinds"] != "" {
				l["kinds"] = strings.Split(*s["kinds"], ",")
			}
			kept = append(kept, l)
		}
		lists = kept
		smtp["password"] = "" // kept by the server
	default:
		return errors.New(usage)
	}
	delete(smtp, "password_set")
	if lists == nil {
		lists = []any{}
	}
	if err := call(http.MethodPut, base, map[string]any{"smtp": smtp, "lists": lists}, nil); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "saved the e-mail set-up of %s\n", *api.board)
	return nil
}

func orDash(v any) string {
	if s := fmt.Sprint(v); v != nil && s != "" && s != "[]" {
		return s
	}
	return "-"
}
