"""Keep bad releases off machines: the install guard and the index firewall."""
