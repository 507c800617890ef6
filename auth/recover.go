package auth

import (
	"context"
	"fmt"

	"github.com/rotorhq/rotor"
)

// RecoverAdmin is the break-glass way back when no administrator can sign
// in any more (every admin key lost, deactivated or deleted). It is meant
// for a stopped server, run offline by `rotor recover-admin` with the
// data directory and its keyring; it never goes through the API, so it
// authorizes nothing.
//
// In one write transaction it creates identity name with RoleAdmin if it
// does not exist, removes its inline identity policy if it has one (it
// could deny what the admin document allows), and gives it a fresh active
// access key, which it returns
// (the only time its secret is available). When the identity already has
// rotor.MaxAccessKeysPerIdentity keys, its oldest inactive key is deleted
// to make room; removed reports that key's id ("" if none).
//
// Returns EINVALID for a name that breaks ValidIdentityName; ESTATE when
// the identity exists but is not an admin, or already has the maximum of
// keys, all active (it is not locked out: use one of them); EENCRYPT or
// EINTERNAL when the keyring or the store fails.
func (s *Service) RecoverAdmin(ctx context.Context, name string) (key *rotor.AccessKey, removed string, err error) {
	if !ValidIdentityName(name) {
		return nil, "", rotor.Errorf(rotor.EINVALID,
			"Invalid identity name. It must be 1 to %d characters of letters, digits or _.@+=,-", MaxIdentityNameLength)
	}
	err = s.store.Update(ctx, func(tx rotor.Tx) error {
		key, removed = nil, ""
		id, err := tx.Identity(name)
		switch {
		case rotor.ErrorCode(err) == rotor.ENOTFOUND:
			if err := tx.CreateIdentity(&rotor.IdentityRecord{Name: name, Role: rotor.RoleAdmin, CreatedDate: s.now().UTC()}); err != nil {
				return fmt.Errorf("create identity %s: %w", name, err)
			}
		case err != nil:
			return fmt.Errorf("identity %s: %w", name, err)
		case id.Role != rotor.RoleAdmin:
			return rotor.Errorf(rotor.ESTATE,
				"Identity %s exists with role %q, not admin; name another identity to recover admin access with.", name, id.Role)
		case id.Policy != "":
			// Its inline policy may deny what the admin document allows:
			// recovery must give back full access, so it goes.
			if err := tx.SetIdentityPolicy(name, ""); err != nil {
				return fmt.Errorf("remove identity policy of %s: %w", name, err)
			}
		}
		keys, err := tx.AccessKeys(name)
		if err != nil {
			return fmt.Errorf("access keys of %s: %w", name, err)
		}
		if len(keys) >= rotor.MaxAccessKeysPerIdentity {
			var oldest *rotor.AccessKeyRecord
			for _, k := range keys {
				if k.Status == rotor.KeyInactive && (oldest == nil || k.CreatedDate.Before(oldest.CreatedDate)) {
					oldest = k
				}
			}
			if oldest == nil {
				return rotor.Errorf(rotor.ESTATE,
					"Identity %s already has %d active access keys; use one of them, or name another identity.", name, len(keys))
			}
			if err := tx.DeleteAccessKey(oldest.AccessKeyID); err != nil {
				return fmt.Errorf("delete access key %s: %w", oldest.AccessKeyID, err)
			}
			removed = oldest.AccessKeyID
		}
		key, err = s.createKey(tx, name)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	s.invalidate(func(_ string, k cachedKey) bool { return k.principal.Identity == name })
	return key, removed, nil
}
