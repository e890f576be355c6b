import logging

from fupin.core.masking import scrub_text


class PersonalDataFilter(logging.Filter):
    """Masks id numbers and phone numbers in every log record before it is written."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = scrub_text(message)
        if scrubbed != message:
            record.msg = scrubbed
            record.args = None
        return True
