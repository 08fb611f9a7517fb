package main

import (
	"github.com/urfave/cli/v2"

	"github.com/berth-sh/berth/internal/awscfg"
)

// awsOptions are the AWS flags every command that reaches AWS shares.
func awsOptions(c *cli.Context) awscfg.Options {
	return awscfg.Options{Region: c.String("region"), Profile: c.String("profile"), Timeout: c.Duration("aws-timeout")}
}
