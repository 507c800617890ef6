package awsapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// referenceJSON is what appendJSON did for every response before the
// hand-written encoders: encoding/json without HTML escaping.
func referenceJSON(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

var jsonStrings = []string{
	"", "plain", `quote " and \ backslash`, "<html>&amp;</html>", "\x00\x01\x1f\x7f",
	"\b\f\n\r\t", "tab\there", "é ☃ 😀", "\u2028 and \u2029", "bad \xff utf-8 \xc3", "\xed\xa0\x80",
	strings.Repeat("v", 4096),
}

// TestAppendJSONMatchesEncodingJSON holds GetSecretValue's hand-written
// encoder to encoding/json's bytes, member by member.
func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	str := func(s string) *string { return &s }
	entries := []secretValueEntry{
		{},
		{ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:a-AbCdEf", Name: "a", VersionID: "v",
			SecretString: str("value"), VersionStages: []string{"AWSCURRENT"}, CreatedDate: Timestamp{time.UnixMilli(1523477145713)}},
		{Name: "bin", SecretBinary: []byte{0, 1, 2, 0xff, 0xfe}, VersionStages: []string{"A", "B\"", "AWSCURRENT"}},
		{SecretBinary: []byte{}, SecretString: str(""), VersionStages: []string{}},
		{CreatedDate: Timestamp{time.Unix(1523477145, 0)}},
		{CreatedDate: Timestamp{time.UnixMilli(-1500)}},
		{CreatedDate: Timestamp{time.Unix(0, 0)}},
	}
	for _, s := range jsonStrings {
		entries = append(entries, secretValueEntry{ARN: s, Name: s, VersionID: s, SecretString: str(s), VersionStages: []string{s, s}})
	}
	for i, e := range entries {
		got, err := appendJSON([]byte("prefix"), e)
		if err != nil {
			t.Fatal(err)
		}
		if want := append([]byte("prefix"), referenceJSON(t, e)...); !bytes.Equal(got, want) {
			t.Errorf("entry %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range jsonStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := appendJSONString(nil, s), referenceJSON(t, s); !bytes.Equal(got, want) {
			t.Fatalf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	})
}

// TestTimestampAppendJSON checks the allocation-free timestamp encoder
// against MarshalJSON, fractions and signs included.
func TestTimestampAppendJSON(t *testing.T) {
	for _, ms := range []int64{0, 1, 10, 100, 999, 1000, 1001, 1010, 1100, 1523477145713, 1523477145700,
		-1, -10, -999, -1000, -1001, -1523477145713, math.MaxInt64 / 1000000, math.MinInt64 / 1000000} {
		ts := Timestamp{time.UnixMilli(ms)}
		want, err := ts.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if got := ts.appendJSON(nil); !bytes.Equal(got, want) {
			t.Errorf("%d ms: appendJSON = %s, MarshalJSON = %s", ms, got, want)
		}
	}
}

// TestReadAtMost checks the pre-sized body reader against what it replaced,
// io.ReadAll(io.LimitReader(r, n)), whatever size the client announced.
func TestReadAtMost(t *testing.T) {
	for _, size := range []int{0, 1, 511, 512, 513, 5000, 70000} {
		data := bytes.Repeat([]byte("b"), size)
		for _, limit := range []int64{1, 512, int64(size), int64(size) + 1, 1 << 20} {
			for _, hint := range []int64{-1, 0, int64(size), int64(size) / 2, int64(size) * 2, 1 << 40} {
				for name, r := range map[string]func() io.Reader{
					"whole":   func() io.Reader { return bytes.NewReader(data) },
					"onebyte": func() io.Reader { return iotest.OneByteReader(bytes.NewReader(data)) },
				} {
					want, wantErr := io.ReadAll(io.LimitReader(r(), limit))
					got, err := readAtMost(r(), limit, hint)
					if !bytes.Equal(got, want) || (err == nil) != (wantErr == nil) {
						t.Fatalf("size %d limit %d hint %d %s: got %d bytes (%v), want %d (%v)",
							size, limit, hint, name, len(got), err, len(want), wantErr)
					}
				}
			}
		}
	}
	boom := errors.New("boom")
	got, err := readAtMost(io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(boom)), 100, 10)
	if string(got) != "abc" || !errors.Is(err, boom) {
		t.Errorf("read error: got %q, %v; want \"abc\", boom", got, err)
	}
}

// TestNewRequestID checks the batched generator gives canonical, distinct
// version-4 UUIDs across many batches.
func TestNewRequestID(t *testing.T) {
	seen := map[string]bool{}
	for range 5 * idBatch {
		id := newRequestID()
		if len(id) != 36 || id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-' {
			t.Fatalf("id %q is not in canonical form", id)
		}
		if id[14] != '4' || !strings.ContainsRune("89ab", rune(id[19])) {
			t.Fatalf("id %q is not a version-4 RFC 4122 UUID", id)
		}
		if strings.ToLower(id) != id {
			t.Fatalf("id %q is not lower-case", id)
		}
		if seen[id] {
			t.Fatalf("id %q repeated", id)
		}
		seen[id] = true
	}
}
