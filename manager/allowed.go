package manager

import "context"

// Allowed returns nil when the caller may perform action (a full name such
// as "secretsmanager:RotateSecret" or "rotor:AbandonRotation") on the
// secret secretID of its region, exactly as that operation would decide it
// (the secret's resource policy and tags included), without performing
// anything; secretID "" asks about the action on no secret. A front end
// (the web console) uses it to offer only what the caller may do; the
// operation itself authorizes again when it is called.
//
// Errors: EDENIED; ENOTFOUND; EVALIDATION for a bad secret id; EINTERNAL.
func (s *Service) Allowed(ctx context.Context, action, secretID string) error {
	c, err := s.begin(ctx)
	if err != nil {
		return err
	}
	if secretID == "" {
		return s.authorizeNone(ctx, c, action)
	}
	if err := validateSecretID(secretID); err != nil {
		return err
	}
	rec, err := s.locate(ctx, c.Region, secretID)
	if err != nil {
		return err
	}
	return s.authorizeSecret(ctx, c, action, rec, secretID)
}
