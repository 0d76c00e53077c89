package hostcluster

import (
	"os"
	"testing"
	"time"
)

// A process waiting for a cluster's lock while the holder deletes the
// cluster (and its lock file) gets a lock on a new file, which still
// keeps a third process out.
func TestALockRemovedWhileAnotherWaitsStillExcludes(t *testing.T) {
	s := Store{Root: t.TempDir()}
	unlock, err := s.Lock("c1")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan func(), 1)
	go func() {
		u, err := s.Lock("c1")
		if err != nil {
			t.Error(err)
		}
		got <- u
	}()
	time.Sleep(50 * time.Millisecond) // the second waits on the old file
	if err := s.RemoveLock("c1"); err != nil {
		t.Fatal(err)
	}
	unlock()
	second := <-got
	if _, err := os.Stat(s.lockFile("c1")); err != nil {
		t.Fatalf("the second holder's lock file: %v", err)
	}
	third := make(chan func(), 1)
	go func() {
		u, _ := s.Lock("c1")
		third <- u
	}()
	select {
	case <-third:
		t.Fatal("a third process got the lock the second holds")
	case <-time.After(100 * time.Millisecond):
	}
	second()
	(<-third)()
	if err := s.RemoveLock("c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.lockFile("c1")); !os.IsNotExist(err) {
		t.Errorf("after RemoveLock: %v", err)
	}
}
