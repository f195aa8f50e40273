package config

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// TestProblems checks every kind of problem with its exact line and key.
func TestProblems(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want string // the whole error text, one problem per line
	}{
		{"syntax", "[log]\nlevel = \n", `c.toml:2: expected value but found '\n' instead`},
		{"duplicate key", "[log]\nlevel = \"info\"\n\nlevel = \"info\"\n", "c.toml:4: Key 'log.level' has already been defined."},
		{"duplicate table", "[log]\n[rtmp]\n[log]\n", "c.toml:3: Key 'log' has already been defined."},
		{"unknown top key", "\n\nfoo = 1\n", "c.toml:3: foo: unknown key"},
		{"unknown table", "[foo]\nbar = 1\n", "c.toml:1: foo: unknown key"},
		{"unknown key", "[log]\n\n# c\nlvl = \"x\"\n", "c.toml:4: log.lvl: unknown key"},
		{"unknown quoted key", "[log]\n\"a b\" = 1\n", `c.toml:2: log."a b": unknown key`},
		{"unknown dotted", "[[vhost]]\nname = \"a\"\nhls.x = 1\n", "c.toml:3: vhost.hls.x: unknown key"},
		{"unknown in inline table", "[[vhost]]\nname = \"a\"\nhls = {x = 1}\n", "c.toml:3: vhost.hls.x: unknown key"},
		{"unknown in second vhost", "[[vhost]]\nname = \"a\"\n[vhost.hls]\n[[vhost]]\nname = \"b\"\n[vhost.hls]\nbad = 1\n",
			"c.toml:7: vhost.hls.bad: unknown key"},
		{"bad duration", "[[vhost]]\nname = \"a\"\n  [vhost.hls]\n  fragment = \"2x\"\n", `c.toml:4: vhost.hls.fragment: invalid duration "2x"`},
		{"integer duration", "[server]\ngrace = 5\n", `c.toml:2: server.grace: invalid duration 5: must be a string like "5s"`},
		{"string for int", "[rtmp]\nchunk_size = \"4096\"\n", `c.toml:2: rtmp.chunk_size: expected an integer, got "4096"`},
		{"float for int", "[rtmp]\nchunk_size = 4096.0\n", `c.toml:2: rtmp.chunk_size: expected an integer, got 4096`},
		{"int for string", "[log]\nfile = 1\n", `c.toml:2: log.file: expected a string, got 1`},
		{"string for bool", "[http_api]\nenabled = \"true\"\n", `c.toml:2: http_api.enabled: expected true or false, got "true"`},
		{"table for value", "[log]\nlevel = {a = 1}\n", `c.toml:2: log.level: expected a string, got a table`},
		{"value for table", "log = 1\n", `c.toml:1: log: expected a table, got 1`},
		{"value for array of tables", "vhost = 1\n", `c.toml:1: vhost: expected an array of tables ([[vhost]]), got 1`},
		{"listen type", "[rtmp]\nlisten = 1935\n", `c.toml:2: rtmp.listen: expected a string or a list of strings, got 1935`},
		{"listen element", "[rtmp]\nlisten = [\n  \":1\",\n  2,\n]\n", `c.toml:2: rtmp.listen: expected a string or a list of strings, got a list with 2`},
		{"list element", "[[vhost]]\nname=\"a\"\nhooks.on_publish = [\"http://a/\", true]\n", `c.toml:3: vhost.hooks.on_publish: element 2: expected a string, got true`},
		{"enum", "[log]\nformat = \"xml\"\n", `c.toml:2: log.format: "xml": must be one of text | json`},
		{"range", "[rtmp]\nchunk_size = 127\n", `c.toml:2: rtmp.chunk_size: 127 out of range 128..65536`},
		{"bad address", "[http_server]\nlisten = \"8080\"\n", `c.toml:2: http_server.listen: invalid address "8080": want host:port`},
		{"bad port", "[http_server]\nlisten = \":http\"\n", `c.toml:2: http_server.listen: invalid address ":http": bad port "http"`},
		{"conflict", "[http_server]\nlisten = \":1935\"\n", `c.toml:2: http_server.listen: tcp :1935 conflicts with rtmp.listen 0.0.0.0:1935`},
		{"conflict default", "[http_api]\nlisten = \"0.0.0.0:1935\"\n", `c.toml:2: http_api.listen: tcp 0.0.0.0:1935 conflicts with rtmp.listen 0.0.0.0:1935`},
		{"shared http port", "[http_api]\nlisten = \"0.0.0.0:8080\"\n", ``},
		{"udp and tcp", "[srt]\nenabled = true\nlisten = \"0.0.0.0:1935\"\n", ``},
		{"disabled no conflict", "[http_server]\nenabled = false\nlisten = \"0.0.0.0:1935\"\n", ``},
		{"specific hosts", "[rtmp]\nlisten = [\"127.0.0.1:1935\", \"10.0.0.1:1935\"]\n", ``},
		{"port zero", "[rtmp]\nlisten = \":0\"\n[http_api]\nlisten = \":0\"\n[http_server]\nlisten = \":0\"\n", ``},
		{"duplicate vhost", "[[vhost]]\nname = \"a\"\n[[vhost]]\nname = \"A\"\n", `c.toml:4: vhost.name: duplicate vhost "A" (also at line 2)`},
		{"fragment > window", "[[vhost]]\nname = \"a\"\nhls.fragment = \"20s\"\n", `c.toml:3: vhost.hls.window: 10s is shorter than hls.fragment 20s`},
		{"dvr plan", "[[vhost]]\nname = \"a\"\n[vhost.dvr]\nplan = \"x\"\n", `c.toml:4: vhost.dvr.plan: "x": must be one of session | segment`},
		{"dvr placeholder", "[[vhost]]\nname = \"a\"\n[vhost.dvr]\npath = \"[app]/[2006]/[x].flv\"\n", `c.toml:4: vhost.dvr.path: "[app]/[2006]/[x].flv": unknown placeholder [x]`},
		{"low latency needs fmp4", "[[vhost]]\nname = \"a\"\n[vhost.hls]\nlow_latency = true\n", "c.toml:4: vhost.hls.low_latency: low-latency HLS needs container = \"fmp4\" (container is \"ts\")"},
		{"part range", "[[vhost]]\nname = \"a\"\n[vhost.hls]\npart = \"50ms\"\n", "c.toml:4: vhost.hls.part: 50ms out of range 100ms..1s"},
		{"part not shorter than fragment", "[[vhost]]\nname = \"a\"\n[vhost.hls]\ncontainer = \"fmp4\"\nlow_latency = true\nfragment = \"1s\"\npart = \"1s\"\n", "c.toml:7: vhost.hls.part: 1s is not shorter than hls.fragment 1s"},
		{"tls half", "[tls]\ncert = \"a.pem\"\n", `c.toml:2: tls.cert: set without tls.key: give both, or neither for the self-signed certificate`},
		{"tls missing", "[tls]\ncert = \"/nonexistent/a.pem\"\nkey = \"/nonexistent/a.key\"\n", `c.toml:2: tls.cert: open /nonexistent/a.pem: no such file or directory`},
		{"https conflict", "[http_server]\nhttps_listen = \"0.0.0.0:1985\"\n", `c.toml:2: http_server.https_listen: tcp 0.0.0.0:1985 conflicts with http_api.listen 0.0.0.0:1985`},
		{"rtmps conflict", "[rtmp]\nrtmps_listen = \":1935\"\n", `c.toml:2: rtmp.rtmps_listen: tcp :1935 conflicts with rtmp.listen 0.0.0.0:1935`},
		{"shared https port", "[http_api]\nhttps_listen = \":8443\"\n[http_server]\nhttps_listen = \":8443\"\n", ``},
		{"https disabled", "[http_api]\nenabled = false\nhttps_listen = \":8080\"\n", ``},
		{"forward ok", "[[vhost]]\nname = \"a\"\n[vhost.forward]\ndestinations = [\"127.0.0.1:19350\", \"rtmp://cdn.example.com/live/[vhost]_[stream]\"]\n", ""},
		{"forward placeholder", "[[vhost]]\nname = \"a\"\n[vhost.forward]\ndestinations = [\"rtmp://h/[app]/[x]\"]\n",
			`c.toml:4: vhost.forward.destinations: "rtmp://h/[app]/[x]": unknown placeholder [x] (want [vhost], [app], [stream])`},
		{"forward no stream", "[[vhost]]\nname = \"a\"\n[vhost.forward]\ndestinations = [\"rtmp://h/live\"]\n",
			`c.toml:4: vhost.forward.destinations: "rtmp://h/live": want rtmp://host[:port]/app/stream (the stream may be [stream])`},
		{"edge ok", "[[vhost]]\nname = \"a\"\n[vhost.cluster]\nmode = \"remote\"\norigins = [\"10.0.0.1:1935\"]\n", ""},
		{"edge mode", "[[vhost]]\nname = \"a\"\n[vhost.cluster]\nmode = \"edge\"\n", `c.toml:4: vhost.cluster.mode: "edge": must be one of local | remote`},
		{"edge origin", "[[vhost]]\nname = \"a\"\n[vhost.cluster]\nmode = \"remote\"\norigins = [\"o1\"]\nprotocol = \"srt\"\n",
			"c.toml:5: vhost.cluster.origins: invalid address \"o1\": want host:port\nc.toml:6: vhost.cluster.protocol: \"srt\": must be one of rtmp | flv"},
		{"security rule", "[[vhost]]\nname = \"a\"\n[vhost.security]\nenabled = true\nrules = [\n  \"allow publish all\",\n  \"deny play 10.0.0.1/8\",\n  \"allow view all\",\n]\n",
			"c.toml:7: vhost.security.rules: \"deny play 10.0.0.1/8\": \"10.0.0.1/8\": bits past /8 are set: write 10.0.0.0/8\n" +
				"c.toml:8: vhost.security.rules: \"allow view all\": \"view\" is not publish or play"},
		{"security rule inline", "[[vhost]]\nname = \"a\"\nsecurity = {enabled = true, rules = [\"deny play\"]}\n",
			`c.toml:3: vhost.security.rules: "deny play": want "allow|deny publish|play all|IP|CIDR"`},
		{"security ok", "[[vhost]]\nname = \"a\"\nsecurity.rules = [\"allow play 192.168.1.7\", \"deny publish ::1\", \"deny play fd00::/8\"]\n", ""},
		{"coworkers", "[[vhost]]\nname = \"a\"\n[vhost.cluster]\norigin_cluster = true\ncoworkers = [\"a:b\"]\n", `c.toml:5: vhost.cluster.coworkers: invalid address "a:b": bad port "b"`},
		{"origin cluster alone", "[[vhost]]\nname = \"a\"\n[vhost.cluster]\norigin_cluster = true\n", `c.toml:3: vhost.cluster.coworkers: empty: origin_cluster needs the API address of the other origins`},
		{"atc_auto", "[[vhost]]\nname = \"a\"\natc = true\natc_auto = true\n", `c.toml:4: vhost.atc_auto: not supported yet (set atc = true on the vhost instead)`},
		{"heartbeat url", "[heartbeat]\nenabled = true\ninterval = \"0s\"\n", "c.toml:1: heartbeat.url: invalid URL \"\": want http:// or https://\nc.toml:3: heartbeat.interval: 0s out of range 1s..1h"},
		{"mount default", "[[vhost]]\nname = \"a\"\nhttp_remux.mount = \"[vhost]/[app]/[stream].flv\"\n", ""},
		{"mount fixed app", "[[vhost]]\nname = \"a\"\nhttp_remux.mount = \"/live/[stream].ts\"\n", ""},
		{"mount own host", "[[vhost]]\nname = \"a.com\"\nhttp_remux.mount = \"A.com/[app]/[stream].mp3\"\n", ""},
		{"mount no host", "[[vhost]]\nname = \"a\"\nhttp_remux.mount = \"[app]/[stream].flv\"\n",
			`c.toml:3: vhost.http_remux.mount: "[app]/[stream].flv": must start with "/" or "[vhost]/"`},
		{"mount other host", "[[vhost]]\nname = \"a\"\n[vhost.http_remux]\nmount = \"b/[app]/[stream].flv\"\n",
			`c.toml:4: vhost.http_remux.mount: "b/[app]/[stream].flv": must start with "/" or "[vhost]/"`},
		{"mount ext", "[[vhost]]\nname = \"a\"\nhttp_remux.mount = \"/[app]/[stream].m3u8\"\n",
			`c.toml:3: vhost.http_remux.mount: "/[app]/[stream].m3u8": extension must be one of .flv .ts .aac .mp3`},
		{"mount adjacent", "[[vhost]]\nname = \"a\"\nhttp_remux.mount = \"/[app][stream].flv\"\n",
			`c.toml:3: vhost.http_remux.mount: "/[app][stream].flv": placeholders must be separated`},
		{"mount twice", "[[vhost]]\nname = \"a\"\nhttp_remux.mount = \"/[stream]/[stream].flv\"\n",
			`c.toml:3: vhost.http_remux.mount: "/[stream]/[stream].flv": [stream] more than once`},
		{"mount no stream", "[[vhost]]\nname = \"a\"\nhttp_remux.mount = \"/[app]/.flv\"\n",
			`c.toml:3: vhost.http_remux.mount: "/[app]/.flv": no stream name`},
		{"mount query", "[[vhost]]\nname = \"a\"\nhttp_remux.mount = \"/[app]?x/[stream].flv\"\n",
			`c.toml:3: vhost.http_remux.mount: "/[app]?x/[stream].flv": not a clean URL path`},
		{"hook url", "[[vhost]]\nname = \"a\"\nhooks.on_play = [\"http://ok/\", \"/rel\"]\n", `c.toml:3: vhost.hooks.on_play: invalid URL "/rel": want http:// or https://`},
		{"ingest", "[[ingest]]\nname = \"a\"\ninput = \"x\"\n[[ingest]]\nname = \"a\"\n", "c.toml:4: ingest.input: empty\nc.toml:5: ingest.name: duplicate ingest \"a\" (also at line 2)"},
		{"ingest output", "[[ingest]]\nname = \"a\"\ninput = \"x\"\noutput = \"a/b/c\"\n", `c.toml:4: ingest.output: invalid output "a/b/c": want APP/STREAM or an rtmp:// URL`},
		{"multi-line strings do not confuse lines",
			"[server]\nboard = \"\"\"\nlevel = 1\n[x]\n\"\"\"\npid = '''\n[[vhost]]\n'''\n[log]\nlevl = 1\n",
			"c.toml:10: log.levl: unknown key"},
		{"arrays and comments do not confuse lines",
			"[rtmp]\nlisten = [ # first\n \":1\", # ]\n \"]\", # [x]\n]\nfoo = 1\n",
			"c.toml:2: rtmp.listen: invalid address \"]\": want host:port\nc.toml:6: rtmp.foo: unknown key"},
		{"inline vhost array", "vhost = [{name = \"a\"}, {name = \"b\", x = 1}]\n", "c.toml:1: vhost.x: unknown key"},
		{"deep key", "[log]\n" + strings.Repeat("a.", 40000) + "b = 1\n", "c.toml:2: key with more than 32 parts"},
		{"deep header", "\n[" + strings.Repeat("a.", 40) + "b]\n", "c.toml:2: key with more than 32 parts"},
		{"deep nesting", "a = 1\nb = " + strings.Repeat("[", 40) + "\n", "c.toml:2: nested deeper than 32 levels"},
		{"dots in strings", "[[vhost]]\nname = \"" + strings.Repeat(".", 100) + "\"\nhooks.on_play = [\"http://a.b.c.d.e/\"]\nmount = '''\n" + strings.Repeat(".", 100) + "'''\n",
			"c.toml:4: vhost.mount: unknown key"},
		{"too many listen", "[rtmp]\nlisten = [" + strings.Repeat("\":1\", ", 17) + "]\n", "c.toml:2: rtmp.listen: 17 addresses: at most 16"},
		{"default vhost any case", "[[vhost]]\nname = \"__DefaultVhost__\"\n", ""},
		{"all at once", "[log]\nlevel = \"x\"\n[rtmp]\nchunk_size = 1\nfoo = 2\n",
			"c.toml:2: log.level: \"x\": must be one of debug | info | warn | error\nc.toml:4: rtmp.chunk_size: 1 out of range 128..65536\nc.toml:5: rtmp.foo: unknown key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !TLSBuilt && (strings.HasPrefix(tc.name, "tls") || strings.Contains(tc.name, "https")) {
				t.Skip("SKIPPED: this build has no TLS and refuses the keys (see TestTiny*)")
			}
			want := tc.want
			if !TLSBuilt { // nor does it offer https to the server's calls (TestTinyHTTPS)
				want = strings.ReplaceAll(want, "want http:// or https://", "want http://")
			}
			_, err := Parse("c.toml", []byte(tc.in))
			got := ""
			if err != nil {
				got = err.Error()
				if !errors.Is(err, ErrInvalid) {
					t.Errorf("error is not ErrInvalid")
				}
				var es *Errors
				if !errors.As(err, &es) || len(es.Problems) != strings.Count(got, "\n")+1 {
					t.Errorf("error is not *Errors with one problem per line")
				}
			}
			if got != want {
				t.Fatalf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestProblemString(t *testing.T) {
	for _, tc := range []struct {
		p    Problem
		want string
	}{
		{Problem{"a.toml", 3, "log.level", "bad"}, "a.toml:3: log.level: bad"},
		{Problem{"a.toml", 0, "log.level", "bad"}, "a.toml: log.level: bad"},
		{Problem{"a.toml", 3, "", "bad"}, "a.toml:3: bad"},
		{Problem{"", 3, "k", "bad"}, "line 3: k: bad"},
		{Problem{"", 0, "k", "bad"}, "k: bad"},
	} {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

// TestValidateWithoutFile checks problems of a config built in code (no lines).
func TestValidateWithoutFile(t *testing.T) {
	c := Default()
	c.Log.Level = "loud"
	c.Vhosts = append(c.Vhosts, DefaultVhostConfig(DefaultVhost))
	c.Vhosts[1].MWMsgs = 129
	c.Vhosts[1].RingFrames = 1000
	c.Ingests = []Ingest{{Name: "x", Input: "y"}} // empty output: live/x
	want := `log.level: "loud": must be one of debug | info | warn | error
vhost.name: duplicate vhost "__defaultVhost__" (also at vhost.name)
vhost.mw_msgs: 129 out of range 0..128
vhost.ring_frames: 1000: must be a power of two from 64 to 65536`
	if err := c.Validate(); err == nil || err.Error() != want {
		t.Fatalf("got:\n%v\nwant:\n%s", err, want)
	}
}

func TestTooManyProblems(t *testing.T) {
	var b strings.Builder
	for i := range 150 {
		b.WriteString("[[vhost]]\nname = \"v" + strconv.Itoa(i) + "\"\nbad = 1\n")
	}
	_, err := Parse("m.toml", []byte(b.String()))
	var es *Errors
	if !errors.As(err, &es) || len(es.Problems) != maxProblems+1 {
		t.Fatalf("err = %v", err)
	}
	if last := es.Problems[maxProblems].String(); last != "m.toml: 50 more problems not shown" {
		t.Fatalf("last = %q", last)
	}
}
