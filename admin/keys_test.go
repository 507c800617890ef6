package admin_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/admin"
	"github.com/rotorhq/rotor/auth"
	"github.com/rotorhq/rotor/envelope"
)

func TestRotateAndRetireKeys(t *testing.T) {
	e := newEnv(t)
	ctx := adminCtx()
	want := e.seedVersions(t, 130) // 260 values: several re-wrap batches
	if _, err := e.admin.CreateIdentity(ctx, "alice", rotor.RoleReadOnly); err != nil {
		t.Fatal(err)
	}
	alice, err := e.admin.CreateAccessKey(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	total := len(want) + 2 // two access-key secrets
	old := e.keyring.ActiveID()

	keys, err := e.admin.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0].ID != old || !keys[0].Active || keys[0].Wrapped != total {
		t.Fatalf("ListKeys=%+v, want %s active wrapping %d", keys, old, total)
	}
	wantCode(t, e.admin.RetireKey(ctx, old), rotor.ESTATE) // active

	info, err := e.admin.RotateKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.ID == old || !info.Active || info.Wrapped != total || info.CreatedDate.IsZero() {
		t.Fatalf("RotateKeys=%+v, want a new active key wrapping %d", info, total)
	}
	if n := e.rewraps.Load(); n != 1 {
		t.Fatalf("OnRewrap called %d times, want 1", n)
	}
	keys, err = e.admin.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].ID != old || keys[0].Active || keys[0].Wrapped != 0 ||
		keys[1].ID != info.ID || !keys[1].Active || keys[1].Wrapped != total {
		t.Fatalf("ListKeys=%+v, want %s wrapping 0 and active %s wrapping %d", keys, old, info.ID, total)
	}
	// The key file already holds the new key, made active.
	if kr, err := envelope.LoadFile(e.keyFile); err != nil || kr.ActiveID() != info.ID || !kr.Has(old) {
		t.Fatalf("key file after rotation: %v; want %s active and %s kept", err, info.ID, old)
	}

	wantCode(t, e.admin.RetireKey(ctx, info.ID), rotor.ESTATE)
	wantCode(t, e.admin.RetireKey(ctx, "kek-19700101-000000"), rotor.ENOTFOUND)
	if err := e.admin.RetireKey(ctx, old); err != nil {
		t.Fatal(err)
	}
	wantCode(t, e.admin.RetireKey(ctx, old), rotor.ENOTFOUND)

	data, err := os.ReadFile(e.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), old) {
		t.Fatalf("key file still names the retired key %s", old)
	}
	// Everything opens with the keyring as a restarted server reads it.
	reloaded, err := envelope.LoadFile(e.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if got := reloaded.Keys(); len(got) != 1 || got[0].ID != info.ID {
		t.Fatalf("reloaded keyring=%+v, want only %s", got, info.ID)
	}
	e.openAll(t, reloaded, want)
	srv := server(t, auth.New(auth.Config{Store: e.store, Keyring: reloaded}))
	for _, k := range []*rotor.AccessKey{e.adminKey, alice} {
		if got := call(t, srv, k); got != "" {
			t.Fatalf("key %s after rotation: %s", k.AccessKeyID, got)
		}
	}
}

func TestRetireKeyStillWrapping(t *testing.T) {
	e := newEnv(t)
	ctx := adminCtx()
	e.seedVersions(t, 2)
	old := e.keyring.ActiveID()
	// A key added without re-wrapping leaves the old one in use.
	if _, err := e.keyring.AddKey(); err != nil {
		t.Fatal(err)
	}
	if err := e.keyring.SaveFile(e.keyFile); err != nil {
		t.Fatal(err)
	}
	err := e.admin.RetireKey(ctx, old)
	wantCode(t, err, rotor.ESTATE)
	if !e.keyring.Has(old) {
		t.Fatal("refused RetireKey removed the key")
	}
	// RotateKeys re-wraps values under every non-active key.
	if _, err := e.admin.RotateKeys(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.admin.RetireKey(ctx, old); err != nil {
		t.Fatal(err)
	}
}

func TestKeysWithoutKeyFile(t *testing.T) {
	e := newEnv(t)
	ctx := adminCtx()
	svc := admin.New(admin.Config{Auth: e.auth, Store: e.store, Keyring: e.keyring})
	old := e.keyring.ActiveID()
	_, err := svc.RotateKeys(ctx)
	wantCode(t, err, rotor.ESTATE)
	wantCode(t, svc.RetireKey(ctx, old), rotor.ESTATE)
	if keys, err := svc.ListKeys(ctx); err != nil || len(keys) != 1 || keys[0].ID != old {
		t.Fatalf("ListKeys=%+v, %v; want only %s", keys, err, old)
	}
}

func TestRotateKeysUnwritableKeyFile(t *testing.T) {
	e := newEnv(t)
	ctx := adminCtx()
	e.seedVersions(t, 2)
	svc := admin.New(admin.Config{Auth: e.auth, Store: e.store, Keyring: e.keyring,
		KeyFile: filepath.Join(e.dir, "missing", "keys.json"), OnRewrap: func() { e.rewraps.Add(1) }})
	old := e.keyring.ActiveID()
	_, err := svc.RotateKeys(ctx)
	wantCode(t, err, rotor.EINTERNAL)
	if keys := e.keyring.Keys(); len(keys) != 1 || keys[0].ID != old || !keys[0].Active {
		t.Fatalf("keyring=%+v after failed rotation, want only %s, active", keys, old)
	}
	if n := e.rewraps.Load(); n != 0 {
		t.Fatalf("OnRewrap called %d times after failed rotation, want 0", n)
	}
	keys, err := svc.ListKeys(ctx)
	if err != nil || keys[0].Wrapped != 5 {
		t.Fatalf("ListKeys=%+v, %v; want %s still wrapping 5", keys, err, old)
	}
}

// TestRotateKeysWhileServing rotates and retires keys while requests
// authenticate and keys are changed (which makes auth reload and decrypt
// their secrets); every request must succeed. Run with -race.
func TestRotateKeysWhileServing(t *testing.T) {
	e := newEnv(t)
	ctx := adminCtx()
	want := e.seedVersions(t, 60)
	var keys []*rotor.AccessKey
	for _, name := range []string{"u1", "u2", "u3", "u4"} {
		if _, err := e.admin.CreateIdentity(ctx, name, rotor.RoleReadOnly); err != nil {
			t.Fatal(err)
		}
		for range rotor.MaxAccessKeysPerIdentity {
			k, err := e.admin.CreateAccessKey(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			keys = append(keys, k)
		}
	}
	srv := server(t, e.auth)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			for i := w; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if got := call(t, srv, keys[i%len(keys)]); got != "" {
					t.Errorf("request during rotation: %s", got)
					return
				}
			}
		})
	}
	wg.Go(func() { // drop cache entries so secrets are read and opened again
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := e.admin.UpdateAccessKey(ctx, keys[i%len(keys)].AccessKeyID, rotor.KeyActive); err != nil {
				t.Errorf("UpdateAccessKey: %v", err)
				return
			}
		}
	})

	for range 3 {
		old := e.keyring.ActiveID()
		if _, err := e.admin.RotateKeys(ctx); err != nil {
			t.Error(err)
			break
		}
		if err := e.admin.RetireKey(ctx, old); err != nil {
			t.Error(err)
			break
		}
	}
	close(stop)
	wg.Wait()
	if t.Failed() {
		return
	}
	reloaded, err := envelope.LoadFile(e.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	e.openAll(t, reloaded, want)
	fresh := server(t, auth.New(auth.Config{Store: e.store, Keyring: reloaded}))
	for _, k := range append(keys, e.adminKey) {
		if got := call(t, fresh, k); got != "" {
			t.Fatalf("key %s after rotations: %s", k.AccessKeyID, got)
		}
	}
}

