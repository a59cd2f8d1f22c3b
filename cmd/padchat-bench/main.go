// padchat-bench is padchat's load generator: fan-out, latency, idle and DM scenarios
// against padchatd and the servers people use today (ngircd, Redis, NATS).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "padchat-bench:", err)
		os.Exit(1)
	}
}
