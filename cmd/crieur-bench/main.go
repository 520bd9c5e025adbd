// Command crieur-bench measures delivery throughput against the signing
// bound, and how much a hanging or failing host slows the others. It runs
// everything on loopback: a private redis-server, inbox servers on
// 127.0.x.y addresses (one host each), and delivery pools built from the
// same code `crieur deliver` runs. It prints its figures; it asserts nothing.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/redis/go-redis/v9"

	"crieur/board/store"
	"crieur/federation/activitypub"
	"crieur/federation/delivery"
	"crieur/federation/delivery/redistest"
)

// sinks are inbox servers; each counts the POSTs it answered.
type sinks struct {
	urls    []string
	counts  []atomic.Int64
	conns   *atomic.Int64 // connections accepted
	servers []*http.Server
	proc    *exec.Cmd
	stdin   io.Closer
}

func startSinks(subnet, n int, handler func(i int) http.HandlerFunc) (*sinks, error) {
	s := &sinks{counts: make([]atomic.Int64, n)}
	for i := range n {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.%d.%d:0", subnet+i/250, 1+i%250))
		if err != nil {
			return nil, err
		}
		srv := &http.Server{Handler: handler(i), ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		s.servers = append(s.servers, srv)
		s.urls = append(s.urls, "http://"+ln.Addr().String())
	}
	return s, nil
}

func (s *sinks) total() int64 {
	var t int64
	for i := range s.counts {
		t += s.counts[i].Load()
	}
	return t
}

func (s *sinks) close() {
	for _, srv := range s.servers {
		srv.Close()
	}
	if s.proc != nil {
		s.stdin.Close()
		s.proc.Wait()
	}
}

// okSinks are healthy inboxes. They stand in for other machines, so they
// are as light as HTTP/1.1 allows (read the request, answer 202, keep the
// connection) and run in a process of their own (GOMAXPROCS=1), whose CPU
// is measured apart from Crieur's. The counts live in a file both processes map, so
// reading them costs no system call. The last count is new connections.
func okSinks(subnet, n int, dir string) (*sinks, error) {
	path := filepath.Join(dir, "counts")
	counts, err := mapCounts(path, n+1, true)
	if err != nil {
		return nil, err
	}
	// One thread runs Go code: the inbox servers wait far more than they
	// work, and idle threads looking for work would only take CPU from
	// the deliveries measured here.
	cmd, stdin, stdout, err := startChild(1, "-inbox-servers", strconv.Itoa(n), "-subnet", strconv.Itoa(subnet), "-counts", path)
	if err != nil {
		return nil, err
	}
	s := &sinks{counts: counts[:n], conns: &counts[n], proc: cmd, stdin: stdin}
	sc := bufio.NewScanner(stdout)
	for len(s.urls) < n && sc.Scan() {
		s.urls = append(s.urls, sc.Text())
	}
	if len(s.urls) < n {
		s.close()
		return nil, fmt.Errorf("inbox servers started %d of %d listeners", len(s.urls), n)
	}
	return s, nil
}

// serveInboxes is the child process of okSinks.
func serveInboxes(subnet, n int, path string) error {
	counts, err := mapCounts(path, n+1, false)
	if err != nil {
		return err
	}
	for i := range n {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.%d.%d:0", subnet+i/250, 1+i%250))
		if err != nil {
			return err
		}
		fmt.Println("http://" + ln.Addr().String())
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				counts[n].Add(1)
				go serveInbox(c, &counts[i])
			}
		}()
	}
	io.Copy(io.Discard, os.Stdin) // until the parent goes
	return nil
}

// mapCounts maps n shared counters from path.
func mapCounts(path string, n int, create bool) ([]atomic.Int64, error) {
	flags := os.O_RDWR
	if create {
		flags |= os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, 0o600)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if create {
		if err := f.Truncate(int64(8 * n)); err != nil {
			return nil, err
		}
	}
	mem, err := syscall.Mmap(int(f.Fd()), 0, 8*n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("map counters: %w", err)
	}
	// The mapping is page-aligned, so each 8-byte counter is aligned.
	return unsafe.Slice((*atomic.Int64)(unsafe.Pointer(&mem[0])), n), nil
}

// cpu is the CPU time the sinks' process has used so far (zero for
// in-process sinks).
func (s *sinks) cpu() time.Duration {
	if s.proc == nil {
		return 0
	}
	return threadsCPUTime(s.proc.Process.Pid)
}

