// Package packaging checks what srs-lite ships besides its binary: the
// service files in rootfs/ (systemd unit, OpenWrt procd script and UCI file,
// SysV script), the package scripts and nfpm config here, the OpenWrt feed
// Makefile, the size budgets, and, when SRS_LITE_DIST names a folder of
// built packages (make package-check), the .deb and .ipk themselves.
package packaging

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"debug/elf"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

const root = ".."

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, path))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// ourScripts are the shell scripts this part of the tree owns: checked with
// sh -n and, when installed, shellcheck.
var ourScripts = []string{
	"rootfs/sysv/etc/init.d/srs-lite",
	"rootfs/sysv/etc/default/srs-lite",
	"rootfs/openwrt/etc/init.d/srs-lite",
	"packaging/deb/postinst",
	"packaging/deb/prerm",
	"packaging/deb/postrm",
	"packaging/ipk/postinst",
	"packaging/ipk/prerm",
	"scripts/cross.sh",
	"scripts/cross-unit.sh",
	"scripts/size-check.sh",
	"scripts/package.sh",
}

func TestShellSyntax(t *testing.T) {
	others, _ := filepath.Glob(filepath.Join(root, "scripts", "*.sh"))
	seen := map[string]bool{}
	var all []string
	for _, p := range ourScripts {
		all = append(all, filepath.Join(root, p))
	}
	all = append(all, others...)
	for _, p := range all {
		if seen[p] {
			continue
		}
		seen[p] = true
		t.Run(strings.TrimPrefix(p, root+"/"), func(t *testing.T) {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			shell := "sh"
			if bytes.HasPrefix(b, []byte("#!/bin/bash")) || bytes.HasPrefix(b, []byte("#!/usr/bin/env bash")) {
				shell = "bash"
			}
			if out, err := exec.Command(shell, "-n", p).CombinedOutput(); err != nil {
				t.Errorf("%s -n %s: %v\n%s", shell, p, err, out)
			}
		})
	}
}

func TestShellcheck(t *testing.T) {
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Skip("SKIPPED: shellcheck is not installed (Debian/Ubuntu: apt-get install shellcheck; `make test` installs it when run as root)")
	}
	for _, p := range ourScripts {
		t.Run(p, func(t *testing.T) {
			out, err := exec.Command("shellcheck", "-s", "sh", filepath.Join(root, p)).CombinedOutput()
			if err != nil {
				t.Errorf("shellcheck %s:\n%s", p, out)
			}
		})
	}
}

// unitKeys parses a systemd unit into section.key -> values.
func unitKeys(s string) map[string][]string {
	keys := map[string][]string{}
	sec := ""
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			sec = strings.Trim(line, "[]")
		default:
			k, v, ok := strings.Cut(line, "=")
			if ok {
				keys[sec+"."+k] = append(keys[sec+"."+k], v)
			}
		}
	}
	return keys
}

func TestSystemdUnit(t *testing.T) {
	keys := unitKeys(read(t, "rootfs/systemd/lib/systemd/system/srs-lite.service"))
	tests := []struct{ key, want string }{
		{"Service.Type", `^notify$`},
		{"Service.ExecStart", `^/usr/bin/srs-lite -c /etc/srs-lite/srs-lite\.toml$`},
		{"Service.ExecStartPre", `^/usr/bin/srs-lite -t -c /etc/srs-lite/srs-lite\.toml$`},
		{"Service.ExecReload", `^/bin/kill -HUP \$MAINPID$`},
		{"Service.Restart", `^on-failure$`},
		{"Service.WatchdogSec", `^[1-9][0-9]*s$`},
		{"Service.TimeoutStopSec", `^[1-9][0-9]*s$`},
		{"Service.WorkingDirectory", `^/var/lib/srs-lite$`},
		{"Service.StateDirectory", `^srs-lite$`},
		{"Unit.After", `network-online\.target`},
		{"Install.WantedBy", `^multi-user\.target$`},
	}
	for _, tt := range tests {
		v := keys[tt.key]
		if len(v) != 1 || !regexp.MustCompile(tt.want).MatchString(v[0]) {
			t.Errorf("%s = %q, want one value matching %s", tt.key, v, tt.want)
		}
	}
	if _, err := exec.LookPath("systemd-analyze"); err == nil {
		// verify needs the ExecStart binary: point a copy of the unit at /bin/true.
		dir := t.TempDir()
		u := strings.ReplaceAll(read(t, "rootfs/systemd/lib/systemd/system/srs-lite.service"), "/usr/bin/srs-lite", "/bin/true")
		p := filepath.Join(dir, "srs-lite.service")
		os.WriteFile(p, []byte(u), 0o644)
		out, err := exec.Command("systemd-analyze", "verify", "--man=no", p).CombinedOutput()
		for _, line := range strings.Split(string(out), "\n") {
			// Only complaints about our unit; a container lacks much else.
			if strings.Contains(line, "srs-lite.service:") && !strings.Contains(line, "Failed to load") {
				t.Errorf("systemd-analyze verify: %s (err %v)", line, err)
			}
		}
	}
}

