package sigv4_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/sigv4"
)

func TestParseRequestSignedBySDK(t *testing.T) {
	w := newWire(t)
	for _, token := range []string{"", testToken} {
		req := sdkRequest(t, w.URL(), []byte(testBody), creds(testSecret, token), testRegion, testService, signTime)
		authz := req.Header.Get("Authorization")
		got := w.send(t, req)

		a, err := sigv4.ParseRequest(got.r)
		if err != nil {
			t.Fatalf("token %q: ParseRequest: %v", token, err)
		}
		want := []string{"amz-sdk-invocation-id", "amz-sdk-request", "content-length", "content-type", "host", "x-amz-date", "x-amz-target"}
		if token != "" {
			want = []string{"amz-sdk-invocation-id", "amz-sdk-request", "content-length", "content-type", "host", "x-amz-date", "x-amz-security-token", "x-amz-target"}
		}
		if a.AccessKeyID != testKeyID || a.Date != "20200611" || a.Region != testRegion || a.Service != testService {
			t.Errorf("token %q: scope = %q %q %q %q", token, a.AccessKeyID, a.Date, a.Region, a.Service)
		}
		if !slices.Equal(a.SignedHeaders, want) {
			t.Errorf("token %q: SignedHeaders = %v, want %v", token, a.SignedHeaders, want)
		}
		if a.Signature != signatureOf(authz) {
			t.Errorf("token %q: Signature = %q, want %q", token, a.Signature, signatureOf(authz))
		}
		if !a.Time.Equal(signTime) || a.Time.Location() != time.UTC {
			t.Errorf("token %q: Time = %v, want %v UTC", token, a.Time, signTime)
		}
		if a.SecurityToken != token {
			t.Errorf("SecurityToken = %q, want %q", a.SecurityToken, token)
		}
	}
}

