package main

// Helpers shared by the end-to-end suite (e2e_*_test.go). Every test drives
// a real server started with MustRunMain through the real aws-sdk-go-v2
// client, or through raw HTTP signed with the SDK's SigV4 signer where the
// wire itself is under test. Identifiers are prefixed with e2e so they do
// not collide with the package's other tests.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"
	"github.com/google/uuid"
)

// e2eCtx is the context of every call in the suite.
var e2eCtx = context.Background()

// AWS texts quoted by aws-api.md, asserted verbatim.
const (
	e2eMsgNotFound       = "Secrets Manager can't find the specified secret."
	e2eMsgMarkedDeleted  = "You can't perform this operation on the secret because it was marked for deletion."
	e2eMsgScheduledName  = "You can't create this secret because a secret with this name is already scheduled for deletion."
	e2eMsgStageNotOnID   = "You provided a VersionStage that is not associated to the provided VersionId."
	e2eMsgRecoveryWindow = "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive)."
	e2eMsgForceAndWindow = "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays."
	e2eMsgAlreadyDeleted = "You tried to perform the operation on a secret that's currently marked deleted."
	e2eMsgBatchBoth      = "Either 'SecretIdList' or 'Filters' must be provided, but not both."
	e2eMsgBatchMaxNoFilt = "'Filters' not specified. 'Filters' must also be specified when 'MaxResults' is provided."
	e2eMsgPasswordShort  = "Password length is too short based on the required types."
)

func e2eMsgStageNotFound(stage string) string {
	return "Secrets Manager can't find the specified secret value for staging label: " + stage
}

func e2eMsgVersionNotFound(id string) string {
	return "Secrets Manager can't find the specified secret value for VersionId: " + id
}

func e2eMsgExists(name string) string {
	return "The operation failed because the secret " + name + " already exists."
}

func e2eMsgTokenInUse(token, arn string) string {
	return "You can't use ClientRequestToken " + token + " because that value is already in use for a version of secret " + arn + "."
}

func e2eMsgRemoveFromEmpty(stage, holder string) string {
	return "The parameter RemoveFromVersionId can't be empty. Staging label " + stage +
		" is currently attached to version " + holder + ", so you must explicitly reference that version in RemoveFromVersionId."
}

// e2eWantErr reports (with t.Errorf) unless err is, via errors.As, the
// modeled SDK exception T and, when msg is not "", carries exactly msg. It
// returns the exception (nil on a mismatch) so callers can look further.
func e2eWantErr[T smithy.APIError](t testing.TB, what string, err error, msg string) T {
	t.Helper()
	var e T
	if !errors.As(err, &e) {
		t.Errorf("%s: error = %v (%T), want %T", what, err, err, e)
		return e
	}
	if msg != "" && e.ErrorMessage() != msg {
		t.Errorf("%s: %s message = %q, want %q", what, e.ErrorCode(), e.ErrorMessage(), msg)
	}
	return e
}

// e2eWantCode reports unless err is an API error whose SDK error code
// (smithy.APIError.ErrorCode) is code and, when msg is not "", whose message
// is exactly msg. It is for the unmodeled exceptions (ValidationException,
// the authentication errors) that the SDK surfaces as generic API errors.
func e2eWantCode(t testing.TB, what string, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Errorf("%s: error = %v (%T), want API error %s", what, err, err, code)
		return
	}
	if ae.ErrorCode() != code {
		t.Errorf("%s: error code = %q (%v), want %q", what, ae.ErrorCode(), err, code)
	}
	if msg != "" && ae.ErrorMessage() != msg {
		t.Errorf("%s: message = %q, want %q", what, ae.ErrorMessage(), msg)
	}
}

// e2eNoErr fails the test at once on a non-nil err.
func e2eNoErr(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// e2eClient returns s.Client(region) with one change: its HTTP client hands
// the transport a private copy of each request body.
//
// The SDK (smithy-go ClientHandler.Handle) closes the request body as soon
// as Do returns, and net/http's write loop may still be making its final
// read of that body (the check for bytes past Content-Length). The read
// then fails, the transport closes the connection, and the SDK reports
// "deserialization failed ... use of closed network connection" for a 200
// response whose body it had not finished reading (aws/aws-sdk-go-v2#1825,
// #2737). On loopback under -race this hits about one request in 700, with
// any server; buffering the body removes the race without changing what
// is sent.
func (s *testServer) e2eClient(region string) *secretsmanager.Client {
	opts := s.Client(region).Options()
	opts.HTTPClient = e2eBufferedDoer{&http.Client{}}
	return secretsmanager.New(opts)
}

// e2eBufferedDoer sends requests with a buffered copy of their body.
type e2eBufferedDoer struct{ c *http.Client }

func (d e2eBufferedDoer) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	return d.c.Do(r)
}

// e2eToken returns a fresh ClientRequestToken (a UUID, 36 characters).
func e2eToken() string { return uuid.NewString() }

