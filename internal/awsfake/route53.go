package awsfake

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

const route53NS = "https://route53.amazonaws.com/doc/2013-04-01/"

// Zone is a Route 53 hosted zone.
type Zone struct {
	ID      string // bare id such as Z0001; assigned when empty
	Name    string // normalised to lower case with a trailing dot
	Private bool
}

// Record is a resource record set. Names are normalised to lower case with a
// trailing dot; "*" is stored as is and sent as \052, as Route 53 does.
type Record struct {
	Name          string
	Type          string
	TTL           int64
	Values        []string
	SetIdentifier string
	AliasDNSName  string // non-empty makes this an alias record
	AliasZoneID   string
}

// RecordedChange is one change of a ChangeResourceRecordSets batch the fake accepted.
type RecordedChange struct {
	ZoneID string
	Action string // CREATE, UPSERT or DELETE
	Record Record
}

// AddZone registers a hosted zone and returns its bare id.
func (s *Server) AddZone(z Zone) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if z.ID == "" {
		z.ID = s.newID("Z")
	}
	z.Name = fqdn(z.Name)
	s.zones = append(s.zones, &z)
	return z.ID
}

// AddRecord puts a record set into a zone, replacing one of the same name and type.
func (s *Server) AddRecord(zoneID string, r Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r.Name = fqdn(r.Name)
	s.upsert(zoneID, r)
}

// Records returns the record sets of a zone in Route 53 order.
func (s *Server) Records(zoneID string) []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Record(nil), s.records[zoneID]...)
}

// Changes returns every change accepted so far, in order.
func (s *Server) Changes() []RecordedChange {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]RecordedChange(nil), s.changes...)
}

// SetPendingPolls makes GetChange answer PENDING n times for each new change
// before it answers INSYNC.
func (s *Server) SetPendingPolls(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pendingPolls = n
}

func fqdn(name string) string {
	name = strings.ToLower(strings.ReplaceAll(name, `\052`, "*"))
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	return name
}

// sortKey orders names the way Route 53 lists them: by reversed labels.
func sortKey(name string) string {
	labels := strings.Split(strings.TrimSuffix(name, "."), ".")
	for i, j := 0, len(labels)-1; i < j; i, j = i+1, j-1 {
		labels[i], labels[j] = labels[j], labels[i]
	}
	return strings.Join(labels, ".")
}

func (s *Server) upsert(zoneID string, r Record) {
	recs := s.records[zoneID]
	for i := range recs {
		if recs[i].Name == r.Name && recs[i].Type == r.Type && recs[i].SetIdentifier == r.SetIdentifier {
			recs[i] = r
			return
		}
	}
	recs = append(recs, r)
	sort.SliceStable(recs, func(i, j int) bool {
		ki, kj := sortKey(recs[i].Name), sortKey(recs[j].Name)
		if ki != kj {
			return ki < kj
		}
		return recs[i].Type < recs[j].Type
	})
	s.records[zoneID] = recs
}

func (s *Server) serveRoute53(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, "/2013-04-01/")
	var action, id string
	switch {
	case p == "hostedzonesbyname" && r.Method == http.MethodGet:
		action = "ListHostedZonesByName"
	case strings.HasPrefix(p, "hostedzone/") && strings.HasSuffix(p, "/rrset") && r.Method == http.MethodGet:
		action, id = "ListResourceRecordSets", strings.TrimSuffix(strings.TrimPrefix(p, "hostedzone/"), "/rrset")
	case strings.HasPrefix(p, "hostedzone/") && strings.HasSuffix(p, "/rrset") && r.Method == http.MethodPost:
		action, id = "ChangeResourceRecordSets", strings.TrimSuffix(strings.TrimPrefix(p, "hostedzone/"), "/rrset")
	case strings.HasPrefix(p, "change/") && r.Method == http.MethodGet:
		action, id = "GetChange", strings.TrimPrefix(p, "change/")
	default:
		r53Error(w, http.StatusNotFound, "UnknownOperationException", fmt.Sprintf("%s %s is not implemented by the fake", r.Method, r.URL.Path))
		return
	}
	if s.begin(action) {
		r53Error(w, http.StatusBadRequest, "Throttling", "Rate exceeded")
		return
	}
	if !s.authorized(r) {
		r53Error(w, http.StatusForbidden, "InvalidClientTokenId", "The security token included in the request is invalid.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch action {
	case "ListHostedZonesByName":
		s.listHostedZonesByName(w, r)
	case "ListResourceRecordSets":
		s.listResourceRecordSets(w, r, id)
	case "ChangeResourceRecordSets":
		s.changeResourceRecordSets(w, r, id)
	case "GetChange":
		s.getChange(w, id)
	}
}

