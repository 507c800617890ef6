package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/internal/jsonstr"
)

// EventVersion is the CloudTrail record format version the lines follow.
const EventVersion = "1.08"

// maxUserAgent bounds the user agent kept in a line, as CloudTrail does.
const maxUserAgent = 1024

// hashSuffixLen is the length of a line's fixed tail after its hashed
// prefix: `,"hash":"` + 64 hex digits + `"}}`.
const hashSuffixLen = len(hashKey) + 2*sha256.Size + len(`"}}`)

const hashKey = `,"hash":"`

// chainState is where the chain stands: the last line's file, sequence
// number and hash.
type chainState struct {
	file int64
	seq  int64
	hash [sha256.Size]byte
}

// appendLine appends rec as one audit line (with its newline) chained after
// st, and returns the state after it. eventID is the line's unique id, 16
// bytes written as a UUID.
func appendLine(b []byte, rec *rotor.AuditRecord, account string, eventID []byte, st chainState) ([]byte, chainState) {
	start := len(b)
	b = append(b, `{"eventVersion":"`+EventVersion+`","eventTime":"`...)
	b = rec.Time.UTC().AppendFormat(b, time.RFC3339)
	b = append(b, `","eventSource":`...)
	b = appendString(b, rec.Source)
	b = append(b, `,"eventName":`...)
	b = appendString(b, rec.Name)
	if rec.Source == rotor.AuditSourceRotation {
		b = append(b, `,"eventType":"AwsServiceEvent"`...)
	} else {
		b = append(b, `,"eventType":"AwsApiCall"`...)
	}
	b = append(b, `,"awsRegion":`...)
	b = appendString(b, rec.Region)
	if rec.SourceIP != "" {
		b = append(b, `,"sourceIPAddress":`...)
		b = appendString(b, rec.SourceIP)
	}
	if rec.UserAgent != "" {
		ua := rec.UserAgent
		if len(ua) > maxUserAgent {
			ua = ua[:maxUserAgent]
		}
		b = append(b, `,"userAgent":`...)
		b = appendString(b, ua)
	}
	b = append(b, `,"userIdentity":`...)
	b = appendIdentity(b, rec, account)
	b = append(b, `,"requestParameters":`...)
	if len(rec.Parameters) > 0 {
		b = append(b, rec.Parameters...)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"responseElements":`...)
	if rec.ARN == "" && rec.SecretName == "" && rec.VersionID == "" {
		b = append(b, "null"...)
	} else {
		sep := byte('{')
		for _, f := range [...]struct{ k, v string }{{"arn", rec.ARN}, {"name", rec.SecretName}, {"versionId", rec.VersionID}} {
			if f.v != "" {
				b = append(b, sep, '"')
				b = append(b, f.k...)
				b = append(b, '"', ':')
				b = appendString(b, f.v)
				sep = ','
			}
		}
		b = append(b, '}')
	}
	if rec.ErrorCode != "" {
		b = append(b, `,"errorCode":`...)
		b = appendString(b, rec.ErrorCode)
		b = append(b, `,"errorMessage":`...)
		b = appendString(b, rec.ErrorMessage)
	}
	b = append(b, `,"requestID":`...)
	b = appendString(b, rec.RequestID)
	b = append(b, `,"eventID":"`...)
	b = hex.AppendEncode(b, eventID[0:4])
	b = append(b, '-')
	b = hex.AppendEncode(b, eventID[4:6])
	b = append(b, '-')
	b = hex.AppendEncode(b, eventID[6:8])
	b = append(b, '-')
	b = hex.AppendEncode(b, eventID[8:10])
	b = append(b, '-')
	b = hex.AppendEncode(b, eventID[10:16])
	b = append(b, '"')
	b = append(b, `,"readOnly":`...)
	b = strconv.AppendBool(b, rec.ReadOnly)
	b = append(b, `,"managementEvent":true,"eventCategory":"Management","recipientAccountId":`...)
	b = appendString(b, account)

	next := chainState{file: st.file, seq: st.seq + 1}
	b = append(b, `,"rotorChain":{"file":`...)
	b = strconv.AppendInt(b, next.file, 10)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, next.seq, 10)
	b = append(b, `,"prev":"`...)
	b = hex.AppendEncode(b, st.hash[:])
	b = append(b, '"')
	next.hash = sha256.Sum256(b[start:])
	b = append(b, hashKey...)
	b = hex.AppendEncode(b, next.hash[:])
	return append(b, `"}}`+"\n"...), next
}

// appendIdentity appends CloudTrail's userIdentity for rec: an IAM user
// for an identity's access key, an assumed role for a rotation function's
// temporary credentials, the service itself for a rotation step, and
// "Unknown" (with the key presented, if any) when authentication failed.
func appendIdentity(b []byte, rec *rotor.AuditRecord, account string) []byte {
	p := &rec.Principal
	field := func(b []byte, k string, v ...string) []byte {
		b = append(b, `,"`...)
		b = append(b, k...)
		b = append(b, '"', ':', '"')
		for _, part := range v {
			b = jsonstr.AppendEscaped(b, part)
		}
		return append(b, '"')
	}
	switch {
	case rec.Source == rotor.AuditSourceRotation:
		b = append(b, `{"type":"AWSService"`...)
		b = field(b, "invokedBy", rotor.AuditSourceRotation)
		b = field(b, "accountId", account)
	case p.Identity != "" && p.Role == rotor.RoleScoped:
		session := strings.TrimPrefix(p.Identity, "rotation/")
		b = append(b, `{"type":"AssumedRole"`...)
		b = field(b, "principalId", p.AccessKeyID, ":", session)
		b = field(b, "arn", "arn:aws:sts::", account, ":assumed-role/rotor-rotation/", session)
		b = field(b, "accountId", account)
		b = field(b, "accessKeyId", p.AccessKeyID)
	case p.Identity != "":
		b = append(b, `{"type":"IAMUser"`...)
		b = field(b, "principalId", p.Identity)
		b = field(b, "arn", "arn:aws:iam::", account, ":user/", p.Identity)
		b = field(b, "accountId", account)
		b = field(b, "accessKeyId", p.AccessKeyID)
		b = field(b, "userName", p.Identity)
	default:
		b = append(b, `{"type":"Unknown"`...)
		if rec.AccessKeyID != "" {
			b = field(b, "accessKeyId", rec.AccessKeyID)
		}
	}
	return append(b, '}')
}

// appendString appends s as a JSON string, as encoding/json writes it
// without HTML escaping (invalid UTF-8 becomes U+FFFD).
func appendString(b []byte, s string) []byte { return jsonstr.Append(b, s) }