func TestUCI(t *testing.T) {
	s := read(t, "rootfs/openwrt/etc/config/srs-lite")
	for _, want := range []string{
		`(?m)^config srs-lite 'main'$`,
		`(?m)^\toption enabled '1'$`,
		`(?m)^\toption config '/etc/srs-lite/srs-lite\.toml'$`,
		`(?m)^\toption workdir '/tmp/srs-lite'$`,
	} {
		if !regexp.MustCompile(want).MatchString(s) {
			t.Errorf("/etc/config/srs-lite lacks %s:\n%s", want, s)
		}
	}
}

// TestProcdInit runs the OpenWrt init script's functions against stand-ins
// for rc.common, UCI and procd that print what they are asked to do.
func TestProcdInit(t *testing.T) {
	dir := t.TempDir()
	prog := filepath.Join(dir, "srs-lite")
	os.WriteFile(prog, []byte("#!/bin/sh\n[ \"$CHECK_FAILS\" = 1 ] && { echo 'bad config' >&2; exit 1; }\nexit 0\n"), 0o755)
	stubs := `
config_load() { echo "config_load $1"; }
config_get() { eval "v=\${UCI_$3-}"; [ -n "$v" ] || v=$4; eval "$1=\$v"; }
config_get_bool() { config_get "$@"; }
procd_open_instance() { echo "open_instance"; }
procd_set_param() { echo "set_param $*"; }
procd_close_instance() { echo "close_instance"; }
procd_send_signal() { echo "send_signal $*"; }
procd_add_config_trigger() { echo "config_trigger $*"; }
. "$SCRIPT"
PROG="$FAKE_PROG"
"$@"
`
	run := func(t *testing.T, env []string, fn string) (string, error) {
		t.Helper()
		cmd := exec.Command("sh", "-c", stubs, "sh", fn)
		cmd.Env = append(os.Environ(), append(env, "SCRIPT="+filepath.Join(root, "rootfs/openwrt/etc/init.d/srs-lite"), "FAKE_PROG="+prog)...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	work := filepath.Join(dir, "work")
	tests := []struct {
		name, fn string
		env      []string
		want     []string // regexps, in order
		not      string
		fail     bool
	}{
		{"start", "start_service", []string{"UCI_workdir=" + work},
			[]string{`config_load srs-lite`, `open_instance`,
				`set_param command /bin/sh -c cd "\$1" && exec "\$2" -c "\$3" srs-lite ` + regexp.QuoteMeta(work+" "+prog) + ` /etc/srs-lite/srs-lite\.toml`,
				`set_param respawn \d+ \d+ \d+`, `set_param term_timeout \d+`, `set_param stdout 1`, `set_param stderr 1`, `close_instance`}, "", false},
		{"start with another config", "start_service", []string{"UCI_config=/mnt/x.toml", "UCI_workdir=" + work},
			[]string{`set_param command .* /mnt/x\.toml\n`}, "", false},
		{"disabled", "start_service", []string{"UCI_enabled=0"}, nil, "open_instance", false},
		{"bad config", "start_service", []string{"CHECK_FAILS=1"}, []string{`bad config`, `not starting`}, "open_instance", true},
		{"reload", "reload_service", nil, []string{`send_signal srs-lite \* HUP`}, "", false},
		{"reload bad config", "reload_service", []string{"CHECK_FAILS=1"}, []string{`not reloading`}, "send_signal", true},
		{"triggers", "service_triggers", nil, []string{`config_trigger config\.change srs-lite /etc/init\.d/srs-lite restart`}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(t, tt.env, tt.fn)
			if (err != nil) != tt.fail {
				t.Fatalf("%s: err %v, want failure %v:\n%s", tt.fn, err, tt.fail, out)
			}
			rest := out
			for _, w := range tt.want {
				loc := regexp.MustCompile(w).FindStringIndex(rest)
				if loc == nil {
					t.Fatalf("%s: no %s (in order) in:\n%s", tt.fn, w, out)
				}
				rest = rest[loc[1]:]
			}
			if tt.not != "" && strings.Contains(out, tt.not) {
				t.Errorf("%s: %q in:\n%s", tt.fn, tt.not, out)
			}
		})
	}
	if _, err := os.Stat(work); err != nil {
		t.Errorf("start_service did not make the workdir: %v", err)
	}
}

// srsLiteBin is the binary the SysV test runs: SRS_LITE_BIN, else a fresh build.
func srsLiteBin(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("SRS_LITE_BIN"); p != "" {
		return p
	}
	p := filepath.Join(t.TempDir(), "srs-lite")
	cmd := exec.Command("go", "build", "-o", p, "./cmd/srs-lite")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return p
}

// TestSysVInit drives the SysV script through start, status, reload,
// restart and stop with the real server, in a temporary folder.
func TestSysVInit(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the server")
	}
	bin := srsLiteBin(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "srs-lite.toml")
	os.WriteFile(conf, []byte("[server]\ngrace = \"1s\"\n[rtmp]\nlisten = \"127.0.0.1:0\"\n[http_api]\nlisten = \"127.0.0.1:0\"\n[http_server]\nlisten = \"127.0.0.1:0\"\n[srt]\nlisten = \"127.0.0.1:0\"\n"), 0o644)
	pidfile := filepath.Join(dir, "run", "srs-lite.pid")
	logfile := filepath.Join(dir, "log", "srs-lite.log")
	defaults := filepath.Join(dir, "default")
	os.WriteFile(defaults, []byte("DAEMON="+bin+"\nCONFIG="+conf+"\nPIDFILE="+pidfile+"\nLOGFILE="+logfile+"\nWORKDIR="+filepath.Join(dir, "work")+"\nSTOP_TIMEOUT=5\n"), 0o644)
	script := filepath.Join(root, "rootfs/sysv/etc/init.d/srs-lite")
	sh := func(arg string) (string, int) {
		cmd := exec.Command("sh", script, arg)
		cmd.Env = append(os.Environ(), "SRS_LITE_DEFAULTS="+defaults)
		out, err := cmd.CombinedOutput()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}
	t.Cleanup(func() { sh("stop") })
	pid := func() string {
		b, _ := os.ReadFile(pidfile)
		return strings.TrimSpace(string(b))
	}
	logHas := func(s string) bool {
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if b, _ := os.ReadFile(logfile); strings.Contains(string(b), s) {
				return true
			}
			time.Sleep(50 * time.Millisecond)
		}
		return false
	}
	if out, code := sh("status"); code != 3 || !strings.Contains(out, "not running") {
		t.Fatalf("status before start: %d %q", code, out)
	}
	if out, code := sh("start"); code != 0 || !strings.Contains(out, "ok (pid ") {
		t.Fatalf("start: %d %q", code, out)
	}
	first := pid()
	if !logHas("srs-lite started") {
		t.Fatalf("no 'srs-lite started' in the log")
	}
	if addr := regexp.MustCompile(`rtmp=(\S+)`).FindStringSubmatch(readFile(logfile)); addr == nil {
		t.Error("no rtmp address in the log")
	} else if c, err := net.DialTimeout("tcp", addr[1], 2*time.Second); err != nil {
		t.Errorf("RTMP port %s: %v", addr[1], err)
	} else {
		c.Close()
	}
	if out, code := sh("start"); code != 0 || !strings.Contains(out, "already running") || pid() != first {
		t.Errorf("second start: %d %q", code, out)
	}
	if out, code := sh("status"); code != 0 || !strings.Contains(out, "is running (pid "+first+")") {
		t.Errorf("status: %d %q", code, out)
	}
	if out, code := sh("reload"); code != 0 || !strings.Contains(out, "SIGHUP") {
		t.Errorf("reload: %d %q", code, out)
	}
	if !logHas("config reloaded") {
		t.Errorf("no 'config reloaded' in the log after reload:\n%s", readFile(logfile))
	}
	if out, code := sh("restart"); code != 0 || pid() == first || pid() == "" {
		t.Errorf("restart: %d %q (pid %s, was %s)", code, out, pid(), first)
	}
	if out, code := sh("stop"); code != 0 || !strings.Contains(out, "ok") {
		t.Errorf("stop: %d %q", code, out)
	}
	if _, err := os.Stat(pidfile); err == nil {
		t.Error("pid file left after stop")
	}
	if out, code := sh("status"); code != 3 {
		t.Errorf("status after stop: %d %q", code, out)
	}
	// A broken config is refused before anything starts.
	os.WriteFile(conf, []byte("[rtmp]\nbogus = 1\n"), 0o644)
	if out, code := sh("start"); code == 0 || !strings.Contains(out, "not starting") {
		t.Errorf("start with a bad config: %d %q", code, out)
	}
}

