package console_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/admin"
	"github.com/rotorhq/rotor/auth"
	"github.com/rotorhq/rotor/console"
	"github.com/rotorhq/rotor/envelope"
	"github.com/rotorhq/rotor/manager"
	"github.com/rotorhq/rotor/sqlite"
)

// startConsole serves the console over st (the manager reads through
// reads, st itself when nil) and returns it with a client signed in as
// the bootstrap admin.
func startConsole(t *testing.T, st *sqlite.Store, reads rotor.Store) (*httptest.Server, *http.Client) {
	t.Helper()
	if reads == nil {
		reads = st
	}
	kr, err := envelope.Generate()
	if err != nil {
		t.Fatal(err)
	}
	au := auth.New(auth.Config{Store: st, Keyring: kr, Regions: []string{region}})
	key, err := au.Bootstrap(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	mgr := manager.New(manager.Config{Store: reads, Keyring: kr, Authorizer: au, Account: "000000000000"})
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
	return srv, c
}
