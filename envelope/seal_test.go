package envelope_test

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"sync"
	"testing"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/envelope"
)

const testARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"

// MustGenerate returns a fresh keyring or fails the test.
func MustGenerate(tb testing.TB) *envelope.Keyring {
	tb.Helper()
	kr, err := envelope.Generate()
	if err != nil {
		tb.Fatalf("Generate: %v", err)
	}
	return kr
}

// MustSeal seals plaintext or fails the test.
func MustSeal(tb testing.TB, kr *envelope.Keyring, plaintext, aad []byte) rotor.Sealed {
	tb.Helper()
	s, err := kr.Seal(plaintext, aad)
	if err != nil {
		tb.Fatalf("Seal: %v", err)
	}
	return s
}

// MustAddKey adds a key or fails the test.
func MustAddKey(tb testing.TB, kr *envelope.Keyring) envelope.KeyMeta {
	tb.Helper()
	m, err := kr.AddKey()
	if err != nil {
		tb.Fatalf("AddKey: %v", err)
	}
	return m
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := rotor.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (err %v), want %q", got, err, code)
	}
}

func TestSealOpen(t *testing.T) {
	kr := MustGenerate(t)
	tests := []struct {
		name      string
		plaintext []byte
		aad       []byte
	}{
		{"Version", []byte(`{"username":"app","password":"hunter2"}`), envelope.VersionAAD(testARN, "v1")},
		{"AccessKey", []byte("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"), envelope.AccessKeyAAD("AKIAIOSFODNN7EXAMPLE")},
		{"Empty", []byte{}, envelope.VersionAAD(testARN, "v2")},
		{"Large", bytes.Repeat([]byte{0xA5}, rotor.MaxSecretValueBytes), envelope.VersionAAD(testARN, "v3")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := MustSeal(t, kr, tt.plaintext, tt.aad)
			if s.KeyID != kr.ActiveID() {
				t.Errorf("KeyID = %q, want active %q", s.KeyID, kr.ActiveID())
			}
			if got, want := len(s.WrappedKey), 12+32+16; got != want {
				t.Errorf("len(WrappedKey) = %d, want %d", got, want)
			}
			if got, want := len(s.Ciphertext), 12+len(tt.plaintext)+16; got != want {
				t.Errorf("len(Ciphertext) = %d, want %d", got, want)
			}
			if len(tt.plaintext) >= 16 && bytes.Contains(s.Ciphertext, tt.plaintext[:16]) {
				t.Errorf("Ciphertext contains the plaintext")
			}
			got, err := kr.Open(s, tt.aad)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if !bytes.Equal(got, tt.plaintext) {
				t.Errorf("Open = %q, want %q", got, tt.plaintext)
			}
		})
	}
}

func TestSealFreshDataKey(t *testing.T) {
	kr := MustGenerate(t)
	aad := envelope.VersionAAD(testARN, "v1")
	a := MustSeal(t, kr, []byte("same value"), aad)
	b := MustSeal(t, kr, []byte("same value"), aad)
	if bytes.Equal(a.Ciphertext, b.Ciphertext) {
		t.Errorf("two seals of one value have the same ciphertext")
	}
	if bytes.Equal(a.WrappedKey, b.WrappedKey) {
		t.Errorf("two seals of one value have the same wrapped key")
	}
}

