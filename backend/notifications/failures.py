"""Which delivery failures no retry can fix, so the message is parked at once for the expert to see.

The worker retries everything else for hours (the network, a server that is down, a bug fixed
later). These come from the message itself, so the tenth try fails like the first, and meanwhile
the dashboard would say every message went out:

- the mail server refused every recipient, the sender or the content with a 5xx (RFC 5321:
  permanent), e.g. ``550 No such user``; a 4xx (mailbox busy, greylisting) is retried;
- the address needs SMTPUTF8 (``änn@example.com``) and the server does not offer it;
- a header smtplib or the email package refuses: a CR or LF that would inject another header
  or SMTP command (``ValueError``), or an address that cannot be encoded.

Authentication and connection failures are about the server's setup, not the message: retried.
"""
from __future__ import annotations

import smtplib


class Unsendable(Exception):
    """Raised while building an email that can never be sent (an address no header can hold); the
    text says why, for the expert."""


#: Words of the ValueError that the email package and smtplib raise on a CR or LF.
_INJECTION_WORDS = ("linefeed", "newline", "carriage return", "cr or lf")


def permanent(error: BaseException) -> str | None:
    """Why ``error`` can never be fixed by sending again, in words for the expert; None when it may."""
    if isinstance(error, Unsendable):
        return str(error)
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        if codes and all(500 <= code < 600 for code in codes):
            return "The mail server refused the address."
        return None
    if isinstance(error, (smtplib.SMTPSenderRefused, smtplib.SMTPDataError)) and 500 <= error.smtp_code < 600:
        return "The mail server refused the message."
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return "The address needs international email (SMTPUTF8), which the mail server does not offer."
    if isinstance(error, UnicodeError):
        return "The address cannot be written in an email."
    if isinstance(error, ValueError) and any(word in str(error).lower() for word in _INJECTION_WORDS):
        return "A line break in an address or a header would have split the email."
    return None