func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

func TestOpenWrtMakefile(t *testing.T) {
	mk := read(t, "packaging/openwrt/srs-lite/Makefile")
	for _, want := range []string{
		`(?m)^include \$\(TOPDIR\)/rules\.mk$`,
		`(?m)^PKG_NAME:=srs-lite$`,
		`(?m)^PKG_VERSION:=\d+\.\d+\.\d+$`,
		`(?m)^PKG_RELEASE:=\d+$`,
		`(?m)^PKG_SOURCE_URL:=https://github\.com/srs-lite/srs-lite\.git$`,
		`(?m)^PKG_MAINTAINER:=.+<.+@.+>$`,
		`(?m)^PKG_BUILD_DEPENDS:=golang/host$`,
		`(?m)^GO_PKG:=github\.com/srs-lite/srs-lite$`,
		`(?m)^GO_PKG_BUILD_PKG:=\$\(GO_PKG\)/cmd/srs-lite$`,
		`(?m)^GO_PKG_LDFLAGS_X:=`,
		`\$\(GO_PKG\)/internal/buildinfo\.Version=\$\(PKG_VERSION\)`,
		`(?m)^include \$\(INCLUDE_DIR\)/package\.mk$`,
		`(?m)^include .*/lang/golang/golang-package\.mk$`,
		`(?m)^define Package/srs-lite$`,
		`(?m)^  DEPENDS:=\$\(GO_ARCH_DEPENDS\)`,
		`(?m)^  TITLE:=.+`,
		`(?m)^define Package/srs-lite/description$`,
		"(?m)^define Package/srs-lite/conffiles\n/etc/config/srs-lite\n/etc/srs-lite/srs-lite.toml\nendef$",
		`(?m)^define Package/srs-lite/install$`,
		`\$\(INSTALL_BIN\) \$\(GO_PKG_BUILD_BIN_DIR\)/srs-lite \$\(1\)/usr/bin/srs-lite`,
		`(?m)^\$\(eval \$\(call GoBinPackage,srs-lite\)\)$`,
		`(?m)^\$\(eval \$\(call BuildPackage,srs-lite\)\)$`,
	} {
		if !regexp.MustCompile(want).MatchString(mk) {
			t.Errorf("packaging/openwrt/srs-lite/Makefile lacks %s", want)
		}
	}
	// The install recipe: tab-indented, and every source file it names exists.
	body := mk[strings.Index(mk, "define Package/srs-lite/install"):]
	body = body[:strings.Index(body, "\nendef")]
	for _, line := range strings.Split(body, "\n")[1:] {
		if !strings.HasPrefix(line, "\t") {
			t.Errorf("install recipe line not tab-indented: %q", line)
		}
		for _, m := range regexp.MustCompile(`\$\(PKG_BUILD_DIR\)/(\S+)`).FindAllStringSubmatch(line, -1) {
			if _, err := os.Stat(filepath.Join(root, m[1])); err != nil {
				t.Errorf("install recipe names %s, missing from the tree", m[1])
			}
		}
	}
}

