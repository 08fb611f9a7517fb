package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// berthPath is a link named berth to this test binary, made by TestMain.
var berthPath string

// TestMain lets the test binary be berth: started through berthBinary's link
// it runs main instead of the tests. Tests that need a real berth process
// (signals, a second process holding a lock) get one without a go build.
func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == "berth" {
		main()
	}
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "find the test binary:", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "berth-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	berthPath = filepath.Join(dir, "berth")
	if err := os.Symlink(self, berthPath); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// berthBinary returns the path of an executable that is berth, built from
// this package's code (it is the test binary itself).
func berthBinary(t testing.TB) string {
	t.Helper()
	if berthPath == "" {
		t.Fatal("berthBinary needs TestMain")
	}
	return berthPath
}

func TestBerthBinaryIsBerth(t *testing.T) {
	out, err := exec.Command(berthBinary(t), "version").CombinedOutput()
	if err != nil || string(out) != "berth "+version+"\n" {
		t.Fatalf("berth version: %q, %v", out, err)
	}
}
