package test

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// vividDevice returns the capture node of the vivid virtual camera driver,
// or "" when it is not loaded.
func vividDevice() string {
	names, _ := filepath.Glob("/sys/class/video4linux/video*/name")
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err == nil && strings.Contains(string(b), "vivid") && strings.Contains(string(b), "vid-cap") {
			return "/dev/" + filepath.Base(filepath.Dir(n))
		}
	}
	return ""
}

// TestDevicesAPI: GET /api/v1/devices answers on any host, with or
// without cameras.
func TestDevicesAPI(t *testing.T) {
	t.Parallel()
	s := startServer(t, "")
	var out struct {
		Code    int `json:"code"`
		Devices []struct {
			Path    string `json:"path"`
			Driver  string `json:"driver"`
			Capture bool   `json:"capture"`
		} `json:"devices"`
	}
	s.getJSON(t, "/api/v1/devices", &out)
	if out.Code != 0 || out.Devices == nil {
		t.Fatalf("devices %+v", out)
	}
	paths, _ := filepath.Glob("/dev/video*")
	if len(out.Devices) != len(paths) {
		t.Fatalf("%d devices listed, %d nodes", len(out.Devices), len(paths))
	}
}

// TestV4L2Vivid captures from the vivid virtual camera (modprobe vivid) with
// a v4l2:// ingest. vivid offers raw formats only, so this runs the ffmpeg
// encoder path; the pure-Go H.264 path is tested against a fake driver in
// internal/v4l2 and internal/ingest.
func TestV4L2Vivid(t *testing.T) {
	dev := vividDevice()
	if dev == "" {
		t.Skip("SKIPPED: no vivid camera: load it with `modprobe vivid` (root, and a kernel with the vivid module; " +
			"containers usually have neither). The V4L2 ioctl code is tested against a fake driver in internal/v4l2.")
	}
	needTools(t, "ffmpeg", "ffprobe")
	name := streamName()
	s := startServer(t, fmt.Sprintf(`
[[ingest]]
name = "%s"
input = "v4l2://%s?format=yuyv&size=640x360&fps=30"
`, name, dev))
	s.waitPublishing(t, name)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p := ffprobe(t, ctx, s.flvURL(name))
	if len(p.Streams) == 0 || p.Streams[0].CodecName != "h264" || p.Streams[0].Width != 640 {
		t.Fatalf("ffprobe %+v", p.Streams)
	}
	var out struct {
		Devices []struct {
			Path, Driver string
		} `json:"devices"`
	}
	s.getJSON(t, "/api/v1/devices", &out)
	found := false
	for _, d := range out.Devices {
		found = found || d.Path == dev && d.Driver == "vivid"
	}
	if !found {
		t.Fatalf("devices %+v", out.Devices)
	}
}

