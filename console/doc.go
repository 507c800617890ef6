// Package console is Rotor's web console: server-rendered HTML pages, with
// a little dependency-free JavaScript, served by `rotor server` under
// /console/ from files embedded in the binary.
//
// The console has no rules of its own. Every read and write goes through
// the same services as the API (the manager for secrets and rotations, the
// admin service for identities and keys), with a rotor.Caller for the
// signed-in identity in the context, so the same authorizer decides every
// action; buttons are offered only for actions that manager.Allowed says
// the caller may perform, and a POST is authorized again by the operation.
//
// Sign-in takes an access key id and its secret, checked as SigV4
// verification checks them (auth.Service.VerifySecret); failed sign-ins
// are throttled per source address and per key id (throttle.go). The
// session is a signed cookie (HMAC-SHA256 under a key derived from the
// keyring, so replicas sharing a keyring accept each other's sessions)
// naming the access key; every request checks that the key still exists
// and is Active, and sign-out is remembered by the process until the
// session would have expired (revoke.go). Every state change is a POST
// carrying a CSRF token bound to the session, with Origin and
// Sec-Fetch-Site checked when sent. Pages carry a strict
// Content-Security-Policy. Secret values are shown only after a "Reveal"
// POST, which is authorized and audited as GetSecretValue; every change
// made from the console is audited as the API's operation (audit.go).
package console
