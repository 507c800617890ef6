package manager

import (
	"context"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/password"
)

// GetRandomPassword generates a password for spec with package password
// (crypto/rand), after authorizing "secretsmanager:GetRandomPassword" on
// resource "". Nothing is stored.
//
// Errors: those of password.Generate (EINVALID for impossible constraints,
// EVALIDATION for out-of-range lengths); EDENIED; EINTERNAL.
func (s *Service) GetRandomPassword(ctx context.Context, spec rotor.PasswordSpec) (string, error) {
	c, err := s.begin(ctx)
	if err != nil {
		return "", err
	}
	if err := s.authorizeNone(ctx, c, actionGetRandomPassword); err != nil {
		return "", err
	}
	return password.Generate(spec)
}
