"""``depvet hunt``: find compromised installs and indicators, and say which secrets were reachable."""
