package fleet

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestBatchSize(t *testing.T) {
	tests := []struct {
		batch   string
		n, want int
		wantErr bool
	}{
		{"", 5, 5, false},
		{"2", 5, 2, false},
		{"50%", 5, 2, false},
		{"10%", 5, 1, false},
		{"100%", 5, 5, false},
		{"0", 5, 0, true},
		{"x", 5, 0, true},
		{"101%", 5, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.batch, func(t *testing.T) {
			got, err := BatchSize(tt.batch, tt.n)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("BatchSize(%q,%d) = %d, %v; want %d, err %v", tt.batch, tt.n, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestRunStopsAfterFailedWave(t *testing.T) {
	hosts := []string{"a", "b", "c", "d", "e", "f"}
	var calls atomic.Int32
	res, err := Run(context.Background(), hosts, func(s string) string { return s }, Options{Batch: "2"},
		func(ctx context.Context, h string) (int, error) {
			calls.Add(1)
			if h == "c" {
				return 0, errors.New("boom")
			}
			return 1, nil
		})
	if err == nil {
		t.Fatal("want an error")
	}
	if calls.Load() != 4 {
		t.Fatalf("ran %d hosts, want 4 (waves ab, cd; stop before ef)", calls.Load())
	}
	for i, r := range res {
		wantSkipped := i >= 4
		if r.Skipped != wantSkipped {
			t.Errorf("%s skipped=%v want %v", r.Host, r.Skipped, wantSkipped)
		}
	}
	var he *HostError
	if !errors.As(err, &he) || he.Host != "c" {
		t.Fatalf("error %v does not name host c", err)
	}
}

// TestRunBoundsParallelism checks both bounds: no more than Parallel hosts at
// once, and Parallel at once indeed. Hosts pass a barrier in groups of
// Parallel, so a serial Run never fills a group and fails at the deadline
// instead of passing; the barrier also holds hosts inside fn, so a Run without
// a bound piles them up past Parallel.
func TestRunBoundsParallelism(t *testing.T) {
	const parallel = 3
	var running, peak atomic.Int32
	var mu sync.Mutex
	arrived, gate := 0, make(chan struct{})
	stalled := make(chan struct{})
	var stallOnce sync.Once
	hosts := make([]string, 7*parallel)
	for i := range hosts {
		hosts[i] = fmt.Sprint(i)
	}
	_, err := Run(context.Background(), hosts, func(s string) string { return s }, Options{Parallel: parallel},
		func(ctx context.Context, h string) (struct{}, error) {
			defer running.Add(-1)
			n := running.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			mu.Lock()
			arrived++
			g := gate
			if arrived%parallel == 0 {
				close(gate)
				gate = make(chan struct{})
			}
			mu.Unlock()
			select {
			case <-g:
				return struct{}{}, nil
			case <-stalled:
			case <-time.After(10 * time.Second): // a deadline for failing, not a measure of success
				stallOnce.Do(func() { close(stalled) })
			}
			return struct{}{}, fmt.Errorf("host %s waited for %d hosts to run at once; at most %d did", h, parallel, peak.Load())
		})
	if err != nil {
		t.Fatal(err)
	}
	if peak.Load() != parallel {
		t.Fatalf("peak concurrency %d, want %d", peak.Load(), parallel)
	}
}

func TestRunToleratesFailuresWithinBudget(t *testing.T) {
	hosts := []string{"a", "b", "c", "d"}
	res, err := Run(context.Background(), hosts, func(s string) string { return s }, Options{Batch: "1", MaxFailures: 1},
		func(ctx context.Context, h string) (int, error) {
			if h == "a" {
				return 0, errors.New("down")
			}
			return 1, nil
		})
	if err == nil {
		t.Fatal("want the failure reported")
	}
	for _, r := range res {
		if r.Skipped {
			t.Fatalf("%s skipped although within budget", r.Host)
		}
	}
}
