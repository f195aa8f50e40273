package config

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParseSecurityRule(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "allow publish all", want: "allow publish all"},
		{in: "  deny\tplay   10.0.0.0/8 ", want: "deny play 10.0.0.0/8"},
		{in: "allow play 192.168.1.7", want: "allow play 192.168.1.7"},
		{in: "allow play 192.168.1.7/32", want: "allow play 192.168.1.7"},
		{in: "deny publish ::1", want: "deny publish ::1"},
		{in: "deny play fd00::/8", want: "deny play fd00::/8"},
		{in: "deny play ::ffff:10.1.2.3", want: "deny play 10.1.2.3"},
		{in: "deny play 0.0.0.0/0", want: "deny play 0.0.0.0/0"},
		{in: "", err: "want"},
		{in: "allow publish", err: "want"},
		{in: "allow publish all now", err: "want"},
		{in: "Allow publish all", err: "not allow or deny"},
		{in: "allow view all", err: "not publish or play"},
		{in: "allow play ALL", err: "not all, an IP"},
		{in: "allow play 10.0.0.1/8", err: "write 10.0.0.0/8"},
		{in: "allow play 10.0.0.0/33", err: "not all, an IP"},
		{in: "allow play example.com", err: "not all, an IP"},
		{in: "allow play fe80::1%eth0", err: "not all, an IP"},
		{in: "allow play ::ffff:10.0.0.0/104", err: "IPv4-mapped"},
	} {
		r, err := ParseSecurityRule(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseSecurityRule(%q) = %v, %v; want error with %q", tc.in, r, err, tc.err)
			}
			continue
		}
		if err != nil || r.String() != tc.want {
			t.Errorf("ParseSecurityRule(%q) = %q, %v; want %q", tc.in, r, err, tc.want)
		}
	}
}

// TestSecurityCheck follows SRS's SrsSecurity (srs_app_security.cpp, SRS 5+).
func TestSecurityCheck(t *testing.T) {
	const play, publish = true, false
	for _, tc := range []struct {
		name    string
		enabled bool
		rules   []string
		play    bool
		ip      string
		allowed bool
		reason  string
	}{
		{"disabled", false, []string{"deny play all"}, play, "10.1.2.3", true, "disabled"},
		{"no rules deny all", true, nil, play, "10.1.2.3", false, "no rules"},
		{"no rules deny publish", true, []string{}, publish, "10.1.2.3", false, "no rules"},
		{"allow all", true, []string{"allow play all"}, play, "10.1.2.3", true, "allow play all matched 10.1.2.3"},
		{"allow of the other kind only", true, []string{"allow publish all"}, play, "10.1.2.3", false, "no allow play rule matched 10.1.2.3 (1 allow, 0 deny rules)"},
		{"deny beats allow", true, []string{"allow play all", "deny play 10.0.0.0/8"}, play, "10.1.2.3", false, "deny play 10.0.0.0/8 matched 10.1.2.3"},
		{"deny first whatever the order", true, []string{"deny play 10.0.0.0/8", "allow play all"}, play, "10.1.2.3", false, "deny play 10.0.0.0/8 matched 10.1.2.3"},
		{"deny outside", true, []string{"allow play all", "deny play 10.0.0.0/8"}, play, "192.168.1.2", true, "allow play all matched"},
		{"deny only: blacklist allows others", true, []string{"deny play 10.0.0.0/8"}, play, "192.168.1.2", true, "no allow rules"},
		{"deny only: other kind allowed", true, []string{"deny play all"}, publish, "10.1.2.3", true, "no allow rules"},
		{"deny only: denied", true, []string{"deny play all"}, play, "10.1.2.3", false, "deny play all matched"},
		{"deny of the other kind", true, []string{"allow publish all", "deny play all"}, publish, "10.1.2.3", true, "allow publish all"},
		{"allow single ip", true, []string{"allow play 192.168.1.7"}, play, "192.168.1.7", true, "allow play 192.168.1.7 matched"},
		{"allow single ip other", true, []string{"allow play 192.168.1.7"}, play, "192.168.1.8", false, "no allow play rule"},
		{"cidr edge", true, []string{"allow publish 192.168.1.0/24"}, publish, "192.168.1.255", true, "allow publish 192.168.1.0/24"},
		{"cidr outside", true, []string{"allow publish 192.168.1.0/24"}, publish, "192.168.2.0", false, "no allow publish rule"},
		{"ipv6", true, []string{"deny publish ::1", "allow publish all"}, publish, "::1", false, "deny publish ::1 matched ::1"},
		{"ipv6 cidr", true, []string{"allow play fd00::/8"}, play, "fd12::5", true, "allow play fd00::/8"},
		{"ipv4 rule, ipv6 client", true, []string{"allow play 0.0.0.0/0"}, play, "::1", false, "no allow play rule"},
		{"mapped client", true, []string{"deny play 127.0.0.0/8"}, play, "::ffff:127.0.0.1", false, "deny play 127.0.0.0/8"},
		{"zone client", true, []string{"deny play fe80::/10"}, play, "fe80::1%eth0", false, "deny play fe80::/10"},
		{"bad client ip only all", true, []string{"allow play 10.0.0.0/8", "allow play all"}, play, "", true, "allow play all"},
		{"bad rule ignored", true, []string{"allow play nowhere", "allow play 10.0.0.0/8"}, play, "10.0.0.1", true, "allow play 10.0.0.0/8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Security{Enabled: tc.enabled, Rules: tc.rules}
			d := s.Check(tc.play, tc.ip)
			if d.Allowed != tc.allowed || !strings.Contains(d.Reason, tc.reason) {
				t.Fatalf("Check(%v, %q) = %v %q; want %v %q", tc.play, tc.ip, d.Allowed, d.Reason, tc.allowed, tc.reason)
			}
		})
	}
}

// FuzzSecurityRule checks that the rule parser never panics and that a
// parsed rule prints to a text that parses back to the same rule.
func FuzzSecurityRule(f *testing.F) {
	for _, s := range []string{"allow publish all", "deny play 10.0.0.0/8", "allow play 192.168.1.7",
		"deny publish ::1", "deny play fd00::/8", "allow play ::ffff:1.2.3.4", "deny play 1.2.3.4/33"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseSecurityRule(s)
		if err != nil {
			return
		}
		r2, err := ParseSecurityRule(r.String())
		if err != nil || r2 != r {
			t.Fatalf("%q -> %q -> %v, %v", s, r.String(), r2, err)
		}
		ip, _ := netip.ParseAddr("10.1.2.3")
		_ = r.Match(true, ip)
	})
}
