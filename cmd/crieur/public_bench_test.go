package main

// BenchmarkPublicGETs measures what the public GETs cost (issue 27): each
// address of a running `crieur serve` (a process of its own, a board with
// 50 announcements) against a static Go handler serving the very bytes
// Crieur answered (a process of its own too), side by side in one run,
// 16 clients on keep-alive connections. It prints requests per second
// and the ratio beside its goal (at least 0.70 of the static handler);
// it asserts nothing. Seconds per measure: CRIEUR_BENCH_SECONDS (4).
//
// The clients share the machine's two cores with the server they load,
// so a rate is the server's speed and the clients' mixed: the lighter a
// server, the more of the cores its clients take, and every rate is
// pulled toward the clients' own ceiling. Beside each rate it prints
// the server's processor time per answer (its process's user and system
// time over the run, from /proc), which the clients do not enter: what
// a server answering clients elsewhere, as on the Internet, can serve
// per core. Both ratios to GoToSocial are printed with their verdict.

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// staticEnv makes the test binary a static server instead (TestMain):
// FILE|CONTENT-TYPE|ADDRESS.
const staticEnv = "CRIEUR_BENCH_STATIC"

// serveStatic answers every request with one file's bytes, as a plain Go
// handler does: the yardstick of the public GETs.
func serveStatic(spec string) {
	parts := strings.SplitN(spec, "|", 3)
	if len(parts) != 3 {
		fmt.Fprintln(os.Stderr, "static server: want FILE|CONTENT-TYPE|ADDRESS")
		os.Exit(2)
	}
	file, ctype, addr := parts[0], parts[1], parts[2]
	body, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintln(os.Stderr, "static server:", err)
		os.Exit(2)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	})
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "static server:", err)
		os.Exit(1)
	}
}

func BenchmarkPublicGETs(b *testing.B) {
	seconds := 4
	if s, err := strconv.Atoi(os.Getenv("CRIEUR_BENCH_SECONDS")); err == nil && s > 0 {
		seconds = s
	}
	for range b.N {
		publicGETs(b, time.Duration(seconds)*time.Second)
	}
}

