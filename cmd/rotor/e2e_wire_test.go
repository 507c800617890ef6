package main

// Wire details checked with raw HTTP signed by the SDK's SigV4 signer
// (aws-api.md §1.2-1.4): request ids, the error shape and status, the
// encoding of timestamps and blobs, unsupported operations, signature and
// body-size refusals.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// e2eWantNumber reports unless m[key] is a JSON number, and returns it as
// seconds since the epoch.
func e2eWantNumber(t *testing.T, what string, m map[string]any, key string) float64 {
	t.Helper()
	n, ok := m[key].(json.Number)
	if !ok {
		t.Errorf("%s: %s = %#v, want a JSON number of epoch seconds", what, key, m[key])
		return 0
	}
	f, err := n.Float64()
	if err != nil {
		t.Errorf("%s: %s = %s: %v", what, key, n, err)
	}
	return f
}

func TestE2EWire(t *testing.T) {
	s := MustRunMain(t, "", nil)
	c := s.e2eClient("")

	t.Run("RequestIdAndContentType", func(t *testing.T) {
		ok1 := s.e2eRawJSON(t, "ListSecrets", map[string]any{})
		ok2 := s.e2eRawJSON(t, "ListSecrets", map[string]any{})
		bad := s.e2eRawJSON(t, "DescribeSecret", map[string]string{"SecretId": "wire/unknown"})
		if ok1.Status != http.StatusOK || ok2.Status != http.StatusOK {
			t.Fatalf("ListSecrets status = %d, %d: %s", ok1.Status, ok2.Status, ok1.Body)
		}
		ids := map[string]bool{}
		for i, r := range []e2eResponse{ok1, ok2, bad} {
			id := r.Header.Get("x-amzn-RequestId")
			if id == "" {
				t.Errorf("response %d has no x-amzn-RequestId", i)
			}
			ids[id] = true
			if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
				t.Errorf("response %d Content-Type = %q, want application/x-amz-json-1.1", i, ct)
			}
		}
		if len(ids) != 3 {
			t.Errorf("request ids %v are not distinct per request", ids)
		}
	})

	t.Run("ErrorShape", func(t *testing.T) {
		r := s.e2eRawJSON(t, "DescribeSecret", map[string]string{"SecretId": "wire/unknown"})
		e2eWantRawError(t, "DescribeSecret unknown", r, "ResourceNotFoundException", e2eMsgNotFound)
	})

	t.Run("ClientErrorsAre400", func(t *testing.T) {
		e2eCreate(t, c, "wire/errors", "v")
		e2eCreate(t, c, "wire/deleted", "v")
		_, err := c.DeleteSecret(e2eCtx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("wire/deleted")})
		e2eNoErr(t, "DeleteSecret", err)
		var labels []string
		for i := 0; i < 20; i++ {
			labels = append(labels, fmt.Sprintf("X%02d", i))
		}
		for _, tc := range []struct {
			op   string
			body any
			typ  string
			msg  string
		}{
			{"GetSecretValue", map[string]string{"SecretId": "wire/nothing"}, "ResourceNotFoundException", e2eMsgNotFound},
			{"DeleteSecret", map[string]any{"SecretId": "wire/errors", "RecoveryWindowInDays": 6}, "InvalidParameterException", e2eMsgRecoveryWindow},
			{"GetSecretValue", map[string]string{"SecretId": "wire/deleted"}, "InvalidRequestException", e2eMsgMarkedDeleted},
			{"CreateSecret", map[string]string{"Name": "wire/errors", "SecretString": "v", "ClientRequestToken": e2eToken()}, "ResourceExistsException", e2eMsgExists("wire/errors")},
			{"CreateSecret", map[string]string{"Name": "bad name", "SecretString": "v", "ClientRequestToken": e2eToken()}, "ValidationException", ""},
			{"PutSecretValue", map[string]any{"SecretId": "wire/errors", "SecretString": "v", "ClientRequestToken": e2eToken(), "VersionStages": labels}, "LimitExceededException", ""},
			{"ListSecrets", map[string]string{"NextToken": "not-a-token"}, "InvalidNextTokenException", ""},
		} {
			t.Run(tc.typ, func(t *testing.T) {
				e2eWantRawError(t, tc.op, s.e2eRawJSON(t, tc.op, tc.body), tc.typ, tc.msg)
			})
		}
	})

	// The SDKs always fill in ClientRequestToken; a raw request without one
	// is refused (aws-api.md §1.7) and creates nothing.
	t.Run("ClientRequestTokenRequired", func(t *testing.T) {
		const msg = "You must provide a ClientRequestToken value. We recommend a UUID-type value."
		e2eCreate(t, c, "wire/token", "v")
		before := e2eTakeSnapshot(t, c, "wire/token")
		for _, tc := range []struct {
			op   string
			body any
		}{
			{"CreateSecret", map[string]string{"Name": "wire/no-token", "SecretString": "v"}},
			{"PutSecretValue", map[string]string{"SecretId": "wire/token", "SecretString": "v2"}},
			{"UpdateSecret", map[string]string{"SecretId": "wire/token", "SecretString": "v2"}},
		} {
			e2eWantRawError(t, tc.op+" without ClientRequestToken", s.e2eRawJSON(t, tc.op, tc.body), "InvalidRequestException", msg)
		}
		if after := e2eTakeSnapshot(t, c, "wire/token"); !e2eSnapshotsEqual(before, after) {
			t.Errorf("refused requests changed wire/token:\nbefore %+v\nafter  %+v", before, after)
		}
		_, err := c.DescribeSecret(e2eCtx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("wire/no-token")})
		e2eWantErr[*types.ResourceNotFoundException](t, "DescribeSecret wire/no-token", err, e2eMsgNotFound)
	})

	t.Run("TimestampsAreNumbers", func(t *testing.T) {
		name := "wire/times"
		created := e2eCreate(t, c, name, "v")
		d := s.e2eRawJSON(t, "DescribeSecret", map[string]string{"SecretId": name}).JSON(t)
		e2eWantNumber(t, "DescribeSecret", d, "CreatedDate")
		e2eWantNumber(t, "DescribeSecret", d, "LastChangedDate")
		g := s.e2eRawJSON(t, "GetSecretValue", map[string]string{"SecretId": name}).JSON(t)
		e2eWantNumber(t, "GetSecretValue", g, "CreatedDate")
		l := s.e2eRawJSON(t, "ListSecretVersionIds", map[string]string{"SecretId": name}).JSON(t)
		if vs, _ := l["Versions"].([]any); len(vs) == 1 {
			v, _ := vs[0].(map[string]any)
			e2eWantNumber(t, "ListSecretVersionIds", v, "CreatedDate")
			if v["VersionId"] != aws.ToString(created.VersionId) {
				t.Errorf("VersionId = %v", v["VersionId"])
			}
		} else {
			t.Errorf("ListSecretVersionIds Versions = %v", l["Versions"])
		}
		ls := s.e2eRawJSON(t, "ListSecrets", map[string]any{"Filters": []map[string]any{{"Key": "name", "Values": []string{name}}}}).JSON(t)
		if entries, _ := ls["SecretList"].([]any); len(entries) == 1 {
			e, _ := entries[0].(map[string]any)
			e2eWantNumber(t, "ListSecrets", e, "CreatedDate")
		} else {
			t.Errorf("ListSecrets SecretList = %v", ls["SecretList"])
		}
		before := time.Now()
		del := s.e2eRawJSON(t, "DeleteSecret", map[string]any{"SecretId": name, "RecoveryWindowInDays": 7}).JSON(t)
		if sec := e2eWantNumber(t, "DeleteSecret", del, "DeletionDate"); sec != 0 {
			got := time.Unix(0, int64(sec*1e9))
			if !e2eWithin(got, before.Add(7*24*time.Hour), time.Now().Add(7*24*time.Hour)) {
				t.Errorf("DeletionDate = %v, want now + 7 days", got)
			}
		}
	})

	t.Run("LastAccessedDateIsMidnightUTC", func(t *testing.T) {
		name := "wire/accessed"
		e2eCreate(t, c, name, "v")
		if d := s.e2eRawJSON(t, "DescribeSecret", map[string]string{"SecretId": name}).JSON(t); d["LastAccessedDate"] != nil {
			t.Errorf("LastAccessedDate = %v before any read, want it absent", d["LastAccessedDate"])
		}
		before := time.Now().UTC().Truncate(24 * time.Hour).Unix()
		g := s.e2eRawJSON(t, "GetSecretValue", map[string]string{"SecretId": name})
		if g.Status != http.StatusOK {
			t.Fatalf("GetSecretValue = %d %s", g.Status, g.Body)
		}
		after := time.Now().UTC().Truncate(24 * time.Hour).Unix()
		e2eWaitAccessed(t, c, name)
		check := func(what string, m map[string]any) {
			t.Helper()
			n, ok := m["LastAccessedDate"].(json.Number)
			if !ok {
				t.Errorf("%s: LastAccessedDate = %#v, want a number", what, m["LastAccessedDate"])
				return
			}
			if str := n.String(); str != fmt.Sprint(before) && str != fmt.Sprint(after) {
				t.Errorf("%s: LastAccessedDate = %s, want %d (midnight UTC of the day of the read, whole seconds)", what, str, before)
			}
		}
		check("DescribeSecret", s.e2eRawJSON(t, "DescribeSecret", map[string]string{"SecretId": name}).JSON(t))
		l := s.e2eRawJSON(t, "ListSecretVersionIds", map[string]string{"SecretId": name}).JSON(t)
		if vs, _ := l["Versions"].([]any); len(vs) == 1 {
			v, _ := vs[0].(map[string]any)
			check("ListSecretVersionIds", v)
		}
		ls := s.e2eRawJSON(t, "ListSecrets", map[string]any{"Filters": []map[string]any{{"Key": "name", "Values": []string{name}}}}).JSON(t)
		if entries, _ := ls["SecretList"].([]any); len(entries) == 1 {
			e, _ := entries[0].(map[string]any)
			check("ListSecrets", e)
		}
	})

	t.Run("BinaryIsBase64", func(t *testing.T) {
		name := "wire/binary"
		value := []byte{0x00, 0xff, 0x10, 0x80, '"', '\\', 0xfe}
		enc := base64.StdEncoding.EncodeToString(value)
		r := s.e2eRawJSON(t, "CreateSecret", map[string]string{"Name": name, "SecretBinary": enc, "ClientRequestToken": e2eToken()})
		if r.Status != http.StatusOK {
			t.Fatalf("CreateSecret with base64 SecretBinary = %d %s", r.Status, r.Body)
		}
		g := s.e2eRawJSON(t, "GetSecretValue", map[string]string{"SecretId": name}).JSON(t)
		if g["SecretBinary"] != enc {
			t.Errorf("SecretBinary = %#v, want the base64 string %q", g["SecretBinary"], enc)
		}
		if _, ok := g["SecretString"]; ok {
			t.Errorf("binary secret answered with a SecretString member: %v", g)
		}
		got, err := c.GetSecretValue(e2eCtx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
		e2eNoErr(t, "GetSecretValue", err)
		if !bytes.Equal(got.SecretBinary, value) {
			t.Errorf("SDK SecretBinary = %v, want %v", got.SecretBinary, value)
		}
	})

	t.Run("EmptyOutputIsJSONObject", func(t *testing.T) {
		name := "wire/tags"
		e2eCreate(t, c, name, "v")
		r := s.e2eRawJSON(t, "TagResource", map[string]any{"SecretId": name, "Tags": []map[string]string{{"Key": "k", "Value": "v"}}})
		if r.Status != http.StatusOK {
			t.Fatalf("TagResource = %d %s", r.Status, r.Body)
		}
		if body := strings.TrimSpace(string(r.Body)); body != "" && body != "{}" {
			t.Errorf("TagResource body = %q, want empty or {}", body)
		}
	})

	t.Run("UnsupportedOperations", func(t *testing.T) {
		name := "wire/unsupported"
		arn := aws.ToString(e2eCreate(t, c, name, "v").ARN)
		for _, tc := range []struct {
			op   string
			body any
		}{
			{"StopReplicationToReplica", map[string]any{"SecretId": name}},
			{"ReplicateSecretToRegions", map[string]any{"SecretId": arn, "AddReplicaRegions": []map[string]string{{"Region": "eu-west-1"}}}},
		} {
			t.Run(tc.op, func(t *testing.T) {
				r := s.e2eRawJSON(t, tc.op, tc.body)
				e2eWantRawError(t, tc.op, r, "InvalidRequestException", "")
				m := r.JSON(t)
				if msg, _ := m["Message"].(string); !strings.Contains(msg, tc.op) || !strings.Contains(msg, "not available") {
					t.Errorf("%s message = %q, want it to say %s is not available yet", tc.op, msg, tc.op)
				}
			})
		}
		// RotateSecret is served; without a function it refuses as AWS does.
		_, err := c.RotateSecret(e2eCtx, &secretsmanager.RotateSecretInput{SecretId: aws.String(name)})
		e2eWantErr[*types.InvalidRequestException](t, "SDK RotateSecret", err, "No Lambda rotation function ARN is associated with this secret.")
		if d := e2eDescribe(t, c, name); d.RotationEnabled != nil {
			t.Errorf("RotationEnabled = %v after a refused RotateSecret, want absent", *d.RotationEnabled)
		}
	})

	t.Run("TamperedBody", func(t *testing.T) {
		name := "wire/tamper-a"
		e2eCreate(t, c, name, "v")
		signed := []byte(`{"SecretId":"wire/tamper-a"}`)
		sent := []byte(`{"SecretId":"wire/tamper-b"}`)
		r := s.e2eRaw(t, "", "GetSecretValue", signed, e2eRawOptions{SendBody: sent})
		e2eWantRawError(t, "tampered GetSecretValue", r, "InvalidSignatureException", "")
		// The same request, untampered, is accepted: the refusal was the tampering.
		if ok := s.e2eRaw(t, "", "GetSecretValue", signed, e2eRawOptions{}); ok.Status != http.StatusOK {
			t.Errorf("untampered request = %d %s", ok.Status, ok.Body)
		}
	})

	t.Run("MissingAuthentication", func(t *testing.T) {
		r := s.e2eRaw(t, "", "ListSecrets", []byte(`{}`), e2eRawOptions{Unsigned: true})
		e2eWantRawError(t, "unsigned ListSecrets", r, "MissingAuthenticationTokenException", "")
	})

	t.Run("BodyOverLimit", func(t *testing.T) {
		body := []byte(`{"Name":"wire/huge","ClientRequestToken":"` + e2eToken() + `","SecretString":"` + strings.Repeat("a", 1<<20) + `"}`)
		r := s.e2eRaw(t, "", "CreateSecret", body, e2eRawOptions{})
		if r.Status != http.StatusBadRequest {
			t.Errorf("CreateSecret with a %d-byte body = %d %s, want 400", len(body), r.Status, r.Body)
		}
		m := r.JSON(t)
		if typ, _ := m["__type"].(string); typ == "" || r.Header.Get("X-Amzn-ErrorType") != typ {
			t.Errorf("oversized body answer: __type %v, X-Amzn-ErrorType %q; want the same exception in both", m["__type"], r.Header.Get("X-Amzn-ErrorType"))
		}
		_, err := c.DescribeSecret(e2eCtx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("wire/huge")})
		e2eWantErr[*types.ResourceNotFoundException](t, "DescribeSecret wire/huge", err, e2eMsgNotFound)
	})
}