func TestOpenErrDecrypt(t *testing.T) {
	kr := MustGenerate(t)
	aadA := envelope.VersionAAD(testARN, "version-a")
	aadB := envelope.VersionAAD(testARN, "version-b")
	a := MustSeal(t, kr, []byte("value of row A"), aadA)
	b := MustSeal(t, kr, []byte("value of row B"), aadB)

	other := MustGenerate(t)

	// A second key in the same keyring, to relabel a sealed value with.
	second := MustGenerate(t)
	c := MustSeal(t, second, []byte("value of row C"), aadA)
	MustAddKey(t, second)

	flip := func(b []byte, i int) []byte {
		b = slices.Clone(b)
		b[i] ^= 0x01
		return b
	}

	tests := []struct {
		name string
		kr   *envelope.Keyring
		s    rotor.Sealed
		aad  []byte
	}{
		{"WrongAAD", kr, a, aadB},
		{"WrongAADKind", kr, a, envelope.AccessKeyAAD("version-a")},
		{"NilAAD", kr, a, nil},
		{"SwappedRow", kr, b, aadA},
		{"SwappedWrappedKey", kr, rotor.Sealed{KeyID: a.KeyID, WrappedKey: b.WrappedKey, Ciphertext: a.Ciphertext}, aadA},
		{"SwappedCiphertext", kr, rotor.Sealed{KeyID: a.KeyID, WrappedKey: a.WrappedKey, Ciphertext: b.Ciphertext}, aadA},
		{"FlippedCiphertextNonce", kr, rotor.Sealed{KeyID: a.KeyID, WrappedKey: a.WrappedKey, Ciphertext: flip(a.Ciphertext, 0)}, aadA},
		{"FlippedCiphertextBody", kr, rotor.Sealed{KeyID: a.KeyID, WrappedKey: a.WrappedKey, Ciphertext: flip(a.Ciphertext, 14)}, aadA},
		{"FlippedCiphertextTag", kr, rotor.Sealed{KeyID: a.KeyID, WrappedKey: a.WrappedKey, Ciphertext: flip(a.Ciphertext, len(a.Ciphertext)-1)}, aadA},
		{"FlippedWrappedKeyNonce", kr, rotor.Sealed{KeyID: a.KeyID, WrappedKey: flip(a.WrappedKey, 3), Ciphertext: a.Ciphertext}, aadA},
		{"FlippedWrappedKeyBody", kr, rotor.Sealed{KeyID: a.KeyID, WrappedKey: flip(a.WrappedKey, 20), Ciphertext: a.Ciphertext}, aadA},
		{"FlippedWrappedKeyTag", kr, rotor.Sealed{KeyID: a.KeyID, WrappedKey: flip(a.WrappedKey, 59), Ciphertext: a.Ciphertext}, aadA},
		{"TruncatedCiphertext", kr, rotor.Sealed{KeyID: a.KeyID, WrappedKey: a.WrappedKey, Ciphertext: a.Ciphertext[:20]}, aadA},
		{"EmptyCiphertext", kr, rotor.Sealed{KeyID: a.KeyID, WrappedKey: a.WrappedKey}, aadA},
		{"TruncatedWrappedKey", kr, rotor.Sealed{KeyID: a.KeyID, WrappedKey: a.WrappedKey[:40], Ciphertext: a.Ciphertext}, aadA},
		{"UnknownKeyID", kr, rotor.Sealed{KeyID: "kek-20000101-000000", WrappedKey: a.WrappedKey, Ciphertext: a.Ciphertext}, aadA},
		{"EmptyKeyID", kr, rotor.Sealed{WrappedKey: a.WrappedKey, Ciphertext: a.Ciphertext}, aadA},
		{"OtherKeyring", other, a, aadA},
		// c was wrapped by second's first key; claiming its new active key must fail.
		{"RelabelledKeyID", second, rotor.Sealed{KeyID: second.ActiveID(), WrappedKey: c.WrappedKey, Ciphertext: c.Ciphertext}, aadA},
	}
	versionOf := map[string]string{string(aadA): "version-a", string(aadB): "version-b"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.kr.Open(tt.s, tt.aad)
			wantCode(t, err, rotor.EDECRYPT)
			if got != nil {
				t.Errorf("Open returned plaintext %q with an error", got)
			}
			version, ok := versionOf[string(tt.aad)]
			if !ok {
				return // not a version's associated data
			}
			got, err = tt.kr.AppendOpenVersion([]byte("prefix"), tt.s.KeyID, string(tt.s.WrappedKey), string(tt.s.Ciphertext), testARN, version)
			wantCode(t, err, rotor.EDECRYPT)
			if got != nil {
				t.Errorf("AppendOpenVersion returned %q with an error", got)
			}
		})
	}

	// The originals still open: the table did not modify them.
	if _, err := kr.Open(a, aadA); err != nil {
		t.Fatalf("Open(a) after table: %v", err)
	}
	if got, err := second.Open(c, aadA); err != nil || string(got) != "value of row C" {
		t.Fatalf("Open(c) = %q, %v; want the value under the original key id", got, err)
	}
}

