package inventory

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// EC2ImagesAPI is what the login-user lookup needs; *ec2.Client satisfies it.
type EC2ImagesAPI interface {
	DescribeImages(ctx context.Context, in *ec2.DescribeImagesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error)
}

// ImageLogin is an AMI and the user its instances are reached as.
type ImageLogin struct {
	Image string // the AMI's name
	User  string // "" when the image does not say
}

// loginUsers maps words in AMI names and descriptions to the default login
// user their publishers document; the first match wins, so derived images
// (Bitnami's, built on Debian) come before the systems they build on.
var loginUsers = []struct{ word, user string }{
	{"bitnami", "bitnami"},
	{"ubuntu", "ubuntu"},
	{"debian", "admin"},
	{"al2023", "ec2-user"},
	{"amzn", "ec2-user"},
	{"amazon linux", "ec2-user"},
	{"rhel", "ec2-user"},
	{"red hat", "ec2-user"},
	{"suse", "ec2-user"},
	{"sles", "ec2-user"},
	{"almalinux", "ec2-user"},
	{"oracle linux", "ec2-user"},
	{"fedora", "fedora"},
	{"centos stream", "ec2-user"},
	{"centos", "centos"},
	{"rocky", "rocky"},
}

// DefaultUser is the login user of an AMI with this name and description,
// or "" when neither says which system it is.
func DefaultUser(name, description string) string {
	text := strings.ToLower(name + " " + description)
	for _, l := range loginUsers {
		if strings.Contains(text, l.word) {
			return l.user
		}
	}
	return ""
}

// ImageLogins looks the images up in one DescribeImages call.
func ImageLogins(ctx context.Context, client EC2ImagesAPI, ids []string) (map[string]ImageLogin, error) {
	out, err := client.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: ids})
	if err != nil {
		return nil, fmt.Errorf("describe ec2 images: %w", err)
	}
	m := make(map[string]ImageLogin, len(out.Images))
	for _, img := range out.Images {
		name := aws.ToString(img.Name)
		m[aws.ToString(img.ImageId)] = ImageLogin{Image: name, User: DefaultUser(name, aws.ToString(img.Description))}
	}
	return m, nil
}