func (s *Server) zone(id string) *Zone {
	for _, z := range s.zones {
		if z.ID == id {
			return z
		}
	}
	return nil
}

// listHostedZonesByName is a cursor into the zones sorted by name, then id:
// it returns the zones from dnsname onward, which need not include dnsname.
func (s *Server) listHostedZonesByName(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	maxItems, ok := parseMaxItems(w, q.Get("maxitems"), 100)
	if !ok {
		return
	}
	zones := append([]*Zone(nil), s.zones...)
	sort.SliceStable(zones, func(i, j int) bool {
		ki, kj := sortKey(zones[i].Name), sortKey(zones[j].Name)
		if ki != kj {
			return ki < kj
		}
		return zones[i].ID < zones[j].ID
	})
	start := 0
	if name := q.Get("dnsname"); name != "" {
		key, zid := sortKey(fqdn(name)), q.Get("hostedzoneid")
		for start < len(zones) && (sortKey(zones[start].Name) < key ||
			(sortKey(zones[start].Name) == key && zid != "" && zones[start].ID < zid)) {
			start++
		}
	}
	end := min(start+maxItems, len(zones))
	resp := listHostedZonesByNameResponse{DNSName: q.Get("dnsname"), MaxItems: maxItems}
	for _, z := range zones[start:end] {
		resp.Zones = append(resp.Zones, hostedZoneXML{
			ID: "/hostedzone/" + z.ID, Name: z.Name, CallerReference: "ref-" + z.ID,
			Config: zoneConfigXML{PrivateZone: z.Private}, Count: len(s.records[z.ID]),
		})
	}
	if end < len(zones) {
		resp.IsTruncated = true
		resp.NextDNSName = zones[end].Name
		resp.NextHostedZoneID = zones[end].ID
	}
	writeXML(w, http.StatusOK, resp)
}

func (s *Server) listResourceRecordSets(w http.ResponseWriter, r *http.Request, zoneID string) {
	if s.zone(zoneID) == nil {
		r53Error(w, http.StatusNotFound, "NoSuchHostedZone", "No hosted zone found with ID: "+zoneID)
		return
	}
	q := r.URL.Query()
	maxItems, ok := parseMaxItems(w, q.Get("maxitems"), 300)
	if !ok {
		return
	}
	name, typ := q.Get("name"), q.Get("type")
	if typ != "" && name == "" {
		r53Error(w, http.StatusBadRequest, "InvalidInput", "The input is not valid: type requires name")
		return
	}
	recs := s.records[zoneID]
	start := 0
	if name != "" {
		key := sortKey(fqdn(name))
		for start < len(recs) {
			k := sortKey(recs[start].Name)
			if k > key || (k == key && recs[start].Type >= typ) {
				break
			}
			start++
		}
	}
	end := min(start+maxItems, len(recs))
	resp := listResourceRecordSetsResponse{MaxItems: maxItems}
	for _, rec := range recs[start:end] {
		resp.Records = append(resp.Records, toRecordXML(rec))
	}
	if end < len(recs) {
		resp.IsTruncated = true
		resp.NextRecordName = wireName(recs[end].Name)
		resp.NextRecordType = recs[end].Type
	}
	writeXML(w, http.StatusOK, resp)
}

