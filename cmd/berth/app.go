package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/berth-sh/berth/internal/ui"
	"github.com/berth-sh/berth/playbooks"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// App is the berth command line, built over its IO streams so tests can run it
// in-process.
type App struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	args           []string    // the raw command line, for schedule to repeat it
	cfg            *fileConfig // berth.yaml, read once per run; nil when there is none
	// environ and whoami are what schedule captures into a unit; tests fix them.
	environ   func() []string
	whoami    func() (*user.User, error)
	redactor  *ui.Redactor
	stderrRaw io.Writer // stderr under the redactor, to ask whether it is a terminal
}

// NewApp builds the app. Everything it writes to stdout and stderr passes
// through a redactor that learns each secret value as it is resolved: the
// last line of defence, should a secret ever reach a message.
func NewApp(stdin io.Reader, stdout, stderr io.Writer) *App {
	r := ui.NewRedactor()
	for _, kv := range os.Environ() {
		if name, value, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(name, "BERTH_SECRET_") {
			r.Add(value)
		}
	}
	return &App{stdin: stdin, stdout: r.Writer(stdout), stderr: r.Writer(stderr), redactor: r, stderrRaw: stderr,
		environ: os.Environ, whoami: schedulingUser}
}

// Run runs berth with args (args[0] is the program name) and returns the exit code.
func (a *App) Run(ctx context.Context, args []string) int {
	a.args = args
	err := a.cliApp().RunContext(ctx, args)
	code := exitCode(ctx, err)
	if err != nil && err.Error() != "" {
		fmt.Fprintln(a.stderr, "berth:", err)
	}
	if code == exitInterrupted {
		fmt.Fprintln(a.stderr, "berth: interrupted; work in progress was stopped and deploy locks released")
	}
	return code
}

// cliApp builds the command tree over the App's streams.
func (a *App) cliApp() *cli.App {
	app := &cli.App{
		Name:                  "berth",
		Usage:                 "deploy stateful Docker stacks to hosts over SSH",
		Version:               version,
		Reader:                a.stdin,
		Writer:                a.stdout,
		ErrWriter:             a.stderr,
		HideVersion:           true,
		HideHelpCommand:       true, // berth help [COMMAND] is handled with unknown commands
		CustomAppHelpTemplate: cli.AppHelpTemplate + "\n" + exitCodesHelp + "\n",
		Commands: []*cli.Command{
			a.deployCommand(),
			a.planCommand(),
			a.statusCommand(),
			a.destroyCommand(),
			a.hostsCommand(),
			a.bootstrapCommand(),
			a.dnsCommand(),
			a.runCommand(),
			a.scheduleCommand(),
			a.backupCommand(),
			a.restoreCommand(),
			a.moveCommand(),
			a.unlockCommand(),
			a.playbooksCommand(),
			a.completionCommand(),
			a.completeCommand(),
			{
				Name:   "version",
				Usage:  "print berth's version",
				Action: printVersion,
			},
		},
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "version", Usage: "print berth's version (like berth version)"},
		},
		Action: func(c *cli.Context) error {
			if c.Bool("version") {
				return printVersion(c)
			}
			return unknownCommand(c)
		},
		// Errors are printed once, below, with the exit code they map to.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return a.flagError("berth", c.App.Flags, false, err)
		},
	}
	for _, cmd := range app.Commands {
		a.setUsageError(cmd)
		strictArgs(cmd, "berth")
		if cmd.Before == nil && hasFlag(cmd, "config") {
			cmd.Before = a.applyConfig
		}
	}
	withFlagChecks(app.Commands)
	return app
}

// onSignals handles Ctrl-C and SIGTERM. The first cancels the run: no new
// step starts, a container swap under way completes or rolls back, and deploy
// locks are released. The second exits at once, saying what that leaves.
func (a *App) onSignals(sigs <-chan os.Signal, cancel func(), exit func(int)) {
	if _, ok := <-sigs; !ok {
		return
	}
	fmt.Fprintln(a.stderr, "berth: interrupted: finishing the step in progress (a container swap completes or rolls back), then releasing deploy locks; press Ctrl-C again to exit at once")
	cancel()
	if _, ok := <-sigs; !ok {
		return
	}
	fmt.Fprintln(a.stderr, "berth: exiting at once: a container being replaced may be left stopped as NAME"+playbooks.BackupName("")+
		" and the deploy lock held; the next berth deploy restores or removes such a backup, once the lock is free (berth unlock if no other run is going)")
	exit(exitInterrupted)
}

// withLive adds a live count of hosts done to human output when stderr is a
// terminal; the returned func counts a host and stop removes the line.
func (a *App) withLive(h ui.Handler, total int) (ui.Handler, func(), func()) {
	f, ok := a.stderrRaw.(*os.File)
	if _, text := h.(*ui.Text); !text || !ok || !term.IsTerminal(int(f.Fd())) {
		return h, nil, func() {}
	}
	live := ui.NewLive(h, a.stderr, total)
	return live, live.HostDone, live.Close
}

// handler picks, once per command, human lines or the JSON event stream.
func (a *App) handler(c *cli.Context) ui.Handler {
	if c.Bool("json") {
		return ui.NewJSON(a.stdout)
	}
	return ui.NewText(a.stdout, a.stderr, c.Bool("quiet"))
}

func printVersion(c *cli.Context) error {
	_, err := fmt.Fprintln(c.App.Writer, "berth", version)
	return err
}

// setUsageError makes flag errors of every subcommand usage errors (exit 64)
// with a hint, instead of a full help dump.
func (a *App) setUsageError(cmd *cli.Command) {
	cmd.OnUsageError = func(c *cli.Context, err error, isSub bool) error {
		return a.flagUsageError(cmd, err)
	}
	for _, sub := range cmd.Subcommands {
		a.setUsageError(sub)
	}
}

func hasFlag(cmd *cli.Command, name string) bool {
	for _, f := range cmd.Flags {
		for _, n := range f.Names() {
			if n == name {
				return true
			}
		}
	}
	return false
}