func TestAADUnambiguous(t *testing.T) {
	pairs := []struct {
		name string
		x, y []byte
	}{
		{"Boundary", envelope.VersionAAD("arn:a", "bc"), envelope.VersionAAD("arn:ab", "c")},
		{"Empty", envelope.VersionAAD("", "x"), envelope.VersionAAD("x", "")},
		{"Kind", envelope.VersionAAD("", "AKIA1"), envelope.AccessKeyAAD("AKIA1")},
	}
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			if bytes.Equal(p.x, p.y) {
				t.Fatalf("AAD collision: %x", p.x)
			}
			kr := MustGenerate(t)
			s := MustSeal(t, kr, []byte("v"), p.x)
			_, err := kr.Open(s, p.y)
			wantCode(t, err, rotor.EDECRYPT)
		})
	}
	if !bytes.Equal(envelope.VersionAAD(testARN, "v1"), envelope.VersionAAD(testARN, "v1")) {
		t.Errorf("VersionAAD is not deterministic")
	}
}

func TestSealErrEncryptEmptyKeyring(t *testing.T) {
	var kr envelope.Keyring
	_, err := kr.Seal([]byte("x"), envelope.AccessKeyAAD("AKIA1"))
	wantCode(t, err, rotor.EENCRYPT)
}

func TestGenerate(t *testing.T) {
	kr := MustGenerate(t)
	keys := kr.Keys()
	if len(keys) != 1 {
		t.Fatalf("Keys() = %v, want one key", keys)
	}
	if !keys[0].Active || keys[0].ID != kr.ActiveID() || !kr.Has(keys[0].ID) {
		t.Errorf("Keys()[0] = %+v, ActiveID %q: want the one active key", keys[0], kr.ActiveID())
	}
	if !regexp.MustCompile(`^kek-\d{8}-[0-9a-f]{6}$`).MatchString(keys[0].ID) {
		t.Errorf("ID = %q, want kek-YYYYMMDD-<6 hex>", keys[0].ID)
	}
	if want := keys[0].Created.UTC().Format("20060102"); keys[0].ID[4:12] != want {
		t.Errorf("ID %q does not carry the creation date %s", keys[0].ID, want)
	}
	if keys[0].Created.IsZero() {
		t.Errorf("Created is zero")
	}
	if kr.Has("kek-nope") {
		t.Errorf("Has(unknown) = true")
	}
}

