package postgres

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/rotorhq/rotor"
)

// Strings and PostgreSQL's text type.
//
// A text value of a UTF8 database is valid UTF-8 without the NUL byte;
// PostgreSQL refuses anything else (SQLSTATE 22021), which would abort the
// transaction. So the store checks every string before it sends one:
//
//   - a string to be stored that text cannot hold is refused with EINVALID
//     naming the field (checkText), before any statement runs;
//   - a string used to look a row up that text cannot hold names no stored
//     row, so the lookup answers ENOTFOUND (or nothing) without asking;
//   - a prefix, cursor or substring that text cannot hold is turned into
//     the equivalent condition on the strings text can hold (textCeil,
//     prefixBounds), so listings stay exact for any bytes.
//
// Through the AWS API only NUL can reach the store this way (the wire layer
// refuses a request with invalid UTF-8 and the "\u0000" escape decodes to a
// NUL): in a description, KMS key id, type, version id (ClientRequestToken),
// staging label or tag. Those requests are refused with
// InvalidParameterException, where the SQLite store would keep the byte.
// Rotation history that comes from functions (run errors, step errors and
// output) is stored as bytea instead, so a function printing any bytes can
// never make its run unrecordable.

// textOK reports whether s fits a text column: valid UTF-8 and no NUL.
func textOK(s string) bool {
	return strings.IndexByte(s, 0) < 0 && utf8.ValidString(s)
}

// allText reports whether every string of ss is textOK.
func allText(ss ...string) bool {
	for _, s := range ss {
		if !textOK(s) {
			return false
		}
	}
	return true
}

// field is one named string to check with checkText.
type field struct {
	name, value string
}

// checkText returns the EINVALID error for the first field whose value a
// text column cannot hold, nil when all can. The message names the field,
// never its value.
func checkText(fields ...field) error {
	for _, f := range fields {
		if textOK(f.value) {
			continue
		}
		why := "is not valid UTF-8"
		if strings.IndexByte(f.value, 0) >= 0 {
			why = "contains a NUL character (\\u0000)"
		}
		return &rotor.Error{Code: rotor.EINVALID,
			Message: fmt.Sprintf("The %s %s, which this server's PostgreSQL store cannot hold.", f.name, why)}
	}
	return nil
}

// The strings a text column holds, in byte-wise order, are the UTF-8
// encodings of sequences of code points from U+0001 to U+10FFFF without
// the surrogates U+D800..U+DFFF; byte-wise order on them is code point
// order. textCeil and prefixBounds reason over that set.

// Code points a text column can hold, numbered densely: index i < nLow is
// code point i+1; the rest skip the surrogates.
const (
	nLow  = 0xD800 - 1 // U+0001..U+D7FF
	nText = nLow + (0x10FFFF - 0xE000 + 1)
)

func textRune(i int) rune {
	if i < nLow {
		return rune(i + 1)
	}
	return rune(i - nLow + 0xE000)
}

// nextTextRune returns the code point after r that text can hold.
func nextTextRune(r rune) (rune, bool) {
	switch {
	case r == 0xD7FF:
		return 0xE000, true
	case r >= 0x10FFFF:
		return 0, false
	}
	return r + 1, true
}

// textCeil returns the least string a text column can hold that is not
// less than p byte-wise; ok is false when every such string is less.
// For a string s that text holds, s >= p exactly when s >= textCeil(p).
func textCeil(p string) (ceil string, ok bool) {
	i := 0
	for i < len(p) {
		r, size := utf8.DecodeRuneInString(p[i:])
		if r == 0 || (r == utf8.RuneError && size <= 1) {
			break
		}
		i += size
	}
	if i == len(p) {
		return p, true
	}
	rest := p[i:]
	// The least code point whose encoding is above rest (none can equal
	// it: rest does not start with one).
	n := sort.Search(nText, func(j int) bool { return string(utf8.AppendRune(nil, textRune(j))) > rest })
	if n < nText {
		return p[:i] + string(textRune(n)), true
	}
	// Every string starting with p[:i] and then a code point is below p:
	// step the last code point of p[:i] up.
	head := p[:i]
	for head != "" {
		r, size := utf8.DecodeLastRuneInString(head)
		head = head[:len(head)-size]
		if next, ok := nextTextRune(r); ok {
			return head + string(next), true
		}
	}
	return "", false
}

// prefixEnd returns the least byte string greater than every string that
// starts with p: p without its trailing 0xFF bytes, last byte incremented.
// ok is false when there is none (p is all 0xFF bytes, or empty).
func prefixEnd(p string) (end string, ok bool) {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] != 0xFF {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

// prefixBounds returns the range of text strings that start with the byte
// string p: s starts with p exactly when lo <= s and (if hasHi) s < hi.
// empty is true when no text string starts with p (p is a prefix of no
// valid UTF-8, or contains NUL). lo and hi are themselves text.
func prefixBounds(p string) (lo, hi string, hasHi, empty bool) {
	lo, ok := textCeil(p)
	if !ok {
		return "", "", false, true
	}
	if end, ok := prefixEnd(p); ok {
		hi, hasHi = textCeil(end)
	}
	if hasHi && hi <= lo {
		return "", "", false, true
	}
	return lo, hi, hasHi, false
}

// asciiLower lowers the ASCII letters of s, leaving every other byte.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
