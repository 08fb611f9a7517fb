package main

import (
	"time"

	"github.com/urfave/cli/v2"

	"github.com/berth-sh/berth/internal/awscfg"
	"github.com/berth-sh/berth/internal/deploy"
	"github.com/berth-sh/berth/remote"
)

// Flag groups shared by the commands that need them.

func targetFlags() []cli.Flag {
	return []cli.Flag{
		configFlag(),
		&cli.StringSliceFlag{Name: "host", Usage: "target `[user@]addr[:port]` over SSH (repeatable)", Category: "Targets"},
		&cli.BoolFlag{Name: "local", Usage: "target this machine's Docker, without SSH", Category: "Targets"},
		&cli.StringSliceFlag{Name: "ec2-id", Usage: "target an EC2 instance by `ID` (repeatable)", Category: "Targets"},
		&cli.StringSliceFlag{Name: "ec2-tag", Usage: "target running EC2 instances tagged `Key=Value` (repeatable, ANDed)", Category: "Targets"},
		&cli.StringFlag{Name: "region", Usage: "AWS `REGION` (else AWS_REGION or the profile's)", EnvVars: []string{"AWS_REGION"}, Category: "AWS"},
		&cli.StringFlag{Name: "profile", Usage: "AWS shared config `PROFILE`", EnvVars: []string{"AWS_PROFILE"}, Category: "AWS"},
		&cli.BoolFlag{Name: "private-ip", Usage: "connect to EC2 instances by private IP (inside the VPC)", Category: "AWS"},
		&cli.BoolFlag{Name: "wait-running", Usage: "wait for pending EC2 instances to be running", Category: "AWS"},
		&cli.DurationFlag{Name: "aws-timeout", Value: awscfg.DefaultTimeout, Usage: "give up on an AWS API call that has not answered after `DURATION`, retries included", Category: "AWS"},
		&cli.StringFlag{Name: "user", Usage: "SSH `USER` for targets that do not name one", Category: "SSH"},
		&cli.IntFlag{Name: "port", DefaultText: "22", Usage: "SSH `PORT` for targets that do not name one", Category: "SSH"},
		&cli.StringSliceFlag{Name: "identity", Aliases: []string{"i"}, Usage: "private key `FILE` (repeatable; default ~/.ssh/id_*)", Category: "SSH"},
		&cli.StringFlag{Name: "known-hosts", Usage: "known_hosts `FILE` (default ~/.ssh/known_hosts)", Category: "SSH"},
		&cli.StringFlag{Name: "host-key-policy", Value: "strict", Usage: "`POLICY`: strict, accept-new (trust on first use) or insecure-ignore-host-key", Category: "SSH"},
		&cli.StringFlag{Name: "ssh-config", Usage: "ssh config `FILE` (default ~/.ssh/config; \"none\" to ignore)", Category: "SSH"},
		&cli.StringFlag{Name: "jump", Usage: "jump host(s) `[user@]bastion[:port]`, comma-separated, like ssh -J", Category: "SSH"},
		&cli.DurationFlag{Name: "connect-timeout", Value: 30 * time.Second, Usage: "keep retrying a host's SSH connection for `DURATION`", Category: "SSH"},
		&cli.DurationFlag{Name: "command-timeout", Value: remote.DefaultCommandTimeout, Usage: "stop any one remote command (or upload) that runs longer than `DURATION`; health waits have their own bound", Category: "SSH"},
		&cli.BoolFlag{Name: "sudo", Usage: "run remote commands through sudo -n", Category: "SSH"},
		&cli.IntFlag{Name: "parallel", Value: 10, Usage: "at most `N` hosts at once", Category: "Fleet"},
	}
}

// defaultPlaybook is the built-in playbook used when --playbook is not given.
const defaultPlaybook = "wordpress"

func playbookFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "playbook", Aliases: []string{"p"}, Value: defaultPlaybook, Usage: "built-in playbook `NAME` or a playbook file PATH", Category: "Playbook"},
		&cli.StringSliceFlag{Name: "var", Usage: "set a playbook variable `key=value` (repeatable); wins over a host's own vars, which win over berth.yaml vars:, which win over the playbook's defaults", Category: "Playbook"},
		&cli.StringFlag{Name: "stack", Usage: "stack `NAME` (default: the playbook's name)", Category: "Playbook"},
		&cli.StringFlag{Name: "state-dir", Usage: "berth's host-wide state `DIR` on the hosts: deploy locks and stored secrets, per stack (default " + deploy.DefaultStateDir + ")", Category: "Playbook"},
	}
}

func outputFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "json", Usage: "print a JSON event stream on stdout instead of text", Category: "Output"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only results, warnings and errors", Category: "Output"},
	}
}

func concat(groups ...[]cli.Flag) []cli.Flag {
	var all []cli.Flag
	for _, g := range groups {
		all = append(all, g...)
	}
	return all
}
