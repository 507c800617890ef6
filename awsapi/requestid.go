package awsapi

import (
	"crypto/rand"
	"sync"
)

// idBatch is how many request ids one read from crypto/rand provides.
const idBatch = 32

// idSource hands out random bytes read from crypto/rand in batches: one
// read of 512 bytes costs about as much as three reads of 16.
type idSource struct {
	buf [16 * idBatch]byte
	off int
}

var idSources = sync.Pool{New: func() any { return &idSource{off: 16 * idBatch} }}

// newRequestID returns a random (version 4) UUID in its canonical
// lower-case form, as uuid.NewString does, drawn from crypto/rand. Each id's
// bytes are used once and wiped from the batch buffer.
func newRequestID() string {
	src := idSources.Get().(*idSource)
	if src.off == len(src.buf) {
		rand.Read(src.buf[:]) // crypto/rand.Read never returns an error
		src.off = 0
	}
	var u [16]byte
	copy(u[:], src.buf[src.off:])
	clear(src.buf[src.off : src.off+16])
	src.off += 16
	idSources.Put(src)

	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	return formatUUID(&u)
}

// formatUUID writes u as xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx.
func formatUUID(u *[16]byte) string {
	const digits = "0123456789abcdef"
	var out [36]byte
	j := 0
	for i, b := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out[j] = '-'
			j++
		}
		out[j], out[j+1] = digits[b>>4], digits[b&0x0f]
		j += 2
	}
	return string(out[:])
}
