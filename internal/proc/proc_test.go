package proc

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestStartRecordsAProcessThatStopEnds(t *testing.T) {
	dir := t.TempDir()
	s := Spec{Name: "sleeper", Path: "/bin/sh", Args: []string{"-c", "echo started; exec sleep 60"},
		LogFile: filepath.Join(dir, "sleeper.log"), PidFile: filepath.Join(dir, "sleeper.pid")}
	pid, err := Start(s)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := Running(s.PidFile); !ok || got != pid {
		t.Fatalf("Running = %d, %v; want %d, true", got, ok, pid)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(Tail(s.LogFile, 5), "started") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(Tail(s.LogFile, 5), "started") {
		t.Errorf("log = %q, want the process's output", Tail(s.LogFile, 5))
	}
	if err := Stop(s.PidFile, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, ok := Running(s.PidFile); ok {
		t.Fatal("still running after Stop")
	}
	if _, err := os.Stat(s.PidFile); !os.IsNotExist(err) {
		t.Fatalf("pid file left: %v", err)
	}
	if err := Stop(s.PidFile, time.Second); err != nil {
		t.Fatalf("stopping a stopped process: %v", err)
	}
}

func TestRunningRejectsARecycledPid(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "x.pid")
	// Our own pid with a start time that is not ours: a recycled pid.
	if err := os.WriteFile(pidFile, []byte(strings.Join([]string{itoa(os.Getpid()), "1"}, " ")), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, ok := Running(pidFile); ok {
		t.Fatal("a pid whose start time differs was taken for the recorded process")
	}
	if err := Adopt(os.Getpid(), pidFile); err != nil {
		t.Fatal(err)
	}
	if pid, ok := Running(pidFile); !ok || pid != os.Getpid() {
		t.Fatalf("after Adopt: %d, %v", pid, ok)
	}
	for _, bad := range []string{"", "garbage", "12", "-1 5"} {
		os.WriteFile(pidFile, []byte(bad), 0o600)
		if _, ok := Running(pidFile); ok {
			t.Errorf("pid file %q taken as running", bad)
		}
	}
}

func TestStartReportsAProcessThatCannotStart(t *testing.T) {
	dir := t.TempDir()
	_, err := Start(Spec{Name: "nothing", Path: filepath.Join(dir, "missing"),
		LogFile: filepath.Join(dir, "l"), PidFile: filepath.Join(dir, "p")})
	if err == nil || !strings.Contains(err.Error(), "nothing") {
		t.Fatalf("err = %v, want a failure naming the process", err)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestListenerNamesTheProcessOnAPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	if got := Listener(port); got != os.Getpid() {
		t.Errorf("Listener(%d) = %d, want this test's pid %d", port, got, os.Getpid())
	}
	ln.Close()
	if got := Listener(port); got != 0 {
		t.Errorf("Listener(%d) after close = %d, want 0", port, got)
	}
}