// e2eCreate creates a secret holding the string value (no value if value is
// "") with a fresh token and returns the response.
func e2eCreate(t testing.TB, c *secretsmanager.Client, name, value string) *secretsmanager.CreateSecretOutput {
	t.Helper()
	in := &secretsmanager.CreateSecretInput{Name: aws.String(name), ClientRequestToken: aws.String(e2eToken())}
	if value != "" {
		in.SecretString = aws.String(value)
	}
	out, err := c.CreateSecret(e2eCtx, in)
	e2eNoErr(t, "CreateSecret "+name, err)
	return out
}

// e2ePut adds a version with the string value and stages (nil = the
// default) and returns the response.
func e2ePut(t testing.TB, c *secretsmanager.Client, id, value string, stages ...string) *secretsmanager.PutSecretValueOutput {
	t.Helper()
	out, err := c.PutSecretValue(e2eCtx, &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(id), SecretString: aws.String(value),
		ClientRequestToken: aws.String(e2eToken()), VersionStages: stages,
	})
	e2eNoErr(t, "PutSecretValue "+id, err)
	return out
}

// e2eDescribe describes a secret.
func e2eDescribe(t testing.TB, c *secretsmanager.Client, id string) *secretsmanager.DescribeSecretOutput {
	t.Helper()
	out, err := c.DescribeSecret(e2eCtx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
	e2eNoErr(t, "DescribeSecret "+id, err)
	return out
}

// e2eVersions lists every version of a secret (following NextToken),
// deprecated ones included when deprecated is true.
func e2eVersions(t testing.TB, c *secretsmanager.Client, id string, deprecated bool) []types.SecretVersionsListEntry {
	t.Helper()
	var all []types.SecretVersionsListEntry
	var next *string
	for page := 0; ; page++ {
		if page > 1000 {
			t.Fatalf("ListSecretVersionIds %s: more than 1000 pages", id)
		}
		out, err := c.ListSecretVersionIds(e2eCtx, &secretsmanager.ListSecretVersionIdsInput{
			SecretId: aws.String(id), IncludeDeprecated: aws.Bool(deprecated), MaxResults: aws.Int32(100), NextToken: next,
		})
		e2eNoErr(t, "ListSecretVersionIds "+id, err)
		all = append(all, out.Versions...)
		if out.NextToken == nil {
			return all
		}
		next = out.NextToken
	}
}

// e2eStagesByVersion maps version ids to their sorted labels, from a
// ListSecretVersionIds listing (deprecated versions map to nil).
func e2eStagesByVersion(vs []types.SecretVersionsListEntry) map[string][]string {
	m := make(map[string][]string, len(vs))
	for _, v := range vs {
		st := slices.Clone(v.VersionStages)
		sort.Strings(st)
		m[aws.ToString(v.VersionId)] = st
	}
	return m
}

// e2eHolder returns the version that carries stage according to a
// DescribeSecret VersionIdsToStages map, or "".
func e2eHolder(m map[string][]string, stage string) string {
	for id, st := range m {
		if slices.Contains(st, stage) {
			return id
		}
	}
	return ""
}

// e2eSorted returns a sorted copy of ss (nil for an empty input).
func e2eSorted(ss []string) []string {
	if len(ss) == 0 {
		return nil
	}
	out := slices.Clone(ss)
	sort.Strings(out)
	return out
}

// e2eEqualStages reports whether two label lists hold the same labels.
func e2eEqualStages(a, b []string) bool { return reflect.DeepEqual(e2eSorted(a), e2eSorted(b)) }

// e2eSnapshot is everything DescribeSecret and
// ListSecretVersionIds(IncludeDeprecated) say about a secret, in comparable
// form, for "a rejected request changes nothing".
type e2eSnapshot struct {
	ARN, Name, Description, KmsKeyID string
	LastChanged, Deleted             time.Time
	Tags                             []types.Tag
	Stages                           map[string][]string
	Versions                         map[string][]string
}

func e2eTakeSnapshot(t testing.TB, c *secretsmanager.Client, id string) e2eSnapshot {
	t.Helper()
	d := e2eDescribe(t, c, id)
	stages := make(map[string][]string, len(d.VersionIdsToStages))
	for k, v := range d.VersionIdsToStages {
		stages[k] = e2eSorted(v)
	}
	return e2eSnapshot{
		ARN: aws.ToString(d.ARN), Name: aws.ToString(d.Name), Description: aws.ToString(d.Description),
		KmsKeyID: aws.ToString(d.KmsKeyId), LastChanged: aws.ToTime(d.LastChangedDate), Deleted: aws.ToTime(d.DeletedDate),
		Tags: d.Tags, Stages: stages, Versions: e2eStagesByVersion(e2eVersions(t, c, id, true)),
	}
}

// e2eResponse is a raw HTTP response.
type e2eResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body with numbers kept as json.Number.
func (r e2eResponse) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("response body is not a JSON object: %v: %q", err, r.Body)
	}
	return m
}

