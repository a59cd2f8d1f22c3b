// Flag handling of the padchat command.
package main

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRunFlags(t *testing.T) {
	for _, tt := range []struct {
		name    string
		args    []string
		want    error
		wantErr string // on stderr
	}{
		{"no bundle", nil, errUsage, "usage: padchat --bundle DIR"},
		{"stray argument", []string{"--bundle", "b", "extra"}, errUsage, "usage: padchat --bundle DIR"},
		{"unknown flag", []string{"--nope"}, errUsage, "flag provided but not defined"},
		{"help", []string{"-h"}, flag.ErrHelp, "usage: padchat --bundle DIR"},
		{"missing bundle dir", []string{"--bundle", t.TempDir() + "/none"}, nil, "padchat: bundle: open "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), tt.args, strings.NewReader(""), &stdout, &stderr)
			assert.Error(t, err)
			if tt.want != nil {
				assert.True(t, errors.Is(err, tt.want), "got %v", err)
			}
			assert.Contains(t, stderr.String(), tt.wantErr)
			assert.Empty(t, stdout.String())
		})
	}
}
