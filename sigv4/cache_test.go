package sigv4

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// TestDeriveKeyKnownAnswer checks the key derivation against the example in
// AWS's SigV4 documentation ("Examples of how to derive a signing key").
func TestDeriveKeyKnownAnswer(t *testing.T) {
	got := hex.EncodeToString(deriveKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam"))
	const want = "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
	if got != want {
		t.Fatalf("deriveKey = %s, want %s", got, want)
	}
}

func TestKeyCache(t *testing.T) {
	var c keyCache
	a := c.get("secret-a", "20200611", "us-west-2", "secretsmanager")
	if !bytes.Equal(a, deriveKey("secret-a", "20200611", "us-west-2", "secretsmanager")) {
		t.Fatal("cached key differs from derived key")
	}
	for _, tt := range []struct{ secret, date, region, service string }{
		{"secret-b", "20200611", "us-west-2", "secretsmanager"},
		{"secret-a", "20200612", "us-west-2", "secretsmanager"},
		{"secret-a", "20200611", "us-east-1", "secretsmanager"},
		{"secret-a", "20200611", "us-west-2", "kms"},
		// Field boundaries must not blur: "ab"+"c" is not "a"+"bc".
		{"secret-a", "20200611", "us-west-2s", "ecretsmanager"},
	} {
		got := c.get(tt.secret, tt.date, tt.region, tt.service)
		if !bytes.Equal(got, deriveKey(tt.secret, tt.date, tt.region, tt.service)) {
			t.Errorf("%v: wrong key", tt)
		}
		if bytes.Equal(got, a) {
			t.Errorf("%v: got the key of another scope or secret", tt)
		}
	}
	if n := c.len(); n != 6 {
		t.Errorf("len = %d, want 6 distinct entries", n)
	}
}

func TestKeyCacheBounded(t *testing.T) {
	var c keyCache
	for i := range maxCachedKeys * 3 {
		region := fmt.Sprintf("region-%d", i)
		if got := c.get("s", "20200611", region, "svc"); !bytes.Equal(got, deriveKey("s", "20200611", region, "svc")) {
			t.Fatalf("entry %d: wrong key", i)
		}
		if n := c.len(); n > maxCachedKeys {
			t.Fatalf("after %d inserts len = %d, above the bound %d", i+1, n, maxCachedKeys)
		}
	}
	if n := c.len(); n != maxCachedKeys {
		t.Errorf("len = %d, want a full cache of %d", n, maxCachedKeys)
	}
	// Re-getting a present key must not evict anything.
	c.get("s", "20200611", fmt.Sprintf("region-%d", maxCachedKeys*3-1), "svc")
	if n := c.len(); n != maxCachedKeys {
		t.Errorf("len after hit = %d, want %d", n, maxCachedKeys)
	}
}

// TestKeyCacheConcurrent hammers one cache from many goroutines; run with
// -race.
func TestKeyCacheConcurrent(t *testing.T) {
	var c keyCache
	var wg sync.WaitGroup
	errs := make(chan string, 32)
	for g := range 32 {
		wg.Go(func() {
			for i := range 200 {
				region := fmt.Sprintf("r%d", (g+i)%40)
				secret := fmt.Sprintf("s%d", i%3)
				if !bytes.Equal(c.get(secret, "20200611", region, "svc"), deriveKey(secret, "20200611", region, "svc")) {
					errs <- region + "/" + secret
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("wrong key for %s", e)
	}
}

// TestSigningKeySum checks the pooled HMAC against crypto/hmac, with the
// pool reused between messages of different lengths and from many
// goroutines (run with -race): a reused state must never carry anything
// over from the previous message.
func TestSigningKeySum(t *testing.T) {
	var c keyCache
	k := c.entry("secret", "20200611", "us-west-2", "svc")
	want := func(msg []byte) []byte {
		m := hmac.New(sha256.New, deriveKey("secret", "20200611", "us-west-2", "svc"))
		m.Write(msg)
		return m.Sum(nil)
	}
	msgs := [][]byte{nil, []byte("a"), bytes.Repeat([]byte("x"), 200), []byte("a"), {}}
	for i, msg := range msgs {
		prefix := []byte("keep")
		got := k.sum(prefix, msg)
		if !bytes.Equal(got[:4], []byte("keep")) || !bytes.Equal(got[4:], want(msg)) {
			t.Errorf("message %d: sum = %x, want keep+%x", i, got, want(msg))
		}
	}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 100 {
				msg := []byte(fmt.Sprintf("message %d from %d", i, g))
				if got := k.sum(nil, msg); !bytes.Equal(got, want(msg)) {
					t.Errorf("goroutine %d message %d: wrong HMAC", g, i)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestHashSecret checks that the allocation-free hash equals SHA-256 for
// secrets on both sides of its stack buffer.
func TestHashSecret(t *testing.T) {
	for _, n := range []int{0, 1, 40, 127, 128, 129, 1000} {
		s := strings.Repeat("k", n)
		if got, want := hashSecret(s), sha256.Sum256([]byte(s)); got != want {
			t.Errorf("len %d: hashSecret = %x, want %x", n, got, want)
		}
	}
}