// TestNfpmConfig: every file the packages carry exists; config files are
// marked as such.
func TestNfpmConfig(t *testing.T) {
	y := read(t, "packaging/nfpm.yaml")
	for _, m := range regexp.MustCompile(`(?m)^\s*-?\s*(?:src|postinstall|preremove|postremove): (\S+)$`).FindAllStringSubmatch(y, -1) {
		if strings.Contains(m[1], "$") {
			continue
		}
		if _, err := os.Stat(filepath.Join(root, m[1])); err != nil {
			t.Errorf("nfpm.yaml names %s, missing from the tree", m[1])
		}
	}
	for _, dst := range []string{"/etc/srs-lite/srs-lite.toml", "/etc/config/srs-lite", "/etc/default/srs-lite"} {
		re := regexp.MustCompile(`dst: ` + regexp.QuoteMeta(dst) + `\n\s+type: config`)
		if !re.MatchString(y) {
			t.Errorf("nfpm.yaml: %s is not type config", dst)
		}
	}
}

// TestSizeCheck runs scripts/size-check.sh on stand-in binaries.
func TestSizeCheck(t *testing.T) {
	dir := t.TempDir()
	budget := filepath.Join(dir, "budget")
	os.WriteFile(budget, []byte("# comment\nsrs-lite-linux-mipsle 1MiB\nsrs-lite-linux-mipsle-tiny 512KiB # trailing\n"), 0o644)
	mk := func(name string, size int) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, make([]byte, size), 0o755)
		return p
	}
	full := mk("srs-lite-linux-mipsle", 1<<20)
	other := mk("srs-lite-linux-riscv64", 3<<20)
	tinyOK := mk("srs-lite-linux-mipsle-tiny", 512<<10)
	run := func(files ...string) (string, error) {
		cmd := exec.Command("sh", filepath.Join(root, "scripts/size-check.sh"))
		cmd.Args = append(cmd.Args, files...)
		cmd.Env = append(os.Environ(), "BUDGET="+budget)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run(full, other, tinyOK)
	if err != nil {
		t.Fatalf("at budget: %v\n%s", err, out)
	}
	for _, want := range []string{`srs-lite-linux-mipsle +1048576 +1\.00 +1MiB +100\.0%`, `srs-lite-linux-riscv64 +3145728 +3\.00 +- +-`} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("table lacks %s:\n%s", want, out)
		}
	}
	mk("srs-lite-linux-mipsle-tiny", 512<<10+1)
	out, err = run(full, tinyOK)
	if err == nil || !strings.Contains(out, "FAIL: srs-lite-linux-mipsle-tiny is 0.50 MiB, over its budget of 512KiB") {
		t.Errorf("over budget: err %v\n%s", err, out)
	}
	// The real budget file parses and names the mipsle builds.
	b := read(t, "packaging/size-budget.txt")
	for _, want := range []string{`(?m)^srs-lite-linux-mipsle +\d+(\.\d+)?MiB$`, `(?m)^srs-lite-linux-mipsle-tiny +\d+(\.\d+)?MiB$`} {
		if !regexp.MustCompile(want).MatchString(b) {
			t.Errorf("size-budget.txt lacks %s", want)
		}
	}
}

