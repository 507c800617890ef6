package awsapi

import (
	"testing"

	"github.com/rotorhq/rotor"
)

func TestCheckUnicode(t *testing.T) {
	const prefix = "1 validation error detected: Value at '"
	const suffix = "' failed to satisfy constraint: " + invalidUnicodeConstraint
	tests := []struct {
		body string
		path string // "" = accepted
	}{
		{`{"SecretString":"plain"}`, ""},
		{`{"SecretString":"caf\u00e9 ☃ 😀"}`, ""},
		{`{"SecretString":"\ud83d\ude00"}`, ""},                 // a pair
		{`{"SecretString":"\uD83D\uDE00\u00e9"}`, ""},           // upper-case pair
		{`{"SecretString":"\\ud800"}`, ""},                      // an escaped backslash, then text
		{`{"SecretString":"\\\ud83d\ude00"}`, ""},               // backslash, then a pair
		{`{"SecretString":"\u0041\ud7ff\ue000"}`, ""},           // just outside the surrogates
		{"{\"SecretString\":\"\xff\"}", "secretString"},         // invalid UTF-8
		{"{\"SecretString\":\"\xed\xa0\x80\"}", "secretString"}, // a surrogate encoded in UTF-8
		{`{"SecretString":"\ud800"}`, "secretString"},           // lone high
		{`{"SecretString":"\uDFFF"}`, "secretString"},           // lone low
		{`{"SecretString":"\ud800x"}`, "secretString"},          // high, then text
		{`{"SecretString":"\ud800\u0041"}`, "secretString"},     // high, then not a low
		{`{"SecretString":"\ud800\ud800"}`, "secretString"},     // two highs
		{`{"SecretString":"\ude00\ud83d"}`, "secretString"},     // low before high
		{`{"SecretString":"ok","Description":"\ud800"}`, "description"},
		{`{"Name":"n","Tags":[{"Key":"a","Value":"b"},{"Key":"\udc00","Value":"v"}]}`, "tags.2.member.key"},
		{`{"SecretIdList":["a","b","\ud800"]}`, "secretIdList.3.member"},
		{`{"Filters":[{"Key":"name","Values":["x",[1],"\ud800"]}]}`, "filters.1.member.values.3.member"},
		{`{"Unknown":{"Deep":"\ud800"}}`, "unknown.deep"},
		{`{"N":1,"B":true,"Z":null,"Description":"\ud800"}`, "description"},
		{`{"Tags":[{"\ud800":"v"}]}`, "tags.1.member"}, // a member name: the enclosing value
	}
	for _, tt := range tests {
		err := checkUnicode([]byte(tt.body))
		if tt.path == "" {
			if err != nil {
				t.Errorf("%s: %v, want accepted", tt.body, err)
			}
			continue
		}
		if rotor.ErrorCode(err) != rotor.EVALIDATION || rotor.ErrorMessage(err) != prefix+tt.path+suffix {
			t.Errorf("%s: %v, want ValidationException at %q", tt.body, err, tt.path)
		}
	}
	if err := checkUnicode([]byte(`{"\ud800":1}`)); rotor.ErrorCode(err) != rotor.EVALIDATION {
		t.Errorf("top-level member name: %v, want ValidationException", err)
	}
}

// TestDecodeInputRefusesReplacedStrings checks that no operation's input
// decoding turns an invalid string into U+FFFD: the request is refused.
func TestDecodeInputRefusesReplacedStrings(t *testing.T) {
	for _, tt := range []struct{ target, body string }{
		{"secretsmanager.CreateSecret", `{"Name":"n","SecretString":"a\ud800b"}`},
		{"secretsmanager.CreateSecret", "{\"Name\":\"n\",\"SecretString\":\"a\xffb\"}"},
		{"secretsmanager.PutSecretValue", `{"SecretId":"n","SecretString":"\udc00"}`},
		{"secretsmanager.UpdateSecret", `{"SecretId":"n","Description":"\ud800"}`},
		{"secretsmanager.TagResource", `{"SecretId":"n","Tags":[{"Key":"k","Value":"\ud800"}]}`},
		{"secretsmanager.GetSecretValue", `{"SecretId":"n","VersionStage":"\ud800"}`},
		{"secretsmanager.GetSecretValue", "{\"SecretId\":\"n\xff\"}"},
	} {
		_, err := validateInput(opInput(tt.target), []byte(tt.body))
		if rotor.ErrorCode(err) != rotor.EVALIDATION {
			t.Errorf("%s %q: %v, want ValidationException", tt.target, tt.body, err)
		}
	}
	// A valid pair is kept as the character it encodes.
	in, err := validateInput(opInput("secretsmanager.CreateSecret"), []byte(`{"Name":"n","SecretString":"\ud83d\ude00"}`))
	if err != nil || string(in.raw) != `{"Name":"n","SecretString":"😀"}` {
		t.Errorf("pair: %s, %v", in.raw, err)
	}
}
