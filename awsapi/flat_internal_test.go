package awsapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/rotorhq/rotor"
)

// flatOps returns the operations whose input the fast path may take, by
// "prefix.Op", sorted.
func flatOps(t testing.TB) []string {
	var names []string
	for name, op := range secretsManagerOps {
		if isFlatShape(op.input) {
			names = append(names, prefixSecretsManager+"."+name)
		}
	}
	for name, op := range rotorOps {
		if isFlatShape(op.input) {
			names = append(names, prefixRotor+"."+name)
		}
	}
	sort.Strings(names)
	if len(names) < 5 {
		t.Fatalf("only %d flat operations: %v", len(names), names)
	}
	return names
}

func opInput(target string) *shape {
	prefix, name, _ := strings.Cut(target, ".")
	if prefix == prefixRotor {
		return rotorOps[name].input
	}
	return secretsManagerOps[name].input
}

// flatBodies exercise both sides of every fast-path condition.
var flatBodies = []string{
	`{"SecretId":"prod/db"}`,
	` {"SecretId" : "prod/db" , "VersionStage":"AWSCURRENT"} ` + "\n",
	"{\t\"SecretId\":\"prod/db\",\r\n\"VersionId\":\"" + strings.Repeat("a", 32) + "\"}",
	`{"SecretId":"prod/db","VersionId":"short"}`,
	`{"SecretId":""}`,
	`{}`,
	``,
	`   `,
	`{"SecretId":"pröd/☃"}`,
	`{"SecretId":"p\u0072od"}`,
	`{"SecretId":"a\"b"}`,
	"{\"SecretId\":\"a\x01b\"}",
	"{\"SecretId\":\"\xff\"}",
	`{"SecretId":null}`,
	`{"SecretId":1}`,
	`{"SecretId":"a","SecretId":"b"}`,
	`{"secretid":"a"}`,
	`{"SecretId":"a","Other":"b"}`,
	`{"SecretId":"a",}`,
	`{"SecretId":"a"`,
	`{"SecretId":"a"} {}`,
	`{"SecretId":"a"}x`,
	`["SecretId"]`,
	`"SecretId"`,
	`{"SecretId":"` + strings.Repeat("x", 2049) + `"}`,
	`{"Name":"n","Role":"admin"}`,
	`{"Name":"n","Role":"root"}`,
	`{"Name":"","Role":""}`,
	`{"AccessKeyId":"AKIA","Status":"Inactive"}`,
	`{"Path":"/tmp/x"}`,
	`{"SecretId":"s","VersionStage":"L","MoveToVersionId":"` + strings.Repeat("b", 32) + `"}`,
	"\v{\"SecretId\":\"a\"}",
	"\u00a0{}",
	`{"SecretId":"a\ud800"}`,
	`{"SecretId":"a","VersionStage":"\udc00\ud800"}`,
	`{"SecretId":"a","VersionStage":"\ud83d\ude00"}`,
	"{\"SecretId\":\"a\",\"VersionStage\":\"\xed\xa0\x80\"}",
	`{"SecretId":"Inv Name"}`,
	`{"SecretId":"arn:aws:secretsmanager:us-east-1:1:secret:x"}`,
}

// TestValidateInputMatchesDecodeInput checks every flat operation on
// flatBodies: see checkSamePaths.
func TestValidateInputMatchesDecodeInput(t *testing.T) {
	for _, target := range flatOps(t) {
		for _, body := range flatBodies {
			checkSamePaths(t, target, []byte(body))
		}
	}
}

// TestValidateInputTakesFastPath checks that the requests the SDKs send do
// take the fast path (else it would be dead code), and that the others do
// not.
func TestValidateInputTakesFastPath(t *testing.T) {
	in := opInput("secretsmanager.GetSecretValue")
	tests := []struct {
		body string
		fast bool
	}{
		{`{"SecretId":"prod/db"}`, true},
		{`{"SecretId":"prod/db","VersionStage":"AWSPREVIOUS"}`, true},
		{` {"SecretId":"prod","VersionStage":"pröd"} `, true},
		{`{"SecretId":"p\u0072od"}`, false},
		{`{"SecretId":"prod","Extra":"x"}`, false},
		{`{"SecretId":"prod","VersionStage":null}`, false},
	}
	for _, tt := range tests {
		got, err := validateInput(in, []byte(tt.body))
		if err != nil {
			t.Fatalf("%s: %v", tt.body, err)
		}
		if got.isFlat != tt.fast {
			t.Errorf("%s: fast path = %v, want %v", tt.body, got.isFlat, tt.fast)
		}
	}
}

func FuzzValidateInputFlat(f *testing.F) {
	ops := flatOps(f)
	for i, body := range flatBodies {
		f.Add(uint8(i), []byte(body))
	}
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		checkSamePaths(t, ops[int(op)%len(ops)], body)
	})
}

