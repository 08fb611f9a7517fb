package dns

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
)

// Route53API is the part of *route53.Client the provider uses.
type Route53API interface {
	ListHostedZonesByName(context.Context, *route53.ListHostedZonesByNameInput, ...func(*route53.Options)) (*route53.ListHostedZonesByNameOutput, error)
	ListResourceRecordSets(context.Context, *route53.ListResourceRecordSetsInput, ...func(*route53.Options)) (*route53.ListResourceRecordSetsOutput, error)
	ChangeResourceRecordSets(context.Context, *route53.ChangeResourceRecordSetsInput, ...func(*route53.Options)) (*route53.ChangeResourceRecordSetsOutput, error)
	route53.GetChangeAPIClient
}

// Route53Options tune the Route 53 provider.
type Route53Options struct {
	ZoneID       string        // use this hosted zone instead of finding one by name
	Wait         bool          // after a change, wait until Route 53 reports INSYNC
	WaitTimeout  time.Duration // default 5m
	WaitMinDelay time.Duration // first poll delay; default the SDK's 30s
	WaitMaxDelay time.Duration // longest poll delay; default the SDK's 120s
}

// DefaultWaitTimeout bounds the wait for INSYNC; Route 53 usually takes 60–120s.
const DefaultWaitTimeout = 5 * time.Minute

// Route53 is a Provider backed by Amazon Route 53.
type Route53 struct {
	client Route53API
	opts   Route53Options
}

var _ Provider = (*Route53)(nil)

// NewRoute53 returns a Route 53 provider; *route53.Client fits client.
func NewRoute53(client Route53API, opts Route53Options) *Route53 {
	if opts.WaitTimeout <= 0 {
		opts.WaitTimeout = DefaultWaitTimeout
	}
	opts.ZoneID = bareID(opts.ZoneID)
	return &Route53{client: client, opts: opts}
}

// Plan finds the zone, reads the A record at name, and compares it with ips
// and ttl (0 means DefaultTTL).
func (r *Route53) Plan(ctx context.Context, name string, ips []string, ttl int) (*Change, error) {
	fqdn, err := NormalizeName(name)
	if err != nil {
		return nil, err
	}
	after, err := NormalizeIPv4(ips)
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", fqdn, err)
	}
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if ttl < 0 || ttl > 2147483647 {
		return nil, fmt.Errorf("plan %s: ttl %d out of range", fqdn, ttl)
	}
	zoneID := r.opts.ZoneID
	if zoneID == "" {
		if zoneID, err = r.findZone(ctx, fqdn); err != nil {
			return nil, err
		}
	}
	current, err := r.currentA(ctx, zoneID, fqdn)
	if err != nil {
		return nil, err
	}
	c := &Change{Name: fqdn, Type: "A", TTL: ttl, After: after, ZoneID: zoneID, Needed: true}
	if current != nil {
		for _, rr := range current.ResourceRecords {
			c.Before = append(c.Before, aws.ToString(rr.Value))
		}
		c.Before = sortIPs(c.Before)
		c.BeforeTTL = int(aws.ToInt64(current.TTL))
		c.Needed = !slices.Equal(c.Before, c.After) || c.BeforeTTL != c.TTL
	}
	return c, nil
}

// Apply UPSERTs the record, then waits for INSYNC when configured to. A
// change that is not needed sends nothing.
func (r *Route53) Apply(ctx context.Context, c *Change) error {
	if c == nil || !c.Needed {
		return nil
	}
	if c.Type != "A" {
		return fmt.Errorf("apply dns change for %s: record type %q not supported", c.Name, c.Type)
	}
	zoneID := c.ZoneID
	if zoneID == "" {
		zoneID = r.opts.ZoneID
	}
	if zoneID == "" {
		var err error
		if zoneID, err = r.findZone(ctx, c.Name); err != nil {
			return err
		}
	}
	records := make([]types.ResourceRecord, len(c.After))
	for i, ip := range c.After {
		records[i] = types.ResourceRecord{Value: aws.String(ip)}
	}
	out, err := r.client.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(zoneID),
		ChangeBatch: &types.ChangeBatch{
			Comment: aws.String("berth: point " + c.Name + " at the healthy hosts"),
			Changes: []types.Change{{
				Action: types.ChangeActionUpsert,
				ResourceRecordSet: &types.ResourceRecordSet{
					Name:            aws.String(c.Name),
					Type:            types.RRTypeA,
					TTL:             aws.Int64(int64(c.TTL)),
					ResourceRecords: records,
				},
			}},
		},
	})
	if err != nil {
		return fmt.Errorf("change record %s in zone %s: %w", c.Name, zoneID, err)
	}
	if !r.opts.Wait || out.ChangeInfo == nil || out.ChangeInfo.Status == types.ChangeStatusInsync {
		return nil
	}
	return r.wait(ctx, aws.ToString(out.ChangeInfo.Id))
}

func (r *Route53) wait(ctx context.Context, changeID string) error {
	minDelay, maxDelay := r.opts.WaitMinDelay, r.opts.WaitMaxDelay
	// The waiter refuses MinDelay > MaxDelay; a caller who only lowered the
	// maximum means "poll at most this often".
	if maxDelay > 0 && (minDelay <= 0 || minDelay > maxDelay) {
		minDelay = maxDelay
	}
	w := route53.NewResourceRecordSetsChangedWaiter(r.client, func(o *route53.ResourceRecordSetsChangedWaiterOptions) {
		if minDelay > 0 {
			o.MinDelay = minDelay
		}
		if maxDelay > 0 {
			o.MaxDelay = maxDelay
		} else if o.MaxDelay < o.MinDelay {
			o.MaxDelay = o.MinDelay
		}
	})
	// A fresh input: the SDK rewrites the id in the struct it is given.
	if err := w.Wait(ctx, &route53.GetChangeInput{Id: aws.String(changeID)}, r.opts.WaitTimeout); err != nil {
		return fmt.Errorf("wait for change %s to be INSYNC (timeout %v): %w", bareID(changeID), r.opts.WaitTimeout, err)
	}
	return nil
}

