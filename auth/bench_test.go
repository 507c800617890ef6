package auth_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/auth"
	"github.com/rotorhq/rotor/policy"
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

// BenchmarkAuthorize measures one authorization of GetSecretValue: with the
// admin's built-in document only, and with a 20-statement identity policy
// plus a 10-statement resource policy (the shape bench/getsecret -policies
// uses: every Deny checked, the matching Allow last).
func BenchmarkAuthorize(b *testing.B) {
	svc := auth.New(auth.Config{})
	var idStmts, resStmts []string
	for i := range 6 {
		idStmts = append(idStmts, fmt.Sprintf(`{"Effect":"Deny","Action":["secretsmanager:DeleteSecret","secretsmanager:PutSecretValue"],"Resource":"arn:aws:secretsmanager:*:*:secret:team%d/*"}`, i))
	}
	for i := range 13 {
		idStmts = append(idStmts, fmt.Sprintf(`{"Effect":"Allow","Action":["secretsmanager:GetSecretValue","secretsmanager:DescribeSecret"],"Resource":"arn:aws:secretsmanager:us-east-1:*:secret:app%d/*"}`, i))
	}
	idStmts = append(idStmts, `{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:us-east-1:*:secret:bench/*","Condition":{"StringEquals":{"aws:username":"bench"}}}`)
	resStmts = append(resStmts, `{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::000000000000:user/bench"},"Action":"secretsmanager:DescribeSecret","Resource":"*"}`)
	for i := range 4 {
		resStmts = append(resStmts, fmt.Sprintf(`{"Effect":"Deny","Principal":"*","Action":"secretsmanager:DeleteSecret","Resource":"*","Condition":{"StringNotEquals":{"aws:PrincipalArn":"arn:aws:iam::000000000000:user/owner%d"}}}`, i))
	}
	for i := range 5 {
		resStmts = append(resStmts, fmt.Sprintf(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:user/reader%d"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}`, i))
	}
	idp := policy.MustParse(`{"Version":"2012-10-17","Statement":[`+strings.Join(idStmts, ",")+`]}`, policy.Identity)
	const benchARN = "arn:aws:secretsmanager:us-east-1:000000000000:secret:bench/secret-AbCdEf"
	sec := secret(benchARN, "bench/secret")
	sec.ResourcePolicy = `{"Version":"2012-10-17","Statement":[` + strings.Join(resStmts, ",") + `]}`
	for _, bc := range []struct {
		name string
		p    rotor.Principal
		sec  *rotor.SecretRecord
	}{
		{"admin", rotor.Principal{Identity: "admin", ARN: auth.UserARN(account, "admin"), Policies: auth.RolePolicies(rotor.RoleAdmin)}, secret(benchARN, "bench/secret")},
		{"policies=20+10", rotor.Principal{Identity: "bench", ARN: auth.UserARN(account, "bench"), Policies: []*policy.Policy{idp}}, sec},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := rotor.Caller{Principal: bc.p, Region: testRegion, SourceIP: "127.0.0.1"}
			r := rotor.AccessRequest{Action: getValue, Resource: bc.sec.ARN, Secret: bc.sec, SecretID: bc.sec.Name}
			if err := svc.Authorize(context.Background(), c, r); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := svc.Authorize(context.Background(), c, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
