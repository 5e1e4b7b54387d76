"""The provisioning engine: claims jobs, plans them, converges them on the routers over lanes of
sessions, records the outcomes; the APScheduler service and the headless runner around it."""
