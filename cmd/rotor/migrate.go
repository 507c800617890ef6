package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/envelope"
	"github.com/rotorhq/rotor/server"
	"github.com/rotorhq/rotor/sqlite"
)

// setupMigrate is `rotor migrate --from DIR --to URL`: it copies a stopped
// SQLite server's data (the data directory DIR; its lock is taken, so it
// refuses while a server runs there) into an empty database store, then
// verifies the copy. Everything is copied as stored: values and access-key
// secrets stay sealed, their wrapped data keys and ciphertexts byte for
// byte; nothing is decrypted to copy it. The keyring (the data directory's
// key file, --key-file or --key-env) is needed only to verify: a server
// core is opened on the new store and every version with a value is read
// back through it and compared with the source.
func setupMigrate(fs *flag.FlagSet, x *cmdline) action {
	from := fs.String("from", "", "data directory of the stopped SQLite server to copy")
	to := fs.String("to", "", "the empty database to copy into: postgres://user:password@host:5432/db")
	keyFile := fs.String("key-file", "", "the keyring file (default <from>/kek.json)")
	keyEnv := fs.String("key-env", "", "name of an environment variable holding the keyring instead")
	return func(ctx context.Context, _, _ []string) error {
		return migrate(ctx, *from, *to, *keyFile, *keyEnv, x.stdout)
	}
}

// migrate is runMigrate's work, once the flags are parsed.
func migrate(ctx context.Context, from, to, keyFile, keyEnv string, stdout io.Writer) error {
	if from == "" || to == "" {
		return usageError("migrate needs --from <data directory> and --to postgres://...")
	}
	cfg := DefaultConfig()
	cfg.DataDir, cfg.Keys.File, cfg.Keys.Env, cfg.Store = from, keyFile, keyEnv, to
	if kind, err := storeKind(cfg.Store); err != nil {
		return err
	} else if kind == storeSQLite {
		return usageError("--to must name a database store such as postgres://...")
	}
	if _, err := os.Stat(cfg.DatabasePath()); err != nil {
		return fmt.Errorf("no database at %s: --from names the data directory of a SQLite server", cfg.DatabasePath())
	}
	lock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("%w; stop the server first", err)
	}
	defer lock.Close()
	src, err := sqlite.Open(cfg.DatabasePath())
	if err != nil {
		return fmt.Errorf("open %s: %w", cfg.DatabasePath(), err)
	}
	defer src.Close()
	inUse, err := keyIDsInUse(ctx, src)
	if err != nil {
		return err
	}
	kr, source, err := openKeyring(cfg, inUse)
	if err != nil {
		return err
	}
	if err := checkKeyring(kr, inUse, source, cfg.DatabasePath()); err != nil {
		return err
	}
	if err := probeKeyring(ctx, src, kr, inUse, cfg.DatabasePath()); err != nil {
		return err
	}
	dst, _, err := openStore(ctx, &cfg, nil)
	if err != nil {
		return err
	}
	defer dst.Close()

	n, err := copyStore(ctx, src, dst)
	if err != nil {
		return fmt.Errorf("copy into %s: %w", cfg.storeName(), err)
	}
	fmt.Fprintf(stdout, "Copied %s into %s: %s.\n", cfg.DatabasePath(), cfg.storeName(), n)
	read, err := verifyCopy(ctx, src, dst, kr)
	if err != nil {
		return fmt.Errorf("verify the copy in %s: %w", cfg.storeName(), err)
	}
	abs, _ := filepath.Abs(cfg.KeyFile())
	fmt.Fprintf(stdout, "Verified: every record is equal, and all %d values read back through a server on %s equal the source's.\n", read, cfg.storeName())
	fmt.Fprintf(stdout, "Start every server with --store on it and the same keyring (%s), never stored in the database. The data directory %s is left as it was.\n",
		keyringHint(cfg, abs), cfg.DataDir)
	return nil
}

func keyringHint(cfg Config, abs string) string {
	if cfg.Keys.Env != "" {
		return "$" + cfg.Keys.Env
	}
	return abs
}

// copyCounts says what copyStore copied.
type copyCounts struct {
	Secrets, Versions, Identities, AccessKeys, Runs, Steps int
}

