package lambda

import (
	"context"
	"fmt"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/rotation/scrub"
)

// Event is the rotation event, encoded exactly as AWS sends it (JSON keys
// Step, SecretId, ClientRequestToken, RotationToken). Step is one of
// createSecret, setSecret, testSecret and finishSecret; SecretID is the full
// ARN of the secret.
type Event struct {
	Step               string `json:"Step"`
	SecretID           string `json:"SecretId"`
	ClientRequestToken string `json:"ClientRequestToken"`
	RotationToken      string `json:"RotationToken,omitempty"`
}

// Credentials are temporary credentials scoped to the secret being rotated
// and its bound master secret (rotor.RotationScope).
type Credentials struct{ AccessKeyID, SecretAccessKey, SessionToken string }

// Invocation is everything a function needs for one step.
type Invocation struct {
	Event       Event
	Region      string // the secret's region
	Endpoint    string // URL of the Rotor server (SECRETS_MANAGER_ENDPOINT)
	Credentials Credentials
	// Scrubber, when set, returns what the function removes from its
	// Result and error messages before it cuts them to their bounds (a
	// secret cut in half would no longer be found afterwards). The
	// function calls it once the step has ended: the step may have
	// created a value to remove (createSecret's AWSPENDING). Nil, or a
	// nil *scrub.Scrubber, removes nothing.
	Scrubber func() *scrub.Scrubber

	// Master is the full ARN of the master secret the rotation is bound to
	// ("" for none): the only master the credentials may read. In-process
	// functions take the master from here, never from a value.
	Master string
}

// scrubber returns inv's Scrubber, nil when there is none.
func (inv Invocation) scrubber() *scrub.Scrubber {
	if inv.Scrubber == nil {
		return nil
	}
	return inv.Scrubber()
}

// Result is what the function printed or answered, for the run history,
// scrubbed with Invocation.Scrubber before it was cut.
type Result struct {
	Output string // stdout+stderr (exec) or response body (http), scrubbed, then cut to MaxOutput bytes with a marker
}

// MaxOutput bounds Result.Output.
const MaxOutput = 64 << 10

// DefaultTimeout is the time a step may take when a function sets no
// Timeout: 30 seconds, Lambda's default.
const DefaultTimeout = 30 * time.Second

// Function is one rotation function; Invoke runs one step and returns a
// non-nil error if the step failed. The error message must say what failed
// (exit status / HTTP status / errorType: errorMessage / timeout).
type Function interface {
	Invoke(ctx context.Context, inv Invocation) (Result, error)
}

// timeoutOrDefault returns d, or DefaultTimeout when d is zero.
func timeoutOrDefault(d time.Duration) time.Duration {
	if d == 0 {
		return DefaultTimeout
	}
	return d
}

// invalidf returns an EINVALID error about a function's configuration.
func invalidf(format string, args ...any) *rotor.Error {
	return rotor.Errorf(rotor.EINVALID, format, args...)
}

// failed returns the EINTERNAL error for a step that did not succeed:
// message says what failed, cause is kept for errors.Is/As and logs.
func failed(cause error, format string, args ...any) *rotor.Error {
	return &rotor.Error{Code: rotor.EINTERNAL, Message: fmt.Sprintf(format, args...), Err: cause}
}
