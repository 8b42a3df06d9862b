"""The director's link to the cloud: login (keyring), sessions, invites, SRT, relay.

cloud_api  CloudApi: the backend's REST API over httpx, named errors
login      Login: tokens refreshed in time, refresh token kept in the vault
vault      the OS keyring, or memory with a note when there is none
link       SessionLink: login -> session -> go live (relay tally + program over SRT)
events     the LinkEvents the UI shows
"""
