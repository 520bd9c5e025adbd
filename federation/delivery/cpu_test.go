package delivery

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// While a person reads (Foreground, for its window), the work handed to
// BackgroundCPU runs on a thread of the nice value asked (what the kernel
// reads), not on the caller's, and the signers get processors of their
// own; otherwise it runs where it is.
func TestBackgroundCPURunsOnLowPriorityThreads(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	c, err := StartBackgroundCPU(2, 15)
	if err != nil {
		t.Fatal(err)
	}
	// The caller keeps its thread, so "here" is a thread id.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	here := syscall.Gettid()
	ranOn := func() (tid, nice int) {
		c.Run(func() { tid = syscall.Gettid(); nice = threadNice(t, tid) })
		return tid, nice
	}
	// Nobody reading: the work runs where it is, without the handover.
	if c.InForeground() {
		t.Fatal("in the foreground before any page was asked for")
	}
	if tid, nice := ranOn(); tid != here || nice != 0 {
		t.Errorf("with nobody reading, ran on thread %d at nice %d, want the caller's (%d) at 0", tid, nice, here)
	}
	if got := runtime.GOMAXPROCS(0); got != procs {
		t.Errorf("GOMAXPROCS %d with nobody reading, want %d", got, procs)
	}
	c.window = 300 * time.Millisecond
	c.Foreground()
	for range 4 {
		if tid, nice := ranOn(); nice != 15 || tid == here {
			t.Errorf("while a person reads, ran on thread %d at nice %d, want a signer's thread at 15", tid, nice)
		}
	}
	waitProcs(t, procs+2, "while a person reads")
	// Pages keep coming: the Ps stay past the first page's window.
	for range 3 {
		time.Sleep(c.window / 2)
		c.Foreground()
	}
	if got := runtime.GOMAXPROCS(0); got != procs+2 {
		t.Errorf("GOMAXPROCS %d as pages keep coming, want %d", got, procs+2)
	}
	time.Sleep(c.window)
	if tid, _ := ranOn(); tid != here {
		t.Errorf("after the window, ran on thread %d, want the caller's (%d)", tid, here)
	}
	waitProcs(t, procs, "after the window")
	c.Foreground()
	waitProcs(t, procs+2, "at the next visit")
	func() {
		defer func() {
			if r := recover(); r != "bad key" {
				t.Errorf("the caller recovered %v, want the signer's panic", r)
			}
		}()
		c.Run(func() { panic("bad key") })
	}()
	// The Ps go when the visit ends (and the next test finds them so).
	time.Sleep(c.window)
	waitProcs(t, procs, "at the end")
	var nilCPU *BackgroundCPU
	ran := false
	nilCPU.Run(func() { ran = true })
	if !ran {
		t.Error("a nil BackgroundCPU did not run the work")
	}
}

// threadNice is the nice value of thread tid of this process (field 19 of
// its stat file).
func threadNice(t *testing.T, tid int) int {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/stat", tid))
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	n, err := strconv.Atoi(fields[16])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// waitProcs waits, a second at most, for GOMAXPROCS to be want.
func waitProcs(t *testing.T, want int, when string) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for runtime.GOMAXPROCS(0) != want && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := runtime.GOMAXPROCS(0); got != want {
		t.Errorf("GOMAXPROCS %d %s, want %d", got, when, want)
	}
}
