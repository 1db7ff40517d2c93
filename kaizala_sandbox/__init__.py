"""The Kaizala sandbox: a standalone WSGI emulator of the Kaizala connector REST API.

No Django and no import from the console's client package `kaizala/`: the two sides read
the protocol independently. Run with `python -m kaizala_sandbox`; see README.md.
"""
