package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/envelope"
)

// keyIDsInUse returns the ids of the key-encryption keys that wrap any data
// key stored in store, sorted.
func keyIDsInUse(ctx context.Context, store rotor.Store) ([]string, error) {
	var ids []string
	err := store.View(ctx, func(tx rotor.Tx) (err error) {
		ids, err = tx.KeyIDsInUse()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list key-encryption keys in use: %w", err)
	}
	return ids, nil
}

// loadKeyFile loads the keyring at path. It creates one only when nothing
// stored needs a key (inUse is empty): a database whose key file is missing
// must not get a fresh, useless one. Then it returns a nil keyring, which
// checkKeyring refuses.
func loadKeyFile(path string, inUse []string) (kr *envelope.Keyring, created bool, err error) {
	if len(inUse) == 0 {
		return envelope.LoadOrCreateFile(path)
	}
	kr, err = envelope.LoadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	return kr, false, err
}

// checkKeyring refuses a keyring that lacks a key-encryption key the
// database uses: such a server would answer every request touching those
// values or access keys with an internal error, so it must not start.
// source names where the keyring came from (a nil kr: a key file that does
// not exist); dbPath is the database.
func checkKeyring(kr *envelope.Keyring, inUse []string, source, dbPath string) error {
	var missing []string
	for _, id := range inUse {
		if kr == nil || !kr.Has(id) {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf(`refusing to start: the database %s holds data keys wrapped by key-encryption key(s) %s, which the keyring (%s) does not have, so the values and access keys they protect could not be decrypted.
Start the server with the keyring that was used with this data: restore that key file (keys.file) or environment variable (keys.env). A backup taken before 'rotor keys retire' needs the key file as it was before the retire, with the retired key in it.
Nothing was changed. See "The keyring" in docs/security.md`,
		dbPath, strings.Join(missing, ", "), source)
}
