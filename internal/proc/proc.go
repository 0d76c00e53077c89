// Package proc starts and stops the long-lived processes of host clusters.
//
// Processes are detached from kubeml: each runs in its own session with its
// output in a log file, and a pid file records its pid and kernel start time
// so that a later kubeml (after a crash or restart) can find it again
// without mistaking a recycled pid for it.
package proc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Spec describes a process to start.
type Spec struct {
	Name    string   // short name used in messages, e.g. "kube-apiserver"
	Path    string   // executable
	Args    []string // arguments, without argv[0]
	Env     []string // extra environment on top of the minimal base
	Dir     string   // working directory
	LogFile string   // stdout and stderr go here (appended)
	PidFile string   // "pid starttime" is written here
}

// Start starts the process detached from the caller and records it.
func Start(s Spec) (int, error) {
	if err := os.MkdirAll(filepath.Dir(s.LogFile), 0o700); err != nil {
		return 0, fmt.Errorf("failed to start %s: %w", s.Name, err)
	}
	logf, err := os.OpenFile(s.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return 0, fmt.Errorf("failed to start %s: %w", s.Name, err)
	}
	defer logf.Close()
	cmd := exec.Command(s.Path, s.Args...)
	cmd.Dir = s.Dir
	cmd.Env = append(baseEnv(), s.Env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("failed to start %s: %w", s.Name, err)
	}
	pid := cmd.Process.Pid
	// Reap the child if it exits while we still run; after we exit, init does.
	go func() { _ = cmd.Wait() }()
	st, err := startTime(pid)
	if err != nil {
		return 0, fmt.Errorf("failed to start %s: process exited at once: %s", s.Name, Tail(s.LogFile, 20))
	}
	if err := record(s.PidFile, pid, st); err != nil {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		return 0, fmt.Errorf("failed to record %s: %w", s.Name, err)
	}
	return pid, nil
}

func baseEnv() []string {
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	if h := os.Getenv("HOME"); h != "" {
		env = append(env, "HOME="+h)
	}
	return env
}

// Running returns the pid recorded in pidFile if that process still runs.
func Running(pidFile string) (int, bool) {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0, false
	}
	pid, err1 := strconv.Atoi(f[0])
	want, err2 := strconv.ParseUint(f[1], 10, 64)
	if err1 != nil || err2 != nil || pid <= 1 {
		return 0, false
	}
	got, err := startTime(pid)
	if err != nil || got != want || zombie(pid) {
		return 0, false
	}
	return pid, true
}

// Stop ends the recorded process and its process group: SIGTERM, then
// SIGKILL after grace. The pid file is removed. Stopping a process that
// is not running is not an error.
func Stop(pidFile string, grace time.Duration) error {
	pid, ok := Running(pidFile)
	if ok && !KillGroup(pid, grace) {
		return fmt.Errorf("process %d (%s) did not exit after SIGKILL", pid, pidFile)
	}
	if err := os.Remove(pidFile); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("failed to remove %s: %w", pidFile, err)
	}
	return nil
}

// KillGroup sends SIGTERM to pid's process group (and pid), waits up to
// grace for pid to exit, then sends SIGKILL. It reports whether pid is gone.
func KillGroup(pid int, grace time.Duration) bool {
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	_ = syscall.Kill(pid, syscall.SIGTERM)
	if WaitExit(pid, grace) {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		return true
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	_ = syscall.Kill(pid, syscall.SIGKILL)
	return WaitExit(pid, 5*time.Second)
}

// WaitExit waits up to d for pid to be gone (or a zombie) and reports
// whether it is.
func WaitExit(pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if syscall.Kill(pid, 0) != nil || zombie(pid) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startTime reads the process start time (clock ticks since boot) from
// /proc/<pid>/stat.
func startTime(pid int) (uint64, error) {
	f, err := statFields(pid)
	if err != nil {
		return 0, err
	}
	// Field 22 overall; fields after the ")" start at field 3.
	return strconv.ParseUint(f[22-3], 10, 64)
}

func zombie(pid int) bool {
	f, err := statFields(pid)
	return err != nil || f[0] == "Z" || f[0] == "X"
}

func statFields(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return nil, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	return f, nil
}

// Tail returns the last n lines of a log file, for error messages.
func Tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Named returns the pids of live (not zombie) processes whose command
// name is comm.
func Named(comm string) []int {
	return scan("comm", func(b []byte) bool { return strings.TrimSpace(string(b)) == comm })
}

// scan returns the live processes, other than the caller, whose
// /proc/<pid>/<file> satisfies match.
func scan(file string, match func([]byte) bool) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	self := os.Getpid()
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/" + file)
		if err == nil && match(b) && !zombie(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// Adopt records pid in pidFile, for a process found running without one
// (its starter died between starting it and writing the file).
func Adopt(pid int, pidFile string) error {
	st, err := startTime(pid)
	if err != nil {
		return err
	}
	return record(pidFile, pid, st)
}

func record(pidFile string, pid int, startTime uint64) error {
	return os.WriteFile(pidFile, fmt.Appendf(nil, "%d %d\n", pid, startTime), 0o600)
}

// Argv returns a process's command line.
func Argv(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return nil
	}
	return strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
}

// Matching returns the pids of processes whose command line contains
// substr, other than the caller. It finds processes a crashed kubeml left
// without a pid file (containerd shims, say).
func Matching(substr string) []int {
	return scan("cmdline", func(b []byte) bool { return bytes.Contains(b, []byte(substr)) })
}
