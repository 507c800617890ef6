package rotor_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/rotorhq/rotor"
)

func TestParseARN(t *testing.T) {
	for _, tc := range []struct {
		in   string
		ok   bool
		want rotor.ARN
	}{
		{"arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-AbCdEf", true,
			rotor.ARN{Partition: "aws", Service: "secretsmanager", Region: "us-east-1", Account: "123456789012", Resource: "secret:app/db-AbCdEf"}},
		{"arn:aws:lambda:eu-west-1:123456789012:function:f:$LATEST", true,
			rotor.ARN{Partition: "aws", Service: "lambda", Region: "eu-west-1", Account: "123456789012", Resource: "function:f:$LATEST"}},
		{"app/db", false, rotor.ARN{}},
		{"arn:aws:secretsmanager:us-east-1:123456789012", false, rotor.ARN{}},
		{"arn::secretsmanager:us-east-1:1:secret:x", false, rotor.ARN{}},
		{"arn:aws:secretsmanager:us-east-1:1:", false, rotor.ARN{}},
		{"ARN:aws:secretsmanager:us-east-1:1:secret:x", false, rotor.ARN{}},
	} {
		got, ok := rotor.ParseARN(tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("ParseARN(%q) = %+v, %v; want %+v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
		if ok && got.String() != tc.in {
			t.Errorf("ParseARN(%q).String() = %q", tc.in, got.String())
		}
	}
}

func TestSecretNameFromARN(t *testing.T) {
	full := rotor.SecretARN("us-east-1", "123456789012", "app/db-prod", "AbCdEf")
	if full != "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-prod-AbCdEf" {
		t.Fatalf("SecretARN = %q", full)
	}
	a, _ := rotor.ParseARN(full)
	if name, ok := rotor.SecretNameFromARN(a, true); !ok || name != "app/db-prod" {
		t.Fatalf("name with suffix = %q, %v", name, ok)
	}
	partial, _ := rotor.ParseARN("arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-prod")
	if name, ok := rotor.SecretNameFromARN(partial, false); !ok || name != "app/db-prod" {
		t.Fatalf("partial name = %q, %v", name, ok)
	}
	short, _ := rotor.ParseARN("arn:aws:secretsmanager:us-east-1:123456789012:secret:abc")
	if _, ok := rotor.SecretNameFromARN(short, true); ok {
		t.Fatal("a name too short for a suffix was split")
	}
	fn, _ := rotor.ParseARN(rotor.LambdaARN("us-east-1", "123456789012", "f"))
	if _, ok := rotor.SecretNameFromARN(fn, false); ok {
		t.Fatal("a Lambda ARN was read as a secret ARN")
	}
}

func TestValidSecretName(t *testing.T) {
	for name, want := range map[string]bool{
		"app/db":                 true,
		"a-b_c+d=e.f@g":          true,
		strings.Repeat("x", 512): true,
		"":                       false,
		strings.Repeat("x", 513): false,
		"has space":              false,
		"star*":                  false,
		"rds!cluster":            false, // '!' is for service-owned names
		"back\\slash":            false,
		"unicode-\u00e9":         false,
		"question?":              false,
		"bracket]":               false,
	} {
		if got := rotor.ValidSecretName(name); got != want {
			t.Errorf("ValidSecretName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestValidSecretID(t *testing.T) {
	for id, want := range map[string]bool{
		"app/db":        true,
		"a-b_c+d=e.f@g": true,
		"rds!cluster-1": true, // names AWS services give their own secrets
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-AbCdEf": true,
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db":        true, // partial ARN
		"arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:x":         true,
		strings.Repeat("x", 2048):          true, // the model bounds the length
		"":                                 false,
		"Inv Name":                         false,
		" Inv Name":                        false,
		" Inv*Name? ":                      false,
		" Inv *?!]Name\\-":                 false,
		"app/db ":                          false,
		"star*":                            false,
		"colon:name":                       false, // not an ARN, and ':' is no name character
		"arn:":                             false,
		"arn:aws":                          false,
		"arn::secretsmanager:r:a:secret:x": false,
		"unicode-\u00e9":                   false,
		"tab\tname":                        false,
	} {
		if got := rotor.ValidSecretID(id); got != want {
			t.Errorf("ValidSecretID(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestValueEqual(t *testing.T) {
	s := func(v string) rotor.Value { return rotor.Value{String: &v} }
	b := func(v string) rotor.Value { return rotor.Value{Binary: []byte(v)} }
	for _, tc := range []struct {
		a, b rotor.Value
		want bool
	}{
		{s("x"), s("x"), true},
		{s("x"), s("y"), false},
		{b("x"), b("x"), true},
		{s("x"), b("x"), false}, // a string never equals a binary with the same bytes
		{rotor.Value{}, rotor.Value{}, true},
		{rotor.Value{}, s(""), false},
	} {
		if got := tc.a.Equal(tc.b); got != tc.want {
			t.Errorf("Equal(%+v, %+v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
	if !(rotor.Value{}).IsZero() || s("").IsZero() {
		t.Fatal("IsZero wrong")
	}
}

func TestErrorCodeAndMessage(t *testing.T) {
	e := rotor.Errorf(rotor.ENOTFOUND, "no %s", "secret")
	wrapped := fmt.Errorf("context: %w", e)
	if rotor.ErrorCode(wrapped) != rotor.ENOTFOUND || rotor.ErrorMessage(wrapped) != "no secret" {
		t.Fatalf("code %q message %q", rotor.ErrorCode(wrapped), rotor.ErrorMessage(wrapped))
	}
	plain := errors.New("driver said: password=hunter2")
	if rotor.ErrorCode(plain) != rotor.EINTERNAL || strings.Contains(rotor.ErrorMessage(plain), "hunter2") {
		t.Fatalf("a foreign error must be internal with a generic message, got %q %q", rotor.ErrorCode(plain), rotor.ErrorMessage(plain))
	}
	if rotor.ErrorCode(nil) != "" || rotor.ErrorMessage(nil) != "" {
		t.Fatal("nil error has a code or message")
	}
	cause := errors.New("disk full")
	withCause := &rotor.Error{Code: rotor.EINTERNAL, Message: "store", Err: cause}
	if !errors.Is(withCause, cause) {
		t.Fatal("Unwrap does not reach the cause")
	}
}
