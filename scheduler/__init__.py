"""What runs on its own: router client, provisioning engine, scheduler jobs and the RouterOS simulator (no UI)."""
