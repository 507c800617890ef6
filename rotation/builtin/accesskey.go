package builtin

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/rotorhq/rotor"
)

// Keys of an access-key secret: one long-term access key of a Rotor
// identity, as the function rotor-access-key rotates it.
const (
	KeyAccessKeyID     = "accessKeyId"
	KeySecretAccessKey = "secretAccessKey"
	KeyIdentity        = "identity"
)

// AccessKey is a Rotor access key with its secret.
type AccessKey struct {
	ID     string
	Secret string
}

// KeyService manages the access keys of identities on a server that issues
// them itself (Rotor's own auth service) and proves a key works. It is the
// driver of the AccessKeys strategy, as Driver is of the database ones;
// unlike a password, a key is made by the target, so createSecret changes
// the target. Implementations are safe for concurrent use and never put a
// key's secret into an error.
type KeyService interface {
	// Keys returns the ids of identity's access keys, oldest first.
	// ENOTFOUND when no such identity exists.
	Keys(ctx context.Context, identity string) ([]string, error)
	// CreateKey gives identity a new active access key and returns it.
	// ELIMIT when identity already holds the most keys it may.
	CreateKey(ctx context.Context, identity string) (AccessKey, error)
	// DeleteKey removes identity's access key id. ENOTFOUND when identity
	// has no such key (a key of another identity is never deleted).
	DeleteKey(ctx context.Context, identity, id string) error
	// WhoAmI signs a request with key (SigV4, for region) to the server at
	// endpoint and returns the identity the server says signed it. It fails
	// when the server refuses the key.
	WhoAmI(ctx context.Context, endpoint, region string, key AccessKey) (string, error)
}

// AccessKeys is the multiple-credentials strategy applied to Rotor's own
// access keys: an identity holds up to two keys, so each rotation deletes
// the key no client was given for a whole rotation period and adds a new
// one, and both the new AWSCURRENT and the AWSPREVIOUS keys work after it.
// The secret is a JSON object {"accessKeyId","secretAccessKey","identity"};
// other keys are kept byte for byte.
//
// The identity whose keys change is the one the rotation is bound to
// (rotor.RotationConfig.Identity), which only a caller allowed
// rotor:CreateAccessKey binds; the value's "identity" must name it and its
// "accessKeyId" must be a key of it. The value alone is data its holder can
// write, so it never decides which identity gets keys.
//
// createSecret, when the identity already holds two keys, deletes the one
// that is not AWSCURRENT's, then creates a key and stores it as
// AWSPENDING; setSecret has nothing to do (a key is live when created);
// testSecret signs a rotor.GetCallerIdentity call with the AWSPENDING key
// and checks the server names the identity.
type AccessKeys struct {
	Keys KeyService
}

var (
	_ Strategy   = AccessKeys{}
	_ Minter     = AccessKeys{}
	_ MasterUser = AccessKeys{}
)

// keySecret is a parsed access-key secret.
type keySecret struct {
	AccessKeyID, SecretAccessKey, Identity string
}

// parseKeySecret parses the value labelled label.
func parseKeySecret(label, s string) (keySecret, error) {
	_, doc, err := parseObject(label, s)
	if err != nil {
		return keySecret{}, err
	}
	var k keySecret
	for _, f := range []struct {
		name string
		dst  *string
	}{{KeyAccessKeyID, &k.AccessKeyID}, {KeySecretAccessKey, &k.SecretAccessKey}, {KeyIdentity, &k.Identity}} {
		raw, ok := doc[f.name]
		if !ok {
			return keySecret{}, invalidf("the %s secret has no %q key", label, f.name)
		}
		if json.Unmarshal(raw, f.dst) != nil || *f.dst == "" {
			return keySecret{}, invalidf("the %q key of the %s secret must be a non-empty string", f.name, label)
		}
	}
	return k, nil
}

// Generate implements Strategy. It is never called: Function calls Mint,
// since the server, not GetRandomPassword, makes an access key.
func (AccessKeys) Generate(context.Context, string, func(context.Context) (string, error)) (string, error) {
	return "", rotor.Errorf(rotor.EUNSUPPORTED, "an access key is created by the server: use Mint")
}

// NeedsMaster implements MasterUser: the function manages keys itself.
func (AccessKeys) NeedsMaster() bool { return false }