func serveInbox(c net.Conn, count *atomic.Int64) {
	defer c.Close()
	r := bufio.NewReader(c)
	for {
		length := -1
		for {
			line, err := r.ReadSlice('\n')
			if err != nil {
				return
			}
			if len(line) <= 2 {
				break
			}
			if k, v, ok := strings.Cut(string(line), ":"); ok && strings.EqualFold(k, "Content-Length") {
				length, _ = strconv.Atoi(strings.TrimSpace(v))
			}
		}
		if length < 0 {
			return
		}
		if _, err := r.Discard(length); err != nil {
			return
		}
		count.Add(1)
		if _, err := c.Write([]byte("HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")); err != nil {
			return
		}
	}
}

// activity is a typical Create of about 1.5 kB.
func activity(i int) map[string]any {
	return map[string]any{
		"@context": []any{"https://www.w3.org/ns/activitystreams"},
		"id":       fmt.Sprintf("https://bench.example/boards/news/a/%d/activity/create", i),
		"type":     "Create", "actor": "https://bench.example/boards/news",
		"to": []string{"https://www.w3.org/ns/activitystreams#Public"},
		"object": map[string]any{
			"id": fmt.Sprintf("https://bench.example/boards/news/a/%d", i), "type": "Note",
			"content": "<p><strong>Volunteers wanted</strong></p><p>" + strings.Repeat("We need help to run the repair café on Saturday. ", 24) + "</p>",
		},
	}
}

func jobs(prefix string, targets []string, perTarget int) []delivery.Job {
	var out []delivery.Job
	act := activity(1)
	for n := range perTarget {
		for i, t := range targets {
			inbox := fmt.Sprintf("%s/users/%d/inbox", t, n)
			j, err := activitypub.DeliveryJob(fmt.Sprintf("%s:%d:%d", prefix, i, n), 1, "news", "https://bench.example/boards/news#main-key", inbox, act)
			if err != nil {
				panic(err)
			}
			out = append(out, j)
		}
	}
	return out
}

type bench struct {
	rdb         *redis.Client
	redisAddr   string
	key         *rsa.PrivateKey
	keysDir     string // the key as the workers read it: DIR/news.pem
	workers     int
	workerProcs int
	concurrency int
	embedded    bool // the embedded SQLite queue, workers in this process (crieur serve's default)
	// embeddedConcurrency is the embedded pool's size when both queues
	// are measured (concurrency is then the Redis workers').
	embeddedConcurrency int
	dir                 string // for the embedded queue's database
	// cpu runs the embedded path's signatures as crieur serve does
	// (delivery.BackgroundCPU: below the pages' priority).
	cpu *delivery.BackgroundCPU
	// reading: a person reads the pages during the embedded path's runs
	// (the signatures yield to them).
	reading bool
	procs   int // GOMAXPROCS with nobody reading
}

// usage is the CPU a process used: in all, and in the kernel (system
// calls, the loopback TCP of both ends, wake-ups).
type usage struct{ all, kernel time.Duration }

func (u usage) minus(v usage) usage { return usage{u.all - v.all, u.kernel - v.kernel} }
func (u usage) plus(v usage) usage  { return usage{u.all + v.all, u.kernel + v.kernel} }

// deliver enqueues js, runs the delivery workers until done() holds, and
// returns the elapsed time, the CPU Crieur used meanwhile (the workers',
// and the fan-out's enqueue) and the enqueue's part of it. The bench's own
// waiting is not counted.
func (b *bench) deliver(js []delivery.Job, done func() bool) (time.Duration, usage, usage, error) {
	if b.embedded {
		return b.deliverEmbedded(js, done)
	}
	ctx := context.Background()
	b.rdb.FlushAll(ctx)
	q := delivery.NewRedisQueue(b.rdb, "bench:", activitypub.KindDeliver)
	var ws []*worker
	defer func() {
		for _, w := range ws {
			w.stop()
		}
	}()
	for range b.workers {
		// Each worker is a process of its own with one core's worth of
		// Go threads, as `crieur deliver` processes on a machine would be.
		w, err := b.startWorker()
		if err != nil {
			return 0, usage{}, usage{}, err
		}
		ws = append(ws, w)
	}
	time.Sleep(200 * time.Millisecond) // the workers wait, as when a fan-out arrives
	cpu0 := workersCPU(ws)
	elapsed, enq, err := enqueueAndWait(ctx, q, js, done)
	return elapsed, workersCPU(ws).minus(cpu0).plus(enq), enq, err
}

