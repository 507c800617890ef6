package main

// Tests of the web console over HTTP without a browser: sign-in, sessions,
// CSRF, security headers, authorization, and that no page carries a secret
// value unless it was revealed. console_browser_test.go drives it in
// Chromium.

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/rotorhq/rotor"
)

// consoleCSP is the Content-Security-Policy every console page carries.
const consoleCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// consoleUser is a browser-like HTTP client with its own cookie jar.
type consoleUser struct {
	t    *testing.T
	s    *testServer
	c    *http.Client
	csrf string
}

// consoleSignIn signs in with the key and returns the user; it fails the
// test unless the sign-in lands on the secrets page.
func consoleSignIn(t *testing.T, s *testServer, id, secret string) *consoleUser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	u := &consoleUser{t: t, s: s, c: &http.Client{Jar: jar}}
	status, body, resp := u.post("/console/signin", url.Values{"access_key_id": {id}, "secret_access_key": {secret}})
	if status != http.StatusOK || resp.Request.URL.Path != "/console/secrets" {
		t.Fatalf("sign in: status %d at %s: %s", status, resp.Request.URL.Path, body)
	}
	u.csrf = csrfOf(t, body)
	return u
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, body string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token in page: %.400s", body)
	}
	return m[1]
}

func (u *consoleUser) get(path string) (int, string, *http.Response) {
	u.t.Helper()
	resp, err := u.c.Get(u.s.URL() + path)
	if err != nil {
		u.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp
}

func (u *consoleUser) post(path string, form url.Values) (int, string, *http.Response) {
	u.t.Helper()
	return u.postWith(path, form, nil)
}

func (u *consoleUser) postWith(path string, form url.Values, header http.Header) (int, string, *http.Response) {
	u.t.Helper()
	req, err := http.NewRequest(http.MethodPost, u.s.URL()+path, strings.NewReader(form.Encode()))
	if err != nil {
		u.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := u.c.Do(req)
	if err != nil {
		u.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp
}

// action posts a form with the session's CSRF token.
func (u *consoleUser) action(path string, form url.Values) (int, string, *http.Response) {
	u.t.Helper()
	form.Set("csrf", u.csrf)
	return u.post(path, form)
}

// consoleSecretPath is the secret page of arn.
func consoleSecretPath(arn string) string {
	return "/console/secret?" + url.Values{"id": {arn}}.Encode()
}

// valueForms are the ways a value could leak into a page: raw,
// HTML-escaped, JSON-escaped, base64.
func valueForms(v string) []string {
	j, _ := json.Marshal(v)
	var esc strings.Builder
	template.Must(template.New("").Parse(`{{.}}`)).Execute(&esc, v) // as the pages would escape it
	return []string{v, template.HTMLEscapeString(v), esc.String(), strings.Trim(string(j), `"`), base64.StdEncoding.EncodeToString([]byte(v))}
}

var revealedRE = regexp.MustCompile(`(?s)<pre id="value" tabindex="0">(.*?)</pre>`)

// revealedValue is the value shown on a reveal page, unescaped.
func revealedValue(t *testing.T, body string) string {
	t.Helper()
	m := revealedRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no revealed value in the page")
	}
	return html.UnescapeString(m[1])
}

// TestConsoleNoValueUnlessRevealed fetches every page, with every filter,
// as an admin and finds no stored value in any form; a reveal shows the
// chosen version's value byte-exact and is audited as a GetSecretValue
// from the console.
func TestConsoleNoValueUnlessRevealed(t *testing.T) {
	s := MustRunMain(t, "", func(c *Config) { c.Rotation.MaxAttempts = 1 })
	c := s.e2eClient("")
	values := map[string]string{
		"plain":  "pl41n-Secret-Value-0001",
		"json":   `{"username":"app","password":"<p@ss&\"word'>ü-0002"}`,
		"spaces": "  leading and trailing spaces 0003  ",
	}
	arns := map[string]string{}
	for name, v := range values {
		out, err := c.CreateSecret(e2eCtx, &secretsmanager.CreateSecretInput{Name: aws.String("console/" + name), SecretString: aws.String(v),
			Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("web")}}})
		e2eNoErr(t, "create "+name, err)
		arns[name] = *out.ARN
	}
	binary := []byte{0, 1, 2, 0xff, 'b', 'i', 'n', 0x80, 0x7f}
	out, err := c.CreateSecret(e2eCtx, &secretsmanager.CreateSecretInput{Name: aws.String("console/binary"), SecretBinary: binary})
	e2eNoErr(t, "create binary", err)
	arns["binary"] = *out.ARN
	// A second version, so an older value sits under AWSPREVIOUS.
	_, err = c.PutSecretValue(e2eCtx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("console/plain"), SecretString: aws.String("pl41n-Second-Value-0004")})
	e2eNoErr(t, "put", err)
	// A rotated secret: versions made by the generate-password function.
	_, err = c.RotateSecret(e2eCtx, &secretsmanager.RotateSecretInput{SecretId: aws.String("console/json"), RotationLambdaARN: aws.String(lambdaARN("rotor-generate-password"))})
	e2eNoErr(t, "rotate", err)
	waitNoPending(t, s, c, "console/json")
	// A failed rotation: the function refuses the value (it starts like
	// JSON but is not), so the run's error is about the value.
	broken := `{"pl41n-broken-0005`
	bout, err := c.CreateSecret(e2eCtx, &secretsmanager.CreateSecretInput{Name: aws.String("console/broken"), SecretString: aws.String(broken)})
	e2eNoErr(t, "create broken", err)
	arns["broken"] = *bout.ARN
	_, err = c.RotateSecret(e2eCtx, &secretsmanager.RotateSecretInput{SecretId: bout.ARN, RotationLambdaARN: aws.String(lambdaARN("rotor-generate-password"))})
	e2eNoErr(t, "rotate broken", err)
	waitFailedRun(t, s, "console/broken")

	var secrets []string
	for _, v := range values {
		secrets = append(secrets, v)
	}
	secrets = append(secrets, "pl41n-Second-Value-0004", string(binary), broken, "pl41n-broken-0005")
	// And the values the rotation generated, whatever they are.
	for _, stage := range []string{"AWSCURRENT", "AWSPREVIOUS"} {
		v, err := c.GetSecretValue(e2eCtx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("console/json"), VersionStage: aws.String(stage)})
		e2eNoErr(t, "get "+stage, err)
		secrets = append(secrets, *v.SecretString)
		var obj map[string]string
		json.Unmarshal([]byte(*v.SecretString), &obj)
		secrets = append(secrets, obj["password"])
	}

	u := consoleSignIn(t, s, s.KeyID, s.Secret)
	pages := []string{"/console/signin", "/console/secrets", "/console/secrets?q=console", "/console/secrets?rotation=on",
		"/console/secrets?rotation=off", "/console/secrets?failed=1", "/console/secrets?tag_key=team&tag_value=web",
		"/console/attention", "/console/identities"}
	for _, arn := range arns {
		pages = append(pages, consoleSecretPath(arn))
	}
	check := func(what, body string) {
		t.Helper()
		for _, v := range secrets {
			for _, f := range valueForms(v) {
				if len(f) >= 6 && strings.Contains(body, f) {
					t.Errorf("%s contains a stored value (%q)", what, f)
				}
			}
		}
	}
	for _, p := range pages {
		status, body, resp := u.get(p)
		if status != http.StatusOK {
			t.Errorf("GET %s: status %d", p, status)
		}
		if got := resp.Header.Get("Content-Security-Policy"); got != consoleCSP {
			t.Errorf("GET %s: CSP = %q", p, got)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Referrer-Policy") != "no-referrer" ||
			resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: headers %v", p, resp.Header)
		}
		check("GET "+p, body)
	}
	if _, body, _ := u.get(consoleSecretPath(arns["plain"])); !strings.Contains(body, `id="timeline"`) || !strings.Contains(body, "AWSPREVIOUS") {
		t.Errorf("secret page has no label timeline with AWSPREVIOUS")
	}
	if _, body, _ := u.get("/console/attention"); !strings.Contains(body, "console/broken") {
		t.Errorf("the needs-attention page does not list the failed run")
	}
	if _, body, _ := u.get(consoleSecretPath(arns["broken"])); !strings.Contains(body, "Last error:") {
		t.Errorf("the failed secret's page shows no error")
	}

	// Reveal: exactly the value asked for, and the binary one as base64.
	status, body, _ := u.action("/console/secret/reveal", url.Values{"id": {arns["json"]}})
	if status != http.StatusOK {
		t.Fatalf("reveal: status %d: %s", status, body)
	}
	cur, _ := c.GetSecretValue(e2eCtx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("console/json")})
	if got := revealedValue(t, body); got != *cur.SecretString {
		t.Errorf("revealed %q, want the current value %q", got, *cur.SecretString)
	}
	status, body, _ = u.action("/console/secret/reveal", url.Values{"id": {arns["binary"]}})
	if got := revealedValue(t, body); status != http.StatusOK || got != base64.StdEncoding.EncodeToString(binary) {
		t.Errorf("reveal binary: status %d, shown %q, want the base64 of the value", status, got)
	}
	status, body, _ = u.action("/console/secret/reveal", url.Values{"id": {arns["spaces"]}})
	if got := revealedValue(t, body); status != http.StatusOK || got != values["spaces"] {
		t.Errorf("reveal with spaces: status %d, shown %q, want %q byte-exact", status, got, values["spaces"])
	}

	// The audit log has the reveals as GetSecretValue from the console.
	s.Close()
	found := 0
	f, err := os.Open(s.Config.AuditPath())
	e2eNoErr(t, "open audit", err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		for _, v := range secrets {
			if len(v) >= 6 && strings.Contains(line, v) {
				t.Errorf("audit line contains a value: %s", line)
			}
		}
		var ev map[string]any
		e2eNoErr(t, "audit json", json.Unmarshal([]byte(line), &ev))
		if ev["eventName"] == "GetSecretValue" && strings.HasPrefix(ev["userAgent"].(string), "rotor-console") {
			found++
			if ev["eventSource"] != "secretsmanager.amazonaws.com" {
				t.Errorf("console reveal audit event source = %v", ev["eventSource"])
			}
		}
	}
	if found != 3 {
		t.Errorf("audit log has %d console GetSecretValue events, want 3", found)
	}
}

