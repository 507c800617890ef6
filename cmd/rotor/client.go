package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
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
	if err != nil {
		return nil, fmt.Errorf("load AWS credentials: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if endpoint == "" {
		for _, name := range envEndpoints {
			if endpoint = os.Getenv(name); endpoint != "" {
				break
			}
		}
	}
	if endpoint == "" {
		endpoint = "http://" + DefaultListen
	}
	return &apiClient{endpoint: strings.TrimRight(endpoint, "/"), region: cfg.Region, creds: cfg.Credentials,
		http: &http.Client{Timeout: 5 * time.Minute}}, nil
}

// call sends op with input in and decodes the response into out (if non-nil).
func (c *apiClient) call(ctx context.Context, op string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "rotor."+op)
	if c.creds == nil {
		return errNoCredentials
	}
	creds, err := c.creds.Retrieve(ctx)
	if err != nil {
		// When no source had credentials, the SDK's chain ends at the
		// instance-metadata provider (disabled above) and says so, which
		// only misleads off EC2; any other failure (a broken profile, an
		// expired SSO token) is worth showing.
		if strings.Contains(err.Error(), "EC2 IMDS") {
			return errNoCredentials
		}
		return fmt.Errorf("%w\n(%v)", errNoCredentials, err)
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "rotor", c.region, time.Now()); err != nil {
		return fmt.Errorf("sign request: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		return fmt.Errorf("cannot reach the Rotor server at %s (set --endpoint or $ROTOR_ENDPOINT): %w", c.endpoint, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var e apiError
		if json.Unmarshal(data, &e) != nil || e.Type == "" {
			return fmt.Errorf("%s: HTTP %d", op, resp.StatusCode)
		}
		return &e
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// runClient runs one client subcommand: args[0] is the command.
func runClient(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("rotor " + args[0])
	endpoint := fs.String("endpoint", "", "server URL")
	region := fs.String("region", "", "region to sign for (default from the AWS configuration, else us-east-1)")
	profile := fs.String("profile", "", "AWS shared-config profile whose credentials sign the requests (default $AWS_PROFILE, else default)")
	role := fs.String("role", "", "role for 'identity create': admin or read-only (default: none, no rights until given a policy)")
	failed := fs.Bool("failed", false, "for 'rotation list': only failed runs")
	status := fs.String("status", "", "for 'rotation list': only runs in this state")
	limit := fs.Int("limit", 0, "for 'rotation list' and 'rotation history': at most this many runs")
	cmd := args[0]
	rest := args[1:]
	sub := ""
	switch cmd {
	case "backup":
	case "identity", "access-key", "keys", "rotation":
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			return usageError(fmt.Sprintf("%s needs a subcommand", cmd))
		}
		sub, rest = rest[0], rest[1:]
	default:
		return usageError(fmt.Sprintf("unknown command %q; the commands are %s", cmd, commandNames))
	}
	pos, err := parseInterleaved(fs, rest)
	if err != nil {
		return err
	}
	need := func(n int, what string) error {
		if len(pos) != n {
			return usageError(fmt.Sprintf("usage: rotor %s %s", strings.TrimSpace(cmd+" "+sub), what))
		}
		return nil
	}
	c, err := newAPIClient(ctx, *endpoint, *region, *profile)
	if err != nil {
		return err
	}
	var out json.RawMessage
	done := "" // the confirmation for commands whose answer is empty
	switch cmd + " " + sub {
	case "backup ":
		if err := need(1, "<file>"); err != nil {
			return err
		}
		path, err := filepath.Abs(pos[0])
		if err != nil {
			return err
		}
		if err := c.call(ctx, "Backup", map[string]string{"Path": path}, nil); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "backup written to %s\n", path)
		return nil
	case "identity create":
		if err = need(1, "<name>"); err == nil {
			in := map[string]string{"Name": pos[0]}
			if *role != "" {
				in["Role"] = *role
			}
			err = c.call(ctx, "CreateIdentity", in, &out)
		}
	case "identity policy":
		err = identityPolicy(ctx, c, pos, &out)
	case "identity list":
		if err = need(0, "(no arguments)"); err == nil {
			err = c.call(ctx, "ListIdentities", struct{}{}, &out)
		}
	case "identity delete":
		if err = need(1, "<name>"); err == nil {
			err = c.call(ctx, "DeleteIdentity", map[string]string{"Name": pos[0]}, &out)
			done = fmt.Sprintf("deleted identity %s and its access keys", pos[0])
		}
	case "access-key create":
		if err = need(1, "<identity>"); err == nil {
			err = c.call(ctx, "CreateAccessKey", map[string]string{"Identity": pos[0]}, &out)
		}
	case "access-key activate", "access-key deactivate":
		status := map[string]string{"activate": "Active", "deactivate": "Inactive"}[sub]
		if err = need(1, "<access-key-id>"); err == nil {
			err = c.call(ctx, "UpdateAccessKey", map[string]string{"AccessKeyId": pos[0], "Status": status}, &out)
			done = fmt.Sprintf("access key %s is now %s", pos[0], status)
		}
	case "access-key delete":
		if err = need(1, "<access-key-id>"); err == nil {
			err = c.call(ctx, "DeleteAccessKey", map[string]string{"AccessKeyId": pos[0]}, &out)
			done = fmt.Sprintf("deleted access key %s", pos[0])
		}
	case "keys list":
		if err = need(0, "(no arguments)"); err == nil {
			err = c.call(ctx, "ListKeys", struct{}{}, &out)
		}
	case "keys rotate":
		if err = need(0, "(no arguments)"); err == nil {
			err = c.call(ctx, "RotateKeys", struct{}{}, &out)
		}
	case "keys retire":
		if err = need(1, "<key-id>"); err == nil {
			err = c.call(ctx, "RetireKey", map[string]string{"KeyId": pos[0]}, &out)
			done = fmt.Sprintf("retired key-encryption key %s", pos[0])
		}
	case "rotation list":
		if err = need(0, "(no arguments)"); err == nil {
			in := map[string]any{}
			if *failed {
				*status = "failed"
			}
			if *status != "" {
				in["Status"] = *status
			}
			if *limit > 0 {
				in["MaxResults"] = *limit
			}
			err = c.call(ctx, "ListRotationRuns", in, &out)
		}
	case "rotation history":
		if err = need(1, "<secret-id>"); err == nil {
			in := map[string]any{"SecretId": pos[0]}
			if *limit > 0 {
				in["MaxResults"] = *limit
			}
			err = c.call(ctx, "RotationHistory", in, &out)
		}
	case "rotation abandon":
		if err = need(1, "<secret-id>"); err == nil {
			err = c.call(ctx, "AbandonRotation", map[string]string{"SecretId": pos[0]}, &out)
		}
	default:
		return usageError(fmt.Sprintf("unknown command %q", strings.TrimSpace(cmd+" "+sub)))
	}
	if err != nil {
		return err
	}
	if done != "" && isEmptyAnswer(out) {
		_, err = fmt.Fprintln(stdout, done)
		return err
	}
	return printJSON(stdout, out)
}

