package awsapi

import (
	"encoding/json"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/rotorhq/rotor"
)

// Auditing. When Handler.Audit is set, every request — refused by
// authentication, validation or the audit log itself included — produces
// one rotor.AuditRecord. Its Parameters hold only request members whose
// shape, all the way down, the service model does not mark sensitive
// (SecretString, SecretBinary, RotationToken, ...), so a value can never
// reach the audit log through them; the plan of which members to keep is
// computed once per operation from the model, not per request.

// auditInfo is what serve learned about a request, for its record.
type auditInfo struct {
	authn     rotor.Authentication
	authed    bool
	shape     *shape
	in        input
	validated bool
}

// auditMember is one member of an input shape in an audit plan.
type auditMember struct {
	key  string // `"lowerCamelName":`, CloudTrail's spelling
	keep bool   // false: the member's shape holds a sensitive shape
}

// auditPlans maps each operation's input shape to its members' plan, in
// model order.
var auditPlans = func() map[*shape][]auditMember {
	plans := map[*shape][]auditMember{}
	for _, table := range []map[string]operation{secretsManagerOps, rotorOps} {
		for _, op := range table {
			if op.input == nil || plans[op.input] != nil {
				continue
			}
			plan := make([]auditMember, len(op.input.Members))
			for i, m := range op.input.Members {
				plan[i] = auditMember{key: `"` + lowerFirst(m.Name) + `":`, keep: !holdsSensitive(m.Shape, map[*shape]bool{})}
			}
			plans[op.input] = plan
		}
	}
	return plans
}()

// holdsSensitive reports whether s or any shape inside it is sensitive.
func holdsSensitive(s *shape, seen map[*shape]bool) bool {
	if s == nil || seen[s] {
		return false
	}
	seen[s] = true
	if s.Sensitive {
		return true
	}
	for _, m := range s.Members {
		if holdsSensitive(m.Shape, seen) {
			return true
		}
	}
	return holdsSensitive(s.Member, seen) || holdsSensitive(s.Key, seen) || holdsSensitive(s.Value, seen)
}

// auditParameters returns the JSON object of in's non-sensitive members, or
// nil when there are none.
func auditParameters(s *shape, in *input) []byte {
	plan := auditPlans[s]
	if plan == nil {
		return nil
	}
	var b []byte
	add := func(key string) {
		if b == nil {
			b = append(make([]byte, 0, 128), '{')
		} else {
			b = append(b, ',')
		}
		b = append(b, key...)
	}
	if in.isFlat {
		for i, m := range plan {
			if m.keep && i < maxFlatMembers && in.flat.present[i] {
				add(m.key)
				b = appendJSONString(b, in.flat.values[i])
			}
		}
	} else {
		var raw map[string]json.RawMessage
		if json.Unmarshal(in.raw, &raw) != nil {
			return nil
		}
		for i, m := range plan {
			if v, ok := raw[s.Members[i].Name]; ok && m.keep {
				add(m.key)
				b = append(b, v...)
			}
		}
	}
	if b == nil {
		return nil
	}
	return append(b, '}')
}

// audit hands the record of one answered request to h.Audit.
func (h *Handler) audit(r *http.Request, at time.Time, reqID, target string, ai *auditInfo, out any, err error, reserved bool) {
	rec := rotor.AuditRecord{Time: at, RequestID: reqID, SourceIP: remoteIP(r.RemoteAddr), UserAgent: r.Header.Get("User-Agent")}
	prefix, name, _ := strings.Cut(target, ".")
	switch prefix {
	case prefixSecretsManager:
		rec.Source = rotor.AuditSourceSecretsManager
	case prefixRotor:
		rec.Source = rotor.AuditSourceRotor
	default:
		rec.Source, name = rotor.AuditSourceRotor, target
	}
	if !printableName(name) {
		name = ""
	}
	rec.Name, rec.ReadOnly = name, readOnlyOperation(name)
	if ai.authed {
		rec.Principal, rec.Region, rec.AccessKeyID = ai.authn.Principal, ai.authn.Region, ai.authn.Principal.AccessKeyID
	} else {
		rec.AccessKeyID, rec.Region = presentedCredential(r)
	}
	if ai.validated {
		rec.Parameters = auditParameters(ai.shape, &ai.in)
	}
	if err != nil {
		ae, _ := toAPIError(err)
		rec.ErrorCode, rec.ErrorMessage = ae.Type, ae.Message
	} else {
		rec.ARN, rec.SecretName, rec.VersionID = responseElements(out)
	}
	h.Audit.Record(rec, reserved)
}

