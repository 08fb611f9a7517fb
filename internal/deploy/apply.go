package deploy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"time"

	"github.com/berth-sh/berth/internal/docker"
	"github.com/berth-sh/berth/internal/plan"
	"github.com/berth-sh/berth/internal/ui"
	"github.com/berth-sh/berth/playbooks"
	"github.com/berth-sh/berth/remote"
)

// swapOutScript moves a running container aside: an older backup goes, the
// container is renamed to the backup name and stopped. Args: NAME BACKUP
const swapOutScript = `set -e
docker rm -f "$2" >/dev/null 2>&1 || true
docker rename "$1" "$2"
docker stop "$2" >/dev/null
`

// rollbackScript removes a failed successor and restores the backup.
// Args: NAME BACKUP
const rollbackScript = `docker rm -f "$1" >/dev/null 2>&1
docker rename "$2" "$1" && docker start "$1" >/dev/null
`

// RolledBackError says a new container never became ready, so the previous
// one was restored, and was ready again, before this error was returned.
type RolledBackError struct {
	Container string
	Cause     error
}

func (e *RolledBackError) Error() string {
	return fmt.Sprintf("container %s: new version failed, previous version restored and serving: %v", e.Container, e.Cause)
}

func (e *RolledBackError) Unwrap() error { return e.Cause }

// applier carries out a plan's actions on one host, in order, through x.
type applier struct {
	conn      remote.Conn
	x         executor
	stack     string
	dir       string            // the stack's state directory on the host
	secrets   map[string]string // resolved secret values
	digests   map[string]string // their keyed digests, for the spec labels
	rep       ui.Host
	afterStep func(step string) // Options.afterStep
}

// apply runs every action that changes something and returns how many ran.
func (a *applier) apply(ctx context.Context, p *plan.Plan) (int, error) {
	applied := 0
	for i, act := range p.Actions {
		if act.Kind == plan.Keep {
			continue
		}
		if err := a.x.checkpoint(ctx, i); err != nil {
			return applied, err
		}
		a.rep.R.Handle(ui.Action{Host: a.rep.Name, Kind: string(act.Kind), Object: string(act.Object), Name: act.Name})
		if err := a.applyOne(ctx, act); err != nil {
			return applied, err
		}
		applied++
	}
	return applied, nil
}

func (a *applier) applyOne(ctx context.Context, act plan.Action) error {
	if act.Object == plan.Container {
		return a.container(ctx, act)
	}
	if act.Kind == plan.Adopt {
		// Docker cannot relabel a volume or network: it is used as it is.
		return nil
	}
	args, err := a.objectArgs(act)
	if err != nil {
		return err
	}
	return a.run(ctx, args)
}

// objectArgs is the docker argv that creates or removes a volume or network.
func (a *applier) objectArgs(act plan.Action) ([]string, error) {
	switch {
	case act.Object == plan.Volume && act.Kind == plan.Remove:
		return docker.VolumeRemoveArgs(act.Name), nil
	case act.Object == plan.Network && act.Kind == plan.Remove:
		return docker.NetworkRemoveArgs(act.Name), nil
	case act.Object == plan.Volume && act.Kind == plan.Create && act.Volume != nil:
		return docker.VolumeCreateArgs(a.stack, *act.Volume), nil
	case act.Object == plan.Network && act.Kind == plan.Create && act.Network != nil:
		return docker.NetworkCreateArgs(a.stack, *act.Network), nil
	}
	return nil, fmt.Errorf("%s %s %s: not an action berth can apply", act.Kind, act.Object, act.Name)
}

func (a *applier) run(ctx context.Context, args []string) error {
	if err := a.x.command(ctx, args); err != nil {
		var exit *remote.ExitError
		if errors.As(err, &exit) {
			exit.Stderr = docker.TrimCLIHelp(exit.Stderr)
		}
		return fmt.Errorf("docker %s: %w", args[1], err)
	}
	return nil
}

func (a *applier) container(ctx context.Context, act plan.Action) error {
	switch act.Kind {
	case plan.Remove:
		return a.run(ctx, docker.RemoveArgs(act.Name))
	case plan.Start:
		return waitReady(ctx, a.x, a.conn, a.rep, act.Container, docker.StartArgs(act.Name))
	case plan.Create:
		if err := a.start(ctx, act.Container); err != nil {
			a.x.command(context.WithoutCancel(ctx), docker.RemoveArgs(act.Name)) //nolint:errcheck // best effort: the error that matters is returned
			return err
		}
		return nil
	case plan.Recreate, plan.Adopt:
		return a.replace(ctx, act.Container, act.Current)
	}
	return fmt.Errorf("container %s: cannot %s", act.Name, act.Kind)
}

// step marks the end of one step of a swap, for tests that interrupt there.
func (a *applier) step(name string) {
	if a.afterStep != nil {
		a.afterStep(name)
	}
}