// TestPackages inspects the packages make package-check built: the binary
// for the right machine, the service files, the conffiles, the scripts.
func TestPackages(t *testing.T) {
	dist := os.Getenv("SRS_LITE_DIST")
	if dist == "" {
		t.Skip("SKIPPED: SRS_LITE_DIST is not set: `make package-check` builds a .deb and an .ipk and points it at them")
	}
	debs, _ := filepath.Glob(filepath.Join(dist, "*.deb"))
	ipks, _ := filepath.Glob(filepath.Join(dist, "*.ipk"))
	if len(debs) == 0 || len(ipks) == 0 {
		t.Fatalf("want a .deb and an .ipk in %s, have %v %v", dist, debs, ipks)
	}
	conf := read(t, "conf/srs-lite.toml")
	for _, p := range debs {
		t.Run(filepath.Base(p), func(t *testing.T) { checkDeb(t, p, conf) })
	}
	for _, p := range ipks {
		t.Run(filepath.Base(p), func(t *testing.T) { checkIPK(t, p, conf) })
	}
}

// machines maps package architectures to ELF machines.
var machines = map[string]elf.Machine{
	"amd64": elf.EM_X86_64, "x86_64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "aarch64_cortex-a53": elf.EM_AARCH64,
	"armhf": elf.EM_ARM, "armel": elf.EM_ARM, "arm_cortex-a7_neon-vfpv4": elf.EM_ARM,
	"mipsel": elf.EM_MIPS, "mipsel_24kc": elf.EM_MIPS, "mips_24kc": elf.EM_MIPS, "mips64el": elf.EM_MIPS,
	"riscv64": elf.EM_RISCV,
}

