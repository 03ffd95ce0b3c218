package main

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"tracehound": main,
	})
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("TRACEHOUND_DATA", env.WorkDir+"/data")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// freeport NAME sets $NAME to a free loopback port.
			"freeport": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 1 {
					ts.Fatalf("usage: freeport NAME")
				}
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				ts.Check(err)
				port := ln.Addr().(*net.TCPAddr).Port
				ln.Close()
				ts.Setenv(args[0], strconv.Itoa(port))
			},
			// envfile NAME FILE sets $NAME to the first line of FILE, such
			// as a token's secret that a command printed (cp stdout FILE).
			"envfile": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 2 {
					ts.Fatalf("usage: envfile NAME FILE")
				}
				first, _, _ := strings.Cut(ts.ReadFile(args[1]), "\n")
				ts.Setenv(args[0], strings.TrimSpace(first))
			},
			// waitready URL waits up to 20s for URL to answer 200.
			"waitready": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 1 {
					ts.Fatalf("usage: waitready URL")
				}
				deadline := time.Now().Add(20 * time.Second)
				for time.Now().Before(deadline) {
					if resp, err := http.Get(args[0]); err == nil {
						resp.Body.Close()
						if resp.StatusCode == http.StatusOK {
							return
						}
					}
					time.Sleep(50 * time.Millisecond)
				}
				ts.Fatalf("%s not ready after 20s", args[0])
			},
		},
	})
}
