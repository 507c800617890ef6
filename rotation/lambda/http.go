package lambda

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rotorhq/rotor/rotation/scrub"
)

// HTTP is a rotation function reached by an HTTP POST in the shape of the
// Lambda Invoke API.
//
// Each step POSTs the event JSON (exactly Event, marshalled) with
// Content-Type: application/json, X-Amz-Invocation-Type: RequestResponse,
// X-Rotor-Region (Invocation.Region) and X-Rotor-Endpoint
// (Invocation.Endpoint). So that the function can call back into Rotor, the
// temporary credentials are sent as X-Rotor-Access-Key-Id,
// X-Rotor-Secret-Access-Key and X-Rotor-Session-Token, but only when
// CredentialsAllowed(URL): over https, or plain http to a loopback host. A
// function reached over plain http on the network gets no credentials and
// must have its own. When Secret is set, every request also carries
// X-Rotor-Timestamp (Unix seconds) and X-Rotor-Signature ("v1=" +
// hex(HMAC-SHA256(Secret, timestamp + "." + body))), which the receiver
// checks with VerifySignature.
//
// The step succeeded when the answer is 2xx, has no X-Amz-Function-Error
// header and its body is not a JSON object with an errorType or errorMessage
// key. Redirects are never followed, not even by a caller-supplied Client: a
// redirect chosen by someone else could carry the credential headers to them.
//
// An HTTP is a plain value declared by the operator; Invoke does not modify
// it and may be called concurrently.
type HTTP struct {
	URL     string
	Secret  []byte        // optional HMAC-SHA256 key; when set every request carries X-Rotor-Timestamp (unix seconds) and X-Rotor-Signature: "v1=" + hex(HMAC(secret, timestamp + "." + body))
	Timeout time.Duration // 0 = 30s
	Client  *http.Client  // nil = a client with Timeout and no redirects followed
}

var _ Function = (*HTTP)(nil)

// Validate checks the configuration without sending anything. It returns an
// EINVALID *rotor.Error when URL is not an absolute http or https URL with a
// host, or Timeout is negative.
func (h *HTTP) Validate() error {
	_, err := h.parseURL()
	return err
}

func (h *HTTP) parseURL() (*url.URL, error) {
	u, err := url.Parse(h.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// The URL is not quoted: it may carry a token in its query.
		return nil, invalidf("The URL of an http function must be an absolute http or https URL.")
	}
	if h.Timeout < 0 {
		return nil, invalidf("The timeout must not be negative.")
	}
	return u, nil
}

// CredentialsAllowed reports whether Invoke gives the temporary credentials
// to a function at u: only when u is https, or http to a loopback host
// ("localhost", 127.0.0.0/8 or ::1), where they cannot be read on the
// network.
func CredentialsAllowed(u *url.URL) bool {
	switch strings.ToLower(u.Scheme) {
	case "https":
		return true
	case "http":
		return isLoopback(u.Hostname())
	}
	return false
}

func isLoopback(host string) bool {
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.WithZone("").Unmap().IsLoopback()
}

// noRedirect stops a client at the first redirect and hands back the 3xx.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// client returns the client for one call: h.Client (or a new one with the
// timeout) that never follows redirects.
func (h *HTTP) client(timeout time.Duration) *http.Client {
	if h.Client == nil {
		return &http.Client{Timeout: timeout, CheckRedirect: noRedirect}
	}
	c := *h.Client
	c.CheckRedirect = noRedirect
	return &c
}