// checkSamePaths checks that validateInput answers body exactly as the
// generic decodeInput does: the same error on the wire, or the same
// validated input, and the same wire struct once run fills it.
func checkSamePaths(t *testing.T, target string, body []byte) {
	t.Helper()
	in := opInput(target)
	fast, fastErr := validateInput(in, body)
	slow, slowErr := decodeInput(in, body)
	if (fastErr == nil) != (slowErr == nil) {
		t.Fatalf("%s %q: validateInput error %v, decodeInput error %v", target, body, fastErr, slowErr)
	}
	if fastErr != nil {
		fa, _ := toAPIError(fastErr)
		sa, _ := toAPIError(slowErr)
		if *fa != *sa || rotor.ErrorCode(fastErr) != rotor.ErrorCode(slowErr) {
			t.Fatalf("%s %q: validateInput answers %+v, decodeInput %+v", target, body, fa, sa)
		}
		return
	}
	got := fast.raw
	if fast.isFlat {
		var err error
		if got, err = fast.flat.toJSON(); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got, slow) {
		t.Fatalf("%s %q: validated input %s, decodeInput %s", target, body, got, slow)
	}
	if fast.isFlat {
		switch target {
		case "secretsmanager.GetSecretValue":
			checkSameStruct[getSecretValueRequest](t, &fast.flat, slow)
		case "secretsmanager.UpdateSecretVersionStage":
			checkSameStruct[updateSecretVersionStageRequest](t, &fast.flat, slow)
		case "secretsmanager.DescribeSecret", "secretsmanager.RestoreSecret", "secretsmanager.CancelRotateSecret":
			checkSameStruct[secretIDRequest](t, &fast.flat, slow)
		case "rotor.CreateIdentity":
			checkSameStruct[CreateIdentityInput](t, &fast.flat, slow)
		case "rotor.UpdateAccessKey":
			checkSameStruct[UpdateAccessKeyInput](t, &fast.flat, slow)
		}
	}
}

// checkSameStruct checks that stringFields.set fills T as json.Unmarshal of
// the validated JSON does.
func checkSameStruct[T any](t *testing.T, f *flatInput, validated []byte) {
	t.Helper()
	got, want := new(T), new(T)
	if !stringFieldsOf[T]().set(got, f) {
		t.Fatalf("%T: set declined a flat input of its own operation", got)
	}
	if err := json.Unmarshal(validated, want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("set gives %+v, json.Unmarshal %+v", got, want)
	}
}

// TestStringFieldsDeclinesWhatUnmarshalWouldDoDifferently checks the field
// table keeps only names json.Unmarshal matches exactly to a plain string
// field, so every other case goes through json.Unmarshal.
func TestStringFieldsDeclinesWhatUnmarshalWouldDoDifferently(t *testing.T) {
	type named string
	type embedded struct {
		E *string `json:"E"`
	}
	type wire struct {
		Plain   *string `json:"Plain"`
		Value   string  `json:"Value,omitempty"`
		Untaged *string
		Quoted  *string `json:"Quoted,string"`
		Named   named   `json:"Named"`
		Number  *int    `json:"Number"`
		Dup     *string // collides with the tag of Other: json ignores both
		Other   *string `json:"Dup"`
		Skipped *string `json:"-"`
		Dash    *string `json:"-,"`
		Odd     *string `json:"a b"`
		hidden  *string // unexported fields are never set
		embedded
	}
	got := stringFieldsOf[wire]()
	want := stringFields{"Plain": 0, "Value": 1, "Untaged": 2}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("stringFieldsOf = %v, want %v", got, want)
	}
	_ = wire{}.hidden

	s := &shape{Name: "S", Type: "structure", Members: []member{{"Plain", &shape{Type: "string"}}, {"Named", &shape{Type: "string"}}}}
	f := flatInput{shape: s}
	f.values[0], f.present[0] = "p", true
	var v wire
	if !got.set(&v, &f) || v.Plain == nil || *v.Plain != "p" {
		t.Errorf("set with a known member: Plain = %v", v.Plain)
	}
	f.values[1], f.present[1] = "n", true
	v = wire{}
	if got.set(&v, &f) || v.Plain != nil {
		t.Errorf("set with a member of a named string type must decline and change nothing; Plain = %v", v.Plain)
	}
}

// TestFlatInputErrorsStayGeneric makes sure a validation error found on the
// fast path is the *rotor.Error the generic path returns.
func TestFlatInputErrorsStayGeneric(t *testing.T) {
	_, err := validateInput(opInput("secretsmanager.GetSecretValue"), []byte(`{"VersionId":"x"}`))
	var re *rotor.Error
	if !errors.As(err, &re) || re.Code != rotor.EVALIDATION {
		t.Fatalf("err = %v, want EVALIDATION", err)
	}
	const want = "2 validation errors detected: " +
		"Value null at 'secretId' failed to satisfy constraint: Member must not be null; " +
		"Value 'x' at 'versionId' failed to satisfy constraint: Member must have length greater than or equal to 32"
	if re.Message != want {
		t.Errorf("Message = %q, want %q", re.Message, want)
	}
}
