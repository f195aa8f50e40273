package board

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Memory is how much RAM the process may use, and where that figure came from.
type Memory struct {
	Total  uint64 // bytes; 0 when unknown
	Source string // "/proc/meminfo", or the cgroup file that lowered it
}

// ReadMemory reads MemTotal from /proc/meminfo, lowered by the cgroup v2 (or
// v1) memory limit when the process runs in a container with a smaller one.
func ReadMemory() (Memory, error) { return readMemory("/") }

// readMemory reads the files under root (a test's fake tree).
func readMemory(root string) (Memory, error) {
	f, err := os.Open(root + "proc/meminfo")
	if err != nil {
		return Memory{}, fmt.Errorf("board: %w", err)
	}
	defer f.Close()
	total, err := ParseMemInfo(f)
	if err != nil {
		return Memory{}, err
	}
	m := Memory{Total: total, Source: "/proc/meminfo"}
	for _, cg := range []string{"sys/fs/cgroup/memory.max", "sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		data, err := os.ReadFile(root + cg)
		if err != nil {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
		if err == nil && n > 0 && n < m.Total {
			m = Memory{Total: n, Source: "/" + cg}
		}
		break
	}
	return m, nil
}

// ErrNoMemTotal is returned by ParseMemInfo for text without a MemTotal line.
var ErrNoMemTotal = errors.New("board: no MemTotal in /proc/meminfo")

// ParseMemInfo returns MemTotal, in bytes, from the text of /proc/meminfo
// ("MemTotal:       24684084 kB", proc(5)).
func ParseMemInfo(r io.Reader) (uint64, error) {
	sc := bufio.NewScanner(io.LimitReader(r, 1<<20))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("MemTotal:"))
		if !ok {
			continue
		}
		fields := strings.Fields(string(rest))
		if len(fields) == 0 || len(fields) > 2 {
			return 0, fmt.Errorf("board: bad MemTotal line %q", sc.Text())
		}
		n, err := strconv.ParseUint(fields[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("board: bad MemTotal line %q", sc.Text())
		}
		mul := uint64(1)
		if len(fields) == 2 {
			if !strings.EqualFold(fields[1], "kB") {
				return 0, fmt.Errorf("board: bad MemTotal unit %q", fields[1])
			}
			mul = 1024
		}
		if n > ^uint64(0)/mul {
			return 0, fmt.Errorf("board: MemTotal %d kB too large", n)
		}
		return n * mul, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("board: read /proc/meminfo: %w", err)
	}
	return 0, ErrNoMemTotal
}
