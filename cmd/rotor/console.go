package main

import (
	"fmt"
	"net/http"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/console"
)

// mountConsole serves the web console under /console/ on mux (see
// package console and docs/console.md), over the same services, authorizer
// and audit log as the API; console.enabled = false leaves it out.
func (m *Main) mountConsole(mux *http.ServeMux) error {
	var auditor rotor.Auditor // a nil interface when auditing is off
	if m.audit != nil {
		auditor = m.audit
	}
	h, err := console.New(console.Config{
		Secrets:    m.core.Manager,
		Admin:      m.core.Admin,
		Auth:       m.core.Auth,
		SessionKey: m.keyring.DeriveKey,
		Regions:    m.Config.Regions,
		Audit:      auditor,
		Logger:     m.Logger,
	})
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	mux.Handle(console.Prefix, h)
	return nil
}
