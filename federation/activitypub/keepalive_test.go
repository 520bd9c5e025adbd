package activitypub

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"crieur/federation/outbound"
)

// A server may drop an idle keep-alive connection just as a delivery is
// written on it (Node's and Puma's keep-alive timeouts). The POST goes
// again at once on a new connection, as a GET would, rather than waiting
// for the queue's next retry: an inbox POST is idempotent by the
// activity's id. The marker that allows it is never sent.
func TestDeliveryOnADroppedKeepAliveConnectionGoesAgainAtOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var (
		conns, answered atomic.Int64
		mu              sync.Mutex
		marked          []string
	)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			first := conns.Add(1) == 1
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for n := 1; ; n++ {
					req, err := http.ReadRequest(r)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					for _, h := range []string{"Idempotency-Key", "X-Idempotency-Key"} {
						if _, ok := req.Header[h]; ok {
							mu.Lock()
							marked = append(marked, h)
							mu.Unlock()
						}
					}
					if first && n == 2 {
						c.(*net.TCPConn).SetLinger(0) // a reset, as a server closing an idle socket sends
						return
					}
					answered.Add(1)
					if _, err := io.WriteString(c, "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"); err != nil {
						return
					}
				}
			}()
		}
	}()
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	d := &Deliverer{Client: outbound.NewClient(10*time.Second, true), Keys: oneKey{key}, UserAgent: "test"}
	inbox := "http://" + ln.Addr().String() + "/inbox"
	for i := range 2 {
		job, err := DeliveryJob("j"+string(rune('1'+i)), 1, "news", "https://here.example/boards/news#main-key", inbox, map[string]any{"type": "Create", "n": i})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Handle(context.Background(), job); err != nil {
			t.Fatalf("delivery %d: %v", i+1, err)
		}
	}
	if answered.Load() != 2 || conns.Load() != 2 {
		t.Errorf("%d deliveries answered over %d connections, want 2 over 2", answered.Load(), conns.Load())
	}
	if len(marked) != 0 {
		t.Errorf("the inbox saw %v", marked)
	}
}
