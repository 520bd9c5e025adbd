package delivery

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// The work handed to BackgroundCPU runs on a thread of the nice value
// asked (what the kernel reads), not on the caller's, and the signers
// get processors of their own.
func TestBackgroundCPURunsOnLowPriorityThreads(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(procs)
	c, err := StartBackgroundCPU(2, 15)
	if err != nil {
		t.Fatal(err)
	}
	if got := runtime.GOMAXPROCS(0); got != procs+2 {
		t.Errorf("GOMAXPROCS %d, want %d", got, procs+2)
	}
	for range 4 {
		var tid, nice int
		c.Run(func() { tid = syscall.Gettid(); nice = threadNice(t, tid) })
		if nice != 15 || tid == syscall.Gettid() {
			t.Errorf("ran on thread %d at nice %d, want a signer's thread at 15", tid, nice)
		}
	}
	func() {
		defer func() {
			if r := recover(); r != "bad key" {
				t.Errorf("the caller recovered %v, want the signer's panic", r)
			}
		}()
		c.Run(func() { panic("bad key") })
	}()
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
