// Package password generates random passwords with the semantics of AWS
// Secrets Manager's GetRandomPassword.
//
// A password is drawn from up to five character classes: upper-case ASCII
// letters, lower-case ASCII letters, digits, the 32 ASCII punctuation
// characters !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~ and, only with IncludeSpace,
// the space. The Exclude* switches drop whole classes and
// ExcludeCharacters drops single characters from every class.
//
// With RequireEachIncludedType, the password holds at least one character
// of each of the four classes that are not switched off. The space is never
// required, only admitted: AWS documents RequireEachIncludedType as "at
// least one upper and lowercase letter, one number, and one punctuation"
// and IncludeSpace as "the password can contain space characters". (moto
// differs: it always appends a space when IncludeSpace is set.)
//
// Randomness comes from crypto/rand. Every character is chosen uniformly by
// rejection sampling (no modulo bias): first one from each required class,
// then the rest from the whole pool; a Fisher-Yates shuffle then puts the
// required characters at random positions.
package password

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/rotorhq/rotor"
)

// Length limits of the AWS model (PasswordLengthType, ExcludeCharactersType).
const (
	minLength            = 1
	maxLength            = 4096
	maxExcludeCharacters = 4096
)

const (
	upper       = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	lower       = "abcdefghijklmnopqrstuvwxyz"
	digits      = "0123456789"
	punctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
	space       = " "
)

// tooShort is the message (moto's, after AWS) of the error returned when
// RequireEachIncludedType cannot be satisfied.
const tooShort = "Password length is too short based on the required types."

// class is one character class after exclusions.
type class struct {
	name     string
	chars    string
	required bool
}

// Generate returns a random password for spec (AWS GetRandomPassword; see
// the package documentation for the classes and the rules).
//
// Errors are *rotor.Error values:
//   - EVALIDATION, in AWS's "1 validation error detected: ..." format, if
//     spec.Length is outside 1-4096 or ExcludeCharacters is longer than
//     4096 characters;
//   - EINVALID if no character is left to choose from;
//   - EINVALID "Password length is too short based on the required
//     types." if RequireEachIncludedType is set and
//     a required class has no character left after ExcludeCharacters (the
//     message then names that class) or spec.Length is shorter than the
//     number of required classes;
//   - EINTERNAL if the system's random source fails.
func Generate(spec rotor.PasswordSpec) (string, error) {
	if err := validate(spec); err != nil {
		return "", err
	}
	classes := classesFor(spec)
	var pool strings.Builder
	var required []class
	for _, c := range classes {
		pool.WriteString(c.chars)
		if c.required {
			required = append(required, c)
		}
	}
	if pool.Len() == 0 {
		return "", rotor.Errorf(rotor.EINVALID,
			"All characters have been excluded from selection: the Exclude switches and ExcludeCharacters leave no character to choose from.")
	}
	for _, c := range required {
		if c.chars == "" {
			return "", rotor.Errorf(rotor.EINVALID,
				"%s ExcludeCharacters excludes every character of the required type %s.", tooShort, c.name)
		}
	}
	if spec.Length < int64(len(required)) {
		return "", rotor.Errorf(rotor.EINVALID, "%s", tooShort)
	}

	var r source
	defer r.wipe()
	out := make([]byte, spec.Length)
	defer clear(out)
	for i, c := range required {
		out[i] = c.chars[r.intn(len(c.chars))]
	}
	p := pool.String()
	for i := len(required); i < len(out); i++ {
		out[i] = p[r.intn(len(p))]
	}
	for i := len(out) - 1; i > 0; i-- {
		j := r.intn(i + 1)
		out[i], out[j] = out[j], out[i]
	}
	if r.err != nil {
		return "", &rotor.Error{Code: rotor.EINTERNAL, Message: "cannot generate a random password", Err: r.err}
	}
	return string(out), nil
}

// validate checks the model constraints and reports every violation in
// AWS's ValidationException format.
func validate(spec rotor.PasswordSpec) error {
	var violations []string
	switch {
	case spec.Length < minLength:
		violations = append(violations, fmt.Sprintf(
			"Value '%d' at 'passwordLength' failed to satisfy constraint: Member must have value greater than or equal to %d",
			spec.Length, minLength))
	case spec.Length > maxLength:
		violations = append(violations, fmt.Sprintf(
			"Value '%d' at 'passwordLength' failed to satisfy constraint: Member must have value less than or equal to %d",
			spec.Length, maxLength))
	}
	if utf8.RuneCountInString(spec.ExcludeCharacters) > maxExcludeCharacters {
		violations = append(violations, fmt.Sprintf(
			"Value '%s' at 'excludeCharacters' failed to satisfy constraint: Member must have length less than or equal to %d",
			spec.ExcludeCharacters, maxExcludeCharacters))
	}
	switch len(violations) {
	case 0:
		return nil
	case 1:
		return rotor.Errorf(rotor.EVALIDATION, "1 validation error detected: %s", violations[0])
	default:
		return rotor.Errorf(rotor.EVALIDATION, "%d validation errors detected: %s",
			len(violations), strings.Join(violations, "; "))
	}
}

// classesFor returns the enabled classes with ExcludeCharacters removed.
func classesFor(spec rotor.PasswordSpec) []class {
	all := []struct {
		name    string
		chars   string
		enabled bool
		counts  bool // required under RequireEachIncludedType
	}{
		{"uppercase letters", upper, !spec.ExcludeUppercase, true},
		{"lowercase letters", lower, !spec.ExcludeLowercase, true},
		{"numbers", digits, !spec.ExcludeNumbers, true},
		{"punctuation", punctuation, !spec.ExcludePunctuation, true},
		{"space", space, spec.IncludeSpace, false},
	}
	var out []class
	for _, c := range all {
		if !c.enabled {
			continue
		}
		out = append(out, class{
			name:     c.name,
			chars:    without(c.chars, spec.ExcludeCharacters),
			required: c.counts && spec.RequireEachIncludedType,
		})
	}
	return out
}

// without returns the ASCII characters of s that are not in exclude.
func without(s, exclude string) string {
	if exclude == "" {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune(exclude, rune(s[i])) {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// source draws uniform integers from crypto/rand, reading in batches. The
// first read error sticks in err, after which every draw returns 0.
type source struct {
	buf [512]byte
	off int
	err error
}

func (r *source) uint32() uint32 {
	if r.err != nil {
		return 0
	}
	if r.off == 0 { // buffer fresh or used up
		if _, err := rand.Read(r.buf[:]); err != nil {
			r.err = fmt.Errorf("read random bytes: %w", err)
			return 0
		}
	}
	v := binary.LittleEndian.Uint32(r.buf[r.off:])
	r.off = (r.off + 4) % len(r.buf)
	return v
}

// intn returns a uniform integer in [0, n) for 0 < n <= 1<<32. It rejects
// draws at or above the largest multiple of n below 2^32, so every result
// is equally likely.
func (r *source) intn(n int) int {
	bound := uint64(n)
	limit := (1 << 32) - (1<<32)%bound
	for {
		v := uint64(r.uint32())
		if v < limit || r.err != nil {
			return int(v % bound)
		}
	}
}

func (r *source) wipe() { clear(r.buf[:]) }
