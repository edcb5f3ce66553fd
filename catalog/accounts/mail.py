"""Account links by e-mail: a job, deferred with the invitation or reset that makes the
link, sends it once the transaction has committed.

The link's secret never sits in the job queue: the task makes a fresh token, stores its
digest in place of the one made with the link, then sends it. A retried send makes
another token, so only the last link sent works."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from catalog.accounts.models import AccountLink, Person
from catalog.accounts.service import (
    INVITATION,
    VERIFY,
    IssuedLink,
    digest,
    request_reset,
    verification_link,
)
from catalog.models import Organisation
from core.db import utcnow
from core.formatting import Lang, long_date
from core.jobs import JobContext, JobQueue
from core.mail import Mail
from core.settings import AccountSettings

SEND_ACCOUNT_LINK = "accounts.send_link"
LINK_PATHS = {INVITATION: "/invitations", "reset": "/password-reset", VERIFY: "/verify-email"}


@dataclass(frozen=True)
class Delivery:
    url: str | None  # shown to whoever made the link, when no e-mail goes out
    emailed: bool


def deliver(
    session: Session, link: IssuedLink, *, jobs: JobQueue | None, base_url: str
) -> Delivery:
    """E-mail the link when the app sends mail; else hand it back, to pass on."""
    if jobs is not None and jobs.context.mailer is not None:
        arguments = {"link_id": link.link_id, "base_url": base_url.rstrip("/")}
        jobs.defer(session, SEND_ACCOUNT_LINK, arguments)
        return Delivery(url=None, emailed=True)
    return Delivery(
        url=f"{base_url.rstrip('/')}{LINK_PATHS[link.purpose]}/{link.token}", emailed=False
    )


def confirm_by_mail(
    session: Session,
    person: Person,
    *,
    jobs: JobQueue | None,
    base_url: str,
    settings: AccountSettings,
) -> bool:
    """Mail ``person`` a link confirming their address, when the app sends mail (True);
    without mail there is nothing to confirm it with, and it counts as confirmed."""
    if jobs is None or jobs.context.mailer is None:
        person.email_verified_at = utcnow()
        session.add(person)
        return False
    deliver(session, verification_link(session, person, settings), jobs=jobs, base_url=base_url)
    return True


def mail_reset(
    session: Session,
    *,
    email: str,
    jobs: JobQueue | None,
    base_url: str,
    settings: AccountSettings,
) -> None:
    """A reset link by e-mail for whoever holds ``email``, when the app sends mail;
    without mail nothing is made (the organisation's owner makes one to pass on)."""
    if jobs is None or jobs.context.mailer is None or not email.strip():
        return
    link = request_reset(session, email=email, settings=settings)
    if link is not None:
        deliver(session, link, jobs=jobs, base_url=base_url)


def _text(purpose: str, organisation: Organisation, url: str, link: AccountLink) -> tuple[str, str]:
    until_th = long_date(link.expires_at, Lang.th)
    until_en = long_date(link.expires_at, Lang.en)
    if purpose == INVITATION:
        subject = (
            f"citydeal: คำเชิญเข้าร่วม {organisation.name_th} / "
            f"Invitation to join {organisation.name_en}"
        )
        body = (
            f"คุณได้รับเชิญให้เข้าร่วม {organisation.name_th} บน citydeal\n"
            f"ตั้งรหัสผ่านที่ลิงก์นี้ (ใช้ได้ครั้งเดียว ถึงวันที่ {until_th}):\n{url}\n\n"
            f"You are invited to join {organisation.name_en} on citydeal.\n"
            f"Set your password here (once, until {until_en}):\n{url}\n"
        )
    elif purpose == VERIFY:
        subject = "citydeal: ยืนยันอีเมลของคุณ / Confirm your e-mail address"
        body = (
            f"ยินดีต้อนรับสู่ citydeal ในนาม {organisation.name_th}\n"
            f"กรุณายืนยันอีเมลที่ลิงก์นี้ (ใช้ได้ครั้งเดียว ถึงวันที่ {until_th}):\n{url}\n"
            "หากคุณไม่ได้สมัคร ไม่ต้องทำอะไร\n\n"
            f"Welcome to citydeal, for {organisation.name_en}.\n"
            f"Please confirm your e-mail address here (once, until {until_en}):\n{url}\n"
            "If you did not sign up, do nothing.\n"
        )
    else:
        subject = "citydeal: ตั้งรหัสผ่านใหม่ / Set a new password"
        body = (
            f"ตั้งรหัสผ่านใหม่ที่ลิงก์นี้ (ใช้ได้ครั้งเดียว ถึงวันที่ {until_th}):\n{url}\n"
            "หากคุณไม่ได้ขอ ไม่ต้องทำอะไร\n\n"
            f"Set a new password here (once, until {until_en}):\n{url}\n"
            "If you did not ask for this, do nothing.\n"
        )
    return subject, body


def send_account_link(context: JobContext, arguments: dict[str, Any]) -> None:
    assert context.mailer is not None
    token = secrets.token_urlsafe(32)
    with context.database.writing() as session:
        link = session.get(AccountLink, int(arguments["link_id"]))
        if link is None or link.used_at is not None or link.expires_at <= utcnow():
            return  # used or expired meanwhile: nothing to send
        person = session.get(Person, link.person_id)
        assert person is not None
        organisation = session.get(Organisation, person.organisation_id)
        assert organisation is not None
        link.digest = digest(token)
        session.add(link)
        url = f"{arguments['base_url']}{LINK_PATHS[link.purpose]}/{token}"
        subject, body = _text(link.purpose, organisation, url, link)
        to = person.email
    context.mailer.send(Mail(to=to, subject=subject, text=body))


def register_tasks(jobs: JobQueue) -> None:
    jobs.register(SEND_ACCOUNT_LINK, send_account_link)
