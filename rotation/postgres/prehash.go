package postgres

import (
	"sync"
	"time"

	"github.com/rotorhq/rotor/rotation/builtin"
)

// prehashTTL bounds how long a verifier computed ahead waits to be used.
const prehashTTL = time.Minute

// prehashed is a SCRAM verifier being computed ahead of the ALTER ROLE
// that stores it.
type prehashed struct {
	done     chan struct{}
	verifier string
	err      error
}

// prehash maps a password to its verifier being computed; an entry is
// taken by the SetPassword that uses it, or dropped after prehashTTL.
var prehash sync.Map

var _ builtin.Prehasher = Driver{}

// Prehash implements builtin.Prehasher: it starts computing the
// SCRAM-SHA-256 verifier of password (4096 PBKDF2 iterations, milliseconds
// of CPU) in the background, so that a SetPassword soon after — once the
// login it runs alongside has finished — finds it ready. The verifier is
// used only if the server's password_encryption is scram-sha-256.
func (Driver) Prehash(password string) {
	if !asciiNoNUL(password) {
		return // verifier() leaves those to the server
	}
	p := &prehashed{done: make(chan struct{})}
	if _, loaded := prehash.LoadOrStore(password, p); loaded {
		return
	}
	go func() {
		p.verifier, p.err = scramVerifier(password, scramIterations)
		close(p.done)
	}()
	time.AfterFunc(prehashTTL, func() { prehash.CompareAndDelete(password, p) })
}

// takePrehashed returns the verifier Prehash computed for password, if any.
func takePrehashed(password string) (string, bool) {
	v, ok := prehash.LoadAndDelete(password)
	if !ok {
		return "", false
	}
	p := v.(*prehashed)
	<-p.done
	return p.verifier, p.err == nil
}

func asciiNoNUL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 || s[i] >= 0x80 {
			return false
		}
	}
	return true
}