func TestAddKeyRemoveKey(t *testing.T) {
	kr := MustGenerate(t)
	first := kr.ActiveID()
	ids := map[string]bool{first: true}
	for range 20 {
		m := MustAddKey(t, kr)
		if ids[m.ID] {
			t.Fatalf("AddKey returned duplicate id %q", m.ID)
		}
		ids[m.ID] = true
		if !m.Active || kr.ActiveID() != m.ID {
			t.Fatalf("AddKey = %+v, ActiveID %q: new key must be active", m, kr.ActiveID())
		}
	}
	keys := kr.Keys()
	if len(keys) != 21 || keys[0].ID != first || keys[20].ID != kr.ActiveID() {
		t.Fatalf("Keys() = %v, want 21 keys oldest first", keys)
	}
	for i, k := range keys {
		if k.Active != (i == 20) {
			t.Errorf("Keys()[%d].Active = %v", i, k.Active)
		}
		if i > 0 && k.Created.Before(keys[i-1].Created) {
			t.Errorf("Keys() not oldest first at %d", i)
		}
	}

	t.Run("ErrActive", func(t *testing.T) {
		wantCode(t, kr.RemoveKey(kr.ActiveID()), rotor.ESTATE)
		if !kr.Has(kr.ActiveID()) {
			t.Errorf("active key removed")
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		wantCode(t, kr.RemoveKey("kek-20000101-abcdef"), rotor.ENOTFOUND)
	})
	t.Run("OK", func(t *testing.T) {
		if err := kr.RemoveKey(first); err != nil {
			t.Fatalf("RemoveKey: %v", err)
		}
		if kr.Has(first) || len(kr.Keys()) != 20 {
			t.Errorf("after RemoveKey: Has = %v, %d keys", kr.Has(first), len(kr.Keys()))
		}
		wantCode(t, kr.RemoveKey(first), rotor.ENOTFOUND)
	})
}

func TestRewrap(t *testing.T) {
	kr := MustGenerate(t)
	old := kr.ActiveID()
	aad := envelope.VersionAAD(testARN, "v1")
	plaintext := []byte("rotate me")
	s := MustSeal(t, kr, plaintext, aad)
	stale := MustSeal(t, kr, []byte("never re-wrapped"), envelope.VersionAAD(testARN, "v2"))

	t.Run("AlreadyActive", func(t *testing.T) {
		got, err := kr.Rewrap(s, aad)
		if err != nil {
			t.Fatalf("Rewrap: %v", err)
		}
		if got.KeyID != s.KeyID || !bytes.Equal(got.WrappedKey, s.WrappedKey) || !bytes.Equal(got.Ciphertext, s.Ciphertext) {
			t.Errorf("Rewrap under the active key changed the value")
		}
	})

	m := MustAddKey(t, kr)
	r, err := kr.Rewrap(s, aad)
	if err != nil {
		t.Fatalf("Rewrap: %v", err)
	}
	if r.KeyID != m.ID {
		t.Errorf("KeyID = %q, want new key %q", r.KeyID, m.ID)
	}
	if !bytes.Equal(r.Ciphertext, s.Ciphertext) {
		t.Errorf("Rewrap changed the ciphertext")
	}
	if bytes.Equal(r.WrappedKey, s.WrappedKey) {
		t.Errorf("Rewrap did not change the wrapped key")
	}

	t.Run("ErrWrongAAD", func(t *testing.T) {
		_, err := kr.Rewrap(s, envelope.VersionAAD(testARN, "v9"))
		wantCode(t, err, rotor.EDECRYPT)
	})
	t.Run("ErrUnknownKey", func(t *testing.T) {
		_, err := kr.Rewrap(rotor.Sealed{KeyID: "kek-20000101-000000", WrappedKey: s.WrappedKey, Ciphertext: s.Ciphertext}, aad)
		wantCode(t, err, rotor.EDECRYPT)
	})

	if err := kr.RemoveKey(old); err != nil {
		t.Fatalf("RemoveKey(old): %v", err)
	}
	got, err := kr.Open(r, aad)
	if err != nil {
		t.Fatalf("Open after Rewrap and RemoveKey: %v", err)
	}
	if !bytes.Equal(got, plaintext) {
		t.Errorf("Open = %q, want %q", got, plaintext)
	}

	t.Run("ErrRemovedKey", func(t *testing.T) {
		_, err := kr.Open(stale, envelope.VersionAAD(testARN, "v2"))
		wantCode(t, err, rotor.EDECRYPT)
		_, err = kr.Rewrap(stale, envelope.VersionAAD(testARN, "v2"))
		wantCode(t, err, rotor.EDECRYPT)
	})
}

// TestConcurrent runs Seal, Open and Rewrap in goroutines while keys are
// added; run it with -race.
func TestConcurrent(t *testing.T) {
	kr := MustGenerate(t)
	const workers, rounds = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds+rounds)
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				aad := envelope.VersionAAD(testARN, fmt.Sprintf("w%d-%d", w, i))
				want := fmt.Appendf(nil, "value %d/%d", w, i)
				s, err := kr.Seal(want, aad)
				if err != nil {
					errs <- fmt.Errorf("Seal: %w", err)
					return
				}
				if s, err = kr.Rewrap(s, aad); err != nil {
					errs <- fmt.Errorf("Rewrap: %w", err)
					return
				}
				got, err := kr.Open(s, aad)
				if err != nil {
					errs <- fmt.Errorf("Open: %w", err)
					return
				}
				if !bytes.Equal(got, want) {
					errs <- fmt.Errorf("Open = %q, want %q", got, want)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range rounds {
			if _, err := kr.AddKey(); err != nil {
				errs <- fmt.Errorf("AddKey: %w", err)
				return
			}
			_ = kr.Keys()
			_ = kr.Has(kr.ActiveID())
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(kr.Keys()); n != rounds+1 {
		t.Errorf("%d keys, want %d", n, rounds+1)
	}
}

func BenchmarkSeal(b *testing.B) {
	kr := MustGenerate(b)
	plaintext := bytes.Repeat([]byte("x"), 1024)
	aad := envelope.VersionAAD(testARN, "v1")
	b.SetBytes(int64(len(plaintext)))
	for b.Loop() {
		if _, err := kr.Seal(plaintext, aad); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendOpenVersion(b *testing.B) {
	kr := MustGenerate(b)
	plaintext := bytes.Repeat([]byte("x"), 1024)
	s := MustSeal(b, kr, plaintext, envelope.VersionAAD(testARN, "v1"))
	wrapped, ciphertext := string(s.WrappedKey), string(s.Ciphertext)
	buf := make([]byte, 0, 2048)
	b.SetBytes(int64(len(plaintext)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := kr.AppendOpenVersion(buf[:0], s.KeyID, wrapped, ciphertext, testARN, "v1"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	kr := MustGenerate(b)
	plaintext := bytes.Repeat([]byte("x"), 1024)
	aad := envelope.VersionAAD(testARN, "v1")
	s := MustSeal(b, kr, plaintext, aad)
	b.SetBytes(int64(len(plaintext)))
	for b.Loop() {
		if _, err := kr.Open(s, aad); err != nil {
			b.Fatal(err)
		}
	}
}

// TestAppendOpenVersion: AppendOpenVersion opens what Seal sealed with
// VersionAAD, as Open does, appending to dst; the ARN and version id are
// bound (see TestOpenErrDecrypt for tampering).
func TestAppendOpenVersion(t *testing.T) {
	kr := MustGenerate(t)
	for _, plaintext := range [][]byte{nil, []byte("v"), bytes.Repeat([]byte("secret "), 3000)} {
		s := MustSeal(t, kr, plaintext, envelope.VersionAAD(testARN, "v1"))
		wrapped, ciphertext := string(s.WrappedKey), string(s.Ciphertext)
		got, err := kr.AppendOpenVersion([]byte("prefix:"), s.KeyID, wrapped, ciphertext, testARN, "v1")
		if err != nil || string(got) != "prefix:"+string(plaintext) {
			t.Fatalf("AppendOpenVersion = %.20q, %v; want prefix and the %d-byte plaintext", got, err, len(plaintext))
		}
		got, err = kr.AppendOpenVersion(nil, s.KeyID, wrapped, ciphertext, testARN, "v1")
		if err != nil || !bytes.Equal(got, plaintext) {
			t.Fatalf("AppendOpenVersion(nil) = %.20q, %v", got, err)
		}
		for _, other := range [][2]string{{testARN, "v2"}, {testARN + "x", "v1"}, {testARN[:len(testARN)-1], "fv1"}} {
			if _, err := kr.AppendOpenVersion(nil, s.KeyID, wrapped, ciphertext, other[0], other[1]); rotor.ErrorCode(err) != rotor.EDECRYPT {
				t.Errorf("AppendOpenVersion as %q %q: %v, want EDECRYPT", other[0], other[1], err)
			}
		}
	}
}

// TestCheckKey: CheckKey accepts exactly the sealed values whose data key
// the keyring unwraps, and does not look at the value itself.
func TestCheckKey(t *testing.T) {
	kr := MustGenerate(t)
	aad := envelope.VersionAAD(testARN, "v1")
	s := MustSeal(t, kr, []byte("value"), aad)
	if err := kr.CheckKey(s, aad); err != nil {
		t.Fatalf("CheckKey with the sealing keyring: %v", err)
	}
	flipped := slices.Clone(s.WrappedKey)
	flipped[20] ^= 1
	for _, tc := range []struct {
		name string
		kr   *envelope.Keyring
		s    rotor.Sealed
		aad  []byte
	}{
		{"OtherKeyring", MustGenerate(t), s, aad},
		{"WrongAAD", kr, s, envelope.VersionAAD(testARN, "v2")},
		{"FlippedWrappedKey", kr, rotor.Sealed{KeyID: s.KeyID, WrappedKey: flipped, Ciphertext: s.Ciphertext}, aad},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, tc.kr.CheckKey(tc.s, tc.aad), rotor.EDECRYPT)
		})
	}
	// The ciphertext is not opened: a damaged value still has a good key.
	damaged := rotor.Sealed{KeyID: s.KeyID, WrappedKey: s.WrappedKey, Ciphertext: slices.Clone(s.Ciphertext)}
	damaged.Ciphertext[len(damaged.Ciphertext)-1] ^= 1
	if err := kr.CheckKey(damaged, aad); err != nil {
		t.Errorf("CheckKey looked at the ciphertext: %v", err)
	}
}