// findZone returns the id of the most specific hosted zone containing name.
// ListHostedZonesByName is a cursor into the sorted zone list, not a lookup,
// so each candidate suffix is asked for and matched exactly.
func (r *Route53) findZone(ctx context.Context, name string) (string, error) {
	labels := strings.Split(strings.TrimSuffix(name, "."), ".")
	var tried []string
	for i := range labels {
		candidate := strings.Join(labels[i:], ".") + "."
		if candidate == "*." || strings.HasPrefix(candidate, "*.") {
			continue
		}
		tried = append(tried, candidate)
		id, ok, err := r.zoneNamed(ctx, candidate)
		if err != nil {
			return "", err
		}
		if ok {
			return id, nil
		}
	}
	return "", fmt.Errorf("find hosted zone for %s: no zone named %s (give --zone-id if the zone is in another account or named otherwise)",
		name, strings.Join(tried, ", "))
}

// zoneNamed looks for zones whose name is exactly name, preferring a public
// zone over a private one: the record must resolve from the internet.
func (r *Route53) zoneNamed(ctx context.Context, name string) (string, bool, error) {
	var public, private []string
	in := &route53.ListHostedZonesByNameInput{DNSName: aws.String(name), MaxItems: aws.Int32(10)}
	for {
		out, err := r.client.ListHostedZonesByName(ctx, in)
		if err != nil {
			return "", false, fmt.Errorf("list hosted zones from %s: %w", name, err)
		}
		past := false
		for _, z := range out.HostedZones {
			zn, err := NormalizeName(aws.ToString(z.Name))
			if err != nil || zn != name {
				if err == nil && zn != name {
					past = true // sorted: no later zone can have this name
				}
				continue
			}
			id := bareID(aws.ToString(z.Id))
			if z.Config != nil && z.Config.PrivateZone {
				private = append(private, id)
			} else {
				public = append(public, id)
			}
		}
		if past || !out.IsTruncated || out.NextDNSName == nil {
			break
		}
		in = &route53.ListHostedZonesByNameInput{DNSName: out.NextDNSName, HostedZoneId: out.NextHostedZoneId, MaxItems: aws.Int32(10)}
	}
	switch {
	case len(public) == 1:
		return public[0], true, nil
	case len(public) > 1:
		return "", false, fmt.Errorf("find hosted zone %s: %d public zones share the name (%s): give --zone-id", name, len(public), strings.Join(public, ", "))
	case len(private) == 1:
		return private[0], true, nil
	case len(private) > 1:
		return "", false, fmt.Errorf("find hosted zone %s: %d private zones share the name (%s): give --zone-id", name, len(private), strings.Join(private, ", "))
	}
	return "", false, nil
}

// currentA returns the simple A record at name, nil when there is none, and
// refuses names whose records berth must not overwrite.
func (r *Route53) currentA(ctx context.Context, zoneID, name string) (*types.ResourceRecordSet, error) {
	var found *types.ResourceRecordSet
	in := &route53.ListResourceRecordSetsInput{
		HostedZoneId:    aws.String(zoneID),
		StartRecordName: aws.String(name),
		StartRecordType: types.RRTypeA,
		MaxItems:        aws.Int32(10),
	}
	for {
		out, err := r.client.ListResourceRecordSets(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list records %s in zone %s: %w", name, zoneID, err)
		}
		for i := range out.ResourceRecordSets {
			rs := &out.ResourceRecordSets[i]
			rn, err := NormalizeName(aws.ToString(rs.Name))
			if err != nil || rn != name {
				return found, nil // sorted by name: the records of name are over
			}
			switch {
			case rs.Type == types.RRTypeCname:
				return nil, fmt.Errorf("plan %s: %w: a CNAME record exists at this name in zone %s; refusing to replace it with an A record (delete it first)", name, ErrConflict, zoneID)
			case rs.Type != types.RRTypeA:
				continue
			case rs.AliasTarget != nil:
				return nil, fmt.Errorf("plan %s: %w: the A record in zone %s is an alias to %s; refusing to replace it with plain addresses", name, ErrConflict, zoneID, aws.ToString(rs.AliasTarget.DNSName))
			case rs.SetIdentifier != nil:
				return nil, fmt.Errorf("plan %s: %w: the A record in zone %s uses a routing policy (set %q); refusing to replace it with a simple record", name, ErrConflict, zoneID, aws.ToString(rs.SetIdentifier))
			}
			found = rs
		}
		if !out.IsTruncated || out.NextRecordName == nil {
			return found, nil
		}
		in = &route53.ListResourceRecordSetsInput{
			HostedZoneId:          aws.String(zoneID),
			StartRecordName:       out.NextRecordName,
			StartRecordType:       out.NextRecordType,
			StartRecordIdentifier: out.NextRecordIdentifier,
			MaxItems:              aws.Int32(10),
		}
	}
}

// bareID strips the /hostedzone/ or /change/ prefix Route 53 puts on ids.
func bareID(id string) string {
	if i := strings.LastIndex(id, "/"); i >= 0 {
		return id[i+1:]
	}
	return id
}

// ErrConflict is wrapped by Plan's refusal to overwrite a record berth does
// not manage: a CNAME, an alias, or a record with a routing policy.
var ErrConflict = errors.New("conflicting record")
