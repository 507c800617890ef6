package awsapi

import (
	"context"

	"github.com/rotorhq/rotor"
)

// GetRandomPassword.

type getRandomPasswordRequest struct {
	PasswordLength          *int64  `json:"PasswordLength"`
	ExcludeCharacters       *string `json:"ExcludeCharacters"`
	ExcludeNumbers          *bool   `json:"ExcludeNumbers"`
	ExcludePunctuation      *bool   `json:"ExcludePunctuation"`
	ExcludeUppercase        *bool   `json:"ExcludeUppercase"`
	ExcludeLowercase        *bool   `json:"ExcludeLowercase"`
	IncludeSpace            *bool   `json:"IncludeSpace"`
	RequireEachIncludedType *bool   `json:"RequireEachIncludedType"`
}

type getRandomPasswordResponse struct {
	RandomPassword string `json:"RandomPassword"`
}

// passwordSpec resolves the optional members to AWS's defaults
// (rotor.DefaultPasswordSpec): a member that is present wins, so an explicit
// false is false (the rotation templates send every boolean).
func (in *getRandomPasswordRequest) passwordSpec() rotor.PasswordSpec {
	spec := rotor.DefaultPasswordSpec()
	if in.PasswordLength != nil {
		spec.Length = *in.PasswordLength
	}
	if in.ExcludeCharacters != nil {
		spec.ExcludeCharacters = *in.ExcludeCharacters
	}
	for _, b := range []struct {
		in  *bool
		out *bool
	}{
		{in.ExcludeNumbers, &spec.ExcludeNumbers},
		{in.ExcludePunctuation, &spec.ExcludePunctuation},
		{in.ExcludeUppercase, &spec.ExcludeUppercase},
		{in.ExcludeLowercase, &spec.ExcludeLowercase},
		{in.IncludeSpace, &spec.IncludeSpace},
		{in.RequireEachIncludedType, &spec.RequireEachIncludedType},
	} {
		if b.in != nil {
			*b.out = *b.in
		}
	}
	return spec
}

func (h *Handler) getRandomPassword(ctx context.Context, in *getRandomPasswordRequest) (any, error) {
	pw, err := h.Secrets.GetRandomPassword(ctx, in.passwordSpec())
	if err != nil {
		return nil, err
	}
	return getRandomPasswordResponse{RandomPassword: pw}, nil
}
