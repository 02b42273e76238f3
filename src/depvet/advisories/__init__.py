"""Known-bad releases and vulnerabilities (OSV + curated incidents), release age and name risk."""
