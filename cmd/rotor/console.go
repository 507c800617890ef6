package main

import (
	"fmt"
	"net/http"

	"github.com/rotorhq/rotor"
	"github.com/rotorhq/rotor/console"
)

// mountConsole serves the web console under /console/ on mux (see
// package console and docs/console.md), over the same services and
// authorizer as the API; console.enabled = false leaves it out.
func (m *Main) mountConsole(mux *http.ServeMux, adm rotor.AdminService, auditor rotor.Auditor) error {
	h, err := console.New(console.Config{
		Secrets:    m.manager,
		Admin:      adm,
		Auth:       m.auth,
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
