"""Customer notifications: templates, e-mail over SMTP, signed webhooks and the outbox worker.

The store writes outbox rows with every appointment write (:mod:`bridge.store.notify`); the
worker in :mod:`bridge.notify.worker` claims due rows and delivers them through
:mod:`bridge.notify.email` and :mod:`bridge.notify.webhook`, rendering
:mod:`bridge.notify.templates` in German or English.
"""