// waitFailedRun waits until the secret's latest rotation run failed.
func waitFailedRun(t *testing.T, s *testServer, id string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		h, err := s.Main.manager.RotationHistory(adminCtx(s), id, 1)
		e2eNoErr(t, "history", err)
		if len(h) > 0 && h[0].Run.Status == rotor.RunFailed {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: the rotation did not fail", id)
}

// waitNoPending waits until no version of the secret carries AWSPENDING;
// if it does not happen, the failure shows the secret's latest run.
func waitNoPending(t *testing.T, s *testServer, c *secretsmanager.Client, id string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		out, err := c.DescribeSecret(e2eCtx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
		e2eNoErr(t, "describe", err)
		pending := false
		for _, st := range out.VersionIdsToStages {
			for _, l := range st {
				pending = pending || l == "AWSPENDING"
			}
		}
		if !pending {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	run := "none"
	if h, err := s.Main.manager.RotationHistory(adminCtx(s), id, 1); err == nil && len(h) > 0 {
		r := h[0].Run
		run = fmt.Sprintf("status %s, step %s, attempt %d of %d, next attempt %s, last error %q, %d step records",
			r.Status, r.Step, r.Attempt, r.MaxAttempts, r.NextAttempt.Format(time.RFC3339Nano), r.LastError, len(h[0].Steps))
	}
	t.Fatalf("%s: rotation did not finish within 30 s; latest run: %s", id, run)
}

// TestConsoleSessionsAndCSRF: wrong credentials are refused; a POST
// without the session's CSRF token, or from another site, changes
// nothing; a forged cookie and a deactivated key's session are refused;
// sign-out ends the session, a copy of its cookie included.
func TestConsoleSessionsAndCSRF(t *testing.T) {
	s := MustRunMain(t, "", nil)
	c := s.e2eClient("")
	out, err := c.CreateSecret(e2eCtx, &secretsmanager.CreateSecretInput{Name: aws.String("csrf"), SecretString: aws.String("v")})
	e2eNoErr(t, "create", err)
	fn := aws.String(lambdaARN("rotor-generate-password"))

	// Wrong secret: refused, no cookie.
	jar, _ := cookiejar.New(nil)
	anon := &consoleUser{t: t, s: s, c: &http.Client{Jar: jar}}
	status, body, _ := anon.post("/console/signin", url.Values{"access_key_id": {s.KeyID}, "secret_access_key": {s.Secret + "x"}})
	if status != http.StatusUnauthorized || !strings.Contains(body, "wrong") {
		t.Errorf("wrong secret: status %d", status)
	}
	if status, _, resp := anon.get("/console/secrets"); status != http.StatusOK || resp.Request.URL.Path != "/console/signin" {
		t.Errorf("no session: GET /console/secrets ended at %s (%d), want the sign-in page", resp.Request.URL.Path, status)
	}

	u := consoleSignIn(t, s, s.KeyID, s.Secret)
	var cookie *http.Cookie
	for _, ck := range u.c.Jar.Cookies(mustURL(t, s.URL()+"/console/")) {
		cookie = ck
	}
	if cookie == nil {
		t.Fatal("no session cookie")
	}

	// Configure rotation first through the API so "rotate" has a function.
	_, err = c.RotateSecret(e2eCtx, &secretsmanager.RotateSecretInput{SecretId: out.ARN, RotationLambdaARN: fn})
	e2eNoErr(t, "rotate", err)
	waitNoPending(t, s, c, "csrf")
	versions := func() int {
		v, err := c.ListSecretVersionIds(e2eCtx, &secretsmanager.ListSecretVersionIdsInput{SecretId: out.ARN, IncludeDeprecated: aws.Bool(true)})
		e2eNoErr(t, "versions", err)
		return len(v.Versions)
	}
	before := versions()

	for _, tc := range []struct {
		name   string
		form   url.Values
		header http.Header
		status int
	}{
		{"no CSRF token", url.Values{"id": {*out.ARN}}, nil, http.StatusForbidden},
		{"wrong CSRF token", url.Values{"id": {*out.ARN}, "csrf": {u.csrf + "x"}}, nil, http.StatusForbidden},
		{"cross-site Origin", url.Values{"id": {*out.ARN}, "csrf": {u.csrf}}, http.Header{"Origin": {"https://evil.example"}}, http.StatusForbidden},
		{"cross-site fetch", url.Values{"id": {*out.ARN}, "csrf": {u.csrf}}, http.Header{"Sec-Fetch-Site": {"cross-site"}}, http.StatusForbidden},
	} {
		status, _, _ := u.postWith("/console/secret/rotate", tc.form, tc.header)
		if status != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, status, tc.status)
		}
	}
	// A token from another session is no good either.
	other := consoleSignIn(t, s, s.KeyID, s.Secret)
	if status, _, _ := u.post("/console/secret/rotate", url.Values{"id": {*out.ARN}, "csrf": {other.csrf}}); status != http.StatusForbidden {
		t.Errorf("another session's CSRF token: status %d, want 403", status)
	}
	if got := versions(); got != before {
		t.Errorf("refused posts changed the secret: %d versions, had %d", got, before)
	}
	// The real thing works.
	if status, _, resp := u.action("/console/secret/rotate", url.Values{"id": {*out.ARN}}); status != http.StatusOK || resp.Request.URL.Path != "/console/secret" {
		t.Errorf("rotate with token: status %d at %s", status, resp.Request.URL.Path)
	}
	waitNoPending(t, s, c, "csrf")
	if got := versions(); got != before+1 {
		t.Errorf("rotate from the console: %d versions, want %d", got, before+1)
	}

	// A forged cookie (one byte of the payload changed) is refused.
	forged := []byte(cookie.Value)
	forged[3] ^= 1
	forgedJar, _ := cookiejar.New(nil)
	forgedJar.SetCookies(mustURL(t, s.URL()+"/console/"), []*http.Cookie{{Name: cookie.Name, Value: string(forged), Path: "/console/"}})
	f := &consoleUser{t: t, s: s, c: &http.Client{Jar: forgedJar}}
	if _, _, resp := f.get("/console/secrets"); resp.Request.URL.Path != "/console/signin" {
		t.Errorf("forged cookie: GET ended at %s, want the sign-in page", resp.Request.URL.Path)
	}
	if status, _, _ := f.post("/console/secret/rotate", url.Values{"id": {*out.ARN}, "csrf": {u.csrf}}); status != http.StatusUnauthorized {
		t.Errorf("forged cookie POST: status %d, want 401", status)
	}

	// A session of a key that is then deactivated ends at once.
	sc := e2eIdentity(t, s, "sessions", "admin", "")
	creds, err := sc.Options().Credentials.Retrieve(e2eCtx)
	e2eNoErr(t, "creds", err)
	k := consoleSignIn(t, s, creds.AccessKeyID, creds.SecretAccessKey)
	if status, _, resp := k.get("/console/secrets"); status != http.StatusOK || resp.Request.URL.Path != "/console/secrets" {
		t.Fatalf("new key's session: %d at %s", status, resp.Request.URL.Path)
	}
	if _, err := cli(t, s, "access-key", "deactivate", creds.AccessKeyID); err != nil {
		t.Fatal(err)
	}
	if _, _, resp := k.get("/console/secrets"); resp.Request.URL.Path != "/console/signin" {
		t.Errorf("deactivated key's session: GET ended at %s, want the sign-in page", resp.Request.URL.Path)
	}

	// Sign-out clears the cookie, and a copy of the cookie taken before is
	// refused afterwards.
	copied, _ := cookiejar.New(nil)
	copied.SetCookies(mustURL(t, s.URL()+"/console/"), u.c.Jar.Cookies(mustURL(t, s.URL()+"/console/")))
	thief := &consoleUser{t: t, s: s, c: &http.Client{Jar: copied}, csrf: u.csrf}
	if _, _, resp := thief.get("/console/secrets"); resp.Request.URL.Path != "/console/secrets" {
		t.Fatalf("the copied cookie before sign-out: GET ended at %s", resp.Request.URL.Path)
	}
	if _, _, resp := u.action("/console/signout", url.Values{}); resp.Request.URL.Path != "/console/signin" {
		t.Errorf("sign out ended at %s", resp.Request.URL.Path)
	}
	if _, _, resp := u.get("/console/secrets"); resp.Request.URL.Path != "/console/signin" {
		t.Errorf("after sign-out: GET ended at %s, want the sign-in page", resp.Request.URL.Path)
	}
	if _, _, resp := thief.get("/console/secrets"); resp.Request.URL.Path != "/console/signin" {
		t.Errorf("a copy of the signed-out cookie: GET ended at %s, want the sign-in page", resp.Request.URL.Path)
	}
	if status, _, _ := thief.action("/console/secret/rotate", url.Values{"id": {*out.ARN}}); status != http.StatusUnauthorized {
		t.Errorf("a copy of the signed-out cookie: POST status %d, want 401", status)
	}
	// Another session of the same key is still signed in.
	if _, _, resp := other.get("/console/secrets"); resp.Request.URL.Path != "/console/secrets" {
		t.Errorf("another session after sign-out: GET ended at %s", resp.Request.URL.Path)
	}
	// Without any session, the sign-in page does not say one ended.
	jar2, _ := cookiejar.New(nil)
	fresh := &consoleUser{t: t, s: s, c: &http.Client{Jar: jar2}}
	if _, body, resp := fresh.get("/console/"); resp.Request.URL.RawQuery != "" || strings.Contains(body, "has ended") {
		t.Errorf("first visit: ended at %s saying %q", resp.Request.URL, body)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestConsoleReadOnly: a read-only identity sees no write buttons and no
// admin pages, and a write it posts anyway is refused and changes nothing.
func TestConsoleReadOnly(t *testing.T) {
	s := MustRunMain(t, "", nil)
	c := s.e2eClient("")
	out, err := c.CreateSecret(e2eCtx, &secretsmanager.CreateSecretInput{Name: aws.String("ro"), SecretString: aws.String("v")})
	e2eNoErr(t, "create", err)
	_, err = c.RotateSecret(e2eCtx, &secretsmanager.RotateSecretInput{SecretId: out.ARN, RotationLambdaARN: aws.String(lambdaARN("rotor-generate-password"))})
	e2eNoErr(t, "rotate", err)
	waitNoPending(t, s, c, "ro")

	ro := e2eIdentity(t, s, "reader", "read-only", "")
	creds, err := ro.Options().Credentials.Retrieve(e2eCtx)
	e2eNoErr(t, "creds", err)
	u := consoleSignIn(t, s, creds.AccessKeyID, creds.SecretAccessKey)
	_, body, _ := u.get(consoleSecretPath(*out.ARN))
	for _, button := range []string{`id="rotate"`, `id="cancel"`, `id="abandon"`, "/console/attention", "/console/identities"} {
		if strings.Contains(body, button) {
			t.Errorf("read-only secret page offers %s", button)
		}
	}
	if !strings.Contains(body, "Reveal") {
		t.Errorf("read-only identity may read values but is not offered Reveal")
	}
	before, _ := c.DescribeSecret(e2eCtx, &secretsmanager.DescribeSecretInput{SecretId: out.ARN})
	for path, form := range map[string]url.Values{
		"/console/secret/rotate":         {"id": {*out.ARN}},
		"/console/secret/cancel":         {"id": {*out.ARN}},
		"/console/identities/key/create": {"identity": {"reader"}},
		"/console/identities/key/status": {"access_key_id": {s.KeyID}, "status": {"Inactive"}},
	} {
		status, body, _ := u.action(path, form)
		if status != http.StatusForbidden || !strings.Contains(body, "not authorized") {
			t.Errorf("read-only POST %s: status %d, want 403 with AWS's refusal: %.300s", path, status, body)
		}
	}
	if status, _, _ := u.get("/console/identities"); status != http.StatusForbidden {
		t.Errorf("read-only GET identities: status %d, want 403", status)
	}
	after, _ := c.DescribeSecret(e2eCtx, &secretsmanager.DescribeSecretInput{SecretId: out.ARN})
	if len(after.VersionIdsToStages) != len(before.VersionIdsToStages) || !aws.ToBool(after.RotationEnabled) {
		t.Errorf("refused posts changed the secret: %v -> %v", before.VersionIdsToStages, after.VersionIdsToStages)
	}
	if _, err := c.ListSecrets(e2eCtx, &secretsmanager.ListSecretsInput{}); err != nil {
		t.Fatal(err)
	}
	// The admin key is still active.
	if _, err := s.e2eClient("").ListSecrets(e2eCtx, &secretsmanager.ListSecretsInput{}); err != nil {
		t.Errorf("admin key after the refused deactivation: %v", err)
	}
}

// TestConsoleDisabled: console.enabled = false serves no console.
func TestConsoleDisabled(t *testing.T) {
	s := MustRunMain(t, "", func(c *Config) { c.Console.Enabled = false })
	status, body := s.get(t, "/console/signin")
	if status == http.StatusOK || strings.Contains(body, "Sign in to Rotor") {
		t.Errorf("console.enabled = false: GET /console/signin = %d %.200s", status, body)
	}
}

// TestConsoleWritesAudited: every change made from the console (rotate,
// cancel, abandon, and the access-key operations), and a write refused by
// the authorizer, is in the audit log as the API's operation would be,
// with the console's user agent; sign-ins are there too, failed ones
// included.
func TestConsoleWritesAudited(t *testing.T) {
	s := MustRunMain(t, "", nil)
	c := s.e2eClient("")
	out, err := c.CreateSecret(e2eCtx, &secretsmanager.CreateSecretInput{Name: aws.String("audited"), SecretString: aws.String("audited-value-0001")})
	e2eNoErr(t, "create", err)
	_, err = c.RotateSecret(e2eCtx, &secretsmanager.RotateSecretInput{SecretId: out.ARN, RotationLambdaARN: aws.String(lambdaARN("rotor-generate-password"))})
	e2eNoErr(t, "rotate", err)
	waitNoPending(t, s, c, "audited")
	e2eIdentity(t, s, "keyholder", "read-only", "")
	ro := e2eIdentity(t, s, "reader", "read-only", "")
	roCreds, err := ro.Options().Credentials.Retrieve(e2eCtx)
	e2eNoErr(t, "creds", err)

	jar, _ := cookiejar.New(nil)
	anon := &consoleUser{t: t, s: s, c: &http.Client{Jar: jar}}
	if status, _, _ := anon.post("/console/signin", url.Values{"access_key_id": {s.KeyID}, "secret_access_key": {"not-the-secret"}}); status != http.StatusUnauthorized {
		t.Errorf("wrong secret: status %d", status)
	}
	u := consoleSignIn(t, s, s.KeyID, s.Secret)
	mustRedirect := func(what string, status int, resp *http.Response, body string) {
		t.Helper()
		if status != http.StatusOK || strings.Contains(body, `id="error"`) {
			t.Fatalf("%s: status %d at %s: %.300s", what, status, resp.Request.URL, body)
		}
	}
	status, body, resp := u.action("/console/secret/rotate", url.Values{"id": {*out.ARN}})
	mustRedirect("rotate", status, resp, body)
	waitNoPending(t, s, c, "audited")
	status, body, resp = u.action("/console/secret/abandon", url.Values{"id": {*out.ARN}})
	if status != http.StatusBadRequest { // nothing to abandon: refused, and audited as refused
		t.Errorf("abandon with nothing to abandon: status %d", status)
	}
	status, body, resp = u.action("/console/secret/cancel", url.Values{"id": {*out.ARN}})
	mustRedirect("cancel", status, resp, body)
	status, body, resp = u.action("/console/identities/key/create", url.Values{"identity": {"keyholder"}})
	mustRedirect("create key", status, resp, body)
	newKey := regexp.MustCompile(`id="new-key-id">([A-Z0-9]+)<`).FindStringSubmatch(body)
	if newKey == nil {
		t.Fatalf("no new key on the page: %.500s", body)
	}
	status, body, resp = u.action("/console/identities/key/status", url.Values{"access_key_id": {newKey[1]}, "status": {"Inactive"}})
	mustRedirect("deactivate key", status, resp, body)
	status, body, resp = u.action("/console/identities/key/delete", url.Values{"access_key_id": {newKey[1]}})
	mustRedirect("delete key", status, resp, body)
	r := consoleSignIn(t, s, roCreds.AccessKeyID, roCreds.SecretAccessKey)
	if status, _, _ := r.action("/console/secret/rotate", url.Values{"id": {*out.ARN}}); status != http.StatusForbidden {
		t.Errorf("read-only rotate: status %d, want 403", status)
	}

	events, raw := auditEvents(t, s)
	if bytes.Contains(raw, []byte("audited-value-0001")) {
		t.Error("the audit log contains the secret's value")
	}
	type want struct{ source, name, principal, errorCode, param string }
	for _, w := range []want{
		{"rotor", "ConsoleSignIn", "", "UnrecognizedClientException", ""},
		{"rotor", "ConsoleSignIn", "admin", "", ""},
		{"secretsmanager.amazonaws.com", "RotateSecret", "admin", "", `"secretId":"` + *out.ARN + `"`},
		{"rotor", "AbandonRotation", "admin", "InvalidRequestException", `"secretId":"` + *out.ARN + `"`},
		{"secretsmanager.amazonaws.com", "CancelRotateSecret", "admin", "", `"secretId":"` + *out.ARN + `"`},
		{"rotor", "CreateAccessKey", "admin", "", `"identity":"keyholder"`},
		{"rotor", "UpdateAccessKey", "admin", "", `"accessKeyId":"` + newKey[1] + `","status":"Inactive"`},
		{"rotor", "DeleteAccessKey", "admin", "", `"accessKeyId":"` + newKey[1] + `"`},
		{"rotor", "ConsoleSignIn", "reader", "", ""},
		{"secretsmanager.amazonaws.com", "RotateSecret", "reader", "AccessDeniedException", `"secretId":"` + *out.ARN + `"`},
	} {
		found := false
		for _, ev := range events {
			ua, _ := ev["userAgent"].(string)
			if ev["eventSource"] != w.source || ev["eventName"] != w.name || !strings.HasPrefix(ua, "rotor-console") {
				continue
			}
			user, _ := ev["userIdentity"].(map[string]any)
			name, _ := user["userName"].(string)
			code, _ := ev["errorCode"].(string)
			params, _ := json.Marshal(ev["requestParameters"])
			if name == w.principal && code == w.errorCode && strings.Contains(string(params), w.param) {
				found = true
				if w.name != "ConsoleSignIn" && ev["readOnly"] != false {
					t.Errorf("%s from the console: readOnly = %v", w.name, ev["readOnly"])
				}
			}
		}
		if !found {
			t.Errorf("no audit record of %s %s by %q (error %q, parameters %s) from the console", w.source, w.name, w.principal, w.errorCode, w.param)
		}
	}
}

// TestConsoleRefusesWhenAuditFails: with the audit log failing (on
// /dev/full) and the server set to refuse then, the console refuses to
// sign in and to reveal — nothing is done that cannot be recorded.
func TestConsoleRefusesWhenAuditFails(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Fatalf("/dev/full is needed: %v", err)
	}
	s := MustRunMain(t, "", func(c *Config) { c.Audit.File = "/dev/full" })
	// Requests are served until the first failed write is noticed.
	deadline := time.Now().Add(10 * time.Second)
	for s.audit.Stats().Healthy && time.Now().Before(deadline) {
		s.get(t, "/console/signin")
		jar, _ := cookiejar.New(nil)
		(&consoleUser{t: t, s: s, c: &http.Client{Jar: jar}}).post("/console/signin", url.Values{"access_key_id": {"AKIAXXXXXXXXXXXXXXXX"}, "secret_access_key": {"x"}})
		time.Sleep(20 * time.Millisecond)
	}
	if s.audit.Stats().Healthy {
		t.Fatal("the audit log on /dev/full still counts as healthy")
	}
	jar, _ := cookiejar.New(nil)
	u := &consoleUser{t: t, s: s, c: &http.Client{Jar: jar}}
	status, body, _ := u.post("/console/signin", url.Values{"access_key_id": {s.KeyID}, "secret_access_key": {s.Secret}})
	if status != http.StatusServiceUnavailable {
		t.Errorf("sign-in while the audit log fails: status %d, want 503: %.300s", status, body)
	}
	if _, _, resp := u.get("/console/secrets"); resp.Request.URL.Path != "/console/signin" {
		t.Errorf("the refused sign-in opened a session: GET ended at %s", resp.Request.URL.Path)
	}
}

// TestConsoleSignInThrottled: failed sign-ins with one access key are
// throttled (429 with Retry-After, audited), and then even the right
// secret waits; the API is not affected.
func TestConsoleSignInThrottled(t *testing.T) {
	s := MustRunMain(t, "", nil)
	jar, _ := cookiejar.New(nil)
	u := &consoleUser{t: t, s: s, c: &http.Client{Jar: jar}}
	var resp *http.Response
	var status int
	var body string
	refused := 0
	for i := 0; i < 20; i++ {
		status, body, resp = u.post("/console/signin", url.Values{"access_key_id": {s.KeyID}, "secret_access_key": {"wrong"}})
		if status == http.StatusTooManyRequests {
			break
		}
		if status != http.StatusUnauthorized {
			t.Fatalf("wrong secret %d: status %d", i+1, status)
		}
		refused++
	}
	if status != http.StatusTooManyRequests {
		t.Fatalf("20 wrong secrets in a row were never throttled")
	}
	if refused < 5 {
		t.Errorf("throttled after %d failures, want at least the burst of 5", refused)
	}
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || secs < 1 {
		t.Errorf("Retry-After = %q", resp.Header.Get("Retry-After"))
	}
	if !strings.Contains(body, "Too many failed sign-ins") {
		t.Errorf("throttled page: %.400s", body)
	}
	if status, _, _ := u.post("/console/signin", url.Values{"access_key_id": {s.KeyID}, "secret_access_key": {s.Secret}}); status != http.StatusTooManyRequests {
		t.Errorf("right secret right after throttling: status %d, want 429", status)
	}
	if _, err := s.e2eClient("").ListSecrets(e2eCtx, &secretsmanager.ListSecretsInput{}); err != nil {
		t.Errorf("the API with the throttled key: %v", err)
	}
	events, _ := auditEvents(t, s)
	throttled := 0
	for _, ev := range events {
		if ev["eventName"] == "ConsoleSignIn" && ev["errorCode"] == "ThrottlingException" {
			throttled++
		}
	}
	if throttled != 2 {
		t.Errorf("%d throttled sign-ins audited, want 2", throttled)
	}
}

// TestConsoleNavFollowsPolicy: the header links to the needs-attention
// page only for identities that may read run history, and to the
// identities page only for those that may list identities.
func TestConsoleNavFollowsPolicy(t *testing.T) {
	s := MustRunMain(t, "", nil)
	for _, tc := range []struct {
		name, action          string
		attention, identities bool
	}{
		{"runs-reader", "rotor:ListRotationRuns", true, false},
		{"ids-reader", "rotor:ListIdentities", false, true},
	} {
		doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["secretsmanager:ListSecrets","` + tc.action + `"],"Resource":"*"}]}`
		cl := e2eIdentity(t, s, tc.name, "", doc)
		creds, err := cl.Options().Credentials.Retrieve(e2eCtx)
		e2eNoErr(t, "creds", err)
		u := consoleSignIn(t, s, creds.AccessKeyID, creds.SecretAccessKey)
		_, body, _ := u.get("/console/secrets")
		if got := strings.Contains(body, `href="/console/attention`); got != tc.attention {
			t.Errorf("%s: link to needs attention = %v, want %v", tc.name, got, tc.attention)
		}
		if got := strings.Contains(body, `href="/console/identities`); got != tc.identities {
			t.Errorf("%s: link to identities = %v, want %v", tc.name, got, tc.identities)
		}
		wantStatus := http.StatusForbidden
		if tc.identities {
			wantStatus = http.StatusOK
		}
		if status, _, _ := u.get("/console/identities"); status != wantStatus {
			t.Errorf("%s: GET identities = %d, want %d", tc.name, status, wantStatus)
		}
	}
}
