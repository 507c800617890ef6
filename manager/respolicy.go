package manager

import (
	"context"
	"errors"
	"unicode/utf8"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/policy"
)

// Resource-policy actions, as the Authorizer receives them.
const (
	actionPutResourcePolicy      = "secretsmanager:PutResourcePolicy"
	actionGetResourcePolicy      = "secretsmanager:GetResourcePolicy"
	actionDeleteResourcePolicy   = "secretsmanager:DeleteResourcePolicy"
	actionValidateResourcePolicy = "secretsmanager:ValidateResourcePolicy"
)

// msgPublicPolicy answers PutResourcePolicy with BlockPublicPolicy and a
// policy that grants access outside the account (PublicPolicyException).
const msgPublicPolicy = "BlockPublicPolicy is set and the resource policy grants access to principals outside account %s: " +
	"name principals of this account, or pin the statement to them with a condition on aws:PrincipalArn."

// parseResourcePolicy checks a ResourcePolicy request member and compiles
// it: EVALIDATION for an empty document or one over policy.MaxResourceSize
// characters (the model's constraint), EPOLICY with the policy package's
// AWS-worded message for a document that is not a valid resource policy.
func parseResourcePolicy(doc string) (*policy.Policy, error) {
	if err := checkLength("resourcePolicy", utf8.RuneCountInString(doc), 1, policy.MaxResourceSize); err != nil {
		return nil, err
	}
	p, err := policy.Parse(doc, policy.Resource)
	var pe *policy.Error
	switch {
	case err == nil:
		return p, nil
	case errors.As(err, &pe) && pe.Code == policy.TooLarge:
		return nil, errMaxLen("resourcePolicy", policy.MaxResourceSize)
	case errors.As(err, &pe):
		return nil, &rotor.Error{Code: rotor.EPOLICY, Message: pe.Message}
	}
	return nil, internal("parse resource policy", err)
}