func (c copyCounts) String() string {
	return fmt.Sprintf("%d secrets, %d versions, %d identities, %d access keys, %d rotation runs with %d steps",
		c.Secrets, c.Versions, c.Identities, c.AccessKeys, c.Runs, c.Steps)
}

// errNotEmpty refuses a target that already holds data.
var errNotEmpty = errors.New("the target store is not empty (it holds secrets or identities): migrate copies into an empty database only, so that nothing is merged or overwritten")

// copyStore copies every record of src into dst, which must be empty, in
// one snapshot of src and one write transaction on dst: either all of it is
// copied or nothing. Sealed values are copied as they are.
func copyStore(ctx context.Context, src, dst rotor.Store) (copyCounts, error) {
	var n copyCounts
	err := src.View(ctx, func(stx rotor.Tx) error {
		return dst.Update(ctx, func(dtx rotor.Tx) error {
			n = copyCounts{}
			if err := checkEmpty(dtx); err != nil {
				return err
			}
			regions, err := stx.Regions()
			if err != nil {
				return fmt.Errorf("list regions: %w", err)
			}
			ids, err := stx.Identities()
			if err != nil {
				return fmt.Errorf("list identities: %w", err)
			}
			for _, id := range ids {
				if err := dtx.CreateIdentity(id); err != nil {
					return fmt.Errorf("identity %s: %w", id.Name, err)
				}
				n.Identities++
			}
			keys, err := stx.AccessKeys("")
			if err != nil {
				return fmt.Errorf("list access keys: %w", err)
			}
			for _, k := range keys {
				if err := dtx.CreateAccessKey(k); err != nil {
					return fmt.Errorf("access key %s: %w", k.AccessKeyID, err)
				}
				n.AccessKeys++
			}
			for _, region := range regionNames(regions) {
				secrets, err := stx.Secrets(region)
				if err != nil {
					return fmt.Errorf("list secrets of %s: %w", region, err)
				}
				for _, s := range secrets {
					if err := copySecret(stx, dtx, s, &n); err != nil {
						return fmt.Errorf("secret %s: %w", s.ARN, err)
					}
				}
				runs, err := stx.Runs(region, "", "", 0)
				if err != nil {
					return fmt.Errorf("list runs of %s: %w", region, err)
				}
				slices.Reverse(runs) // oldest first, as they were made
				for _, r := range runs {
					if err := copyRun(stx, dtx, r, &n); err != nil {
						return fmt.Errorf("rotation run %s: %w", r.ID, err)
					}
				}
			}
			return nil
		})
	})
	return n, err
}

// checkEmpty refuses a store that holds secrets or identities.
func checkEmpty(tx rotor.Tx) error {
	regions, err := tx.Regions()
	if err != nil {
		return fmt.Errorf("check the target is empty: %w", err)
	}
	ids, err := tx.Identities()
	if err != nil {
		return fmt.Errorf("check the target is empty: %w", err)
	}
	if len(regions) > 0 || len(ids) > 0 {
		return errNotEmpty
	}
	return nil
}

// copySecret copies one secret with its versions and labels; the secret's
// record is written last, so that its LastAccessedDate is the source's (a
// version's access date also sets its secret's).
func copySecret(stx, dtx rotor.Tx, s *rotor.SecretRecord, n *copyCounts) error {
	if err := dtx.CreateSecret(s); err != nil {
		return err
	}
	vs, err := stx.Versions(s.ARN)
	if err != nil {
		return fmt.Errorf("versions: %w", err)
	}
	for _, v := range vs {
		if err := dtx.CreateVersion(s.ARN, v); err != nil {
			return fmt.Errorf("version %s: %w", v.ID, err)
		}
		for _, st := range v.Stages {
			if err := dtx.SetStage(s.ARN, st, v.ID); err != nil {
				return fmt.Errorf("label %s on version %s: %w", st, v.ID, err)
			}
		}
		n.Versions++
	}
	// The label history is the store's own record (SetStage does not
	// write it), so it is copied as it stands, events in their order.
	evs, err := stx.StageHistory(s.ARN, 0)
	if err != nil {
		return fmt.Errorf("label history: %w", err)
	}
	if len(evs) > 0 {
		if err := dtx.AddStageEvents(s.ARN, evs); err != nil {
			return fmt.Errorf("label history: %w", err)
		}
	}
	if err := dtx.UpdateSecret(s); err != nil {
		return fmt.Errorf("dates: %w", err)
	}
	n.Secrets++
	return nil
}

