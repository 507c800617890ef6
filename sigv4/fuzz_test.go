package sigv4_test

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/sigv4"
)

var lowerHex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// checkError fails unless err is nil or a *rotor.Error with one of codes.
func checkError(t *testing.T, err error, codes ...string) {
	t.Helper()
	if err == nil {
		return
	}
	var re *rotor.Error
	if !errors.As(err, &re) {
		t.Fatalf("error %v (%T) is not a *rotor.Error", err, err)
	}
	for _, c := range codes {
		if re.Code == c {
			return
		}
	}
	t.Fatalf("code %q not in %v: %v", re.Code, codes, err)
}

// signedSeed signs a Secrets Manager request with the SDK signer and returns
// the headers a fuzz seed needs.
func signedSeed(f *testing.F, body, token string) (authz, amzDate string) {
	req := sdkRequest(f, "http://secretsmanager.us-west-2.amazonaws.com", []byte(body), creds(testSecret, token), testRegion, testService, signTime)
	return req.Header.Get("Authorization"), req.Header.Get("X-Amz-Date")
}

func FuzzParseRequest(f *testing.F) {
	authz, amzDate := signedSeed(f, testBody, "")
	tokAuthz, _ := signedSeed(f, testBody, testToken)
	sig := signatureOf(authz)
	seeds := []struct {
		authz, amzDate, httpDate string
		present                  bool
	}{
		{authz, amzDate, "", true},
		{tokAuthz, amzDate, "", true},
		{authz, "", "Thu, 11 Jun 2020 14:14:39 GMT", true},
		{authz, "", "", true},
		{"", amzDate, "", false},
		{"", amzDate, "", true},
		{"AWS4-HMAC-SHA256", "", "", true},
		{"AWS4-HMAC-SHA256 ", amzDate, "", true},
		{"AWS4-HMAC-SHA256 Credential=", amzDate, "", true},
		{"AWS4-HMAC-SHA256 Credential=/////, SignedHeaders=;, Signature=" + sig, amzDate, "", true},
		{"AWS4-HMAC-SHA256 ,,,,=,=,==", amzDate, "", true},
		{"AWS4-HMAC-SHA256 Credential=a/20200611/r/s/aws4_request, SignedHeaders=host, Signature=" + strings.ToUpper(sig), amzDate, "", true},
		{"AWS4-HMAC-SHA256 Credential=a/20200612/r/s/aws4_request, SignedHeaders=host, Signature=" + sig, amzDate, "", true},
		{"AWS4-HMAC-SHA256 Credential=a/99999999/r/s/aws4_request, SignedHeaders=host, Signature=" + sig, amzDate, "", true},
		{"AWS4-HMAC-SHA256 Credential=a/20200611/r/s/aws4_request, SignedHeaders=host, Signature=" + sig, "20200611T141439", "", true},
		{"AWS4-HMAC-SHA256 Credential=a/20200611/r/s/aws4_request, SignedHeaders=host, Signature=" + sig, "2020-06-11T14:14:39Z", "", true},
		{"AWS4-HMAC-SHA256 Credential=a/20200611/r/s/aws4_request, SignedHeaders=host, Signature=" + sig, "", "not a date", true},
		{strings.Replace(authz, "Signature=", "Signature", 1), amzDate, "", true},
		{strings.Replace(authz, "aws4_request", "aws4_requesx", 1), amzDate, "", true},
		{"Bearer eyJhbGciOiJIUzI1NiJ9.e30.ZRrHA1JJJW8opsbCGfG_HACGpVUMN_a9IV7pAx_Zmeo", amzDate, "", true},
		{"AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=", "", "Thu, 11 Jun 2020 14:14:39 GMT", true},
		{"AWS4-HMAC-SHA256 Credential=\xff\xfe/20200611/\x00/s/aws4_request, SignedHeaders=\xc3, Signature=" + sig, amzDate, "", true},
	}
	for _, s := range seeds {
		f.Add(s.authz, s.amzDate, s.httpDate, s.present)
	}
	f.Fuzz(func(t *testing.T, authz, amzDate, httpDate string, present bool) {
		r, err := http.NewRequestWithContext(context.Background(), http.MethodPost, "http://secretsmanager.test/", nil)
		if err != nil {
			t.Fatal(err)
		}
		if present {
			r.Header["Authorization"] = []string{authz}
		}
		if amzDate != "" {
			r.Header["X-Amz-Date"] = []string{amzDate}
		}
		if httpDate != "" {
			r.Header["Date"] = []string{httpDate}
		}
		a, err := sigv4.ParseRequest(r)
		checkError(t, err, rotor.EAUTHMISSING, rotor.EAUTHINCOMPLETE)
		if !present && rotor.ErrorCode(err) != rotor.EAUTHMISSING {
			t.Fatalf("no Authorization header: got %v, want EAUTHMISSING", err)
		}
		if err != nil {
			return
		}
		if !lowerHex64.MatchString(a.Signature) {
			t.Errorf("Signature %q is not 64 lower-case hex digits", a.Signature)
		}
		if a.AccessKeyID == "" || a.Region == "" || a.Service == "" {
			t.Errorf("empty scope part: %+v", a)
		}
		if len(a.SignedHeaders) == 0 {
			t.Errorf("no signed headers")
		}
		for _, h := range a.SignedHeaders {
			if h == "" || h != strings.ToLower(h) {
				t.Errorf("signed header %q is empty or not lower-case", h)
			}
		}
		if a.Time.Location() != time.UTC || a.Time.Format("20060102") != a.Date {
			t.Errorf("Time %v does not match scope date %q in UTC", a.Time, a.Date)
		}
		// Verifying arbitrary input against a fixed key must not panic either.
		v := &sigv4.Verifier{Now: fixedNow(a.Time)}
		checkError(t, v.Verify(r, nil, a, testSecret), rotor.EAUTHSIGNATURE)
	})
}

