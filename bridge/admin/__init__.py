"""The admin web page: login, Google connect flow, sync status, conflicts, ledger, ICS feeds.

Mounted by the sidecar through :func:`bridge.admin.web.setup`.
"""
