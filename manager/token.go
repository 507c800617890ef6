package manager

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"

	"github.com/rotorhq/rotor"
)

// A NextToken is base64url(payload || checksum) where payload is the JSON
// of a cursor and checksum the first 16 bytes of SHA-256 over a domain tag
// and the payload. The cursor names the position after which the next page
// starts (the sort key and id of the last item returned) and a fingerprint
// of the request (operation, region, filters, sort), so a token is refused
// with ENEXTTOKEN when it was corrupted, was never issued in this format, or
// belongs to a request with other filters or another order. Tokens survive a
// restart. A hand-made token can only choose where a listing starts, which
// reveals nothing the caller could not list anyway.
const (
	tokenVersion  = 1
	tokenSumBytes = 16
	tokenDomain   = "rotor/next-token/v1\x00"
)

type cursor struct {
	V  int    `json:"v"`
	F  string `json:"f"`           // request fingerprint
	T  int64  `json:"t,omitempty"` // time sort key, Unix nanoseconds
	S  string `json:"s,omitempty"` // string sort key
	ID string `json:"i"`           // ARN or version id of the last item
}

func tokenSum(payload []byte) []byte {
	h := sha256.New()
	h.Write([]byte(tokenDomain))
	h.Write(payload)
	return h.Sum(nil)[:tokenSumBytes]
}

// encodeToken returns the NextToken for c.
func encodeToken(c cursor) string {
	c.V = tokenVersion
	payload, _ := json.Marshal(c) // a struct of strings and ints always marshals
	return base64.RawURLEncoding.EncodeToString(append(payload, tokenSum(payload)...))
}

// decodeToken parses tok and checks that it belongs to a request with
// fingerprint fp. Returns ENEXTTOKEN otherwise.
func decodeToken(tok, fp string) (cursor, error) {
	bad := rotor.Errorf(rotor.ENEXTTOKEN, msgInvalidNextToken)
	if len(tok) > maxNextToken {
		return cursor{}, bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) <= tokenSumBytes {
		return cursor{}, bad
	}
	payload, sum := raw[:len(raw)-tokenSumBytes], raw[len(raw)-tokenSumBytes:]
	if !bytes.Equal(sum, tokenSum(payload)) {
		return cursor{}, bad
	}
	var c cursor
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil || c.V != tokenVersion || c.F != fp || c.ID == "" {
		return cursor{}, bad
	}
	return c, nil
}

// fingerprint hashes the parts that define a listing, length-prefixed so
// that no two different lists of parts collide by concatenation.
func fingerprint(parts ...string) string {
	h := sha256.New()
	var n [8]byte
	for _, p := range parts {
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:12])
}
