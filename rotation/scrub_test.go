package rotation_test

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"

	"github.com/rotorhq/rotor/rotation"
)

func TestScrubber(t *testing.T) {
	s := rotation.NewScrubber(`{"username":"app","password":"p@ss w\"rd/1","port":5432}`, "plain-secret")
	for _, tc := range []struct{ name, in string }{
		{"raw", `failed: p@ss w"rd/1`},
		{"json-escaped", `{"password":"p@ss w\"rd/1"}`},
		{"url-query", "dsn=postgres://app:" + url.QueryEscape(`p@ss w"rd/1`) + "@db"},
		{"url-path", "dsn=" + url.PathEscape(`p@ss w"rd/1`)},
		{"base64", "auth " + base64.StdEncoding.EncodeToString([]byte(`p@ss w"rd/1`))},
		{"whole-value", "value was plain-secret!"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := s.Scrub(tc.in)
			if strings.Contains(got, `p@ss`) || strings.Contains(got, "plain-secret") || !strings.Contains(got, rotation.Redacted) {
				t.Fatalf("Scrub(%q) = %q", tc.in, got)
			}
		})
	}
	// Identifying fields stay readable; every other field is removed.
	s2 := rotation.NewScrubber(`{"engine":"postgres","host":"db.internal","username":"app_user","masterarn":"arn:aws:secretsmanager:us-east-1:000000000000:secret:admin-AbCdEf","api_key":"k-123456"}`)
	msg := "login as app_user at db.internal (engine postgres, master arn:aws:secretsmanager:us-east-1:000000000000:secret:admin-AbCdEf) with k-123456"
	if got, want := s2.Scrub(msg), "login as app_user at db.internal (engine postgres, master arn:aws:secretsmanager:us-east-1:000000000000:secret:admin-AbCdEf) with [redacted]"; got != want {
		t.Fatalf("Scrub = %q, want %q", got, want)
	}
	// So do an access key's id and identity, not its secret.
	s3 := rotation.NewScrubber(`{"accessKeyId":"AKIAABCDEFGHIJKLMNOP","secretAccessKey":"wJalrXUtnFEMI/K7MDENG","identity":"svc-app"}`)
	msg = "key AKIAABCDEFGHIJKLMNOP of svc-app with wJalrXUtnFEMI/K7MDENG"
	if got, want := s3.Scrub(msg), "key AKIAABCDEFGHIJKLMNOP of svc-app with [redacted]"; got != want {
		t.Fatalf("Scrub = %q, want %q", got, want)
	}
	// Short field values (ports, flags) are left alone: scrubbing "5432"
	// everywhere would make messages unreadable without protecting anything.
	if got := s.Scrub("connect to port 5432 as app"); got != "connect to port 5432 as app" {
		t.Fatalf("short values scrubbed: %q", got)
	}
	var nilScrubber *rotation.Scrubber
	if nilScrubber.Scrub("x") != "x" {
		t.Fatal("nil Scrubber changed its input")
	}
}

func TestRegistryLookup(t *testing.T) {
	reg := rotation.NewRegistry("123456789012")
	reg.Register("everywhere", "builtin", nil, nil)
	reg.Register("west", "exec", []string{"us-west-2"}, nil)
	for _, tc := range []struct {
		region, arn string
		ok          bool
	}{
		{"us-east-1", "arn:aws:lambda:us-east-1:123456789012:function:everywhere", true},
		{"us-east-1", "arn:aws:lambda:us-east-1:123456789012:function:everywhere:$LATEST", true},
		{"us-west-2", "arn:aws:lambda:us-west-2:123456789012:function:west", true},
		{"us-east-1", "arn:aws:lambda:us-east-1:123456789012:function:west", false}, // only in us-west-2
		{"us-east-1", "arn:aws:lambda:us-west-2:123456789012:function:west", false}, // another region than the secret's
		{"us-east-1", "arn:aws:lambda:us-east-1:999999999999:function:everywhere", false},
		{"us-east-1", "arn:aws:lambda:us-east-1:123456789012:function:missing", false},
		{"us-east-1", "not-an-arn", false},
		{"us-east-1", "arn:aws:s3:us-east-1:123456789012:function:everywhere", false},
	} {
		_, err := reg.Lookup(tc.region, tc.arn)
		if (err == nil) != tc.ok {
			t.Errorf("Lookup(%s, %s) = %v, want ok=%v", tc.region, tc.arn, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "Secrets Manager cannot invoke the specified Lambda function.") {
			t.Errorf("Lookup(%s) error %q lacks AWS's AccessDeniedException text", tc.arn, err)
		}
	}
}
