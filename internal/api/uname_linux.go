package api

import "syscall"

// uname returns what uname(2) says: sysname, nodename, release, version,
// machine.
func uname() (fields [5]string, ok bool) {
	var u syscall.Utsname
	if syscall.Uname(&u) != nil {
		return fields, false
	}
	return [5]string{cstr(u.Sysname[:]), cstr(u.Nodename[:]), cstr(u.Release[:]), cstr(u.Version[:]),
		cstr(u.Machine[:])}, true
}

// cstr reads a NUL-terminated C string (int8 or uint8 by architecture).
func cstr[T int8 | uint8](a []T) string {
	b := make([]byte, 0, len(a))
	for _, c := range a {
		if c == 0 {
			break
		}
		b = append(b, byte(c))
	}
	return string(b)
}
