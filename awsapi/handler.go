package awsapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rotorhq/rotor"
)

// DefaultMaxBodyBytes is the request body limit when Handler.MaxBodyBytes is 0.
const DefaultMaxBodyBytes = 1 << 20

// contentType is the content type of every response, success or error.
const contentType = "application/x-amz-json-1.1"

// Target prefixes (the part of X-Amz-Target before the dot). Each is also the
// service a request's SigV4 credential scope must name.
const (
	prefixSecretsManager = "secretsmanager"
	prefixRotor          = RotorTargetPrefix
)

// Authenticator verifies a request's signature (package auth implements it).
//
// Authenticate is given the request and its whole body (for the payload
// hash) and returns who signed it and the region and service of the
// credential scope (r.Body holds the same bytes again). On failure it returns a
// *rotor.Error with one of the codes EAUTHMISSING, EAUTHINCOMPLETE,
// EAUTHUNKNOWN, EAUTHSIGNATURE or EAUTHEXPIRED; any other error is answered
// as InternalServiceError.
type Authenticator interface {
	Authenticate(r *http.Request, body []byte) (rotor.Authentication, error)
}

// Handler serves the AWS Secrets Manager API (X-Amz-Target
// "secretsmanager.<Op>") and Rotor's own API ("rotor.<Op>") on POST /.
//
// Secrets, Admin and Auth must be set before the first request; a request
// that would need a missing one is answered InternalServiceError (a missing
// Auth refuses every request, so an unwired handler never serves without
// authentication).
//
// Rotation and Runs are optional: while Rotation is nil, RotateSecret and
// CancelRotateSecret answer InvalidRequestException "<Op> is not available
// in this version of Rotor yet." (after authentication), and while Runs is
// nil so do rotor.ListRotationRuns, rotor.RotationHistory and
// rotor.AbandonRotation. Operations and Unsupported report what a given
// configuration serves.
//
// The fields must not change once the handler serves requests; a Handler is
// then safe for concurrent use.
type Handler struct {
	Secrets      rotor.SecretService
	Admin        rotor.AdminService
	Rotation     rotor.Rotator         // nil = RotateSecret and CancelRotateSecret unavailable
	Runs         rotor.RotationService // nil = Rotor's rotation-run operations unavailable
	Auth         Authenticator
	Logger       *slog.Logger // nil = discard
	MaxBodyBytes int64        // 0 = DefaultMaxBodyBytes
	// Audit, when set, is asked for room before each request is served
	// (its EUNAVAILABLE refuses the request: 503 ServiceUnavailableException)
	// and given one record per request after it is answered (see audit.go).
	Audit rotor.Auditor
	// Metrics, when set, is told about each request once it is answered.
	Metrics RequestMetrics
}

// RequestMetrics is told about every answered request (Handler.Metrics),
// so a metrics package can count them without awsapi depending on it.
type RequestMetrics interface {
	// ObserveRequest records one request: operation is the operation's
	// name, or "unknown" for a target that names none this handler knows
	// (so the set of names stays bounded); code is the exception type
	// answered, "" on success; status is the HTTP status; d the time taken.
	ObserveRequest(operation, code string, status int, d time.Duration)
}

// runFunc calls one operation with its validated input (see validateInput)
// and returns the wire output to encode.
type runFunc func(h *Handler, ctx context.Context, in input) (any, error)

// backend names the service an operation calls, so the handler can tell a
// missing required service (a wiring fault) from an optional one that is
// not configured (the operation is unavailable).
type backend int

const (
	useDefault  backend = iota // in an opSpec: the dispatch table's required service
	useSecrets                 // Handler.Secrets, required
	useAdmin                   // Handler.Admin, required
	useRotation                // Handler.Rotation, optional
	useRuns                    // Handler.Runs, optional
)

// opSpec declares one operation of a dispatch table.
type opSpec struct {
	run   runFunc
	uses  backend // useDefault = the table's
	input *shape  // nil = the operation's input shape in the model
	long  bool    // may outlast the server's timeouts: see stream.go
}