func (s *Server) changeResourceRecordSets(w http.ResponseWriter, r *http.Request, zoneID string) {
	z := s.zone(zoneID)
	if z == nil {
		r53Error(w, http.StatusNotFound, "NoSuchHostedZone", "No hosted zone found with ID: "+zoneID)
		return
	}
	var req changeRequestXML
	if err := xml.NewDecoder(r.Body).Decode(&req); err != nil {
		r53Error(w, http.StatusBadRequest, "MalformedXML", err.Error())
		return
	}
	if len(req.Changes) == 0 {
		r53Error(w, http.StatusBadRequest, "InvalidChangeBatch", "the change batch has no changes")
		return
	}
	// Validate the whole batch first: Route 53 applies a batch all or nothing.
	var batch []RecordedChange
	for _, c := range req.Changes {
		rec := fromRecordXML(c.Record)
		if rec.Name != z.Name && !strings.HasSuffix(rec.Name, "."+z.Name) {
			r53Error(w, http.StatusBadRequest, "InvalidChangeBatch", fmt.Sprintf("RRSet with DNS name %s is not permitted in zone %s", rec.Name, z.Name))
			return
		}
		existing := s.find(zoneID, rec.Name, rec.Type, rec.SetIdentifier)
		switch c.Action {
		case "CREATE":
			if existing != nil {
				r53Error(w, http.StatusBadRequest, "InvalidChangeBatch", fmt.Sprintf("Tried to create resource record set [name='%s', type='%s'] but it already exists", rec.Name, rec.Type))
				return
			}
		case "DELETE":
			if existing == nil || existing.TTL != rec.TTL || strings.Join(existing.Values, ",") != strings.Join(rec.Values, ",") {
				r53Error(w, http.StatusBadRequest, "InvalidChangeBatch", fmt.Sprintf("Tried to delete resource record set [name='%s', type='%s'] but it was not found or values did not match", rec.Name, rec.Type))
				return
			}
		case "UPSERT":
		default:
			r53Error(w, http.StatusBadRequest, "InvalidInput", "unknown action "+c.Action)
			return
		}
		if c.Action != "DELETE" && rec.Type != "CNAME" && s.find(zoneID, rec.Name, "CNAME", "") != nil {
			r53Error(w, http.StatusBadRequest, "InvalidChangeBatch", fmt.Sprintf("RRSet of type %s with DNS name %s is not permitted because a conflicting RRSet of type CNAME with the same DNS name already exists", rec.Type, rec.Name))
			return
		}
		batch = append(batch, RecordedChange{ZoneID: zoneID, Action: c.Action, Record: rec})
	}
	for _, c := range batch {
		if c.Action == "DELETE" {
			s.remove(zoneID, c.Record)
		} else {
			s.upsert(zoneID, c.Record)
		}
	}
	s.changes = append(s.changes, batch...)
	id := s.newID("C")
	s.changeStatus[id] = s.pendingPolls
	writeXML(w, http.StatusOK, changeResponseXML{
		XMLName: xml.Name{Space: route53NS, Local: "ChangeResourceRecordSetsResponse"},
		Info:    changeInfoXML{ID: "/change/" + id, Status: "PENDING", SubmittedAt: now(), Comment: req.Comment},
	})
}

func (s *Server) getChange(w http.ResponseWriter, id string) {
	left, ok := s.changeStatus[id]
	if !ok {
		r53Error(w, http.StatusNotFound, "NoSuchChange", "A change with the specified change ID does not exist: "+id)
		return
	}
	status := "INSYNC"
	if left > 0 {
		status = "PENDING"
		s.changeStatus[id] = left - 1
	}
	writeXML(w, http.StatusOK, changeResponseXML{
		XMLName: xml.Name{Space: route53NS, Local: "GetChangeResponse"},
		Info:    changeInfoXML{ID: "/change/" + id, Status: status, SubmittedAt: now()},
	})
}

func (s *Server) find(zoneID, name, typ, setID string) *Record {
	for i, rec := range s.records[zoneID] {
		if rec.Name == name && rec.Type == typ && rec.SetIdentifier == setID {
			return &s.records[zoneID][i]
		}
	}
	return nil
}

func (s *Server) remove(zoneID string, r Record) {
	recs := s.records[zoneID]
	for i, rec := range recs {
		if rec.Name == r.Name && rec.Type == r.Type && rec.SetIdentifier == r.SetIdentifier {
			s.records[zoneID] = append(recs[:i:i], recs[i+1:]...)
			return
		}
	}
}

func parseMaxItems(w http.ResponseWriter, v string, def int) (int, bool) {
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		r53Error(w, http.StatusBadRequest, "InvalidInput", "maxitems must be a positive integer")
		return 0, false
	}
	return n, true
}

func now() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000Z") }

// wireName escapes * the way Route 53 returns it.
func wireName(name string) string { return strings.ReplaceAll(name, "*", `\052`) }

