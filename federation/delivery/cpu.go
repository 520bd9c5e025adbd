package delivery

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
)

// BackgroundCPU runs the processor-heavy step of deliveries (an RSA
// signature, about a millisecond of one core each) on threads the kernel
// schedules after the rest of the process, while a person reads the
// pages. During a fan-out on a small machine the signatures otherwise take
// every core, and a visitor's page, kept rendered in memory and answered
// in 0.4 ms when idle, waited its turn behind them: 3.7-4.7 ms, 7-12
// times idle (issue 27's goal: 1.2).
//
// Go's scheduler has no priorities, so the signers get processors (Ps)
// of their own: GOMAXPROCS is raised by their number, and they can never
// hold every P a request needs. The kernel then decides between the
// threads, and it runs a signer's (a higher nice value) only when nothing
// else wants the core: a fan-out still uses every idle cycle.
//
// Yielding has a price, and it buys nothing when nobody is reading: with
// the extra Ps, the idle ones' threads spin and sleep at every wake-up,
// twice the system time per delivery (crieur-bench, embedded queue: 250
// µs against 130), and each signature goes to another thread and back.
// So both happen only for a while after a person asked for a page
// (Foreground): the Ps are added then and removed once the window has
// passed, and otherwise the signatures run where they are, at full speed.
type BackgroundCPU struct {
	work    chan cpuTask
	threads int
	// seen is when a person last asked for a page (Unix nanoseconds);
	// window is how long the signatures keep yielding after it.
	seen   atomic.Int64
	window time.Duration
	// raised: the signers' Ps are there. wake is Foreground's cue to the
	// goroutine that adds and removes them (keep).
	raised atomic.Bool
	wake   chan struct{}
}

// ForegroundWindow is how long after a person's request the signatures
// keep yielding to the pages: the rest of that page's load, and the
// reader's next clicks, which the first request of a visit would
// otherwise wait for (about 4 ms behind the signers, 0.4 ms idle).
const ForegroundWindow = 10 * time.Second

// cpuTask is one piece of work and where its end is told: nil, or what
// it panicked with.
type cpuTask struct {
	f    func()
	done chan any
}

// StartBackgroundCPU starts threads signers at the given nice value (1 to
// 19), which get threads more Ps while a person reads. Once per process:
// crieur serve's main starts it. When the system refuses the nice value
// (a seccomp filter), the signers run at normal priority and the error
// says so.
func StartBackgroundCPU(threads, nice int) (*BackgroundCPU, error) {
	c := &BackgroundCPU{work: make(chan cpuTask), threads: threads, window: ForegroundWindow, wake: make(chan struct{}, 1)}
	errs := make(chan error, threads)
	for range threads {
		go func() {
			// The goroutine keeps its thread for life, so the priority set
			// on the thread stays with the signatures.
			runtime.LockOSThread()
			errs <- syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), nice)
			for t := range c.work {
				t.done <- runTask(t.f)
			}
		}()
	}
	var first error
	for range threads {
		if err := <-errs; err != nil && first == nil {
			first = fmt.Errorf("lower the signing threads' priority (nice %d): %w", nice, err)
		}
	}
	go c.keep()
	return c, first
}

// keep adds the signers' Ps when a person starts reading and removes them
// once the window has passed since the last page. Changing GOMAXPROCS
// stops the world for a moment: it happens at a visit's start and end,
// not at each page.
func (c *BackgroundCPU) keep() {
	for range c.wake {
		if !c.InForeground() {
			continue // a cue from a visit that has ended
		}
		runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + c.threads)
		c.raised.Store(true)
		for {
			for left := c.left(); left > 0; left = c.left() {
				time.Sleep(left)
			}
			c.raised.Store(false)
			// A page that came as the window closed saw the Ps still
			// there and gave no cue: it is seen here.
			if !c.InForeground() {
				break
			}
			c.raised.Store(true)
		}
		runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) - c.threads)
	}
}

// left is how long the window has still to run.
func (c *BackgroundCPU) left() time.Duration {
	return c.window - time.Duration(time.Now().UnixNano()-c.seen.Load())
}

// Foreground notes that a person waits on a request now (a page): for
// ForegroundWindow, Run hands its work to the background threads.
func (c *BackgroundCPU) Foreground() {
	if c == nil {
		return
	}
	c.seen.Store(time.Now().UnixNano())
	if !c.raised.Load() {
		select {
		case c.wake <- struct{}{}:
		default: // a cue is already waiting
		}
	}
}

// InForeground reports whether a person asked for a page within the
// window: whether Run yields now.
func (c *BackgroundCPU) InForeground() bool {
	return c != nil && c.left() > 0
}

// Run runs f and returns when it is done: on a background thread while a
// person reads (InForeground), otherwise at once, as on a nil
// BackgroundCPU (tests, crieur deliver).
func (c *BackgroundCPU) Run(f func()) {
	if !c.InForeground() {
		f()
		return
	}
	t := cpuTask{f: f, done: make(chan any, 1)}
	c.work <- t
	// A panic goes back to the caller, whose worker recovers it
	// (safeHandle), as it would have without the handover: on the signer's
	// thread it would end the process.
	if panicked := <-t.done; panicked != nil {
		panic(panicked)
	}
}

// runTask runs f and returns what it panicked with, if anything.
func runTask(f func()) (panicked any) {
	defer func() { panicked = recover() }()
	f()
	return nil
}
