package lambda

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/rotorhq/rotor/rotation/scrub"
)

// capture keeps the first and the last bytes written to it, a bounded
// amount, and counts what it drops in between. It keeps margin bytes more
// on each side than its rendering shows, so a secret near a cut is still
// found whole by the scrubber; a longer one straddling the gap is left out
// (see scrub.Scrubber.Bounded). It is safe for concurrent writers, so
// stdout and stderr can share one and keep their interleaving.
type capture struct {
	mu    sync.Mutex
	limit int
	head  []byte // the first limit/2+margin bytes
	tail  ring   // the last limit-limit/2+margin bytes after head
	total int64  // bytes written
}

// captureMargin is what a capture keeps beyond its limit on each side.
const captureMargin = 16 << 10

func newCapture(limit int) *capture {
	return &capture{limit: limit, head: make([]byte, 0, limit/2+captureMargin), tail: ring{buf: make([]byte, limit-limit/2+captureMargin)}}
}

// Write never fails: what does not fit is counted and dropped.
func (c *capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(p)
	c.total += int64(n)
	if room := cap(c.head) - len(c.head); room > 0 {
		k := min(room, len(p))
		c.head = append(c.head, p[:k]...)
		p = p[k:]
	}
	c.tail.write(p)
	return n, nil
}

// render returns what was written, scrubbed by sc, at most limit bytes:
// all of it if it fits, otherwise the beginning, a marker saying how much
// was left out, and the end.
func (c *capture) render(sc *scrub.Scrubber) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return sc.Bounded(string(c.head), string(c.tail.bytes()), c.total, c.limit, c.limit/2, truncationMarker)
}

// truncationMarker is the text that stands for n bytes left out of an output.
// Its length does not vary with n by more than a few digits;
// scrub.Scrubber.Bounded allows for that by measuring it.
func truncationMarker(n int64) string {
	return fmt.Sprintf("\n[... %d bytes truncated ...]\n", n)
}

// ring keeps the last len(buf) bytes written to it.
type ring struct {
	buf  []byte
	next int  // where the next byte goes
	full bool // buf has wrapped at least once
}

func (r *ring) write(p []byte) {
	size := len(r.buf)
	if size == 0 || len(p) == 0 {
		return
	}
	if len(p) >= size {
		copy(r.buf, p[len(p)-size:])
		r.next, r.full = 0, true
		return
	}
	n := copy(r.buf[r.next:], p)
	if n < len(p) {
		copy(r.buf, p[n:])
		r.full = true
	}
	r.next = (r.next + len(p)) % size
	if r.next == 0 {
		r.full = true
	}
}

// bytes returns the kept bytes, oldest first, in a new slice.
func (r *ring) bytes() []byte {
	if !r.full {
		return append([]byte(nil), r.buf[:r.next]...)
	}
	out := make([]byte, 0, len(r.buf))
	out = append(out, r.buf[r.next:]...)
	return append(out, r.buf[:r.next]...)
}

// tailWriter is a ring behind a mutex, for the stderr excerpt.
type tailWriter struct {
	mu    sync.Mutex
	r     ring
	total int64
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.r.write(p)
	t.total += int64(len(p))
	return len(p), nil
}

// clean returns the kept bytes scrubbed by sc; when earlier bytes were
// dropped, a leading piece that could end a secret is left out too.
func (t *tailWriter) clean(sc *scrub.Scrubber) []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.r.bytes()
	return []byte(sc.Clean(string(b), int64(len(b)) < t.total, false))
}

// Bounds of the excerpts quoted in error messages.
const (
	excerptBytes = 1024 // at most this many bytes of output in an error message
	excerptLines = 5    // at most this many lines of stderr in an error message
	stderrTail   = 4096 // bytes of stderr kept to find those lines
)

// lastLines returns the last excerptLines non-blank lines of b, at most
// excerptBytes long (the end is kept), as valid UTF-8.
func lastLines(b []byte) string {
	lines := strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
	var kept []string
	for i := len(lines) - 1; i >= 0 && len(kept) < excerptLines; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			kept = append(kept, l)
		}
	}
	for i, j := 0, len(kept)-1; i < j; i, j = i+1, j-1 {
		kept[i], kept[j] = kept[j], kept[i]
	}
	s := strings.Join(kept, "\n")
	if len(s) > excerptBytes {
		s = "..." + s[len(s)-excerptBytes:]
	}
	return validUTF8(s)
}

// firstBytes returns the start of b, trimmed, at most excerptBytes long, as
// valid UTF-8.
func firstBytes(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) > excerptBytes {
		return validUTF8(string(b[:excerptBytes])) + "..."
	}
	return validUTF8(string(b))
}

// validUTF8 replaces invalid bytes (or a rune cut in half by truncation) with
// U+FFFD, so messages stay valid JSON strings on the wire.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// functionError is the error a Lambda reports: the JSON object the Python
// runtime prints for an uncaught exception, and the Invoke API's response
// body when X-Amz-Function-Error is set.
type functionError struct {
	ErrorType    string `json:"errorType"`
	ErrorMessage string `json:"errorMessage"`
}

// parseFunctionError reports whether b is a JSON object with an errorType or
// errorMessage string, and returns it.
func parseFunctionError(b []byte) (functionError, bool) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return functionError{}, false
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(b, &fields) != nil {
		return functionError{}, false
	}
	_, hasType := fields["errorType"]
	_, hasMessage := fields["errorMessage"]
	if !hasType && !hasMessage {
		return functionError{}, false
	}
	var fe functionError
	// A key holding a non-string is kept as its JSON text.
	if json.Unmarshal(fields["errorType"], &fe.ErrorType) != nil {
		fe.ErrorType = string(fields["errorType"])
	}
	if json.Unmarshal(fields["errorMessage"], &fe.ErrorMessage) != nil {
		fe.ErrorMessage = string(fields["errorMessage"])
	}
	return fe, true
}

// String renders the error as "errorType: errorMessage", leaving out an
// empty part, at most excerptBytes long.
func (fe functionError) String() string {
	s := fe.ErrorType
	switch {
	case s == "":
		s = fe.ErrorMessage
	case fe.ErrorMessage != "":
		s += ": " + fe.ErrorMessage
	}
	s = strings.TrimSpace(s)
	if len(s) > excerptBytes {
		s = s[:excerptBytes] + "..."
	}
	return validUTF8(s)
}
