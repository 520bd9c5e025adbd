package outbound

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

func TestForbiddenCoversTheSpecialPurposeRegistries(t *testing.T) {
	for _, s := range []string{
		"127.0.0.1", "10.1.2.3", "172.20.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0",
		"100.100.100.200", // a cloud's metadata service, in shared address space
		"198.18.0.1", "192.0.2.10", "203.0.113.5", "224.0.0.1", "255.255.255.255", "240.0.0.1",
		"::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "2001:db8::1",
		"::ffff:127.0.0.1",   // IPv4-mapped loopback
		"64:ff9b::a9fe:a9fe", // NAT64 of 169.254.169.254
		"64:ff9b::7f00:1",    // NAT64 of 127.0.0.1
		"2002:c0a8:101::1",   // 6to4 of 192.168.1.1
		"64:ff9b:1::1",       // local-use NAT64
		"2001::1",            // Teredo
	} {
		if !Forbidden(netip.MustParseAddr(s)) {
			t.Errorf("%s is allowed", s)
		}
	}
	for _, s := range []string{"1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "64:ff9b::101:101", "2002:101:101::1", "100.63.255.255", "198.20.0.1"} {
		if Forbidden(netip.MustParseAddr(s)) {
			t.Errorf("%s (public) is refused", s)
		}
	}
}

func TestClientRefusesLoopbackUnlessAllowed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	if _, err := NewClient(time.Second, false).Get(srv.URL); !errors.Is(err, ErrForbiddenAddress) {
		t.Fatalf("loopback: %v, want ErrForbiddenAddress", err)
	}
	resp, err := NewClient(time.Second, true).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}
