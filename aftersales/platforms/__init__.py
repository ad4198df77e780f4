"""Adapters between the core and the sales platforms. The core assumes no platform (R13.4)."""
