package auth_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/rotorhq/rotor/auth"
	"github.com/rotorhq/rotor/sigv4"
)

// serverRequest returns a GetSecretValue request signed with c at the env's
// time, as Go's HTTP server hands it to a handler (read back from the wire
// format), with its body.
func (e *env) serverRequest(tb testing.TB, c aws.Credentials) (*http.Request, []byte) {
	tb.Helper()
	body := []byte(`{"SecretId":"prod/db"}`)
	cr, err := http.NewRequest(http.MethodPost, "http://rotor.test/", bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	cr.Header.Set("Content-Type", "application/x-amz-json-1.1")
	cr.Header.Set("X-Amz-Target", "secretsmanager.GetSecretValue")
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), c, cr, hex.EncodeToString(sum[:]),
		"secretsmanager", testRegion, e.clock.Now()); err != nil {
		tb.Fatal(err)
	}
	var wire bytes.Buffer
	if err := cr.Write(&wire); err != nil {
		tb.Fatal(err)
	}
	r, err := http.ReadRequest(bufio.NewReader(&wire))
	if err != nil {
		tb.Fatal(err)
	}
	got, err := io.ReadAll(r.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return r, got
}

// TestAuthenticateWarmAllocations checks that a warm long-term key costs no
// allocation beyond parsing the Authorization header: the key cache lookup
// and the signature check allocate nothing.
func TestAuthenticateWarmAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race; scripts/test runs this test without it")
	}
	e := newEnv(t)
	r, body := e.serverRequest(t, creds(e.admin))
	if _, err := e.svc.Authenticate(r, body); err != nil {
		t.Fatal(err)
	}
	parse := testing.AllocsPerRun(100, func() {
		if _, err := sigv4.ParseRequest(r); err != nil {
			t.Fatal(err)
		}
	})
	authn := testing.AllocsPerRun(100, func() {
		a, err := e.svc.Authenticate(r, body)
		if err != nil || a.Principal.Identity != auth.BootstrapIdentity {
			t.Fatalf("Authenticate = %+v, %v", a, err)
		}
	})
	if authn != parse {
		t.Errorf("warm Authenticate allocates %v times, ParseRequest alone %v: the rest must allocate nothing", authn, parse)
	}
}

// BenchmarkAuthenticate measures a warm long-term key: parse, cache lookup,
// signature check.
func BenchmarkAuthenticate(b *testing.B) {
	e := newEnv(b)
	r, body := e.serverRequest(b, creds(e.admin))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.svc.Authenticate(r, body); err != nil {
			b.Fatal(err)
		}
	}
}
