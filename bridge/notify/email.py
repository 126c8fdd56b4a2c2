"""Customer e-mail over SMTP with ``aiosmtplib``: plain, STARTTLS or implicit TLS; optional auth."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

import aiosmtplib

from bridge.config import Settings
from bridge.notify.render import Message

__all__ = ["PermanentError", "SmtpConfig", "build_email", "send_email"]

_LOGGER = logging.getLogger(__name__)


class PermanentError(Exception):
    """A delivery failure that retrying cannot fix (rejected recipient, 4xx from a webhook)."""


@dataclass(frozen=True)
class SmtpConfig:
    """SMTP settings from ``[notifications]``; ``password`` is never logged."""

    host: str
    port: int
    security: str
    user: str
    password: str
    sender: str
    timeout: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpConfig | None:
        """The SMTP settings, or ``None`` when e-mail is not configured."""
        host = settings.notifications.smtp_host
        sender = settings.notifications.sender
        if not host or not sender:
            return None
        return cls(host, settings.notifications.smtp_port,
                   settings.notifications.smtp_security,
                   settings.notifications.smtp_user,
                   settings.notifications.smtp_password, sender)

    def __repr__(self) -> str:
        return f"SmtpConfig(host={self.host!r}, port={self.port}, security={self.security!r})"


def build_email(
    config: SmtpConfig, recipient: str, message: Message, *, message_id: str,
    sender_name: str = "", now: datetime | None = None,
) -> EmailMessage:
    """The MIME message (UTF-8 plain text) with a stable ``Message-ID`` for deduplication."""
    mail = EmailMessage()
    mail["From"] = formataddr((sender_name, config.sender)) if sender_name else config.sender
    mail["To"] = recipient
    mail["Subject"] = message.subject
    mail["Date"] = format_datetime(now or datetime.now(UTC))
    mail["Message-ID"] = message_id
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(message.body)
    return mail


async def send_email(config: SmtpConfig, mail: EmailMessage) -> None:
    """Send one message; raises ``PermanentError`` on a 5xx refusal, other errors to retry."""
    try:
        await aiosmtplib.send(
            mail,
            hostname=config.host,
            port=config.port,
            use_tls=config.security == "tls",
            start_tls=config.security == "starttls",
            username=config.user or None,
            password=config.password or None,
            timeout=config.timeout,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        raise PermanentError("recipient refused by the SMTP server") from exc
    except aiosmtplib.SMTPResponseException as exc:
        # 5xx is final, except authentication failures: fixing the config makes a retry work.
        if 500 <= exc.code < 600 and exc.code not in (530, 535):
            raise PermanentError(f"SMTP server refused the message ({exc.code})") from exc
        raise
