"""Stage net: how YouTube traffic leaves the machine (proxies, Tor circuits)."""
