"""Reconciling a router with the database: the two sides read, compared, fixed through the queue;
and importing a router that another tool ran."""