// copyRun copies one rotation run and its step history, in order.
func copyRun(stx, dtx rotor.Tx, r *rotor.RunRecord, n *copyCounts) error {
	if err := dtx.CreateRun(r); err != nil {
		return err
	}
	steps, err := stx.Steps(r.ID)
	if err != nil {
		return fmt.Errorf("steps: %w", err)
	}
	for _, st := range steps {
		if err := dtx.AddStep(st); err != nil {
			return fmt.Errorf("step %s: %w", st.Step, err)
		}
		n.Steps++
	}
	n.Runs++
	return nil
}

// verifyCopy checks dst against src: every record read back is equal (the
// sealed values byte for byte), and every version that holds a value reads
// back through a server core opened on dst — GetSecretValue by ARN and
// version id, as an administrator — equal to the source's value opened
// with kr. A version the API does not serve (its secret is scheduled for
// deletion, or a resource policy denies even an administrator) is opened
// from dst's stored value instead. It returns how many values it read.
func verifyCopy(ctx context.Context, src, dst rotor.Store, kr *envelope.Keyring) (int, error) {
	var regions map[string]int
	if err := src.View(ctx, func(tx rotor.Tx) (err error) { regions, err = tx.Regions(); return err }); err != nil {
		return 0, err
	}
	served := regionNames(regions)
	if len(served) == 0 {
		served = []string{"us-east-1"}
	}
	// The core reads through a store that refuses writes: verifying must
	// change nothing (not even the access dates its reads note).
	core, err := server.New(ctx, server.Options{Store: readOnlyStore{dst}, Keyring: kr, Regions: served})
	if err != nil {
		return 0, err
	}
	defer core.Close() // its write of access dates is refused

	read := 0
	err = src.View(ctx, func(stx rotor.Tx) error {
		return dst.View(ctx, func(dtx rotor.Tx) error {
			if err := sameRecords(stx, dtx, served); err != nil {
				return err
			}
			for _, region := range served {
				secrets, err := stx.Secrets(region)
				if err != nil {
					return err
				}
				for _, s := range secrets {
					vs, err := stx.Versions(s.ARN)
					if err != nil {
						return err
					}
					for _, v := range vs {
						if v.Value == nil {
							continue
						}
						want, err := kr.Open(*v.Value, envelope.VersionAAD(s.ARN, v.ID))
						if err != nil {
							return fmt.Errorf("open the source's version %s of %s: %w", v.ID, s.ARN, err)
						}
						got, err := readBack(ctx, core, dtx, kr, s, v.ID)
						if err != nil {
							return err
						}
						if !bytes.Equal(got, want) {
							return fmt.Errorf("version %s of %s reads back a different value", v.ID, s.ARN)
						}
						clear(got)
						clear(want)
						read++
					}
				}
			}
			return nil
		})
	})
	return read, err
}

// readBack reads version id of secret s through core's manager as an
// administrator, or, when the API does not serve it, from tx with kr.
func readBack(ctx context.Context, core *server.Server, tx rotor.Tx, kr *envelope.Keyring, s *rotor.SecretRecord, id string) ([]byte, error) {
	cctx := rotor.NewContext(ctx, rotor.Caller{Region: s.Region, RequestID: "migrate-verify",
		Principal: rotor.Principal{Identity: "rotor-migrate", Role: rotor.RoleAdmin}})
	out, err := core.Manager.GetSecretValue(cctx, rotor.GetSecretValueInput{SecretID: s.ARN, VersionID: id})
	switch {
	case err == nil && out.Value.String != nil:
		return []byte(*out.Value.String), nil
	case err == nil:
		return out.Value.Binary, nil
	case !s.DeletedDate.IsZero() || rotor.ErrorCode(err) == rotor.EDENIED:
		v, err := tx.Version(s.ARN, id)
		if err != nil {
			return nil, fmt.Errorf("version %s of %s on the target: %w", id, s.ARN, err)
		}
		if v.Value == nil {
			return nil, fmt.Errorf("version %s of %s has no value on the target", id, s.ARN)
		}
		return kr.Open(*v.Value, envelope.VersionAAD(s.ARN, id))
	}
	return nil, fmt.Errorf("read version %s of %s through the new store: %w", id, s.ARN, err)
}

