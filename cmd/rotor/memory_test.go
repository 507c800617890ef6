package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rotorhq/rotor/internal/sysmem"
	"github.com/rotorhq/rotor/manager"
)

func TestLoadConfig_CacheAndDebugDefaults(t *testing.T) {
	c, err := LoadConfig(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.DebugListen != "" {
		t.Fatalf("debug_listen on by default: %q", c.DebugListen)
	}
	l, _ := sysmem.Available()
	if want := manager.DefaultCacheMaxBytes(); c.Cache.MaxBytes != want {
		t.Fatalf("cache.max_bytes = %d, want %d (a quarter of %+v)", c.Cache.MaxBytes, want, l)
	}
	file := filepath.Join(t.TempDir(), "rotor.toml")
	os.WriteFile(file, []byte("debug_listen = \"127.0.0.1:6060\"\n[cache]\nmax_bytes = 1048576\n"), 0o600)
	c, err = LoadConfig([]string{"--config", file}, env(map[string]string{"ROTOR_CACHE_MAX_BYTES": "2097152"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.DebugListen != "127.0.0.1:6060" || c.Cache.MaxBytes != 2<<20 {
		t.Fatalf("debug_listen = %q, cache.max_bytes = %d", c.DebugListen, c.Cache.MaxBytes)
	}
}

func TestLoadConfig_DebugListenLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:6060", ":6060", "192.0.2.1:6060", "example.com:6060", "6060"} {
		_, err := LoadConfig([]string{"--debug-listen", addr}, env(nil))
		if err == nil || !strings.Contains(err.Error(), "debug_listen") {
			t.Errorf("debug_listen %q: err = %v, want a refusal", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "[::1]:6060", "localhost:6060"} {
		if _, err := LoadConfig([]string{"--debug-listen", addr}, env(nil)); err != nil {
			t.Errorf("debug_listen %q refused: %v", addr, err)
		}
	}
	if _, err := LoadConfig([]string{"--cache-max-bytes", "-1"}, env(nil)); err == nil {
		t.Error("negative cache.max_bytes accepted")
	}
	if _, err := LoadConfig([]string{"--cache-max-bytes", "1GB"}, env(nil)); err == nil {
		t.Error("cache.max_bytes 1GB accepted")
	}
}

func TestGCSettings(t *testing.T) {
	p, l := gcSettings(256<<20, env(nil))
	if p != 400 || l != 256<<20+96<<20 {
		t.Fatalf("defaults: GOGC %d, limit %d", p, l)
	}
	p, l = gcSettings(256<<20, env(map[string]string{"GOGC": "100", "GOMEMLIMIT": "1GiB"}))
	if p != -1 || l != -1 {
		t.Fatalf("environment overridden: GOGC %d, limit %d", p, l)
	}
}

// TestDebugListener serves pprof on the debug address when configured, and
// nothing when not.
func TestDebugListener(t *testing.T) {
	srv, ln, err := debugServer("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closeDebug(srv)
	resp, err := http.Get("http://" + ln.Addr().String() + "/debug/pprof/heap?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "heap profile") {
		t.Fatalf("heap profile: %d %.100s", resp.StatusCode, body)
	}

	// A server started without debug_listen has no debug server.
	dir := t.TempDir()
	c, err := LoadConfig([]string{"--data-dir", filepath.Join(dir, "data"), "--listen", "127.0.0.1:0", "--log-level", "error"}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	m := &Main{Config: c, Stdout: io.Discard}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.debug != nil {
		t.Fatal("debug server running without debug_listen")
	}
	resp, err = http.Get(m.URL() + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == 200 {
		t.Fatal("pprof served on the API listener")
	}
}

func TestLoadConfig_DatabaseMmap(t *testing.T) {
	c, err := LoadConfig(nil, env(nil))
	if err != nil || c.Database.MmapBytes != 0 {
		t.Fatalf("default database.mmap_bytes = %d, %v; want 0 (off)", c.Database.MmapBytes, err)
	}
	c, err = LoadConfig(nil, env(map[string]string{"ROTOR_DB_MMAP_BYTES": "1073741824"}))
	if err != nil || c.Database.MmapBytes != 1<<30 {
		t.Fatalf("database.mmap_bytes = %d, %v", c.Database.MmapBytes, err)
	}
	for _, bad := range []string{"-1", "1G"} {
		if _, err := LoadConfig([]string{"--db-mmap-bytes", bad}, env(nil)); err == nil {
			t.Errorf("database.mmap_bytes %q accepted", bad)
		}
	}
}
