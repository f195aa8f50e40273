package config

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "srs.toml")
	read := func(p string) string {
		t.Helper()
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	// A new file: no backup.
	if err := WriteAtomic(path, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if got := read(path); got != "one" {
		t.Fatalf("file = %q", got)
	}
	if _, err := os.Stat(path + ".bak"); !os.IsNotExist(err) {
		t.Fatalf("backup of a new file: %v", err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o644 {
		t.Fatalf("mode = %v", st.Mode())
	}

	// Replacing keeps the previous file and its mode.
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteAtomic(path, []byte("two")); err != nil {
		t.Fatal(err)
	}
	if got, bak := read(path), read(path+".bak"); got != "two" || bak != "one" {
		t.Fatalf("file = %q, bak = %q", got, bak)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode = %v", st.Mode())
	}
	if err := WriteAtomic(path, []byte("three")); err != nil {
		t.Fatal(err)
	}
	if got, bak := read(path), read(path+".bak"); got != "three" || bak != "two" {
		t.Fatalf("file = %q, bak = %q", got, bak)
	}

	// Rollback restores the backup.
	if err := Rollback(path); err != nil {
		t.Fatal(err)
	}
	if got := read(path); got != "two" {
		t.Fatalf("after rollback = %q", got)
	}

	// No temporary files are left behind.
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Fatalf("dir holds %v", names)
	}
}

func TestWriteAtomicErrors(t *testing.T) {
	dir := t.TempDir()
	if err := WriteAtomic(filepath.Join(dir, "missing", "a.toml"), []byte("x")); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}
	if err := Rollback(filepath.Join(dir, "a.toml")); err == nil {
		t.Fatal("rollback without a backup succeeded")
	}
}

func TestWriteAtomicRelative(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := WriteAtomic("a.toml", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := WriteAtomic("a.toml", []byte("y")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile("a.toml.bak"); string(b) != "x" {
		t.Fatalf("bak = %q", b)
	}
}
