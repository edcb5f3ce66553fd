"""E-mail through an SMTP server named by ``CITYDEAL_SMTP_URL``:

    smtp://host:25             plain (a local relay)
    smtp+starttls://user:password@host:587
    smtps://user:password@host:465

Messages are built with the standard library's ``email`` package, which refuses line
breaks in headers: a name or subject typed by a user cannot add a header.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

SMTP_TIMEOUT_SECONDS = 15


@dataclass(frozen=True)
class Attachment:
    """A file sent with a mail: an agenda as ``text/calendar``, say."""

    filename: str
    content: bytes
    content_type: str  # "maintype/subtype"


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    attachments: tuple[Attachment, ...] = ()


class Mailer:
    def __init__(self, url: str, sender: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtp+starttls", "smtps"):
            raise ValueError(
                "CITYDEAL_SMTP_URL must start with smtp://, smtp+starttls:// or smtps://"
            )
        if not parts.hostname:
            raise ValueError("CITYDEAL_SMTP_URL names no host")
        self._scheme = parts.scheme
        self._host = parts.hostname
        self._port = parts.port or {"smtp": 25, "smtp+starttls": 587, "smtps": 465}[parts.scheme]
        self._user = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None
        self.sender = sender

    def message(self, mail: Mail) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = Address(addr_spec=mail.to)
        message["Subject"] = mail.subject
        message.set_content(mail.text)  # UTF-8: Thai as Thai
        for attachment in mail.attachments:
            maintype, subtype = attachment.content_type.split("/", 1)
            message.add_attachment(
                attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename
            )
        return message

    def send(self, mail: Mail) -> None:
        message = self.message(mail)
        if self._scheme == "smtps":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                self._host,
                self._port,
                timeout=SMTP_TIMEOUT_SECONDS,
                context=ssl.create_default_context(),
            )
        else:
            client = smtplib.SMTP(self._host, self._port, timeout=SMTP_TIMEOUT_SECONDS)
        with client:
            if self._scheme == "smtp+starttls":
                client.starttls(context=ssl.create_default_context())
            if self._user and self._password:
                client.login(self._user, self._password)
            client.send_message(message)
