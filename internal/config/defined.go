package config

import (
	"strconv"
	"strings"
)

// Defined reports whether the file the config was parsed from sets key
// itself, rather than leaving it to its default: the config file wins over
// a board profile, which wins over the built-in default, for keys that both
// may set. key is dotted, with [i] for an element of an array of tables:
// "server.max_connections", "vhost[0].ring_frames". A config not parsed
// from a file (Default) defines nothing.
//
// A key inside an inline table or array (hls = {path = "x"}, vhost = [{...}])
// cannot be told apart from its siblings: every key under it counts as
// defined, so that what the file wrote is never overridden.
func (c *Config) Defined(key string) bool {
	if c.src == nil || c.src.lines == nil || key == "" {
		return false
	}
	path, ok := internalPath(key)
	if !ok {
		return false
	}
	if _, ok := c.src.lines[path]; ok {
		return true
	}
	// An ancestor recorded with nothing recorded under it was an inline value.
	for p := path; ; {
		i := strings.LastIndexAny(p, ".\x00")
		if i < 0 {
			return false
		}
		p = p[:i]
		if _, ok := c.src.lines[p]; ok {
			return !c.src.hasChildren(p)
		}
	}
}

// hasChildren reports whether any key under path was recorded.
func (s *source) hasChildren(path string) bool {
	for k := range s.lines {
		if len(k) > len(path) && strings.HasPrefix(k, path) && (k[len(path)] == '.' || k[len(path)] == 0) {
			return true
		}
	}
	return false
}

// internalPath turns "vhost[1].hls.path" into the indexed path the line
// scanner records.
func internalPath(key string) (string, bool) {
	path := ""
	for part := range strings.SplitSeq(key, ".") {
		name, idx, indexed := strings.Cut(part, "[")
		if name == "" {
			return "", false
		}
		path = joinKey(path, name)
		if indexed {
			n, err := strconv.Atoi(strings.TrimSuffix(idx, "]"))
			if err != nil || n < 0 || !strings.HasSuffix(idx, "]") {
				return "", false
			}
			path = indexKey(path, n)
		}
	}
	return path, true
}