// operation is one entry of a dispatch table.
type operation struct {
	input *shape
	run   runFunc
	uses  backend
	long  bool
}

// run adapts a typed operation method to a runFunc: it fills the
// operation's wire struct from the validated input. Input from the flat fast
// path is stored directly in the struct's string fields; anything else is
// unmarshalled from the validated JSON, with the same result.
func run[In any](fn func(*Handler, context.Context, *In) (any, error)) runFunc {
	fields := stringFieldsOf[In]()
	return func(h *Handler, ctx context.Context, in input) (any, error) {
		// The struct and the strings its *string fields point to, in one
		// allocation.
		hd := new(struct {
			v    In
			strs [maxFlatMembers]string
		})
		v := &hd.v
		if in.isFlat && fields.setWith(v, &in.flat, &hd.strs) {
			return fn(h, ctx, v)
		}
		data := in.raw
		if in.isFlat {
			var err error
			if data, err = in.flat.toJSON(); err != nil {
				return nil, fmt.Errorf("awsapi: %w", err)
			}
		}
		if err := json.Unmarshal(data, v); err != nil {
			return nil, fmt.Errorf("awsapi: decode validated input into %T: %w", v, err)
		}
		return fn(h, ctx, v)
	}
}

// bindOps pairs each operation with its input shape in m (or the spec's
// own shape) and its service (base unless the spec names another); an
// operation the model does not define is a build defect and panics.
func bindOps(m *serviceModel, base backend, specs map[string]opSpec) map[string]operation {
	ops := make(map[string]operation, len(specs))
	for name, spec := range specs {
		in, ok := m.Inputs[name]
		if !ok {
			panic("awsapi: operation " + name + " is not in the " + m.TargetPrefix + " model")
		}
		if spec.input != nil {
			in = spec.input
		}
		uses := spec.uses
		if uses == useDefault {
			uses = base
		}
		ops[name] = operation{input: in, run: spec.run, uses: uses, long: spec.long}
	}
	return ops
}

// ready reports whether h can serve an operation that uses b: nil when it
// can, an EUNSUPPORTED *rotor.Error naming the operation when b is an
// optional service that is not configured, and an internal error when b is
// a required service that is missing.
func (h *Handler) ready(b backend, name string) error {
	switch b {
	case useSecrets:
		if h.Secrets == nil {
			return errors.New("awsapi: Handler.Secrets is not set")
		}
	case useAdmin:
		if h.Admin == nil {
			return errors.New("awsapi: Handler.Admin is not set")
		}
	case useRotation:
		if h.Rotation == nil {
			return unavailable(name)
		}
	case useRuns:
		if h.Runs == nil {
			return unavailable(name)
		}
	default:
		return fmt.Errorf("awsapi: operation %s uses unknown backend %d", name, b)
	}
	return nil
}

// optional reports whether b is a service the handler may run without.
func (b backend) optional() bool { return b == useRotation || b == useRuns }

// unavailable is the answer to an operation Rotor (or this configuration of
// it) does not offer.
func unavailable(name string) error {
	return rotor.Errorf(rotor.EUNSUPPORTED, "%s is not available in this version of Rotor yet.", name)
}

// unsupported answers an operation that Rotor (or this configuration of
// it) does not offer: unavailable(name), unless the input's SecretId cannot
// name any secret (see secretIDShape). That refusal comes first, as it does
// for every operation that takes a SecretId; other constraints of in are
// not reported.
func unsupported(in *shape, name string, body []byte) error {
	if in != nil {
		if _, err := validateInput(in, body); rotor.ErrorMessage(err) == rotor.InvalidNameMessage {
			return err
		}
	}
	return unavailable(name)
}

