"""M-Pesa in: the Daraja client, the callback receiver, intake and recovery of missed callbacks."""
