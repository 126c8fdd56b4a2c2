"""Customer notifications: templates, e-mail over SMTP, signed webhooks and the outbox worker.

:mod:`bridge.notify.planning` decides who gets which message; :mod:`bridge.notify.hooks` registers
that on the store, so the rows (:mod:`bridge.store.notify`) are written with every appointment
write; the worker in :mod:`bridge.notify.worker` claims due rows and delivers them through
:mod:`bridge.notify.email` and :mod:`bridge.notify.webhook`, rendering
:mod:`bridge.notify.templates` in German or English.
"""
