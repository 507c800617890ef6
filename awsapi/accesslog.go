package awsapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"
)

// Access log. After each request the handler writes one info line, msg
// "request", with what is known of it: request_id, operation (the
// X-Amz-Target, "" when missing or not plain), caller (the principal's ARN, or the access key id the
// request presented when authentication failed), secret (the resulting ARN
// on success, else the SecretId or Name as sent, once validated), region,
// status (HTTP), error_code ("" on success), duration_ms and source (the
// peer's address). It never holds a value: the secret comes from the
// identifier members alone.

// accessLog writes the access-log line of one answered request.
func (h *Handler) accessLog(r *http.Request, start time.Time, reqID, target string, ai *auditInfo, out any, err error, status int) {
	log := h.logger()
	ctx := r.Context()
	if !log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	var caller, region string
	if ai.authed {
		caller, region = ai.authn.Principal.ARN, ai.authn.Region
		if caller == "" {
			caller = ai.authn.Principal.AccessKeyID
		}
	} else {
		caller, region = presentedCredential(r)
	}
	var secret, code string
	if err != nil {
		ae, _ := toAPIError(err)
		code = ae.Type
	} else {
		secret, _, _ = responseElements(out)
	}
	if secret == "" && ai.validated {
		secret = secretIdentifier(&ai.in)
	}
	if !printableName(target) {
		target = "" // not echoed: it may be anything the client sent
	}
	log.LogAttrs(context.WithoutCancel(ctx), slog.LevelInfo, "request",
		slog.String("request_id", reqID),
		slog.String("operation", target),
		slog.String("caller", caller),
		slog.String("secret", secret),
		slog.String("region", region),
		slog.Int("status", status),
		slog.String("error_code", code),
		slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
		slog.String("source", r.RemoteAddr))
}

// secretIdentifier is the validated input's SecretId, or its Name
// (CreateSecret), or "". It reads these identifier members only.
func secretIdentifier(in *input) string {
	if in.isFlat {
		f := &in.flat
		for _, name := range [...]string{"SecretId", "Name"} {
			for i, m := range f.shape.Members {
				if m.Name == name && f.present[i] {
					return f.values[i]
				}
			}
		}
		return ""
	}
	var ids struct{ SecretId, Name string }
	if json.Unmarshal(in.raw, &ids) != nil {
		return ""
	}
	if ids.SecretId != "" {
		return ids.SecretId
	}
	return ids.Name
}