// enqueueAndWait enqueues js and waits until done() holds; the clock runs
// from the enqueue to the last delivery.
func enqueueAndWait(ctx context.Context, q delivery.Queue, js []delivery.Job, done func() bool) (time.Duration, usage, error) {
	start, cpu0 := time.Now(), selfCPU()
	err := q.Enqueue(ctx, js...)
	enq := selfCPU().minus(cpu0)
	for err == nil && !done() {
		if time.Since(start) > 2*time.Minute {
			err = errors.New("deliveries did not complete within 2 minutes")
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Since(start), enq, err
}

// startChild starts this program with args and GOMAXPROCS=procs. The
// child runs while its standard input is open: until the caller closes
// it, or until this process is gone.
func startChild(procs int, args ...string) (*exec.Cmd, io.WriteCloser, io.ReadCloser, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, nil, nil, err
	}
	cmd := exec.Command(self, args...)
	cmd.Env = append(os.Environ(), fmt.Sprintf("GOMAXPROCS=%d", procs))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, nil, err
	}
	return cmd, stdin, stdout, nil
}

// worker is a delivery worker process.
type worker struct {
	cmd   *exec.Cmd
	stdin io.Closer
}

// stop closes the worker's input, on which it stops (and ends its CPU
// profile, if it writes one); it is killed if it does not.
func (w *worker) stop() {
	w.stdin.Close()
	t := time.AfterFunc(5*time.Second, func() { w.cmd.Process.Kill() })
	w.cmd.Wait()
	t.Stop()
}

// deliverEmbedded is deliver with the embedded queue: one pool in this
// process, outcomes recorded in the store, as `crieur serve` runs without
// Redis. Its CPU is this process's, which the caller measures.
func (b *bench) deliverEmbedded(js []delivery.Job, done func() bool) (time.Duration, usage, usage, error) {
	ctx := context.Background()
	path := filepath.Join(b.dir, "embedded.db")
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(path + suffix)
	}
	db, err := store.OpenDB(path)
	if err != nil {
		return 0, usage{}, usage{}, err
	}
	defer db.Close()
	store, err := store.New(ctx, db)
	if err != nil {
		return 0, usage{}, usage{}, err
	}
	q := delivery.NewSQLiteQueue(db)
	client := activitypub.NewHTTPClient(2*time.Second, true)
	defer client.CloseIdleConnections()
	p := &delivery.Pool{
		Queue: q, Recorder: delivery.NewGroupRecorder(store), // as crieur serve records
		Handlers: map[string]delivery.Handler{activitypub.KindDeliver: &activitypub.Deliverer{
			Client: client, Keys: &activitypub.FileKeys{Dir: b.keysDir}, UserAgent: "crieur-bench", CPU: b.cpu,
		}},
		Policy:  delivery.RetryPolicy{Base: 30 * time.Second, Max: time.Hour, Window: 48 * time.Hour},
		Hosts:   delivery.DefaultHostPolicy,
		Workers: b.concurrency, Lease: 4 * time.Second, Poll: 50 * time.Millisecond, Log: benchLogger(),
	}
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { p.Run(runCtx) })
	defer func() { stop(); wg.Wait() }()
	time.Sleep(200 * time.Millisecond)
	// A run with nobody reading waits for the last reader's window to
	// close and the signers' processors to go, as a fan-out would find a
	// server nobody reads.
	for !b.reading && (b.cpu.InForeground() || runtime.GOMAXPROCS(0) != b.procs) {
		time.Sleep(100 * time.Millisecond)
	}
	if b.reading {
		// What crieur serve's handler does at each page a person asks
		// for; the pages themselves are BenchmarkBoardPageDuringFanOut's.
		reader, stopReading := context.WithCancel(ctx)
		defer stopReading()
		b.cpu.Foreground()
		go func() {
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-reader.Done():
					return
				case <-t.C:
					b.cpu.Foreground()
				}
			}
		}()
	}
	// The workers run in this process: all of its CPU is theirs and the
	// enqueue's (the bench's waiting beside them is a wake-up every 2 ms).
	cpu0 := selfCPU()
	elapsed, enq, err := enqueueAndWait(ctx, q, js, done)
	return elapsed, selfCPU().minus(cpu0), enq, err
}

