package web

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/labstack/echo/v4"
)

// clientIPExtractor finds a request's client address: the connection's peer, unless that peer is one
// of the trusted proxies. Then X-Forwarded-For is read from the right (each proxy appends the address
// it got the request from), skipping trusted proxies, and the first address that is not one is the
// client. So a client cannot choose its own address by sending the header: the per-address sign-in
// throttle and the audit trail see the real one. Without trusted proxies the header is ignored.
func clientIPExtractor(trusted []netip.Prefix) echo.IPExtractor {
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a.Unmap()) {
				return true
			}
		}
		return false
	}
	return func(r *http.Request) string {
		direct := peerAddr(r)
		if len(trusted) == 0 || !direct.IsValid() || !isTrusted(direct) {
			return addrString(direct, r.RemoteAddr)
		}
		var hops []string
		for _, h := range r.Header.Values(echo.HeaderXForwardedFor) {
			hops = append(hops, strings.Split(h, ",")...)
		}
		client := direct
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := parseHop(hops[i])
			if err != nil {
				break // a hop the trusted proxies did not write: believe no further
			}
			client = a.Unmap()
			if !isTrusted(client) {
				break
			}
		}
		return client.String()
	}
}

// parseHop reads one X-Forwarded-For entry: an address, or an address with a port ("192.0.2.7:51234",
// "[2001:db8::1]:443"), as some proxies write it.
func parseHop(s string) (netip.Addr, error) {
	s = strings.TrimSpace(s)
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr(), nil
	}
	return netip.ParseAddr(strings.Trim(s, "[]"))
}

// peerAddr is the address of the connection the request came over.
func peerAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

func addrString(a netip.Addr, fallback string) string {
	if a.IsValid() {
		return a.String()
	}
	return fallback
}

// ParseTrustedProxies reads a comma-separated list of CIDR prefixes or single addresses
// ("10.0.0.0/8, 192.0.2.7").
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, &net.ParseError{Type: "CIDR address", Text: f}
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}