func checkBinary(t *testing.T, arch string, b []byte) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("/usr/bin/srs-lite: %v", err)
	}
	if want, ok := machines[arch]; !ok || f.Machine != want {
		t.Errorf("/usr/bin/srs-lite is for %v, package arch %s", f.Machine, arch)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("/usr/bin/srs-lite is dynamically linked; want static (CGO_ENABLED=0)")
		}
	}
}

func checkDeb(t *testing.T, p, conf string) {
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("SKIPPED: dpkg-deb is not installed (Debian/Ubuntu: apt-get install dpkg)")
	}
	out, err := exec.Command("dpkg-deb", "-c", p).CombinedOutput()
	if err != nil {
		t.Fatalf("dpkg-deb -c: %v\n%s", err, out)
	}
	for _, want := range []string{
		`-rwxr-xr-x root/root +\d+ \S+ \S+ \./usr/bin/srs-lite\n`,
		`-rw-r--r-- root/root +\d+ \S+ \S+ \./lib/systemd/system/srs-lite\.service\n`,
		`-rwxr-xr-x root/root +\d+ \S+ \S+ \./etc/init\.d/srs-lite\n`,
		`-rw-r--r-- root/root +\d+ \S+ \S+ \./etc/default/srs-lite\n`,
		`-rw-r--r-- root/root +\d+ \S+ \S+ \./etc/srs-lite/srs-lite\.toml\n`,
	} {
		if !regexp.MustCompile(want).Match(out) {
			t.Errorf("dpkg-deb -c lacks %s:\n%s", want, out)
		}
	}
	field := func(name string) string {
		out, err := exec.Command("dpkg-deb", "-f", p, name).Output()
		if err != nil {
			t.Fatalf("dpkg-deb -f %s: %v", name, err)
		}
		return strings.TrimSpace(string(out))
	}
	arch := field("Architecture")
	if field("Package") != "srs-lite" || !regexp.MustCompile(`^\d`).MatchString(field("Version")) {
		t.Errorf("control: Package %q Version %q", field("Package"), field("Version"))
	}
	dir := t.TempDir()
	if out, err := exec.Command("dpkg-deb", "-e", p, filepath.Join(dir, "DEBIAN")).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -e: %v\n%s", err, out)
	}
	cf := readFile(filepath.Join(dir, "DEBIAN", "conffiles"))
	for _, want := range []string{"/etc/srs-lite/srs-lite.toml", "/etc/default/srs-lite", "/etc/init.d/srs-lite"} {
		if !strings.Contains(cf, want+"\n") {
			t.Errorf("conffiles lacks %s:\n%s", want, cf)
		}
	}
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		if st, err := os.Stat(filepath.Join(dir, "DEBIAN", s)); err != nil || st.Mode()&0o111 == 0 {
			t.Errorf("maintainer script %s: %v", s, err)
		}
	}
	data := filepath.Join(dir, "data")
	if out, err := exec.Command("dpkg-deb", "-x", p, data).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -x: %v\n%s", err, out)
	}
	b, _ := os.ReadFile(filepath.Join(data, "usr/bin/srs-lite"))
	checkBinary(t, arch, b)
	if readFile(filepath.Join(data, "etc/srs-lite/srs-lite.toml")) != conf {
		t.Error("/etc/srs-lite/srs-lite.toml differs from conf/srs-lite.toml")
	}
	if readFile(filepath.Join(data, "lib/systemd/system/srs-lite.service")) != read(t, "rootfs/systemd/lib/systemd/system/srs-lite.service") {
		t.Error("the packaged unit differs from rootfs/")
	}
}