// replicaKeyring stands for another server's copy of e's keyring: loaded
// from its own copy of the key file.
func (e *env) replicaKeyring(t *testing.T) (*envelope.Keyring, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "replica-keys.json")
	if err := e.keyring.SaveFile(path); err != nil {
		t.Fatal(err)
	}
	kr, err := envelope.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return kr, path
}

// TestRotateKeysSharedStore: on a store other servers share, RotateKeys
// refuses to make a key they lack; with a key staged in the key file (read
// again by Reload) it activates that key and re-wraps under it, and
// another server's copy that was given the staged file opens every value
// throughout, before and after.
func TestRotateKeysSharedStore(t *testing.T) {
	e := newEnv(t)
	want := e.seedVersions(t, 3)
	old := e.keyring.ActiveID()
	reloads := 0
	reload := func() error {
		reloads++
		kr, err := envelope.LoadFile(e.keyFile)
		if err != nil {
			return err
		}
		_, _, err = e.keyring.Merge(kr)
		return err
	}
	shared := admin.New(admin.Config{Auth: e.auth, Store: e.store, Keyring: e.keyring, KeyFile: e.keyFile, Reload: reload, Shared: true})

	before, _ := os.ReadFile(e.keyFile)
	_, err := shared.RotateKeys(adminCtx())
	if rotor.ErrorCode(err) != rotor.ESTATE || !strings.Contains(rotor.ErrorMessage(err), "rotor keys add") {
		t.Fatalf("RotateKeys without a staged key = %v, want ESTATE naming 'rotor keys add'", err)
	}
	if after, _ := os.ReadFile(e.keyFile); !bytes.Equal(before, after) || e.keyring.ActiveID() != old {
		t.Fatal("the refused RotateKeys changed the keyring or its file")
	}

	// The operator stages a key in a copy of the key file and gives it to
	// every server: here the other server, and this one's key file.
	staged, err := envelope.LoadFile(e.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	meta, err := staged.AddInactiveKey()
	if err != nil {
		t.Fatal(err)
	}
	other, otherFile := e.replicaKeyring(t)
	for _, path := range []string{otherFile, e.keyFile} {
		if err := staged.SaveFile(path); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := other.Merge(staged); err != nil {
		t.Fatal(err)
	}

	info, err := shared.RotateKeys(adminCtx())
	if err != nil {
		t.Fatalf("RotateKeys with a staged key: %v", err)
	}
	if info.ID != meta.ID || e.keyring.ActiveID() != meta.ID || info.Wrapped != len(want)+1 { // + the admin's access key
		t.Fatalf("RotateKeys = %+v (active %s), want the staged key %s wrapping %d", info, e.keyring.ActiveID(), meta.ID, len(want)+1)
	}
	if reloads != 2 {
		t.Errorf("the key file was read again %d times, want once per RotateKeys", reloads)
	}
	saved, err := envelope.LoadFile(e.keyFile)
	if err != nil || saved.ActiveID() != meta.ID {
		t.Fatalf("key file after rotation: active %v, %v; want %s", saved, err, meta.ID)
	}
	e.openAll(t, other, want) // the other server still reads everything
	if other.ActiveID() != old {
		t.Fatalf("the other server's active key is %s, want %s until it is given the new file", other.ActiveID(), old)
	}
}