// PutResourcePolicy attaches a resource policy to the secret, replacing any
// it had; the document is stored exactly as given and the secret's
// LastChangedDate is updated. With BlockPublicPolicy, a policy that grants
// access outside the account (policy.Policy.IsPublic) is refused.
//
// Errors: EVALIDATION for an empty or over-long document; EPOLICY for a
// document that is not a valid resource policy; EPUBLICPOLICY; ESTATE on a
// secret scheduled for deletion; ENOTFOUND; EDENIED; EINTERNAL. Nothing is
// stored on error.
func (s *Service) PutResourcePolicy(ctx context.Context, in rotor.PutResourcePolicyInput) (*rotor.SecretRef, error) {
	c, err := s.beginSecret(ctx, in.SecretID)
	if err != nil {
		return nil, err
	}
	p, err := parseResourcePolicy(in.ResourcePolicy)
	if err != nil {
		return nil, err
	}
	if in.BlockPublicPolicy && p.IsPublic(s.account) {
		return nil, rotor.Errorf(rotor.EPUBLICPOLICY, msgPublicPolicy, s.account)
	}
	var out *rotor.SecretRef
	err = s.mutate(ctx, c, actionPutResourcePolicy, in.SecretID, func(tx rotor.Tx, rec *rotor.SecretRecord) error {
		if !rec.DeletedDate.IsZero() {
			return errMarkedForDeletion()
		}
		out = &rotor.SecretRef{ARN: rec.ARN, Name: rec.Name}
		rec.ResourcePolicy = in.ResourcePolicy
		return storeChanged(tx, rec, s.now())
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// GetResourcePolicy returns the secret's resource policy exactly as it was
// stored, Policy "" when it has none.
//
// Errors: EVALIDATION; ESTATE on a secret scheduled for deletion;
// ENOTFOUND; EDENIED; EINTERNAL.
func (s *Service) GetResourcePolicy(ctx context.Context, secretID string) (*rotor.ResourcePolicy, error) {
	c, err := s.beginSecret(ctx, secretID)
	if err != nil {
		return nil, err
	}
	p, err := s.lookup(ctx, c.Region, secretID)
	if isCode(err, rotor.ENOTFOUND) {
		return nil, s.notFound(ctx, c, actionGetResourcePolicy, secretID)
	} else if err != nil {
		return nil, err
	}
	rec := p.record()
	if err := s.authorizeSecret(ctx, c, actionGetResourcePolicy, rec, secretID); err != nil {
		return nil, err
	}
	if !rec.DeletedDate.IsZero() {
		return nil, errMarkedForDeletion()
	}
	return &rotor.ResourcePolicy{ARN: rec.ARN, Name: rec.Name, Policy: rec.ResourcePolicy}, nil
}

// DeleteResourcePolicy removes the secret's resource policy. A secret
// without one is left as it is (LastChangedDate included) and the call
// succeeds.
//
// Errors: EVALIDATION; ESTATE on a secret scheduled for deletion;
// ENOTFOUND; EDENIED; EINTERNAL.
func (s *Service) DeleteResourcePolicy(ctx context.Context, secretID string) (*rotor.SecretRef, error) {
	c, err := s.beginSecret(ctx, secretID)
	if err != nil {
		return nil, err
	}
	var out *rotor.SecretRef
	err = s.mutate(ctx, c, actionDeleteResourcePolicy, secretID, func(tx rotor.Tx, rec *rotor.SecretRecord) error {
		if !rec.DeletedDate.IsZero() {
			return errMarkedForDeletion()
		}
		out = &rotor.SecretRef{ARN: rec.ARN, Name: rec.Name}
		if rec.ResourcePolicy == "" {
			return nil
		}
		rec.ResourcePolicy = ""
		return storeChanged(tx, rec, s.now())
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ValidateResourcePolicy checks a resource policy without storing it: a
// document that is not a valid resource policy is refused as
// PutResourcePolicy refuses it (EVALIDATION, EPOLICY); a valid one is
// reported with its findings (policy.Policy.Findings): Passed is false when
// any is an error, such as a policy that BlockPublicPolicy would refuse,
// and Errors lists every finding, warnings included.
//
// As AWS documents, the caller needs both secretsmanager:ValidateResourcePolicy
// and secretsmanager:PutResourcePolicy: on the secret when SecretID is given
// (it must exist, scheduled for deletion or not), else on no resource.
//
// Errors: EVALIDATION; EPOLICY; ENOTFOUND; EDENIED; EINTERNAL.
func (s *Service) ValidateResourcePolicy(ctx context.Context, in rotor.ValidateResourcePolicyInput) (*rotor.PolicyValidation, error) {
	c, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	if in.SecretID != "" {
		if err := validateSecretID(in.SecretID); err != nil {
			return nil, err
		}
	}
	p, err := parseResourcePolicy(in.ResourcePolicy)
	if err != nil {
		return nil, err
	}
	req := rotor.AccessRequest{} // no secret named: the actions on no resource, as ListSecrets
	if in.SecretID != "" {
		rec, err := s.locate(ctx, c.Region, in.SecretID)
		if isCode(err, rotor.ENOTFOUND) {
			if err := s.notFound(ctx, c, actionValidateResourcePolicy, in.SecretID); !isCode(err, rotor.ENOTFOUND) {
				return nil, err
			}
			return nil, s.notFound(ctx, c, actionPutResourcePolicy, in.SecretID)
		} else if err != nil {
			return nil, err
		}
		req = rotor.AccessRequest{Resource: rec.ARN, Secret: rec, SecretID: in.SecretID}
	}
	for _, action := range []string{actionValidateResourcePolicy, actionPutResourcePolicy} {
		req.Action = action
		if err := s.authorize(ctx, c, req); err != nil {
			return nil, err
		}
	}
	out := &rotor.PolicyValidation{Passed: true}
	for _, f := range p.Findings(s.account) {
		if f.Type == policy.FindingError {
			out.Passed = false
		}
		out.Errors = append(out.Errors, rotor.PolicyValidationError{Check: f.Check, Message: f.Message})
	}
	return out, nil
}

// ResourcePolicy returns the compiled resource policy of the secret with
// this exact ARN, for the Authorizer: nil (and no error) when the secret has
// none. The policy is compiled once per cache fill and shared by every
// caller until the secret changes (every write invalidates its cache entry),
// so evaluating it per request costs no parsing; it is immutable and safe
// for concurrent use. It does not authorize anything itself and needs no
// caller in ctx.
//
// Errors: ENOTFOUND when no secret has this ARN (including one that names
// a secret in another account, or a partial ARN); EINTERNAL, also when the
// stored document no longer parses (a caller must then deny).
func (s *Service) ResourcePolicy(ctx context.Context, arn string) (*policy.Policy, error) {
	if s.store == nil {
		return nil, internal("resource policy", errStoreMissing)
	}
	a, ok := rotor.ParseARN(arn)
	if !ok {
		return nil, errNotFound()
	}
	p, err := s.lookup(ctx, a.Region, arn)
	if err != nil {
		return nil, err
	}
	if p.arn() != arn {
		return nil, errNotFound()
	}
	return p.resourcePolicy()
}
