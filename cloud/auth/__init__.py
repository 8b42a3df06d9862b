"""Passwords, tokens and the request dependencies that check them."""
