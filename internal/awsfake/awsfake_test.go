package awsfake_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"

	"github.com/berth-sh/berth/internal/awscfg"
	"github.com/berth-sh/berth/internal/awsfake"
)

func clients(t *testing.T) (*awsfake.Server, *ec2.Client, *route53.Client) {
	t.Helper()
	srv := awsfake.New(t)
	srv.Env(t)
	cfg, err := awscfg.Load(context.Background(), awscfg.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return srv, ec2.NewFromConfig(cfg), route53.NewFromConfig(cfg)
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func noRetry(o *ec2.Options) { o.RetryMaxAttempts = 1 }

func ids(out *ec2.DescribeInstancesOutput) []string {
	var res []string
	for _, r := range out.Reservations {
		for _, in := range r.Instances {
			res = append(res, aws.ToString(in.InstanceId))
		}
	}
	return res
}

func TestEC2DescribeInstances(t *testing.T) {
	srv, c, _ := clients(t)
	a := srv.AddInstance(awsfake.Instance{ID: "i-a", PublicIP: "203.0.113.1", PrivateIP: "10.0.0.1", Tags: map[string]string{"Name": "web-1", "env": "prod"}})
	b := srv.AddInstance(awsfake.Instance{ID: "i-b", State: "stopped", Tags: map[string]string{"Name": "web-2"}})
	cc := srv.AddInstance(awsfake.Instance{ID: "i-c", Tags: map[string]string{"Name": "db"}})
	ctx := context.Background()
	f := func(name string, values ...string) ec2types.Filter {
		return ec2types.Filter{Name: aws.String(name), Values: values}
	}
	tests := []struct {
		name  string
		input ec2.DescribeInstancesInput
		want  []string
	}{
		{"all", ec2.DescribeInstancesInput{}, []string{a, b, cc}},
		{"tag wildcard", ec2.DescribeInstancesInput{Filters: []ec2types.Filter{f("tag:Name", "web-*")}}, []string{a, b}},
		{"tag values ORed", ec2.DescribeInstancesInput{Filters: []ec2types.Filter{f("tag:Name", "db", "web-2")}}, []string{b, cc}},
		{"filters ANDed", ec2.DescribeInstancesInput{Filters: []ec2types.Filter{f("tag:Name", "web-*"), f("instance-state-name", "running")}}, []string{a}},
		{"tag-key", ec2.DescribeInstancesInput{Filters: []ec2types.Filter{f("tag-key", "env")}}, []string{a}},
		{"instance-id filter", ec2.DescribeInstancesInput{Filters: []ec2types.Filter{f("instance-id", "i-c")}}, []string{cc}},
		{"instance ids", ec2.DescribeInstancesInput{InstanceIds: []string{"i-b", "i-a"}}, []string{a, b}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := c.DescribeInstances(ctx, &tt.input)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(out); !slices.Equal(got, tt.want) {
				t.Errorf("ids = %v, want %v", got, tt.want)
			}
		})
	}

	out, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-a"}})
	if err != nil {
		t.Fatal(err)
	}
	in := out.Reservations[0].Instances[0]
	if aws.ToString(in.PublicIpAddress) != "203.0.113.1" || aws.ToString(in.PrivateIpAddress) != "10.0.0.1" ||
		in.State.Name != ec2types.InstanceStateNameRunning || aws.ToInt32(in.State.Code) != 16 || len(in.Tags) != 2 {
		t.Errorf("instance = %+v", in)
	}
}

func TestEC2Paging(t *testing.T) {
	srv, c, _ := clients(t)
	for range 12 {
		srv.AddInstance(awsfake.Instance{})
	}
	var pages, total int
	p := ec2.NewDescribeInstancesPaginator(c, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		pages++
		total += len(ids(out))
	}
	if pages != 3 || total != 12 || srv.Count("DescribeInstances") != 3 {
		t.Errorf("pages %d, instances %d, requests %d; want 3, 12, 3", pages, total, srv.Count("DescribeInstances"))
	}
}

func TestEC2Errors(t *testing.T) {
	srv, c, _ := clients(t)
	srv.AddInstance(awsfake.Instance{ID: "i-a"})
	tests := []struct {
		name  string
		input ec2.DescribeInstancesInput
		code  string
	}{
		{"max results too small", ec2.DescribeInstancesInput{MaxResults: aws.Int32(4)}, "InvalidParameterValue"},
		{"max results with ids", ec2.DescribeInstancesInput{MaxResults: aws.Int32(5), InstanceIds: []string{"i-a"}}, "InvalidParameterCombination"},
		{"unknown filter", ec2.DescribeInstancesInput{Filters: []ec2types.Filter{{Name: aws.String("flavour"), Values: []string{"x"}}}}, "InvalidParameterValue"},
		{"unknown id", ec2.DescribeInstancesInput{InstanceIds: []string{"i-zzz"}}, "InvalidInstanceID.NotFound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.DescribeInstances(context.Background(), &tt.input)
			if apiCode(err) != tt.code {
				t.Errorf("err = %v, want code %s", err, tt.code)
			}
		})
	}
	t.Run("throttled", func(t *testing.T) {
		srv.ThrottleNext(1)
		_, err := c.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{}, noRetry)
		if apiCode(err) != "RequestLimitExceeded" {
			t.Errorf("err = %v, want RequestLimitExceeded", err)
		}
	})
	t.Run("unsigned", func(t *testing.T) {
		resp, err := http.Post(srv.URL, "application/x-www-form-urlencoded", strings.NewReader("Action=DescribeInstances&Version=2016-11-15"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("status = %d, want 401", resp.StatusCode)
		}
	})
}

