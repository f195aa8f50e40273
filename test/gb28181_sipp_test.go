package test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sippScenario is a GB28181 device's registration as SIPp plays it: REGISTER,
// the 401 challenge, REGISTER with SIPp's own digest, then (when final is
// 200) a Keepalive MESSAGE answered 200.
func sippScenario(final int) string {
	msg := `<?xml version="1.0" encoding="GB2312"?>
<Notify>
<CmdType>Keepalive</CmdType>
<SN>1</SN>
<DeviceID>` + gbDevice + `</DeviceID>
<Status>OK</Status>
</Notify>
`
	s := `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="gb28181 device">
<send retrans="500"><![CDATA[
REGISTER sip:` + gbServerID + `@` + gbDomain + ` SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];rport;branch=[branch]
From: <sip:` + gbDevice + `@` + gbDomain + `>;tag=[pid]SIPpTag00[call_number]
To: <sip:` + gbDevice + `@` + gbDomain + `>
Call-ID: [call_id]
CSeq: 1 REGISTER
Contact: <sip:` + gbDevice + `@[local_ip]:[local_port]>
Max-Forwards: 70
User-Agent: SIPp
Expires: 3600
Content-Length: 0

]]></send>
<recv response="401" auth="true"/>
<send retrans="500"><![CDATA[
REGISTER sip:` + gbServerID + `@` + gbDomain + ` SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];rport;branch=[branch]
From: <sip:` + gbDevice + `@` + gbDomain + `>;tag=[pid]SIPpTag00[call_number]
To: <sip:` + gbDevice + `@` + gbDomain + `>
Call-ID: [call_id]
CSeq: 2 REGISTER
Contact: <sip:` + gbDevice + `@[local_ip]:[local_port]>
[authentication username=` + gbDevice + `]
Max-Forwards: 70
User-Agent: SIPp
Expires: 3600
Content-Length: 0

]]></send>
<recv response="` + fmt.Sprint(final) + `"/>
`
	if final == 200 {
		s += `<send retrans="500"><![CDATA[
MESSAGE sip:` + gbServerID + `@` + gbDomain + ` SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];rport;branch=[branch]
From: <sip:` + gbDevice + `@` + gbDomain + `>;tag=[pid]SIPpTag01[call_number]
To: <sip:` + gbServerID + `@` + gbDomain + `>
Call-ID: [call_id]
CSeq: 3 MESSAGE
Content-Type: Application/MANSCDP+xml
Max-Forwards: 70
Content-Length: [len]

` + msg + `]]></send>
<recv response="200"/>
`
	}
	return s + "</scenario>\n"
}

// TestGB28181SIPp: SIPp (an independent SIP stack) registers as a device
// with its own MD5 digest (over UDP and TCP), is refused 403 with a wrong
// password, and gets its Keepalive answered.
func TestGB28181SIPp(t *testing.T) {
	needTools(t, "sipp")
	t.Parallel()
	s, addr := gbServer(t, "")
	host, port, _ := strings.Cut(addr, ":")
	dir := t.TempDir()
	run := func(name, transport, password string, final int) error {
		sf := filepath.Join(dir, name+".xml")
		if err := os.WriteFile(sf, []byte(sippScenario(final)), 0o644); err != nil {
			t.Fatal(err)
		}
		var err error
		for range 3 {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			local := freeAddr(t) // SIPp's -p 0 means 5060
			cmd := exec.CommandContext(ctx, "sipp", host+":"+port, "-sf", sf, "-m", "1", "-t", transport,
				"-i", "127.0.0.1", "-p", local[strings.LastIndexByte(local, ':')+1:], "-au", gbDevice, "-ap", password, "-timeout", "15s", "-nostdin")
			cmd.Dir = dir
			out, rerr := cmd.CombinedOutput()
			cancel()
			if rerr == nil {
				return nil
			}
			err = fmt.Errorf("sipp %s: %v\n%s", name, rerr, tail(string(out), 30))
			// Exit code 254 (-2): SIPp could not bind its port (taken
			// since freePort looked): try another.
			if ee, ok := rerr.(*exec.ExitError); !ok || ee.ExitCode() != 254 {
				return err
			}
		}
		return err
	}
	if err := run("wrong", "u1", "wrong", 403); err != nil {
		t.Fatal(err)
	}
	s.waitLog(t, "gb28181: register refused: wrong credentials", 5*time.Second)
	for _, tr := range []string{"u1", "t1"} {
		if err := run("device-"+tr, tr, "secret", 200); err != nil {
			t.Fatal(err)
		}
		var r gbDevicesReply
		s.getJSON(t, "/api/v1/gb28181/devices", &r)
		want := map[string]string{"u1": "udp", "t1": "tcp"}[tr]
		if len(r.Devices) != 1 || r.Devices[0].ID != gbDevice || r.Devices[0].Transport != want {
			t.Fatalf("devices after SIPp over %s: %+v", tr, r)
		}
	}
}
