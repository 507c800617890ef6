package console

import (
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rotorhq/rotor/envelope"
)

func testKeys(t *testing.T) (keySource, *envelope.Keyring) {
	t.Helper()
	kr, err := envelope.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return func(id string) (string, []byte, bool) { return kr.DeriveKey(id, sessionPurpose) }, kr
}

// TestSessionLimits: a session is accepted until its idle or absolute
// limit, and refused after either; a token signed under another keyring,
// a tampered one and one whose key was removed from the keyring are
// refused.
func TestSessionLimits(t *testing.T) {
	keys, kr := testKeys(t)
	t0 := time.Unix(1_800_000_000, 0)
	s := session{AccessKeyID: "AKIAEXAMPLEEXAMPLE00", Nonce: "n", Issued: t0, Seen: t0}
	v, err := s.encode(keys)
	if err != nil {
		t.Fatal(err)
	}
	const maxAge, idle = 12 * time.Hour, 30 * time.Minute
	if got, err := decodeSession(v, keys, t0.Add(idle-time.Second), maxAge, idle); err != nil || got.AccessKeyID != s.AccessKeyID {
		t.Errorf("fresh session: %+v, %v", got, err)
	}
	if _, err := decodeSession(v, keys, t0.Add(idle), maxAge, idle); err == nil {
		t.Error("session idle for the whole idle limit was accepted")
	}
	// Active all along (Seen refreshed), but past the absolute limit.
	s.Seen = t0.Add(maxAge - time.Minute)
	v2, _ := s.encode(keys)
	if _, err := decodeSession(v2, keys, t0.Add(maxAge-time.Second), maxAge, idle); err != nil {
		t.Errorf("active session before the absolute limit refused: %v", err)
	}
	if _, err := decodeSession(v2, keys, t0.Add(maxAge), maxAge, idle); err == nil {
		t.Error("session past the absolute limit was accepted")
	}

	// Tampering with any part of the payload breaks the signature.
	payload, mac, _ := strings.Cut(v, ".")
	for i := range payload {
		b := []byte(payload)
		b[i] ^= 1
		if _, err := decodeSession(string(b)+"."+mac, keys, t0, maxAge, idle); err == nil {
			t.Fatalf("payload with byte %d changed was accepted", i)
		}
	}
	if _, err := decodeSession(payload+"."+mac[:len(mac)-2]+"AA", keys, t0, maxAge, idle); err == nil {
		t.Error("changed signature was accepted")
	}
	// Another keyring (another installation) does not accept it.
	other, _ := testKeys(t)
	if _, err := decodeSession(v, other, t0, maxAge, idle); err == nil {
		t.Error("session from another keyring was accepted")
	}
	// A keyring that dropped the signing key refuses its sessions.
	if _, err := kr.AddKey(); err != nil {
		t.Fatal(err)
	}
	if err := kr.RemoveKey(strings.Split(mustPayload(t, v), "|")[1]); err != nil {
		t.Fatal(err)
	}
	if _, err := decodeSession(v, keys, t0, maxAge, idle); err == nil {
		t.Error("session signed by a removed key was accepted")
	}
	for _, junk := range []string{"", ".", "abc", "a.b.c", strings.Repeat("A", 2000) + ".x"} {
		if _, err := decodeSession(junk, keys, t0, maxAge, idle); err == nil {
			t.Errorf("junk cookie %.20q accepted", junk)
		}
	}
}

// TestCSRFTokenBoundToSession: each session has its own token.
func TestCSRFTokenBoundToSession(t *testing.T) {
	keys, _ := testKeys(t)
	a := session{Nonce: "one"}
	b := session{Nonce: "two"}
	if a.csrfToken(keys) == "" || a.csrfToken(keys) == b.csrfToken(keys) || a.csrfToken(keys) != a.csrfToken(keys) {
		t.Error("CSRF tokens are not stable per session and distinct across sessions")
	}
}

func mustPayload(t *testing.T, v string) string {
	t.Helper()
	p, _, _ := strings.Cut(v, ".")
	b, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRevocationsBounded(t *testing.T) {
	var r revocations
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r.revoke("soonest", now.Add(time.Minute), now)
	for i := 0; i < maxRevoked-1; i++ {
		r.revoke(strconv.Itoa(i), now.Add(time.Hour), now)
	}
	if !r.revoked("soonest") || !r.revoked("0") {
		t.Fatal("a revoked session is not remembered")
	}
	r.revoke("new", now.Add(time.Hour), now)
	if len(r.m) != maxRevoked || r.revoked("soonest") || !r.revoked("new") || !r.revoked("0") {
		t.Fatalf("at the bound: %d remembered, soonest %v, new %v; want the soonest to expire dropped",
			len(r.m), r.revoked("soonest"), r.revoked("new"))
	}
	// Once expired, entries are dropped to make room.
	r.revoke("later", now.Add(3*time.Hour), now.Add(2*time.Hour))
	if len(r.m) != 1 || !r.revoked("later") {
		t.Fatalf("after every entry expired: %d remembered", len(r.m))
	}
}