// TestV4L2QEMU boots Debian's kernel under qemu-system-x86_64 (TCG: no KVM
// needed) with a small initramfs: busybox, the vivid module and its
// dependencies, the internal/v4l2 test binary and a static srs-lite. Inside,
// TestVivid lists the devices and captures YUYV frames by mmap streaming
// I/O from the real driver, and srs-lite answers GET /api/v1/devices with
// the vivid camera. The kernel and busybox come from SRS_LITE_VM_KERNEL
// (a vmlinuz, with its modules in SRS_LITE_VM_MODULES) and /bin/busybox
// (busybox-static), or are fetched once with `apt-get download` (Debian,
// root) into the user's cache folder.
func TestV4L2QEMU(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED in -short: boots a virtual machine")
	}
	needTools(t, "qemu-system-x86_64")
	if runtime.GOARCH != "amd64" {
		t.Skip("SKIPPED: the VM test runs amd64 binaries")
	}
	kernel, modules, busybox := vmParts(t)
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	for _, d := range []string{"bin", "mod", "dev", "proc", "sys", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	build := func(args ...string) {
		cmd := exec.Command("go", args...)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	build("test", "-c", "-o", filepath.Join(root, "v4l2.test"), "../internal/device/v4l2")
	build("build", "-o", filepath.Join(root, "srs-lite"), "../cmd/srs-lite")
	copyFile(t, busybox, filepath.Join(root, "bin", "busybox"))
	mods := vividModules(t, modules)
	var names []string
	for _, m := range mods {
		copyFile(t, m, filepath.Join(root, "mod", filepath.Base(m)))
		names = append(names, filepath.Base(m))
	}
	conf := "[log]\nlevel = \"warn\"\n[rtmp]\nlisten = \"127.0.0.1:1935\"\n[http_api]\nlisten = \"127.0.0.1:1985\"\n" +
		"[http_server]\nlisten = \"127.0.0.1:8080\"\ndir = \"/tmp\"\n"
	writeFile(t, filepath.Join(root, "srs-lite.toml"), conf, 0o644)
	initScript := `#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
ip link set lo up
for m in ` + strings.Join(names, " ") + `; do insmod /mod/$m || echo "insmod $m failed"; done
cd / && /v4l2.test -test.run TestVivid -test.v
/srs-lite -c /srs-lite.toml &
for i in 1 2 3 4 5 6 7 8 9 10; do wget -q -O /tmp/devices http://127.0.0.1:1985/api/v1/devices && break; sleep 1; done
echo "DEVICES $(cat /tmp/devices)"
echo "VM-DONE"
poweroff -f
`
	writeFile(t, filepath.Join(root, "init"), initScript, 0o755)
	initrd := filepath.Join(dir, "initrd.cpio")
	writeCPIO(t, root, initrd)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	out, err := exec.CommandContext(ctx, "qemu-system-x86_64", "-accel", "tcg", "-cpu", "max", "-m", "512", "-smp", "1",
		"-nographic", "-no-reboot", "-kernel", kernel, "-initrd", initrd,
		"-append", "console=ttyS0 quiet panic=-1").CombinedOutput()
	log := string(out)
	if err != nil || !strings.Contains(log, "VM-DONE") {
		t.Fatalf("qemu: %v\n%s", err, tail(log, 60))
	}
	t.Logf("VM booted, tested and powered off in %v", time.Since(start).Round(time.Millisecond))
	if !strings.Contains(log, "--- PASS: TestVivid") {
		t.Fatalf("TestVivid did not pass in the VM:\n%s", tail(log, 60))
	}
	var devices string
	for _, l := range strings.Split(log, "\n") {
		if strings.HasPrefix(l, "DEVICES ") {
			devices = l
		}
	}
	if !strings.Contains(devices, `"driver":"vivid"`) || !strings.Contains(devices, `"fourcc":"YUYV"`) {
		t.Fatalf("srs-lite in the VM: %s\n%s", devices, tail(log, 40))
	}
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "vivid_test.go") {
			t.Log(strings.TrimSpace(l))
		}
	}
}

// vmParts finds or fetches a kernel with its modules and a static busybox.
func vmParts(t *testing.T) (kernel, modules, busybox string) {
	t.Helper()
	kernel, modules = os.Getenv("SRS_LITE_VM_KERNEL"), os.Getenv("SRS_LITE_VM_MODULES")
	if kernel == "" {
		if ks, _ := filepath.Glob("/boot/vmlinuz-*"); len(ks) > 0 {
			ver := strings.TrimPrefix(filepath.Base(ks[len(ks)-1]), "vmlinuz-")
			if _, err := os.Stat("/lib/modules/" + ver + "/kernel"); err == nil {
				kernel, modules = ks[len(ks)-1], "/lib/modules/"+ver
			}
		}
	}
	cache, _ := os.UserCacheDir()
	cache = filepath.Join(cache, "srs-lite", "vm")
	if kernel == "" {
		ks, _ := filepath.Glob(filepath.Join(cache, "kernel", "boot", "vmlinuz-*"))
		if len(ks) == 0 {
			aptExtract(t, cache, "kernel", "linux-image-amd64")
			ks, _ = filepath.Glob(filepath.Join(cache, "kernel", "boot", "vmlinuz-*"))
		}
		if len(ks) == 0 {
			t.Skip("SKIPPED: no kernel image for the VM: set SRS_LITE_VM_KERNEL and SRS_LITE_VM_MODULES")
		}
		kernel = ks[0]
		modules = filepath.Join(cache, "kernel", "lib", "modules", strings.TrimPrefix(filepath.Base(kernel), "vmlinuz-"))
	}
	if isStatic("/bin/busybox") {
		return kernel, modules, "/bin/busybox"
	}
	busybox = filepath.Join(cache, "busybox", "bin", "busybox")
	if !isStatic(busybox) {
		aptExtract(t, cache, "busybox", "busybox-static")
	}
	if !isStatic(busybox) {
		t.Skip("SKIPPED: no static busybox for the VM (Debian: apt-get install busybox-static)")
	}
	return kernel, modules, busybox
}

