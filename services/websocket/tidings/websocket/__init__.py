"""The Zaqar v2 WebSocket API (spec section 5) over the storage RPC, and live pushes to sockets."""
