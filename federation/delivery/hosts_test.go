package delivery

import (
	"testing"
	"time"
)

func TestHostLimitAndParking(t *testing.T) {
	h := newHosts(HostPolicy{Limit: 2, ParkAfter: 3, ParkBase: time.Minute, ParkMax: 4 * time.Minute}, 16)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const host = "slow.example"

	for i := range 2 {
		if ok, _ := h.acquire(host, now); !ok {
			t.Fatalf("slot %d refused", i)
		}
	}
	ok, until := h.acquire(host, now)
	if ok || until.Sub(now) < 100*time.Millisecond || until.Sub(now) > time.Second {
		t.Fatalf("third concurrent delivery: ok=%v, wait %s", ok, until.Sub(now))
	}
	// The oldest delivery has hung for 20 s: wait about that long.
	if _, until := h.acquire(host, now.Add(20*time.Second)); until.Sub(now.Add(20*time.Second)) < 20*time.Second {
		t.Fatalf("hanging host: wait %s, want about 20s", until.Sub(now.Add(20*time.Second)))
	}
	if ok, _ := h.acquire("other.example", now); !ok {
		t.Fatal("a busy host blocked another")
	}
	h.release("other.example", hostOK, 0, now)

	// Three failures in a row park the host for ParkBase.
	h.release(host, hostFailed, 0, now)
	h.release(host, hostFailed, 0, now)
	h.acquire(host, now)
	h.release(host, hostFailed, 0, now)
	if h.parked(now) != 1 {
		t.Fatal("host not parked after 3 failures")
	}
	if ok, until := h.acquire(host, now.Add(30*time.Second)); ok || until.Before(now.Add(time.Minute)) {
		t.Fatalf("parked host: ok=%v until %s", ok, until.Sub(now))
	}
	// After the parking, one probe goes; the others wait for its outcome.
	later := now.Add(61 * time.Second)
	if ok, _ := h.acquire(host, later); !ok {
		t.Fatal("no probe after the parking")
	}
	if ok, _ := h.acquire(host, later); ok {
		t.Fatal("a second job went along with the probe")
	}
	// The probe fails: parked twice as long.
	h.release(host, hostFailed, 0, later)
	if ok, until := h.acquire(host, later.Add(90*time.Second)); ok || until.Before(later.Add(2*time.Minute)) {
		t.Fatalf("second parking: ok=%v until +%s", ok, until.Sub(later))
	}
	// A successful probe un-parks at once.
	probe := later.Add(2*time.Minute + time.Second)
	if ok, _ := h.acquire(host, probe); !ok {
		t.Fatal("no second probe")
	}
	h.release(host, hostOK, 0, probe)
	if h.parked(probe) != 0 {
		t.Fatal("host still parked after a success")
	}
	for i := range 2 {
		if ok, _ := h.acquire(host, probe); !ok {
			t.Fatalf("slot %d refused after recovery", i)
		}
	}
}

func TestRetryAfterParksTheHost(t *testing.T) {
	h := newHosts(DefaultHostPolicy, 16)
	now := time.Now()
	h.acquire("busy.example", now)
	h.release("busy.example", hostBackoff, 2*time.Minute, now)
	if ok, until := h.acquire("busy.example", now.Add(time.Minute)); ok || until.Before(now.Add(2*time.Minute)) {
		t.Fatalf("Retry-After not honoured for the host: ok=%v until +%s", ok, until.Sub(now))
	}
}

func TestHostLimitFollowsTheWorkers(t *testing.T) {
	for workers, want := range map[int]int{1: 2, 4: 2, 16: 4, 64: 16} {
		if got := newHosts(DefaultHostPolicy, workers).p.Limit; got != want {
			t.Errorf("%d workers: host limit %d, want %d", workers, got, want)
		}
	}
	if got := newHosts(HostPolicy{Limit: 3}, 64).p.Limit; got != 3 {
		t.Errorf("an explicit limit was overridden: %d", got)
	}
}

func TestNewHostsStartWithTwoSlots(t *testing.T) {
	h := newHosts(HostPolicy{Limit: 8}, 32)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const host = "new.example"
	slots := func(at time.Time) int {
		n := 0
		for {
			if ok, _ := h.acquire(host, at); !ok {
				return n
			}
			n++
		}
	}
	release := func(n int, at time.Time) {
		for range n {
			h.release(host, hostOK, 0, at)
		}
	}
	n := slots(now)
	if n != 2 {
		t.Fatalf("a host never reached got %d slots, want 2", n)
	}
	release(n, now)
	if n = slots(now); n != 8 {
		t.Fatalf("after a success: %d slots, want 8", n)
	}
	release(n, now)
	// Ten minutes later the success no longer vouches for the host, and
	// the idle entry is forgotten.
	later := now.Add(11 * time.Minute)
	if ok, _ := h.acquire("other.example", later); !ok {
		t.Fatal("other host refused")
	}
	if _, known := h.m[host]; known {
		t.Fatal("an idle host's entry was kept past ten minutes")
	}
	if n = slots(later); n != 2 {
		t.Fatalf("a host not reached for 11 minutes got %d slots, want 2", n)
	}
}

// A job that failed on our side (LocalError) says nothing about its host.
func TestLocalFailuresDoNotParkTheHost(t *testing.T) {
	h := newHosts(HostPolicy{Limit: 2, ParkAfter: 3}, 16)
	now := time.Now()
	for range 10 {
		if ok, _ := h.acquire("fine.example", now); !ok {
			t.Fatal("slot refused")
		}
		h.release("fine.example", hostUnknown, 0, now)
	}
	if h.parked(now) != 0 || h.m["fine.example"].failures != 0 {
		t.Fatal("local failures parked the host")
	}
}
