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

// Parkings learned from the other processes hold here; a parking this
// process shared that has since gone from the shared ones was lifted by a
// success elsewhere; a snapshot older than the sharing proves nothing.
func TestHostsMergeSharedParkings(t *testing.T) {
	h := newHosts(HostPolicy{Limit: 4, ParkAfter: 3, ParkBase: time.Minute, ParkMax: time.Hour}, 16)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

	// Another process parked down.example for 5 minutes.
	h.merge(map[string]time.Time{"down.example": now.Add(5 * time.Minute)}, now, now)
	if ok, until := h.acquire("down.example", now.Add(time.Minute)); ok || !until.After(now.Add(5*time.Minute-time.Second)) {
		t.Fatalf("learned parking: ok=%v until +%s", ok, until.Sub(now))
	}
	// Once it is over, one probe goes, as for a parking of our own.
	after := now.Add(6 * time.Minute)
	h.merge(map[string]time.Time{}, after, after)
	if ok, _ := h.acquire("down.example", after); !ok {
		t.Fatal("no probe after the learned parking")
	}
	if ok, _ := h.acquire("down.example", after); ok {
		t.Fatal("a second job went along with the probe")
	}
	if park, unpark := h.release("down.example", hostOK, 0, after); !park.IsZero() || !unpark {
		t.Fatalf("successful probe: park %v, unpark %v; want the others told to un-park", park, unpark)
	}

	// This process parks flaky.example and shares it at t1.
	var park time.Time
	for range 3 {
		h.acquire("flaky.example", now)
		park, _ = h.release("flaky.example", hostFailed, 0, now)
	}
	if park.IsZero() {
		t.Fatal("third failure did not report a parking to share")
	}
	t1 := now.Add(time.Second)
	h.shared("flaky.example", t1)
	// A snapshot read before t1 does not have it yet: still parked.
	h.merge(map[string]time.Time{}, now.Add(500*time.Millisecond), t1)
	if ok, _ := h.acquire("flaky.example", t1); ok {
		t.Fatal("an old snapshot un-parked the host")
	}
	// A snapshot read after t1 without it: a success elsewhere lifted it.
	t2 := now.Add(3 * time.Second)
	h.merge(map[string]time.Time{}, t2, t2)
	if ok, _ := h.acquire("flaky.example", t2); !ok {
		t.Fatal("host still parked after the others un-parked it")
	}
	if h.parked(t2) != 0 {
		t.Fatalf("%d hosts parked, want none", h.parked(t2))
	}
}
