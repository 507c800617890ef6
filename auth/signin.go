package auth

import (
	"context"
	"crypto/subtle"

	"github.com/rotorhq/rotor"
)

// VerifySecret checks a long-term access key id and its secret access key
// exactly as Authenticate checks a signature made with them, for a sign-in
// form (the web console) that receives the secret itself: the same key
// lookup (cache, then store), the key must be Active, and the secret is
// compared in constant time. It returns the key's principal.
//
// Errors: EAUTHUNKNOWN "The security token included in the request is
// invalid." for an unknown, inactive or temporary key id and for a wrong
// secret (the caller cannot tell which); EINTERNAL when the store cannot be
// read or the stored secret cannot be decrypted.
func (s *Service) VerifySecret(ctx context.Context, accessKeyID, secret string) (rotor.Principal, error) {
	want, p, err := s.longTermKey(ctx, accessKeyID)
	if err != nil {
		return rotor.Principal{}, err
	}
	if subtle.ConstantTimeCompare([]byte(secret), []byte(want)) != 1 {
		return rotor.Principal{}, rotor.Errorf(rotor.EAUTHUNKNOWN, msgInvalidToken)
	}
	return p, nil
}

// ActivePrincipal returns the principal of the long-term access key
// accessKeyID while it exists and is Active, as Authenticate would see it
// now (the cache is invalidated synchronously by every change to keys and
// identities): a session opened with VerifySecret checks it on every
// request, so deleting or deactivating the key, or changing its identity,
// takes effect at once. Errors as VerifySecret's.
func (s *Service) ActivePrincipal(ctx context.Context, accessKeyID string) (rotor.Principal, error) {
	_, p, err := s.longTermKey(ctx, accessKeyID)
	if err != nil {
		return rotor.Principal{}, err
	}
	return p, nil
}
