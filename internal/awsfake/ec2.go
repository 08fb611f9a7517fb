package awsfake

import (
	"fmt"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Instance is an EC2 instance as the fake reports it.
type Instance struct {
	ID        string // assigned when empty
	State     string // running (default), pending, stopped, ...
	PublicIP  string
	PrivateIP string
	ImageID   string // the AMI it was launched from (see AddImage)
	Tags      map[string]string
	// PendingFor turns a pending instance into a running one after this many
	// DescribeInstances requests have seen it.
	PendingFor int
}

func stateCode(state string) int {
	switch state {
	case "running":
		return 16
	case "shutting-down":
		return 32
	case "terminated":
		return 48
	case "stopping":
		return 64
	case "stopped":
		return 80
	}
	return 0 // pending
}

// AddInstance registers an instance and returns its id.
func (s *Server) AddInstance(in Instance) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if in.ID == "" {
		in.ID = s.newID("i-")
	}
	if in.State == "" {
		in.State = "running"
	}
	tags := make(map[string]string, len(in.Tags))
	for k, v := range in.Tags {
		tags[k] = v
	}
	in.Tags = tags
	s.instances = append(s.instances, &in)
	return in.ID
}

// SetInstanceState changes an instance's state, e.g. to simulate a stop.
func (s *Server) SetInstanceState(id, state string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, in := range s.instances {
		if in.ID == id {
			in.State = state
		}
	}
}

type ec2Filter struct {
	name   string
	values []string
}

func (s *Server) serveEC2(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		ec2Error(w, http.StatusBadRequest, "MalformedQueryString", err.Error())
		return
	}
	action := r.PostForm.Get("Action")
	if action == "" {
		action = r.Form.Get("Action")
	}
	if s.begin(action) {
		ec2Error(w, http.StatusServiceUnavailable, "RequestLimitExceeded", "Request limit exceeded.")
		return
	}
	if !s.authorized(r) {
		ec2Error(w, http.StatusUnauthorized, "AuthFailure", "AWS was not able to validate the provided access credentials")
		return
	}
	switch action {
	case "DescribeInstances":
		s.describeInstances(w, r)
	case "DescribeImages":
		s.describeImages(w, r)
	default:
		ec2Error(w, http.StatusBadRequest, "InvalidAction", fmt.Sprintf("The action %s is not valid for this web service.", action))
	}
}

func (s *Server) describeInstances(w http.ResponseWriter, r *http.Request) {
	form := r.PostForm
	ids := indexed(form, "InstanceId.%d")
	var filters []ec2Filter
	for i := 1; form.Has(fmt.Sprintf("Filter.%d.Name", i)); i++ {
		f := ec2Filter{name: form.Get(fmt.Sprintf("Filter.%d.Name", i)), values: indexed(form, fmt.Sprintf("Filter.%d.Value.%%d", i))}
		if !validFilter(f.name) {
			ec2Error(w, http.StatusBadRequest, "InvalidParameterValue", fmt.Sprintf("The filter '%s' is invalid", f.name))
			return
		}
		filters = append(filters, f)
	}
	maxResults := 0
	if v := form.Get("MaxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 5 || n > 1000 {
			ec2Error(w, http.StatusBadRequest, "InvalidParameterValue", fmt.Sprintf("Value ( %s ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.", v))
			return
		}
		if len(ids) > 0 {
			ec2Error(w, http.StatusBadRequest, "InvalidParameterCombination", "The parameter instancesSet cannot be used with the parameter maxResults")
			return
		}
		maxResults = n
	}
	start := 0
	if tok := form.Get("NextToken"); tok != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(tok, "tok-"))
		if err != nil || n < 0 {
			ec2Error(w, http.StatusBadRequest, "InvalidParameterValue", "The token is invalid")
			return
		}
		start = n
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if s.instance(id) == nil {
			ec2Error(w, http.StatusBadRequest, "InvalidInstanceID.NotFound", fmt.Sprintf("The instance ID '%s' does not exist", id))
			return
		}
	}
	var matched []*Instance
	for _, in := range s.instances {
		if (len(ids) == 0 || contains(ids, in.ID)) && matchAll(in, filters) {
			matched = append(matched, in)
		}
	}
	// Every page request counts as one look at each instance on it, so a
	// pending instance advances towards running the way a real boot would.
	end := len(matched)
	if maxResults > 0 && start+maxResults < end {
		end = start + maxResults
	}
	if start > len(matched) {
		start = len(matched)
	}
	resp := describeInstancesResponse{RequestID: "req-" + strconv.Itoa(s.nextID)}
	for _, in := range matched[start:end] {
		resp.Reservations = append(resp.Reservations, reservationXML{
			ReservationID: "r-" + strings.TrimPrefix(in.ID, "i-"),
			OwnerID:       "123456789012",
			Instances:     []instanceXML{toInstanceXML(in)},
		})
	}
	for _, in := range matched[start:end] {
		if in.State == "pending" && in.PendingFor > 0 {
			in.PendingFor--
			if in.PendingFor == 0 {
				in.State = "running"
			}
		}
	}
	if end < len(matched) {
		resp.NextToken = "tok-" + strconv.Itoa(end)
	}
	writeXML(w, http.StatusOK, resp)
}