func TestParseRequest(t *testing.T) {
	const (
		cred = "Credential=AKIAIOSFODNN7EXAMPLE/20200611/us-west-2/secretsmanager/aws4_request"
		sh   = "SignedHeaders=content-type;host;x-amz-date;x-amz-target"
		sig  = "Signature=934acabc0123456789abcdef0123456789abcdef0123456789abcdef01234567"
		full = "AWS4-HMAC-SHA256 " + cred + ", " + sh + ", " + sig
		date = "20200611T141439Z"
	)
	tests := []struct {
		name     string
		authz    []string // nil: no Authorization header
		amzDate  string
		httpDate string
		code     string
		message  string // exact, when AWS's wording is known; else a substring
		exact    bool
	}{
		{name: "valid", authz: []string{full}, amzDate: date},
		{name: "no commas spaces", authz: []string{"AWS4-HMAC-SHA256 " + cred + "," + sh + "," + sig}, amzDate: date},
		{name: "extra spaces", authz: []string{"  AWS4-HMAC-SHA256 " + cred + " ,  " + sh + " , " + sig + "  "}, amzDate: date},
		{name: "parts in any order", authz: []string{"AWS4-HMAC-SHA256 " + sig + ", " + cred + ", " + sh}, amzDate: date},
		{name: "Date header instead of X-Amz-Date", authz: []string{full}, httpDate: "Thu, 11 Jun 2020 14:14:39 GMT"},

		{name: "missing", amzDate: date, code: rotor.EAUTHMISSING, message: "Missing Authentication Token", exact: true},
		{name: "empty", authz: []string{""}, amzDate: date, code: rotor.EAUTHINCOMPLETE, message: "empty"},
		{name: "repeated", authz: []string{full, full}, amzDate: date, code: rotor.EAUTHINCOMPLETE, message: "only once"},
		{name: "bearer", authz: []string{"Bearer abc.def"}, amzDate: date, code: rotor.EAUTHINCOMPLETE, message: "algorithm"},
		{name: "sigv2", authz: []string{"AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg="}, amzDate: date, code: rotor.EAUTHINCOMPLETE, message: "algorithm"},
		{name: "sha1", authz: []string{"AWS4-HMAC-SHA1 " + cred + ", " + sh + ", " + sig}, amzDate: date, code: rotor.EAUTHINCOMPLETE, message: "algorithm"},
		{name: "lower-case algorithm", authz: []string{"aws4-hmac-sha256 " + cred + ", " + sh + ", " + sig}, amzDate: date, code: rotor.EAUTHINCOMPLETE, message: "algorithm"},
		{name: "algorithm only, no date", authz: []string{"AWS4-HMAC-SHA256"}, code: rotor.EAUTHINCOMPLETE, exact: true,
			message: "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. " +
				"Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."},
		{name: "only credential", authz: []string{"AWS4-HMAC-SHA256 " + cred}, amzDate: date, code: rotor.EAUTHINCOMPLETE, exact: true,
			message: "Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter."},
		{name: "empty signature value", authz: []string{"AWS4-HMAC-SHA256 " + cred + ", " + sh + ", Signature="}, amzDate: date, code: rotor.EAUTHINCOMPLETE, exact: true,
			message: "Authorization header requires 'Signature' parameter."},
		{name: "no date headers", authz: []string{full}, code: rotor.EAUTHINCOMPLETE, exact: true,
			message: "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."},
		{name: "part without equal sign", authz: []string{"AWS4-HMAC-SHA256 " + cred + ", " + sh + ", Signature"}, amzDate: date, code: rotor.EAUTHINCOMPLETE, message: "missing equal-sign"},
		{name: "duplicate empty credential", authz: []string{"AWS4-HMAC-SHA256 Credential=, " + cred + ", " + sh + ", " + sig}, amzDate: date, code: rotor.EAUTHINCOMPLETE, message: "more than once"},
		{name: "duplicate credential", authz: []string{full + ", " + cred}, amzDate: date, code: rotor.EAUTHINCOMPLETE, message: "more than once"},
		{name: "credential without scope", authz: []string{"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE, " + sh + ", " + sig}, amzDate: date, code: rotor.EAUTHINCOMPLETE, message: "must have the form"},
		{name: "credential without date", authz: []string{"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/us-west-2/secretsmanager/aws4_request, " + sh + ", " + sig}, amzDate: date, code: rotor.EAUTHINCOMPLETE, message: "must have the form"},
		{name: "credential with six parts", authz: []string{"AWS4-HMAC-SHA256 Credential=A/B/20200611/us-west-2/secretsmanager/aws4_request, " + sh + ", " + sig}, amzDate: date, code: rotor.EAUTHINCOMPLETE, message: "must have the form"},
		{name: "empty key id", authz: []string{"AWS4-HMAC-SHA256 Credential=/20200611/us-west-2/secretsmanager/aws4_request, " + sh + ", " + sig}, amzDate: date, code: rotor.EAUTHINCOMPLETE, message: "empty access key id"},
		{name: "empty region", authz: []string{"AWS4-HMAC-SHA256 Credential=AKID/20200611//secretsmanager/aws4_request, " + sh + ", " + sig}, amzDate: date, code: rotor.EAUTHINCOMPLETE, message: "empty region"},
		{name: "empty service", authz: []string{"AWS4-HMAC-SHA256 Credential=AKID/20200611/us-west-2//aws4_request, " + sh + ", " + sig}, amzDate: date, code: rotor.EAUTHINCOMPLETE, message: "empty service"},
		{name: "bad terminator", authz: []string{"AWS4-HMAC-SHA256 Credential=AKID/20200611/us-west-2/secretsmanager/aws5_request, " + sh + ", " + sig}, amzDate: date, code: rotor.EAUTHINCOMPLETE, exact: true,
			message: "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'."},
		{name: "short scope date", authz: []string{"AWS4-HMAC-SHA256 Credential=AKID/2020061/us-west-2/secretsmanager/aws4_request, " + sh + ", " + sig}, amzDate: date, code: rotor.EAUTHINCOMPLETE, message: "YYYYMMDD"},
		{name: "scope date with dashes", authz: []string{"AWS4-HMAC-SHA256 Credential=AKID/2020-6-11/us-west-2/secretsmanager/aws4_request, " + sh + ", " + sig}, amzDate: date, code: rotor.EAUTHINCOMPLETE, message: "YYYYMMDD"},
		{name: "impossible scope date", authz: []string{"AWS4-HMAC-SHA256 Credential=AKID/20201340/us-west-2/secretsmanager/aws4_request, " + sh + ", " + sig}, amzDate: date, code: rotor.EAUTHINCOMPLETE, message: "YYYYMMDD"},
		{name: "empty signed header name", authz: []string{"AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host;;x-amz-date, " + sig}, amzDate: date, code: rotor.EAUTHINCOMPLETE, message: "empty header name"},
		{name: "short signature", authz: []string{"AWS4-HMAC-SHA256 " + cred + ", " + sh + ", Signature=934acabc"}, amzDate: date, code: rotor.EAUTHINCOMPLETE, message: "64 hexadecimal"},
		{name: "non-hex signature", authz: []string{"AWS4-HMAC-SHA256 " + cred + ", " + sh + ", Signature=" + strings.Repeat("zz", 32)}, amzDate: date, code: rotor.EAUTHINCOMPLETE, message: "64 hexadecimal"},
		{name: "extended ISO date", authz: []string{full}, amzDate: "2020-06-11T14:14:39Z", code: rotor.EAUTHINCOMPLETE, exact: true,
			message: "Date must be in ISO-8601 'basic format'. Got '2020-06-11T14:14:39Z'. See http://en.wikipedia.org/wiki/ISO_8601"},
		{name: "date without zone", authz: []string{full}, amzDate: "20200611T141439", code: rotor.EAUTHINCOMPLETE, message: "ISO-8601"},
		{name: "date with bad hour", authz: []string{full}, amzDate: "20200611T251439Z", code: rotor.EAUTHINCOMPLETE, message: "ISO-8601"},
		{name: "bad X-Amz-Date is not rescued by Date", authz: []string{full}, amzDate: "yesterday", httpDate: "Thu, 11 Jun 2020 14:14:39 GMT", code: rotor.EAUTHINCOMPLETE, message: "ISO-8601"},
		{name: "bad Date header", authz: []string{full}, httpDate: "11/06/2020", code: rotor.EAUTHINCOMPLETE, message: "Date header"},
		{name: "scope date differs", authz: []string{strings.Replace(full, "20200611", "20200612", 1)}, amzDate: date, code: rotor.EAUTHINCOMPLETE, exact: true,
			message: "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20200612' != '20200611', from '20200611T141439Z'."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := http.NewRequest(http.MethodPost, "http://secretsmanager.test/", nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range tt.authz {
				r.Header.Add("Authorization", v)
			}
			if tt.amzDate != "" {
				r.Header.Set("X-Amz-Date", tt.amzDate)
			}
			if tt.httpDate != "" {
				r.Header.Set("Date", tt.httpDate)
			}
			a, err := sigv4.ParseRequest(r)
			if got := code(t, err); got != tt.code {
				t.Fatalf("code = %q (%v), want %q", got, err, tt.code)
			}
			checkSafe(t, err, "934acabc0123456789abcdef0123456789abcdef0123456789abcdef01234567")
			if tt.code == "" {
				if a.AccessKeyID != testKeyID || a.Date != "20200611" || a.Region != "us-west-2" || a.Service != "secretsmanager" {
					t.Errorf("scope = %q %q %q %q", a.AccessKeyID, a.Date, a.Region, a.Service)
				}
				if !slices.Equal(a.SignedHeaders, []string{"content-type", "host", "x-amz-date", "x-amz-target"}) {
					t.Errorf("SignedHeaders = %v", a.SignedHeaders)
				}
				if !a.Time.Equal(signTime) || a.Time.Location() != time.UTC {
					t.Errorf("Time = %v, want %v UTC", a.Time, signTime)
				}
				return
			}
			msg := rotor.ErrorMessage(err)
			if tt.exact && msg != tt.message {
				t.Errorf("message = %q\nwant      %q", msg, tt.message)
			}
			if !tt.exact && !strings.Contains(msg, tt.message) {
				t.Errorf("message = %q, want it to contain %q", msg, tt.message)
			}
		})
	}
}

func TestParseRequestNormalizesCase(t *testing.T) {
	r, err := http.NewRequest(http.MethodPost, "http://secretsmanager.test/", nil)
	if err != nil {
		t.Fatal(err)
	}
	upper := strings.ToUpper("934acabc0123456789abcdef0123456789abcdef0123456789abcdef01234567")
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20200611/us-west-2/secretsmanager/aws4_request, "+
		"SignedHeaders=Host;X-Amz-Date;content-type, Signature="+upper)
	r.Header.Set("X-Amz-Date", "20200611T141439Z")
	r.Header.Set("X-Amz-Security-Token", testToken)
	a, err := sigv4.ParseRequest(r)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"host", "x-amz-date", "content-type"}; !slices.Equal(a.SignedHeaders, want) {
		t.Errorf("SignedHeaders = %v, want %v (lower-case, order kept)", a.SignedHeaders, want)
	}
	if a.Signature != strings.ToLower(upper) {
		t.Errorf("Signature = %q, want lower-case", a.Signature)
	}
	if a.SecurityToken != testToken {
		t.Errorf("SecurityToken = %q", a.SecurityToken)
	}
}
