// Package awsreq builds the benchmarks' SigV4-signed requests to a rotor
// server: a JSON 1.1 POST of one API operation, signed as aws-sdk-go-v2
// signs it.
package awsreq

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Signed returns a POST of body to url+"/" for the operation target
// ("secretsmanager.GetSecretValue", "rotor.ListRuns", ...), signed with
// creds for service in region at the time at (a signature stays valid for
// 15 minutes, so a request may be signed once and replayed).
func Signed(ctx context.Context, url, target string, body []byte, creds aws.Credentials, service, region string, at time.Time) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", target)
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), service, region, at); err != nil {
		return nil, err
	}
	return req, nil
}
