package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// WriteAtomic replaces the file at path with data so that a crash leaves
// either the old or the new file, never a mix: it writes a temporary file in
// the same directory, syncs it, renames it over path and syncs the directory.
// The previous file, if any, is kept as path+".bak" (see Rollback). The new
// file keeps the old one's permissions (0644 for a new file).
func WriteAtomic(path string, data []byte) error { return writeAtomic(path, data, true) }

// WriteFileAtomic is WriteAtomic without the .bak copy: for files whose
// history is kept elsewhere (the OTA transaction's last-good config).
func WriteFileAtomic(path string, data []byte) error { return writeAtomic(path, data, false) }

func writeAtomic(path string, data []byte, keepBak bool) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	mode := fs.FileMode(0o644)
	old, err := os.Stat(path)
	switch {
	case err == nil:
		mode = old.Mode().Perm()
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("config: write %s: %w", path, err)
	}

	tmp, err := writeTemp(dir, base, data, mode)
	if err != nil {
		return fmt.Errorf("config: write %s: %w", path, err)
	}
	if old != nil && keepBak {
		if err := backup(path, path+".bak"); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("config: write %s: backup: %w", path, err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("config: write %s: %w", path, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("config: write %s: sync dir: %w", path, err)
	}
	return nil
}

// Rollback restores path from path+".bak", atomically, after a reload that
// failed. The .bak file is kept.
func Rollback(path string) error {
	data, err := os.ReadFile(path + ".bak")
	if err != nil {
		return fmt.Errorf("config: rollback %s: %w", path, err)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	mode := fs.FileMode(0o644)
	if st, err := os.Stat(path + ".bak"); err == nil {
		mode = st.Mode().Perm()
	}
	tmp, err := writeTemp(dir, base, data, mode)
	if err != nil {
		return fmt.Errorf("config: rollback %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("config: rollback %s: %w", path, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("config: rollback %s: sync dir: %w", path, err)
	}
	return nil
}

// writeTemp writes data to a new synced temporary file in dir and returns its name.
func writeTemp(dir, base string, data []byte, mode fs.FileMode) (string, error) {
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return "", err
	}
	name := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return "", err
	}
	return name, nil
}

// backup makes bak a synced copy of path: a hard link when the file system
// has them, a copy otherwise.
func backup(path, bak string) error {
	if err := os.Remove(bak); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if os.Link(path, bak) == nil {
		return nil
	}
	src, err := os.Open(path)
	if err != nil {
		return err
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return err
	}
	dst, err := os.OpenFile(bak, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, st.Mode().Perm())
	if err != nil {
		return err
	}
	_, err = io.Copy(dst, src)
	if err == nil {
		err = dst.Sync()
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir makes a rename in dir durable. Some file systems cannot sync a
// directory; that is not an error.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, errors.ErrUnsupported) {
		return err
	}
	return nil
}
