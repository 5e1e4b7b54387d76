"""A Daraja (M-Pesa API) simulator: `wisp sim-mpesa`, as `wisp sim` is a router's.

It speaks the request and callback shapes Safaricom's Daraja documents (OAuth, STK Push and its
query, C2B register and simulate, Pull Transactions), over real HTTP, so the product and its tests
run end to end with no sandbox account. It imports nothing else of the project.
"""
