"""Small shared helpers (atomic file writes, devices)."""
