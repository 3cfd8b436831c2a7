"""mtsar2sar: multi-temporal SAR despeckling (ratio to a super-image + SAR2SAR)."""

__version__ = "0.1.0"
