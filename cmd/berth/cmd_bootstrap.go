package main

import (
	"context"

	"github.com/urfave/cli/v2"

	"github.com/berth-sh/berth/internal/bootstrap"
	"github.com/berth-sh/berth/internal/rollout"
	"github.com/berth-sh/berth/internal/ui"
	"github.com/berth-sh/berth/remote"
)

func (a *App) bootstrapCommand() *cli.Command {
	return &cli.Command{
		Name:  "bootstrap",
		Usage: "make fresh hosts ready: install Docker from the distribution's packages, start it, add the user to the docker group",
		Description: `Reads /etc/os-release and installs Docker from the system's own packages:
docker.io with apt on Debian and Ubuntu, docker with dnf on Amazon Linux 2023,
moby-engine with dnf on Fedora, docker with yum on Amazon Linux 2. Enables and
starts the service (systemd, else the init script, else dockerd directly), adds
the SSH user to the docker group when it is not root, creates berth's
host-wide state directory ` + bootstrap.StateDir + ` (root:docker, mode 2770)
and checks docker version. Installing needs root: log in as root or add --sudo.
A host that is ready already costs one round trip and is left unchanged.

Example:
   berth bootstrap --ec2-tag Name=blog --sudo
   berth deploy --ec2-tag Name=blog --domain blog.example.com`,
		Flags: concat(targetFlags(), outputFlags()),
		Action: func(c *cli.Context) error {
			rep := a.handler(c)
			r, err := a.prepare(c, false)
			if err != nil {
				return err
			}
			results, err := eachHost(c.Context, r, everyHost(r), func(ctx context.Context, _ rollout.Host, conn remote.Conn) (remote.Stats, error) {
				_, err := bootstrapHost(ctx, conn, rep)
				return statsOf(conn), err
			})
			costLine(rep, len(results), totalStats(results))
			if err != nil {
				return withCode(exitFailure, err)
			}
			return nil
		},
	}
}

// bootstrapHost runs bootstrap on one host and reports what it did.
func bootstrapHost(ctx context.Context, conn remote.Conn, rep ui.Handler) (*bootstrap.Result, error) {
	res, err := bootstrap.Run(ctx, conn, ui.Host{R: rep, Name: conn.Host()})
	if err != nil {
		return res, err
	}
	rep.Handle(ui.Bootstrap{Host: conn.Host(), OS: res.OS, Docker: res.Version, Changes: res.Changes})
	return res, nil
}
