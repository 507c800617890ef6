package migrations

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoad(t *testing.T) {
	fsys := fstest.MapFS{
		"migrations/0002_b.sql": {Data: []byte("B")},
		"migrations/0001_a.sql": {Data: []byte("A")},
	}
	ms, err := Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0] != (Migration{1, "0001_a.sql", "A"}) || ms[1] != (Migration{2, "0002_b.sql", "B"}) {
		t.Fatalf("Load = %+v", ms)
	}
	for name, files := range map[string][]string{
		"gap":     {"0001_a.sql", "0003_c.sql"},
		"repeat":  {"0001_a.sql", "0001_b.sql"},
		"no num":  {"init.sql"},
		"zero":    {"0000_a.sql"},
		"no name": {"0001.sql"},
	} {
		fsys := fstest.MapFS{}
		for _, f := range files {
			fsys["migrations/"+f] = &fstest.MapFile{Data: []byte("x")}
		}
		if _, err := Load(fsys); err == nil || !strings.HasPrefix(err.Error(), "migration ") {
			t.Errorf("%s: Load = %v, want an error naming the file", name, err)
		}
	}
}
