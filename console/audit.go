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

// auditReveal records a reveal exactly like the API's GetSecretValue: same
// event source and name, requestParameters secretId/versionId, the
// version read, or the error the API would have answered.
func (h *Handler) auditReveal(q *request, in rotor.GetSecretValueInput, v *rotor.SecretValue, err error, reserved bool) {
	if h.cfg.Audit == nil {
		return
	}
	params := map[string]string{"secretId": in.SecretID}
	if in.VersionID != "" {
		params["versionId"] = in.VersionID
	}
	b, _ := json.Marshal(params)
	rec := rotor.AuditRecord{Time: h.cfg.Now(), Source: rotor.AuditSourceSecretsManager, Name: "GetSecretValue",
		RequestID: q.reqID, Region: q.region, Principal: q.p, AccessKeyID: q.p.AccessKeyID, SourceIP: q.srcIP,
		UserAgent: consoleUA(q.rawUA), Parameters: b, ReadOnly: true}
	if err != nil {
		rec.ErrorCode, rec.ErrorMessage = awsapi.ErrorAnswer(err)
	} else {
		rec.ARN, rec.SecretName, rec.VersionID = v.ARN, v.Name, v.VersionID
	}
	h.cfg.Audit.Record(rec, reserved)
}

// auditSignIn records a console sign-in, successful or not, as Rotor's
// own event "ConsoleSignIn" (never with the secret).
func (h *Handler) auditSignIn(r *http.Request, accessKeyID string, p rotor.Principal, err error) {
	if h.cfg.Audit == nil {
		return
	}
	rec := rotor.AuditRecord{Time: h.cfg.Now(), Source: rotor.AuditSourceRotor, Name: "ConsoleSignIn",
		RequestID: newRequestID(), Region: h.cfg.Regions[0], SourceIP: remoteIP(r.RemoteAddr),
		UserAgent: consoleUA(r.Header.Get("User-Agent"))}
	if plausibleKeyID(accessKeyID) { // never what might be a pasted secret
		rec.AccessKeyID = accessKeyID
	}
	reserved, _ := h.cfg.Audit.Begin(r.Context())
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