// commandNames lists the commands for the unknown-command error.
const commandNames = "server, backup, identity, access-key, keys, rotation, recover-admin, audit, version, help"

// isEmptyAnswer reports whether a response carries nothing to print.
func isEmptyAnswer(raw json.RawMessage) bool {
	t := string(bytes.TrimSpace(raw))
	return t == "" || t == "{}" || t == "null"
}

// identityPolicy runs `rotor identity policy put <name> <file>`, `get
// <name>` (prints the document as stored) and `delete <name>`. The file is
// sent byte for byte; "-" reads standard input.
func identityPolicy(ctx context.Context, c *apiClient, pos []string, out *json.RawMessage) error {
	usage := usageError("identity policy takes put <name> <file>, get <name> or delete <name>")
	if len(pos) == 0 {
		return usage
	}
	switch {
	case pos[0] == "put" && len(pos) == 3:
		var doc []byte
		var err error
		if pos[2] == "-" {
			doc, err = io.ReadAll(os.Stdin)
		} else {
			doc, err = os.ReadFile(pos[2])
		}
		if err != nil {
			return fmt.Errorf("read policy document: %w", err)
		}
		return c.call(ctx, "PutIdentityPolicy", map[string]string{"Name": pos[1], "PolicyDocument": string(doc)}, out)
	case pos[0] == "get" && len(pos) == 2:
		return c.call(ctx, "GetIdentityPolicy", map[string]string{"Name": pos[1]}, out)
	case pos[0] == "delete" && len(pos) == 2:
		return c.call(ctx, "DeleteIdentityPolicy", map[string]string{"Name": pos[1]}, out)
	}
	return usage
}

// printJSON pretty-prints a response, as the AWS CLI does.
func printJSON(w io.Writer, raw json.RawMessage) error {
	if isEmptyAnswer(raw) {
		return nil
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "    "); err != nil {
		return err
	}
	buf.WriteByte('\n')
	_, err := buf.WriteTo(w)
	return err
}

// parseInterleaved parses flags that may come before, between or after the
// positional arguments (`rotor identity create bob -role admin`), which the
// flag package alone stops at, and returns the positional arguments.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
