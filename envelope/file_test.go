package envelope_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/envelope"
)

// testKey is fixed key material, so the leak checks below are deterministic.
var testKey = []byte("0123456789abcdefghijklmnopqrstuv")

var testKeyB64 = base64.StdEncoding.EncodeToString(testKey)

func MustParse(tb testing.TB, data string) *envelope.Keyring {
	tb.Helper()
	kr, err := envelope.Parse([]byte(data))
	if err != nil {
		tb.Fatalf("Parse: %v", err)
	}
	return kr
}

func keyFile(active string, keys ...string) string {
	return fmt.Sprintf(`{"active":%q,"keys":[%s]}`, active, strings.Join(keys, ","))
}

func keyEntry(id, key, created string) string {
	return fmt.Sprintf(`{"id":%q,"key":%q,"created":%q}`, id, key, created)
}

func fileMode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	return fi.Mode().Perm()
}

func TestParseBareKey(t *testing.T) {
	sum := sha256.Sum256(testKey)
	wantID := "env-" + hex.EncodeToString(sum[:])[:8]
	for name, data := range map[string]string{
		"Padded":     testKeyB64,
		"Whitespace": "  " + testKeyB64 + "\n",
		"Unpadded":   strings.TrimRight(testKeyB64, "="),
	} {
		t.Run(name, func(t *testing.T) {
			kr := MustParse(t, data)
			if kr.ActiveID() != wantID {
				t.Errorf("ActiveID = %q, want %q", kr.ActiveID(), wantID)
			}
			keys := kr.Keys()
			if len(keys) != 1 || keys[0].ID != wantID || !keys[0].Active || !keys[0].Created.IsZero() {
				t.Errorf("Keys() = %+v", keys)
			}
		})
	}

	// The bare key is the same key as in a key file that names it wantID:
	// what one seals, the other opens.
	bare := MustParse(t, testKeyB64)
	doc := MustParse(t, keyFile(wantID, keyEntry(wantID, testKeyB64, "2026-11-27T10:00:00Z")))
	aad := envelope.AccessKeyAAD("AKIA1")
	got, err := doc.Open(MustSeal(t, bare, []byte("shared"), aad), aad)
	if err != nil || string(got) != "shared" {
		t.Fatalf("Open across bare and document keyrings = %q, %v", got, err)
	}
}

func TestParseDocument(t *testing.T) {
	other := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	kr := MustParse(t, keyFile("kek-b",
		keyEntry("kek-b", other, "2026-11-28T00:00:00Z"),
		keyEntry("kek-a", testKeyB64, "2026-11-27T00:00:00Z"),
	))
	if kr.ActiveID() != "kek-b" || !kr.Has("kek-a") || !kr.Has("kek-b") {
		t.Fatalf("ActiveID = %q, Has(a) = %v, Has(b) = %v", kr.ActiveID(), kr.Has("kek-a"), kr.Has("kek-b"))
	}
	keys := kr.Keys()
	if len(keys) != 2 || keys[0].ID != "kek-a" || keys[1].ID != "kek-b" || keys[0].Active || !keys[1].Active {
		t.Fatalf("Keys() = %+v, want kek-a then active kek-b (oldest first)", keys)
	}
	if got := keys[0].Created.Format("2006-01-02T15:04:05Z07:00"); got != "2026-11-27T00:00:00Z" {
		t.Errorf("Created = %s", got)
	}
}

// TestWrappedKeyBoundToKeyID uses two ids for the same key bytes: a data
// key wrapped under one id must not unwrap when relabelled with the other.
func TestWrappedKeyBoundToKeyID(t *testing.T) {
	kr := MustParse(t, keyFile("one",
		keyEntry("one", testKeyB64, "2026-11-27T00:00:00Z"),
		keyEntry("two", testKeyB64, "2026-11-27T00:00:00Z"),
	))
	aad := envelope.VersionAAD(testARN, "v1")
	s := MustSeal(t, kr, []byte("value"), aad)
	if s.KeyID != "one" {
		t.Fatalf("KeyID = %q", s.KeyID)
	}
	s.KeyID = "two"
	_, err := kr.Open(s, aad)
	wantCode(t, err, rotor.EDECRYPT)
}

