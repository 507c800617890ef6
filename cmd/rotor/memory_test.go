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
	big := sysmem.Limit{Bytes: 24 << 30}
	p, l := gcSettings(256<<20, big, true, env(nil))
	if p != 400 || l != 256<<20+96<<20 {
		t.Fatalf("defaults: GOGC %d, limit %d", p, l)
	}
	p, l = gcSettings(256<<20, sysmem.Limit{}, false, env(nil))
	if p != 400 || l != 256<<20+96<<20 {
		t.Fatalf("memory unknown: GOGC %d, limit %d", p, l)
	}
	// A 128 MiB container: budget + headroom would pass its limit.
	if _, l = gcSettings(32<<20, sysmem.Limit{Bytes: 128 << 20}, true, env(nil)); l != 128<<20/100*85 {
		t.Fatalf("128 MiB container: limit %d, want 85%% of it", l)
	}
	p, l = gcSettings(256<<20, big, true, env(map[string]string{"GOGC": "100", "GOMEMLIMIT": "1GiB"}))
	if p != -1 || l != -1 {
		t.Fatalf("environment overridden: GOGC %d, limit %d", p, l)
	}
}

func TestParseMemLimit(t *testing.T) {
	for in, want := range map[string]int64{"1GiB": 1 << 30, "300MiB": 300 << 20, "4096": 4096, "12B": 12, "2KiB": 2048, "1TiB": 1 << 40} {
		if n, ok := parseMemLimit(in); !ok || n != want {
			t.Errorf("parseMemLimit(%q) = %d, %v; want %d", in, n, ok, want)
		}
	}
	for _, in := range []string{"", "off", "1GB", "-1", "1.5GiB", "9999999999TiB", "MiB"} {
		if n, ok := parseMemLimit(in); ok {
			t.Errorf("parseMemLimit(%q) = %d, accepted", in, n)
		}
	}
}

// TestCacheBudgetUnderGOMEMLIMIT: with GOMEMLIMIT set and no
// cache.max_bytes, the budget leaves the headroom under that limit; an
// explicit cache.max_bytes still wins.
func TestCacheBudgetUnderGOMEMLIMIT(t *testing.T) {
	def := manager.DefaultCacheMaxBytes()
	for limit, want := range map[string]int64{"300MiB": min(def, 204<<20), "64MiB": min(def, 16<<20), "off": def, "100TiB": def} {
		c, err := LoadConfig(nil, env(map[string]string{"GOMEMLIMIT": limit}))
		if err != nil {
			t.Fatal(err)
		}
		if c.Cache.MaxBytes != want {
			t.Errorf("GOMEMLIMIT=%s: cache.max_bytes = %d, want %d", limit, c.Cache.MaxBytes, want)
		}
	}
	c, err := LoadConfig([]string{"--cache-max-bytes", "536870912"}, env(map[string]string{"GOMEMLIMIT": "300MiB"}))
	if err != nil || c.Cache.MaxBytes != 512<<20 {
		t.Fatalf("explicit budget under GOMEMLIMIT: %d, %v", c.Cache.MaxBytes, err)
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
