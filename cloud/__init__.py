"""The ReturnFeed cloud backend: API, auth, database, relay, gateway and served pages."""
