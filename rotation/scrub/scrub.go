// Package scrub removes known secret values from text — run history,
// error messages, logs — in every form a rotation function is likely to
// print them, and cuts long text to a bound without leaving a fragment of
// a secret at the cut.
//
// The rule the package exists for: scrub before you cut. A secret cut in
// half by truncation is no longer found by a scrubber that runs
// afterwards, so every bounded text is scrubbed whole first (Bounded,
// Clean), and where the text continues into bytes that were never kept, a
// trailing or leading piece that could be part of a secret is dropped.
package scrub

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Redacted replaces every secret value a Scrubber finds.
const Redacted = "[redacted]"

// MinLength is the shortest JSON field value scrubbed. Shorter field
// values (ports, engine names) would turn every message into noise and are
// not secrets by themselves; whole secret values are scrubbed at any
// length.
const MinLength = 4

// Identifying lists the top-level keys (lower case) of a secret's JSON
// whose values a Scrubber keeps: they name the target, they do not unlock
// it. The whole secret value is still removed. An access key's id and
// identity (rotor-access-key) identify too: AWS shows key ids in logs;
// the secret access key is what unlocks.
var Identifying = map[string]bool{
	"engine": true, "host": true, "port": true, "username": true,
	"dbname": true, "masterarn": true, "ssl": true,
	"accesskeyid": true, "identity": true,
}

// Scrubber removes known secret values from text. It is built from every
// value a run's credentials could read and removes each whole value and,
// when a value is JSON, each string, number and boolean in it as written
// (not the values of Identifying keys at the top level), in each of these
// forms:
//
//   - raw;
//   - JSON-escaped, as Go writes it (with and without HTML escaping of
//     < > &) and as Python's json.dumps writes it (non-ASCII as \uXXXX);
//   - URL-encoded (query and path escaping);
//   - base64, standard and URL alphabets, padded and raw, and the part of
//     its base64 that a value has wherever it sits in a longer base64 text;
//   - hex, lower and upper case.
//
// Occurrences that overlap are removed as one. A Scrubber is immutable and
// safe for concurrent use; a nil *Scrubber removes nothing.
type Scrubber struct {
	needles []string // longest first
}

// New returns a Scrubber for values (each a SecretString, or a
// SecretBinary as a string).
func New(values ...string) *Scrubber {
	set := map[string]bool{}
	for _, v := range values {
		if v == "" {
			continue
		}
		addForms(set, v)
		for _, leaf := range jsonLeaves(v) {
			if len(leaf) >= MinLength {
				addForms(set, leaf)
			}
		}
	}
	delete(set, "")
	s := &Scrubber{}
	for n := range set {
		s.needles = append(s.needles, n)
	}
	sort.Slice(s.needles, func(i, j int) bool {
		if len(s.needles[i]) != len(s.needles[j]) {
			return len(s.needles[i]) > len(s.needles[j])
		}
		return s.needles[i] < s.needles[j]
	})
	return s
}

// addForms adds v in every encoded form to set.
func addForms(set map[string]bool, v string) {
	set[v] = true
	if b, err := json.Marshal(v); err == nil {
		set[string(b[1:len(b)-1])] = true
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if enc.Encode(v) == nil {
		b := bytes.TrimRight(buf.Bytes(), "\n")
		set[string(b[1:len(b)-1])] = true
	}
	set[pythonEscape(v)] = true
	set[url.QueryEscape(v)] = true
	set[url.PathEscape(v)] = true
	for _, e := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		set[e.EncodeToString([]byte(v))] = true
	}
	// Inside a longer base64 text (HTTP basic auth: "user:password"), at
	// each of the three alignments.
	for _, e := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		for shift := range 3 {
			if core := base64Core(e, v, shift); len(core) >= MinLength {
				set[core] = true
			}
		}
	}
	h := hex.EncodeToString([]byte(v))
	set[h] = true
	set[strings.ToUpper(h)] = true
}

// base64Core returns the characters of the base64 of v, placed shift bytes
// (0-2) after the start of a 3-byte group, that depend on v's bytes alone:
// what any longer base64 text holding v at that alignment contains.
func base64Core(e *base64.Encoding, v string, shift int) string {
	b := make([]byte, shift+len(v))
	copy(b[shift:], v)
	s := e.EncodeToString(b)
	skip := map[int]int{0: 0, 1: 2, 2: 3}[shift] // characters that hold bits of the bytes before v
	end := len(s)
	if len(b)%3 != 0 {
		end-- // the last character holds bits of the bytes after v
	}
	if skip >= end {
		return ""
	}
	return s[skip:end]
}

