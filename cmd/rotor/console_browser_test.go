package main

// The web console driven in a real headless Chromium (Debian's chromium
// package, through chromedp): sign in, find a secret, rotate it and watch
// the timeline change, reveal a value (audited), retry a failed run, and a
// read-only identity that sees no write buttons and is refused when it
// posts anyway. Screenshots of every page go to $ROTOR_TEST_ARTIFACTS
// (default: a temporary directory), logged at the start, and every page is
// checked with axe-core (test/js's pinned npm package, injected through
// the DevTools protocol since the pages' CSP allows no inline script): a
// serious or critical accessibility violation fails the test.

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

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

// screenshot saves the whole page as dir/name.png, after checking its
// accessibility (checkA11y).
func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	checkA11y(t, ctx, name)
	png := bval(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// axeSource is the text of axe-core's axe.min.js from test/js (npm ci
// there installs the version package.json pins), read once.
func axeSource(t *testing.T) string {
	t.Helper()
	testsvc.Node(t, jsDir, "axe-core")
	b, err := axeFile()
	if err != nil {
		t.Fatalf("read axe-core: %v", err)
	}
	return string(b)
}

var (
	jsDir   = filepath.Join("..", "..", "test", "js")
	axeFile = sync.OnceValues(func() ([]byte, error) {
		return os.ReadFile(filepath.Join(jsDir, "node_modules", "axe-core", "axe.min.js"))
	})
)

// axeRun runs every axe-core rule (WCAG 2.0, 2.1 and 2.2 A and AA, and the
// best practices) on the document and returns the violations, one line
// each starting with the impact, with the elements involved.
const axeRun = `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations
	.map(v => v.impact + " " + v.id + ": " + v.help + " [" +
		v.nodes.slice(0, 5).map(n => n.target.join(" ") + (n.failureSummary ? " (" + n.failureSummary.replace(/\s+/g, " ") + ")" : "")).join("; ") + "]"))`

// checkA11y injects axe-core into the page shown (through
// Runtime.evaluate, which the page's CSP does not govern) and fails the
// test on each serious or critical violation it finds; lesser ones are
// logged.
func checkA11y(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if !bval(t, ctx, "axe-core loaded on "+name, chromedp.Evaluate[bool](axeSource(t)+"; typeof axe === \"object\"")) {
		t.Fatalf("%s: axe-core did not load", name)
	}
	c, cancel := context.WithTimeout(ctx, 2*actionTimeout)
	defer cancel()
	found, err := chromedp.Run(c, chromedp.Evaluate[[]string](axeRun, chromedp.EvalAwaitPromise))
	if err != nil {
		browserFatal(t, ctx, "axe-core on "+name, err)
	}
	for _, v := range found {
		if strings.HasPrefix(v, "serious ") || strings.HasPrefix(v, "critical ") {
			t.Errorf("accessibility of %s: %s", name, v)
		} else {
			t.Logf("accessibility of %s (not failing): %s", name, v)
		}
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
	navigateBy(t, ctx, what, chromedp.Click(chromedp.CSS(sel)))
}

// navigateBy runs an action that leads to another page (a click, a key)
// and waits until that page has loaded.
func navigateBy(t *testing.T, ctx context.Context, what string, action chromedp.Action[chromedp.Void]) {
	t.Helper()
	bval(t, ctx, what+": mark the page", chromedp.Evaluate[bool](`window.rotorTestOld = true`))
	brun(t, ctx, what, action)
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
	waitNoPending(t, s, c, "browser/app")
	_, err = c.CreateSecret(e2eCtx, &secretsmanager.CreateSecretInput{Name: aws.String("browser/broken"), SecretString: aws.String("{broken")})
	e2eNoErr(t, "create broken", err)
	_, err = c.RotateSecret(e2eCtx, &secretsmanager.RotateSecretInput{SecretId: aws.String("browser/broken"), RotationLambdaARN: fn})
	e2eNoErr(t, "rotate broken", err)
	for _, name := range []string{"browser/other-1", "browser/other-2", "zeta"} {
		_, err := c.CreateSecret(e2eCtx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String("x-" + name)})
		e2eNoErr(t, "create "+name, err)
	}
	base := s.URL() + "/console/"

	// A wrong secret is refused with an alert.
	brun(t, ctx, "sign-in page", chromedp.Navigate(base), chromedp.WaitVisible(chromedp.CSS("#access_key_id")),
		chromedp.SendKeys(chromedp.CSS("#access_key_id"), s.KeyID),
		chromedp.SendKeys(chromedp.CSS("#secret_access_key"), "wrong"))
	clickNav(t, ctx, "wrong sign-in", "#signin")
	if n := count(t, ctx, `#error[role="alert"]`); n != 1 {
		t.Errorf("a wrong sign-in shows %d alerts, want 1", n)
	}
	screenshot(t, ctx, dir, "00-signin-refused")

	// Sign in with the keyboard only: Tab reaches the skip link, the home
	// link, then the two fields in order; Enter sends the form.
	brun(t, ctx, "sign-in page", chromedp.Navigate(base), chromedp.WaitVisible(chromedp.CSS("#access_key_id")))
	screenshot(t, ctx, dir, "01-signin")
	for i, want := range []string{"A.skip", "A.brand", "INPUT#access_key_id"} {
		brun(t, ctx, "tab", chromedp.KeyEvent(kb.Tab))
		if f := focused(t, ctx); f != want {
			t.Errorf("Tab %d on the sign-in page focuses %s, want %s", i+1, f, want)
		}
	}
	brun(t, ctx, "type the key", chromedp.KeyEvent(s.KeyID), chromedp.KeyEvent(kb.Tab))
	if f := focused(t, ctx); f != "INPUT#secret_access_key" {
		t.Errorf("Tab from the key id focuses %s, want the secret", f)
	}
	brun(t, ctx, "type the secret", chromedp.KeyEvent(s.Secret))
	navigateBy(t, ctx, "sign in with Enter", chromedp.KeyEvent(kb.Enter))
	who := bval(t, ctx, "who", chromedp.Text(chromedp.CSS("#who")))
	if who != "admin" {
		t.Errorf("signed in as %q, want admin", who)
	}
	screenshot(t, ctx, dir, "02-secrets")

	// Skip the header with the skip link, and search by keyboard.
	brun(t, ctx, "tab", chromedp.KeyEvent(kb.Tab))
	if f := focused(t, ctx); f != "A.skip" {
		t.Errorf("first Tab on the secrets page focuses %s, want the skip link", f)
	}
	brun(t, ctx, "skip", chromedp.KeyEvent(kb.Enter))
	if f := focused(t, ctx); f != "MAIN#main" {
		t.Errorf("the skip link moved the focus to %s, want the main content", f)
	}
	brun(t, ctx, "tab to the search", chromedp.KeyEvent(kb.Tab))
	if f := focused(t, ctx); f != "INPUT#q" {
		t.Errorf("Tab after skipping focuses %s, want the name search", f)
	}
	brun(t, ctx, "type the name", chromedp.KeyEvent("browser/app"))
	navigateBy(t, ctx, "search with Enter", chromedp.KeyEvent(kb.Enter))
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
	// A second access key for admin: shown once, then deleted.
	clickNav(t, ctx, "create a key", `button[aria-label="Create access key for admin"]`)
	newKey := bval(t, ctx, "new key id", chromedp.Text(chromedp.CSS("#new-key-id")))
	if n := count(t, ctx, "#new-key-secret"); n != 1 || len(newKey) < 16 {
		t.Fatalf("the created key %q is not shown with its secret", newKey)
	}
	screenshot(t, ctx, dir, "09b-key-created")
	// Delete asks first: dismissed, nothing happens; accepted, the key goes.
	dialogs := answerDialogs(t, ctx)
	deleteKey := `button[aria-label="Delete access key ` + newKey + `"]`
	dialogs.accept.Store(false)
	bval(t, ctx, "mark the page", chromedp.Evaluate[bool](`window.rotorTestOld = true`))
	brun(t, ctx, "delete the key, then dismiss", chromedp.Click(chromedp.CSS(deleteKey)))
	if msg := dialogs.wait(t); !strings.Contains(msg, "Delete access key "+newKey+"?") {
		t.Errorf("the delete button asked %q", msg)
	}
	time.Sleep(300 * time.Millisecond) // a form sent anyway would be on its way
	if still := bval(t, ctx, "same page", chromedp.Evaluate[bool](`window.rotorTestOld === true`)); !still || count(t, ctx, deleteKey) != 1 {
		t.Errorf("dismissing the confirmation still sent the form")
	}
	dialogs.accept.Store(true)
	clickNav(t, ctx, "delete the key, then accept", deleteKey)
	dialogs.wait(t)
	if msg := bval(t, ctx, "flash", chromedp.Text(chromedp.CSS(".flash"))); msg != "Access key deleted." || count(t, ctx, "#new-key-secret") != 0 {
		t.Errorf("after deleting the key the page says %q", msg)
	}
	screenshot(t, ctx, dir, "09c-key-deleted")

	// The phone layout: no page wider than the screen (tables and the
	// timeline scroll inside their own box).
	for _, p := range []struct{ name, url, sel string }{
		{"10-secret-phone", secretURL, "#timeline"},
		{"10b-secrets-phone", base + "secrets", "#secrets"},
		{"10c-attention-phone", base + "attention", "main h1"},
		{"10d-identities-phone", base + "identities", "section.identity"},
	} {
		brun(t, ctx, "phone", chromedp.EmulateViewport(390, 844), chromedp.Navigate(p.url), chromedp.WaitVisible(chromedp.CSS(p.sel)))
		overflow := bval(t, ctx, "overflow", chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
		if overflow {
			wide := bval(t, ctx, "wide elements", chromedp.Evaluate[string](`[...document.querySelectorAll("body *")].filter(e => (!e.parentElement.closest(".scroll, .timeline")) && e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 8).map(e => e.tagName + "." + e.getAttribute("class") + "#" + e.id + ":" + Math.round(e.getBoundingClientRect().right)).join(" ")`))
			t.Errorf("%s is wider than a 390 px screen: %s (%s)", p.name, wide, bval(t, ctx, "widths", chromedp.Evaluate[string](`[document.documentElement.scrollWidth, document.documentElement.clientWidth, window.innerWidth, document.body.scrollWidth].join(" ")`)))
		}
		if p.sel == "#timeline" { // drawn at a legible size, scrolling in its box
			if w := bval(t, ctx, "timeline width", chromedp.Evaluate[float64](`document.querySelector("#timeline").getBoundingClientRect().width`)); w < 640 {
				t.Errorf("on a phone the timeline is %.0f px wide, want at least 640 (scrolling)", w)
			}
		}
		screenshot(t, ctx, dir, p.name)
	}
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

// dialogAnswerer answers the page's JavaScript dialogs: accept or
// dismiss as told, passing on each message.
type dialogAnswerer struct {
	accept   atomic.Bool
	messages chan string
}

// answerDialogs starts answering the dialogs of the browser's page.
func answerDialogs(t *testing.T, ctx context.Context) *dialogAnswerer {
	t.Helper()
	d := &dialogAnswerer{messages: make(chan string, 8)}
	lctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	opening := chromedp.Events(lctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range opening {
			if err != nil {
				return
			}
			accept := d.accept.Load()
			go func() { // answered from another goroutine than the one receiving events
				chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: accept})
			}()
			d.messages <- ev.Message
		}
	}()
	return d
}

// wait returns the message of the next dialog the page opened.
func (d *dialogAnswerer) wait(t *testing.T) string {
	t.Helper()
	select {
	case m := <-d.messages:
		return m
	case <-time.After(actionTimeout):
		t.Fatal("the page opened no dialog")
		return ""
	}
}

// focused describes the focused element: TAG#id, or TAG.class without id.
func focused(t *testing.T, ctx context.Context) string {
	t.Helper()
	return bval(t, ctx, "focused element", chromedp.Evaluate[string](`(e => e.tagName + (e.id ? "#" + e.id : "." + e.className))(document.activeElement)`))
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

// browserSignIn signs in on the sign-in page with the key.
func browserSignIn(t *testing.T, ctx context.Context, base, id, secret string) {
	t.Helper()
	brun(t, ctx, "sign-in page", chromedp.Navigate(base+"signin"), chromedp.WaitVisible(chromedp.CSS("#access_key_id")),
		chromedp.SendKeys(chromedp.CSS("#access_key_id"), id), chromedp.SendKeys(chromedp.CSS("#secret_access_key"), secret))
	clickNav(t, ctx, "sign in", "#signin")
	if n := count(t, ctx, "#who"); n != 1 {
		browserFatal(t, ctx, "sign in", nil)
	}
}

// TestConsoleBrowserHostileText stores a secret whose description, tags,
// version id and custom staging labels are made of markup that breaks out
// of HTML text, attributes, SVG and CDATA, with non-ASCII text, and
// checks in Chromium that every page shows them as text, exactly, and that
// they made no element, attribute or script (whatever the CSP would have
// stopped).
func TestConsoleBrowserHostileText(t *testing.T) {
	ctx := browser(t)
	dir := artifacts(t)
	s := MustRunMain(t, "", nil)
	c := s.e2eClient("")
	const (
		name     = "hostile/+=.@_-x"
		desc     = `</dd><script>window.pwned=1</script>"q" 's' ]]> <![CDATA[ x ]]> </svg><svg onload="window.pwned=2"> ü😀 {{.}} &amp; ` + "\u2028" + ` end`
		tagKey   = `<b id="pwn">k]]>`
		tagValue = `"><img src=x onerror="window.pwned=3"> ü`
		token    = `<svg/onload=window.pwned=4>"']]>-0123456789abcdef-ü`
		label1   = `<script>window.pwned=5</script>`
		label2   = `]]></text><text onclick="window.pwned=6">&lt;`
		label3   = `ü😀-label`
	)
	out, err := c.CreateSecret(e2eCtx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String("hostile-value-0001"),
		Description: aws.String(desc), Tags: []types.Tag{{Key: aws.String(tagKey), Value: aws.String(tagValue)}}})
	e2eNoErr(t, "create", err)
	_, err = c.PutSecretValue(e2eCtx, &secretsmanager.PutSecretValueInput{SecretId: out.ARN, SecretString: aws.String("hostile-value-0002"),
		ClientRequestToken: aws.String(token), VersionStages: []string{label1, label2, label3}})
	e2eNoErr(t, "put", err)
	base := s.URL() + "/console/"
	browserSignIn(t, ctx, base, s.KeyID, s.Secret)

	// What markup each page may have: one script (console.js), the one
	// timeline SVG on a secret's page, no inline handler, no element the
	// strings would have made.
	clean := func(page string, svgs int) {
		t.Helper()
		got := bval(t, ctx, "markup of "+page, chromedp.Evaluate[string](`[
			document.querySelectorAll("script").length,
			document.querySelectorAll("svg").length,
			document.querySelectorAll("img, #pwn, [onload], [onerror], [onclick]").length,
			typeof window.pwned,
			document.body.innerText.includes("hostile-value-000")].join(" ")`))
		if want := "1 " + strconv.Itoa(svgs) + " 0 undefined false"; got != want {
			t.Errorf("%s: scripts, svgs, injected elements, window.pwned, a value shown = %s; want %s", page, got, want)
		}
	}
	texts := func(sel string) []string {
		t.Helper()
		return bval(t, ctx, "texts of "+sel, chromedp.Evaluate[[]string](`[...document.querySelectorAll(`+jsString(sel)+`)].map(e => e.textContent)`))
	}

	brun(t, ctx, "list", chromedp.Navigate(base+"secrets?q=hostile"), chromedp.WaitVisible(chromedp.CSS("#secrets")))
	clean("the list", 0)
	if got := texts("#secrets tbody .muted"); len(got) != 1 || got[0] != desc {
		t.Errorf("the list shows the description as %q, want %q", got, desc)
	}
	if got := texts("#secrets tbody .tag"); len(got) != 1 || got[0] != tagKey+"="+tagValue {
		t.Errorf("the list shows the tag as %q", got)
	}
	screenshot(t, ctx, dir, "hostile-list")
	clickNav(t, ctx, "open the secret", "#secrets tbody a")
	clean("the secret's page", 1)
	if got := texts("#name"); len(got) != 1 || got[0] != name {
		t.Errorf("heading %q, want %q", got, name)
	}
	if got := texts("dd"); !slices.Contains(got, desc) || !slices.Contains(got, tagKey+"="+tagValue+" ") {
		t.Errorf("the details do not show the description and the tag exactly: %q", got)
	}
	labels := texts("#timeline text.tl-label title")
	for _, l := range []string{label1, label2, label3} {
		if !slices.Contains(labels, l) {
			t.Errorf("the timeline has no row labelled %q: %q", l, labels)
		}
	}
	titles := strings.Join(texts("#timeline rect title"), "\n")
	if !strings.Contains(titles, label2+" on version "+token+" from") {
		t.Errorf("the timeline's bar titles do not name the label and version exactly: %s", titles)
	}
	if got := texts("#versions tbody td.mono"); !slices.Contains(got, token) {
		t.Errorf("the versions table does not show the version id exactly: %q", got)
	}
	if got := texts("#label-events td.mono"); !slices.Contains(got, token) {
		t.Errorf("the label moves do not show the version id exactly: %q", got)
	}
	screenshot(t, ctx, dir, "hostile-secret")

	// Reveal the hostile version: its value shows exactly, still as text.
	brun(t, ctx, "the hostile version's reveal button", chromedp.WaitVisible(chromedp.CSS(`#versions button[aria-label*="-0123456789abcdef-"]`)))
	clickNav(t, ctx, "reveal", `#versions button[aria-label*="-0123456789abcdef-"]`)
	if got := texts("#value"); len(got) != 1 || got[0] != "hostile-value-0002" {
		t.Errorf("revealed %q", got)
	}
	if got := texts("#revealed .mono"); len(got) != 1 || got[0] != token {
		t.Errorf("the reveal names the version %q, want %q", got, token)
	}
}
