// Command berth deploys stateful Docker stacks to hosts over SSH.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	app := NewApp(os.Stdin, os.Stdout, os.Stderr)
	go app.onSignals(sigs, cancel, os.Exit)
	code := app.Run(ctx, os.Args)
	cancel()
	os.Exit(code)
}