// Invoke POSTs the event and waits for the answer, at most Timeout (30s when
// zero). The Result holds the response body (scrubbed, at most MaxOutput
// bytes) even when the step failed.
//
// Errors are *rotor.Error:
//   - EINVALID when the configuration is invalid (see Validate);
//   - EINTERNAL when the step did not succeed: "http function answered 502:
//     <body excerpt>" for a non-2xx status (3xx included),
//     "http function failed: <X-Amz-Function-Error>: <errorType>:
//     <errorMessage>", "http function failed: <errorType>: <errorMessage>"
//     for a 2xx error object, "http function timed out after 30s",
//     "http function canceled: <ctx error>" (the cause wraps ctx.Err()), or
//     "http function request failed: <transport error>".
//
// Messages quote the function's answer, scrubbed with inv.Scrubber before
// it is cut. They never quote the URL, which may carry a token.
func (h *HTTP) Invoke(ctx context.Context, inv Invocation) (Result, error) {
	u, err := h.parseURL()
	if err != nil {
		return Result{}, err
	}
	body, err := json.Marshal(inv.Event)
	if err != nil {
		return Result{}, failed(err, "http function: encode event: %v", err)
	}
	timeout := timeoutOrDefault(h.Timeout)
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	req, err := http.NewRequestWithContext(tctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return Result{}, failed(err, "http function request could not be built")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Amz-Invocation-Type", "RequestResponse")
	setHeader(req.Header, HeaderRegion, inv.Region)
	setHeader(req.Header, HeaderEndpoint, inv.Endpoint)
	if CredentialsAllowed(u) {
		setHeader(req.Header, HeaderAccessKeyID, inv.Credentials.AccessKeyID)
		setHeader(req.Header, HeaderSecretAccessKey, inv.Credentials.SecretAccessKey)
		setHeader(req.Header, HeaderSessionToken, inv.Credentials.SessionToken)
	}
	if len(h.Secret) > 0 {
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		req.Header.Set(HeaderTimestamp, ts)
		req.Header.Set(HeaderSignature, sign(h.Secret, ts, body))
	}

	resp, err := h.client(timeout).Do(req)
	if err != nil {
		return Result{}, requestError(ctx, err, timeout)
	}
	defer resp.Body.Close()
	// Read a margin beyond MaxOutput, so a secret across that bound is
	// still found whole; scrub, then cut.
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxOutput+captureMargin+1))
	if err != nil {
		return Result{}, requestError(ctx, err, timeout)
	}
	more := len(raw) > MaxOutput+captureMargin
	if more {
		raw = raw[:MaxOutput+captureMargin]
	}
	sc := inv.scrubber()
	res := Result{Output: limitBody(sc, raw, more)}
	// Excerpts quote the body scrubbed first: a piece next to the
	// bytes not read is left out.
	raw = []byte(sc.Clean(string(raw), false, more))

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg := fmt.Sprintf("http function answered %d", resp.StatusCode)
		if resp.StatusCode >= 300 && resp.StatusCode <= 399 {
			msg += " (redirects are not followed)"
		}
		if excerpt := firstBytes(raw); excerpt != "" {
			msg += ": " + excerpt
		}
		return res, failed(nil, "%s", msg)
	}
	if values, ok := resp.Header["X-Amz-Function-Error"]; ok {
		kind := validUTF8(strings.Join(values, ", "))
		detail := firstBytes(raw)
		if fe, ok := parseFunctionError(raw); ok {
			detail = fe.String()
		}
		return res, failed(nil, "http function failed: %s", joinNonEmpty(kind, detail))
	}
	if fe, ok := parseFunctionError(raw); ok {
		return res, failed(nil, "http function failed: %s", fe.String())
	}
	return res, nil
}

func setHeader(h http.Header, name, value string) {
	if value != "" {
		h.Set(name, value)
	}
}

func joinNonEmpty(parts ...string) string {
	var kept []string
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, ": ")
}

// limitBody returns raw, scrubbed by sc, as Result.Output: whole when it
// fits in MaxOutput, otherwise cut with a marker so the whole is at most
// MaxOutput bytes. more says the body went on after raw.
func limitBody(sc *scrub.Scrubber, raw []byte, more bool) string {
	total := int64(len(raw))
	if more {
		total++ // at least one byte more than read
	}
	marker := fmt.Sprintf("\n[... response truncated at %d bytes ...]\n", MaxOutput)
	return sc.Bounded(string(raw), "", total, MaxOutput, MaxOutput-len(marker), func(int64) string { return marker })
}

// requestError turns a failed round trip or body read into the step's
// error: cancelled (ctx done), timed out, or a transport failure. The
// transport error is quoted without the URL.
func requestError(ctx context.Context, err error, timeout time.Duration) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return failed(ctxErr, "http function canceled: %v", ctxErr)
	}
	var netErr net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()) {
		return failed(err, "http function timed out after %v", timeout)
	}
	cause := err
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		cause = urlErr.Err
	}
	return failed(err, "http function request failed: %s", validUTF8(cause.Error()))
}
