package console_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/admin"
	"github.com/rotorhq/rotor/auth"
	"github.com/rotorhq/rotor/console"
	"github.com/rotorhq/rotor/envelope"
	"github.com/rotorhq/rotor/manager"
	"github.com/rotorhq/rotor/sqlite"
)

const region = "us-east-1"

// readCounter counts the secret records read from the store by listings.
type readCounter struct {
	rotor.Store
	read atomic.Int64
}

func (s *readCounter) View(ctx context.Context, fn func(rotor.Tx) error) error {
	return s.Store.View(ctx, func(tx rotor.Tx) error { return fn(&countingTx{Tx: tx, n: &s.read}) })
}

type countingTx struct {
	rotor.Tx
	n *atomic.Int64
}

func (t *countingTx) Secrets(region string) ([]*rotor.SecretRecord, error) {
	recs, err := t.Tx.Secrets(region)
	t.n.Add(int64(len(recs)))
	return recs, err
}

func (t *countingTx) ListSecrets(q rotor.SecretQuery) ([]*rotor.SecretRecord, error) {
	recs, err := t.Tx.ListSecrets(q)
	t.n.Add(int64(len(recs)))
	return recs, err
}

// TestListPageAtScale: with 100,000 secrets stored (scaleSecrets; fewer
// under -race), a page of the
// secrets list (first page, a later page through its link, a name search
// and a rotation filter that matches few) reads from the store a bounded
// number of secrets, never all of them. Times are logged, not asserted.
func TestListPageAtScale(t *testing.T) {
	const n = scaleSecrets
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "rotor.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	kr, err := envelope.Generate()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	err = st.Update(context.Background(), func(tx rotor.Tx) error {
		for i := range n {
			name := fmt.Sprintf("app/%06d", i)
			r := &rotor.SecretRecord{ARN: rotor.SecretARN(region, "000000000000", name, "AbCdEf"), Region: region, Name: name,
				CreatedDate: created.Add(time.Duration(i) * time.Second)}
			if i%1000 == 7 {
				r.Rotation = rotor.RotationConfig{Configured: true, Enabled: true, LambdaARN: rotor.LambdaARN(region, "000000000000", "rotor-generate-password")}
			}
			if err := tx.CreateSecret(r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stored %d secrets in %v", n, time.Since(start))

	rc := &readCounter{Store: st}
	au := auth.New(auth.Config{Store: st, Keyring: kr, Regions: []string{region}})
	key, err := au.Bootstrap(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	mgr := manager.New(manager.Config{Store: rc, Keyring: kr, Authorizer: au, Account: "000000000000"})
	h, err := console.New(console.Config{Secrets: mgr, Admin: admin.New(admin.Config{Auth: au, Store: st, Keyring: kr}), Auth: au,
		SessionKey: kr.DeriveKey, Regions: []string{region}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.PostForm(srv.URL+"/console/signin", url.Values{"access_key_id": {key.AccessKeyID}, "secret_access_key": {key.SecretAccessKey}})
	if err != nil || resp.Request.URL.Path != "/console/secrets" {
		t.Fatalf("sign in: %v", err)
	}
	resp.Body.Close()

	rows := regexp.MustCompile(`<th scope="row"><a href=`)
	next := regexp.MustCompile(`href="/console/secrets\?([^"]+)" id="next"`)
	page := func(what, query string, maxRead int64) (int, string) {
		t.Helper()
		rc.read.Store(0)
		start := time.Now()
		resp, err := c.Get(srv.URL + "/console/secrets?" + query)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		took := time.Since(start)
		got := len(rows.FindAllIndex(body, -1))
		read := rc.read.Load()
		t.Logf("%s: %d rows, %d secrets read, %v", what, got, read, took)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", what, resp.StatusCode)
		}
		if read > maxRead {
			t.Errorf("%s read %d secrets from the store, want at most %d (of %d)", what, read, maxRead, n)
		}
		m := next.FindSubmatch(body)
		if m == nil {
			return got, ""
		}
		return got, string(m[1])
	}
	const pageSize, scan = 50, 20 * 50
	got, more := page("first page", "", pageSize+1)
	if got != pageSize || more == "" {
		t.Fatalf("first page: %d rows, next %q", got, more)
	}
	if got, _ := page("second page", more, pageSize+1); got != pageSize {
		t.Errorf("second page: %d rows", got)
	}
	if got, _ := page("name search", "q=app/00049", pageSize+1); got != 10 {
		t.Errorf("search app/00049: %d rows, want 10", got)
	}
	// One secret in 1,000 rotates: a page reads at most its scan budget
	// and links on to continue.
	got, more = page("rotation on", "rotation=on", scan+scanPagesSlack)
	if got != 1 || more == "" {
		t.Errorf("rotation on, first request: %d rows, next %q; want 1 row and a link on", got, more)
	}
}

// scanPagesSlack: each ListSecrets page reads one record past its end.
const scanPagesSlack = 20
