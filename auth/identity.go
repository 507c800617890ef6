package auth

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/envelope"
	"github.com/rotorhq/rotor/policy"
)

// BootstrapIdentity is the name of the admin identity Bootstrap creates.
const BootstrapIdentity = "admin"

// MaxIdentityNameLength is the longest identity name accepted.
const MaxIdentityNameLength = 64

// ValidIdentityName reports whether name is 1-64 characters of ASCII
// letters, digits and _.@+=,- (IAM's user-name alphabet).
func ValidIdentityName(name string) bool {
	if len(name) == 0 || len(name) > MaxIdentityNameLength {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '_', c == '.', c == '@', c == '+', c == '=', c == ',', c == '-':
		default:
			return false
		}
	}
	return true
}

// Bootstrap creates the identity "admin" with RoleAdmin and one active
// access key when no identity exists yet, and returns that key (the only
// time its secret is available). When any identity already exists it
// changes nothing and returns nil, nil. The check and the creation happen
// in one write transaction, so concurrent calls create one admin at most;
// when servers sharing a database race and the store refuses this one's
// identity as taken (EEXISTS: another server created it first), Bootstrap
// returns nil, nil like any call that finds an identity.
//
// Returns EINTERNAL (or EENCRYPT) when the store or the keyring fails.
func (s *Service) Bootstrap(ctx context.Context) (*rotor.AccessKey, error) {
	var key *rotor.AccessKey
	err := s.store.Update(ctx, func(tx rotor.Tx) error {
		key = nil
		ids, err := tx.Identities()
		if err != nil {
			return fmt.Errorf("list identities: %w", err)
		} else if len(ids) > 0 {
			return nil
		}
		now := s.now().UTC()
		if err := tx.CreateIdentity(&rotor.IdentityRecord{Name: BootstrapIdentity, Role: rotor.RoleAdmin, CreatedDate: now}); err != nil {
			return fmt.Errorf("create identity %s: %w", BootstrapIdentity, err)
		}
		key, err = s.createKey(tx, BootstrapIdentity)
		return err
	})
	if rotor.ErrorCode(err) == rotor.EEXISTS && s.anyIdentity(ctx) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	return key, nil
}

// anyIdentity reports whether the store holds an identity (false when it
// cannot tell).
func (s *Service) anyIdentity(ctx context.Context) bool {
	var n int
	err := s.store.View(ctx, func(tx rotor.Tx) error {
		ids, err := tx.Identities()
		n = len(ids)
		return err
	})
	return err == nil && n > 0
}

// CreateIdentity stores a new identity with role and no access keys. Its
// rights are those of its role's built-in policy (RolePolicies); with
// RoleNone it may do nothing until it is given an identity policy.
//
// Returns EINVALID when name breaks ValidIdentityName or role is none of
// RoleNone, RoleAdmin and RoleReadOnly, EEXISTS when the name is taken, EINTERNAL
// when the store fails.
func (s *Service) CreateIdentity(ctx context.Context, name string, role rotor.Role) (*rotor.Identity, error) {
	if !ValidIdentityName(name) {
		return nil, rotor.Errorf(rotor.EINVALID,
			"Invalid identity name. It must be 1 to %d characters of letters, digits or _.@+=,-", MaxIdentityNameLength)
	}
	if !role.Valid() {
		return nil, rotor.Errorf(rotor.EINVALID, "Invalid role %q. It must be %q, %q or none.", role, rotor.RoleAdmin, rotor.RoleReadOnly)
	}
	rec := &rotor.IdentityRecord{Name: name, Role: role, CreatedDate: s.now().UTC()}
	err := s.store.Update(ctx, func(tx rotor.Tx) error {
		if _, err := tx.Identity(name); err == nil {
			return rotor.Errorf(rotor.EEXISTS, "An identity named %s already exists.", name)
		} else if rotor.ErrorCode(err) != rotor.ENOTFOUND {
			return err
		}
		return tx.CreateIdentity(rec)
	})
	if rotor.ErrorCode(err) == rotor.EEXISTS {
		return nil, rotor.Errorf(rotor.EEXISTS, "An identity named %s already exists.", name)
	} else if err != nil {
		return nil, fmt.Errorf("create identity %s: %w", name, err)
	}
	return &rotor.Identity{Name: rec.Name, Role: rec.Role, CreatedDate: rec.CreatedDate}, nil
}