// secretsManagerOps is the dispatch table for "secretsmanager.<Op>".
var secretsManagerOps = bindOps(secretsManagerModel, useSecrets, map[string]opSpec{
	"CreateSecret":             {run: run((*Handler).createSecret)},
	"DescribeSecret":           {run: run((*Handler).describeSecret)},
	"UpdateSecret":             {run: run((*Handler).updateSecret)},
	"DeleteSecret":             {run: run((*Handler).deleteSecret)},
	"RestoreSecret":            {run: run((*Handler).restoreSecret)},
	"ListSecrets":              {run: run((*Handler).listSecrets)},
	"GetSecretValue":           {run: run((*Handler).getSecretValue)},
	"BatchGetSecretValue":      {run: run((*Handler).batchGetSecretValue)},
	"PutSecretValue":           {run: run((*Handler).putSecretValue)},
	"ListSecretVersionIds":     {run: run((*Handler).listSecretVersionIds)},
	"UpdateSecretVersionStage": {run: run((*Handler).updateSecretVersionStage)},
	"TagResource":              {run: run((*Handler).tagResource)},
	"UntagResource":            {run: run((*Handler).untagResource)},
	"GetRandomPassword":        {run: run((*Handler).getRandomPassword)},
	"PutResourcePolicy":        {run: run((*Handler).putResourcePolicy)},
	"GetResourcePolicy":        {run: run((*Handler).getResourcePolicy)},
	"DeleteResourcePolicy":     {run: run((*Handler).deleteResourcePolicy)},
	"ValidateResourcePolicy":   {run: run((*Handler).validateResourcePolicy)},
	"RotateSecret":             {run: run((*Handler).rotateSecret), uses: useRotation, input: rotateSecretInput},
	"CancelRotateSecret":       {run: run((*Handler).cancelRotateSecret), uses: useRotation},
})

// unsupportedOps are the Secrets Manager operations Rotor answers with
// InvalidRequestException "<Op> is not available in this version of Rotor
// yet." (after authentication) whatever the configuration.
var unsupportedOps = map[string]bool{
	"ReplicateSecretToRegions":     true,
	"RemoveRegionsFromReplication": true,
	"StopReplicationToReplica":     true,
}