// Mint implements Minter (createSecret). It refuses (EPRECONDITION) when
// the rotation is bound to no identity, when the AWSCURRENT value names
// another identity than the bound one, and when its access key is not a
// key of that identity (then no key can be told idle, and none is
// deleted). EINVALID for a value that is not an access-key secret;
// EINTERNAL (or the service's code) when a key cannot be listed, deleted or
// created. A retry after a failure half-way is safe: a key created but not
// stored is the idle key the retry deletes.
func (a AccessKeys) Mint(ctx context.Context, desc *rotor.SecretDescription, current string) (string, error) {
	cur, err := parseKeySecret(rotor.StageCurrent, current)
	if err != nil {
		return "", err
	}
	bound := desc.Rotation.Identity
	if bound == "" {
		return "", rotor.Errorf(rotor.EPRECONDITION,
			"refusing to rotate: the rotation of %s is bound to no identity; an identity allowed rotor:CreateAccessKey must call RotateSecret while the AWSCURRENT value names the identity", desc.ARN)
	}
	if cur.Identity != bound {
		return "", rotor.Errorf(rotor.EPRECONDITION,
			"refusing to rotate: the AWSCURRENT secret is for identity %q but the rotation of %s is bound to identity %q", cur.Identity, desc.ARN, bound)
	}
	keys, err := a.Keys.Keys(ctx, bound)
	if err != nil {
		return "", keyFail(err, "list the access keys of identity %q", bound)
	}
	if !slices.Contains(keys, cur.AccessKeyID) {
		return "", rotor.Errorf(rotor.EPRECONDITION,
			"refusing to rotate: the AWSCURRENT access key %s is not a key of identity %q, so no key of it can be told idle", cur.AccessKeyID, bound)
	}
	if len(keys) >= rotor.MaxAccessKeysPerIdentity {
		for _, id := range keys {
			if id == cur.AccessKeyID {
				continue
			}
			if err := a.Keys.DeleteKey(ctx, bound, id); err != nil && rotor.ErrorCode(err) != rotor.ENOTFOUND {
				return "", keyFail(err, "delete the idle access key %s of identity %q", id, bound)
			}
		}
	}
	k, err := a.Keys.CreateKey(ctx, bound)
	if err != nil {
		return "", keyFail(err, "create an access key for identity %q", bound)
	}
	return replaceFields(rotor.StageCurrent, current, []field{
		{KeyAccessKeyID, k.ID}, {KeySecretAccessKey, k.Secret}, {KeyIdentity, bound},
	})
}

// Set implements Strategy: a new key works from its creation.
func (AccessKeys) Set(context.Context, Values) error { return nil }

// Test implements Strategy: it signs a request with the AWSPENDING key and
// checks the server says it belongs to the AWSCURRENT value's identity.
// EPRECONDITION when AWSPENDING names another identity; EINTERNAL when
// the call fails or the server names another identity.
func (a AccessKeys) Test(ctx context.Context, v Values) error {
	cur, err := parseKeySecret(rotor.StageCurrent, v.Current)
	if err != nil {
		return err
	}
	pend, err := parseKeySecret(rotor.StagePending, v.Pending)
	if err != nil {
		return err
	}
	if pend.Identity != cur.Identity {
		return rotor.Errorf(rotor.EPRECONDITION, "refusing to test: the AWSPENDING secret is for identity %q but the AWSCURRENT secret is for identity %q",
			pend.Identity, cur.Identity)
	}
	if v.Endpoint == "" {
		return rotor.Errorf(rotor.EPRECONDITION, "cannot test the AWSPENDING access key: the engine gave no server endpoint")
	}
	who, err := a.Keys.WhoAmI(ctx, v.Endpoint, v.Region, AccessKey{ID: pend.AccessKeyID, Secret: pend.SecretAccessKey})
	if err != nil {
		r := &redactor{secrets: []string{pend.SecretAccessKey, cur.SecretAccessKey}}
		return r.fail(rotor.EINTERNAL, err, "a request signed with the AWSPENDING access key %s of %s failed", pend.AccessKeyID, v.SecretARN)
	}
	if who != pend.Identity {
		return rotor.Errorf(rotor.EINTERNAL, "the server says the AWSPENDING access key %s belongs to %q, not %q", pend.AccessKeyID, who, pend.Identity)
	}
	return nil
}

// keyFail wraps a KeyService error, keeping its code.
func keyFail(err error, format string, args ...any) error {
	code := rotor.ErrorCode(err)
	if code == "" || code == rotor.ENOTFOUND {
		code = rotor.EINTERNAL
	}
	return &rotor.Error{Code: code, Message: fmt.Sprintf(format, args...) + ": " + rotor.ErrorMessage(err)}
}

// replaceFields returns the JSON object doc with the values of fields
// replaced, or appended in the order given when doc lacks them; every other
// byte of doc is kept as it was (see object.with). EINVALID when doc is not
// one JSON object or repeats a key.
func replaceFields(label, doc string, fields []field) (string, error) {
	obj, _, err := parseObject(label, doc)
	if err != nil {
		return "", err
	}
	return obj.with(fields...)
}
