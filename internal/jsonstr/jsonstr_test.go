package jsonstr_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/rotorhq/rotor/internal/jsonstr"
)

// encodingJSON is what encoding/json writes for s with HTML escaping off.
func encodingJSON(t testing.TB, s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return string(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

var seeds = []string{
	"", "plain", `quote " and \ backslash`, "\b\f\n\r\t\x00\x01\x1f\x7f",
	"<script>&amp;</script>", "é ü 日本 🎉", "\u2028\u2029", "bad \xff utf-8 \xc3", "\xed\xa0\x80",
	"trailing\\", "\"", "mixed\x1b[0m\u2028end",
}

// FuzzAppend checks Append against encoding/json; the seeds run as a
// normal test.
func FuzzAppend(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := string(jsonstr.Append(nil, s)), encodingJSON(t, s); got != want {
			t.Fatalf("Append(%q) = %s, want %s (encoding/json)", s, got, want)
		}
	})
}

func TestAppendAllocations(t *testing.T) {
	buf := make([]byte, 0, 256)
	s := "some \"value\" with\nescapes é"
	if n := testing.AllocsPerRun(100, func() { buf = jsonstr.Append(buf[:0], s) }); n != 0 {
		t.Fatalf("Append allocated %v times, want 0", n)
	}
}