func toRecordXML(r Record) recordXML {
	x := recordXML{Name: wireName(r.Name), Type: r.Type, SetIdentifier: r.SetIdentifier}
	if r.AliasDNSName != "" {
		x.Alias = &aliasXML{HostedZoneID: r.AliasZoneID, DNSName: r.AliasDNSName}
		return x
	}
	ttl := r.TTL
	x.TTL = &ttl
	for _, v := range r.Values {
		x.Values = append(x.Values, rrXML{Value: v})
	}
	return x
}

func fromRecordXML(x recordXML) Record {
	r := Record{Name: fqdn(x.Name), Type: x.Type, SetIdentifier: x.SetIdentifier}
	for _, v := range x.Values {
		r.Values = append(r.Values, v.Value)
	}
	if x.TTL != nil {
		r.TTL = *x.TTL
	}
	if x.Alias != nil {
		r.AliasDNSName, r.AliasZoneID = x.Alias.DNSName, x.Alias.HostedZoneID
	}
	return r
}

type listHostedZonesByNameResponse struct {
	XMLName          struct{}        `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ListHostedZonesByNameResponse"`
	Zones            []hostedZoneXML `xml:"HostedZones>HostedZone"`
	DNSName          string          `xml:"DNSName,omitempty"`
	IsTruncated      bool            `xml:"IsTruncated"`
	NextDNSName      string          `xml:"NextDNSName,omitempty"`
	NextHostedZoneID string          `xml:"NextHostedZoneId,omitempty"`
	MaxItems         int             `xml:"MaxItems"`
}

type hostedZoneXML struct {
	ID              string        `xml:"Id"`
	Name            string        `xml:"Name"`
	CallerReference string        `xml:"CallerReference"`
	Config          zoneConfigXML `xml:"Config"`
	Count           int           `xml:"ResourceRecordSetCount"`
}

type zoneConfigXML struct {
	PrivateZone bool `xml:"PrivateZone"`
}

type listResourceRecordSetsResponse struct {
	XMLName        struct{}    `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ListResourceRecordSetsResponse"`
	Records        []recordXML `xml:"ResourceRecordSets>ResourceRecordSet"`
	IsTruncated    bool        `xml:"IsTruncated"`
	NextRecordName string      `xml:"NextRecordName,omitempty"`
	NextRecordType string      `xml:"NextRecordType,omitempty"`
	MaxItems       int         `xml:"MaxItems"`
}

type recordXML struct {
	Name          string    `xml:"Name"`
	Type          string    `xml:"Type"`
	SetIdentifier string    `xml:"SetIdentifier,omitempty"`
	TTL           *int64    `xml:"TTL,omitempty"`
	Values        []rrXML   `xml:"ResourceRecords>ResourceRecord"`
	Alias         *aliasXML `xml:"AliasTarget,omitempty"`
}

// rrXML is its own element: a path tag on a []string would put every
// Value into a single ResourceRecord.
type rrXML struct {
	Value string `xml:"Value"`
}

type aliasXML struct {
	HostedZoneID         string `xml:"HostedZoneId"`
	DNSName              string `xml:"DNSName"`
	EvaluateTargetHealth bool   `xml:"EvaluateTargetHealth"`
}

type changeRequestXML struct {
	Comment string `xml:"ChangeBatch>Comment"`
	Changes []struct {
		Action string    `xml:"Action"`
		Record recordXML `xml:"ResourceRecordSet"`
	} `xml:"ChangeBatch>Changes>Change"`
}

type changeResponseXML struct {
	XMLName xml.Name
	Info    changeInfoXML `xml:"ChangeInfo"`
}

type changeInfoXML struct {
	ID          string `xml:"Id"`
	Status      string `xml:"Status"`
	SubmittedAt string `xml:"SubmittedAt"`
	Comment     string `xml:"Comment,omitempty"`
}

type r53ErrorResponse struct {
	XMLName   struct{}   `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ErrorResponse"`
	Error     r53ErrItem `xml:"Error"`
	RequestID string     `xml:"RequestId"`
}

type r53ErrItem struct {
	Type    string `xml:"Type"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

func r53Error(w http.ResponseWriter, status int, code, msg string) {
	writeXML(w, status, r53ErrorResponse{Error: r53ErrItem{Type: "Sender", Code: code, Message: msg}, RequestID: "req-err"})
}