func publicGETs(b *testing.B, d time.Duration) {
	c := startCrieurProcess(b, b.TempDir(), 0, "CRIEUR_LOG_LEVEL=warn")
	var last announcement
	for i := range 50 {
		code, err := c.Client(c.Token).Call(context.Background(), "POST", "/api/v1/boards/news/announcements", map[string]any{
			"kind": "news", "title": fmt.Sprintf("Announcement %d", i), "body": "Some **text** for the page, #bench.", "tags": []string{"bench"}}, nil, &last)
		if err != nil || code != http.StatusCreated {
			b.Fatalf("post: %d %v", code, err)
		}
	}
	host := fmt.Sprintf("127.0.0.1:%d", c.Port)
	var gts *goToSocial
	if dir := os.Getenv(goToSocialEnv); dir != "" {
		gts = startGoToSocial(b, dir, 50)
		var account map[string]any
		gts.api(b, gts.bearer, "PATCH", "/api/v1/accounts/update_credentials", map[string]any{"enable_rss": true}, &account)
	}
	// gts is the same GET of GoToSocial: the nearest page or document it
	// has; "" where it has none, or answers only signed requests (its
	// actor and outbox: it always asks for HTTP signatures).
	gets := []struct{ name, unit, path, accept, gts, gtsAccept string }{
		{"WebFinger", "webfinger", "/.well-known/webfinger?resource=acct:news@" + host, "application/jrd+json", "/.well-known/webfinger?resource=acct:news@{host}", ""},
		{"nodeinfo", "nodeinfo", "/nodeinfo/2.1", "application/json", "/nodeinfo/2.0", ""},
		{"a post's page", "post-page", fmt.Sprintf("/boards/news/a/%d", last.ID), "text/html", "/@news/statuses/{status}", ""},
		{"the board's page", "board-page", "/boards/news", "text/html", "/@news", ""},
		{"the actor", "actor", "/boards/news", "application/activity+json", "", ""},
		{"the outbox", "outbox", "/boards/news/outbox", "application/activity+json", "", ""},
		{"the Atom feed", "atom", "/boards/news/feed.atom", "application/atom+xml", "/@news/feed.rss", "application/rss+xml"},
		{"the widget", "widget", "/boards/news/widget", "text/html", "", ""},
	}
	fmt.Printf("public GETs, %d clients, %s per measure, median of 2 (crieur serve, a static Go handler and GoToSocial, each a process of its own)\n", 16, d)
	if gts == nil {
		fmt.Printf("(no GoToSocial: %s is not set; scripts/bench.sh builds it)\n", goToSocialEnv)
	}
	fmt.Printf("%-18s %10s %10s %6s  %-22s %10s %8s  %-60s | %-28s\n", "", "answers per second, clients on the same cores", "", "", "", "", "", "", "server CPU per answer (us), clients not counted")
	fmt.Printf("%-18s %10s %10s %6s  %-22s %10s %8s  %-60s | %6s %6s  %6s %6s\n", "GET", "Crieur/s", "static/s", "ratio", "goal", "GTS/s", "vs GTS", "goal", "Crieur", "static", "GTS", "vs GTS")
	for _, g := range gets {
		body, ctype := fetch(b, c.URL+g.path, g.accept)
		file := filepath.Join(b.TempDir(), "body")
		if err := os.WriteFile(file, body, 0o600); err != nil {
			b.Fatal(err)
		}
		addr := freeAddr(b)
		static := exec.Command(os.Args[0])
		static.Env = append(os.Environ(), staticEnv+"="+file+"|"+ctype+"|"+addr)
		static.Stderr = os.Stderr
		if err := static.Start(); err != nil {
			b.Fatal(err)
		}
		waitListening(b, addr)
		gtsURL := ""
		if gts != nil && g.gts != "" {
			gtsURL = gts.URL + strings.NewReplacer("{host}", gts.host, "{status}", gts.status).Replace(g.gts)
			if g.gtsAccept == "" {
				g.gtsAccept = g.accept
			}
			fetch(b, gtsURL, g.gtsAccept) // it answers 200 before it is measured
		}
		var crieur, plain, other, crieurCPU, plainCPU, otherCPU []float64
		for range 2 {
			rate, cpu := load(b, c.URL+g.path, g.accept, 16, d, c.Pid)
			crieur, crieurCPU = append(crieur, rate), append(crieurCPU, cpu)
			rate, cpu = load(b, "http://"+addr+g.path, g.accept, 16, d, static.Process.Pid)
			plain, plainCPU = append(plain, rate), append(plainCPU, cpu)
			if gtsURL != "" {
				rate, cpu = load(b, gtsURL, g.gtsAccept, 16, d, gts.pid)
				other, otherCPU = append(other, rate), append(otherCPU, cpu)
			}
		}
		_ = static.Process.Kill()
		_ = static.Wait()
		cr, st := median(crieur), median(plain)
		crCPU, stCPU := median(crieurCPU), median(plainCPU)
		verdict := "met"
		if cr/st < 0.70 {
			verdict = "NOT met"
		}
		versus := fmt.Sprintf("%10s %8s  %-60s", "-", "-", "no such public GET")
		cpuVersus := "-"
		if len(other) > 0 {
			gt, gtCPU := median(other), median(otherCPU)
			gv := "met"
			switch {
			case cr/gt >= 2:
			case 2*gt > st:
				// Where GoToSocial is already over half of what a
				// handler writing fixed bytes answers, twice its rate
				// is more than any server answers with these clients.
				gv = "NOT met (2x GTS is above the static handler's rate)"
			default:
				gv = "NOT met"
			}
			versus = fmt.Sprintf("%10.0f %7.1fx  >= 2x: %-52s", gt, cr/gt, gv)
			cv := "met"
			if gtCPU/crCPU < 2 {
				cv = "NOT met"
			}
			cpuVersus = fmt.Sprintf("%6.0f %6.1fx >= 2x: %s", gtCPU, gtCPU/crCPU, cv)
			b.ReportMetric(cr/gt, "vs-gts-"+g.unit)
			b.ReportMetric(gtCPU/crCPU, "vs-gts-cpu-"+g.unit)
		}
		fmt.Printf("%-18s %10.0f %10.0f %6.2f  >= 0.70 of static: %-4s %s | %6.0f %6.0f  %s\n", g.name, cr, st, cr/st, verdict, versus, crCPU, stCPU, cpuVersus)
		b.ReportMetric(cr/st, "ratio-"+g.unit)
	}
}

func fetch(b *testing.B, url, accept string) ([]byte, string) {
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Accept", accept)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		b.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return body, resp.Header.Get("Content-Type")
}

// load runs clients GET loops on url for d and returns the successful
// answers per second, and the microseconds of processor time the
// server's process pid used per answer.
func load(b *testing.B, url, accept string, clients int, d time.Duration, pid int) (rate, cpuPerAnswer float64) {
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var ok, failed atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	cpu0 := processCPU(b, pid)
	start := time.Now()
	for range clients {
		wg.Go(func() {
			req, _ := http.NewRequest("GET", url, nil)
			req.Header.Set("Accept", accept)
			for time.Now().Before(deadline) {
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					ok.Add(1)
				} else {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := processCPU(b, pid) - cpu0
	if n := failed.Load(); n > 0 {
		b.Fatalf("GET %s: %d failed", url, n)
	}
	return float64(ok.Load()) / elapsed.Seconds(), float64(cpu.Microseconds()) / float64(ok.Load())
}

// processCPU is the user and system time process pid and its threads
// have used (/proc/PID/stat, fields 14 and 15, in clock ticks: 10 ms on
// Linux, a fraction of a per cent of a run's seconds).
func processCPU(b *testing.B, pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatalf("read the server's processor time: %v", err)
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	fields := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		b.Fatalf("read /proc/%d/stat: %q", pid, raw)
	}
	const tick = 10 * time.Millisecond // USER_HZ, 100 on every Linux port
	return time.Duration(utime+stime) * tick
}

func median(v []float64) float64 {
	slices.Sort(v)
	if len(v)%2 == 0 {
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return v[len(v)/2]
}

func freeAddr(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitListening(b *testing.B, addr string) {
	for range 500 {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.Fatalf("nothing listens on %s", addr)
}
