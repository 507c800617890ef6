package sigv4

import (
	"bytes"
	"encoding/hex"
	"fmt"
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