// e2eRawOptions changes how e2eRaw builds a request.
type e2eRawOptions struct {
	Unsigned bool   // send no Authorization at all
	SendBody []byte // send these bytes instead of the signed body (tampering)
}

// e2eRaw sends one AWS JSON 1.1 request for X-Amz-Target
// secretsmanager.<op> with body, signed with SigV4 (service
// "secretsmanager", region region or the server's first) using the admin
// key, and returns the raw response.
func (s *testServer) e2eRaw(t testing.TB, region, op string, body []byte, opt e2eRawOptions) e2eResponse {
	t.Helper()
	if region == "" {
		region = s.Region
	}
	req, err := http.NewRequestWithContext(e2eCtx, http.MethodPost, s.URL()+"/", bytes.NewReader(body))
	e2eNoErr(t, "new request", err)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "secretsmanager."+op)
	if !opt.Unsigned {
		sum := sha256.Sum256(body)
		creds := aws.Credentials{AccessKeyID: s.KeyID, SecretAccessKey: s.Secret}
		err := v4.NewSigner().SignHTTP(e2eCtx, creds, req, hex.EncodeToString(sum[:]), "secretsmanager", region, time.Now())
		e2eNoErr(t, "sign", err)
	}
	if opt.SendBody != nil {
		req.Body = io.NopCloser(bytes.NewReader(opt.SendBody))
		req.ContentLength = int64(len(opt.SendBody))
	}
	resp, err := http.DefaultClient.Do(req)
	e2eNoErr(t, "POST "+op, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	e2eNoErr(t, "read response", err)
	return e2eResponse{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// e2eRawJSON marshals v and sends it with e2eRaw.
func (s *testServer) e2eRawJSON(t testing.TB, op string, v any) e2eResponse {
	t.Helper()
	body, err := json.Marshal(v)
	e2eNoErr(t, "marshal", err)
	return s.e2eRaw(t, "", op, body, e2eRawOptions{})
}

// e2eWantRawError checks an error response's status, body and headers:
// status 400, {"__type": typ, "Message": ...} with the message equal to msg
// (when msg is not ""), X-Amzn-ErrorType equal to typ, and a request id.
func e2eWantRawError(t testing.TB, what string, r e2eResponse, typ, msg string) {
	t.Helper()
	if r.Status != http.StatusBadRequest {
		t.Errorf("%s: status = %d, want 400 (body %s)", what, r.Status, r.Body)
	}
	m := r.JSON(t)
	if m["__type"] != typ {
		t.Errorf("%s: __type = %v, want %s (body %s)", what, m["__type"], typ, r.Body)
	}
	gotMsg, ok := m["Message"].(string)
	if !ok {
		t.Errorf("%s: body has no string Message member: %s", what, r.Body)
	} else if msg != "" && gotMsg != msg {
		t.Errorf("%s: Message = %q, want %q", what, gotMsg, msg)
	}
	if got := r.Header.Get("X-Amzn-ErrorType"); got != typ {
		t.Errorf("%s: X-Amzn-ErrorType = %q, want %q", what, got, typ)
	}
	if r.Header.Get("x-amzn-RequestId") == "" {
		t.Errorf("%s: no x-amzn-RequestId header on an error response", what)
	}
}

// e2eNames returns the names of a ListSecrets page.
func e2eNames(entries []types.SecretListEntry) []string {
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		out = append(out, aws.ToString(e.Name))
	}
	return out
}

// e2eListAll lists every secret matching in (following NextToken) and
// returns the entries in order.
func e2eListAll(t testing.TB, c *secretsmanager.Client, in secretsmanager.ListSecretsInput) []types.SecretListEntry {
	t.Helper()
	var all []types.SecretListEntry
	for page := 0; ; page++ {
		if page > 1000 {
			t.Fatal("ListSecrets: more than 1000 pages")
		}
		out, err := c.ListSecrets(e2eCtx, &in)
		e2eNoErr(t, "ListSecrets", err)
		all = append(all, out.SecretList...)
		if out.NextToken == nil {
			return all
		}
		in.NextToken = out.NextToken
	}
}

// e2eListNames lists with filters (following NextToken) and returns the
// names in order.
func e2eListNames(t testing.TB, c *secretsmanager.Client, filters ...types.Filter) []string {
	t.Helper()
	return e2eNames(e2eListAll(t, c, secretsmanager.ListSecretsInput{Filters: filters}))
}

// e2eFilter builds a filter.
func e2eFilter(key types.FilterNameStringType, values ...string) types.Filter {
	return types.Filter{Key: key, Values: values}
}

// e2eSameSet reports whether got and want hold the same strings, ignoring
// order, and describes the difference.
func e2eSameSet(got, want []string) (bool, string) {
	g, w := e2eSorted(got), e2eSorted(want)
	if reflect.DeepEqual(g, w) {
		return true, ""
	}
	return false, "got " + strings.Join(g, ",") + "; want " + strings.Join(w, ",")
}
