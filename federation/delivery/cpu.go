package delivery

import (
	"fmt"
	"runtime"
	"syscall"
)

// BackgroundCPU runs the processor-heavy step of deliveries (an RSA
// signature, about a millisecond of one core each) on threads the kernel
// schedules after the rest of the process. During a fan-out on a small
// machine the signatures otherwise take every core, and a visitor's page,
// kept rendered in memory and answered in 0.4 ms when idle, waited its
// turn behind them: 3.7-4.7 ms, 7-12 times idle (issue 27's goal: 1.2).
//
// Go's scheduler has no priorities, so the signers get processors (Ps)
// of their own: GOMAXPROCS is raised by their number, and they can never
// hold every P a request needs. The kernel then decides between the
// threads, and it runs a signer's (a higher nice value) only when nothing
// else wants the core: a fan-out still uses every idle cycle.
type BackgroundCPU struct {
	work chan func()
}

// StartBackgroundCPU starts threads signers at the given nice value (1 to
// 19) and raises GOMAXPROCS by threads. Once per process: crieur serve's
// main starts it. When the system refuses the nice value (a seccomp
// filter), the signers run at normal priority and the error says so.
func StartBackgroundCPU(threads, nice int) (*BackgroundCPU, error) {
	c := &BackgroundCPU{work: make(chan func())}
	runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + threads)
	errs := make(chan error, threads)
	for range threads {
		go func() {
			// The goroutine keeps its thread for life, so the priority set
			// on the thread stays with the signatures.
			runtime.LockOSThread()
			errs <- syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), nice)
			for f := range c.work {
				f()
			}
		}()
	}
	var first error
	for range threads {
		if err := <-errs; err != nil && first == nil {
			first = fmt.Errorf("lower the signing threads' priority (nice %d): %w", nice, err)
		}
	}
	return c, first
}

// Run runs f on a background thread and returns when it is done; on a nil
// BackgroundCPU (tests, crieur deliver) it runs f at once.
func (c *BackgroundCPU) Run(f func()) {
	if c == nil {
		f()
		return
	}
	done := make(chan struct{})
	var panicked any
	c.work <- func() {
		// A panic goes back to the caller, whose worker recovers it
		// (safeHandle), as it would have without the handover: here it
		// would end the process.
		defer func() {
			panicked = recover()
			close(done)
		}()
		f()
	}
	<-done
	if panicked != nil {
		panic(panicked)
	}
}
