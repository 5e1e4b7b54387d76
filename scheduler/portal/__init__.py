"""The captive portal: walk-in hotspot customers buy a package by M-Pesa, log in with a voucher or
reconnect with a receipt code. A Starlette app (`app.build_portal`) over `db.portal` and the
operator's STK Push (`scheduler.mpesa.push`); nothing here imports Textual."""
