"""Code shared by every Tidings service: wire schemas, subjects, RPC, validation, errors."""