// aptExtract fetches a Debian package (the first real package a
// metapackage depends on) with apt-get download and unpacks it into
// cache/dir. It skips the test where apt-get cannot run.
func aptExtract(t *testing.T, cache, dir, pkg string) {
	t.Helper()
	if _, err := exec.LookPath("apt-get"); err != nil || os.Geteuid() != 0 {
		t.Skipf("SKIPPED: %s is needed for the VM: apt-get download %s (as root), or set SRS_LITE_VM_KERNEL", pkg, pkg)
	}
	if out, err := exec.Command("apt-cache", "depends", pkg).Output(); err == nil && strings.HasPrefix(pkg, "linux-image-") {
		for _, l := range strings.Split(string(out), "\n") {
			if d, ok := strings.CutPrefix(strings.TrimSpace(l), "Depends: "); ok && strings.HasPrefix(d, "linux-image-") {
				pkg = d
				break
			}
		}
	}
	dl := filepath.Join(cache, "deb")
	if err := os.MkdirAll(dl, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("fetching %s for the VM (once) ...", pkg)
	cmd := exec.Command("apt-get", "download", pkg)
	cmd.Dir = dl
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("SKIPPED: apt-get download %s: %v %s", pkg, err, out)
	}
	debs, _ := filepath.Glob(filepath.Join(dl, pkg+"_*.deb"))
	if len(debs) == 0 {
		t.Skipf("SKIPPED: apt-get download %s gave no package", pkg)
	}
	if out, err := exec.Command("dpkg-deb", "-x", debs[0], filepath.Join(cache, dir)).CombinedOutput(); err != nil {
		t.Skipf("SKIPPED: dpkg-deb -x %s: %v %s", debs[0], err, out)
	}
}

// isStatic reports whether path is an ELF executable without an
// interpreter.
func isStatic(path string) bool {
	f, err := elf.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false
		}
	}
	return true
}

// vividModules returns vivid.ko and the modules it depends on (from their
// .modinfo depends= fields), dependencies first.
func vividModules(t *testing.T, dir string) []string {
	t.Helper()
	index := map[string]string{}
	_ = filepath.WalkDir(filepath.Join(dir, "kernel"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".ko") {
			index[strings.ReplaceAll(strings.TrimSuffix(d.Name(), ".ko"), "-", "_")] = p
		}
		return nil
	})
	if index["vivid"] == "" {
		t.Skipf("SKIPPED: no vivid.ko (uncompressed) under %s", dir)
	}
	var order []string
	seen := map[string]bool{}
	var visit func(string)
	visit = func(name string) {
		if seen[name] {
			return
		}
		seen[name] = true
		p := index[name]
		if p == "" {
			t.Fatalf("module %s (needed by vivid) not found under %s", name, dir)
		}
		f, err := elf.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		sec := f.Section(".modinfo")
		var info []byte
		if sec != nil {
			info, _ = sec.Data()
		}
		f.Close()
		for _, kv := range strings.Split(string(info), "\x00") {
			if deps, ok := strings.CutPrefix(kv, "depends="); ok {
				for _, d := range strings.Split(deps, ",") {
					if d != "" {
						visit(strings.ReplaceAll(d, "-", "_"))
					}
				}
			}
		}
		order = append(order, p)
	}
	visit("vivid")
	return order
}

// writeCPIO writes the tree at root as a newc cpio archive (the initramfs
// format, Documentation/driver-api/early-userspace/buffer-format.rst).
func writeCPIO(t *testing.T, root, out string) {
	t.Helper()
	var b bytes.Buffer
	ino := 1
	entry := func(name string, mode uint32, data []byte) {
		fmt.Fprintf(&b, "070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
			ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name)+1, 0)
		ino++
		b.WriteString(name + "\x00")
		for b.Len()%4 != 0 {
			b.WriteByte(0)
		}
		b.Write(data)
		for b.Len()%4 != 0 {
			b.WriteByte(0)
		}
	}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			entry(rel, 0o040755, nil)
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		entry(rel, 0o100755, data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	entry("TRAILER!!!", 0, nil)
	writeFile(t, out, b.String(), 0o644)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, to, string(data), 0o755)
}

func writeFile(t *testing.T, path, data string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
}
