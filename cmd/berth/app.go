package main

import (
	"context"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// App is the berth command line, built over its IO streams so tests can run it
// in-process.
type App struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

func NewApp(stdin io.Reader, stdout, stderr io.Writer) *App {
	return &App{stdin: stdin, stdout: stdout, stderr: stderr}
}

// Run runs berth with args (args[0] is the program name) and returns the exit code.
func (a *App) Run(ctx context.Context, args []string) int {
	app := &cli.App{
		Name:      "berth",
		Usage:     "deploy stateful Docker stacks to hosts over SSH",
		Reader:    a.stdin,
		Writer:    a.stdout,
		ErrWriter: a.stderr,
		Commands: []*cli.Command{
			{
				Name:  "version",
				Usage: "print berth's version",
				Action: func(c *cli.Context) error {
					fmt.Fprintln(a.stdout, "berth", version)
					return nil
				},
			},
		},
	}
	if err := app.RunContext(ctx, args); err != nil {
		fmt.Fprintln(a.stderr, "berth:", err)
		return 1
	}
	return 0
}
