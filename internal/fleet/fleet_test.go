package fleet

import (
	"context"
	"errors"
	"fmt"
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

func TestRunBoundsParallelism(t *testing.T) {
	var running, peak atomic.Int32
	hosts := make([]string, 20)
	for i := range hosts {
		hosts[i] = fmt.Sprint(i)
	}
	_, err := Run(context.Background(), hosts, func(s string) string { return s }, Options{Parallel: 3},
		func(ctx context.Context, h string) (struct{}, error) {
			n := running.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(5 * time.Millisecond) // long enough for an unbounded run to overlap
			running.Add(-1)
			return struct{}{}, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if peak.Load() > 3 {
		t.Fatalf("peak concurrency %d > 3", peak.Load())
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
