// Command nfpm builds srs-lite's .deb and .ipk packages with the nfpm
// library (github.com/goreleaser/nfpm/v2, pinned in this folder's own go.mod
// so that it never enters the server's module graph). It takes the same
// arguments as `nfpm package`, with only the deb and ipk packagers: the full
// nfpm command also links rpm and msix support, whose modules the Go proxy
// here does not serve.
//
//	nfpm package -f packaging/nfpm.yaml -p deb|ipk -t dist/
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb" // registers the deb packager
	_ "github.com/goreleaser/nfpm/v2/ipk" // registers the ipk packager
)

func main() {
	args := os.Args[1:]
	if len(args) > 0 && (args[0] == "package" || args[0] == "pkg") {
		args = args[1:]
	}
	fs := flag.NewFlagSet("nfpm package", flag.ExitOnError)
	config := fs.String("f", "nfpm.yaml", "config `file`")
	target := fs.String("t", "", "package `file` or folder (folder: conventional file name)")
	packager := fs.String("p", "", "packager: deb or ipk")
	_ = fs.Parse(args)
	out, err := pack(*config, *target, *packager)
	if err != nil {
		fmt.Fprintf(os.Stderr, "nfpm: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(out)
}

func pack(config, target, format string) (string, error) {
	if format == "" {
		return "", errors.New("-p deb or -p ipk is required")
	}
	cfg, err := nfpm.ParseFile(config)
	if err != nil {
		return "", fmt.Errorf("%s: %w", config, err)
	}
	info, err := cfg.Get(format)
	if err != nil {
		return "", err
	}
	info = nfpm.WithDefaults(info)
	pkg, err := nfpm.Get(format)
	if err != nil {
		return "", err
	}
	if st, err := os.Stat(target); target == "" || err == nil && st.IsDir() {
		target = filepath.Join(target, pkg.ConventionalFileName(info))
	}
	f, err := os.Create(target)
	if err != nil {
		return "", err
	}
	info.Target = target
	if err := pkg.Package(info, f); err != nil {
		f.Close()
		os.Remove(target)
		return "", err
	}
	return target, f.Close()
}