// start uploads the container's env file (secrets only), runs it, connects
// its other networks and waits until it is ready.
func (a *applier) start(ctx context.Context, c *playbooks.Container) error {
	envPath := ""
	if content := envFile(c, a.secrets); content != nil {
		envPath = path.Join(a.dir, c.Name+".env")
		if err := a.x.upload(ctx, envPath, content, os.FileMode(0o600)); err != nil {
			return fmt.Errorf("container %s: %w", c.Name, err)
		}
		a.step("env uploaded")
	}
	args, err := docker.RunArgs(a.stack, *c, envPath, a.digests)
	if err != nil {
		return fmt.Errorf("container %s: %w", c.Name, err)
	}
	if len(c.Networks) > 1 {
		if err := a.x.command(ctx, args); err != nil {
			var exit *remote.ExitError
			if errors.As(err, &exit) {
				return fmt.Errorf("container %s: docker run exited with status %d: %s", c.Name, exit.Code, docker.TrimCLIHelp(withholdEnvFile(exit.Stderr, args)))
			}
			return fmt.Errorf("container %s: docker run: %w", c.Name, err)
		}
		for _, n := range c.Networks[1:] {
			if err := a.run(ctx, docker.NetworkConnectArgs(n, c.Name)); err != nil {
				return fmt.Errorf("container %s: %w", c.Name, err)
			}
		}
		a.step("created")
		args = nil
	}
	// The usual case (one network) runs and waits in one round trip.
	if err := waitHealthy(ctx, a.x, a.rep, c, args); err != nil {
		return err
	}
	a.step("healthy")
	if err := probeReady(ctx, a.x, a.conn, a.rep, c); err != nil {
		return err
	}
	a.step("ready")
	return nil
}

// replace keeps the old container (stopped, renamed) until the new one is
// ready; if the new one fails, the old one comes back. Once the old one is
// moved aside, the swap runs to its end on a context of its own: cancelling
// ctx (Ctrl-C) cannot leave the host with neither version serving.
func (a *applier) replace(ctx context.Context, c *playbooks.Container, current *docker.ContainerState) error {
	backup := playbooks.BackupName(c.Name)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("container %s: %w", c.Name, err)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), swapTimeout(c))
	defer cancel()
	if err := a.x.script(ctx, swapOutScript, c.Name, backup); err != nil {
		return fmt.Errorf("container %s: move old container aside: %w", c.Name, err)
	}
	a.step("moved aside")
	startErr := a.start(ctx, c)
	if startErr == nil {
		if err := a.run(ctx, docker.RemoveArgs(backup)); err != nil {
			a.rep.Warn("new %s is ready but its backup %s could not be removed: %v", c.Name, backup, err)
		}
		a.step("backup removed")
		return nil
	}
	if err := a.rollback(ctx, c, current, backup); err != nil {
		return fmt.Errorf("container %s: new version failed (%v) and restoring the previous one failed too: %w", c.Name, startErr, err)
	}
	a.step("rolled back")
	return &RolledBackError{Container: c.Name, Cause: startErr}
}

// rollback removes a failed successor, brings the backup back under its name
// and waits until it is ready again, so "restored and serving" is true when
// it is said: healthy by its own health check, and answering the ready probe
// when it publishes the probe's port (the port may be what the failed
// version changed).
func (a *applier) rollback(ctx context.Context, c *playbooks.Container, old *docker.ContainerState, backup string) error {
	if err := a.x.script(ctx, rollbackScript, c.Name, backup); err != nil {
		return err
	}
	if err := waitHealthy(ctx, a.x, a.rep, c, nil); err != nil {
		return err
	}
	if old != nil && publishesReadyPort(c, old.Ports) {
		return probeReady(ctx, a.x, a.conn, a.rep, c)
	}
	return nil
}

// swapTimeout bounds a swap that goes on after a cancel: the new container's
// own health and ready limits, once for it and once for a rollback, plus a
// margin; a dead connection cannot hold the run longer.
func swapTimeout(c *playbooks.Container) time.Duration {
	return 2*(healthTimeout(c)+readyTimeout(c)) + time.Minute
}

// settleLeftovers deals with backups an interrupted run left behind: when the
// container they stood in for exists and is proven up, the backup goes;
// otherwise the backup is the last good version and comes back.
func settleLeftovers(ctx context.Context, conn remote.Conn, st *State, backups []string, rep ui.Host) error {
	for _, backup := range backups {
		name, _ := playbooks.BackupOf(backup)
		if successor, ok := st.Docker.Containers[name]; ok && provenUp(successor) {
			rep.Progress("removing %s, a backup an interrupted deploy left behind", backup)
			if err := conn.Run(ctx, remote.Cmd{Args: docker.RemoveArgs(backup)}); err != nil {
				return fmt.Errorf("remove leftover %s: %w", backup, err)
			}
			continue
		}
		// A successor that is not running, unhealthy or still starting was never
		// proven: the backup is the last version known to serve, so it comes
		// back, and the plan redoes the swap with its waits.
		rep.Warn("restoring %s from %s: an interrupted deploy left it aside", name, backup)
		if err := remote.Script(ctx, conn, rollbackScript, nil, name, backup); err != nil {
			return fmt.Errorf("restore %s: %w", name, err)
		}
	}
	return nil
}

// provenUp says whether a container an interrupted run started is known to
// serve: running, and healthy when it has a health check.
func provenUp(c *docker.ContainerState) bool {
	return c.Running && (c.Health == "" || c.Health == "healthy")
}
