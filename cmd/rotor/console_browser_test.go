package main

// The web console driven in a real headless Chromium (Debian's chromium
// package, through chromedp): sign in, find a secret, rotate it and watch
// the timeline change, reveal a value (audited), retry a failed run, and a
// read-only identity that sees no write buttons and is refused when it
// posts anyway. Screenshots of every page go to $ROTOR_TEST_ARTIFACTS
// (default: a temporary directory), logged at the start.

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/chromedp/chromedp"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/internal/testsvc"
)

// browser starts headless Chromium for the test and returns its context.
func browser(t *testing.T) context.Context {
	t.Helper()
	exec := testsvc.Command(t, "chromium")
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exec),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1366, 768))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses to run as root with its sandbox
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser, for as long as ctx lives
		t.Fatalf("start chromium (%s): %v", exec, err)
	}
	return ctx
}

// artifacts is the directory screenshots are written to.
func artifacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("ROTOR_TEST_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	dir = filepath.Join(dir, "console")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("console screenshots: %s", dir)
	return dir
}

// actionTimeout bounds each step of the browser test.
const actionTimeout = 30 * time.Second

// brun runs chromedp actions, failing the test with what was being done
// and where the browser was.
func brun(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, actionTimeout)
	defer cancel()
	if err := chromedp.Do(c, actions...); err != nil {
		browserFatal(t, ctx, what, err)
	}
}

// bval runs one action that returns a value.
func bval[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, actionTimeout)
	defer cancel()
	v, err := chromedp.Run(c, a)
	if err != nil {
		browserFatal(t, ctx, what, err)
	}
	return v
}

