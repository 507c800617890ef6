package auth

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
)

// Access key id prefixes, as AWS uses them.
const (
	// LongTermPrefix starts the id of every long-term (stored) access key.
	LongTermPrefix = "AKIA"
	// TemporaryPrefix starts the id of every temporary access key.
	TemporaryPrefix = "ASIA"
)

const (
	idSuffixLength  = 16 // characters after the prefix of an access key id
	secretKeyBytes  = 30 // 40 base64 characters
	sessionTokBytes = 48 // 64 base64 characters
	idAlphabet      = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
)

// newAccessKeyID returns prefix followed by 16 random upper-case letters and
// digits, drawn uniformly from crypto/rand.
func newAccessKeyID(prefix string) (string, error) {
	out := make([]byte, 0, len(prefix)+idSuffixLength)
	out = append(out, prefix...)
	// 252 is the largest multiple of len(idAlphabet) (36) not above 256:
	// rejecting bytes >= 252 keeps every character equally likely.
	const limit = 256 - 256%len(idAlphabet)
	var buf [32]byte
	for len(out) < cap(out) {
		if _, err := rand.Read(buf[:]); err != nil {
			return "", fmt.Errorf("generate access key id: %w", err)
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < cap(out) {
				out = append(out, idAlphabet[int(b)%len(idAlphabet)])
			}
		}
	}
	return string(out), nil
}

// validLongTermID reports whether id has the form of a long-term access
// key id: LongTermPrefix followed by 16 upper-case letters or digits.
func validLongTermID(id string) bool {
	if len(id) != len(LongTermPrefix)+idSuffixLength || id[:len(LongTermPrefix)] != LongTermPrefix {
		return false
	}
	for i := len(LongTermPrefix); i < len(id); i++ {
		if c := id[i]; (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// newSecret returns n random bytes from crypto/rand, standard-base64
// encoded as AWS secret access keys are (letters, digits, '+' and '/').
func newSecret(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate secret: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// newSessionToken returns a random session token in the URL-safe base64
// alphabet, so it travels unescaped in headers, query strings and
// environment variables.
func newSessionToken() (string, error) {
	b := make([]byte, sessionTokBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate session token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
