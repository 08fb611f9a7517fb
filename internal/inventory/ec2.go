package inventory

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/hashicorp/go-multierror"
)

// EC2API is what discovery needs from EC2; *ec2.Client satisfies it.
type EC2API = ec2.DescribeInstancesAPIClient

// EC2Query selects instances. IDs and Tags are ANDed; at least one is required
// so that a missing flag never means "every instance in the region".
type EC2Query struct {
	IDs         []string
	Tags        []string // "Key=Value", ANDed
	User        string   // SSH user for every target
	Port        int      // SSH port for every target; 0 means the default
	WaitRunning bool     // also take pending instances and wait until they run
	WaitTimeout time.Duration
	PrivateIP   bool // connect to the private address instead of the public one

	// PageSize is DescribeInstances' MaxResults (5-1000, default 100). EC2
	// refuses it together with instance ids, so it is not sent with IDs.
	PageSize int32
	// PollInterval is the shortest delay between polls while waiting for
	// pending instances (default 2s); the SDK's waiter backs off to 15s.
	PollInterval time.Duration
}

// ErrNoInstances is wrapped by the error returned when nothing matched.
var ErrNoInstances = errors.New("no EC2 instances matched")

const (
	defaultPageSize     = 100
	defaultWaitTimeout  = 5 * time.Minute
	defaultPollInterval = 2 * time.Second
	maxPollInterval     = 15 * time.Second
)

// DiscoverEC2 finds the instances q selects and turns them into targets,
// sorted by name then id.
func DiscoverEC2(ctx context.Context, client EC2API, q EC2Query) ([]Target, error) {
	if len(q.IDs) == 0 && len(q.Tags) == 0 {
		return nil, errors.New("discover ec2 instances: no selector: give an instance id or a Key=Value tag")
	}
	tags, err := ParseTagFilters(q.Tags)
	if err != nil {
		return nil, fmt.Errorf("discover ec2 instances: %w", err)
	}
	states := []string{"running"}
	if q.WaitRunning {
		states = []string{"pending", "running"}
	}
	input := &ec2.DescribeInstancesInput{Filters: ec2Filters(tags, states)}
	if len(q.IDs) > 0 {
		input.InstanceIds = q.IDs
	} else {
		size := q.PageSize
		if size == 0 {
			size = defaultPageSize
		}
		input.MaxResults = aws.Int32(size)
	}

	instances, err := describe(ctx, client, input)
	if err != nil {
		return nil, err
	}
	if q.WaitRunning {
		instances, err = waitRunning(ctx, client, instances, q)
		if err != nil {
			return nil, err
		}
	}
	if len(instances) == 0 {
		return nil, noMatch(client, input)
	}

	targets := make([]Target, 0, len(instances))
	var noAddr *multierror.Error
	for _, in := range instances {
		t := toTarget(in, q)
		if t.Addr == "" {
			noAddr = multierror.Append(noAddr, missingAddr(t, q.PrivateIP))
			continue
		}
		targets = append(targets, t)
	}
	if err := noAddr.ErrorOrNil(); err != nil {
		return nil, fmt.Errorf("discover ec2 instances: %w", err)
	}
	sort.Slice(targets, func(i, j int) bool {
		if targets[i].Name != targets[j].Name {
			return targets[i].Name < targets[j].Name
		}
		return targets[i].ID < targets[j].ID
	})
	return targets, nil
}

// describe reads every page. The input is copied because the paginator
// writes NextToken into it.
func describe(ctx context.Context, client EC2API, input *ec2.DescribeInstancesInput) ([]types.Instance, error) {
	in := *input
	var out []types.Instance
	p := ec2.NewDescribeInstancesPaginator(client, &in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe ec2 instances: %w", err)
		}
		for _, r := range page.Reservations {
			out = append(out, r.Instances...)
		}
	}
	return out, nil
}

