"""analyzer: compliance analysis of firewall and proxy logs around software update servers."""

__version__ = "0.1.0"