// pythonEscape returns v as the inside of a JSON string written by
// Python's json.dumps with its default ensure_ascii=True.
func pythonEscape(v string) string {
	var b strings.Builder
	for _, r := range v {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20 || (r > 0x7f && r < 0x10000):
			fmt.Fprintf(&b, `\u%04x`, r)
		case r >= 0x10000:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(&b, `\u%04x\u%04x`, r1, r2)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// jsonLeaves returns the strings, numbers and booleans of v when v is JSON,
// as written (numbers keep their literal text), leaving out the values of
// Identifying keys of a top-level object.
func jsonLeaves(v string) []string {
	dec := json.NewDecoder(strings.NewReader(v))
	dec.UseNumber()
	var leaves []string
	type frame struct {
		object, wantKey bool
		skip            bool // inside an Identifying key's value
	}
	var stack []frame
	nextSkip := false
	for {
		tok, err := dec.Token()
		if err == io.EOF && len(stack) == 0 {
			return leaves
		} else if err != nil {
			return nil // not JSON: no fields to take
		}
		inherit := nextSkip
		if len(stack) > 0 && stack[len(stack)-1].skip {
			inherit = true
		}
		if len(stack) > 0 && stack[len(stack)-1].object && stack[len(stack)-1].wantKey {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				continue
			}
			key, _ := tok.(string)
			stack[len(stack)-1].wantKey = false
			nextSkip = len(stack) == 1 && Identifying[strings.ToLower(key)]
			continue
		}
		nextSkip = false
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].wantKey = true
		}
		switch x := tok.(type) {
		case json.Delim:
			switch x {
			case '{':
				stack = append(stack, frame{object: true, wantKey: true, skip: inherit})
			case '[':
				stack = append(stack, frame{skip: inherit})
			default: // ']'
				stack = stack[:len(stack)-1]
			}
		case string:
			if !inherit {
				leaves = append(leaves, x)
			}
		case json.Number:
			if !inherit {
				leaves = append(leaves, x.String())
			}
		case bool:
			if !inherit {
				leaves = append(leaves, fmt.Sprint(x))
			}
		}
	}
}

// Scrub returns text with every known value replaced by Redacted.
func (s *Scrubber) Scrub(text string) string {
	return s.spans(text, false, false).render()
}

// Clean returns text scrubbed, for a text that is part of a longer one:
// when cutBefore, bytes before text were dropped, and a leading piece of
// text that could be the end of a secret is removed too; when cutAfter,
// bytes after it were dropped, and a trailing piece that could be the
// start of a secret is removed.
func (s *Scrubber) Clean(text string, cutBefore, cutAfter bool) string {
	return s.spans(text, cutBefore, cutAfter).render()
}

// span is a piece of a text: kept as it is, or replaced by Redacted.
type span struct {
	text   string
	redact bool
}

// spanList is a text cut into spans; lo and hi are the bytes dropped at
// its start and end as possible fragments of a secret.
type spanList struct {
	spans  []span
	lo, hi int
}

// spans cuts text into kept and redacted spans.
func (s *Scrubber) spans(text string, cutBefore, cutAfter bool) spanList {
	if s == nil || len(s.needles) == 0 {
		return spanList{spans: []span{{text: text}}}
	}
	lo, hi := 0, len(text)
	if cutBefore {
		lo = s.leadingFragment(text)
	}
	if cutAfter {
		hi = max(lo, len(text)-s.trailingFragment(text))
	}
	// Mark every occurrence of every needle in the whole text, overlaps
	// included, then keep what lies between lo and hi.
	type interval struct{ a, b int }
	var found []interval
	for _, n := range s.needles {
		for i := 0; i+len(n) <= len(text); {
			j := strings.Index(text[i:], n)
			if j < 0 {
				break
			}
			found = append(found, interval{i + j, i + j + len(n)})
			i += j + 1
		}
	}
	sort.Slice(found, func(i, j int) bool { return found[i].a < found[j].a })
	out := spanList{lo: lo, hi: len(text) - hi}
	pos := lo
	for k := 0; k < len(found); {
		a, b := found[k].a, found[k].b
		for k++; k < len(found) && found[k].a <= b; k++ {
			b = max(b, found[k].b)
		}
		a, b = max(a, lo), min(b, hi)
		if a >= b {
			continue
		}
		if a > pos {
			out.spans = append(out.spans, span{text: text[pos:a]})
		}
		out.spans = append(out.spans, span{text: text[a:b], redact: true})
		pos = b
	}
	if pos < hi {
		out.spans = append(out.spans, span{text: text[pos:hi]})
	}
	return out
}

// trailingFragment returns the length of the longest end of text that is
// the start (not the whole) of a needle.
func (s *Scrubber) trailingFragment(text string) int {
	longest := 0
	for _, n := range s.needles {
		// Candidates start within the last len(n)-1 bytes, at n's first byte.
		from := max(0, len(text)-len(n)+1)
		for p := from; p < len(text) && len(text)-p > longest; p++ {
			q := strings.IndexByte(text[p:], n[0])
			if q < 0 {
				break
			}
			p += q
			if len(text)-p > longest && strings.HasPrefix(n, text[p:]) {
				longest = len(text) - p
				break
			}
		}
	}
	return longest
}

