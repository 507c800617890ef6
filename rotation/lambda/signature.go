package lambda

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/rotorhq/rotor"
)

// Headers of a request to an HTTP function.
const (
	HeaderTimestamp       = "X-Rotor-Timestamp"         // Unix seconds at signing, when the function has a Secret
	HeaderSignature       = "X-Rotor-Signature"         // "v1=" + hex(HMAC-SHA256(Secret, timestamp + "." + body))
	HeaderRegion          = "X-Rotor-Region"            // the secret's region
	HeaderEndpoint        = "X-Rotor-Endpoint"          // URL of the Rotor server
	HeaderAccessKeyID     = "X-Rotor-Access-Key-Id"     // temporary credentials; https or loopback only
	HeaderSecretAccessKey = "X-Rotor-Secret-Access-Key" // temporary credentials; https or loopback only
	HeaderSessionToken    = "X-Rotor-Session-Token"     // temporary credentials; https or loopback only
)

// MaxClockSkew is how far a signed request's timestamp may be from the
// receiver's clock, either way.
const MaxClockSkew = 5 * time.Minute

// signaturePrefix versions the signature scheme.
const signaturePrefix = "v1="

// sign returns the X-Rotor-Signature value for body sent at timestamp.
func sign(secret []byte, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(timestamp))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return signaturePrefix + hex.EncodeToString(mac.Sum(nil))
}

// VerifySignature is the receiver-side check (exported so receivers written in Go can use it and tests can prove the format): constant-time compare, reject timestamps more than 5 minutes off.
//
// timestamp and signature are the X-Rotor-Timestamp and X-Rotor-Signature
// headers, body the raw request body, now the receiver's clock. It returns
// nil when signature is "v1=" followed by the hex HMAC-SHA256, keyed with
// secret, of timestamp + "." + body, and timestamp is within MaxClockSkew of
// now. Otherwise it returns a *rotor.Error:
//   - EINVALID when secret is empty;
//   - EAUTHMISSING when either header is empty;
//   - EAUTHINCOMPLETE when the timestamp is not an integer or the signature
//     is not "v1=<hex>";
//   - EAUTHSIGNATURE when the timestamp is too far from now or the signature
//     does not match.
func VerifySignature(secret []byte, timestamp, signature string, body []byte, now time.Time) error {
	if len(secret) == 0 {
		return rotor.Errorf(rotor.EINVALID, "No signing secret is configured.")
	}
	if timestamp == "" || signature == "" {
		return rotor.Errorf(rotor.EAUTHMISSING, "The request is not signed: %s and %s are required.", HeaderTimestamp, HeaderSignature)
	}
	secs, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return rotor.Errorf(rotor.EAUTHINCOMPLETE, "%s must be a Unix time in seconds.", HeaderTimestamp)
	}
	hexSig, ok := strings.CutPrefix(signature, signaturePrefix)
	if !ok {
		return rotor.Errorf(rotor.EAUTHINCOMPLETE, "%s must start with %q.", HeaderSignature, signaturePrefix)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return rotor.Errorf(rotor.EAUTHINCOMPLETE, "%s must be %q followed by a hex HMAC-SHA256.", HeaderSignature, signaturePrefix)
	}
	if skew := now.Sub(time.Unix(secs, 0)); skew > MaxClockSkew || skew < -MaxClockSkew {
		return rotor.Errorf(rotor.EAUTHSIGNATURE, "The request timestamp is more than %v away from the current time.", MaxClockSkew)
	}
	want, _ := hex.DecodeString(strings.TrimPrefix(sign(secret, timestamp, body), signaturePrefix))
	if !hmac.Equal(got, want) {
		return rotor.Errorf(rotor.EAUTHSIGNATURE, "The request signature does not match.")
	}
	return nil
}
