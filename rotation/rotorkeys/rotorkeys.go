// Package rotorkeys is the driver of the built-in function rotor-access-key:
// a builtin.KeyService over Rotor's own auth service, so that a secret
// holding one of Rotor's access keys is rotated like any other credential.
//
// It creates and deletes keys through auth.Service directly, which checks
// nothing about its caller: the strategy (builtin.AccessKeys) acts only on
// the identity a rotation was bound to by a caller allowed
// rotor:CreateAccessKey (rotor.RotationConfig.Identity). Keys are tested
// over the wire, with a SigV4-signed rotor.GetCallerIdentity request, so a
// test proves what a client of the key will see.
package rotorkeys

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/auth"
	"github.com/rotorhq/rotor/awsapi"
	"github.com/rotorhq/rotor/rotation/builtin"
)

// maxResponse bounds the GetCallerIdentity response read.
const maxResponse = 64 << 10

// Service implements builtin.KeyService over an auth.Service.
type Service struct {
	Auth *auth.Service
	// Client sends the signed test requests; nil means a client whose
	// requests time out after builtin.DefaultTimeout.
	Client *http.Client
}

var _ builtin.KeyService = Service{}

// Keys implements builtin.KeyService.
func (s Service) Keys(ctx context.Context, identity string) ([]string, error) {
	ids, err := s.Auth.ListIdentities(ctx)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if id.Name == identity {
			out := make([]string, len(id.AccessKeys))
			for i, k := range id.AccessKeys {
				out[i] = k.AccessKeyID
			}
			return out, nil
		}
	}
	return nil, rotor.Errorf(rotor.ENOTFOUND, "No identity named %s exists.", identity)
}

// CreateKey implements builtin.KeyService.
func (s Service) CreateKey(ctx context.Context, identity string) (builtin.AccessKey, error) {
	k, err := s.Auth.CreateAccessKey(ctx, identity)
	if err != nil {
		return builtin.AccessKey{}, err
	}
	return builtin.AccessKey{ID: k.AccessKeyID, Secret: k.SecretAccessKey}, nil
}

// DeleteKey implements builtin.KeyService.
func (s Service) DeleteKey(ctx context.Context, identity, id string) error {
	keys, err := s.Keys(ctx, identity)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k == id {
			return s.Auth.DeleteAccessKey(ctx, id)
		}
	}
	return rotor.Errorf(rotor.ENOTFOUND, "Identity %s has no access key %s.", identity, id)
}

// WhoAmI implements builtin.KeyService with rotor.GetCallerIdentity.
func (s Service) WhoAmI(ctx context.Context, endpoint, region string, key builtin.AccessKey) (string, error) {
	body := []byte("{}")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(endpoint, "/")+"/", bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("build request to %s: %w", endpoint, err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", awsapi.RotorTargetPrefix+".GetCallerIdentity")
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: key.ID, SecretAccessKey: key.Secret}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), awsapi.RotorTargetPrefix, region, time.Now()); err != nil {
		return "", fmt.Errorf("sign request: %w", err)
	}
	client := s.Client
	if client == nil {
		client = &http.Client{Timeout: builtin.DefaultTimeout}
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("call %s: %w", endpoint, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return "", fmt.Errorf("read the answer of %s: %w", endpoint, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"Message"`
		}
		if json.Unmarshal(data, &e) != nil || e.Type == "" {
			return "", fmt.Errorf("%s answered HTTP %d", endpoint, resp.StatusCode)
		}
		return "", fmt.Errorf("%s answered %s: %s", endpoint, e.Type, e.Message)
	}
	var out awsapi.GetCallerIdentityOutput
	if err := json.Unmarshal(data, &out); err != nil {
		return "", fmt.Errorf("decode the answer of %s: %w", endpoint, err)
	}
	if out.AccessKeyID != key.ID {
		return "", fmt.Errorf("%s says the request was signed with access key %s, not %s", endpoint, out.AccessKeyID, key.ID)
	}
	return out.Identity, nil
}
