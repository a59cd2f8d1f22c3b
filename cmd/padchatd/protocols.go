// The plain-text protocols' flags and config keys, made from server's registry (server/dialects.go).
package main

import (
	"errors"
	"flag"
	"strconv"

	"padchat/server"
)

// protocols lists the plain-text protocols to make flags for; a test adds a
// throwaway one to see that registering it is all a protocol needs.
var protocols = server.Protocols

// addProtocolFlags declares --listen-NAME for every protocol, and a flag for
// each of its own options; they fill cfg.Listeners and cfg.ProtocolOptions,
// and the config file takes the same names.
func addProtocolFlags(fs *flag.FlagSet, cfg *server.Config, ps []server.Protocol) {
	for _, p := range ps {
		fs.Var(listenFlag{&cfg.Listeners, p.Name}, "listen-"+p.Name, p.Help)
		for _, o := range p.Options {
			fs.Var(optionFlag{&cfg.ProtocolOptions, o}, o.Name, o.Help)
		}
	}
}

// listenFlag is one protocol's address in Config.Listeners ("": off).
type listenFlag struct {
	m    *map[string]string
	name string
}

func (f listenFlag) String() string {
	if f.m == nil {
		return ""
	}
	return (*f.m)[f.name]
}

func (f listenFlag) Set(v string) error {
	if *f.m == nil {
		*f.m = map[string]string{}
	}
	(*f.m)[f.name] = v
	return nil
}

// optionFlag is one protocol option in Config.ProtocolOptions, checked
// against the range the protocol allows; unset, it shows its default.
type optionFlag struct {
	m *map[string]int
	o server.Option
}

func (f optionFlag) String() string {
	if f.m == nil {
		return ""
	}
	if v, ok := (*f.m)[f.o.Name]; ok {
		return strconv.Itoa(v)
	}
	return strconv.Itoa(f.o.Default)
}

func (f optionFlag) Set(s string) error {
	v, err := strconv.Atoi(s)
	if err != nil {
		return errors.New("not a whole number")
	}
	if err := f.o.Check(v); err != nil {
		return err
	}
	if *f.m == nil {
		*f.m = map[string]int{}
	}
	(*f.m)[f.o.Name] = v
	return nil
}