// leadingFragment returns the length of the longest start of text that is
// the end (not the whole) of a needle.
func (s *Scrubber) leadingFragment(text string) int {
	longest := 0
	for _, n := range s.needles {
		last := n[len(n)-1]
		for e := min(len(text), len(n)-1); e > longest; e-- {
			q := strings.LastIndexByte(text[:e], last)
			if q < 0 {
				break
			}
			e = q + 1
			if e > longest && strings.HasSuffix(n, text[:e]) {
				longest = e
				break
			}
		}
	}
	return longest
}

func (l spanList) render() string {
	var b strings.Builder
	for _, sp := range l.spans {
		if sp.redact {
			b.WriteString(Redacted)
		} else {
			b.WriteString(sp.text)
		}
	}
	return b.String()
}

// head returns at most n bytes from the start and the raw bytes they
// stand for.
func (l spanList) head(n int) (string, int) {
	var b strings.Builder
	used := l.lo
	for _, sp := range l.spans {
		room := n - b.Len()
		if sp.redact {
			if len(Redacted) > room {
				break
			}
			b.WriteString(Redacted)
			used += len(sp.text)
			continue
		}
		if len(sp.text) <= room {
			b.WriteString(sp.text)
			used += len(sp.text)
			continue
		}
		cut := room
		for cut > 0 && !utf8.RuneStart(sp.text[cut]) {
			cut--
		}
		b.WriteString(sp.text[:cut])
		used += cut
		break
	}
	if used == l.lo+l.textLen() {
		used += l.hi // nothing after was kept: the dropped fragment is used up too
	}
	return b.String(), used
}

// tail returns at most n bytes from the end and the raw bytes they stand
// for.
func (l spanList) tail(n int) (string, int) {
	var parts []string
	size, used := 0, l.hi
	for i := len(l.spans) - 1; i >= 0; i-- {
		sp := l.spans[i]
		room := n - size
		if sp.redact {
			if len(Redacted) > room {
				break
			}
			parts = append(parts, Redacted)
			size += len(Redacted)
			used += len(sp.text)
			continue
		}
		if len(sp.text) <= room {
			parts = append(parts, sp.text)
			size += len(sp.text)
			used += len(sp.text)
			continue
		}
		cut := len(sp.text) - room
		for cut < len(sp.text) && !utf8.RuneStart(sp.text[cut]) {
			cut++
		}
		parts = append(parts, sp.text[cut:])
		used += len(sp.text) - cut
		break
	}
	if used == l.hi+l.textLen() {
		used += l.lo
	}
	var b strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		b.WriteString(parts[i])
	}
	return b.String(), used
}

func (l spanList) textLen() int {
	n := 0
	for _, sp := range l.spans {
		n += len(sp.text)
	}
	return n
}

// Bounded returns a text scrubbed, then cut to at most limit bytes: its
// first at most headMax bytes, marker(n) when n bytes of the text are
// left out, and as much of its end as still fits. Only head (the text's
// first bytes) and tail (its last bytes) are known: when len(head) +
// len(tail) < total the bytes between were dropped, and a piece next to
// that gap that could be part of a secret is left out with them, so no
// fragment of a secret straddling a cut remains. headMax plus the
// marker's length must not exceed limit.
func (s *Scrubber) Bounded(head, tail string, total int64, limit, headMax int, marker func(dropped int64) string) string {
	var h string
	var hu int
	var rest spanList
	if int64(len(head)+len(tail)) == total {
		full := s.spans(head+tail, false, false)
		if out := full.render(); len(out) <= limit {
			return out
		}
		h, hu = full.head(headMax)
		rest = full.after(hu)
	} else {
		h, hu = s.spans(head, false, true).head(headMax)
		rest = s.spans(tail, true, false)
	}
	room := limit - len(h) - len(marker(total-int64(hu)))
	for {
		t, tu := "", 0
		if room > 0 {
			t, tu = rest.tail(room)
		}
		m := marker(total - int64(hu) - int64(tu))
		if len(h)+len(m)+len(t) <= limit || room <= 0 {
			return h + m + t
		}
		room -= len(h) + len(m) + len(t) - limit
	}
}

// after returns the spans of l from raw offset off on (counted from the
// start of the text l was cut from); off must not fall inside a redacted
// span.
func (l spanList) after(off int) spanList {
	out := spanList{hi: l.hi}
	pos := l.lo
	for _, sp := range l.spans {
		end := pos + len(sp.text)
		if end > off {
			if pos < off {
				sp.text = sp.text[off-pos:]
			}
			out.spans = append(out.spans, sp)
		}
		pos = end
	}
	return out
}