func TestRoute53Zones(t *testing.T) {
	srv, _, c := clients(t)
	com := srv.AddZone(awsfake.Zone{Name: "Example.com"})
	blogPriv := srv.AddZone(awsfake.Zone{Name: "blog.example.com.", Private: true})
	blog := srv.AddZone(awsfake.Zone{Name: "blog.example.com."})
	org := srv.AddZone(awsfake.Zone{Name: "example.org."})
	ctx := context.Background()

	zoneIDs := func(out *route53.ListHostedZonesByNameOutput) []string {
		var res []string
		for _, z := range out.HostedZones {
			res = append(res, strings.TrimPrefix(aws.ToString(z.Id), "/hostedzone/"))
		}
		return res
	}
	tests := []struct {
		name string
		dns  string
		max  int32
		want []string
	}{
		{"all, sorted by reversed labels", "", 0, []string{com, blogPriv, blog, org}},
		{"cursor from an exact name", "blog.example.com.", 0, []string{blogPriv, blog, org}},
		{"cursor from a name with no zone", "www.blog.example.com", 0, []string{org}},
		{"max items", "example.com", 2, []string{com, blogPriv}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &route53.ListHostedZonesByNameInput{}
			if tt.dns != "" {
				in.DNSName = aws.String(tt.dns)
			}
			if tt.max != 0 {
				in.MaxItems = aws.Int32(tt.max)
			}
			out, err := c.ListHostedZonesByName(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if got := zoneIDs(out); !slices.Equal(got, tt.want) {
				t.Errorf("zones = %v, want %v", got, tt.want)
			}
			if tt.max == 2 && (!out.IsTruncated || aws.ToString(out.NextDNSName) != "blog.example.com." || aws.ToString(out.NextHostedZoneId) != blog) {
				t.Errorf("truncation = %v %v %v", out.IsTruncated, aws.ToString(out.NextDNSName), aws.ToString(out.NextHostedZoneId))
			}
		})
	}
	out, err := c.ListHostedZonesByName(ctx, &route53.ListHostedZonesByNameInput{DNSName: aws.String("blog.example.com.")})
	if err != nil {
		t.Fatal(err)
	}
	if !out.HostedZones[0].Config.PrivateZone || out.HostedZones[1].Config.PrivateZone {
		t.Errorf("private flags wrong: %+v", out.HostedZones)
	}
}

