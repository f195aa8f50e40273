package config

import "testing"

// TestGB28181Errors: [gb28181] and its channels are validated with the
// file's line numbers; a build without GB28181 refuses it.
func TestGB28181Errors(t *testing.T) {
	if !GB28181Built {
		_, err := Parse("c.toml", []byte("[gb28181]\nenabled = true\n"))
		if err == nil || err.Error() != "c.toml:2: gb28181.enabled: not supported in this build (built without GB28181: a full build has it)" {
			t.Fatalf("tiny: %v", err)
		}
		return
	}
	for _, tc := range []struct{ name, in, want string }{
		{"ok", "[gb28181]\nenabled = true\npassword = \"x\"\n[[gb28181.channel]]\nid = \"34020000001320000001_34020000001310000001\"\nstream = \"gate\"\nalways_on = true\n", ""},
		{"ids", "[gb28181]\nenabled = true\nserver_id = \"3402\"\ndomain = \"34020000001\"\n",
			"c.toml:3: gb28181.server_id: \"3402\": want 20 digits (e.g. 34020000002000000001)\nc.toml:4: gb28181.domain: \"34020000001\": want 10 digits (e.g. 3402000000)"},
		{"timeout", "[gb28181]\nkeepalive_timeout = \"1s\"\n", "c.toml:2: gb28181.keepalive_timeout: 1s out of range 10s..1h"},
		{"media port", "[gb28181]\nenabled = true\nmedia_port = 1935\n", "c.toml:3: gb28181.media_port: tcp 0.0.0.0:1935 conflicts with rtmp.listen 0.0.0.0:1935"},
		{"sip port", "[gb28181]\nenabled = true\nlisten = \"0.0.0.0:10080\"\n", "c.toml:3: gb28181.listen: udp 0.0.0.0:10080 conflicts with srt.listen 0.0.0.0:10080"},
		{"channel", "[[gb28181.channel]]\nid = \"123_456\"\ntransport = \"sctp\"\n[[gb28181.channel]]\nid = \"34020000001310000001\"\nstream = \"123_456\"\n",
			"c.toml:2: gb28181.channel.id: \"123_456\": want DEVICEID_CHANNELID (20 digits each) or a channel id\nc.toml:3: gb28181.channel.transport: \"sctp\": must be one of tcp-passive | tcp-active | udp\nc.toml:6: gb28181.channel.stream: duplicate stream \"123_456\" (also at line 2)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("c.toml", []byte(tc.in))
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}
