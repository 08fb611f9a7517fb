// Package fleet runs one job on many hosts: at most Parallel at once, in
// rolling waves, stopping when more than MaxFailures hosts have failed.
package fleet

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-multierror"
)

// Options bound a rollout.
type Options struct {
	Parallel    int    // hosts at once within a wave; <= 0 means 10
	Batch       string // wave size: "N" hosts or "P%" of them; "" means one wave of all
	MaxFailures int    // failed hosts tolerated before no further wave starts
	OnDone      func() // called as each host finishes, e.g. to count hosts done
}

// Result is one host's outcome. Skipped hosts never started because the
// rollout stopped (failure budget spent, or cancelled).
type Result[R any] struct {
	Host     string
	Value    R
	Err      error
	Duration time.Duration
	Skipped  bool
}

// HostError ties an error to the host it happened on.
type HostError struct {
	Host string
	Err  error
}

func (e *HostError) Error() string {
	if strings.HasPrefix(e.Err.Error(), e.Host+":") {
		return e.Err.Error()
	}
	return e.Host + ": " + e.Err.Error()
}
func (e *HostError) Unwrap() error { return e.Err }

// BatchSize turns a --batch value into a wave size for n hosts.
func BatchSize(batch string, n int) (int, error) {
	if batch == "" {
		return max(n, 1), nil
	}
	if p, ok := strings.CutSuffix(batch, "%"); ok {
		pct, err := strconv.Atoi(p)
		if err != nil || pct <= 0 || pct > 100 {
			return 0, fmt.Errorf("parse batch %q: want N or 1-100%%", batch)
		}
		return max(1, n*pct/100), nil
	}
	size, err := strconv.Atoi(batch)
	if err != nil || size <= 0 {
		return 0, fmt.Errorf("parse batch %q: want N or 1-100%%", batch)
	}
	return size, nil
}

// Run calls fn for every item and returns the results in input order, plus
// the per-host errors aggregated as values (nil when every host succeeded).
func Run[T, R any](ctx context.Context, items []T, name func(T) string, opts Options, fn func(context.Context, T) (R, error)) ([]Result[R], error) {
	size, err := BatchSize(opts.Batch, len(items))
	if err != nil {
		return nil, err
	}
	parallel := opts.Parallel
	if parallel <= 0 {
		parallel = 10
	}
	results := make([]Result[R], len(items))
	for i, it := range items {
		results[i] = Result[R]{Host: name(it), Skipped: true}
	}
	failed := 0
	for start := 0; start < len(items); start += size {
		if failed > opts.MaxFailures || ctx.Err() != nil {
			break
		}
		end := min(start+size, len(items))
		sem := make(chan struct{}, parallel)
		var wg sync.WaitGroup
		for i := start; i < end; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					return
				}
				defer func() { <-sem }()
				began := time.Now()
				v, err := fn(ctx, items[i])
				results[i] = Result[R]{Host: results[i].Host, Value: v, Err: err, Duration: time.Since(began)}
				if opts.OnDone != nil {
					opts.OnDone()
				}
			}(i)
		}
		wg.Wait()
		for i := start; i < end; i++ {
			if results[i].Err != nil {
				failed++
			}
		}
	}
	var errs *multierror.Error
	for _, r := range results {
		if r.Err != nil {
			errs = multierror.Append(errs, &HostError{Host: r.Host, Err: r.Err})
		}
	}
	if errs != nil {
		errs.ErrorFormat = formatErrors
	}
	return results, errs.ErrorOrNil()
}

// formatErrors lists one failed host per line.
func formatErrors(errs []error) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d host(s) failed:", len(errs))
	for _, err := range errs {
		b.WriteString("\n  " + err.Error())
	}
	return b.String()
}