func (s *Server) instance(id string) *Instance {
	for _, in := range s.instances {
		if in.ID == id {
			return in
		}
	}
	return nil
}

func validFilter(name string) bool {
	switch name {
	case "tag-key", "instance-state-name", "instance-id":
		return true
	}
	return strings.HasPrefix(name, "tag:") && len(name) > len("tag:")
}

// matchAll ANDs the filters; the values of one filter are ORed, with the
// * and ? wildcards EC2 accepts.
func matchAll(in *Instance, filters []ec2Filter) bool {
	for _, f := range filters {
		var candidates []string
		switch {
		case f.name == "instance-state-name":
			candidates = []string{in.State}
		case f.name == "instance-id":
			candidates = []string{in.ID}
		case f.name == "tag-key":
			for k := range in.Tags {
				candidates = append(candidates, k)
			}
		default:
			v, ok := in.Tags[strings.TrimPrefix(f.name, "tag:")]
			if !ok {
				return false
			}
			candidates = []string{v}
		}
		if !anyMatch(f.values, candidates) {
			return false
		}
	}
	return true
}

func anyMatch(patterns, candidates []string) bool {
	for _, p := range patterns {
		for _, c := range candidates {
			if ok, err := path.Match(p, c); err == nil && ok {
				return true
			}
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// indexed reads the values of a flattened query list, e.g. InstanceId.1, InstanceId.2.
func indexed(form map[string][]string, format string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := form[fmt.Sprintf(format, i)]
		if !ok || len(v) == 0 {
			return out
		}
		out = append(out, v[0])
	}
}

func toInstanceXML(in *Instance) instanceXML {
	x := instanceXML{
		InstanceID:       in.ID,
		State:            instanceStateXML{Code: stateCode(in.State), Name: in.State},
		ImageID:          in.ImageID,
		PrivateIPAddress: in.PrivateIP,
		IPAddress:        in.PublicIP,
	}
	keys := make([]string, 0, len(in.Tags))
	for k := range in.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		x.Tags = append(x.Tags, tagXML{Key: k, Value: in.Tags[k]})
	}
	return x
}

type describeInstancesResponse struct {
	XMLName      struct{}         `xml:"http://ec2.amazonaws.com/doc/2016-11-15/ DescribeInstancesResponse"`
	RequestID    string           `xml:"requestId"`
	Reservations []reservationXML `xml:"reservationSet>item"`
	NextToken    string           `xml:"nextToken,omitempty"`
}

type reservationXML struct {
	ReservationID string        `xml:"reservationId"`
	OwnerID       string        `xml:"ownerId"`
	Instances     []instanceXML `xml:"instancesSet>item"`
}

type instanceXML struct {
	InstanceID       string           `xml:"instanceId"`
	ImageID          string           `xml:"imageId,omitempty"`
	State            instanceStateXML `xml:"instanceState"`
	PrivateIPAddress string           `xml:"privateIpAddress,omitempty"`
	IPAddress        string           `xml:"ipAddress,omitempty"`
	Tags             []tagXML         `xml:"tagSet>item"`
}

type instanceStateXML struct {
	Code int    `xml:"code"`
	Name string `xml:"name"`
}

type tagXML struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

type ec2ErrorResponse struct {
	XMLName   struct{}     `xml:"Response"`
	Errors    []ec2ErrItem `xml:"Errors>Error"`
	RequestID string       `xml:"RequestID"`
}

type ec2ErrItem struct {
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

func ec2Error(w http.ResponseWriter, status int, code, msg string) {
	writeXML(w, status, ec2ErrorResponse{Errors: []ec2ErrItem{{Code: code, Message: msg}}, RequestID: "req-err"})
}
