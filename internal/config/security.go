package config

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// SecurityRule is one rule of [vhost.security] rules: "ACTION ROLE WHO",
// where ACTION is allow or deny, ROLE is publish or play and WHO is all, an
// IPv4 or IPv6 address or a CIDR prefix ("allow publish all",
// "deny play 10.0.0.0/8", "allow play 192.168.1.7", "deny play fd00::/8").
type SecurityRule struct {
	Allow  bool         // allow; else deny
	Play   bool         // play; else publish
	All    bool         // every address
	Prefix netip.Prefix // when not All; an address is a full-length prefix
}

// ParseSecurityRule parses one rule. Words are separated by blanks, and
// lower-case as in SRS; an address in a prefix must have no bits past the
// prefix length ("10.0.0.1/8" is refused: write 10.0.0.0/8).
func ParseSecurityRule(s string) (SecurityRule, error) {
	var r SecurityRule
	f := strings.Fields(s)
	if len(f) != 3 {
		return r, fmt.Errorf("%q: want \"allow|deny publish|play all|IP|CIDR\"", s)
	}
	switch f[0] {
	case "allow":
		r.Allow = true
	case "deny":
	default:
		return r, fmt.Errorf("%q: %q is not allow or deny", s, f[0])
	}
	switch f[1] {
	case "play":
		r.Play = true
	case "publish":
	default:
		return r, fmt.Errorf("%q: %q is not publish or play", s, f[1])
	}
	if f[2] == "all" {
		r.All = true
		return r, nil
	}
	p, err := parseWho(f[2])
	if err != nil {
		return r, fmt.Errorf("%q: %w", s, err)
	}
	r.Prefix = p
	return r, nil
}

var errWho = errors.New("not all, an IP address or a CIDR prefix")

func parseWho(w string) (netip.Prefix, error) {
	if strings.Contains(w, "/") {
		p, err := netip.ParsePrefix(w)
		if err != nil || p.Addr().Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%q: %w", w, errWho)
		}
		if p.Addr().Is4In6() {
			return netip.Prefix{}, fmt.Errorf("%q: write an IPv4-mapped prefix as IPv4", w)
		}
		if p.Masked() != p {
			return netip.Prefix{}, fmt.Errorf("%q: bits past /%d are set: write %s", w, p.Bits(), p.Masked())
		}
		return p, nil
	}
	a, err := netip.ParseAddr(w)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q: %w", w, errWho)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// String returns the rule in its canonical form.
func (r SecurityRule) String() string {
	b := make([]byte, 0, 32)
	if r.Allow {
		b = append(b, "allow "...)
	} else {
		b = append(b, "deny "...)
	}
	if r.Play {
		b = append(b, "play "...)
	} else {
		b = append(b, "publish "...)
	}
	switch {
	case r.All:
		b = append(b, "all"...)
	case r.Prefix.IsSingleIP():
		b = r.Prefix.Addr().AppendTo(b)
	default:
		b = r.Prefix.AppendTo(b)
	}
	return string(b)
}

// Match reports whether the rule is of the kind (play or publish) and
// covers ip. An IPv4-mapped IPv6 address (::ffff:10.1.2.3, from a dual-stack
// socket) is matched as the IPv4 address it carries.
func (r SecurityRule) Match(play bool, ip netip.Addr) bool {
	if r.Play != play {
		return false
	}
	if r.All {
		return true
	}
	return ip.IsValid() && r.Prefix.Contains(ip.Unmap().WithZone(""))
}

// SecurityDecision is the outcome of Security.Check, with what decided it.
type SecurityDecision struct {
	Allowed bool
	// Rule is the rule that matched, when one did.
	Rule *SecurityRule
	// Reason says why, for the log: "deny play 10.0.0.0/8 matched 10.1.2.3".
	Reason string
}

// Check decides whether a client at ip may play (play) or publish, as SRS's
// SrsSecurity::check (SRS 5 and later) does:
//   - security disabled: allowed;
//   - enabled without rules: denied (SRS's "default deny");
//   - a deny rule of the kind that covers ip: denied, whatever the allow
//     rules say (deny rules are checked first);
//   - an allow rule of the kind that covers ip: allowed;
//   - otherwise denied when there is any allow rule (of either kind: so
//     "allow publish all" alone denies every player), and allowed when the
//     rules are deny rules only (a blacklist).
//
// Rules that do not parse (Validate refuses them) are ignored.
func (s *Security) Check(play bool, ip string) SecurityDecision {
	if !s.Enabled {
		return SecurityDecision{Allowed: true, Reason: "security disabled"}
	}
	kind := "publish"
	if play {
		kind = "play"
	}
	addr, _ := netip.ParseAddr(ip)
	if len(s.Rules) == 0 {
		return SecurityDecision{Reason: fmt.Sprintf("no rules: %s denied to %s", kind, ip)}
	}
	allows, denies := 0, 0
	var allowed *SecurityRule
	for _, text := range s.Rules {
		r, err := ParseSecurityRule(text)
		if err != nil {
			continue
		}
		if r.Allow {
			allows++
			if allowed == nil && r.Match(play, addr) {
				allowed = &r
			}
			continue
		}
		denies++
		if r.Match(play, addr) {
			return SecurityDecision{Rule: &r, Reason: fmt.Sprintf("%s matched %s", r, ip)}
		}
	}
	switch {
	case allowed != nil:
		return SecurityDecision{Allowed: true, Rule: allowed, Reason: fmt.Sprintf("%s matched %s", allowed, ip)}
	case allows == 0 && denies > 0:
		return SecurityDecision{Allowed: true, Reason: fmt.Sprintf("no deny %s rule matched %s and there are no allow rules", kind, ip)}
	}
	return SecurityDecision{Reason: fmt.Sprintf("no allow %s rule matched %s (%d allow, %d deny rules)", kind, ip, allows, denies)}
}

func (v *Vhost) validateSecurity(ps *problems, p string) {
	for i, text := range v.Security.Rules {
		if _, err := ParseSecurityRule(text); err != nil {
			ps.check(indexKey(p+".security.rules", i), "%v", err)
		}
	}
}