// PutIdentityPolicy sets the inline identity policy of identity name to doc
// (IAM's grammar, at most policy.MaxIdentitySize characters not counting
// white space), replacing any it had. The document is stored byte-exact
// and compiled when the identity's keys are next loaded; it holds from the
// next request on. The identity's role keeps attaching its built-in
// document.
//
// Returns EPOLICY (MalformedPolicyDocumentException) with IAM's message for
// a document that is not a valid identity policy, ELIMIT "Cannot exceed
// quota for PolicySize: 6144" for one too large, ENOTFOUND when no such
// identity exists, EINTERNAL when the store fails.
func (s *Service) PutIdentityPolicy(ctx context.Context, name, doc string) error {
	if _, err := policy.Parse(doc, policy.Identity); err != nil {
		return policyError(err)
	}
	return s.setIdentityPolicy(ctx, name, doc)
}

// GetIdentityPolicy returns the inline identity policy of identity name as
// it was stored. Returns ENOTFOUND when no such identity exists or it has no
// inline policy, EINTERNAL when the store fails.
func (s *Service) GetIdentityPolicy(ctx context.Context, name string) (string, error) {
	var ident *rotor.IdentityRecord
	err := s.store.View(ctx, func(tx rotor.Tx) error {
		var err error
		ident, err = tx.Identity(name)
		return err
	})
	if rotor.ErrorCode(err) == rotor.ENOTFOUND {
		return "", rotor.Errorf(rotor.ENOTFOUND, "No identity named %s exists.", name)
	} else if err != nil {
		return "", fmt.Errorf("get identity policy of %s: %w", name, err)
	}
	if ident.Policy == "" {
		return "", rotor.Errorf(rotor.ENOTFOUND, "Identity %s has no identity policy.", name)
	}
	return ident.Policy, nil
}

// DeleteIdentityPolicy removes the inline identity policy of identity name;
// its role's built-in document stays. Returns ENOTFOUND when no such
// identity exists or it has no inline policy, EINTERNAL when the store
// fails.
func (s *Service) DeleteIdentityPolicy(ctx context.Context, name string) error {
	return s.setIdentityPolicy(ctx, name, "")
}

// setIdentityPolicy stores doc as the inline policy of name and drops the
// cached principals of its keys.
func (s *Service) setIdentityPolicy(ctx context.Context, name, doc string) error {
	err := s.store.Update(ctx, func(tx rotor.Tx) error {
		ident, err := tx.Identity(name)
		if err != nil {
			return err
		}
		if doc == "" && ident.Policy == "" {
			return rotor.Errorf(rotor.ENOTFOUND, "Identity %s has no identity policy.", name)
		}
		return tx.SetIdentityPolicy(name, doc)
	})
	var re *rotor.Error
	if errors.As(err, &re) && re.Code == rotor.ENOTFOUND && strings.HasPrefix(re.Message, "Identity ") {
		return err
	} else if rotor.ErrorCode(err) == rotor.ENOTFOUND {
		return rotor.Errorf(rotor.ENOTFOUND, "No identity named %s exists.", name)
	} else if err != nil {
		return fmt.Errorf("set identity policy of %s: %w", name, err)
	}
	s.invalidate(func(_ string, k cachedKey) bool { return k.principal.Identity == name })
	return nil
}

// policyError turns a *policy.Error into the *rotor.Error the client sees.
func policyError(err error) error {
	var pe *policy.Error
	if !errors.As(err, &pe) {
		return internal(err)
	}
	if pe.Code == policy.TooLarge {
		return rotor.Errorf(rotor.ELIMIT, "Cannot exceed quota for PolicySize: %d", policy.MaxIdentitySize)
	}
	return rotor.Errorf(rotor.EPOLICY, "%s", pe.Message)
}

