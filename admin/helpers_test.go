package admin_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/admin"
	"github.com/rotorhq/rotor/auth"
	"github.com/rotorhq/rotor/envelope"
	"github.com/rotorhq/rotor/sqlite"
)

const (
	testRegion  = "us-east-1"
	testAccount = "000000000000"
)

// env is an admin.Service over a real SQLite store, a keyring kept in a
// key file and a real auth.Service.
type env struct {
	dir       string
	backupDir string // <dir>/backups, created by the first Backup
	keyFile   string
	store     *sqlite.Store
	keyring   *envelope.Keyring
	auth      *auth.Service
	admin     *admin.Service
	adminKey  *rotor.AccessKey
	rewraps   atomic.Int64 // OnRewrap calls
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{dir: t.TempDir()}
	e.keyFile = filepath.Join(e.dir, "keys.json")
	var err error
	if e.keyring, _, err = envelope.LoadOrCreateFile(e.keyFile); err != nil {
		t.Fatalf("keyring: %v", err)
	}
	if e.store, err = sqlite.Open(filepath.Join(e.dir, "rotor.db")); err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { e.store.Close() })
	e.auth = auth.New(auth.Config{Store: e.store, Keyring: e.keyring, Regions: []string{testRegion}})
	if e.adminKey, err = e.auth.Bootstrap(context.Background()); err != nil || e.adminKey == nil {
		t.Fatalf("Bootstrap = %v, %v", e.adminKey, err)
	}
	e.backupDir = filepath.Join(e.dir, "backups")
	e.admin = admin.New(admin.Config{Auth: e.auth, Store: e.store, Keyring: e.keyring, KeyFile: e.keyFile,
		BackupDir: e.backupDir, ScratchDir: e.dir, OnRewrap: func() { e.rewraps.Add(1) }})
	return e
}

// as returns a context whose caller is identity with role.
func as(identity string, role rotor.Role) context.Context {
	return rotor.NewContext(context.Background(), rotor.Caller{
		Principal: rotor.Principal{Identity: identity, Role: role}, Region: testRegion})
}

// adminCtx is the bootstrap admin calling.
func adminCtx() context.Context { return as(auth.BootstrapIdentity, rotor.RoleAdmin) }

// seedVersions stores n secrets with two versions each, sealed directly
// through the keyring and the store, and returns each version's
// plaintext by (ARN, version id).
func (e *env) seedVersions(t *testing.T, n int) map[[2]string]string {
	t.Helper()
	want := make(map[[2]string]string)
	now := time.Now().UTC()
	err := e.store.Update(context.Background(), func(tx rotor.Tx) error {
		for i := range n {
			name := fmt.Sprintf("secret-%03d", i)
			arn := rotor.SecretARN(testRegion, testAccount, name, "AbCdEf")
			if err := tx.CreateSecret(&rotor.SecretRecord{ARN: arn, Region: testRegion, Name: name,
				CreatedDate: now, LastChangedDate: now}); err != nil {
				return err
			}
			for v := range 2 {
				id := fmt.Sprintf("%08d-0000-4000-8000-%012d", i, v)
				plain := fmt.Sprintf("value of %s version %d", name, v)
				sealed, err := e.keyring.Seal([]byte(plain), envelope.VersionAAD(arn, id))
				if err != nil {
					return err
				}
				if err := tx.CreateVersion(arn, &rotor.VersionRecord{ID: id, Value: &sealed, CreatedDate: now}); err != nil {
					return err
				}
				want[[2]string{arn, id}] = plain
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("seed versions: %v", err)
	}
	return want
}

// openAll opens every stored version value with kr and compares it with
// want.
func (e *env) openAll(t *testing.T, kr *envelope.Keyring, want map[[2]string]string) {
	t.Helper()
	err := e.store.View(context.Background(), func(tx rotor.Tx) error {
		for key, plain := range want {
			v, err := tx.Version(key[0], key[1])
			if err != nil {
				return err
			}
			got, err := kr.Open(*v.Value, envelope.VersionAAD(key[0], key[1]))
			if err != nil {
				return fmt.Errorf("open %s %s: %w", key[0], key[1], err)
			}
			if string(got) != plain {
				return fmt.Errorf("%s %s opens to %q, want %q", key[0], key[1], got, plain)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// server is a real HTTP server whose handler authenticates every request
// with svc and answers 200 or 403 with the error code.
func server(t *testing.T, svc *auth.Service) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if _, err := svc.Authenticate(r, body); err != nil {
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, rotor.ErrorCode(err)+": "+rotor.ErrorMessage(err))
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// call sends a signed request to srv and returns "" on success or the
// error the server reported.
func call(t *testing.T, srv *httptest.Server, k *rotor.AccessKey) string {
	body := []byte(`{}`)
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/", bytes.NewReader(body))
	if err != nil {
		return err.Error()
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "rotor.ListIdentities")
	sum := sha256.Sum256(body)
	c := aws.Credentials{AccessKeyID: k.AccessKeyID, SecretAccessKey: k.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(context.Background(), c, req, hex.EncodeToString(sum[:]),
		"secretsmanager", testRegion, time.Now()); err != nil {
		return err.Error()
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return string(msg)
	}
	return ""
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := rotor.ErrorCode(err); got != code {
		t.Fatalf("error code=%q (%v), want %q", got, err, code)
	}
}
