package admin

import (
	"context"
	"errors"
	"fmt"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/envelope"
)

// ListKeys lists the keyring's key-encryption keys, oldest first, each with
// the number of stored data keys (secret versions and access-key secrets)
// it wraps. Errors: EDENIED, EINTERNAL.
func (s *Service) ListKeys(ctx context.Context) ([]rotor.KeyInfo, error) {
	if _, err := s.authorize(ctx, "ListKeys"); err != nil {
		return nil, err
	}
	return s.listKeys(ctx)
}

func (s *Service) listKeys(ctx context.Context) ([]rotor.KeyInfo, error) {
	metas := s.keyring.Keys()
	out := make([]rotor.KeyInfo, len(metas))
	err := s.store.View(ctx, func(tx rotor.Tx) error {
		for i, m := range metas {
			n, err := tx.CountSealedByKey(m.ID)
			if err != nil {
				return fmt.Errorf("count values wrapped by %s: %w", m.ID, err)
			}
			out[i] = rotor.KeyInfo{ID: m.ID, Active: m.Active, CreatedDate: m.Created, Wrapped: n}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	return out, nil
}

// RotateKeys makes a new key-encryption key active, saves the keyring to
// the key file and re-wraps every stored data key that another key wraps
// under it. The new key is the key staged in the key file (see
// envelope.Keyring.Staged; the file is read again first when Reload is
// set) if there is one; otherwise a fresh key is added — except on a
// shared store (Config.Shared), where that is refused with ESTATE, since
// the other servers would lack the key. Re-wrapping runs in transactions
// of at most 100 values, so the server keeps serving meanwhile; ciphertexts
// are not touched. OnRewrap is called once values were re-wrapped (even if
// a later batch failed). The old keys stay in the keyring until RetireKey.
//
// Errors: EDENIED; ESTATE when the keyring did not come from a key file,
// or on a shared store without a staged key; EINVALID when the key file
// read again does not parse or holds another key under an id in use;
// EINTERNAL when the key file cannot be written (checked before the key is
// added; if it fails only after, the new key is removed again when the
// keyring allows it, and otherwise stays active in memory only, to be saved
// by the next RotateKeys; nothing is re-wrapped in either case);
// EDECRYPT when a stored value cannot be unwrapped (the values re-wrapped
// before it stay re-wrapped, the rest stay as they were: running RotateKeys
// again resumes); EENCRYPT, EINTERNAL for other faults.
func (s *Service) RotateKeys(ctx context.Context) (*rotor.KeyInfo, error) {
	c, err := s.authorize(ctx, "RotateKeys")
	if err != nil {
		return nil, err
	}
	if s.keyFile == "" {
		return nil, errNoKeyFile()
	}
	s.keysMu.Lock()
	defer s.keysMu.Unlock()

	if s.reload != nil {
		if err := s.reload(); err != nil {
			return nil, fmt.Errorf("read the key file again: %w", err)
		}
	}
	// Check that the key file can be written before changing the keyring,
	// so that a bad location fails without leaving an unsaved active key.
	if err := s.keyring.SaveFile(s.keyFile); err != nil {
		return nil, fmt.Errorf("save key file before rotation: %w", err)
	}
	var meta envelope.KeyMeta
	if staged, ok := s.keyring.Staged(); ok {
		prev := s.keyring.ActiveID()
		if err := s.keyring.Activate(staged.ID); err != nil {
			return nil, fmt.Errorf("activate staged key %s: %w", staged.ID, err)
		}
		if err := s.keyring.SaveFile(s.keyFile); err != nil {
			if rerr := s.keyring.Activate(prev); rerr != nil {
				err = errors.Join(err, rerr)
			}
			return nil, fmt.Errorf("save key file with staged key %s active (it was made inactive again): %w", staged.ID, err)
		}
		meta = envelope.KeyMeta{ID: staged.ID, Created: staged.Created, Active: true}
		s.log.Info("staged key-encryption key activated", "key_id", meta.ID, "by", c.Principal.Identity)
	} else if s.shared {
		return nil, errSharedNeedsStagedKey()
	} else if meta, err = s.addKey(); err != nil {
		return nil, err
	} else {
		s.log.Info("key-encryption key added", "key_id", meta.ID, "by", c.Principal.Identity)
	}

	n, err := s.rewrapAll(ctx, meta.ID)
	if n > 0 && s.onRewrap != nil {
		s.onRewrap()
	}
	if err != nil {
		s.log.Error("re-wrapping data keys stopped", "key_id", meta.ID, "rewrapped", n, "err", err)
		return nil, err
	}
	s.log.Info("data keys re-wrapped", "key_id", meta.ID, "rewrapped", n)

	var wrapped int
	err = s.store.View(ctx, func(tx rotor.Tx) error {
		wrapped, err = tx.CountSealedByKey(meta.ID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("count values wrapped by %s: %w", meta.ID, err)
	}
	return &rotor.KeyInfo{ID: meta.ID, Active: true, CreatedDate: meta.Created, Wrapped: wrapped}, nil
}

// addKey adds a fresh active key and saves the keyring; the keysMu is held.
func (s *Service) addKey() (envelope.KeyMeta, error) {
	meta, err := s.keyring.AddKey()
	if err != nil {
		return meta, fmt.Errorf("add key-encryption key: %w", err)
	}
	if err := s.keyring.SaveFile(s.keyFile); err != nil {
		rerr := s.keyring.RemoveKey(meta.ID)
		if rerr == nil {
			return meta, fmt.Errorf("save key file with new key %s (the key was removed again): %w", meta.ID, err)
		}
		// The keyring refuses to drop its active key, so the new key stays
		// active in memory only. Nothing was re-wrapped under it; the next
		// RotateKeys saves it first thing, once the key file can be written.
		s.log.Error("new key-encryption key is active but not saved in the key file",
			"key_id", meta.ID, "key_file", s.keyFile, "save_err", err, "remove_err", rerr)
		return meta, &rotor.Error{Code: rotor.EINTERNAL,
			Message: fmt.Sprintf("The key file could not be written; the new key-encryption key %s is active but not saved. "+
				"Make the key file writable and run RotateKeys again.", meta.ID),
			Err: fmt.Errorf("save key file %s: %w (remove new key: %v)", s.keyFile, err, rerr)}
	}
	return meta, nil
}

// rewrapAll re-wraps every stored value whose data key is wrapped by a key
// other than active, in batches, and returns how many it re-wrapped.
func (s *Service) rewrapAll(ctx context.Context, active string) (int, error) {
	total := 0
	for _, m := range s.keyring.Keys() {
		if m.ID == active {
			continue
		}
		seen := make(map[string]bool)
		for {
			n, err := s.rewrapBatch(ctx, m.ID, active, seen)
			total += n
			if err != nil {
				return total, fmt.Errorf("re-wrap values wrapped by %s: %w", m.ID, err)
			}
			if n == 0 {
				break
			}
		}
	}
	return total, nil
}

// rewrapBatch re-wraps up to rewrapBatch values wrapped by old in one write
// transaction and returns how many it re-wrapped (0 when none are left).
// seen holds the values re-wrapped by earlier batches: meeting one again
// means the store did not keep a replacement, and rather than loop forever
// rewrapBatch fails.
func (s *Service) rewrapBatch(ctx context.Context, old, active string, seen map[string]bool) (int, error) {
	var batch []string
	var n int
	err := s.store.Update(ctx, func(tx rotor.Tx) error {
		n, batch = 0, batch[:0]
		refs, err := tx.SealedByKey(old, rewrapBatch)
		if err != nil {
			return err
		}
		for _, ref := range refs {
			key := ref.Kind + "\x00" + ref.SecretARN + "\x00" + ref.ID
			if seen[key] {
				return &rotor.Error{Code: rotor.EINTERNAL, Message: "A re-wrapped value was not kept by the store.",
					Err: fmt.Errorf("%s %s is still wrapped by %s after re-wrapping", ref.Kind, refName(ref), old)}
			}
			batch = append(batch, key)
			aad, err := refAAD(ref)
			if err != nil {
				return err
			}
			sealed, err := s.keyring.Rewrap(ref.Sealed, aad)
			if err != nil {
				return fmt.Errorf("re-wrap %s %s: %w", ref.Kind, refName(ref), err)
			}
			if sealed.KeyID != active {
				// The active key changed under us; stop rather than loop.
				return &rotor.Error{Code: rotor.EINTERNAL, Message: "The active key-encryption key changed during rotation.",
					Err: fmt.Errorf("re-wrapped under %s, want %s", sealed.KeyID, active)}
			}
			if err := tx.ReplaceSealed(ref, sealed); err != nil {
				return fmt.Errorf("replace %s %s: %w", ref.Kind, refName(ref), err)
			}
		}
		n = len(refs)
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, key := range batch {
		seen[key] = true
	}
	return n, nil
}

// refAAD returns the associated data the value ref points at was sealed
// with.
func refAAD(ref rotor.SealedRef) ([]byte, error) {
	switch ref.Kind {
	case rotor.SealedVersion:
		return envelope.VersionAAD(ref.SecretARN, ref.ID), nil
	case rotor.SealedAccessKey:
		return envelope.AccessKeyAAD(ref.ID), nil
	}
	return nil, &rotor.Error{Code: rotor.EINTERNAL, Message: "A stored value of an unknown kind cannot be re-wrapped.",
		Err: fmt.Errorf("sealed ref kind %q", ref.Kind)}
}

func refName(ref rotor.SealedRef) string {
	if ref.Kind == rotor.SealedVersion {
		return ref.SecretARN + " " + ref.ID
	}
	return ref.ID
}

// RetireKey removes the key-encryption key id from the keyring and saves
// the key file without it.
//
// Errors: EDENIED; ESTATE when the keyring did not come from a key file,
// when id is the active key, or when stored data keys are still wrapped by
// it (run RotateKeys first); ENOTFOUND when the keyring has no such key;
// EINTERNAL when the store or the key file fails.
func (s *Service) RetireKey(ctx context.Context, id string) error {
	c, err := s.authorize(ctx, "RetireKey")
	if err != nil {
		return err
	}
	if s.keyFile == "" {
		return errNoKeyFile()
	}
	s.keysMu.Lock()
	defer s.keysMu.Unlock()

	if !s.keyring.Has(id) {
		return rotor.Errorf(rotor.ENOTFOUND, "The keyring has no key-encryption key %s.", id)
	}
	if id == s.keyring.ActiveID() {
		return rotor.Errorf(rotor.ESTATE, "Key-encryption key %s is the active key and cannot be retired.", id)
	}
	var n int
	err = s.store.View(ctx, func(tx rotor.Tx) error {
		n, err = tx.CountSealedByKey(id)
		return err
	})
	if err != nil {
		return fmt.Errorf("count values wrapped by %s: %w", id, err)
	}
	if n > 0 {
		return rotor.Errorf(rotor.ESTATE,
			"Key-encryption key %s still wraps %d data keys; run RotateKeys to re-wrap them before retiring it.", id, n)
	}
	if err := s.keyring.RemoveKey(id); err != nil {
		var e *rotor.Error
		if errors.As(err, &e) {
			return err
		}
		return fmt.Errorf("remove key-encryption key %s: %w", id, err)
	}
	if err := s.keyring.SaveFile(s.keyFile); err != nil {
		return fmt.Errorf("save key file without key %s: %w", id, err)
	}
	s.log.Info("key-encryption key retired", "key_id", id, "by", c.Principal.Identity)
	return nil
}

func errSharedNeedsStagedKey() error {
	return rotor.Errorf(rotor.ESTATE,
		"Other servers may share this database, each with its own copy of the keyring, so a key made here would leave them unable to read what it wraps. "+
			"Stage the new key first: run 'rotor keys add FILE' on a copy of the key file, give that file to every server as its key file "+
			"(they read it again by themselves), then run RotateKeys again: it activates the staged key and re-wraps every data key under it.")
}

func errNoKeyFile() error {
	return rotor.Errorf(rotor.ESTATE,
		"The keyring was given in an environment variable; key-encryption keys can be rotated or retired only when the server keeps its keyring in a key file.")
}
