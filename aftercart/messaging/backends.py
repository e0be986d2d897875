"""An email backend that sends nothing: every email stays readable in the outbox.

For the demo and for trying Aftercart out: the whole loop runs, and no customer of the
demo data (or anyone else) gets mail.
"""

from django.core.mail.backends.base import BaseEmailBackend


class KeepInOutbox(BaseEmailBackend):
    keeps_mail = True  # the outbox notes that the email was kept, not delivered

    def send_messages(self, email_messages):
        return len(email_messages)
