package audit

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
)

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `quote " and \ backslash`, "ctl \x00\x01\x1f\x7f", "tab\tnl\ncr\r",
		"é ü 日本", "bad \xff\xfe utf8", "sep \u2028 \u2029", "<html>&amp;", string([]byte{0xe2, 0x80})} {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		enc.Encode(s)
		if got := string(appendString(nil, s)); got != string(bytes.TrimSuffix(want.Bytes(), []byte("\n"))) {
			t.Errorf("appendString(%q) = %s, want %s", s, got, want.Bytes())
		}
	}
}

// BenchmarkAppendLine is the writer's cost per record: encoding and the
// SHA-256 of the line.
func BenchmarkAppendLine(b *testing.B) {
	rec := rotor.AuditRecord{Time: time.Now(), Source: rotor.AuditSourceSecretsManager, Name: "GetSecretValue",
		RequestID: "0b5c5f0e-6a0e-4c1e-9f7e-1b2c3d4e5f60", Region: "us-east-1",
		Principal: rotor.Principal{Identity: "admin", AccessKeyID: "AKIAABCDEFGHIJKLMNOP", Role: rotor.RoleAdmin},
		SourceIP:  "127.0.0.1", UserAgent: "aws-sdk-go-v2/1.41.0 ua/2.1 os/linux lang/go#1.26.8 md/GOOS#linux md/GOARCH#amd64 api/secretsmanager#1.40.0 m/E",
		Parameters: []byte(`{"secretId":"bench/secret"}`), ARN: "arn:aws:secretsmanager:us-east-1:000000000000:secret:bench/secret-AbCdEf",
		SecretName: "bench/secret", VersionID: "0b5c5f0e-6a0e-4c1e-9f7e-1b2c3d4e5f60", ReadOnly: true}
	var st chainState
	buf := make([]byte, 0, 4096)
	id := make([]byte, 16)
	b.ReportAllocs()
	for b.Loop() {
		buf, st = appendLine(buf[:0], &rec, "000000000000", id, st)
	}
	b.SetBytes(int64(len(buf)))
}
