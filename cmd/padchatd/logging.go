// Logging: human-readable on a terminal, JSON otherwise, to a file that SIGHUP reopens (logrotate).
package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/term"
)

// logWriter is stderr, or a file that can be reopened under the loop's feet.
// Logging is not the hot path, so a mutex is fine here.
type logWriter struct {
	mu   sync.Mutex
	path string
	w    io.Writer
	f    *os.File
}

func newLogWriter(path string, stderr io.Writer) (*logWriter, error) {
	lw := &logWriter{path: path, w: stderr}
	if path == "" {
		return lw, nil
	}
	return lw, lw.Reopen()
}

func (lw *logWriter) Write(p []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return lw.w.Write(p)
}

// Reopen opens the log file anew (after logrotate moved it); no-op for stderr.
func (lw *logWriter) Reopen() error {
	if lw.path == "" {
		return nil
	}
	f, err := os.OpenFile(lw.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("log file: %w", err)
	}
	lw.mu.Lock()
	old := lw.f
	lw.f, lw.w = f, f
	lw.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return nil
}

func (lw *logWriter) Close() error {
	if lw.f != nil {
		return lw.f.Close()
	}
	return nil
}

// newLogger writes human-readable lines on a terminal and JSON otherwise.
func newLogger(lw *logWriter, level string) (zerolog.Logger, error) {
	lv, err := zerolog.ParseLevel(level)
	if err != nil {
		return zerolog.Logger{}, fmt.Errorf("--log-level: %w", err)
	}
	var w io.Writer = lw
	if f, ok := lw.w.(*os.File); ok && lw.f == nil && term.IsTerminal(int(f.Fd())) {
		w = zerolog.ConsoleWriter{Out: lw, TimeFormat: time.TimeOnly}
	}
	return zerolog.New(w).Level(lv).With().Timestamp().Logger(), nil
}