// botoSeed signs body with boto3's header set
// (content-type;host;x-amz-date;x-amz-target) for FuzzVerify's fixed host.
func botoSeed(f *testing.F, body string) (authz, amzDate string) {
	req := botoRequest(f, http.MethodPost, "http://secretsmanager.us-west-2.amazonaws.com/", []byte(body), creds(testSecret, ""), signTime)
	return req.Header.Get("Authorization"), req.Header.Get("X-Amz-Date")
}

func FuzzVerify(f *testing.F) {
	type seed struct {
		body                             []byte
		target, contentType, extra, path string
		query, authz, amzDate            string
	}
	authz, amzDate := botoSeed(f, testBody)
	emptyAuthz, _ := botoSeed(f, "")
	// The first two seeds are genuine signed requests and must verify.
	valid := map[string]bool{authz: true, emptyAuthz: true}
	seeds := []seed{
		{[]byte(testBody), "secretsmanager.GetSecretValue", "application/x-amz-json-1.1", "", "/", "", authz, amzDate},
		{nil, "secretsmanager.GetSecretValue", "application/x-amz-json-1.1", "", "/", "", emptyAuthz, amzDate},
		{[]byte(testBody + " "), "secretsmanager.GetSecretValue", "application/x-amz-json-1.1", "", "/", "", authz, amzDate},
		{[]byte(testBody), "secretsmanager.DeleteSecret", "application/x-amz-json-1.1", "", "/", "", authz, amzDate},
		{[]byte(testBody), "secretsmanager.GetSecretValue", "  application/x-amz-json-1.1   ", "  a   b  ", "/a%2Fb/../c", "b=1&a=2&a=1&c", authz, amzDate},
		{[]byte(testBody), "secretsmanager.GetSecretValue", "application/x-amz-json-1.1", "x", "/", "%zz=%", authz, amzDate},
		{[]byte(testBody), "", "", "", "", ";;&&==", strings.Replace(authz, "host;", "", 1), amzDate},
		{[]byte(testBody), "t", "c", "e", "/\x00\xff", "q", strings.Replace(authz, "x-amz-target", "x-extra", 1), amzDate},
		{[]byte("\x00\xff"), "t", "c", "e", "/", "", strings.Replace(authz, "SignedHeaders=", "SignedHeaders=content-length;", 1), amzDate},
		{[]byte(testBody), "t", "c", "e", "/", "", authz, "20200611T151439Z"},
		// Re-targeting or re-dating a request whose SignedHeaders leave the
		// header out: refused before the signature is computed.
		{[]byte(testBody), "secretsmanager.DeleteSecret", "application/x-amz-json-1.1", "", "/", "", strings.Replace(authz, ";x-amz-target", "", 1), amzDate},
		{[]byte(testBody), "secretsmanager.GetSecretValue", "application/x-amz-json-1.1", "", "/", "", strings.Replace(authz, ";x-amz-date", "", 1), "20200611T141000Z"},
		{[]byte(testBody), "", "application/x-amz-json-1.1", "", "/", "", strings.Replace(authz, ";x-amz-target", "", 1), amzDate},
	}
	for _, s := range seeds {
		f.Add(s.body, s.target, s.contentType, s.extra, s.path, s.query, s.authz, s.amzDate)
	}
	f.Fuzz(func(t *testing.T, body []byte, target, contentType, extra, path, query, authz, amzDate string) {
		r, err := http.NewRequestWithContext(context.Background(), http.MethodPost, "http://secretsmanager.us-west-2.amazonaws.com/", nil)
		if err != nil {
			t.Fatal(err)
		}
		r.URL.Path, r.URL.RawPath, r.URL.RawQuery = path, "", query
		r.ContentLength = int64(len(body))
		r.Header["Content-Type"] = []string{contentType}
		r.Header["X-Amz-Target"] = []string{target}
		r.Header["X-Extra"] = []string{extra}
		r.Header["Authorization"] = []string{authz}
		r.Header["X-Amz-Date"] = []string{amzDate}
		a, err := sigv4.ParseRequest(r)
		checkError(t, err, rotor.EAUTHINCOMPLETE)
		if err != nil {
			return
		}
		v := &sigv4.Verifier{Now: fixedNow(signTime)}
		err = v.Verify(r, body, a, testSecret)
		checkError(t, err, rotor.EAUTHSIGNATURE)
		checkSafe(t, err, a.Signature)
		genuine := valid[authz] && amzDate == "20200611T141439Z" && path == "/" && query == "" &&
			target == "secretsmanager.GetSecretValue" && contentType == "application/x-amz-json-1.1" &&
			(authz == emptyAuthz) == (len(body) == 0) && (len(body) == 0 || string(body) == testBody)
		if genuine && err != nil {
			t.Fatalf("genuine signed request rejected: %v", err)
		}
	})
}