// ListIdentities returns every identity, sorted by name, each with its
// access keys (oldest first; never their secrets). Returns EINTERNAL when
// the store fails.
func (s *Service) ListIdentities(ctx context.Context) ([]rotor.Identity, error) {
	var ids []*rotor.IdentityRecord
	var keys []*rotor.AccessKeyRecord
	err := s.store.View(ctx, func(tx rotor.Tx) error {
		var err error
		if ids, err = tx.Identities(); err != nil {
			return err
		}
		keys, err = tx.AccessKeys("")
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list identities: %w", err)
	}
	byIdentity := make(map[string][]rotor.AccessKeyInfo)
	for _, k := range keys {
		byIdentity[k.Identity] = append(byIdentity[k.Identity], keyInfo(k))
	}
	out := make([]rotor.Identity, 0, len(ids))
	for _, i := range ids {
		ks := byIdentity[i.Name]
		slices.SortFunc(ks, func(a, b rotor.AccessKeyInfo) int {
			return cmp.Or(a.CreatedDate.Compare(b.CreatedDate), cmp.Compare(a.AccessKeyID, b.AccessKeyID))
		})
		out = append(out, rotor.Identity{Name: i.Name, Role: i.Role, CreatedDate: i.CreatedDate, AccessKeys: ks})
	}
	slices.SortFunc(out, func(a, b rotor.Identity) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

// DeleteIdentity removes the identity with all its access keys. Its keys
// are refused from the next request on, and temporary credentials issued
// for the same identity name are revoked.
//
// Returns ENOTFOUND when no such identity exists, ESTATE when it holds
// every remaining active admin access key (see keepsAdmin), EINTERNAL when
// the store fails.
func (s *Service) DeleteIdentity(ctx context.Context, name string) error {
	err := s.store.Update(ctx, func(tx rotor.Tx) error {
		if _, err := tx.Identity(name); err != nil {
			return err
		}
		if err := keepsAdmin(tx, func(k *rotor.AccessKeyRecord) bool { return k.Identity == name }); err != nil {
			return err
		}
		return tx.DeleteIdentity(name)
	})
	if rotor.ErrorCode(err) == rotor.ENOTFOUND {
		return rotor.Errorf(rotor.ENOTFOUND, "No identity named %s exists.", name)
	} else if errors.Is(err, errLastAdmin) {
		return rotor.Errorf(rotor.ESTATE,
			"Identity %s holds the last active admin access key; create another admin access key first.", name)
	} else if err != nil {
		return fmt.Errorf("delete identity %s: %w", name, err)
	}
	s.invalidate(func(_ string, k cachedKey) bool { return k.principal.Identity == name })
	s.revokeIdentity(name)
	return nil
}

// CreateAccessKey creates an active long-term access key for identity and
// returns it with its secret, which is shown only this once. The secret is
// stored sealed under the keyring's active key.
//
// Returns ENOTFOUND when the identity does not exist, ELIMIT when it already
// has rotor.MaxAccessKeysPerIdentity keys, EENCRYPT or EINTERNAL when the
// keyring or the store fails.
func (s *Service) CreateAccessKey(ctx context.Context, identity string) (*rotor.AccessKey, error) {
	var key *rotor.AccessKey
	err := s.store.Update(ctx, func(tx rotor.Tx) error {
		if _, err := tx.Identity(identity); rotor.ErrorCode(err) == rotor.ENOTFOUND {
			return rotor.Errorf(rotor.ENOTFOUND, "No identity named %s exists.", identity)
		} else if err != nil {
			return err
		}
		existing, err := tx.AccessKeys(identity)
		if err != nil {
			return err
		}
		if len(existing) >= rotor.MaxAccessKeysPerIdentity {
			return rotor.Errorf(rotor.ELIMIT, "Identity %s already has the maximum of %d access keys.",
				identity, rotor.MaxAccessKeysPerIdentity)
		}
		key, err = s.createKey(tx, identity)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create access key for %s: %w", identity, err)
	}
	return key, nil
}

// createKey generates, seals and stores a new active key for identity
// inside tx.
func (s *Service) createKey(tx rotor.Tx, identity string) (*rotor.AccessKey, error) {
	id, err := newAccessKeyID(LongTermPrefix)
	if err != nil {
		return nil, internal(err)
	}
	secret, err := newSecret(secretKeyBytes)
	if err != nil {
		return nil, internal(err)
	}
	sealed, err := s.keyring.Seal([]byte(secret), envelope.AccessKeyAAD(id))
	if err != nil {
		return nil, fmt.Errorf("seal secret of access key %s: %w", id, err)
	}
	rec := &rotor.AccessKeyRecord{AccessKeyID: id, Identity: identity, Status: rotor.KeyActive,
		Secret: sealed, CreatedDate: s.now().UTC()}
	if err := tx.CreateAccessKey(rec); err != nil {
		return nil, fmt.Errorf("store access key %s: %w", id, err)
	}
	return &rotor.AccessKey{AccessKeyInfo: keyInfo(rec), SecretAccessKey: secret}, nil
}

// UpdateAccessKey sets the status of a long-term access key to
// rotor.KeyActive or rotor.KeyInactive; the change holds from the next
// request on.
//
// Returns EINVALID for any other status, ENOTFOUND when no such key exists,
// ESTATE when it would deactivate the last active admin access key (see
// keepsAdmin), EINTERNAL when the store fails.
func (s *Service) UpdateAccessKey(ctx context.Context, id, status string) error {
	if status != rotor.KeyActive && status != rotor.KeyInactive {
		return rotor.Errorf(rotor.EINVALID, "Invalid status %q. It must be %q or %q.", status, rotor.KeyActive, rotor.KeyInactive)
	}
	err := s.store.Update(ctx, func(tx rotor.Tx) error {
		if _, err := tx.AccessKey(id); err != nil {
			return err
		}
		if status == rotor.KeyInactive {
			if err := keepsAdmin(tx, func(k *rotor.AccessKeyRecord) bool { return k.AccessKeyID == id }); err != nil {
				return err
			}
		}
		return tx.SetAccessKeyStatus(id, status)
	})
	if rotor.ErrorCode(err) == rotor.ENOTFOUND {
		return rotor.Errorf(rotor.ENOTFOUND, "No access key %s exists.", id)
	} else if errors.Is(err, errLastAdmin) {
		return errLastAdminKey(id)
	} else if err != nil {
		return fmt.Errorf("update access key %s: %w", id, err)
	}
	s.invalidate(func(kid string, _ cachedKey) bool { return kid == id })
	return nil
}

// DeleteAccessKey removes a long-term access key; it is refused from the
// next request on.
//
// Returns ENOTFOUND when no such key exists, ESTATE when it is the last
// active admin access key (see keepsAdmin), EINTERNAL when the store fails.
func (s *Service) DeleteAccessKey(ctx context.Context, id string) error {
	err := s.store.Update(ctx, func(tx rotor.Tx) error {
		if _, err := tx.AccessKey(id); err != nil {
			return err
		}
		if err := keepsAdmin(tx, func(k *rotor.AccessKeyRecord) bool { return k.AccessKeyID == id }); err != nil {
			return err
		}
		return tx.DeleteAccessKey(id)
	})
	if rotor.ErrorCode(err) == rotor.ENOTFOUND {
		return rotor.Errorf(rotor.ENOTFOUND, "No access key %s exists.", id)
	} else if errors.Is(err, errLastAdmin) {
		return errLastAdminKey(id)
	} else if err != nil {
		return fmt.Errorf("delete access key %s: %w", id, err)
	}
	s.invalidate(func(kid string, _ cachedKey) bool { return kid == id })
	return nil
}

// errLastAdmin is keepsAdmin's refusal, turned into the caller's message.
var errLastAdmin = errors.New("the last active admin access key")

func errLastAdminKey(id string) error {
	return rotor.Errorf(rotor.ESTATE,
		"Access key %s is the last active admin access key; create another admin access key first.", id)
}

// keepsAdmin returns errLastAdmin when removing (deleting or deactivating)
// the access keys for which gone reports true would leave no active
// access key of an admin identity while one exists now: nothing the API
// offers may lock every administrator out ('rotor recover-admin' is the
// way back for a stopped server). It runs inside the write transaction
// that makes the change, and write transactions are serialised, so two
// concurrent removals of the last two admin keys cannot both pass.
func keepsAdmin(tx rotor.Tx, gone func(*rotor.AccessKeyRecord) bool) error {
	ids, err := tx.Identities()
	if err != nil {
		return fmt.Errorf("list identities: %w", err)
	}
	admins := map[string]bool{}
	for _, i := range ids {
		if i.Role == rotor.RoleAdmin {
			admins[i.Name] = true
		}
	}
	keys, err := tx.AccessKeys("")
	if err != nil {
		return fmt.Errorf("list access keys: %w", err)
	}
	removed, kept := 0, 0
	for _, k := range keys {
		if k.Status != rotor.KeyActive || !admins[k.Identity] {
			continue
		}
		if gone(k) {
			removed++
		} else {
			kept++
		}
	}
	if removed > 0 && kept == 0 {
		return errLastAdmin
	}
	return nil
}

func keyInfo(k *rotor.AccessKeyRecord) rotor.AccessKeyInfo {
	return rotor.AccessKeyInfo{AccessKeyID: k.AccessKeyID, Identity: k.Identity, Status: k.Status, CreatedDate: k.CreatedDate}
}