// printableName reports what printableTarget matches, without a regexp
// on the hot path: 1 to 128 of A-Z a-z 0-9 _ . -
func printableName(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// readOnlyOperation reports whether an operation only reads
// (DownloadBackup copies the database and changes nothing).
func readOnlyOperation(name string) bool {
	for _, p := range [...]string{"Get", "BatchGet", "Describe", "List", "RotationHistory", "DownloadBackup"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// remoteIP is the peer's address without its port.
func remoteIP(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// presentedCredential returns the access key id and region of the SigV4
// credential a request presented (header or query), for the record of a
// request whose authentication failed. Anything that does not look like
// an access key id is left out: the record must not echo arbitrary text
// (a secret key pasted in the wrong place) from an unauthenticated caller.
func presentedCredential(r *http.Request) (keyID, region string) {
	cred := ""
	if a := r.Header.Get("Authorization"); a != "" {
		if i := strings.Index(a, "Credential="); i >= 0 {
			cred = a[i+len("Credential="):]
			if j := strings.IndexAny(cred, ", "); j >= 0 {
				cred = cred[:j]
			}
		}
	} else if r.URL != nil {
		cred = r.URL.Query().Get("X-Amz-Credential")
	}
	parts := strings.SplitN(cred, "/", 5)
	if !plausibleKeyID(parts[0]) {
		return "", ""
	}
	keyID = parts[0]
	if len(parts) >= 3 && len(parts[2]) <= 32 && printableName(parts[2]) {
		region = parts[2]
	}
	return keyID, region
}

// plausibleKeyID reports whether s has the form of an AWS access key id:
// 16 to 128 upper-case letters and digits.
func plausibleKeyID(s string) bool {
	if len(s) < 16 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// responseFields are the indexes of an output struct's ARN, Name and
// VersionID fields (-1 when absent).
type responseFields struct{ arn, name, version int }

var responseFieldCache sync.Map // reflect.Type -> responseFields

// responseElements returns the resource an output names: its top-level
// ARN, Name and VersionId, as CloudTrail's responseElements. Never a value.
func responseElements(out any) (arn, name, version string) {
	if o, ok := out.(secretValueOutput); ok { // GetSecretValue: the hot path
		return o.v.ARN, o.v.Name, o.v.VersionID
	}
	v := reflect.ValueOf(out)
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return "", "", ""
	}
	t := v.Type()
	cached, ok := responseFieldCache.Load(t)
	if !ok {
		f := responseFields{-1, -1, -1}
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			if sf.Type.Kind() != reflect.String && !(sf.Type.Kind() == reflect.Pointer && sf.Type.Elem().Kind() == reflect.String) {
				continue
			}
			switch sf.Name {
			case "ARN":
				f.arn = i
			case "Name":
				f.name = i
			case "VersionID":
				f.version = i
			}
		}
		cached, _ = responseFieldCache.LoadOrStore(t, f)
	}
	f := cached.(responseFields)
	field := func(i int) string {
		if i < 0 {
			return ""
		}
		fv := v.Field(i)
		if fv.Kind() == reflect.Pointer {
			if fv.IsNil() {
				return ""
			}
			fv = fv.Elem()
		}
		return fv.String()
	}
	return field(f.arn), field(f.name), field(f.version)
}
