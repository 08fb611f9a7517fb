package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// built is berth compiled once per test process, for the tests that must run
// it as its own process; TestMain removes it.
var built struct {
	once sync.Once
	dir  string
	err  error
	out  []byte
}

// berthBinary returns the path of a berth built from this package.
func berthBinary(t testing.TB) string {
	t.Helper()
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "berth-test-bin-"); built.err != nil {
			return
		}
		built.out, built.err = exec.Command("go", "build", "-o", filepath.Join(built.dir, "berth"), ".").CombinedOutput()
	})
	if built.err != nil {
		t.Fatalf("build berth: %v\n%s", built.err, built.out)
	}
	return filepath.Join(built.dir, "berth")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}
