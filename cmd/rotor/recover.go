package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/auth"
	"github.com/rotorhq/rotor/envelope"
)

// recoveredCredentials is the file recover-admin writes in the data
// directory unless -out names another.
const recoveredCredentials = "credentials-recovered"

// recoverAdminAction is `rotor recover-admin`: the break-glass way back
// when no administrator can sign in. It works offline on a stopped server's
// data directory (it takes the server's lock, so it refuses while a server
// runs), opens the database and the keyring exactly as `rotor server`
// would with the same flags, config file and environment, gives an admin
// identity a fresh access key (auth.Service.RecoverAdmin), and writes that
// key to a new shared-credentials file of mode 0600. Only the file's path
// and the key id are printed; the secret is in the file alone. With a
// database store (store = postgres://...) the lock guards only this data
// directory: servers elsewhere may keep serving, and see the new key from
// their next request on.
//
// It registers the command's own flags on fset and returns the action,
// which reads the configuration with the rest of the flags.
func recoverAdminAction(fset *flag.FlagSet, stdout io.Writer) action {
	identity := fset.String("identity", auth.BootstrapIdentity, "admin identity to give a new access key (created if missing)")
	out := fset.String("out", "", "credentials file to write (default <data-dir>/"+recoveredCredentials+"); must not exist")
	return func(ctx context.Context, _, flagArgs []string) error {
		cfg, err := loadConfig(fset, flagArgs, os.Getenv)
		if err != nil {
			return err
		}
		return runRecoverAdmin(ctx, cfg, *identity, *out, stdout)
	}
}

// runRecoverAdmin is recover-admin with its configuration and flags read.
func runRecoverAdmin(ctx context.Context, cfg Config, identity, out string, stdout io.Writer) error {
	dir := cfg.DataDir
	if _, err := os.Stat(cfg.DatabasePath()); err != nil && !cfg.sharedStore() {
		return fmt.Errorf("no database at %s: recover-admin works on the data directory of an existing server (-data-dir)", cfg.DatabasePath())
	}
	if err := refuseForeignDataDir("recover-admin", dir, os.Geteuid()); err != nil {
		return err
	}
	if out == "" {
		out = filepath.Join(dir, recoveredCredentials)
	}
	lock, err := lockDataDir(dir)
	if err != nil {
		return fmt.Errorf("%w; stop the server first", err)
	}
	defer lock.Close()

	store, _, err := openStore(ctx, &cfg, nil)
	if err != nil {
		return err
	}
	defer store.Close()
	inUse, err := keyIDsInUse(ctx, store)
	if err != nil {
		return err
	}
	kr, source, err := openKeyring(cfg, inUse)
	if err != nil {
		return err
	}
	if err := checkKeyring(kr, inUse, source, cfg.storeName()); err != nil {
		return err
	}

	// Claim the output file before the key exists, so a key is never made
	// that could not be handed over.
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s already exists: move it away, or name another file with -out", out)
	} else if err != nil {
		return fmt.Errorf("credentials file: %w", err)
	}
	svc := auth.New(auth.Config{Store: store, Keyring: kr, Regions: cfg.Regions})
	key, removed, err := svc.RecoverAdmin(ctx, identity)
	if err != nil {
		f.Close()
		os.Remove(out)
		return fmt.Errorf("recover admin access: %s", rotor.ErrorMessage(err))
	}
	if err := fillCredentials(f, "issued by 'rotor recover-admin'", key, cfg.Regions[0]); err != nil {
		os.Remove(out)
		return fmt.Errorf("%w (access key %s was created; run recover-admin again for another)", err, key.AccessKeyID)
	}
	abs, _ := filepath.Abs(out)
	if removed != "" {
		fmt.Fprintf(stdout, "Deleted the inactive access key %s of %s to make room.\n", removed, identity)
	}
	fmt.Fprintf(stdout, "Created access key %s for admin identity %s; its secret is in %s (mode 0600).\n", key.AccessKeyID, identity, abs)
	fmt.Fprintf(stdout, "Start the server, then use it with:\n  export AWS_SHARED_CREDENTIALS_FILE=%s AWS_PROFILE=rotor\n", abs)
	fmt.Fprintf(stdout, "Move the key into your own secret store and delete the file.\n")
	return nil
}

// openKeyring loads the keyring cfg names without ever creating one, and
// says where it came from; a nil keyring means the key file does not exist.
func openKeyring(cfg Config, inUse []string) (*envelope.Keyring, string, error) {
	if cfg.Keys.Env != "" {
		material := os.Getenv(cfg.Keys.Env)
		if material == "" {
			return nil, "", fmt.Errorf("keys.env names %s, but that environment variable is empty", cfg.Keys.Env)
		}
		kr, err := envelope.Parse([]byte(material))
		if err != nil {
			return nil, "", fmt.Errorf("keyring from $%s: %w", cfg.Keys.Env, err)
		}
		return kr, "$" + cfg.Keys.Env, nil
	}
	source := "key file " + cfg.KeyFile()
	kr, err := envelope.LoadFile(cfg.KeyFile())
	if errors.Is(err, fs.ErrNotExist) {
		if len(inUse) == 0 {
			return nil, "", fmt.Errorf("%s does not exist: give the keyring used with this data (-key-file or -key-env)", source)
		}
		return nil, source + ", which does not exist", nil
	} else if err != nil {
		return nil, "", fmt.Errorf("keyring %s: %w", cfg.KeyFile(), err)
	}
	return kr, source, nil
}