// waitRunning waits, with the SDK's InstanceRunning waiter, until the pending
// instances run, and puts their running description (which now has their
// addresses) in place of the pending one.
func waitRunning(ctx context.Context, client EC2API, instances []types.Instance, q EC2Query) ([]types.Instance, error) {
	var ids []string
	for _, in := range instances {
		if in.State != nil && in.State.Name == types.InstanceStateNamePending {
			ids = append(ids, aws.ToString(in.InstanceId))
		}
	}
	if len(ids) == 0 {
		return instances, nil
	}
	timeout := q.WaitTimeout
	if timeout <= 0 {
		timeout = defaultWaitTimeout
	}
	delay := q.PollInterval
	if delay <= 0 {
		delay = defaultPollInterval
	}
	w := ec2.NewInstanceRunningWaiter(client, func(o *ec2.InstanceRunningWaiterOptions) {
		o.MinDelay, o.MaxDelay = delay, max(delay, maxPollInterval)
	})
	out, err := w.WaitForOutput(ctx, &ec2.DescribeInstancesInput{InstanceIds: ids}, timeout)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("wait for ec2 instances to run: %w", ctx.Err())
		}
		return nil, fmt.Errorf("wait for ec2 instances to run: still pending after %v: %s: %w", timeout, strings.Join(pendingNames(instances), ", "), err)
	}
	running := map[string]types.Instance{}
	for _, r := range out.Reservations {
		for _, in := range r.Instances {
			running[aws.ToString(in.InstanceId)] = in
		}
	}
	for i, in := range instances {
		if r, ok := running[aws.ToString(in.InstanceId)]; ok {
			instances[i] = r
		}
	}
	return instances, nil
}

func pendingNames(instances []types.Instance) []string {
	var out []string
	for _, in := range instances {
		if in.State != nil && in.State.Name == types.InstanceStateNamePending {
			out = append(out, displayName(in))
		}
	}
	return out
}

func toTarget(in types.Instance, q EC2Query) Target {
	t := Target{
		ID:        aws.ToString(in.InstanceId),
		User:      q.User,
		Port:      q.Port,
		PublicIP:  aws.ToString(in.PublicIpAddress),
		PrivateIP: aws.ToString(in.PrivateIpAddress),
		ImageID:   aws.ToString(in.ImageId),
		Name:      displayName(in),
	}
	if in.State != nil {
		t.State = string(in.State.Name)
	}
	t.Addr = t.PublicIP
	if q.PrivateIP {
		t.Addr = t.PrivateIP
	}
	for _, tag := range in.Tags {
		if k, ok := strings.CutPrefix(aws.ToString(tag.Key), VarTagPrefix); ok && k != "" {
			if t.Vars == nil {
				t.Vars = map[string]string{}
			}
			t.Vars[k] = aws.ToString(tag.Value)
		}
	}
	return t
}

// displayName is the Name tag, or the instance id when there is none.
func displayName(in types.Instance) string {
	for _, tag := range in.Tags {
		if aws.ToString(tag.Key) == "Name" && aws.ToString(tag.Value) != "" {
			return aws.ToString(tag.Value)
		}
	}
	return aws.ToString(in.InstanceId)
}

func missingAddr(t Target, private bool) error {
	who := t.ID
	if t.Name != t.ID {
		who = fmt.Sprintf("%s (%s)", t.Name, t.ID)
	}
	if private {
		return fmt.Errorf("instance %s has no private IP address", who)
	}
	return fmt.Errorf("instance %s has no public IP address: use --private-ip to connect to %s (from inside its VPC or through --jump)", who, orNone(t.PrivateIP))
}

func orNone(ip string) string {
	if ip == "" {
		return "its private address"
	}
	return ip
}

func noMatch(client EC2API, input *ec2.DescribeInstancesInput) error {
	region := "the configured region"
	// *ec2.Client knows its region; a test double may not.
	if c, ok := client.(interface{ Options() ec2.Options }); ok && c.Options().Region != "" {
		region = "region " + c.Options().Region
	}
	sel := describeFilters(input.Filters)
	if len(input.InstanceIds) > 0 {
		sel = "instance-id=" + strings.Join(input.InstanceIds, ",") + " AND " + sel
	}
	return fmt.Errorf("discover ec2 instances: %w: filters %s in %s", ErrNoInstances, sel, region)
}
