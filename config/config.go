// Package config loads Crieur's settings: one optional TOML file, then
// CRIEUR_* environment variables, then validation whose errors name the key
// and say how to fix it. The zero configuration is a working one.
//
// It must not open anything but the one file: the packages that connect
// and listen read what it loaded.
package config

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"crieur/board"
)

// Config is everything an operator can set.
type Config struct {
	// Listen is the address the HTTP server binds.
	Listen string `toml:"listen"`
	// PublicURL is the URL federation peers see; ids of actors and objects
	// are derived from it, so it must not change once boards have followers.
	PublicURL string `toml:"public_url"`
	// DataDir holds the SQLite file (store and embedded queue).
	DataDir string `toml:"data_dir"`
	// KeysDir, if set, is where serve (at each start) and `crieur board
	// create` write every board's private key as BOARD.pem, owned by the
	// user they run as, for `crieur deliver` workers to read (its --keys
	// defaults to it). The files are written by the service itself so that
	// they belong to the user the workers also run as (uid 10001 in the
	// container image), not to whoever typed an export on the host.
	KeysDir string `toml:"keys_dir"`
	// DefaultBoard is created on first start when no board exists.
	DefaultBoard string `toml:"default_board"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `toml:"log_level"`
	// AllowPrivateAddresses lets Crieur fetch from and deliver to loopback
	// and private networks. Off in production (SSRF guard); tests turn it on.
	AllowPrivateAddresses bool `toml:"allow_private_addresses"`
	// MaxBodyBytes bounds every request body (admin API and inbox).
	MaxBodyBytes int64 `toml:"max_body_bytes"`
	// Timezone is how the web editor reads the times members type
	// (an IANA name such as Europe/Paris).
	Timezone string `toml:"timezone"`
	// RedisURL switches the delivery queue from the embedded one to Redis
	// (redis://host:port/db), so `crieur deliver` workers can share it.
	RedisURL string `toml:"redis_url"`
	// MetricsListen, if set, serves /metrics on this address alone (bind
	// it to localhost or a private network) with no token; unset, /metrics
	// is on the main listener and asks for an admin token.
	MetricsListen string `toml:"metrics_listen"`
	// TLSCert and TLSKey are PEM files (a certificate chain and its key):
	// set both and Crieur serves https itself, reading them again when
	// they change (a renewal). Unset, it serves plain HTTP for a proxy.
	TLSCert string `toml:"tls_cert"`
	TLSKey  string `toml:"tls_key"`
	// TLS "auto" gets and renews certificates for public_url's host from
	// an ACME certificate authority (Let's Encrypt), kept in the data
	// folder; HTTPListen then answers the CA's http-01 challenges and
	// sends everything else to https.
	TLS           string `toml:"tls"`
	ACMEDirectory string `toml:"acme_directory"`
	ACMEEmail     string `toml:"acme_email"`
	HTTPListen    string `toml:"http_listen"`

	// ProgressEvery is the least time between two Updates of a donation
	// campaign's progress (every gift shows on the page at once).
	ProgressEvery Duration `toml:"progress_every"`
	// MatrixCheckEvery is how often the bot's rooms are compared with the
	// configured ones, so a room's status follows a purge or a leave made
	// elsewhere.
	MatrixCheckEvery Duration `toml:"matrix_check_every"`
	// LiberapayURL and LiberapayEvery: a campaign whose link is a
	// Liberapay page has its total read from the page's public JSON this
	// often (0: never).
	LiberapayURL   string   `toml:"liberapay_url"`
	LiberapayEvery Duration `toml:"liberapay_every"`

	// TrustedProxies are the addresses (comma-separated, each an address
	// or a network like 10.0.0.0/8) whose X-Forwarded-For is believed:
	// the proxy in front. Default: loopback, a proxy on the same machine.
	TrustedProxies string `toml:"trusted_proxies"`
	// SignupsPerHour is what one network (an IPv4 address, an IPv6 /64)
	// may send the public sign-up forms an hour, after 50 at once; 0
	// means no limit.
	SignupsPerHour int `toml:"signups_per_hour"`
	// UpgradeCopies is how many copies of the store taken before an
	// upgrade (in the data folder's backups/) are kept, the newest; 0
	// keeps them all.
	UpgradeCopies int `toml:"upgrade_copies"`

	Delivery Delivery `toml:"delivery"`
}

// Proxies is TrustedProxies read (Validate has checked it).
func (c Config) Proxies() []netip.Prefix {
	var out []netip.Prefix
	for _, part := range strings.Split(c.TrustedProxies, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		if p, err := netip.ParsePrefix(part); err == nil {
			out = append(out, p.Masked())
		} else if a, err := netip.ParseAddr(part); err == nil {
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	return out
}

// Delivery tunes the queue workers and the retry policy.
type Delivery struct {
	Workers int `toml:"workers"`
	// RetryBase is the first retry delay; each later one doubles, up to RetryMax.
	RetryBase Duration `toml:"retry_base"`
	RetryMax  Duration `toml:"retry_max"`
	// RetryWindow is how long a delivery is retried before it becomes a dead letter.
	RetryWindow Duration `toml:"retry_window"`
	// Timeout bounds one HTTP delivery attempt.
	Timeout Duration `toml:"timeout"`
	// Lease is how long a worker holds a job before another may take it
	// over; it must exceed Timeout.
	Lease Duration `toml:"lease"`
	// HostLimit caps concurrent deliveries to one host; 0 means a quarter
	// of the workers (at least 2).
	HostLimit int `toml:"host_limit"`
	// ParkAfter failures in a row park a host for ParkBase, doubling up to
	// ParkMax while its probes fail.
	ParkAfter int      `toml:"park_after"`
	ParkBase  Duration `toml:"park_base"`
	ParkMax   Duration `toml:"park_max"`
}

// Duration is a time.Duration written as "30s", "2h" in TOML and env.
type Duration struct{ time.Duration }

// UnmarshalText implements encoding.TextUnmarshaler for TOML.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration; write it like \"30s\", \"5m\" or \"48h\"", string(b))
	}
	d.Duration = v
	return nil
}

// Default returns the zero-configuration settings.
func Default() Config {
	return Config{
		Listen:       "127.0.0.1:8080",
		DataDir:      "./data",
		DefaultBoard: "news",
		LogLevel:     "info",
		Timezone:     "UTC",
		MaxBodyBytes: 1 << 20,
		// Let's Encrypt's production directory.
		ACMEDirectory:    "https://acme-v02.api.letsencrypt.org/directory",
		HTTPListen:       ":80",
		ProgressEvery:    Duration{2 * time.Minute},
		MatrixCheckEvery: Duration{5 * time.Minute},
		LiberapayURL:     "https://liberapay.com",
		LiberapayEvery:   Duration{15 * time.Minute},
		TrustedProxies:   "127.0.0.0/8, ::1",
		SignupsPerHour:   120,
		UpgradeCopies:    3,
		Delivery: Delivery{
			// Deliveries wait on the network, not the CPU: 16 in flight cost
			// little and keep one slow host from idling the rest.
			Workers: 16,
			// Close to Mastodon's spacing (it retries 16 times over about two
			// days) while starting faster, as GoToSocial does, so a brief
			// outage heals within a minute.
			RetryBase:   Duration{30 * time.Second},
			RetryMax:    Duration{6 * time.Hour},
			RetryWindow: Duration{48 * time.Hour},
			Timeout:     Duration{30 * time.Second},
			Lease:       Duration{2 * time.Minute},
			ParkAfter:   5,
			ParkBase:    Duration{time.Minute},
			ParkMax:     Duration{time.Hour},
		},
	}
}

// Error names the offending key, where it came from and what to do.
type Error struct {
	Key    string // dotted TOML key, e.g. delivery.retry_base
	Source string // file path or environment variable
	Msg    string
}

func (e *Error) Error() string {
	return fmt.Sprintf("config: %s (%s): %s", e.Key, e.Source, e.Msg)
}

// withPosition is the parse error with the offending line shown, or
// without it where the library cannot show it: toml v1.6.0 panics on an
// unterminated string before a CRLF (found by FuzzConfigFile).
func withPosition(perr toml.ParseError) (msg string) {
	defer func() {
		if recover() != nil {
			msg = perr.Error()
		}
	}()
	return perr.ErrorWithPosition()
}

// Load reads path (empty: no file), applies environment overrides from env
// (os.Environ form) and validates the result.
func Load(path string, env []string) (Config, error) {
	cfg := Default()
	if path != "" {
		md, err := toml.DecodeFile(path, &cfg)
		if err != nil {
			var perr toml.ParseError
			if errors.As(err, &perr) {
				return cfg, fmt.Errorf("config: %s: %s", path, withPosition(perr))
			}
			return cfg, fmt.Errorf("config: %s: %w", path, err)
		}
		if undec := md.Undecoded(); len(undec) > 0 {
			return cfg, &Error{Key: undec[0].String(), Source: path, Msg: "unknown key; see README.md for the keys Crieur reads"}
		}
	}
	if err := applyEnv(&cfg, env); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

// EnvName is the environment variable that overrides a dotted key.
func EnvName(key string) string {
	return "CRIEUR_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

func applyEnv(cfg *Config, env []string) error {
	vars := make(map[string]string, len(env))
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "CRIEUR_") {
			vars[k] = v
		}
	}
	return walk(reflect.ValueOf(cfg).Elem(), "", func(key string, f reflect.Value) error {
		name := EnvName(key)
		raw, ok := vars[name]
		if !ok {
			return nil
		}
		if err := setField(f, raw); err != nil {
			return &Error{Key: key, Source: name, Msg: err.Error()}
		}
		return nil
	})
}

func walk(v reflect.Value, prefix string, fn func(key string, f reflect.Value) error) error {
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		key := sf.Tag.Get("toml")
		if key == "" {
			continue
		}
		if prefix != "" {
			key = prefix + "." + key
		}
		f := v.Field(i)
		if f.Kind() == reflect.Struct && f.Type() != reflect.TypeFor[Duration]() {
			if err := walk(f, key, fn); err != nil {
				return err
			}
			continue
		}
		if err := fn(key, f); err != nil {
			return err
		}
	}
	return nil
}

func setField(f reflect.Value, raw string) error {
	if f.Type() == reflect.TypeFor[Duration]() {
		return f.Addr().Interface().(*Duration).UnmarshalText([]byte(raw))
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString(raw)
	case reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return fmt.Errorf("%q is not a boolean; use true or false", raw)
		}
		f.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", raw)
		}
		f.SetInt(n)
	default:
		return fmt.Errorf("cannot be set from the environment")
	}
	return nil
}

// Validate checks every value and derives PublicURL from Listen when unset.
func (c *Config) Validate() error {
	if c.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(c.MetricsListen); err != nil {
			return &Error{Key: "metrics_listen", Source: "value " + strconv.Quote(c.MetricsListen), Msg: "must be host:port, e.g. 127.0.0.1:9090"}
		}
	}
	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil || port == "" {
		return &Error{Key: "listen", Source: "value " + strconv.Quote(c.Listen), Msg: "must be host:port, e.g. 127.0.0.1:8080"}
	}
	if c.PublicURL == "" {
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		c.PublicURL = "http://" + net.JoinHostPort(host, port)
	}
	u, err := url.Parse(c.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return &Error{Key: "public_url", Source: "value " + strconv.Quote(c.PublicURL), Msg: "must be an absolute http(s) URL with no path, e.g. https://board.example.org"}
	}
	c.PublicURL = strings.TrimSuffix(c.PublicURL, "/")
	if c.DataDir == "" {
		return &Error{Key: "data_dir", Source: "value \"\"", Msg: "must name a directory, e.g. ./data"}
	}
	if !board.ValidName(c.DefaultBoard) {
		return &Error{Key: "default_board", Source: "value " + strconv.Quote(c.DefaultBoard), Msg: "must be 1-30 characters of a-z, 0-9 and _"}
	}
	for _, part := range strings.Split(c.TrustedProxies, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		if _, err := netip.ParsePrefix(part); err != nil {
			if _, err := netip.ParseAddr(part); err != nil {
				return &Error{Key: "trusted_proxies", Source: "value " + strconv.Quote(c.TrustedProxies), Msg: fmt.Sprintf("%q is neither an address nor a network; write them like \"127.0.0.1, 10.0.0.0/8\"", part)}
			}
		}
	}
	if c.UpgradeCopies < 0 {
		return &Error{Key: "upgrade_copies", Source: "value " + strconv.Itoa(c.UpgradeCopies), Msg: "must be 0 (keep every copy) or more"}
	}
	if c.SignupsPerHour < 0 {
		return &Error{Key: "signups_per_hour", Source: "value " + strconv.Itoa(c.SignupsPerHour), Msg: "must be 0 (no limit) or more"}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return &Error{Key: "log_level", Source: "value " + strconv.Quote(c.LogLevel), Msg: "must be debug, info, warn or error"}
	}
	if _, err := time.LoadLocation(c.Timezone); err != nil || c.Timezone == "" {
		return &Error{Key: "timezone", Source: "value " + strconv.Quote(c.Timezone), Msg: "must be a time zone name such as Europe/Paris or UTC"}
	}
	if c.MaxBodyBytes < 1024 {
		return &Error{Key: "max_body_bytes", Source: fmt.Sprint("value ", c.MaxBodyBytes), Msg: "must be at least 1024"}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		key := "tls_key"
		if c.TLSCert == "" {
			key = "tls_cert"
		}
		return &Error{Key: key, Source: "value \"\"", Msg: "tls_cert and tls_key go together: set both (https) or neither (plain HTTP behind a proxy)"}
	}
	switch c.TLS {
	case "":
	case "auto":
		if c.TLSCert != "" {
			return &Error{Key: "tls", Source: "value \"auto\"", Msg: "either tls = \"auto\" (certificates from an ACME authority) or tls_cert and tls_key, not both"}
		}
		u, _ := url.Parse(c.PublicURL)
		if u.Scheme != "https" || net.ParseIP(u.Hostname()) != nil {
			return &Error{Key: "tls", Source: "value \"auto\"", Msg: "needs public_url to be https:// with the host name certificates are for, e.g. https://board.example.org"}
		}
		if d, err := url.Parse(c.ACMEDirectory); err != nil || d.Scheme != "https" {
			return &Error{Key: "acme_directory", Source: "value " + strconv.Quote(c.ACMEDirectory), Msg: "must be the https URL of an ACME directory"}
		}
		if _, _, err := net.SplitHostPort(c.HTTPListen); err != nil {
			return &Error{Key: "http_listen", Source: "value " + strconv.Quote(c.HTTPListen), Msg: "must be host:port (\":80\": the CA checks http://HOST/.well-known/acme-challenge/ there)"}
		}
	default:
		return &Error{Key: "tls", Source: "value " + strconv.Quote(c.TLS), Msg: "must be \"auto\" or empty (plain HTTP, or tls_cert and tls_key)"}
	}
	if c.TLSCert != "" {
		if _, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey); err != nil {
			return &Error{Key: "tls_cert", Source: "file " + strconv.Quote(c.TLSCert), Msg: "with tls_key, must be a PEM certificate and its private key: " + err.Error()}
		}
	}
	if c.RedisURL != "" {
		u, err := url.Parse(c.RedisURL)
		if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			return &Error{Key: "redis_url", Source: "value " + strconv.Quote(redactURL(c.RedisURL)), Msg: "must be redis://host:port/db or rediss://..."}
		}
	}
	d := c.Delivery
	// With Redis, serve may leave delivering to `crieur deliver` workers.
	minWorkers := 1
	if c.RedisURL != "" {
		minWorkers = 0
	}
	if d.Workers < minWorkers || d.Workers > 1024 {
		return &Error{Key: "delivery.workers", Source: fmt.Sprint("value ", d.Workers), Msg: fmt.Sprintf("must be between %d and 1024", minWorkers)}
	}
	if d.HostLimit < 0 || d.HostLimit > 1024 {
		return &Error{Key: "delivery.host_limit", Source: fmt.Sprint("value ", d.HostLimit), Msg: "must be between 1 and 1024, or 0 for a quarter of delivery.workers"}
	}
	if d.ParkAfter < 1 {
		return &Error{Key: "delivery.park_after", Source: fmt.Sprint("value ", d.ParkAfter), Msg: "must be at least 1"}
	}
	for _, p := range []struct {
		key string
		v   Duration
	}{{"delivery.retry_base", d.RetryBase}, {"delivery.retry_max", d.RetryMax}, {"delivery.retry_window", d.RetryWindow}, {"delivery.timeout", d.Timeout},
		{"delivery.lease", d.Lease}, {"delivery.park_base", d.ParkBase}, {"delivery.park_max", d.ParkMax}} {
		if p.v.Duration <= 0 {
			return &Error{Key: p.key, Source: "value " + p.v.String(), Msg: "must be a positive duration"}
		}
	}
	if d.Lease.Duration <= d.Timeout.Duration {
		return &Error{Key: "delivery.lease", Source: "value " + d.Lease.String(), Msg: "must be longer than delivery.timeout, or jobs would be run twice"}
	}
	if d.ParkMax.Duration < d.ParkBase.Duration {
		return &Error{Key: "delivery.park_max", Source: "value " + d.ParkMax.String(), Msg: "must be at least delivery.park_base"}
	}
	if d.RetryMax.Duration < d.RetryBase.Duration {
		return &Error{Key: "delivery.retry_max", Source: "value " + d.RetryMax.String(), Msg: "must be at least delivery.retry_base"}
	}
	return nil
}

// redactURL hides a password in a URL before it is shown.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return "(unparseable URL)"
}

// Location is Timezone, loaded (Validate has checked it).
func (c *Config) Location() *time.Location {
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// MediaDir is the folder of uploaded pictures inside DataDir.
func (c *Config) MediaDir() string { return strings.TrimSuffix(c.DataDir, "/") + "/media" }

// BackupsDir is the folder inside DataDir where the copies taken before
// upgrades go.
func (c *Config) BackupsDir() string { return strings.TrimSuffix(c.DataDir, "/") + "/backups" }

// DatabasePath is the SQLite file inside DataDir.
func (c *Config) DatabasePath() string {
	return strings.TrimSuffix(c.DataDir, "/") + "/crieur.db"
}
