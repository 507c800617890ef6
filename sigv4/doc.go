// Package sigv4 verifies AWS Signature Version 4 on incoming requests, the
// way AWS JSON services (Secrets Manager among them) check them.
//
// Only the header form is supported:
//
//	Authorization: AWS4-HMAC-SHA256 Credential=<key>/<yyyymmdd>/<region>/<service>/aws4_request,
//	    SignedHeaders=<h1>;<h2>;..., Signature=<64 hex digits>
//
// Verification is split in two steps so that the caller can look up the
// secret for the access key in between:
//
//	a, err := sigv4.ParseRequest(r)      // syntax only: EAUTHMISSING, EAUTHINCOMPLETE
//	secret := lookup(a.AccessKeyID)      // the caller's business (EAUTHUNKNOWN etc.)
//	err = verifier.Verify(r, body, a, secret) // clock window and signature: EAUTHSIGNATURE
//
// The canonical request is built exactly as aws-sdk-go-v2 and botocore build
// it for services other than S3: the escaped request path is URI-encoded a
// second time, the query string is sorted and RFC 3986-encoded, only the
// headers named in SignedHeaders take part (with "host" taken from
// Request.Host and "content-length" from Request.ContentLength when Go's
// server has moved them out of the header map), and the payload hash is
// always computed from the body the caller passes, never read from a header.
//
// Host, and whenever the request carries them X-Amz-Target, X-Amz-Date (or
// Date in its absence) and X-Amz-Security-Token, must be among the signed
// headers: a signature over fewer would let a captured request be sent to
// another operation or outside its clock window.
//
// The package knows nothing about identities or storage. Every error it
// returns is a *rotor.Error whose message is safe to show a client: it never
// contains a secret key, a derived key, a session token or the signature.
package sigv4
