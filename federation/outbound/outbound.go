// Package outbound is Crieur's one way out to other servers: an HTTP client
// whose dialer checks every resolved address against the IANA
// special-purpose registries before it connects, so that nothing a user or
// a remote server names (an actor, an inbox, a homeserver, a webhook) can
// make Crieur reach the machine's own network. Fetches, deliveries, the
// Matrix bridge and the SMTP client all use it.
package outbound

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// ErrForbiddenAddress is returned when a host resolves to an address that
// is not on the public Internet.
var ErrForbiddenAddress = errors.New("address not allowed (not a public Internet address)")

// special are the IANA IPv4 and IPv6 special-purpose address blocks
// (RFC 6890 and its updates) that are not globally reachable, plus
// multicast. Prefixes that embed an IPv4 address are checked on that
// address instead (see Forbidden).
var special = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8",       // this network
		"10.0.0.0/8",      // private
		"100.64.0.0/10",   // shared address space (carrier NAT; some clouds' metadata)
		"127.0.0.0/8",     // loopback
		"169.254.0.0/16",  // link-local (cloud metadata at 169.254.169.254)
		"172.16.0.0/12",   // private
		"192.0.0.0/24",    // IETF protocol assignments
		"192.0.2.0/24",    // documentation
		"192.31.196.0/24", // AS112
		"192.52.193.0/24", // AMT
		"192.88.99.0/24",  // deprecated 6to4 relay anycast
		"192.168.0.0/16",  // private
		"192.175.48.0/24", // direct delegation AS112
		"198.18.0.0/15",   // benchmarking
		"198.51.100.0/24", // documentation
		"203.0.113.0/24",  // documentation
		"224.0.0.0/4",     // multicast
		"240.0.0.0/4",     // reserved, and the limited broadcast address
		"::/128",          // unspecified
		"::1/128",         // loopback
		"64:ff9b:1::/48",  // local-use IPv4/IPv6 translation
		"100::/64",        // discard-only
		"2001::/23",       // IETF protocol assignments (Teredo, ORCHID, …)
		"2001:db8::/32",   // documentation
		"3fff::/20",       // documentation
		"5f00::/16",       // segment routing SIDs
		"fc00::/7",        // unique local
		"fe80::/10",       // link-local
		"fec0::/10",       // deprecated site-local
		"ff00::/8",        // multicast
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

var (
	nat64  = netip.MustParsePrefix("64:ff9b::/96") // well-known NAT64: embeds an IPv4 address
	sixTo4 = netip.MustParsePrefix("2002::/16")    // 6to4: embeds an IPv4 address
)

// Forbidden reports whether a is not a public Internet address. An IPv6
// address that carries an IPv4 one (mapped, NAT64, 6to4) is judged by it.
func Forbidden(a netip.Addr) bool {
	a = a.Unmap()
	if a.Is6() {
		b := a.As16()
		switch {
		case nat64.Contains(a):
			return Forbidden(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
		case sixTo4.Contains(a):
			return Forbidden(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
		}
	}
	if !a.IsValid() || a.Zone() != "" {
		return true
	}
	for _, p := range special {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// NewDialer is the one dialer of every connection a setting can aim at
// another server (HTTP, SMTP). Unless allowPrivate (the operator's choice
// in the configuration file, or tests on loopback), it refuses to connect
// to any address Forbidden names; the check runs on the resolved address
// at connect time, so DNS tricks and redirects cannot get around it.
func NewDialer(allowPrivate bool) *net.Dialer {
	return &net.Dialer{
		Timeout: 10 * time.Second,
		Control: func(network, address string, _ syscall.RawConn) error {
			if allowPrivate {
				return nil
			}
			ap, err := netip.ParseAddrPort(address)
			if err != nil || Forbidden(ap.Addr()) {
				return fmt.Errorf("%w: %s", ErrForbiddenAddress, address)
			}
			return nil
		},
	}
}

// NewClient returns an HTTP client for requests to other servers, on
// NewDialer's guard.
func NewClient(timeout time.Duration, allowPrivate bool) *http.Client {
	dialer := NewDialer(allowPrivate)
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          2000, // one or more per host delivered to; redialing costs more than an idle socket
		MaxIdleConnsPerHost:   4,    // the default delivery.host_limit
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: timeout,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("too many redirects")
			}
			return nil
		},
	}
}
