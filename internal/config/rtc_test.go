package config

import (
	"strings"
	"testing"
)

func TestRTCKeys(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"defaults", "[rtc]\nenabled = true\n", ""},
		{"candidate ip", "[rtc]\ncandidate = \"192.168.1.10\"\n", ""},
		{"candidate name", "[rtc]\ncandidate = \"cam.example.com\"\n", ""},
		{"bad candidate", "[rtc]\ncandidate = \"a b\"\n", `c.toml:2: rtc.candidate: "a b": an IP address, a host name, or "*" for the host's addresses`},
		{"aac_to_opus", "[rtc]\naac_to_opus = \"yes\"\n", `c.toml:2: rtc.aac_to_opus: "yes": must be one of auto | off`},
		{"port clash", "[rtc]\nlisten = \"0.0.0.0:10080\"\n", "c.toml:2: rtc.listen: udp 0.0.0.0:10080 conflicts with srt.listen 0.0.0.0:10080"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !RTCBuilt {
				if _, err := Parse("c.toml", []byte("[rtc]\nlisten = \":9\"\n")); err == nil {
					t.Fatal("rtc.listen accepted in a build without WebRTC")
				}
				t.Skip("no WebRTC in this build")
			}
			_, err := Parse("c.toml", []byte(tc.in))
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Fatalf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// TestNotBuiltEnabled: a build without WebRTC or the RTSP server refuses
// enabled = true for them (it would do nothing) and takes enabled = false;
// a build with them takes both.
func TestNotBuiltEnabled(t *testing.T) {
	for _, tc := range []struct {
		sec   string
		built bool
	}{{"rtc", RTCBuilt}, {"rtsp", RTSPBuilt}} {
		_, err := Parse("c.toml", []byte("["+tc.sec+"]\nenabled = false\n"))
		if err != nil {
			t.Errorf("%s.enabled = false: %v", tc.sec, err)
		}
		_, err = Parse("c.toml", []byte("# x\n["+tc.sec+"]\nenabled = true\n"))
		if tc.built && err != nil {
			t.Errorf("%s.enabled = true: %v", tc.sec, err)
		}
		if !tc.built && (err == nil || !strings.HasPrefix(err.Error(), "c.toml:3: "+tc.sec+".enabled: not supported in this build")) {
			t.Errorf("%s.enabled = true in a build without it: %v", tc.sec, err)
		}
		if c, _ := Parse("c.toml", nil); (tc.sec == "rtc" && c.RTC.Enabled != tc.built) || (tc.sec == "rtsp" && c.RTSP.Enabled != tc.built) {
			t.Errorf("%s: enabled by default in a build where built = %v", tc.sec, tc.built)
		}
	}
}
