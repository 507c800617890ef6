package awsapi

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rotorhq/rotor"
)

// Long operations and streamed answers.
//
// rotor.Backup and rotor.DownloadBackup copy the whole database, which may
// take longer than the HTTP server's timeouts allow a request: net/http
// cancels a request's context once its ReadTimeout has passed, even when
// the body was read long before, and cuts writes off at its WriteTimeout.
// For such an operation (opSpec.long) the handler lifts the connection's
// read deadline before calling it, so its context ends only when the
// client goes away, and gives the answer a write deadline of its own,
// longWriteTimeout, renewed before every chunk of a streamed answer: a
// client that stops reading is still cut off.
//
// rotor.DownloadBackup answers with the snapshot's bytes instead of JSON:
// 200, Content-Type application/octet-stream, Content-Length, and
// Content-Digest (RFC 9530) holding their SHA-256 digest, which the client
// checks before it keeps anything. An error found before the first byte is
// answered as any other. Once the status is sent a failure can only cut the
// body short: the connection is closed before Content-Length bytes, which
// every HTTP client reports; the request's audit record and access-log
// line carry InternalServiceError with the count of bytes sent.

// longWriteTimeout bounds writing a long operation's answer, or one chunk
// of a streamed answer.
const longWriteTimeout = time.Minute

// streamChunk is the size of the chunks a snapshot is streamed in.
const streamChunk = 256 << 10

// OctetStream is the Content-Type of a streamed answer.
const OctetStream = "application/octet-stream"

// liftReadDeadline clears the read deadline of w's connection. A writer
// without one (a test recorder) is left as it is.
func liftReadDeadline(w http.ResponseWriter) {
	_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
}

// renewWriteDeadline gives writing to w longWriteTimeout from now.
func renewWriteDeadline(w http.ResponseWriter) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(longWriteTimeout))
}

// snapshotOutput is rotor.DownloadBackup's answer: the snapshot's bytes.
type snapshotOutput struct{ snap *rotor.Snapshot }

// stream sends s as the answer and closes it. It returns the status sent
// and, when the body was cut short, why.
func (h *Handler) stream(w http.ResponseWriter, reqID string, s *snapshotOutput) (int, error) {
	defer s.snap.Close()
	size := s.snap.Size
	hdr := w.Header()
	hdr.Set("Content-Type", OctetStream)
	hdr.Set("Content-Length", strconv.FormatInt(size, 10))
	hdr.Set("Content-Digest", ContentDigest(s.snap.SHA256))
	renewWriteDeadline(w)
	w.WriteHeader(http.StatusOK)
	buf := make([]byte, min(streamChunk, max(size, 1)))
	var sent int64
	for sent < size {
		n, rerr := io.ReadFull(s.snap, buf[:min(int64(len(buf)), size-sent)])
		if n > 0 {
			renewWriteDeadline(w)
			if _, err := w.Write(buf[:n]); err != nil {
				h.logger().Warn("awsapi: the client stopped reading a backup", "request_id", reqID,
					"sent_bytes", sent, "bytes", size, "error", err)
				return http.StatusOK, cutShort(sent, size)
			}
			sent += int64(n)
		}
		if rerr != nil {
			h.logger().Error("awsapi: backup snapshot unreadable while streaming", "request_id", reqID,
				"sent_bytes", sent, "bytes", size, "error", rerr)
			return http.StatusOK, cutShort(sent, size)
		}
	}
	return http.StatusOK, nil
}

// cutShort is the error recorded for a streamed answer that ended early.
func cutShort(sent, size int64) error {
	return &apiError{Type: typeInternal, Status: http.StatusInternalServerError,
		Message: fmt.Sprintf("The backup stream was cut short after %d of %d bytes.", sent, size)}
}

// ContentDigest is the Content-Digest field value (RFC 9530) of bytes
// whose SHA-256 digest is sum.
func ContentDigest(sum [32]byte) string {
	return "sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":"
}

// ErrNoDigest is ParseContentDigest's error for a value without a
// SHA-256 digest.
var ErrNoDigest = errors.New("no sha-256 digest")

// ParseContentDigest returns the SHA-256 digest in a Content-Digest field
// value (a dictionary such as "sha-256=:<base64>:, sha-512=:...:").
func ParseContentDigest(v string) ([32]byte, error) {
	var sum [32]byte
	for _, item := range strings.Split(v, ",") {
		key, val, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok || key != "sha-256" {
			continue
		}
		val, _, _ = strings.Cut(val, ";") // parameters, none defined
		b64, open := strings.CutPrefix(val, ":")
		b64, closed := strings.CutSuffix(b64, ":")
		raw, err := base64.StdEncoding.DecodeString(b64)
		if !open || !closed || err != nil || len(raw) != len(sum) {
			return sum, fmt.Errorf("malformed sha-256 digest %q", val)
		}
		copy(sum[:], raw)
		return sum, nil
	}
	return sum, ErrNoDigest
}
