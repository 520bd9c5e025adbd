package email

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"crieur/board"
	"crieur/board/store/storetest"
)

type noLinks struct{}

func (noLinks) AnnouncementURL(b string, id int64) string { return "https://board.example/a" }
func (noLinks) BoardURL(b string) string                  { return "https://board.example/" + b }
func (noLinks) WithdrawURL(string, int64, string) string  { return "https://board.example/w" }

// An SMTP host a publisher types goes through the one guarded dialer: a
// loopback address is refused before any connection unless the operator
// allowed private addresses, and what a remote answers never comes back
// to the caller, only its reply code (issue 23, point 1: the test button
// read a local service's banner, "554 INTERNAL-SECRET … password=hunter2",
// back to an editor).
func TestSMTPGoesThroughTheGuardAndEchoesNothing(t *testing.T) {
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			c.Write([]byte("554 INTERNAL-SECRET password=hunter2\r\n"))
			time.Sleep(100 * time.Millisecond)
			c.Close()
		}
	}()
	st, db := storetest.Open(t)
	b, _, err := board.NewService(board.Options{Store: st}).EnsureBoard(ctx, "news", "News")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	setup := Setup{SMTP: SMTP{Host: "127.0.0.1", Port: port, Security: "none", From: "board@example.org"},
		Lists: []List{{Name: "members", To: "members@example.org"}}}
	for _, c := range []struct {
		allowPrivate bool
		want         string
		conns        int32
	}{
		{false, "refused: private address", 0},
		{true, "reply 554", 1},
	} {
		d := New(db, st, noLinks{}, 5*time.Second, c.allowPrivate)
		if err := d.Save(ctx, b.ID, setup); err != nil {
			t.Fatal(err)
		}
		before := conns.Load()
		err := d.SendTest(ctx, b, "members")
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "INTERNAL") || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("private addresses allowed %v: %v; want %q and nothing the remote said", c.allowPrivate, err, c.want)
		}
		if got := conns.Load() - before; got != c.conns {
			t.Errorf("private addresses allowed %v: %d connections, want %d", c.allowPrivate, got, c.conns)
		}
	}
}