// startWorker starts this program as a delivery worker; it is ready when
// it says so.
func (b *bench) startWorker() (*worker, error) {
	cmd, stdin, out, err := startChild(b.workerProcs, "-worker", b.redisAddr, "-keys", b.keysDir, "-concurrency", strconv.Itoa(b.concurrency))
	if err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "ready\n" {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("worker did not start: %q %v", line, err)
	}
	return &worker{cmd: cmd, stdin: stdin}, nil
}

// runWorker is the worker child: the delivery pool `crieur deliver` runs.
func runWorker(redisAddr, keysDir string, concurrency int) error {
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rdb.Close()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() {
		io.Copy(io.Discard, os.Stdin) // until the parent goes
		stop()
	}()
	timeout := 2 * time.Second
	p := &delivery.Pool{
		Queue: delivery.NewRedisQueue(rdb, "bench:", activitypub.KindDeliver).WithResults(),
		Handlers: map[string]delivery.Handler{activitypub.KindDeliver: &activitypub.Deliverer{
			Client: activitypub.NewHTTPClient(timeout, true), Keys: &activitypub.FileKeys{Dir: keysDir}, UserAgent: "crieur-bench",
		}},
		Policy:  delivery.RetryPolicy{Base: 30 * time.Second, Max: time.Hour, Window: 48 * time.Hour},
		Hosts:   delivery.DefaultHostPolicy,
		Workers: concurrency, Lease: 2 * timeout, Poll: 50 * time.Millisecond, Log: benchLogger(),
	}
	if path := os.Getenv("CRIEUR_BENCH_WORKER_PROFILE"); path != "" {
		f, err := os.Create(fmt.Sprintf("%s.%d", path, os.Getpid()))
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	fmt.Println("ready")
	p.Run(ctx)
	return nil
}

// workersCPU is the CPU time the worker processes have used so far.
func workersCPU(ws []*worker) usage {
	var t usage
	for _, w := range ws {
		t = t.plus(usage{threadsCPUTime(w.cmd.Process.Pid), kernelTime(w.cmd.Process.Pid)})
	}
	return t
}

// kernelTime is the CPU a process has spent in the kernel so far (stime
// in /proc/PID/stat, in ticks of 10 ms: coarse, but a run takes seconds).
func kernelTime(pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command name, which may hold spaces: state is
	// the third field of the file, stime the fifteenth.
	_, rest, _ := strings.Cut(string(raw), ") ")
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	ticks, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ticks) * 10 * time.Millisecond
}

// threadsCPUTime sums the nanosecond run times of a process's threads
// (/proc/PID/task/TID/schedstat), finer than the 10 ms ticks of /proc/PID/stat.
func threadsCPUTime(pid int) time.Duration {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	var t time.Duration
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		ns, _ := strconv.ParseInt(strings.Fields(string(b))[0], 10, 64)
		t += time.Duration(ns)
	}
	return t
}

// signingCPU is the CPU time one signature takes: the delivery signer runs
// on every core for d, and this process's CPU time is divided by the
// signatures made. Unlike a rate per wall-clock second, it does not shrink
// when other programs take the shared cores.
func signingCPU(key *rsa.PrivateKey, d time.Duration) time.Duration {
	cpu0 := cpuTime()
	n := signingRate(key, d) * d.Seconds()
	return time.Duration(float64(cpuTime()-cpu0) / n)
}

// loadAverage is the machine's one-minute load average, printed beside
// the figures: on a shared machine they mean little without it.
func loadAverage() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	if f := strings.Fields(string(raw)); len(f) > 0 {
		return f[0]
	}
	return "?"
}