// tarFiles reads a (gzipped) tar into name -> header and content.
func tarFiles(t *testing.T, r io.Reader) (map[string]*tar.Header, map[string][]byte) {
	t.Helper()
	zr, err := gzip.NewReader(r)
	if err != nil {
		t.Fatal(err)
	}
	hdrs, data := map[string]*tar.Header{}, map[string][]byte{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return hdrs, data
		}
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(h.Name, "./")
		b, _ := io.ReadAll(tr)
		hdrs[name], data[name] = h, b
	}
}

func checkIPK(t *testing.T, p, conf string) {
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, outer := tarFiles(t, f)
	if string(outer["debian-binary"]) != "2.0\n" {
		t.Errorf("debian-binary = %q", outer["debian-binary"])
	}
	_, control := tarFiles(t, bytes.NewReader(outer["control.tar.gz"]))
	hdrs, data := tarFiles(t, bytes.NewReader(outer["data.tar.gz"]))
	fields := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(control["control"]))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ": "); ok {
			fields[k] = v
		}
	}
	if fields["Package"] != "srs-lite" || fields["Architecture"] == "" || !regexp.MustCompile(`^\d`).MatchString(fields["Version"]) {
		t.Errorf("control: %v", fields)
	}
	for _, want := range []string{"/etc/config/srs-lite", "/etc/srs-lite/srs-lite.toml"} {
		if !strings.Contains(string(control["conffiles"]), want+"\n") {
			t.Errorf("conffiles lacks %s:\n%s", want, control["conffiles"])
		}
	}
	for _, s := range []string{"postinst", "prerm"} {
		if len(control[s]) == 0 {
			t.Errorf("no %s script", s)
		}
	}
	for name, mode := range map[string]int64{"usr/bin/srs-lite": 0o755, "etc/init.d/srs-lite": 0o755,
		"etc/config/srs-lite": 0o644, "etc/srs-lite/srs-lite.toml": 0o644} {
		h, ok := hdrs[name]
		if !ok {
			t.Errorf("data.tar.gz lacks %s", name)
			continue
		}
		if h.Mode&0o7777 != mode || h.Uid != 0 {
			t.Errorf("%s: mode %o uid %d, want %o root", name, h.Mode&0o7777, h.Uid, mode)
		}
	}
	if !bytes.Contains(data["etc/init.d/srs-lite"], []byte("USE_PROCD=1")) {
		t.Error("/etc/init.d/srs-lite is not the procd script")
	}
	if string(data["etc/srs-lite/srs-lite.toml"]) != conf {
		t.Error("/etc/srs-lite/srs-lite.toml differs from conf/srs-lite.toml")
	}
	checkBinary(t, fields["Architecture"], data["usr/bin/srs-lite"])
}