// sameRecords compares every record of the two stores.
func sameRecords(stx, dtx rotor.Tx, regions []string) error {
	for _, r := range regions {
		a, err := stx.Secrets(r)
		if err != nil {
			return err
		}
		b, err := dtx.Secrets(r)
		if err != nil {
			return err
		}
		if err := same("secrets of "+r, a, b); err != nil {
			return err
		}
		for _, s := range a {
			va, err := stx.Versions(s.ARN)
			if err != nil {
				return err
			}
			vb, err := dtx.Versions(s.ARN)
			if err != nil {
				return err
			}
			if err := same("versions of "+s.ARN, va, vb); err != nil {
				return err
			}
			ha, err := stx.StageHistory(s.ARN, 0)
			if err != nil {
				return err
			}
			hb, err := dtx.StageHistory(s.ARN, 0)
			if err != nil {
				return err
			}
			if err := same("label history of "+s.ARN, ha, hb); err != nil {
				return err
			}
		}
		ra, err := stx.Runs(r, "", "", 0)
		if err != nil {
			return err
		}
		rb, err := dtx.Runs(r, "", "", 0)
		if err != nil {
			return err
		}
		if err := same("rotation runs of "+r, ra, rb); err != nil {
			return err
		}
		for _, run := range ra {
			sa, err := stx.Steps(run.ID)
			if err != nil {
				return err
			}
			sb, err := dtx.Steps(run.ID)
			if err != nil {
				return err
			}
			if err := same("steps of run "+run.ID, sa, sb); err != nil {
				return err
			}
		}
	}
	ia, err := stx.Identities()
	if err != nil {
		return err
	}
	ib, err := dtx.Identities()
	if err != nil {
		return err
	}
	if err := same("identities", ia, ib); err != nil {
		return err
	}
	ka, err := stx.AccessKeys("")
	if err != nil {
		return err
	}
	kb, err := dtx.AccessKeys("")
	if err != nil {
		return err
	}
	return same("access keys", ka, kb)
}

// same reports the first difference between two record lists, naming what
// differs but never a value (records hold sealed values only).
func same[T any](what string, a, b []T) error {
	if len(a) != len(b) {
		return fmt.Errorf("%s: %d on the source, %d on the target", what, len(a), len(b))
	}
	for i := range a {
		if !reflect.DeepEqual(normalize(a[i]), normalize(b[i])) {
			return fmt.Errorf("%s: record %d differs", what, i+1)
		}
	}
	return nil
}

// normalize returns a copy of v in which what two stores may represent
// differently for the same data is made alike: times are in UTC (the same
// instant in another location), and empty slices are nil.
func normalize(v any) any {
	rv := reflect.ValueOf(v)
	out := reflect.New(rv.Type()).Elem()
	normalizeInto(out, rv)
	return out.Interface()
}

var timeType = reflect.TypeOf(time.Time{})

func normalizeInto(dst, src reflect.Value) {
	switch {
	case src.Type() == timeType:
		dst.Set(reflect.ValueOf(src.Interface().(time.Time).UTC()))
	case src.Kind() == reflect.Pointer:
		if !src.IsNil() {
			p := reflect.New(src.Type().Elem())
			normalizeInto(p.Elem(), src.Elem())
			dst.Set(p)
		}
	case src.Kind() == reflect.Struct:
		dst.Set(src) // unexported fields too; exported ones are redone below
		for i := range src.NumField() {
			if src.Type().Field(i).IsExported() {
				normalizeInto(dst.Field(i), src.Field(i))
			}
		}
	case src.Kind() == reflect.Slice:
		if src.Len() > 0 {
			s := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
			for i := range src.Len() {
				normalizeInto(s.Index(i), src.Index(i))
			}
			dst.Set(s)
		}
	default:
		dst.Set(src)
	}
}

// readOnlyStore is a store whose write transactions are refused.
type readOnlyStore struct{ rotor.Store }

func (readOnlyStore) Update(context.Context, func(rotor.Tx) error) error {
	return rotor.Errorf(rotor.ESTATE, "read-only while migrate verifies")
}

func regionNames(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
