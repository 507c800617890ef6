package console

import (
	"strconv"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestLimiterBurstThenRate(t *testing.T) {
	l := newLimiter(3, 10*time.Second)
	for i := 0; i < 3; i++ {
		if ok, _ := l.take("k", t0); !ok {
			t.Fatalf("take %d of a burst of 3 refused", i+1)
		}
	}
	ok, wait := l.take("k", t0)
	if ok || wait != 10*time.Second {
		t.Fatalf("4th take = %v, wait %v; want refused for 10s", ok, wait)
	}
	if ok, wait := l.take("k", t0.Add(4*time.Second)); ok || wait != 6*time.Second {
		t.Fatalf("take after 4s = %v, wait %v; want refused for 6s more", ok, wait)
	}
	if ok, _ := l.take("k", t0.Add(10*time.Second)); !ok {
		t.Fatal("take after one period refused")
	}
	if ok, _ := l.take("k", t0.Add(10*time.Second)); ok {
		t.Fatal("a second take after one period allowed")
	}
	if ok, _ := l.take("other", t0); !ok {
		t.Fatal("another key's bucket is empty")
	}
	// A long pause refills to the burst, no more.
	later := t0.Add(time.Hour)
	for i := 0; i < 3; i++ {
		if ok, _ := l.take("k", later); !ok {
			t.Fatalf("take %d after an hour refused", i+1)
		}
	}
	if ok, _ := l.take("k", later); ok {
		t.Fatal("the bucket refilled past its burst")
	}
}

func TestSignInThrottleCountsOnlyFailures(t *testing.T) {
	th := signInThrottle{byAddr: newLimiter(2, time.Minute), byKey: newLimiter(2, time.Minute)}
	for i := 0; i < 10; i++ { // successes give their tokens back
		if ok, _ := th.take("192.0.2.1", "AKIAAAAAAAAAAAAAAAAA", t0); !ok {
			t.Fatalf("successful sign-in %d refused", i+1)
		}
		th.succeeded("192.0.2.1", "AKIAAAAAAAAAAAAAAAAA", t0)
	}
	// Failures with one key from many addresses: the key's bucket stops
	// them, and the refused attempts cost the addresses nothing.
	for i := 0; i < 2; i++ {
		if ok, _ := th.take("192.0.2."+strconv.Itoa(10+i), "AKIABBBBBBBBBBBBBBBB", t0); !ok {
			t.Fatalf("failure %d with the key refused", i+1)
		}
	}
	for i := 0; i < 5; i++ {
		if ok, _ := th.take("192.0.2.20", "AKIABBBBBBBBBBBBBBBB", t0); ok {
			t.Fatal("a third failure with one key allowed from a new address")
		}
	}
	for i := 0; i < 2; i++ {
		if ok, _ := th.take("192.0.2.20", "AKIACCCCCCCCCCCCCCCC", t0); !ok {
			t.Fatalf("the address was charged for refused attempts: attempt %d with another key refused", i+1)
		}
	}
	// Failures from one address with many keys (or none): the address's
	// bucket stops them.
	if ok, _ := th.take("192.0.2.20", "", t0); ok {
		t.Fatal("a third failure from one address allowed")
	}
}

func TestSignInThrottleIPv6Prefix(t *testing.T) {
	th := signInThrottle{byAddr: newLimiter(1, time.Minute), byKey: newLimiter(100, time.Minute)}
	if ok, _ := th.take("2001:db8:1:2::1", "", t0); !ok {
		t.Fatal("first attempt refused")
	}
	if ok, _ := th.take("2001:db8:1:2:ffff::9", "", t0); ok {
		t.Fatal("another address in the same /64 has its own bucket")
	}
	if ok, _ := th.take("2001:db8:1:3::1", "", t0); !ok {
		t.Fatal("an address in another /64 shares the bucket")
	}
	if got := addrKey("192.0.2.7"); got != "192.0.2.7" {
		t.Errorf("addrKey(IPv4) = %q", got)
	}
	if got := addrKey("::ffff:192.0.2.7"); got != "::ffff:192.0.2.7" {
		t.Errorf("addrKey(IPv4-mapped) = %q, want the address itself", got)
	}
}

func TestLimiterBounded(t *testing.T) {
	l := newLimiter(1, time.Hour)
	for i := 0; i < maxBuckets+50; i++ {
		l.take("k"+strconv.Itoa(i), t0) // each bucket now empty: nothing to drop for free
	}
	if n := len(l.b); n > maxBuckets {
		t.Fatalf("%d buckets, want at most %d", n, maxBuckets)
	}
	// Once they have refilled, the full ones are dropped to make room.
	l.take("new", t0.Add(2*time.Hour))
	if n := len(l.b); n != 1 {
		t.Fatalf("%d buckets after the refilled ones could go, want 1", n)
	}
}