// Operations returns the names of the Secrets Manager operations h
// implements with its current configuration, sorted: RotateSecret and
// CancelRotateSecret only when h.Rotation is set.
func (h *Handler) Operations() []string {
	var names []string
	for name, op := range secretsManagerOps {
		if !op.uses.optional() || h.ready(op.uses, name) == nil {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// Unsupported returns the names of the Secrets Manager operations h answers
// with InvalidRequestException "<Op> is not available in this version of
// Rotor yet.", sorted: the ones Rotor does not offer, plus RotateSecret and
// CancelRotateSecret when h.Rotation is nil. Together with Operations it
// names every operation of the Secrets Manager API exactly once.
func (h *Handler) Unsupported() []string {
	names := sortedKeys(unsupportedOps)
	for name, op := range secretsManagerOps {
		if op.uses.optional() && h.ready(op.uses, name) != nil {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// ServeHTTP answers one request. Every response carries
// Content-Type: application/x-amz-json-1.1 and x-amzn-RequestId: <uuid>.
// A success is 200 with the operation's JSON output and its Content-Length
// (never chunked) — except rotor.DownloadBackup's, which is the snapshot
// itself (application/octet-stream; see stream.go). An error is
// {"__type": <Exception>, "Message": <text>} with the same name in header
// X-Amzn-ErrorType:
//
//   - UnknownOperationException: 404 for a path other than /, 405 for a
//     method other than POST, 400 for a missing or unknown X-Amz-Target;
//   - ValidationException (400): a body larger than MaxBodyBytes, or input
//     breaking the model's constraints;
//   - SerializationException (400): a body that is not a JSON object, or a
//     member of the wrong JSON type;
//   - the authenticator's error, and InvalidSignatureException when the
//     credential scope's service does not match the target prefix;
//   - InvalidRequestException for an unsupported operation (see Unsupported,
//     and the optional services of Handler);
//   - for errors returned by the services, the exception that error.go's
//     table maps the rotor code to (400; 403 for EAUTHMISSING);
//   - InternalServiceError (500, generic message) for any other error or a
//     panic, logged with the request id.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	reqID := newRequestID()
	// One allocation for the three header values; each slice is capped so
	// that a later Header().Add cannot write into its neighbour. The keys
	// are in canonical form, so assigning is what Header().Set does.
	values := &[3]string{reqID, contentType}
	hdr := w.Header()
	hdr["X-Amzn-Requestid"] = values[0:1:1] // x-amzn-RequestId; header names are case-insensitive
	hdr["Content-Type"] = values[1:2:2]

	var (
		ai       auditInfo
		reserved bool
		target   string
		out      any
		err      error
		at       time.Time
	)
	if h.Audit != nil {
		at = time.Now()
		reserved, err = h.Audit.Begin(r.Context())
	}
	if err == nil {
		target, out, err = h.safeServe(w, r, reqID, &ai)
	} else {
		target = r.Header.Get("X-Amz-Target")
	}
	status := http.StatusOK
	streamed := false
	if snap, ok := out.(*snapshotOutput); ok && err == nil {
		status, err = h.stream(w, reqID, snap)
		streamed = true
	} else if err == nil {
		buf := getBuffer()
		if buf.b, err = appendJSON(buf.b, out); err == nil {
			values[2] = strconv.Itoa(len(buf.b))
			hdr["Content-Length"] = values[2:3:3]
			w.WriteHeader(status)
			_, _ = w.Write(buf.b)
		}
		putBuffer(buf)
	}
	if err != nil && !streamed {
		status = h.writeError(w, reqID, target, err)
	}
	if h.Audit != nil {
		h.audit(r, at, reqID, target, &ai, out, err, reserved)
	}
	h.accessLog(r, start, reqID, target, &ai, out, err, status)
	if h.Metrics != nil {
		code := ""
		if err != nil {
			ae, _ := toAPIError(err)
			code = ae.Type
		}
		h.Metrics.ObserveRequest(metricOperation(target), code, status, time.Since(start))
	}
}

// safeServe runs serve and turns a panic into an internal error, so a fault
// in a service answers InternalServiceError instead of dropping the
// connection.
func (h *Handler) safeServe(w http.ResponseWriter, r *http.Request, reqID string, ai *auditInfo) (target string, out any, err error) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			h.logger().Error("awsapi: panic while serving a request",
				"request_id", reqID, "target", target, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			out, err = nil, fmt.Errorf("awsapi: panic: %v", p)
		}
	}()
	return h.serve(w, r, reqID, ai)
}

// serve is the request path: method and path, body, authentication,
// dispatch, decoding and validation, the service call. It notes in ai what
// the audit record needs.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, reqID string, ai *auditInfo) (target string, out any, err error) {
	target = r.Header.Get("X-Amz-Target")
	if r.URL.Path != "/" {
		return target, nil, unknownOperation(http.StatusNotFound, "Rotor serves the AWS JSON API on POST / only.")
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return target, nil, unknownOperation(http.StatusMethodNotAllowed, "Rotor serves the AWS JSON API on POST / only.")
	}
	body, err := h.readBody(r)
	if err != nil {
		return target, nil, err
	}

	if h.Auth == nil {
		return target, nil, errors.New("awsapi: Handler.Auth is not set")
	}
	// A shallow copy of r (as r.WithContext makes) whose body reads body
	// again, in one allocation.
	ar := &authRequest{req: *r}
	ar.body.Reset(body)
	ar.req.Body = &ar.body
	authn, err := h.Auth.Authenticate(&ar.req, body)
	if err != nil {
		return target, nil, err
	}
	ai.authn, ai.authed = authn, true
	prefix, name, _ := strings.Cut(target, ".")
	var table map[string]operation
	switch prefix {
	case prefixSecretsManager:
		table = secretsManagerOps
	case prefixRotor:
		table = rotorOps
	}
	if table != nil && authn.Service != prefix {
		return target, nil, rotor.Errorf(rotor.EAUTHSIGNATURE, "Credential should be scoped to correct service: '%s'.", prefix)
	}
	ctx := rotor.NewContext(r.Context(), rotor.Caller{Principal: authn.Principal, Region: authn.Region, RequestID: reqID,
		SourceIP: sourceIP(r.RemoteAddr), SecureTransport: r.TLS != nil})

	if table == nil {
		if target == "" {
			return target, nil, unknownOperation(http.StatusBadRequest, "Missing X-Amz-Target header.")
		}
		return target, nil, unknownOperation(http.StatusBadRequest, unknownTargetMessage(target))
	}
	if prefix == prefixSecretsManager && unsupportedOps[name] {
		return target, nil, unsupported(secretsManagerModel.Inputs[name], name, body)
	}
	op, ok := table[name]
	if !ok {
		return target, nil, unknownOperation(http.StatusBadRequest, unknownTargetMessage(target))
	}
	if err := h.ready(op.uses, name); err != nil {
		if rotor.ErrorCode(err) == rotor.EUNSUPPORTED {
			return target, nil, unsupported(op.input, name, body)
		}
		return target, nil, err
	}
	in, err := validateInput(op.input, body)
	if err != nil {
		return target, nil, err
	}
	ai.shape, ai.in, ai.validated = op.input, in, true
	if op.long {
		liftReadDeadline(w)
	}
	out, err = op.run(h, ctx, in)
	if op.long {
		renewWriteDeadline(w)
	}
	return target, out, err
}

// authRequest is the request handed to the Authenticator: a copy of the
// served request with a body that reads the already-read bytes again.
type authRequest struct {
	req  http.Request
	body bodyReader
}

// bodyReader is a bytes.Reader with a no-op Close.
type bodyReader struct{ bytes.Reader }

func (*bodyReader) Close() error { return nil }

// printableTarget matches targets short and plain enough to echo back.
var printableTarget = regexp.MustCompile(`^[A-Za-z0-9_.\-]{1,128}$`)

func unknownTargetMessage(target string) string {
	if printableTarget.MatchString(target) {
		return "Unknown operation " + target + "."
	}
	return "Unknown operation in X-Amz-Target."
}

// readBody reads the whole body, refusing (without reading further) one
// larger than the limit.
func (h *Handler) readBody(r *http.Request) ([]byte, error) {
	limit := h.MaxBodyBytes
	if limit <= 0 {
		limit = DefaultMaxBodyBytes
	}
	tooLarge := func() error {
		return &apiError{Type: typeValidation, Status: http.StatusBadRequest,
			Message: fmt.Sprintf("Request body is too large: the limit is %d bytes.", limit)}
	}
	if r.ContentLength > limit {
		return nil, tooLarge()
	}
	if r.Body == nil {
		return nil, nil
	}
	readLimit := limit
	if readLimit < math.MaxInt64 {
		readLimit++
	}
	body, err := readAtMost(r.Body, readLimit, r.ContentLength)
	if err != nil {
		return nil, serializationError("The request body could not be read.")
	}
	if int64(len(body)) > limit {
		return nil, tooLarge()
	}
	return body, nil
}

// maxPresize bounds the buffer readAtMost allocates before reading.
const maxPresize = 64 << 10

// readAtMost is io.ReadAll(io.LimitReader(r, n)) with the buffer sized for
// a body of size bytes (when size >= 0), so that a body of the announced
// length is read without growing or copying.
func readAtMost(r io.Reader, n, size int64) ([]byte, error) {
	capacity := int64(512)
	if size >= 0 {
		// +1: room to see EOF without growing. A claimed size is not
		// trusted beyond maxPresize: past it, the buffer grows as data
		// actually arrives.
		capacity = min(size+1, n, maxPresize)
	}
	b := make([]byte, 0, max(capacity, 1))
	for int64(len(b)) < n {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // let append pick the growth
		}
		room := b[len(b):cap(b)]
		if left := n - int64(len(b)); int64(len(room)) > left {
			room = room[:left]
		}
		k, err := r.Read(room)
		b = b[:len(b)+k]
		if err == io.EOF {
			return b, nil
		} else if err != nil {
			return b, err
		}
	}
	return b, nil
}

// writeError writes err in AWS's error format and returns the status sent.
// A server fault is logged with its cause and the request id; the client
// sees only a generic message.
func (h *Handler) writeError(w http.ResponseWriter, reqID, target string, err error) int {
	ae, internal := toAPIError(err)
	if internal {
		h.logger().Error("awsapi: internal error", "request_id", reqID, "target", target, "error", err)
	}
	body, encErr := appendJSON(nil, errorBody{Type: ae.Type, Message: ae.Message})
	if encErr != nil { // cannot happen for two strings; keep the response well-formed anyway
		body = []byte(`{"__type":"` + typeInternal + `","Message":"` + internalMessage + `"}`)
	}
	w.Header().Set("X-Amzn-Errortype", ae.Type)
	w.WriteHeader(ae.Status)
	_, _ = w.Write(body)
	return ae.Status
}

// appendJSON appends the JSON encoding of v to b, without HTML escaping (a
// secret value containing '<' is returned as written). A value with its own
// appendJSON method (GetSecretValue's output) encodes itself, byte for byte
// as encoding/json would; anything else goes through encoding/json.
func appendJSON(b []byte, v any) ([]byte, error) {
	if a, ok := v.(jsonAppender); ok {
		return a.appendJSON(b), nil
	}
	w := sliceWriter{b}
	enc := json.NewEncoder(&w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return b, fmt.Errorf("awsapi: encode response: %w", err)
	}
	return bytes.TrimSuffix(w.b, []byte("\n")), nil
}

// jsonAppender is a response that encodes itself.
type jsonAppender interface {
	appendJSON(b []byte) []byte
}

// sliceWriter is an io.Writer appending to a slice.
type sliceWriter struct{ b []byte }

func (w *sliceWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// responseBuffer is a pooled buffer for encoding a response.
type responseBuffer struct{ b []byte }

// maxPooledResponse bounds the buffers kept for reuse: a rare large
// response does not pin its memory.
const maxPooledResponse = 64 << 10

var responseBuffers = sync.Pool{New: func() any { return &responseBuffer{b: make([]byte, 0, 1024)} }}

func getBuffer() *responseBuffer { return responseBuffers.Get().(*responseBuffer) }

// putBuffer wipes buf (a response may hold a secret value) and returns it
// to the pool.
func putBuffer(buf *responseBuffer) {
	clear(buf.b)
	if cap(buf.b) > maxPooledResponse {
		return
	}
	buf.b = buf.b[:0]
	responseBuffers.Put(buf)
}

var discard = slog.New(slog.DiscardHandler)

func (h *Handler) logger() *slog.Logger {
	if h.Logger == nil {
		return discard
	}
	return h.Logger
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// sourceIP is the client address of a request's RemoteAddr ("host:port"),
// for aws:SourceIp: the connection's peer, never a header the client
// writes; "" when it is not an address.
func sourceIP(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	if _, err := netip.ParseAddr(host); err != nil {
		return ""
	}
	return host
}

// metricOperation is the operation label for target: the operation's name
// when target names one the handler knows, else "unknown", so that a
// client cannot grow the set of label values.
func metricOperation(target string) string {
	prefix, name, _ := strings.Cut(target, ".")
	switch prefix {
	case prefixSecretsManager:
		if _, ok := secretsManagerOps[name]; ok || unsupportedOps[name] {
			return name
		}
	case prefixRotor:
		if _, ok := rotorOps[name]; ok {
			return name
		}
	}
	return "unknown"
}
