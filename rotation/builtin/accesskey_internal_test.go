package builtin

import (
	"strings"
	"testing"

	"github.com/rotorhq/rotor"
)

// TestReplaceFields: the access-key value is edited in place: the three
// fields change, every other byte stays, missing fields are appended, and
// what is not one JSON object without repeated keys is refused.
func TestReplaceFields(t *testing.T) {
	set := []field{{"accessKeyId", "AKIANEW"}, {"secretAccessKey", "s/+<&>"}, {"identity", "svc"}}
	cases := []struct{ name, in, want string }{
		{"InPlace",
			`{ "z":1.50, "secretAccessKey" : "old",  "accessKeyId":"AKIAOLD","identity":"svc","a":{"b":[1, 2]}}`,
			`{ "z":1.50, "secretAccessKey" : "s/+<&>",  "accessKeyId":"AKIANEW","identity":"svc","a":{"b":[1, 2]}}`},
		{"Appended", "{\"identity\":\"svc\",\n \"n\": 1e3\n}",
			"{\"identity\":\"svc\",\n \"n\": 1e3,\"accessKeyId\":\"AKIANEW\",\"secretAccessKey\":\"s/+<&>\"\n}"},
		{"Empty", `{ }`, `{"accessKeyId":"AKIANEW","secretAccessKey":"s/+<&>","identity":"svc" }`},
		{"NonStringValues", `{"accessKeyId":null,"secretAccessKey":{"x":1},"identity":["svc"]}`,
			`{"accessKeyId":"AKIANEW","secretAccessKey":"s/+<&>","identity":"svc"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := replaceFields(rotor.StageCurrent, tc.in, set)
			if err != nil || got != tc.want {
				t.Errorf("replaceFields(%s) = %s, %v; want %s", tc.in, got, err, tc.want)
			}
		})
	}
	for _, bad := range []string{`[]`, `"x"`, `{"a":1`, `{"a":1} {}`, `{"a":1}x`, `{"identity":"a","identity":"b"}`} {
		_, err := replaceFields(rotor.StageCurrent, bad, set)
		if rotor.ErrorCode(err) != rotor.EINVALID || !strings.Contains(rotor.ErrorMessage(err), "AWSCURRENT") {
			t.Errorf("replaceFields(%s): %v, want EINVALID naming the AWSCURRENT secret", bad, err)
		}
	}
}
