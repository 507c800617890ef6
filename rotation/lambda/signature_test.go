package lambda_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/rotation/lambda"
)

func TestVerifySignature(t *testing.T) {
	secret := []byte("receiver-secret")
	body := []byte(testEventJSON)
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	ts := strconv.FormatInt(now.Unix(), 10)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts + "." + string(body)))
	sum := hex.EncodeToString(mac.Sum(nil))
	sig := "v1=" + sum

	tests := []struct {
		name               string
		secret             []byte
		timestamp, sig     string
		code               string
		messageMustInclude string
	}{
		{"OK", secret, ts, sig, "", ""},
		{"OKUpperHex", secret, ts, "v1=" + strings.ToUpper(sum), "", ""},
		{"ErrNoSecret", nil, ts, sig, rotor.EINVALID, ""},
		{"ErrNoTimestamp", secret, "", sig, rotor.EAUTHMISSING, lambda.HeaderTimestamp},
		{"ErrNoSignature", secret, ts, "", rotor.EAUTHMISSING, lambda.HeaderSignature},
		{"ErrTimestampNotInteger", secret, "2026-05-01T12:00:00Z", sig, rotor.EAUTHINCOMPLETE, lambda.HeaderTimestamp},
		{"ErrNoVersion", secret, ts, sum, rotor.EAUTHINCOMPLETE, "v1="},
		{"ErrOtherVersion", secret, ts, "v2=" + sum, rotor.EAUTHINCOMPLETE, "v1="},
		{"ErrNotHex", secret, ts, "v1=" + strings.Repeat("zz", sha256.Size), rotor.EAUTHINCOMPLETE, ""},
		{"ErrShort", secret, ts, sig[:len(sig)-2], rotor.EAUTHINCOMPLETE, ""},
		{"ErrOtherTimestamp", secret, strconv.FormatInt(now.Unix()-1, 10), sig, rotor.EAUTHSIGNATURE, "does not match"},
		{"ErrFlippedBit", secret, ts, "v1=" + flipLastHex(sum), rotor.EAUTHSIGNATURE, "does not match"},
		{"ErrStale", secret, strconv.FormatInt(now.Add(-6*time.Minute).Unix(), 10), sig, rotor.EAUTHSIGNATURE, "5m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := lambda.VerifySignature(tt.secret, tt.timestamp, tt.sig, body, now)
			if code := rotor.ErrorCode(err); code != tt.code {
				t.Fatalf("VerifySignature = %v, want code %q", err, tt.code)
			}
			if msg := rotor.ErrorMessage(err); !strings.Contains(msg, tt.messageMustInclude) {
				t.Errorf("message = %q, want it to mention %q", msg, tt.messageMustInclude)
			}
		})
	}
}

func flipLastHex(s string) string {
	last := s[len(s)-1]
	repl := byte('0')
	if last == '0' {
		repl = '1'
	}
	return s[:len(s)-1] + string(repl)
}
