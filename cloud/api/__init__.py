"""HTTP routes of the backend, one module per resource."""
