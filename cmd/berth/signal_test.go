package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestSecondSignalExitsAtOnce(t *testing.T) {
	var stderr bytes.Buffer
	a := NewApp(strings.NewReader(""), &bytes.Buffer{}, &stderr)
	sigs := make(chan os.Signal)
	cancelled := make(chan struct{})
	exited := make(chan int, 1)
	go a.onSignals(sigs, func() { close(cancelled) }, func(code int) { exited <- code })

	sigs <- os.Interrupt
	<-cancelled
	if !strings.Contains(stderr.String(), "swap completes or rolls back") || !strings.Contains(stderr.String(), "Ctrl-C again") {
		t.Errorf("first signal says %q", stderr.String())
	}
	select {
	case code := <-exited:
		t.Fatalf("exited with %d after one signal", code)
	default:
	}

	sigs <- os.Interrupt
	if code := <-exited; code != exitInterrupted {
		t.Errorf("second signal: exit %d, want %d", code, exitInterrupted)
	}
	for _, want := range []string{"exiting at once", "NAME.berth-old", "lock", "next berth deploy"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("second signal does not say %q: %q", want, stderr.String())
		}
	}
}

func TestSignalsClosedWithoutSignal(t *testing.T) {
	a := NewApp(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	sigs := make(chan os.Signal)
	close(sigs)
	a.onSignals(sigs, func() { t.Error("cancelled without a signal") }, func(int) { t.Error("exited without a signal") })
}
