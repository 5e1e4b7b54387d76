"""The router client: RouterOS API sessions, their errors and TLS, the converging account and
profile actions, and read-only listings. It knows nothing of the database."""
