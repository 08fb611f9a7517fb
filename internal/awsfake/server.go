// Package awsfake serves the EC2 Query and Route 53 REST XML wire formats from
// an httptest server, so tests reach it through the real aws-sdk-go-v2 clients
// configured by endpoint variables, exactly as a user points berth at an emulator.
package awsfake

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Server is a fake EC2 + Route 53 endpoint. All methods are safe for concurrent use.
type Server struct {
	// URL is the endpoint to give the SDK (AWS_ENDPOINT_URL).
	URL string

	srv *httptest.Server

	mu       sync.Mutex
	throttle int
	onlyKey  string
	counts   map[string]int

	instances []*Instance
	images    []*Image

	zones        []*Zone
	records      map[string][]Record // zone id -> records
	changes      []RecordedChange
	changeStatus map[string]int // change id -> GetChange polls left before INSYNC
	pendingPolls int
	nextID       int
}

// New starts a fake server that is closed when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		counts:       map[string]int{},
		records:      map[string][]Record{},
		changeStatus: map[string]int{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// ThrottleNext makes the next n requests (of any action) fail with the
// service's throttling error: RequestLimitExceeded for EC2, Throttling for Route 53.
func (s *Server) ThrottleNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle = n
}

// Count returns how many requests for action (e.g. "DescribeInstances",
// "ChangeResourceRecordSets") reached the server, throttled ones included.
func (s *Server) Count(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[action]
}

// Counts returns a copy of the per-action request counters.
func (s *Server) Counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.counts))
	for k, v := range s.counts {
		out[k] = v
	}
	return out
}

// ResetCounts zeroes the request counters.
func (s *Server) ResetCounts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts = map[string]int{}
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/2013-04-01/") {
		s.serveRoute53(w, r)
		return
	}
	s.serveEC2(w, r)
}

// begin counts the request and reports whether it must be throttled.
func (s *Server) begin(action string) (throttled bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[action]++
	if s.throttle > 0 {
		s.throttle--
		return true
	}
	return false
}

// AcceptOnlyAccessKey makes the fake reject requests signed with any other
// access key id, as AWS rejects unknown keys.
func (s *Server) AcceptOnlyAccessKey(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onlyKey = id
}

// authorized checks that the request was signed (the SDK found credentials),
// and with the accepted key when one is set. Signatures are not verified.
func (s *Server) authorized(r *http.Request) bool {
	const prefix = "AWS4-HMAC-SHA256 Credential="
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, prefix) {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.onlyKey == "" || strings.HasPrefix(auth, prefix+s.onlyKey+"/")
}

func (s *Server) newID(prefix string) string {
	s.nextID++
	return fmt.Sprintf("%s%013d", prefix, s.nextID)
}

func writeXML(w http.ResponseWriter, status int, v any) {
	body, err := xml.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(body)
}