// signingRate runs the delivery signer on every core for d.
func signingRate(key *rsa.PrivateKey, d time.Duration) float64 {
	body, _ := json.Marshal(activity(1))
	var n atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	for range runtime.NumCPU() { // one a core (GOMAXPROCS counts the signing threads too)
		wg.Go(func() {
			for time.Now().Before(deadline) {
				if err := activitypub.SignForBenchmark(key, "http://127.0.0.1:1/inbox", body); err != nil {
					panic(err)
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	return float64(n.Load()) / d.Seconds()
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func main() {
	followers := flag.Int("followers", 2000, "deliveries in the throughput run")
	hosts := flag.Int("hosts", 200, "loopback hosts they are spread over")
	workers := flag.Int("workers", 2, "worker pools (as crieur deliver processes)")
	concurrency := flag.Int("concurrency", 32, "deliveries in flight per worker")
	runs := flag.Int("runs", 5, "repetitions; medians are reported")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile here")
	part := flag.String("part", "all", "what to measure: all, throughput or slowhost")
	inboxServers := flag.Int("inbox-servers", 0, "internal: run this many inbox servers (the child process)")
	subnet := flag.Int("subnet", 1, "internal: with -inbox-servers, the 127.0.x.0 block to listen in")
	countsFile := flag.String("counts", "", "internal: with -inbox-servers, the shared counters file")
	worker := flag.String("worker", "", "internal: run a delivery worker on this Redis address")
	keysDir := flag.String("keys", "", "internal: with -worker, the directory of board keys")
	workerProcs := flag.Int("worker-procs", 1, "GOMAXPROCS of each worker process")
	queue := flag.String("queue", "redis", "redis (worker processes, as crieur deliver), embedded (SQLite, workers in this process, as crieur serve alone) or both (throughput in turns, and their ratio)")
	embeddedConcurrency := flag.Int("embedded-concurrency", 16, "with -queue both, the embedded pool's workers (crieur serve's default)")
	flag.Parse()
	if *worker != "" {
		if err := runWorker(*worker, *keysDir, *concurrency); err != nil {
			fmt.Fprintln(os.Stderr, "crieur-bench worker:", err)
			os.Exit(1)
		}
		return
	}
	if *inboxServers > 0 {
		if err := serveInboxes(*subnet, *inboxServers, *countsFile); err != nil {
			fmt.Fprintln(os.Stderr, "crieur-bench inbox servers:", err)
			os.Exit(1)
		}
		return
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "crieur-bench:", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if *queue != "redis" && *queue != "embedded" && *queue != "both" {
		fmt.Fprintln(os.Stderr, "crieur-bench: -queue is redis, embedded or both")
		os.Exit(2)
	}
	if err := run(*part, *queue, *followers, *hosts, *workers, *workerProcs, *concurrency, *embeddedConcurrency, *runs); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "crieur-bench:", err)
		os.Exit(1)
	}
}

func run(part, queue string, followers, hosts, workers, workerProcs, concurrency, embeddedConcurrency, runs int) error {
	embedded := queue == "embedded"
	dir, err := os.MkdirTemp("", "crieur-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// everysec: Redis's own default with AOF, what an operator would run.
	rs, err := redistest.StartServer(dir, "--appendfsync", "everysec")
	if err != nil {
		return err
	}
	defer rs.Stop()
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer rdb.Close()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	keysDir := filepath.Join(dir, "keys")
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.Mkdir(keysDir, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(keysDir, "news.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return err
	}
	b := &bench{rdb: rdb, redisAddr: rs.Addr, key: key, keysDir: keysDir, workers: workers, workerProcs: workerProcs, concurrency: concurrency,
		embedded: embedded, embeddedConcurrency: embeddedConcurrency, dir: dir, procs: runtime.GOMAXPROCS(0)}
	if queue != "redis" {
		var err error
		if b.cpu, err = delivery.StartBackgroundCPU(runtime.NumCPU(), 15); err != nil {
			return err
		}
	}
	switch queue {
	case "both":
		fmt.Printf("crieur-bench: %d cores; the Redis queue (%d worker processes, GOMAXPROCS=%d each, x %d in flight) and the embedded SQLite queue (one pool of %d workers in this process), in turns, %d runs each (medians)\n\n",
			runtime.NumCPU(), workers, workerProcs, concurrency, embeddedConcurrency, runs)
	case "embedded":
		fmt.Printf("crieur-bench: %d cores; embedded SQLite queue, one pool of %d workers in this process, outcomes recorded in the store, %d runs (medians)\n\n",
			runtime.NumCPU(), concurrency, runs)
	default:
		fmt.Printf("crieur-bench: %d cores; %d worker processes (GOMAXPROCS=%d each) x %d in flight, Redis queue, %d runs (medians)\n\n",
			runtime.NumCPU(), workers, workerProcs, concurrency, runs)
	}

	ok, err := okSinks(1, hosts, dir)
	if err != nil {
		return err
	}
	defer ok.close()
	if part == "all" || part == "throughput" {
		if err := b.throughput(ok, followers, runs, queue == "both"); err != nil {
			return err
		}
	}
	if part == "all" || part == "slowhost" {
		return b.slowHost(ok, followers, runs)
	}
	return nil
}

// runStats are the figures of one throughput run, per delivery where
// they are CPU times (seconds).
type runStats struct {
	rate, sig, perSig       float64 // deliveries/s; signatures/s on every core; CPU per signature
	crieur, kernel, enqueue float64 // Crieur's CPU, its kernel part, the enqueue's part
	redis, inboxes          float64
	conns                   int64
	load                    string
}

// measure delivers to the healthy inboxes once and measures the signing
// rate just before and just after.
func (b *bench) measure(ok *sinks, perTarget int, name string) (runStats, error) {
	targets := ok.urls
	cores := float64(runtime.NumCPU()) // GOMAXPROCS counts the signing threads too
	// Signing is measured in CPU time, just before and just after the
	// deliveries (averaged); its rate is what the cores could sign if
	// nothing else ran. The deliveries' CPU is measured in the same
	// run. So the ratio cannot pass 100% when other programs take the
	// shared cores: it drops, and the load column says why.
	sigBefore := signingCPU(b.key, time.Second)
	base := ok.total()
	want := int64(perTarget * len(targets))
	js := jobs(name, targets, perTarget)
	ok.conns.Store(0)
	rcpu0, icpu0 := redisCPUTime(b.rdb), ok.cpu()
	elapsed, cpu, enqueue, err := b.deliver(js, func() bool { return ok.total()-base >= want })
	if err != nil {
		return runStats{}, err
	}
	rcpu1, icpu1 := redisCPUTime(b.rdb), ok.cpu()
	perSig := ((sigBefore + signingCPU(b.key, time.Second)) / 2).Seconds()
	n := float64(want)
	// crieur: the worker processes (signing included) and the fan-out's
	// enqueue; the inbox servers, standing in for other machines, and
	// Redis share the same cores.
	return runStats{
		rate: n / elapsed.Seconds(), sig: cores / perSig, perSig: perSig,
		crieur: cpu.all.Seconds() / n, kernel: cpu.kernel.Seconds() / n, enqueue: enqueue.all.Seconds() / n,
		redis: (rcpu1 - rcpu0).Seconds() / n, inboxes: (icpu1 - icpu0).Seconds() / n,
		conns: ok.conns.Load(), load: loadAverage(),
	}, nil
}

// throughput delivers to the healthy inboxes runs times, with the queue
// asked for, or with both in turns (so that a drift of the shared machine
// does not favour one), and prints their figures beside the goals. With
// both, the embedded queue runs twice a round: with nobody reading the
// pages, as the goal measures it, and as while a person reads them, its
// signatures yielding to the pages (delivery.BackgroundCPU), which costs
// CPU of its own.
func (b *bench) throughput(ok *sinks, followers, runs int, both bool) error {
	perTarget := max(1, followers/len(ok.urls))
	type mode struct{ embedded, reading bool }
	modes := []mode{{embedded: b.embedded}}
	if both {
		modes = []mode{{}, {embedded: true}, {embedded: true, reading: true}}
	}
	stats := make([][]runStats, len(modes))
	concurrency := b.concurrency
	defer func() { b.embedded, b.concurrency, b.reading = modes[0].embedded, concurrency, false }()
	for r := range runs {
		for i, m := range modes {
			b.embedded, b.reading = m.embedded, m.reading
			if both && m.embedded {
				b.concurrency = b.embeddedConcurrency
			} else {
				b.concurrency = concurrency
			}
			st, err := b.measure(ok, perTarget, fmt.Sprint("t", r, i))
			if err != nil {
				return err
			}
			stats[i] = append(stats[i], st)
		}
	}
	rates := make([]float64, len(modes))
	for i, m := range modes {
		switch {
		case both && m.reading:
			fmt.Printf("the same, as while a person reads the pages (their signatures yield to the pages, on the low-priority threads):\n")
		case both && m.embedded:
			fmt.Printf("embedded SQLite queue, one pool of %d workers in this process, nobody reading the pages (runs in turns with the Redis path's):\n", b.embeddedConcurrency)
		case both:
			fmt.Printf("Redis queue, %d worker processes x %d in flight:\n", b.workers, concurrency)
		}
		rates[i] = printThroughput(stats[i], perTarget*len(ok.urls), len(ok.urls), !m.embedded)
	}
	if both {
		// Each round's embedded run follows its Redis run by seconds:
		// their ratio cancels the shared machine's slower spells, which
		// the medians of each path take at different moments.
		paired := func(i int) float64 {
			var rs []float64
			for r := range runs {
				rs = append(rs, stats[i][r].rate/stats[0][r].rate)
			}
			return median(rs)
		}
		ratio, pair := rates[1]/rates[0], paired(1)
		fmt.Printf("embedded / Redis path, nobody reading: %.2f (medians of deliveries/s), %.2f (median of each round's ratio); goal >= 0.85, issue 27: %s\n",
			ratio, pair, verdict(ratio >= 0.85 && pair >= 0.85))
		fmt.Printf("embedded / Redis path, while a person reads: %.2f (medians), %.2f (median of each round's ratio)\n\n", rates[2]/rates[0], paired(2))
	}
	return nil
}

func verdict(met bool) string {
	if met {
		return "met"
	}
	return "NOT met"
}

// printThroughput prints the runs' figures and their medians, and
// returns the median rate.
func printThroughput(runs []runStats, deliveries, hosts int, redisPath bool) float64 {
	var rates, sigs, ratios, shares, own, kernel, enq, redisCPU, inboxCPU []float64
	cores := float64(runtime.NumCPU()) // GOMAXPROCS counts the signing threads too
	fmt.Printf("%-6s %12s %12s %7s   %s\n", "", "", "", "", "CPU per delivery (µs)")
	fmt.Printf("%-6s %12s %12s %7s   %8s %8s %8s %9s %8s %8s %6s %6s\n", "run", "deliveries/s", "signatures/s", "ratio", "signing", "crieur", "(kernel)", "(enqueue)", "redis", "inboxes", "conns", "load")
	for r, st := range runs {
		rates, sigs, ratios, shares = append(rates, st.rate), append(sigs, st.sig), append(ratios, st.rate/st.sig), append(shares, st.perSig/st.crieur)
		own, kernel, enq = append(own, st.crieur), append(kernel, st.kernel), append(enq, st.enqueue)
		redisCPU, inboxCPU = append(redisCPU, st.redis), append(inboxCPU, st.inboxes)
		fmt.Printf("%-6d %12.0f %12.0f %6.1f%%   %8.0f %8.0f %8.0f %9.0f %8.0f %8.0f %6d %6s\n", r+1, st.rate, st.sig, 100*st.rate/st.sig,
			1e6*st.perSig, 1e6*st.crieur, 1e6*st.kernel, 1e6*st.enqueue, 1e6*st.redis, 1e6*st.inboxes, st.conns, st.load)
	}
	fmt.Printf("%-6s %12.0f %12.0f %6.1f%%   %8.0f %8.0f %8.0f %9.0f %8.0f %8.0f   (%d deliveries to %d hosts; target >= 85%%)\n",
		"median", median(rates), median(sigs), 100*median(ratios), 1e6*cores/median(sigs), 1e6*median(own), 1e6*median(kernel), 1e6*median(enq), 1e6*median(redisCPU), 1e6*median(inboxCPU), deliveries, hosts)

	// What the ratio is made of: the inbox servers' and Redis's CPU is
	// spent on the same cores, so even a Crieur costing nothing but its
	// signatures could not pass the first figures here.
	sign := cores / median(sigs)
	fmt.Printf("ceiling if Crieur cost only its signatures (signing / (signing + inboxes + redis)): %.1f%%\n", 100*sign/(sign+median(inboxCPU)+median(redisCPU)))
	fmt.Printf("  the same with Redis on other cores (signing / (signing + inboxes)):                %.1f%%\n", 100*sign/(sign+median(inboxCPU)))
	share := median(shares)
	goal := ""
	if redisPath {
		goal = fmt.Sprintf(" (goal >= 80%% on the Redis path, issue 27: %s)", verdict(share >= 0.80))
	}
	fmt.Printf("signing's share of Crieur's CPU (signing / crieur, both CPU time of the same runs):   %.1f%%%s\n\n", 100*share, goal)
	return median(rates)
}

// slowHost runs the healthy deliveries alone, then the same ones with a
// hanging host's and a failing host's jobs among them.
func (b *bench) slowHost(ok *sinks, followers, runs int) error {
	perTarget := max(1, followers/len(ok.urls))
	healthy := ok
	failing, err := startSinks(5, 1, func(int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	if err != nil {
		return err
	}
	defer failing.close()
	hang, err := net.Listen("tcp", "127.0.6.1:0")
	if err != nil {
		return err
	}
	defer hang.Close()
	var held []net.Conn
	var heldMu sync.Mutex
	go func() {
		for {
			c, err := hang.Accept()
			if err != nil {
				return
			}
			heldMu.Lock()
			held = append(held, c) // accepted, never answered
			heldMu.Unlock()
		}
	}()
	defer func() {
		heldMu.Lock()
		for _, c := range held {
			c.Close()
		}
		heldMu.Unlock()
	}()
	perHealthy := perTarget
	wantHealthy := int64(perHealthy * len(healthy.urls))
	var slowSpread, slowHead []float64
	fmt.Printf("%-5s %14s %20s %20s\n", "run", "healthy alone", "bad jobs spread", "bad jobs first")
	for r := range runs {
		// Three timings per run, in an order that rotates from run to run,
		// so a drift of the machine does not favour one of them.
		var alone time.Duration
		var took [2]time.Duration
		for k := range 3 {
			var js []delivery.Job
			var into *time.Duration
			switch c := (k + r) % 3; c {
			case 0:
				js, into = jobs(fmt.Sprint("h", r), healthy.urls, perHealthy), &alone
			default:
				// The healthy jobs in the same order as alone, with the
				// bad ones spread among them (one after every tenth), or
				// all first.
				place := []string{"", "spread", "first"}[c]
				bad := interleave(jobs(fmt.Sprint("x", place, r), failing.urls, 100), jobs(fmt.Sprint("y", place, r), []string{"http://" + hang.Addr().String()}, 100))
				good := jobs(fmt.Sprint("m", place, r), healthy.urls, perHealthy)
				js = append(bad, good...)
				if place == "spread" {
					js = spread(good, bad)
				}
				into = &took[c-1]
			}
			base := healthy.total()
			d, _, _, err := b.deliver(js, func() bool { return healthy.total()-base >= wantHealthy })
			if err != nil {
				return err
			}
			*into = d
			heldMu.Lock()
			for _, c := range held {
				c.Close()
			}
			held = nil
			heldMu.Unlock()
		}
		s1, s2 := took[0].Seconds()/alone.Seconds()-1, took[1].Seconds()/alone.Seconds()-1
		slowSpread, slowHead = append(slowSpread, s1), append(slowHead, s2)
		fmt.Printf("%-5d %12.0fms %11.0fms %6.1f%% %11.0fms %6.1f%%\n", r+1, ms(alone), ms(took[0]), 100*s1, ms(took[1]), 100*s2)
	}
	fmt.Printf("%-5s %14s %20s %20s   (slowdown of %d deliveries to %d healthy hosts by 100 jobs to a host answering 500 and 100 to one that never answers; target <= 10%%)\n",
		"median", "", fmt.Sprintf("%.1f%%", 100*median(slowSpread)), fmt.Sprintf("%.1f%%", 100*median(slowHead)), wantHealthy, len(healthy.urls))
	return nil
}

// interleave alternates the jobs of a and b.
func interleave(a, b []delivery.Job) []delivery.Job {
	out := make([]delivery.Job, 0, len(a)+len(b))
	for i := range max(len(a), len(b)) {
		if i < len(a) {
			out = append(out, a[i])
		}
		if i < len(b) {
			out = append(out, b[i])
		}
	}
	return out
}

// spread puts the jobs of extra evenly among those of base, keeping the
// order of each.
func spread(base, extra []delivery.Job) []delivery.Job {
	out := make([]delivery.Job, 0, len(base)+len(extra))
	every := max(1, len(base)/max(1, len(extra)))
	for i, j := range base {
		if i%every == 0 && len(extra) > 0 {
			out = append(out, extra[0])
			extra = extra[1:]
		}
		out = append(out, j)
	}
	return append(out, extra...)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// redisCPUTime is the CPU redis-server has used (INFO cpu).
func redisCPUTime(rdb *redis.Client) time.Duration {
	info, err := rdb.Info(context.Background(), "cpu").Result()
	if err != nil {
		return 0
	}
	var total float64
	for _, line := range strings.Split(info, "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
		if k == "used_cpu_sys" || k == "used_cpu_user" {
			var f float64
			fmt.Sscan(v, &f)
			total += f
		}
	}
	return time.Duration(total * float64(time.Second))
}

func cpuTime() time.Duration { return selfCPU().all }

// selfCPU is this process's CPU so far.
func selfCPU() usage {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return usage{time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), time.Duration(ru.Stime.Nano())}
}

func benchLogger() *slog.Logger {
	if os.Getenv("CRIEUR_BENCH_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