func TestRoute53Records(t *testing.T) {
	srv, _, c := clients(t)
	srv.SetPendingPolls(1)
	zone := srv.AddZone(awsfake.Zone{Name: "example.com."})
	ctx := context.Background()
	change := func(action r53types.ChangeAction, name string, ttl int64, values ...string) error {
		var rrs []r53types.ResourceRecord
		for _, v := range values {
			rrs = append(rrs, r53types.ResourceRecord{Value: aws.String(v)})
		}
		out, err := c.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
			HostedZoneId: aws.String("/hostedzone/" + zone),
			ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{{Action: action, ResourceRecordSet: &r53types.ResourceRecordSet{
				Name: aws.String(name), Type: r53types.RRTypeA, TTL: aws.Int64(ttl), ResourceRecords: rrs,
			}}}},
		})
		if err == nil && out.ChangeInfo.Status != r53types.ChangeStatusPending {
			t.Errorf("new change status = %s, want PENDING", out.ChangeInfo.Status)
		}
		return err
	}
	if err := change(r53types.ChangeActionCreate, "a.example.com", 60, "1.1.1.1", "2.2.2.2"); err != nil {
		t.Fatal(err)
	}
	if err := change(r53types.ChangeActionCreate, "a.example.com", 60, "1.1.1.1"); apiCode(err) != "InvalidChangeBatch" {
		t.Errorf("duplicate CREATE: %v", err)
	}
	if err := change(r53types.ChangeActionUpsert, "*.example.com", 60, "3.3.3.3"); err != nil {
		t.Fatal(err)
	}
	if err := change(r53types.ChangeActionUpsert, "b.example.com", 300, "4.4.4.4"); err != nil {
		t.Fatal(err)
	}
	if err := change(r53types.ChangeActionDelete, "b.example.com", 60, "4.4.4.4"); apiCode(err) != "InvalidChangeBatch" {
		t.Errorf("DELETE with wrong ttl: %v", err)
	}
	if err := change(r53types.ChangeActionDelete, "b.example.com", 300, "4.4.4.4"); err != nil {
		t.Fatal(err)
	}
	if err := change(r53types.ChangeActionUpsert, "a.example.org", 60, "1.1.1.1"); apiCode(err) != "InvalidChangeBatch" {
		t.Errorf("record outside the zone: %v", err)
	}
	srv.AddRecord(zone, awsfake.Record{Name: "c.example.com", Type: "CNAME", TTL: 60, Values: []string{"a.example.com"}})
	if err := change(r53types.ChangeActionUpsert, "c.example.com", 60, "1.1.1.1"); apiCode(err) != "InvalidChangeBatch" {
		t.Errorf("A next to CNAME: %v", err)
	}
	if got := len(srv.Changes()); got != 4 {
		t.Errorf("recorded changes = %d, want 4 (create, upsert, upsert, delete)", got)
	}

	// Listing: sorted by reversed name, * sent as \052, paged.
	var names []string
	in := &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zone), MaxItems: aws.Int32(1)}
	for {
		out, err := c.ListResourceRecordSets(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		for _, rs := range out.ResourceRecordSets {
			names = append(names, aws.ToString(rs.Name)+" "+string(rs.Type)+" "+strings.Join(values(rs), ","))
		}
		if !out.IsTruncated {
			break
		}
		in = &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zone), MaxItems: aws.Int32(1), StartRecordName: out.NextRecordName, StartRecordType: out.NextRecordType}
	}
	want := []string{`\052.example.com. A 3.3.3.3`, "a.example.com. A 1.1.1.1,2.2.2.2", "c.example.com. CNAME a.example.com"}
	if !slices.Equal(names, want) {
		t.Errorf("records = %q, want %q", names, want)
	}

	// GetChange: PENDING for the configured polls, then INSYNC.
	out, err := c.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(zone),
		ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{{Action: r53types.ChangeActionUpsert, ResourceRecordSet: &r53types.ResourceRecordSet{
			Name: aws.String("d.example.com."), Type: r53types.RRTypeA, TTL: aws.Int64(60), ResourceRecords: []r53types.ResourceRecord{{Value: aws.String("5.5.5.5")}},
		}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.ChangeInfo.Id)
	for _, want := range []r53types.ChangeStatus{r53types.ChangeStatusPending, r53types.ChangeStatusInsync, r53types.ChangeStatusInsync} {
		got, err := c.GetChange(ctx, &route53.GetChangeInput{Id: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		if got.ChangeInfo.Status != want {
			t.Errorf("status = %s, want %s", got.ChangeInfo.Status, want)
		}
	}
	if _, err := c.GetChange(ctx, &route53.GetChangeInput{Id: aws.String("CNOPE")}); apiCode(err) != "NoSuchChange" {
		t.Errorf("unknown change: %v", err)
	}
	if _, err := c.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String("ZNOPE")}); apiCode(err) != "NoSuchHostedZone" {
		t.Errorf("unknown zone: %v", err)
	}
	srv.ThrottleNext(1)
	if _, err := c.GetChange(ctx, &route53.GetChangeInput{Id: aws.String(id)}, func(o *route53.Options) { o.RetryMaxAttempts = 1 }); apiCode(err) != "Throttling" {
		t.Errorf("throttled: %v", err)
	}
	if srv.Count("GetChange") != 5 {
		t.Errorf("GetChange count = %d, want 5", srv.Count("GetChange"))
	}
}

func values(rs r53types.ResourceRecordSet) []string {
	var out []string
	for _, r := range rs.ResourceRecords {
		out = append(out, aws.ToString(r.Value))
	}
	return out
}
