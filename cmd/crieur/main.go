// Command crieur runs a federated notice board: `crieur serve` runs the web
// pages, admin API, inbox, dispatcher and delivery workers in one process;
// `crieur post` publishes from a shell; `crieur board` and `crieur token`
// set things up.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"slices"
	"syscall"
	_ "time/tzdata" // the editor's time zone works on systems without zoneinfo

	"crieur/board"
	"crieur/board/locale"

	"github.com/redis/go-redis/v9"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// go-redis prints its own lines ("failed to dial after 5 attempts")
	// outside our log format; every such failure also reaches Crieur as an
	// error that is logged with its context, so they go to debug level.
	redis.SetLogger(redisLog{})
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Environ()); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return // --help printed the usage: not a failure
		}
		fmt.Fprintln(os.Stderr, "crieur:", err)
		os.Exit(1)
	}
}

const usage = `crieur %s: a federated notice board

Usage:
  crieur serve [--config FILE] [--listen ADDR] [--public-url URL] [--data DIR] [--redis URL]
  crieur deliver --redis URL [--keys DIR (default: keys_dir)] [--metrics-listen ADDR]
  crieur deliveries dead [--limit N] | crieur deliveries retry ID|--all
  crieur post  [--server URL] [--board NAME] --title TITLE [options] [FILE|-]
  crieur edit  [--board NAME] [--title T] [--publish] [--publish-at T] [--expires-at T] [--preview]... ID [FILE|-]
  crieur delete [--board NAME] --yes ID
  crieur resolve [--board NAME] ID   (an outage is over)
  crieur raised [--board NAME] ID AMOUNT   (a campaign's total so far)
  crieur cancel [--undo] [--board NAME] ID   (a training will not take place)
  crieur pin   [--unpin] [--board NAME] ID
  crieur block add DOMAIN|ACCOUNT_URL [--board NAME] | list | remove ID | unfollow ACCOUNT_URL --board NAME
  crieur relay add BOARD URL | list BOARD | remove BOARD URL|ID  (ActivityPub relays: URL is the relay's inbox or actor)
  crieur board create|set NAME [--display-name TEXT] [--summary TEXT] [--language en|fr] [--time-zone ZONE] [--approval]
  crieur board list
  crieur board key NAME          (prints the board's private key, for crieur deliver)
  crieur token create [--board NAME] [--label TEXT] [--expires 90d] [--role publisher|editor]
  crieur token list | crieur token revoke ID
  crieur service list | set SLUG --name NAME [--description T] [--address URL] [--position N] | remove SLUG  [--board NAME]
  crieur mattermost list | set NAME --url URL|- [--channel C] | remove NAME | test NAME
  crieur email show | smtp --host H --from ADDR [--username U --password -] | list NAME --to ADDR [--kinds outage,call] | remove NAME | test NAME
  crieur backup FILE.tar.gz      (a consistent copy of the store, keys and pictures, while serving)
  crieur restore FILE.tar.gz     (into an empty data directory)
  crieur check [--time-from URL] [--keys DIR] [--backups DIR]  (is the deployment followable, are the backups whole? one line per check)
  crieur ready [--url URL] [--wait 60s]  (exit 0 when serve, with the same settings, is ready: container and systemd probes)

Run 'crieur COMMAND --help' for a command's options.
`

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, env []string) error {
	return inWords(command(ctx, args, stdin, stdout, stderr, env))
}

// problemsError is a refusal of the domain said in words (English, as the
// CLI speaks): what a command run on the server itself, without the API,
// got wrong, field by field.
type problemsError struct{ ve *board.ValidationError }

func (e problemsError) Error() string {
	what := e.ve.What
	if what == "" {
		what = "announcement"
	}
	msg := "invalid " + what + ":"
	l := locale.For("en")
	for _, field := range slices.Sorted(maps.Keys(e.ve.Fields)) {
		msg += "\n  " + field + ": " + l.Problem(e.ve.Fields[field])
	}
	return msg
}

func (e problemsError) Unwrap() error { return e.ve }

// inWords says a validation error's problems in words; any other error
// is returned as it is.
func inWords(err error) error {
	var ve *board.ValidationError
	if errors.As(err, &ve) {
		return problemsError{ve}
	}
	return err
}

func command(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, env []string) error {
	if len(args) == 0 {
		args = []string{"serve"}
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr, env)
	case "deliver":
		return deliver(ctx, args[1:], stderr, env)
	case "deliveries":
		return deliveriesCmd(ctx, args[1:], stdout, env)
	case "post":
		return post(ctx, args[1:], stdin, stdout, env)
	case "pin":
		return pinCmd(ctx, args[1:], stdout, env)
	case "edit":
		return editCmd(ctx, args[1:], stdin, stdout, env)
	case "delete":
		return deleteCmd(ctx, args[1:], stdout, env)
	case "raised":
		return raisedCmd(ctx, args[1:], stdout, env)
	case "cancel":
		return cancelCmd(ctx, args[1:], stdout, env)
	case "resolve":
		return resolveCmd(ctx, args[1:], stdout, env)
	case "block":
		return blockCmd(ctx, args[1:], stdout, env)
	case "service":
		return serviceCmd(ctx, args[1:], stdout, env)
	case "relay":
		return relayCmd(ctx, args[1:], stdout, env)
	case "board":
		return boardCmd(ctx, args[1:], stdout, env)
	case "token":
		return tokenCmd(ctx, args[1:], stdout, env)
	case "mattermost", "email":
		return destinationCmd(ctx, args[0], args[1:], stdin, stdout, env)
	case "backup":
		return backupCmd(ctx, args[1:], stdout, env)
	case "restore":
		return restoreCmd(ctx, args[1:], stdout, env)
	case "check":
		return checkCmd(ctx, args[1:], stdout, env)
	case "ready":
		return readyCmd(ctx, args[1:], stdout, env)
	case "version", "--version":
		fmt.Fprintln(stdout, "crieur", buildVersion())
		return nil
	case "help", "-h", "--help":
		fmt.Fprintf(stdout, usage, buildVersion())
		return nil
	default:
		fmt.Fprintf(stderr, usage, buildVersion())
		return fmt.Errorf("unknown command %q", args[0])
	}
}

// redisLog hands go-redis's messages to slog at debug level.
type redisLog struct{}

func (redisLog) Printf(ctx context.Context, format string, v ...any) {
	slog.DebugContext(ctx, "redis client: "+fmt.Sprintf(format, v...))
}
