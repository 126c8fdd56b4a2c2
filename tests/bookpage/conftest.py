"""The real SMTP server of the notification tests."""

from tests.admin.conftest import _template_db, admin_settings, admin_store, client  # noqa: F401
from tests.notify.conftest import smtp  # noqa: F401