func browserFatal(t *testing.T, ctx context.Context, what string, err error) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(c, chromedp.Location())
	body, _ := chromedp.Run(c, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 800) : ""`))
	t.Fatalf("%s: %v (at %s: %q)", what, err, loc, body)
}

// screenshot saves the whole page as dir/name.png.
func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png := bval(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// count evaluates document.querySelectorAll(sel).length.
func count(t *testing.T, ctx context.Context, sel string) int {
	t.Helper()
	return bval(t, ctx, "count "+sel, chromedp.Evaluate[int](`document.querySelectorAll(`+jsString(sel)+`).length`))
}

func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// waitFor loads url until cond holds, for at most 30 s. A load the page
// interrupts (its own refresh while a rotation runs) is tried again.
func waitFor(t *testing.T, ctx context.Context, url, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, cancel := context.WithTimeout(ctx, actionTimeout)
		err := chromedp.Do(c, chromedp.Navigate(url), chromedp.WaitReady(chromedp.CSS("body")))
		cancel()
		if err == nil && cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not seen within 30 s (last load: %v)", what, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// clickNav clicks sel and waits until the page it leads to has loaded
// (the old page's document is gone and the new one is complete).
func clickNav(t *testing.T, ctx context.Context, what, sel string) {
	t.Helper()
	bval(t, ctx, what+": mark the page", chromedp.Evaluate[bool](`window.rotorTestOld = true`))
	brun(t, ctx, what, chromedp.Click(chromedp.CSS(sel)))
	deadline := time.Now().Add(actionTimeout)
	for {
		c, cancel := context.WithTimeout(ctx, 2*time.Second)
		done, err := chromedp.Run(c, chromedp.Evaluate[bool](`window.rotorTestOld !== true && document.readyState === "complete"`))
		cancel()
		if err == nil && done {
			return
		}
		if time.Now().After(deadline) {
			browserFatal(t, ctx, what+": no new page", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestConsoleBrowser(t *testing.T) {
	ctx := browser(t)
	dir := artifacts(t)
	s := MustRunMain(t, "", func(c *Config) { c.Rotation.MaxAttempts = 1 })
	c := s.e2eClient("")
	fn := aws.String(lambdaARN("rotor-generate-password"))

	// browser/app rotates with the generate-password function; browser/broken
	// holds a value that function refuses ("starts like JSON but is not"), so
	// its rotation fails.
	app, err := c.CreateSecret(e2eCtx, &secretsmanager.CreateSecretInput{Name: aws.String("browser/app"),
		SecretString: aws.String(`{"username":"app","password":"first"}`), Description: aws.String("the app's database login")})
	e2eNoErr(t, "create app", err)
	_, err = c.RotateSecret(e2eCtx, &secretsmanager.RotateSecretInput{SecretId: app.ARN, RotationLambdaARN: fn})
	e2eNoErr(t, "rotate app", err)
	waitNoPending(t, c, "browser/app")
	_, err = c.CreateSecret(e2eCtx, &secretsmanager.CreateSecretInput{Name: aws.String("browser/broken"), SecretString: aws.String("{broken")})
	e2eNoErr(t, "create broken", err)
	_, err = c.RotateSecret(e2eCtx, &secretsmanager.RotateSecretInput{SecretId: aws.String("browser/broken"), RotationLambdaARN: fn})
	e2eNoErr(t, "rotate broken", err)
	for _, name := range []string{"browser/other-1", "browser/other-2", "zeta"} {
		_, err := c.CreateSecret(e2eCtx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String("x-" + name)})
		e2eNoErr(t, "create "+name, err)
	}
	base := s.URL() + "/console/"

	// Sign in.
	brun(t, ctx, "sign-in page", chromedp.Navigate(base), chromedp.WaitVisible(chromedp.CSS("#access_key_id")))
	screenshot(t, ctx, dir, "01-signin")
	brun(t, ctx, "sign in",
		chromedp.SendKeys(chromedp.CSS("#access_key_id"), s.KeyID),
		chromedp.SendKeys(chromedp.CSS("#secret_access_key"), s.Secret),
	)
	clickNav(t, ctx, "sign in", "#signin")
	who := bval(t, ctx, "who", chromedp.Text(chromedp.CSS("#who")))
	if who != "admin" {
		t.Errorf("signed in as %q, want admin", who)
	}
	screenshot(t, ctx, dir, "02-secrets")

	// Find the secret by searching its name.
	brun(t, ctx, "search", chromedp.SendKeys(chromedp.CSS("#q"), "browser/app"))
	clickNav(t, ctx, "search", "#search")
	if n := count(t, ctx, "#secrets tbody tr"); n != 1 {
		t.Errorf("search for browser/app lists %d secrets, want 1", n)
	}
	screenshot(t, ctx, dir, "03-search")
	clickNav(t, ctx, "open the secret", `#secrets a[href*="browser%2Fapp"]`)
	secretURL := bval(t, ctx, "location", chromedp.Location())
	currentBars := func() int { return count(t, ctx, "#timeline g.tl-bar") }
	before := currentBars()
	if before < 3 { // AWSCURRENT twice, AWSPENDING once, AWSPREVIOUS once after one rotation
		t.Errorf("timeline after one rotation has %d bars, want at least 3", before)
	}
	screenshot(t, ctx, dir, "04-secret")

	// Rotate now, and watch the timeline grow (the page refreshes itself
	// while the run is active; reloading here bounds the wait).
	clickNav(t, ctx, "rotate now", "#rotate")
	waitFor(t, ctx, secretURL, "the rotation in the timeline", func() bool {
		return currentBars() > before && count(t, ctx, "#active") == 0
	})
	if n := count(t, ctx, "article.run.status-succeeded"); n != 2 {
		t.Errorf("run history shows %d succeeded runs, want 2", n)
	}
	screenshot(t, ctx, dir, "05-secret-rotated")

	// Reveal the current value: exactly what the API returns.
	clickNav(t, ctx, "reveal", "#versions button.reveal")
	shown := bval(t, ctx, "revealed value", chromedp.TextContent(chromedp.CSS("#value")))
	cur, err := c.GetSecretValue(e2eCtx, &secretsmanager.GetSecretValueInput{SecretId: app.ARN})
	e2eNoErr(t, "get", err)
	if shown != *cur.SecretString {
		t.Errorf("revealed %q, want %q", shown, *cur.SecretString)
	}
	screenshot(t, ctx, dir, "06-revealed")
	waitAudit(t, s, func(line string) bool {
		return strings.Contains(line, `"eventName":"GetSecretValue"`) && strings.Contains(line, `"userAgent":"rotor-console`) &&
			strings.Contains(line, *cur.VersionId)
	})

	// The failed run is on the needs-attention page; retry it there.
	waitFor(t, ctx, base+"attention", "the failed run", func() bool { return count(t, ctx, "#failed-runs tbody tr") == 1 })
	screenshot(t, ctx, dir, "07-attention")
	hist := func() int {
		h, err := s.Main.manager.RotationHistory(adminCtx(s), "browser/broken", 1)
		e2eNoErr(t, "history", err)
		return len(h[0].Steps)
	}
	stepsBefore := hist()
	clickNav(t, ctx, "retry", "#failed-runs button")
	flash := bval(t, ctx, "flash", chromedp.Text(chromedp.CSS(".flash")))
	if !strings.Contains(flash, "reattempted") {
		t.Errorf("after Retry the page says %q", flash)
	}
	deadline := time.Now().Add(30 * time.Second)
	for hist() <= stepsBefore && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if hist() <= stepsBefore {
		t.Errorf("Retry did not re-run the failed rotation (still %d step records)", stepsBefore)
	}
	brokenURL := s.URL() + consoleSecretPath("browser/broken")
	waitFor(t, ctx, brokenURL, "the retried run's failure", func() bool { return count(t, ctx, "article.run.status-failed .steps tbody tr") > stepsBefore })
	screenshot(t, ctx, dir, "08-failed-run")

	brun(t, ctx, "identities", chromedp.Navigate(base+"identities"), chromedp.WaitVisible(chromedp.CSS("section.identity")))
	screenshot(t, ctx, dir, "09-identities")

	// The phone layout: no page wider than the screen.
	brun(t, ctx, "phone", chromedp.EmulateViewport(390, 844), chromedp.Navigate(secretURL), chromedp.WaitVisible(chromedp.CSS("#timeline")))
	overflow := bval(t, ctx, "overflow", chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	if overflow {
		wide := bval(t, ctx, "wide elements", chromedp.Evaluate[string](`[...document.querySelectorAll("body *")].filter(e => (!e.parentElement.closest(".scroll, .timeline")) && e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 8).map(e => e.tagName + "." + e.getAttribute("class") + "#" + e.id + ":" + Math.round(e.getBoundingClientRect().right)).join(" ")`))
		t.Errorf("the secret page is wider than a 390 px screen: %s (%s)", wide, bval(t, ctx, "widths", chromedp.Evaluate[string](`[document.documentElement.scrollWidth, document.documentElement.clientWidth, window.innerWidth, document.body.scrollWidth].join(" ")`)))
	}
	screenshot(t, ctx, dir, "10-secret-phone")
	brun(t, ctx, "laptop", chromedp.EmulateViewport(1366, 768))

	// Sign out, then sign in as a read-only identity.
	brun(t, ctx, "secrets", chromedp.Navigate(base+"secrets"), chromedp.WaitVisible(chromedp.CSS("#secrets")))
	clickNav(t, ctx, "sign out", "header form button")
	ro := e2eIdentity(t, s, "viewer", "read-only", "")
	creds, err := ro.Options().Credentials.Retrieve(e2eCtx)
	e2eNoErr(t, "creds", err)
	brun(t, ctx, "sign in read-only",
		chromedp.SendKeys(chromedp.CSS("#access_key_id"), creds.AccessKeyID),
		chromedp.SendKeys(chromedp.CSS("#secret_access_key"), creds.SecretAccessKey),
	)
	clickNav(t, ctx, "sign in read-only", "#signin")
	brun(t, ctx, "read-only secret page", chromedp.Navigate(secretURL), chromedp.WaitVisible(chromedp.CSS("#timeline")))
	for _, sel := range []string{"#rotate", "#cancel", "#abandon", `a[href*="/console/identities"]`, `a[href*="/console/attention"]`} {
		if n := count(t, ctx, sel); n != 0 {
			t.Errorf("read-only page shows %s", sel)
		}
	}
	screenshot(t, ctx, dir, "11-read-only")
	// Posting the rotation anyway, from the page (same origin, its own
	// session's CSRF token), is refused.
	brun(t, ctx, "post anyway", chromedp.Evaluate[chromedp.Void](`(() => {
		const f = document.createElement("form");
		f.method = "post";
		f.action = "/console/secret/rotate";
		for (const [k, v] of [["csrf", document.querySelector("input[name=csrf]").value], ["id", "browser/app"]]) {
			const i = document.createElement("input");
			i.type = "hidden"; i.name = k; i.value = v;
			f.appendChild(i);
		}
		document.body.appendChild(f);
		f.submit();
	})()`), chromedp.WaitVisible(chromedp.CSS("#error")))
	if msg := bval(t, ctx, "refusal", chromedp.Text(chromedp.CSS("#error"))); !strings.Contains(msg, "is not authorized to perform: secretsmanager:RotateSecret") {
		t.Errorf("read-only rotate POST answered %q, want AWS's AccessDenied message", msg)
	}
	screenshot(t, ctx, dir, "12-read-only-refused")
	out, err := c.ListSecretVersionIds(e2eCtx, &secretsmanager.ListSecretVersionIdsInput{SecretId: app.ARN})
	e2eNoErr(t, "versions", err)
	for _, v := range out.Versions {
		for _, st := range v.VersionStages {
			if st == "AWSPENDING" {
				t.Error("the refused rotation left an AWSPENDING version")
			}
		}
	}
}

// waitAudit waits until a line of the audit file satisfies match.
func waitAudit(t *testing.T, s *testServer, match func(string) bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		data, _ := os.ReadFile(s.Config.AuditPath())
		for _, line := range bytes.Split(data, []byte("\n")) {
			if match(string(line)) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the audit log has no record of the reveal")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// adminCtx is a context in which the in-process manager acts for the
// admin identity (to read run history without going through the API).
func adminCtx(s *testServer) context.Context {
	return rotor.NewContext(context.Background(), rotor.Caller{Principal: rotor.Principal{Identity: "admin", Role: rotor.RoleAdmin}, Region: s.Region})
}
