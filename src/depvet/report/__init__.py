"""Report formats: each module turns a list of scan results into text."""
