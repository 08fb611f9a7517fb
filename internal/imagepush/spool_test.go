package imagepush

import (
	"bytes"
	"context"
	"os"
	"sync"
	"testing"
)

// TestSpoolSharesOneRead: three hosts pushed the same image through one spool
// share one docker save; the one whose load fails halfway holds up no other,
// and the others receive exactly what a push of their own would send.
func TestSpoolSharesOneRead(t *testing.T) {
	img := localImage(t, 2<<20)
	alone := &captureConn{}
	if _, err := Push(context.Background(), alone, img, Options{}); err != nil {
		t.Fatal(err)
	}
	spool, err := NewSpool()
	if err != nil {
		t.Fatal(err)
	}
	defer spool.Close()
	conns := []*captureConn{{}, {failHalf: true}, {}}
	errs := make([]error, len(conns))
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = Push(context.Background(), c, img, Options{Spool: spool})
		}()
	}
	wg.Wait()
	for i, c := range conns {
		if c.failHalf {
			if _, ok := errs[i].(*LoadError); !ok {
				t.Errorf("host %d: err %v, want its LoadError", i, errs[i])
			}
			continue
		}
		if errs[i] != nil || !bytes.Equal(c.got.Bytes(), alone.got.Bytes()) {
			t.Errorf("host %d: err %v, %d bytes; want the %d bytes of a push of its own", i, errs[i], c.got.Len(), alone.got.Len())
		}
	}
	if files, _ := os.ReadDir(spool.dir); len(files) != 1 || len(spool.saves) != 1 {
		t.Errorf("%d spool files, %d docker saves; want one of each", len(files), len(spool.saves))
	}
	spool.Close()
	if _, err := os.Stat(spool.dir); !os.IsNotExist(err) {
		t.Errorf("spool directory left behind: %v", err)
	}
}
