package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
)

// apiClient calls Rotor's own operations (X-Amz-Target rotor.<Op>), signed
// with SigV4 for the service "rotor".
type apiClient struct {
	endpoint string
	region   string
	creds    aws.CredentialsProvider
	http     *http.Client
}

// errNoCredentials says where the client looked for credentials.
var errNoCredentials = errors.New("no AWS credentials found to sign with: looked in $AWS_ACCESS_KEY_ID/$AWS_SECRET_ACCESS_KEY, " +
	"then the profile $AWS_PROFILE (or --profile, else \"default\") in $AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials) " +
	"and $AWS_CONFIG_FILE (default ~/.aws/config); the server prints the admin's credentials file at first start")

// apiError is an AWS-shaped error answered by the server.
type apiError struct {
	Type    string `json:"__type"`
	Message string `json:"Message"`
}

func (e *apiError) Error() string { return e.Type + ": " + e.Message }

func newAPIClient(ctx context.Context, endpoint, region, profile string) (*apiClient, error) {
	// No EC2 instance-metadata lookups: Rotor's credentials come from the
	// environment or the shared files, and on a machine outside EC2 the
	// metadata client only adds seconds of retries and confusing noise.
	opts := []func(*config.LoadOptions) error{config.WithEC2IMDSClientEnableState(imds.ClientDisabled)}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	if profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	var missing config.SharedConfigProfileNotExistError
	if errors.As(err, &missing) {
		files := []string{config.DefaultSharedCredentialsFilename(), config.DefaultSharedConfigFilename()}
		for i, name := range []string{envSharedCredentialsFile, envAWSConfigFile} {
			if p := os.Getenv(name); p != "" {
				files[i] = p
			}
		}
		return nil, fmt.Errorf("the AWS profile %q (from --profile or $AWS_PROFILE) is in neither %s nor %s; "+
			"name a profile they hold, or other files with $%s and $%s", missing.Profile, files[0], files[1], envSharedCredentialsFile, envAWSConfigFile)
	}
	if err != nil {
		return nil, fmt.Errorf("load AWS credentials: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	source := "--endpoint"
	if endpoint == "" {
		for _, name := range envEndpoints {
			if endpoint = os.Getenv(name); endpoint != "" {
				source = "$" + name
				break
			}
		}
	}
	if endpoint == "" {
		endpoint = "http://" + DefaultListen
	}
	if u, err := url.Parse(endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageError(fmt.Sprintf("%s %q is not the server's URL: write it as http://HOST:PORT or https://HOST:PORT (e.g. http://%s)",
			source, endpoint, DefaultListen))
	}
	return &apiClient{endpoint: strings.TrimRight(endpoint, "/"), region: cfg.Region, creds: cfg.Credentials,
		http: &http.Client{Timeout: 5 * time.Minute}}, nil
}

// call sends Rotor's own operation op (rotor.<op>) with input in and
// decodes the response into out (if non-nil).
func (c *apiClient) call(ctx context.Context, op string, in, out any) error {
	return c.callService(ctx, "rotor", op, in, out)
}

// callService sends operation op of service ("rotor" or
// "secretsmanager": the X-Amz-Target prefix and the SigV4 service name)
// with input in, and decodes the response into out (if non-nil; a
// *json.RawMessage keeps it as it came).
func (c *apiClient) callService(ctx context.Context, service, op string, in, out any) error {
	resp, err := c.send(ctx, c.http, service, op, in)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// send signs operation op of service with input in, sends it with hc and
// returns the response when its status is 200; the caller closes its body.
// Any other status is returned as the AWS error the server answered.
func (c *apiClient) send(ctx context.Context, hc *http.Client, service, op string, in any) (*http.Response, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(in); err != nil {
		return nil, err
	}
	body := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", service+"."+op)
	if c.creds == nil {
		return nil, errNoCredentials
	}
	creds, err := c.creds.Retrieve(ctx)
	if err != nil {
		// When no source had credentials, the SDK's chain ends at the
		// instance-metadata provider (disabled above) and says so, which
		// only misleads off EC2; any other failure (a broken profile, an
		// expired SSO token) is worth showing.
		if strings.Contains(err.Error(), "EC2 IMDS") {
			return nil, errNoCredentials
		}
		return nil, fmt.Errorf("%w\n(%v)", errNoCredentials, err)
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), service, c.region, time.Now()); err != nil {
		return nil, fmt.Errorf("sign request: %w", err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, fmt.Errorf("cannot reach the Rotor server at %s (set --endpoint or $ROTOR_ENDPOINT): %w", c.endpoint, err)
	}
	if resp.StatusCode == http.StatusOK {
		return resp, nil
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	var e apiError
	if json.Unmarshal(data, &e) != nil || e.Type == "" {
		return nil, fmt.Errorf("%s: %s answered HTTP %d without an AWS error: is it a Rotor server's address (--endpoint)?", op, c.endpoint, resp.StatusCode)
	}
	return nil, &e
}
