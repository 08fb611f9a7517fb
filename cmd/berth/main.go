// Command berth deploys stateful Docker stacks to hosts over SSH.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := NewApp(os.Stdin, os.Stdout, os.Stderr).Run(ctx, os.Args)
	stop()
	os.Exit(code)
}
