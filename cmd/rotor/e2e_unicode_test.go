package main

// End-to-end tests of strings that are not Unicode text (issue 8 §3):
// invalid UTF-8 and unpaired surrogate escapes are refused with
// ValidationException naming the member, never stored as U+FFFD.

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

func TestE2EInvalidUnicodeRefused(t *testing.T) {
	s := MustRunMain(t, "", nil)
	c := s.e2eClient("")
	e2eCreate(t, c, "uni/existing", "original")
	before := e2eTakeSnapshot(t, c, "uni/existing")
	msg := func(path string) string {
		return "1 validation error detected: Value at '" + path +
			"' failed to satisfy constraint: Member must contain only valid Unicode characters (UTF-8, no unpaired surrogate escapes)"
	}
	tests := []struct {
		name, op, body, path string
	}{
		{"LoneHighSurrogate", "CreateSecret", `{"Name":"uni/new","ClientRequestToken":"TOKEN","SecretString":"pass\ud800word"}`, "secretString"},
		{"LoneLowSurrogate", "CreateSecret", `{"Name":"uni/new","ClientRequestToken":"TOKEN","SecretString":"\udc00"}`, "secretString"},
		{"HighThenText", "CreateSecret", `{"Name":"uni/new","ClientRequestToken":"TOKEN","SecretString":"\ud83dx"}`, "secretString"},
		{"InvalidUTF8", "CreateSecret", "{\"Name\":\"uni/new\",\"ClientRequestToken\":\"TOKEN\",\"SecretString\":\"caf\xe9\"}", "secretString"},
		{"TagValue", "CreateSecret", `{"Name":"uni/new","ClientRequestToken":"TOKEN","SecretString":"v","Tags":[{"Key":"k","Value":"\ud800"}]}`, "tags.1.member.value"},
		{"Description", "CreateSecret", `{"Name":"uni/new","ClientRequestToken":"TOKEN","SecretString":"v","Description":"\udfff"}`, "description"},
		{"PutSecretValue", "PutSecretValue", `{"SecretId":"uni/existing","ClientRequestToken":"TOKEN","SecretString":"new\ud800"}`, "secretString"},
		{"UpdateSecret", "UpdateSecret", `{"SecretId":"uni/existing","ClientRequestToken":"TOKEN","SecretString":"\ud800"}`, "secretString"},
		{"UpdateDescription", "UpdateSecret", "{\"SecretId\":\"uni/existing\",\"Description\":\"\xff\"}", "description"},
		{"TagResource", "TagResource", `{"SecretId":"uni/existing","Tags":[{"Key":"\ud800","Value":"v"}]}`, "tags.1.member.key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := strings.ReplaceAll(tt.body, "TOKEN", e2eToken())
			r := s.e2eRaw(t, "", tt.op, []byte(body), e2eRawOptions{})
			e2eWantRawError(t, tt.op, r, "ValidationException", msg(tt.path))
		})
	}
	if got := e2eTakeSnapshot(t, c, "uni/existing"); !equalSnapshots(got, before) {
		t.Errorf("uni/existing changed:\n got %+v\nwant %+v", got, before)
	}
	v, err := c.GetSecretValue(e2eCtx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("uni/existing")})
	e2eNoErr(t, "GetSecretValue uni/existing", err)
	if got := aws.ToString(v.SecretString); got != "original" {
		t.Errorf("uni/existing value = %q, want %q", got, "original")
	}
	if names := e2eListNames(t, c); len(names) != 1 {
		t.Errorf("ListSecrets = %v, want only uni/existing", names)
	}

	// A surrogate pair, and an escaped backslash before "ud800", are text:
	// stored and returned exactly.
	r := s.e2eRaw(t, "", "CreateSecret", []byte(`{"Name":"uni/pair","ClientRequestToken":"`+e2eToken()+`","SecretString":"\ud83d\ude00 \\ud800"}`), e2eRawOptions{})
	if r.Status != 200 {
		t.Fatalf("CreateSecret with a surrogate pair: HTTP %d %s", r.Status, r.Body)
	}
	v, err = c.GetSecretValue(e2eCtx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("uni/pair")})
	e2eNoErr(t, "GetSecretValue uni/pair", err)
	if got := aws.ToString(v.SecretString); got != "\U0001F600 \\ud800" {
		t.Errorf("uni/pair = %q, want %q", got, "\U0001F600 \\ud800")
	}
}
