"""The REST v2 transport of Tidings (the Zaqar v2 HTTP API)."""
