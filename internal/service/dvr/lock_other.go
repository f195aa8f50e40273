//go:build !unix

package dvr

import "os"

// lock does nothing where flock is missing: Repair then trusts that no
// other process writes the same folders.
func lock(*os.File) error { return nil }
