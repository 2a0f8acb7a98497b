"""The Restate engine (``SIGNOFF_ENGINE=restate``) and what running it takes: the Restate server from
the npm package ``@restatedev/restate-server`` run as a child process for ``signoff dev`` (``server``),
signoff's service endpoint served over cleartext HTTP/2 (``endpoint``), and its registration with
Restate's admin API, which first checks that the URL is Restate's (``admin``). Only these modules
import the ``restate`` extra (the SDK and hypercorn); without it, the setting is a one-line error.
"""
