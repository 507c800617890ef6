package console

import (
	"encoding/json"
	"net/http"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/awsapi"
)

// UserAgentPrefix starts the user agent of every audit record the console
// writes, so its events can be told from API calls: "rotor-console (<the
// browser's user agent>)".
const UserAgentPrefix = "rotor-console"

func consoleUA(ua string) string {
	if ua == "" {
		return UserAgentPrefix
	}
	return UserAgentPrefix + " (" + ua + ")"
}

// auditedOp is one operation the console performs for a user, audited as
// the API audits it: its event source and name (the API's operation), and
// its request parameters (never a value).
type auditedOp struct {
	source, name string
	params       map[string]string // CloudTrail's lowerCamel member names; "" values left out
	readOnly     bool
}

// audited runs an operation as the API does under its audit log: room for
// the record is reserved first, and when the log cannot keep it (and the
// server is configured to refuse then) the operation does not run; then
// the record is written with the resource run names, or the error the API
// would have answered. run returns the resource (ARN, secret name, version
// id) for the record's responseElements.
func (h *Handler) audited(q *request, op auditedOp, run func() (arn, name, version string, err error)) error {
	if h.cfg.Audit == nil {
		_, _, _, err := run()
		return err
	}
	reserved, err := h.cfg.Audit.Begin(q.ctx)
	var arn, name, version string
	if err == nil {
		arn, name, version, err = run()
	}
	params := map[string]string{}
	for k, v := range op.params {
		if v != "" {
			params[k] = v
		}
	}
	var b []byte
	if len(params) > 0 {
		b, _ = json.Marshal(params)
	}
	rec := rotor.AuditRecord{Time: h.cfg.Now(), Source: op.source, Name: op.name, RequestID: q.reqID, Region: q.region,
		Principal: q.p, AccessKeyID: q.p.AccessKeyID, SourceIP: q.srcIP, UserAgent: consoleUA(q.rawUA), Parameters: b,
		ReadOnly: op.readOnly}
	if err != nil {
		rec.ErrorCode, rec.ErrorMessage = awsapi.ErrorAnswer(err)
	} else {
		rec.ARN, rec.SecretName, rec.VersionID = arn, name, version
	}
	h.cfg.Audit.Record(rec, reserved)
	return err
}

// beginSignIn reserves room in the audit log for a sign-in's record, as
// the API does for a request: an error means the sign-in must be refused
// (the log cannot keep its record and the server refuses then).
func (h *Handler) beginSignIn(r *http.Request) (reserved bool, err error) {
	if h.cfg.Audit == nil {
		return false, nil
	}
	return h.cfg.Audit.Begin(r.Context())
}

// auditSignIn records a console sign-in, successful or not, as Rotor's
// own event "ConsoleSignIn" (never with the secret).
func (h *Handler) auditSignIn(r *http.Request, accessKeyID string, p rotor.Principal, err error, reserved bool) {
	if h.cfg.Audit == nil {
		return
	}
	rec := rotor.AuditRecord{Time: h.cfg.Now(), Source: rotor.AuditSourceRotor, Name: "ConsoleSignIn",
		RequestID: newRequestID(), Region: h.cfg.Regions[0], SourceIP: remoteIP(r.RemoteAddr),
		UserAgent: consoleUA(r.Header.Get("User-Agent"))}
	if plausibleKeyID(accessKeyID) { // never what might be a pasted secret
		rec.AccessKeyID = accessKeyID
	}
	if err != nil {
		rec.ErrorCode, rec.ErrorMessage = awsapi.ErrorAnswer(err)
	} else {
		rec.Principal = p
	}
	h.cfg.Audit.Record(rec, reserved)
}

// plausibleKeyID reports whether s looks like an access key id (16 to 32
// upper-case letters and digits), which a secret access key does not.
func plausibleKeyID(s string) bool {
	if len(s) < 16 || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}
