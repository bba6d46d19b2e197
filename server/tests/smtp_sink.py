"""An SMTP server for the email tests (aiosmtpd), on 127.0.0.1.

    python smtp_sink.py PORT DIRECTORY [FAIL_FIRST]

Accepts every message and writes it to DIRECTORY as NNNN.eml (the raw
message) and NNNN.json (what the tests assert on, decoded by Python's own
email parser, independent of the server's encoder: sender, recipients,
headers, the text and HTML parts). The first FAIL_FIRST notification
messages (those with a List-Unsubscribe header) are refused with a transient
451, as a server that is briefly down would. Prints "ready"
once listening; stops when its standard input closes (the test ends).
"""

import email
import email.policy
import json
import os
import sys

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory, fail_first):
        self.directory = directory
        self.fail_first = fail_first
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        # Only notification mails (they carry List-Unsubscribe) are refused:
        # an invitation mailed while a test sets up its team never takes a
        # refusal meant for the notification under test.
        if self.fail_first > 0 and "List-Unsubscribe" in message:
            self.fail_first -= 1
            return "451 4.3.0 Test sink: try again later"
        self.count += 1
        parts = {}
        for part in message.walk():
            if part.get_content_maintype() == "text":
                parts.setdefault(part.get_content_type(), part.get_content())
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "headers": {name.lower(): str(value) for name, value in message.items()},
            "content_type": message.get_content_type(),
            "text": parts.get("text/plain", ""),
            "html": parts.get("text/html", ""),
        }
        stem = os.path.join(self.directory, f"{self.count:04d}")
        with open(stem + ".eml", "wb") as out:
            out.write(raw)
        # Written under another name and renamed: a reader never sees half.
        with open(stem + ".tmp", "w", encoding="utf-8") as out:
            json.dump(record, out)
        os.rename(stem + ".tmp", stem + ".json")
        return "250 OK"


def main():
    port = int(sys.argv[1])
    directory = sys.argv[2]
    fail_first = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    os.makedirs(directory, exist_ok=True)
    controller = Controller(Sink(directory, fail_first), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