func TestParseErrInvalid(t *testing.T) {
	short := base64.StdEncoding.EncodeToString(testKey[:31])
	entry := keyEntry("kek-a", testKeyB64, "2026-11-27T00:00:00Z")
	tests := []struct {
		name string
		data string
	}{
		{"Empty", ""},
		{"Blank", " \n\t"},
		{"NotBase64", "this is not a key " + testKeyB64},
		{"ShortBareKey", short},
		{"LongBareKey", base64.StdEncoding.EncodeToString(append(testKey, testKey...))},
		{"BadJSON", `{"active":"kek-a","keys":[{"id":"kek-a","key":"` + testKeyB64 + `" "created":""}]}`},
		{"TruncatedJSON", `{"active":"kek-a","keys":[{"id":"kek-a","key":"` + testKeyB64},
		{"TrailingData", keyFile("kek-a", entry) + testKeyB64},
		{"UnknownField", `{"active":"kek-a","keys":[` + entry + `],"` + testKeyB64 + `":1}`},
		{"WrongType", `{"active":"kek-a","keys":[{"id":"kek-a","key":["` + testKeyB64 + `"]}]}`},
		{"NotObject", `{"active":1}`},
		{"NoKeys", `{"active":"kek-a","keys":[]}`},
		{"NoActive", keyFile("", entry)},
		{"ActiveUnknown", keyFile("kek-b", entry)},
		{"ActiveIsKey", keyFile(testKeyB64, entry)},
		{"DuplicateID", keyFile("kek-a", entry, entry)},
		{"EmptyID", keyFile("kek-a", keyEntry("", testKeyB64, ""))},
		{"KeyAsID", keyFile("kek-a", keyEntry(testKeyB64, "kek-a", ""))},
		{"BadKeyBase64", keyFile("kek-a", keyEntry("kek-a", testKeyB64[:20]+"!!"+testKeyB64[22:], ""))},
		{"ShortKey", keyFile("kek-a", keyEntry("kek-a", short, ""))},
		{"BadCreated", keyFile("kek-a", keyEntry("kek-a", testKeyB64, "27/11/2026"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kr, err := envelope.Parse([]byte(tt.data))
			if kr != nil {
				t.Errorf("Parse returned a keyring with an error")
			}
			wantCode(t, err, rotor.EINVALID)
			assertNoKeyMaterial(t, err)
		})
	}
}

// assertNoKeyMaterial fails if err's full text (message and cause) holds
// any 8-character run of the test key, in base64 or raw.
func assertNoKeyMaterial(t *testing.T, err error) {
	t.Helper()
	text := err.Error()
	for _, material := range []string{testKeyB64, string(testKey)} {
		for i := 0; i+8 <= len(material); i++ {
			if strings.Contains(text, material[i:i+8]) {
				t.Fatalf("error %q contains key material %q", text, material[i:i+8])
			}
		}
	}
}

func TestSaveFileLoadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keyring.json")
	kr := MustGenerate(t)
	aad := envelope.VersionAAD(testARN, "v1")
	old := MustSeal(t, kr, []byte("under the first key"), aad)
	MustAddKey(t, kr)
	cur := MustSeal(t, kr, []byte("under the second key"), aad)

	if err := kr.SaveFile(path); err != nil {
		t.Fatalf("SaveFile: %v", err)
	}
	if m := fileMode(t, path); m != 0o600 {
		t.Errorf("mode = %04o, want 0600", m)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 {
		t.Errorf("directory holds %v (err %v), want only the key file", entries, err)
	}

	loaded, err := envelope.LoadFile(path)
	if err != nil {
		t.Fatalf("LoadFile: %v", err)
	}
	if fmt.Sprint(loaded.Keys()) != fmt.Sprint(kr.Keys()) || loaded.ActiveID() != kr.ActiveID() {
		t.Errorf("loaded Keys() = %v active %q, want %v active %q", loaded.Keys(), loaded.ActiveID(), kr.Keys(), kr.ActiveID())
	}
	for _, s := range []struct {
		sealed rotor.Sealed
		want   string
	}{{old, "under the first key"}, {cur, "under the second key"}} {
		got, err := loaded.Open(s.sealed, aad)
		if err != nil || string(got) != s.want {
			t.Errorf("loaded.Open = %q, %v; want %q", got, err, s.want)
		}
	}

	t.Run("OverwriteLooseFile", func(t *testing.T) {
		loose := filepath.Join(t.TempDir(), "keyring.json")
		if err := os.WriteFile(loose, []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(loose, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := kr.SaveFile(loose); err != nil {
			t.Fatalf("SaveFile: %v", err)
		}
		if m := fileMode(t, loose); m != 0o600 {
			t.Errorf("mode = %04o, want 0600", m)
		}
		if _, err := envelope.LoadFile(loose); err != nil {
			t.Errorf("LoadFile: %v", err)
		}
	})

	t.Run("ErrNoDirectory", func(t *testing.T) {
		err := kr.SaveFile(filepath.Join(dir, "missing", "keyring.json"))
		wantCode(t, err, rotor.EINTERNAL)
	})
	t.Run("ErrEmptyKeyring", func(t *testing.T) {
		var empty envelope.Keyring
		wantCode(t, empty.SaveFile(filepath.Join(dir, "empty.json")), rotor.ESTATE)
	})
}

func TestLoadFileMode(t *testing.T) {
	kr := MustGenerate(t)
	tests := []struct {
		mode fs.FileMode
		ok   bool
	}{
		{0o600, true},
		{0o400, true},
		{0o644, false},
		{0o640, false},
		{0o604, false},
		{0o620, false},
		{0o602, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%04o", tt.mode), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "keyring.json")
			if err := kr.SaveFile(path); err != nil {
				t.Fatalf("SaveFile: %v", err)
			}
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			loaded, err := envelope.LoadFile(path)
			if tt.ok {
				if err != nil || loaded.ActiveID() != kr.ActiveID() {
					t.Fatalf("LoadFile = %v", err)
				}
				return
			}
			wantCode(t, err, rotor.EINVALID)
			msg := rotor.ErrorMessage(err)
			if !strings.Contains(msg, fmt.Sprintf("%04o", tt.mode)) || !strings.Contains(msg, "0600") {
				t.Errorf("message %q does not give the mode found and the mode wanted", msg)
			}
		})
	}
}

func TestLoadFileErr(t *testing.T) {
	dir := t.TempDir()
	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := envelope.LoadFile(filepath.Join(dir, "missing.json"))
		wantCode(t, err, rotor.ENOTFOUND)
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("error %v does not match fs.ErrNotExist", err)
		}
	})
	t.Run("ErrDirectory", func(t *testing.T) {
		sub := filepath.Join(dir, "sub")
		if err := os.Mkdir(sub, 0o700); err != nil {
			t.Fatal(err)
		}
		_, err := envelope.LoadFile(sub)
		wantCode(t, err, rotor.EINVALID)
	})
	t.Run("ErrBadContent", func(t *testing.T) {
		path := filepath.Join(dir, "bad.json")
		data := keyFile("kek-a", keyEntry("kek-a", testKeyB64[:30], ""))
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := envelope.LoadFile(path)
		wantCode(t, err, rotor.EINVALID)
		assertNoKeyMaterial(t, err)
		if !strings.Contains(rotor.ErrorMessage(err), path) {
			t.Errorf("message %q does not name the file", rotor.ErrorMessage(err))
		}
	})
}

func TestLoadOrCreateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "etc", "rotor", "keyring.json")
	kr, created, err := envelope.LoadOrCreateFile(path)
	if err != nil {
		t.Fatalf("LoadOrCreateFile: %v", err)
	}
	if !created {
		t.Errorf("created = false for a new file")
	}
	if m := fileMode(t, path); m != 0o600 {
		t.Errorf("mode = %04o, want 0600", m)
	}
	if m := fileMode(t, filepath.Dir(path)); m != 0o700 {
		t.Errorf("directory mode = %04o, want 0700", m)
	}
	aad := envelope.AccessKeyAAD("AKIA1")
	s := MustSeal(t, kr, []byte("kept"), aad)

	again, created, err := envelope.LoadOrCreateFile(path)
	if err != nil {
		t.Fatalf("LoadOrCreateFile again: %v", err)
	}
	if created {
		t.Errorf("created = true for an existing file")
	}
	if got, err := again.Open(s, aad); err != nil || string(got) != "kept" {
		t.Errorf("Open with the reloaded keyring = %q, %v", got, err)
	}

	t.Run("ErrLooseFile", func(t *testing.T) {
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
		_, _, err := envelope.LoadOrCreateFile(path)
		wantCode(t, err, rotor.EINVALID)
		// The refused file is left alone, not replaced by a new keyring.
		if err := os.Chmod(path, 0o600); err != nil {
			t.Fatal(err)
		}
		kept, err := envelope.LoadFile(path)
		if err != nil || kept.ActiveID() != kr.ActiveID() {
			t.Errorf("key file was replaced: %v", err)
		}
	})
}
