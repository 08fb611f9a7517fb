package inventory_test

import (
	"context"
	"strings"
	"testing"

	"github.com/berth-sh/berth/internal/awsfake"
	"github.com/berth-sh/berth/internal/inventory"
)

func TestDefaultUser(t *testing.T) {
	tests := []struct{ name, description, want string }{
		{"al2023-ami-2023.6.20241121.0-kernel-6.1-x86_64", "Amazon Linux 2023 AMI 2023.6.20241121.0 x86_64 HVM kernel-6.1", "ec2-user"},
		{"amzn2-ami-kernel-5.10-hvm-2.0.20241113.1-x86_64-gp2", "Amazon Linux 2 Kernel 5.10 AMI 2.0.20241113.1 x86_64 HVM gp2", "ec2-user"},
		{"debian-12-amd64-20240717-1811", "Debian 12 (20240717-1811)", "admin"},
		{"ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20240801", "Canonical, Ubuntu, 24.04 LTS, amd64 noble image", "ubuntu"},
		{"RHEL-9.4.0_HVM-20240605-x86_64-82-Hourly2-GP3", "Provided by Red Hat, Inc.", "ec2-user"},
		{"suse-sles-15-sp6-v20240808-hvm-ssd-x86_64", "SUSE Linux Enterprise Server 15 SP6 (HVM, 64-bit, SSD-Backed)", "ec2-user"},
		{"Fedora-Cloud-Base-AmazonEC2.x86_64-40-1.14", "", "fedora"},
		{"CentOS Stream 9 x86_64 20240703", "", "ec2-user"},
		{"Rocky-9-EC2-Base-9.4-20240523.0.x86_64", "", "rocky"},
		{"bitnami-wordpress-6.6.2-r0-debian-12-amd64", "Bitnami WordPress 6.6.2-r0 on Debian 12", "bitnami"},
		{"my-golden-image-2024-11", "built by packer", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := inventory.DefaultUser(tt.name, tt.description); got != tt.want {
				t.Errorf("DefaultUser = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestImageLogins asks the fake EC2 over the real SDK: one request for all
// the images, unknown ids an error as EC2 makes them.
func TestImageLogins(t *testing.T) {
	srv := awsfake.New(t)
	deb := srv.AddImage(awsfake.Image{Name: "debian-12-amd64-20240717-1811", Description: "Debian 12 (20240717-1811)", OwnerID: "136693071363"})
	al := srv.AddImage(awsfake.Image{Name: "al2023-ami-2023.6.20241121.0-kernel-6.1-x86_64", OwnerAlias: "amazon", OwnerID: "137112412989"})
	own := srv.AddImage(awsfake.Image{Name: "golden-2024-11"})
	c := client(t, srv)

	got, err := inventory.ImageLogins(context.Background(), c, []string{deb, al, own})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]inventory.ImageLogin{
		deb: {Image: "debian-12-amd64-20240717-1811", User: "admin"},
		al:  {Image: "al2023-ami-2023.6.20241121.0-kernel-6.1-x86_64", User: "ec2-user"},
		own: {Image: "golden-2024-11"},
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: %+v, want %+v", id, got[id], w)
		}
	}
	if n := srv.Count("DescribeImages"); n != 1 {
		t.Errorf("%d DescribeImages requests, want 1", n)
	}
	if _, err := inventory.ImageLogins(context.Background(), c, []string{"ami-0gone"}); err == nil || !strings.Contains(err.Error(), "InvalidAMIID.NotFound") {
		t.Errorf("unknown image: %v, want InvalidAMIID.NotFound", err)
	}
}
